"""Test doubles for the core's ports: a FakeSpeaker that keeps a log and takes time on a (fake) clock.

Never touches audio; durations pass on the clock it is given, so a slow voice can be simulated exactly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from companion.core.clock import Clock


class FakeUtterance:
    """One line: done when its time on the clock has passed, or when the speaker was stopped."""

    def __init__(self, text: str, start: float, duration: float, clock: Clock | None) -> None:
        self.text = text
        self.start = start
        self.end = start + duration
        self.cut = False  # stopped before it finished
        self._clock = clock
        self._finished = threading.Event()
        if clock is None or duration <= 0:
            self._finished.set()

    @property
    def done(self) -> bool:
        if not self._finished.is_set() and self._clock is not None and self._clock.now() >= self.end:
            self._finished.set()
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits on the clock (a FakeClock jumps, running its scheduled callbacks on the way)."""
        if self.done or self._clock is None:
            return True
        deadline = self.end if timeout is None else min(self.end, self._clock.now() + timeout)
        self._clock.wait_until(deadline, self._finished)
        return self.done

    def _cut(self) -> None:
        if not self._finished.is_set():
            self.cut = True
            self._finished.set()


@dataclass(frozen=True)
class SpeakerCall:
    """One entry of FakeSpeaker.calls: ("say", t, text) or ("stop", t, None)."""

    action: str
    t: float
    text: str | None = None


class FakeSpeaker:
    """Implements companion.core.ports.Speaker. Lines queue one after another, each taking
    `seconds_per_line` (+ `seconds_per_word` × words) on `clock`; without a clock they finish at once."""

    def __init__(self, clock: Clock | None = None, seconds_per_line: float = 0.0,
                 seconds_per_word: float = 0.0) -> None:
        self.clock = clock
        self.seconds_per_line = seconds_per_line
        self.seconds_per_word = seconds_per_word
        self.calls: list[SpeakerCall] = []
        self.utterances: list[FakeUtterance] = []
        self.closed = False
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self.clock.now() if self.clock is not None else 0.0

    def say(self, text: str) -> FakeUtterance:
        with self._lock:
            now = self._now()
            pending = [u for u in self.utterances if not u.done]
            start = max([now] + [u.end for u in pending])
            duration = self.seconds_per_line + self.seconds_per_word * len(text.split())
            utterance = FakeUtterance(text, start, duration, self.clock)
            self.utterances.append(utterance)
            self.calls.append(SpeakerCall("say", now, text))
            return utterance

    def stop(self) -> None:
        with self._lock:
            self.calls.append(SpeakerCall("stop", self._now()))
            for u in self.utterances:
                u._cut()

    @property
    def speaking(self) -> bool:
        with self._lock:
            return any(not u.done for u in self.utterances)

    def close(self) -> None:
        self.stop()
        self.closed = True

    # Conveniences for assertions
    @property
    def lines(self) -> list[str]:
        return [c.text for c in self.calls if c.action == "say" and c.text is not None]

    @property
    def stops(self) -> list[float]:
        return [c.t for c in self.calls if c.action == "stop"]
