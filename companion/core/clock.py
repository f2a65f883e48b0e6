"""Monotonic clocks for pacing: the real one and a fake one tests drive.

Sessions wait for absolute deadlines on a clock, never "sleep after speaking", so speech length never
accumulates drift. Nothing here knows about wall-clock time (the scheduler has its own).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic timeline."""
        ...

    def wait_until(self, deadline: float, interrupt: threading.Event) -> bool:
        """Blocks until `now() >= deadline` or `interrupt` is set; returns True when interrupted."""
        ...


class RealClock:
    """time.monotonic with waits that wake early on interrupt."""

    def now(self) -> float:
        return time.monotonic()

    def wait_until(self, deadline: float, interrupt: threading.Event) -> bool:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return interrupt.is_set()
            # Event.wait wakes at once on set(); a final short spin keeps phase starts within ~1 ms.
            if interrupt.wait(max(0.0, remaining - 0.002) if remaining > 0.004 else 0):
                return True
            if remaining <= 0.004:
                while time.monotonic() < deadline:
                    if interrupt.is_set():
                        return True
                    time.sleep(0.0005)
                return interrupt.is_set()


class FakeClock:
    """A clock that jumps straight to each deadline, so hours of pacing run in milliseconds.

    Tests may schedule callbacks at fake times with `at(t, fn)`; they run when the timeline passes t,
    before the waiter resumes, which lets a test press "stop" at exactly 12.5 s into a session.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self._scheduled: list[tuple[float, int, object]] = []
        self._seq = 0

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        self._run_due(self.now() + seconds)

    def at(self, t: float, fn) -> None:
        with self._lock:
            self._seq += 1
            self._scheduled.append((t, self._seq, fn))
            self._scheduled.sort(key=lambda item: (item[0], item[1]))

    def _run_due(self, target: float) -> None:
        while True:
            with self._lock:
                if not self._scheduled or self._scheduled[0][0] > target:
                    self._now = max(self._now, target)
                    return
                t, _, fn = self._scheduled.pop(0)
                self._now = max(self._now, t)
            fn()  # type: ignore[operator]

    def wait_until(self, deadline: float, interrupt: threading.Event) -> bool:
        if interrupt.is_set():
            return True
        with self._lock:
            pending = [item for item in self._scheduled if item[0] <= deadline]
        for t, _, _fn in pending:
            self._run_due(t)
            if interrupt.is_set():
                return True
        self._run_due(deadline)
        return interrupt.is_set()
