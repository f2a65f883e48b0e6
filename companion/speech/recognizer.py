"""The interface every speech recognizer implements, the hypotheses it reports, and its errors.
Never opens audio, never loads an engine (the factory is companion.speech.engines)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: "open": free speech, the main path of every engine; "dictation": free speech that is kept as said (a journal
#: entry), where an engine can prefer general language over the companion's own (PocketSphinx does; the others
#: hear it as "open"); "command": only the given sentences (a grammar), used where a closed list measurably helps:
#: the barge-in words heard over the companion's own voice.
MODES: tuple[str, ...] = ("open", "dictation", "command")

NO_VOSK_HINT = ("no Vosk model is installed: run `companion model download` (or `companion model install DIR`), "
                "or use --engine pocketsphinx")
NO_WHISPER_HINT = ("no Whisper model is installed: run `companion model download whisper-tiny.en` (and "
                   "`pip install 'companion[whisper]'`), or use --engine pocketsphinx")


class RecognizerError(Exception):
    """A recognizer cannot be opened; the message says what is wrong and how to fix it."""


class OpenModeUnavailable(RecognizerError):
    """Free speech was asked for but the engine can only hear a closed list of sentences."""


class ModelProblem(RecognizerError):
    """A model directory is missing, partial, corrupt or made for another sample rate."""


@dataclass(frozen=True)
class Hypothesis:
    """One reading of an utterance. `source`: "best" (the engine's first choice), "alternative" (its n-best
    list, `rank` 1, 2, …) or "grammar" (the companion's own phrases, heard by a second, closed search);
    `distance`: how far it sounds from the best reading (0 same phones … 1 nothing alike), for "grammar"."""

    text: str
    source: str = "best"
    rank: int = 0
    distance: float = 0.0


@runtime_checkable
class Recognizer(Protocol):
    """Streaming speech → text. Feed 16 kHz mono int16 PCM; `final()` ends the utterance and readies the next.

    `final()` returns the engine's best transcript ("" when nothing was heard); afterwards `last_hypotheses`
    holds every reading the engine can offer (the best first) and `last_confidence` its own 0..1 belief."""

    name: str
    mode: str
    last_hypotheses: tuple[Hypothesis, ...]
    last_confidence: float

    def accept(self, pcm16: bytes) -> None: ...

    def partial(self) -> str: ...

    def final(self) -> str: ...

    def reset(self) -> None: ...
