"""Events the core emits (captions, phases, states) and the small bus front ends subscribe to.

Front ends only render events; they never reach into a session's internals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One thing that happened, timed on the session's monotonic clock.

    `kind` is the JSON Lines `event` field: "start", "phase", "say", "listen", "heard", "record",
    "pause", "resume", "end", plus app-level kinds "caption", "state", "reply", "crisis".
    `t` is seconds since the session started (or since the app started for app-level events);
    `planned` is when it was due on the timeline (None when it was not scheduled).
    """

    kind: str
    t: float
    planned: float | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines form of the `--events FILE` contract."""
        out: dict[str, Any] = {"t": round(self.t, 4), "planned": self.planned, "event": self.kind}
        if self.planned is not None:
            out["planned"] = round(self.planned, 4)
        out.update(self.data)
        return out


Listener = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out of events; a failing subscriber is logged and never breaks the session."""

    def __init__(self) -> None:
        self._subscribers: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Adds a listener; returns a function that removes it."""
        with self._lock:
            self._subscribers.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._subscribers:
                    self._subscribers.remove(listener)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for listener in subscribers:
            try:
                listener(event)
            except Exception:  # a broken front end must not stop a breathing session
                log.exception("event listener failed on %s", event.kind)
