#!/usr/bin/env python3
"""The crisis guard's learned second reading, measured honestly: leave-one-group-out over the example files.

Each `# --- ` section of companion/data/safety/examples_{crisis,safe}.txt is one group (a blind batch, one
writer's training set...; a section of more than 300 lines is five groups). Every line is scored by a model
trained without its group, and the patterns' own verdict is shown beside it, so "patterns + model" per group is
what a new batch from a new writer would see (the patterns have been tuned on the older batches, so only groups
they were never tuned on are blind for them: pass their titles with --blind).

Usage: .venv/bin/python scripts/eval_safety_model.py [--thresholds 0.4,0.5,0.6] [--blind round 4,everyday]
       [--show 0.5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from companion.core import safety, safety_model  # noqa: E402


def groups(name: str) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for raw in (REPO / "companion" / "data" / "safety" / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("# --- "):
            out.append((line[6:], []))
        elif line and not line.startswith("#") and out:
            out[-1][1].append(line)
    # a big group (the idiom list) is held out a fifth at a time: a new set shares its style, not its lines
    split: list[tuple[str, list[str]]] = []
    for title, lines in out:
        parts = 5 if len(lines) > 300 else 1
        split += [(f"{title} [part {k + 1}/{parts}]" if parts > 1 else title, lines[k::parts]) for k in range(parts)]
    return split


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--thresholds", default="0.3,0.4,0.5,0.6,0.7")
    ap.add_argument("--blind", default="round 4,round 5,round 6,round 7,everyday life,young people,blunt,"
                                       "(t5),(t6),(t7),(t8),(t9),(t10),(t11),round 8",
                    help="comma-separated parts of group titles the patterns were never tuned on")
    ap.add_argument("--show", type=float, help="print the blind groups' misses and flags at this threshold")
    args = ap.parse_args()
    s = safety_model.settings()
    crisis, safe = groups("examples_crisis.txt"), groups("examples_safe.txt")
    router = [safety_model.features(safety.prepare(t)) for t in safety_model.everyday_sentences()]
    feats = {t: safety_model.features(safety.prepare(t)) for _, g in crisis + safe for t in g}
    pattern = {t: safety.check_patterns(t) is not None for t in feats}
    scored: list[tuple[str, str, str, float, bool]] = []  # kind, group, text, model score, pattern fired
    for kind, own in (("crisis", crisis), ("safe", safe)):
        for title, lines in own:
            train_c = [feats[t] for g, ls in crisis if not (kind == "crisis" and g == title) for t in ls]
            train_s = [feats[t] for g, ls in safe if not (kind == "safe" and g == title) for t in ls]
            model = safety_model.Model.train(train_c, train_s + router, l2=s.l2, epochs=s.epochs,
                                               safe_weight=s.safe_weight)
            scored += [(kind, title, t, model.score(feats[t]), pattern[t]) for t in lines]
    blind = [b.strip() for b in args.blind.split(",") if b.strip()]

    def is_blind(title: str) -> bool:
        return any(b in title for b in blind)

    print(f"{len(scored)} lines; model trained without each line's group; blind groups: {blind}")
    for th in (float(x) for x in args.thresholds.split(",")):
        for which, keep in (("all groups", lambda _t: True), ("blind groups", is_blind)):
            rows = [r for r in scored if keep(r[1])]
            cr = [r for r in rows if r[0] == "crisis"]
            sf = [r for r in rows if r[0] == "safe"]
            both = sum(1 for r in cr if r[4] or r[3] >= th)
            flags = sum(1 for r in sf if r[4] or r[3] >= th)
            print(f"threshold {th:.2f} {which:12s}: model alone {sum(r[3] >= th for r in cr)}/{len(cr)}, "
                  f"patterns alone {sum(r[4] for r in cr)}/{len(cr)}, patterns + model {both}/{len(cr)} "
                  f"({both / max(len(cr), 1):.1%}); safe flagged: model {sum(r[3] >= th for r in sf)}, "
                  f"patterns {sum(r[4] for r in sf)}, together {flags}/{len(sf)} ({flags / max(len(sf), 1):.1%})")
    th = args.show if args.show is not None else s.threshold
    print(f"\nper group at threshold {th:.2f} (model trained without the group; patterns as they are):")
    for kind, own in (("crisis", crisis), ("safe", safe)):
        for title, _lines in own:
            rows = [r for r in scored if r[0] == kind and r[1] == title]
            hit = sum(1 for r in rows if r[4] or r[3] >= th)
            print(f"  {kind:6s} {hit:4d}/{len(rows):<4d} {'caught' if kind == 'crisis' else 'flagged'}  {title}")
    if args.show is not None:
        for kind, title, text, score, fired in scored:
            if not is_blind(title):
                continue
            caught = fired or score >= args.show
            if (kind == "crisis" and not caught) or (kind == "safe" and caught):
                print(f"{'MISSED' if kind == 'crisis' else 'FLAGGED'} {score:.2f} p={int(fired)} [{title[:20]}] {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
