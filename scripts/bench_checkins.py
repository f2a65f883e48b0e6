#!/usr/bin/env python3
"""Benchmarks for check-ins: the planner (vs an APScheduler CronTrigger baseline), a 30-day simulated run,
and the history picture (vs an empty matplotlib figure saved the same way). Prints medians and p95.

Run: .venv/bin/python scripts/bench_checkins.py
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from companion.desktop.history_plot import write_history_plot
from companion.desktop.schedule import CheckinScheduler, CheckinSettings, ScheduleState, next_checkin


def stats(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    return f"median {statistics.median(samples):9.3f}  p95 {p95:9.3f}"


def bench_planner(n: int = 5000) -> None:
    from apscheduler.triggers.cron import CronTrigger

    rnd = random.Random(7)
    start = datetime(2026, 11, 2)
    moments = [start + timedelta(minutes=rnd.randrange(30 * 24 * 60)) for _ in range(n)]
    settings = CheckinSettings()
    ours = []
    for m in moments:
        t0 = time.perf_counter()
        next_checkin(m, settings, ScheduleState(last_checked=m))
        ours.append((time.perf_counter() - t0) * 1e6)
    trigger = CronTrigger(day_of_week="mon-fri", hour="10,15", minute=30)
    aware = [m.astimezone() for m in moments]
    cron = []
    for m in aware:
        t0 = time.perf_counter()
        trigger.get_next_fire_time(None, m)
        cron.append((time.perf_counter() - t0) * 1e6)
    print(f"next_checkin (µs)            {stats(ours)}   n={n}")
    print(f"baseline CronTrigger (µs)    {stats(cron)}   (times + weekdays only, no windows)")


def bench_thirty_days(runs: int = 5) -> None:
    times = []
    count = 0
    for _ in range(runs):
        now = [datetime(2026, 11, 2)]
        end = now[0] + timedelta(days=30)
        delivered: list[datetime] = []
        sched = CheckinScheduler(CheckinSettings(), on_due=lambda: delivered.append(now[0]),  # noqa: B023
                                 now=lambda: now[0])  # noqa: B023
        t0 = time.perf_counter()
        while now[0] < end:
            now[0] += timedelta(seconds=sched.tick().wake_in or 1)
        times.append((time.perf_counter() - t0) * 1e3)
        count = len(delivered)
    print(f"30 simulated days (ms)       {stats(times)}   runs={runs}, {count} check-ins delivered")


@dataclass(frozen=True)
class S:
    exercise_id: str
    kind: str
    started_at: datetime
    ended_at: datetime | None
    completed: bool


@dataclass(frozen=True)
class C:
    at: datetime
    feeling: str | None
    intensity: int | None


class Store:
    def __init__(self, now: datetime) -> None:
        rnd = random.Random(3)
        self.s = [S("box", rnd.choice(["breathing", "grounding", "compassion"]),
                    (now - timedelta(hours=rnd.randrange(30 * 24))).astimezone(UTC), None, True)
                  for _ in range(60)]
        self.c = [C((now - timedelta(hours=rnd.randrange(30 * 24))).astimezone(UTC), "calm", rnd.randrange(11))
                  for _ in range(50)]

    def sessions(self, days: int):
        return self.s

    def checkins(self, days: int):
        return self.c


def bench_picture(runs: int = 7) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    now = datetime(2026, 11, 25, 18)
    store = Store(now)
    ours, base = [], []
    with tempfile.TemporaryDirectory() as tmp:
        write_history_plot(store, Path(tmp) / "warm.png", now=now)  # imports and font cache
        for i in range(runs):
            t0 = time.perf_counter()
            write_history_plot(store, Path(tmp) / f"h{i}.png", now=now)
            ours.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            fig = Figure(figsize=(13, 7.5), dpi=100, layout="constrained")
            fig.subplots(2, 2)
            fig.savefig(Path(tmp) / f"b{i}.png", format="png")
            base.append((time.perf_counter() - t0) * 1e3)
    print(f"history picture 7+30 d (ms)  {stats(ours)}   runs={runs}, 110 records")
    print(f"baseline empty 2x2 fig (ms)  {stats(base)}")


if __name__ == "__main__":
    bench_planner()
    bench_thirty_days()
    bench_picture()
