#!/usr/bin/env python3
"""The blind sets written by outside writers, scored the way the first-sight figures were taken: per set, lines
answered with the full reply, with the gentle check only, or not at all, which kind of reply each got, and the same
inside the quiet window after "I'm safe" (safety.check with quiet=True, which is what the router asks in that window).

Round 9's sets are tests/data/safety_round3_<kind>.txt, round 10's tests/data/safety_round10_<kind>.txt (and
rounds 12 to 21 but 15, outside writers', safety_round1N_<kind>.txt); round 11's
are the safety engineer's own probes, one file with the kind wanted at the end of each line
(tests/data/safety_round11_probes.txt, "... [danger]") and safety_round11_ordinary.txt. --folder scores a fresh
batch where it lies (<folder>/<kind>.txt) before it is copied into tests/data.

Usage: .venv/bin/python scripts/eval_safety_blind.py [--round 9|10|11|12|…|21] [--folder DIR] [--show]
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "tests"))

from helpers import data_lines  # noqa: E402

ROUNDS = {
    "9": ("safety_round3_", (("crisis_mixed", True), ("danger_others", True), ("medical", True), ("method", True),
                             ("third_party", True), ("recovery", False), ("worry_denial", False))),
    "10": ("safety_round10_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("not_crisis", False))),
    "12": ("safety_round12_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("not_crisis", False))),
    "13": ("safety_round13_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("ordinary", False))),
    "14": ("safety_round14_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("ordinary", False))),
    "16": ("safety_round16_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("ordinary", False))),
    "17": ("safety_round17_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("ordinary", False))),
    "18": ("safety_round18_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("ordinary", False))),
    "19": ("safety_round19_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("ordinary", False))),
    "20": ("safety_round20_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("ordinary", False))),
    "21": ("safety_round21_", (("danger_others", True), ("medical", True), ("method", True),
                               ("third_party", True), ("own_crisis", True), ("ordinary", False))),
    "11": ("safety_round11_", (("danger", True), ("medical", True), ("method", True), ("other", True),
                               ("self", True), ("ordinary", False))),
}


def _texts(args: argparse.Namespace, prefix: str, name: str) -> list[str]:
    if args.folder:
        return data_lines(args.folder / f"{name}.txt")
    if args.round != "11":
        return data_lines(f"{prefix}{name}.txt")
    if name == "ordinary":
        return data_lines("safety_round11_ordinary.txt")
    rows = [re.fullmatch(r"(.*) \[(\w+)\]", row) for row in data_lines("safety_round11_probes.txt")]
    return [m.group(1) for m in rows if m and m.group(2) == name]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round", choices=sorted(ROUNDS), default="10", help="which blind batch (default 10)")
    parser.add_argument("--folder", type=Path, help="read <folder>/<kind>.txt instead of tests/data")
    parser.add_argument("--show", action="store_true", help="print every line that is wrong")
    args = parser.parse_args()
    from companion.core import safety

    print("| set | lines | must be | full reply | gentle check only | any reply | replies by kind | "
          "inside the quiet window |")
    print("|---|---:|---|---:|---:|---:|---|---:|")
    prefix, sets = ROUNDS[args.round]
    for name, crisis in sets:
        texts = _texts(args, prefix, name)
        found = [safety.check(t) for t in texts]
        quiet = [safety.check(t, quiet=True) for t in texts]
        full = sum(m is not None and m.level == safety.CRISIS for m in found)
        check = sum(m is not None and m.level == safety.CHECK for m in found)
        kinds = collections.Counter(m.kind for m in found if m is not None)
        answered_quiet = sum(m is not None for m in quiet)
        must = "caught" if crisis else "not flagged"
        print(f"| `{name}` | {len(texts)} | {must} | {full} | {check} | {full + check} | "
              f"{', '.join(f'{k} {n}' for k, n in kinds.most_common()) or '—'} | {answered_quiet} |")
        if args.show:
            for t, m in zip(texts, found, strict=True):
                if (m is None) == crisis:
                    print(f"    {'missed' if crisis else 'flagged'}: {t}" + (f"  [{m.kind}: {m.matched}]" if m else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
