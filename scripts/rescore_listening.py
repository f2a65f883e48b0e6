#!/usr/bin/env python3
"""A listening evaluation's stored readings (`scripts/eval_listening.py --out FILE.json`) understood again by the
code as it is now: the same transcripts and n-best lists, the router, the guard and the understanding layer of this
tree. It measures a change to what happens after decoding without decoding again (an hour of Whisper on two cores);
the decode itself is not re-run, so a change to a recognizer needs eval_listening.py.

Usage: .venv/bin/python scripts/rescore_listening.py FILE.json [--engine pocketsphinx|whisper] [--changes]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from listening_eval import Outcome, _level, by_group, table  # noqa: E402

from companion.cli.listen import route  # noqa: E402
from companion.speech.recognizer import Hypothesis  # noqa: E402

#: each engine's calibrated points, as `audio.Heard` carries them (sphinx_engine / whisper_engine)
POINTS = {"pocketsphinx": (0.0005, 0.45), "whisper": (0.0, 0.35)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--engine", choices=sorted(POINTS), help="default: the one the file names")
    ap.add_argument("--changes", action="store_true", help="print every clip whose outcome changed")
    args = ap.parse_args()
    stored = json.loads(args.file.read_text())
    clear_at, repeat_below = POINTS[args.engine or stored["engine"]]
    again = []
    for x in stored["outcomes"]:
        readings = tuple(Hypothesis(t, s, r, d) for t, s, r, d in x["readings"])
        result = route(x["transcript"], readings, engine_confidence=x["engine_confidence"], clear_at=clear_at,
                       repeat_below=repeat_below)
        again.append(Outcome(x["text"], x["intent"], x["slots"], x["family"], x["voice"], x["condition"],
                             x["transcript"], result["understood"], result["intent"], result["slots"],
                             result["decision"], result["risk_heard"], result["confidence"], x["end_to_intent_ms"],
                             tuple(tuple(r) for r in x["readings"]), x["engine_confidence"], _level(result)))
    print(table(by_group(again)))
    if args.changes:
        for x, o in zip(stored["outcomes"], again, strict=True):
            before = Outcome(**{**{k: v for k, v in x.items() if k != "right"},
                                "readings": tuple(tuple(r) for r in x["readings"])})
            if (before.right, before.reached_safety, before.crisis_reply) != (o.right, o.reached_safety,
                                                                               o.crisis_reply):
                print(f"{o.family}/{o.condition}: {o.intent} {before.got} [{before.decision}] → {o.got} "
                      f"[{o.decision}] {o.transcript!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
