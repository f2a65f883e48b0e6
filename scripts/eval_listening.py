"""Listening accuracy on the spoken corpus: sentences written by outside writers, spoken by voice families the
companion never speaks with, clean and in a noisy room, heard by a real engine and read by the companion.

    .venv/bin/python scripts/eval_listening.py --set spoken_tune.tsv --engine pocketsphinx \\
        --families espeak flite festival --out /tmp/listen.json [--show-errors]

Prints a markdown table per family × condition (docs/benchmarks/listening.md explains each column)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]


def main() -> int:
    import listening_eval
    import speech_corpus
    from helpers import data_lines, eval_rows

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set", default="spoken_tune.tsv", help="a labelled sentence file in tests/data (or a path)")
    p.add_argument("--engine", default="pocketsphinx", choices=("pocketsphinx", "vosk", "whisper", "auto"))
    p.add_argument("--families", nargs="*", default=None, help=f"of {', '.join(speech_corpus.FAMILIES)}")
    p.add_argument("--conditions", nargs="*", default=list(speech_corpus.CONDITIONS))
    p.add_argument("--ordinary", nargs="*", help="files of sentences that must not be taken for crisis")
    p.add_argument("--limit", type=int, default=0, help="only the first N sentences")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", help="write every outcome and the scores as JSON")
    p.add_argument("--show-errors", action="store_true")
    args = p.parse_args()
    rows = eval_rows(args.set)
    for extra in args.ordinary or ():  # one sentence per line, none of them crisis
        rows += [(line, listening_eval.ORDINARY, {}) for line in data_lines(extra)]
    if args.limit:
        rows = rows[:args.limit]
    missing = speech_corpus.missing_families()
    if missing:
        print(f"voice families not available: {missing}", file=sys.stderr)
    outcomes = listening_eval.evaluate(rows, engine=args.engine, families=args.families,
                                       conditions=args.conditions, jobs=args.jobs)
    scores = listening_eval.by_group(outcomes)
    print(f"{args.set}, engine {args.engine}, {len(rows)} sentences\n")
    print(listening_eval.table(scores))
    if args.show_errors:
        for o in outcomes:
            wrong = (o.intent == "crisis" and not o.reached_safety) or (o.intent != "crisis" and o.crisis_reply) \
                or (o.intent not in ("crisis", "unknown", listening_eval.ORDINARY) and not o.right)
            if wrong:
                print(f"{o.family}/{o.condition}: {o.intent} → {o.got} [{o.decision} {o.confidence:.2f}] "
                      f"{o.text!r} heard {o.transcript!r} read {o.understood!r}")
    if args.out:
        Path(args.out).write_text(json.dumps({
            "set": args.set, "engine": args.engine,
            "scores": {f"{f}/{c}": s.as_dict() for (f, c), s in scores.items()},
            "outcomes": [{**asdict(o), "right": o.right} for o in outcomes]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
