#!/usr/bin/env python3
"""Router accuracy per intent on tests/data/intent_eval.tsv, measured through the real command
`companion intent --json --stdin`, plus the crisis guard on tests/data/crisis_phrases.txt and idioms.txt.

Usage: .venv/bin/python scripts/eval_router.py [--eval FILE] [--show-errors]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers import DATA, data_lines, eval_rows  # noqa: E402


def route_all(texts: list[str]) -> list[dict]:
    """One `companion intent --json --stdin` process for all texts, answers in order."""
    proc = subprocess.run([sys.executable, "-m", "companion", "intent", "--json", "--stdin"],
                          input="\n".join(texts) + "\n", capture_output=True, text=True, cwd=REPO,
                          timeout=600)
    if proc.returncode != 0:
        sys.exit(f"companion intent failed ({proc.returncode}): {proc.stderr.strip()}")
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    if len(answers) != len(texts):
        sys.exit(f"expected {len(texts)} answers, got {len(answers)}")
    return answers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", type=Path, default=DATA / "intent_eval.tsv")
    ap.add_argument("--show-errors", action="store_true")
    args = ap.parse_args()

    rows = eval_rows(args.eval)
    crisis = data_lines("crisis_phrases.txt")
    idioms = data_lines("idioms.txt")
    answers = route_all([r[0] for r in rows] + crisis + idioms)
    split = len(rows) + len(crisis)
    intent_answers = answers[:len(rows)]
    crisis_answers, idiom_answers = answers[len(rows):split], answers[split:]
    total, right, slot_total, slot_right = Counter(), Counter(), 0, 0
    errors = []
    for (text, intent, slots), got in zip(rows, intent_answers, strict=True):
        total[intent] += 1
        ok_intent = got["intent"] == intent
        ok_slots = all(str(got["slots"].get(k)) == v for k, v in slots.items())
        if slots:
            slot_total += 1
            slot_right += ok_intent and ok_slots
        if ok_intent and ok_slots:
            right[intent] += 1
        else:
            errors.append(f"  {text!r}: want {intent} {slots}, got {got['intent']} {got['slots']} "
                          f"({got['confidence']})")
    shown = args.eval.relative_to(REPO) if args.eval.is_relative_to(REPO) else args.eval
    print(f"Intent accuracy on {shown}")
    print(f"{'intent':<20}{'right':>6}{'total':>6}{'accuracy':>10}")
    for intent in sorted(total):
        print(f"{intent:<20}{right[intent]:>6}{total[intent]:>6}{right[intent] / total[intent]:>10.3f}")
    overall = sum(right.values()) / sum(total.values())
    print(f"{'overall':<20}{sum(right.values()):>6}{sum(total.values()):>6}{overall:>10.3f}")
    if slot_total:
        print(f"{'slots (where given)':<20}{slot_right:>6}{slot_total:>6}{slot_right / slot_total:>10.3f}")
    caught = sum(a["intent"] == "crisis" for a in crisis_answers)
    flagged = [a["text"] for a in idiom_answers if a["intent"] == "crisis"]
    missed = [a["text"] for a in crisis_answers if a["intent"] != "crisis"]
    print(f"crisis phrases caught: {caught}/{len(crisis)}; idioms flagged: {len(flagged)}/{len(idioms)}")
    if args.show_errors or missed or flagged:
        for line in errors if args.show_errors else []:
            print(line)
        for text in missed:
            print(f"  MISSED crisis: {text!r}")
        for text in flagged:
            print(f"  FLAGGED idiom: {text!r}")
    return 0 if overall >= 0.95 and not missed and not flagged else 1


if __name__ == "__main__":
    raise SystemExit(main())
