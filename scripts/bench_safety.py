#!/usr/bin/env python3
"""Crisis guard: how much of each phrase file it catches (through the real `companion intent --json --stdin`,
one subprocess per file) and what it costs per utterance in process (median, p95, p99; goal < 0.2 ms median),
against the text normalisation alone as a baseline measured in the same run; and what the learned second
reading costs to train at first start and to load from its cache.

Usage: .venv/bin/python scripts/bench_safety.py [--n 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "tests"))

from helpers import data_lines as lines  # noqa: E402
from helpers import phrase_files  # noqa: E402

# every phrase file, in the order the batches were written; then round 9's and round 10's blind sets by kind
CRISIS = [*phrase_files("crisis"), *(f"safety_round3_{k}.txt" for k in
                                     ("crisis_mixed", "danger_others", "medical", "method", "third_party")),
          *(f"safety_round10_{k}.txt" for k in ("danger_others", "medical", "method", "third_party", "own_crisis"))]
SAFE = [*phrase_files("safe"), "safety_round3_recovery.txt", "safety_round3_worry_denial.txt",
        "safety_round9_ordinary.txt", "safety_round10_not_crisis.txt", "safety_round10_ordinary.txt",
        "safety_round11_ordinary.txt"]


def through_cli(texts: list[str]) -> list[str]:
    """Intent of each line as the installed CLI answers it."""
    cli = REPO / ".venv" / "bin" / "companion"
    cmd = [str(cli)] if cli.exists() else [sys.executable, "-m", "companion"]
    out = subprocess.run([*cmd, "intent", "--json", "--stdin"], input="\n".join(texts) + "\n",
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return [json.loads(row)["intent"] for row in out.splitlines()]


def timed(fn, texts: list[str]) -> list[float]:
    """Per-call times; the guard's short-lived memory of the last texts read is cleared first, so a repeated
    text costs what a new one would."""
    from companion.core import safety

    out = []
    for t in texts:
        safety._readings.cache_clear()
        safety._trigrams.cache_clear()
        start = time.perf_counter()
        fn(t)
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100)
    return f"median {statistics.median(ms):.4f} ms, p95 {q[94]:.4f} ms, p99 {q[98]:.4f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="utterances timed")
    args = parser.parse_args()

    print("| file | kind | flagged as crisis | lines | verdict |")
    print("|---|---|---:|---:|---|")
    for names, want in ((CRISIS, True), (SAFE, False)):
        for name in names:
            texts = lines(name)
            if not texts:
                continue
            flagged = [t for t, i in zip(texts, through_cli(texts), strict=True) if i == "crisis"]
            bad = len(texts) - len(flagged) if want else len(flagged)
            verdict = "all caught" if want and not bad else "none flagged" if not bad else f"{bad} wrong"
            print(f"| {name} | {'crisis' if want else 'safe'} | {len(flagged)} | {len(texts)} | {verdict} |")

    from companion.core import safety
    from companion.core.fuzzy import normalize

    base = [row.split("\t")[0] for row in lines("intent_eval.tsv")]
    for name in (*CRISIS, *SAFE):
        base += lines(name)
    rng = random.Random(5)
    texts = [rng.choice(base) for _ in range(args.n)]
    texts = [("um " + t.upper() + "?") if rng.random() < 0.3 else t for t in texts]
    start = time.perf_counter()
    safety._guard.cache_clear()
    safety._guard()
    load_ms = (time.perf_counter() - start) * 1000
    for t in texts[:200]:  # warm caches (regex, rapidfuzz import)
        safety.check(t)
    print()
    guard = safety._guard()
    print(f"guard load (compile {len(guard.patterns)} patterns, {sum(len(g.patterns) for g in guard.groups)} "
          f"in the kind files, {len(guard.idioms)} idioms, and their prefilter): {load_ms:.1f} ms")
    import os
    import tempfile

    from companion.core import safety_model

    with tempfile.TemporaryDirectory() as cache:
        os.environ["COMPANION_CACHE_DIR"] = cache
        start = time.perf_counter()
        safety_model.load(safety.prepare)
        train_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        safety_model.load(safety.prepare)
        cached_ms = (time.perf_counter() - start) * 1000
    print(f"learned second reading: trained at first start in {train_ms:.0f} ms, loaded from its cache in "
          f"{cached_ms:.0f} ms")
    print(f"normalize() alone (baseline), {args.n} utterances: {summary(timed(normalize, texts))}")
    print(f"patterns alone, {args.n} utterances: {summary(timed(safety.check_patterns, texts))}")
    print(f"safety.check() (patterns, then the learned reading), {args.n} utterances: "
          f"{summary(timed(safety.check, texts))}")
    calm = [row.split("\t")[0] for row in lines("intent_eval.tsv") if not row.endswith("crisis\t")]
    calm = [t for t in calm + lines("idioms.txt") if safety.check(t) is None]
    calm_texts = [rng.choice(calm) for _ in range(args.n)]
    print(f"safety.check(), {args.n} non-crisis utterances (every pattern runs): "
          f"{summary(timed(safety.check, calm_texts))}")
    long_entry = " ".join(base[:400])
    print(f"safety.check() on a {len(long_entry):,}-character journal entry: "
          f"{summary(timed(safety.check, [long_entry] * 50))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
