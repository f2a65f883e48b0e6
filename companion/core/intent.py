"""The router's answer: which intent, how sure, which slots. A contract shared by chat, listening and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INTENTS: tuple[str, ...] = (
    "breathe", "ground", "self_compassion", "reframe", "journal", "connect", "feeling", "crisis",
    "professional_help", "stop", "pause", "resume", "repeat", "slower", "faster", "snooze", "help",
    "progress", "yes", "no", "unknown",
)
CONTROL_INTENTS: frozenset[str] = frozenset({"stop", "pause", "resume", "repeat", "slower", "faster"})
PATTERNS: tuple[str, ...] = ("box", "4-7-8", "coherent", "sigh")
FEELINGS: tuple[str, ...] = (
    "lonely", "anxious", "sad", "stressed", "overwhelmed", "angry", "tired", "numb", "okay", "good",
)


@dataclass(frozen=True)
class IntentResult:
    """What one utterance means. `confidence` is in [0, 1]; below the router's threshold the intent is
    "unknown". Slots: `pattern` (str), `minutes` (int), `feeling` (str)."""

    text: str
    intent: str
    confidence: float
    slots: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "intent": self.intent, "confidence": round(self.confidence, 3),
                "slots": dict(self.slots)}


@dataclass(frozen=True)
class RouteContext:
    """What the conversation is waiting for, so short answers ("yes", "next") mean the right thing.

    `expecting`: intents that would answer a pending question (e.g. {"yes", "no"}), or empty.
    `in_session`: a session is running, so control words ("stop", "slower") take precedence.
    """

    expecting: frozenset[str] = frozenset()
    in_session: bool = False
