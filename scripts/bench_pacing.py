#!/usr/bin/env python3
"""Pacing benchmark: how close breathing phases start to their planned times while real speech plays,
and how quickly the CLI starts.

Runs `companion breathe` as a subprocess against a private PulseAudio (null sink, as tests/conftest.py
`pulse` does), so every cue is really synthesised and played, and reads its `--events` JSON Lines:
{"t": seconds since start, "planned": seconds or null, "event": "phase"|"say"|..., "name", "cycle"}.
Per run: phase-start error (t - planned) p50/p95/max in ms and first-minute vs last-minute p95 (drift).
Then `companion --version` and `companion breathe --pattern box --silent --cycles 1`: wall time, time to the
session's first event, and peak RSS (os.wait4 rusage of each child), against a bare `python -c pass`.

Run:  .venv/bin/python scripts/bench_pacing.py            (coherent 5 min + 4-7-8 3 min, 10 start-ups)
      .venv/bin/python scripts/bench_pacing.py --quick    (1-minute runs, 3 start-ups)
      .venv/bin/python scripts/bench_pacing.py --analyze F.jsonl [G.jsonl ...]   (figures for existing files)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from bench_speech import FRAME, RATE, MonitorCapture, private_pulse, voiced_frames  # noqa: E402  (sibling)

GOAL_P95_MS = 20.0
GOAL_MAX_MS = 50.0


@dataclass(frozen=True)
class PacingFigures:
    """Phase-start error figures for one session's events file."""

    phases: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    first_minute_p95_ms: float
    last_minute_p95_ms: float
    says: int
    say_p95_ms: float
    completed: bool | None

    @property
    def meets_goal(self) -> bool:
        return self.phases > 0 and self.p95_ms <= GOAL_P95_MS and self.max_ms <= GOAL_MAX_MS


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def read_events(path: Path) -> list[dict]:
    """The events file's lines; a line that is not JSON is reported and skipped (a killed run's last line)."""
    events = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            print(f"{path}:{n}: not a JSON line, skipped", file=sys.stderr)
    return events


def analyze(events: list[dict]) -> PacingFigures:
    """Phase-start error = t - planned for every scheduled `phase` event (ms; positive = late)."""
    phases = [(e["planned"], (e["t"] - e["planned"]) * 1000) for e in events
              if e.get("event") == "phase" and e.get("planned") is not None]
    says = [(e["t"] - e["planned"]) * 1000 for e in events
            if e.get("event") == "say" and e.get("planned") is not None]
    errors = [err for _, err in phases]
    last_planned = max((p for p, _ in phases), default=0.0)
    first = [err for p, err in phases if p < 60.0]
    last = [err for p, err in phases if p >= last_planned - 60.0]
    ends = [e for e in events if e.get("event") == "end"]
    return PacingFigures(
        phases=len(phases), p50_ms=_p(errors, 50), p95_ms=_p(errors, 95),
        max_ms=max(errors, default=float("nan")),
        first_minute_p95_ms=_p(first, 95), last_minute_p95_ms=_p(last, 95),
        says=len(says), say_p95_ms=_p(says, 95),
        completed=bool(ends[-1].get("completed")) if ends else None)


def print_figures(label: str, f: PacingFigures) -> None:
    goal = "met" if f.meets_goal else "NOT met"
    print(f"{label}: {f.phases} phases, error p50 {f.p50_ms:.1f} ms, p95 {f.p95_ms:.1f} ms, "
          f"max {f.max_ms:.1f} ms (goal p95 ≤{GOAL_P95_MS:.0f}, max ≤{GOAL_MAX_MS:.0f}: {goal}); "
          f"first-minute p95 {f.first_minute_p95_ms:.1f} ms → last-minute p95 {f.last_minute_p95_ms:.1f} ms; "
          f"{f.says} cues, say p95 {f.say_p95_ms:.1f} ms; completed: {f.completed}")


def isolated_env(base: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Own data/config/runtime dirs so the benchmark never touches the person's history."""
    env = dict(extra or os.environ)
    for name, var in (("data", "COMPANION_DATA_DIR"), ("config", "COMPANION_CONFIG_DIR"),
                      ("run", "COMPANION_RUNTIME_DIR")):
        d = base / name
        d.mkdir(parents=True, exist_ok=True)
        env[var] = str(d)
    (base / "run").chmod(0o700)
    return env


def run_session(env: dict[str, str], pattern: str, minutes: float, events: Path) -> PacingFigures | None:
    cmd = [sys.executable, "-m", "companion", "breathe", "--pattern", pattern, "--minutes", f"{minutes:g}",
           "--events", str(events)]
    print("$", " ".join(cmd[1:]), flush=True)
    cap = MonitorCapture(env)  # proof that the cues were really heard on the virtual speaker
    try:
        out = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True,
                             timeout=minutes * 60 + 120)
    except subprocess.TimeoutExpired:
        print(f"  the session did not end within {minutes * 60 + 120:.0f} s", file=sys.stderr)
        return analyze(read_events(events)) if events.exists() else None
    finally:
        samples, _ = cap.stop()
    print(f"  speech heard on the virtual speaker: {len(voiced_frames(samples)) * FRAME / RATE:.1f} s "
          f"of {len(samples) / RATE:.0f} s")
    if out.returncode != 0 or not events.exists():
        print(f"  exit code {out.returncode}; stderr:\n{out.stderr.strip()[-1500:]}", file=sys.stderr)
        return analyze(read_events(events)) if events.exists() else None
    notices = [ln for ln in out.stderr.splitlines() if "unavailable" in ln.lower()]
    if notices:
        print("  NOTE: " + notices[0], file=sys.stderr)
    return analyze(read_events(events))


def timed_child(cmd: list[str], env: dict[str, str],
                events: Path | None = None) -> tuple[float, float, float]:
    """(wall s, seconds to the first events line or nan, peak RSS MiB) of one child process.

    Peak RSS comes from /usr/bin/time: a child forked straight from this (numpy-sized) process would report
    this process's size, as the high-water mark survives fork + exec."""
    with tempfile.NamedTemporaryFile(prefix="bench-rss-") as rss_file:
        launcher = ["/usr/bin/time", "-f", "%M", "-o", rss_file.name] if Path("/usr/bin/time").exists() else []
        t = time.perf_counter()
        proc = subprocess.Popen(launcher + cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        first = float("nan")
        if events is not None:
            while proc.poll() is None:
                if events.exists() and events.stat().st_size > 0:
                    first = time.perf_counter() - t
                    break
                time.sleep(0.002)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited with {code}")
        text = Path(rss_file.name).read_text().strip()
        kib = int(text.splitlines()[-1]) if launcher and text else usage.ru_maxrss
    return wall, first, kib / 1024


def bench_startup(base: Path, runs: int) -> None:
    env = isolated_env(base / "startup")
    py = sys.executable
    rows = []
    for label, cmd, with_events in (
            ("python -c pass (baseline)", [py, "-c", "pass"], False),
            ("companion --version", [py, "-m", "companion", "--version"], False),
            ("companion breathe --pattern box --silent --cycles 1",
             [py, "-m", "companion", "breathe", "--pattern", "box", "--silent", "--cycles", "1"], True)):
        walls, firsts, rss = [], [], []
        for i in range(runs):
            events = base / f"startup-{i}.jsonl" if with_events else None
            extra = ["--events", str(events)] if events else []
            w, f, r = timed_child(cmd + extra, env, events)
            walls.append(w)
            firsts.append(f)
            rss.append(r)
        first = statistics.median(firsts) * 1000 if with_events else float("nan")
        rows.append((label, statistics.median(walls) * 1000, first, max(rss)))
    print(f"\nstart-up over {runs} runs (median wall ms, median ms to first session event, peak RSS MiB):")
    for label, wall, first, rss in rows:
        extra = f", first event {first:.0f} ms" if first == first else ""
        print(f"  {label:<52} wall {wall:8.0f} ms{extra}, peak RSS {rss:6.1f} MiB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1-minute sessions and 3 start-up runs")
    ap.add_argument("--analyze", nargs="+", type=Path, metavar="EVENTS", help="only analyse these files")
    ap.add_argument("--startup-runs", type=int, help="start-up runs (default 10, or 3 with --quick)")
    ap.add_argument("--no-startup", action="store_true", help="skip the start-up figures")
    args = ap.parse_args()
    if args.analyze:
        results = [analyze(read_events(p)) for p in args.analyze]
        for p, f in zip(args.analyze, results, strict=True):
            print_figures(str(p), f)
        return 0 if all(f.meets_goal for f in results) else 1
    runs = [("coherent", 1.0 if args.quick else 5.0), ("4-7-8", 1.0 if args.quick else 3.0)]
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-pacing-") as d:
        base = Path(d)
        with private_pulse() as pulse_env:
            env = isolated_env(base / "live", pulse_env)
            for pattern, minutes in runs:
                figures = run_session(env, pattern, minutes, base / f"{pattern}.jsonl")
                if figures is None:
                    ok = False
                    continue
                print_figures(f"  {pattern} {minutes:g} min", figures)
                ok = ok and figures.meets_goal
        if not args.no_startup:
            bench_startup(base, args.startup_runs or (3 if args.quick else 10))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
