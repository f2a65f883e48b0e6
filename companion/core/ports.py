"""The interface the core needs from the outside world to speak: a voice that can be cut off.

The core holds only these protocols; pyttsx3 lives behind them; answers reach sessions through Session.answer().
"""

from __future__ import annotations

from typing import Protocol


class Utterance(Protocol):
    """A handle on one queued line of speech."""

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the line finished or was cut off; False on timeout."""
        ...

    @property
    def done(self) -> bool: ...


class Speaker(Protocol):
    """Speaks lines one after another, in the background. Never blocks the caller."""

    def say(self, text: str) -> Utterance:
        """Queues a line and returns at once."""
        ...

    def stop(self) -> None:
        """Cuts off the current line and drops queued ones (silence within 300 ms)."""
        ...

    @property
    def speaking(self) -> bool: ...

    def close(self) -> None: ...

