#!/usr/bin/env python3
"""Benchmarks the session timeline on the real clock: how late phases start, against a naive baseline.

Never asserts thresholds; prints medians / p95. Run: .venv/bin/python scripts/bench_session.py
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes import FakeSpeaker

from companion.core.clock import RealClock
from companion.core.events import Event, EventBus
from companion.core.exercises import load_library, parse_exercise
from companion.core.session import Session, SessionOptions

PHASE = 0.1  # seconds per phase
CYCLES = 50  # 2 phases each → 100 phases, 10 s
SPEECH = 0.03  # each cue "takes" this long to say (the naive runner waits for it)

EXERCISE = f"""
id = "bench"
title = "Bench"
kind = "breathing"
[[steps]]
type = "breathe"
cycles = {CYCLES}
[[steps.phases]]
name = "inhale"
seconds = {PHASE}
cue = ["In", "Breathe in"]
[[steps.phases]]
name = "exhale"
seconds = {PHASE}
cue = ["Out", "Breathe out"]
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def session_lateness() -> tuple[list[float], list[float]]:
    """(lateness of each phase start vs its planned time, drift of each start vs n × PHASE), in ms."""
    clock = RealClock()
    bus = EventBus()
    phases: list[Event] = []
    bus.subscribe(lambda e: phases.append(e) if e.kind == "phase" else None)
    session = Session(parse_exercise(EXERCISE, "bench.toml"), clock=clock, bus=bus,
                      speaker=FakeSpeaker(clock, SPEECH), options=SessionOptions())
    thread = threading.Thread(target=session.run)
    thread.start()
    thread.join()
    late = [(e.t - e.planned) * 1000 for e in phases]
    drift = [(e.t - phases[0].t - n * PHASE) * 1000 for n, e in enumerate(phases)]
    return late, drift


def naive_drift() -> list[float]:
    """Baseline: say, wait for the speech, then sleep the phase length (what we must never do)."""
    clock = RealClock()
    speaker = FakeSpeaker(clock, SPEECH)
    starts = []
    for _ in range(CYCLES * 2):
        starts.append(time.monotonic())
        speaker.say("In").wait()
        time.sleep(PHASE)
    return [(s - starts[0] - n * PHASE) * 1000 for n, s in enumerate(starts)]


def library_load_ms(runs: int = 20) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        load_library(Path("/nonexistent-user-dir"))
        times.append((time.perf_counter() - t) * 1000)
    return times


def main() -> int:
    late, drift = session_lateness()
    base = naive_drift()
    load = library_load_ms()
    print(f"phases: {len(late)} × {PHASE} s, cue speech {SPEECH} s each (RealClock, FakeSpeaker)")
    print(f"session  phase start lateness ms: median {statistics.median(late):.2f}  p95 {pct(late, 0.95):.2f}"
          f"  max {max(late):.2f}")
    print(f"session  drift at last phase ms: {drift[-1]:.2f}")
    print(f"baseline (sleep after speaking) drift at last phase ms: {base[-1]:.1f}"
          f"  (≈ {len(base) - 1} × {SPEECH * 1000:.0f} ms of speech)")
    print(f"load_library ms: median {statistics.median(load):.2f}  p95 {pct(load, 0.95):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
