#!/usr/bin/env python3
"""Persona conversations through the real `companion chat --transcript`, scored per batch
(tests/data/conversations/<batch>_*.yaml; the checks are described in tests/conversations.py).

Usage: .venv/bin/python scripts/eval_conversations.py batch1 [batch2 ...] [--show-failures] [--show-turns]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conversations import METRICS, load_batch, run, score  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("batches", nargs="+")
    ap.add_argument("--show-failures", action="store_true")
    ap.add_argument("--show-turns", action="store_true")
    args = ap.parse_args()
    for batch in args.batches:
        conversations = load_batch(batch)
        if not conversations:
            sys.exit(f"no conversations named {batch}_*.yaml")
        verdicts = []
        turns = 0
        for conversation in conversations:
            said, checked = run(conversation)
            turns += len(said)
            verdicts += checked
            if args.show_turns:
                for n, t in enumerate(said, 1):
                    print(f"[{conversation['id']} {n}] > {t.said}")
                    for line in t.lines:
                        print(f"      {line}")
                    for e in t.started:
                        print(f"      [started {e}]")
        table = score(verdicts)
        failed = sum(f for f, _ in table.values())
        total = sum(t for _, t in table.values())
        print(f"## {batch}: {len(conversations)} conversations, {turns} turns, "
              f"{total - failed}/{total} checks pass")
        for label, check in METRICS.items():
            f, t = table.get(check, (0, 0))
            print(f"  {label:32s} {f:3d} failed of {t}")
        if args.show_failures:
            for v in verdicts:
                if not v.ok:
                    print(f"  FAIL {v.conversation} #{v.turn} {v.check}: {v.said[:70]!r} {v.detail[:140]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
