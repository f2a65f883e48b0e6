"""One interface over the speech recognizers, and the choice between them (Vosk when a model is installed,
else PocketSphinx's bundled English). Never opens audio and never guesses a model path from the network."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

_LOGGER = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = ("auto", "vosk", "pocketsphinx")
MODES: tuple[str, ...] = ("command", "open")

#: The one place that says how to get free speech; the app shows it once, the CLI prints it.
OPEN_MODE_HINT = ("free speech needs a Vosk model: run `companion model download` (or `companion model install "
                  "DIR`); you can type instead")
NO_VOSK_HINT = ("no Vosk model is installed: run `companion model download` (or `companion model install DIR`), "
                "or use --engine pocketsphinx")


class RecognizerError(Exception):
    """A recognizer cannot be opened; the message says what is wrong and how to fix it."""


class OpenModeUnavailable(RecognizerError):
    """Free speech was asked for but only the command-grammar engine is available."""


class ModelProblem(RecognizerError):
    """A model directory is missing, partial, corrupt or made for another sample rate."""


@runtime_checkable
class Recognizer(Protocol):
    """Streaming speech → text. Feed 16 kHz mono int16 PCM; `final()` ends the utterance and readies the next.

    In command mode `final()` returns a template sentence or "" (not understood); never a guess."""

    name: str
    mode: str

    def accept(self, pcm16: bytes) -> None: ...

    def partial(self) -> str: ...

    def final(self) -> str: ...

    def reset(self) -> None: ...


def template_sentences() -> list[str]:
    """Every sentence the router understands, plus spoken crisis language: the Vosk command grammar."""
    from companion.core.router import get_router
    from companion.speech.grammar import crisis_sentences

    return list(get_router().sentences()) + crisis_sentences()


def installed_vosk_model(lang: str = "en") -> Path | None:
    """The installed Vosk model, via the model manager (models.py); None when there is none."""
    try:
        from companion.speech import models
    except ImportError:  # the model manager is optional for listening: no manager, no installed model
        return None
    finder = getattr(models, "find_installed_vosk_model", None)
    return finder(lang) if finder else None


def _incomplete_models_hint() -> str:
    """Names a model folder that is there but unusable (an interrupted download or copy), if any."""
    try:
        from companion.speech import models

        broken = [m for m in models.installed_models(include_incomplete=True) if m.problems]
    except Exception:  # the manager is optional here and its own errors are reported by `companion model`
        return ""
    if not broken:
        return ""
    m = broken[0]
    return (f"the Vosk model in {m.path} is not usable: {'; '.join(m.problems)}. Reinstall it with "
            "`companion model download` (or `companion model install DIR`), or use --engine pocketsphinx")


def open_recognizer(engine: str = "auto", mode: str = "command", *,
                    sentences: Sequence[str] | None = None, model_dir: Path | None = None) -> Recognizer:
    """Opens an engine. `auto`: Vosk when a model is installed, else PocketSphinx (command mode only).

    `sentences` replaces the default grammar (e.g. the barge-in words, or `grammar.sentences_for("session")`
    while an exercise runs); by default Vosk hears the router's templates and PocketSphinx the curated
    spoken grammar. `model_dir` a Vosk model path.
    Raises RecognizerError (or a subclass) with a message meant for the person."""
    if engine not in ENGINES:
        raise RecognizerError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if mode not in MODES:
        raise RecognizerError(f"unknown mode {mode!r}: choose command or open")
    if engine in ("auto", "vosk"):
        path = model_dir or installed_vosk_model()
        if path is not None:
            from companion.speech.vosk_engine import VoskRecognizer

            return VoskRecognizer(path, mode=mode,
                                  sentences=(sentences if sentences is not None else
                                             template_sentences() if mode == "command" else ()))
        if engine == "vosk":
            raise RecognizerError(_incomplete_models_hint() or NO_VOSK_HINT)
    if mode == "open":
        raise OpenModeUnavailable(OPEN_MODE_HINT)
    from companion.speech.grammar import sentences_for
    from companion.speech.sphinx_engine import SphinxRecognizer

    # the curated spoken grammar (data/intents/voice.yaml), not the router's 15,000 look-alike sentences:
    # a grammar-only engine confuses short commands with long near-neighbours (docs/benchmarks/listening.md)
    return SphinxRecognizer(sentences if sentences is not None else sentences_for("idle"))


def active_engine_info() -> dict[str, Any]:
    """What `auto` would use, without loading anything heavy: for doctor and the tray."""
    path = installed_vosk_model()
    if path is not None:
        return {"engine": "vosk", "model": str(path), "open_mode": True, "hint": ""}
    try:
        import pocketsphinx

        model = str(Path(pocketsphinx.get_model_path()) / "en-us")
    except ImportError:
        return {"engine": "none", "model": "", "open_mode": False,
                "hint": "no recognizer: reinstall companion (pocketsphinx is missing); you can type instead"}
    return {"engine": "pocketsphinx", "model": model, "open_mode": False, "hint": OPEN_MODE_HINT}
