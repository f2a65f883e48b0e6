#!/usr/bin/env python3
"""Benchmarks the history store (write latency seen by session threads, summary over a year of use) and
`companion doctor`'s wall time, against a bare sqlite3 insert measured in the same run.

Run: .venv/bin/python scripts/bench_store.py   (uses a temporary folder; never touches your history)
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from companion.core.store import Store


def stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):.3f} ms, p95 {p95:.3f} ms (n={len(ms)})"


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        base = Path(tmp)
        os.environ["COMPANION_DATA_DIR"] = str(base / "data")
        os.environ["COMPANION_CONFIG_DIR"] = str(base / "config")

        # Baseline: the same insert and pragmas with nothing of ours around it.
        raw = sqlite3.connect(base / "raw.sqlite3")
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, at TEXT, feeling TEXT, intensity INT, "
                    "note TEXT, source TEXT)")

        def raw_insert() -> None:
            with raw:
                raw.execute("INSERT INTO c (at, feeling, intensity, note, source) VALUES (?, ?, ?, ?, ?)",
                            (datetime.now(UTC).isoformat(), "okay", 5, None, "typed"))

        baseline = timed(raw_insert, 300)

        open_times = []
        for _ in range(20):
            start = time.perf_counter()
            Store.open().close()
            open_times.append(time.perf_counter() - start)

        moment = [datetime.now(UTC) - timedelta(days=365)]
        store = Store.open(now=lambda: moment[0])
        checkin = timed(lambda: store.add_checkin("okay", 5, source="voice"), 300)

        def session() -> None:
            sid = store.start_session("box-3", "breathe", {"pattern": "box"})
            store.end_session(sid, completed=True, reason="done")

        sessions = timed(session, 300)
        # A heavy year: 10 sessions and 5 check-ins a day.
        with store._lock, store._conn:
            for day in range(365):
                at = (moment[0] + timedelta(days=day)).isoformat(timespec="seconds")
                store._conn.executemany(
                    "INSERT INTO sessions (exercise_id, kind, started_at, ended_at, completed, reason) "
                    "VALUES ('box-3', 'breathe', ?, ?, 1, 'done')", [(at, at)] * 10)
                store._conn.executemany("INSERT INTO checkins (at, feeling, intensity, source) "
                                        "VALUES (?, 'okay', 5, 'voice')", [(at,)] * 5)
        moment[0] = datetime.now(UTC)
        summary7 = timed(lambda: store.summary(7), 30)
        summary30 = timed(lambda: store.summary(30), 30)
        export = timed(store.export, 5)
        forget = timed(store.forget_all, 1)
        store.close()

        from companion import doctor

        start = time.perf_counter()
        doctor.run_checks()
        doctor_wall = time.perf_counter() - start

    print("bare sqlite3 insert (baseline): ", stats(baseline))
    print("Store.add_checkin:              ", stats(checkin))
    print("start_session + end_session:    ", stats(sessions))
    print("Store.open (existing db):       ", stats(open_times))
    print("summary(7)  over 5.5k rows:     ", stats(summary7))
    print("summary(30) over 5.5k rows:     ", stats(summary30))
    print("export() of 5.5k rows:          ", stats(export))
    print("forget_all() of 5.5k rows:      ", stats(forget))
    print(f"doctor run_checks wall time:     {doctor_wall * 1000:.0f} ms")


if __name__ == "__main__":
    main()
