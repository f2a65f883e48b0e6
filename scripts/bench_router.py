#!/usr/bin/env python3
"""Router speed: in-process routing latency over 10,000 utterances (median, p95, p99; goal < 2 ms median),
the cost of learning from the data vs loading the cache, and start-up of `companion intent --json --stdin`
(time to first answer, median of 10) against bare Python and `companion --version` as baselines.

Usage: .venv/bin/python scripts/bench_router.py [--n 10000] [--starts 10]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO / "tests" / "data"


def utterances(n: int) -> list[str]:
    """Eval sentences, crisis phrases and idioms, plus noisy variants (fillers, case, punctuation)."""
    base = [line.split("\t")[0] for line in (DATA / "intent_eval.tsv").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    for name in ("crisis_phrases.txt", "idioms.txt"):
        base += [s for s in (DATA / name).read_text().splitlines() if s.strip() and not s.startswith("#")]
    rng = random.Random(3)
    out = []
    for i in range(n):
        s = base[i % len(base)]
        if rng.random() < 0.3:
            s = "um " + s.upper() + "?"
        out.append(s)
    rng.shuffle(out)
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def time_first_answer(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, cwd=REPO)
    assert proc.stdin and proc.stdout
    proc.stdin.write(b"box breathing for three minutes\n")
    proc.stdin.flush()
    proc.stdout.readline()
    elapsed = time.perf_counter() - t
    proc.stdin.close()
    proc.wait(timeout=60)
    return elapsed


def time_run(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, check=True, timeout=60)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--starts", type=int, default=10)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, COMPANION_CACHE_DIR=cache)
        os.environ["COMPANION_CACHE_DIR"] = cache
        from companion.core.router import Router

        t = time.perf_counter()
        Router(use_cache=False)
        build = time.perf_counter() - t
        Router()  # writes the cache
        loads = []
        for _ in range(5):
            t = time.perf_counter()
            router = Router()
            loads.append(time.perf_counter() - t)

        texts = utterances(args.n)
        for s in texts[:200]:
            router.route(s)  # warm up
        times = []
        for s in texts:
            t = time.perf_counter_ns()
            router.route(s)
            times.append((time.perf_counter_ns() - t) / 1e6)

        py = [sys.executable]
        bare = statistics.median(time_run([*py, "-c", "pass"], env) for _ in range(args.starts))
        version = statistics.median(time_run([*py, "-m", "companion", "--version"], env)
                                    for _ in range(args.starts))
        cmd = [*py, "-m", "companion", "intent", "--json", "--stdin"]
        warm = statistics.median(time_first_answer(cmd, env) for _ in range(args.starts))
        cold = []
        for _ in range(3):
            with tempfile.TemporaryDirectory() as empty:
                cold.append(time_first_answer(cmd, dict(env, COMPANION_CACHE_DIR=empty)))

    print(f"routing, in process, {len(times)} utterances: median {statistics.median(times):.3f} ms, "
          f"p95 {pct(times, 0.95):.3f} ms, p99 {pct(times, 0.99):.3f} ms, max {max(times):.3f} ms")
    print(f"router build from data (no cache): {build * 1000:.0f} ms; load from cache: median "
          f"{statistics.median(loads) * 1000:.0f} ms")
    print(f"start-up to first answer, `companion intent --json --stdin` (median of {args.starts}): "
          f"{warm * 1000:.0f} ms with cache, {statistics.median(cold) * 1000:.0f} ms without (median of 3)")
    print(f"baselines (median of {args.starts}): `python -c pass` {bare * 1000:.0f} ms, "
          f"`python -m companion --version` {version * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
