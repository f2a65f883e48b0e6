"""Which recognizer to open: Whisper or Vosk when their model is installed, else PocketSphinx's bundled English,
all decoding free speech. Never opens audio and never guesses a model path from the network."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from companion.core.config import ENGINES
from companion.speech.recognizer import (
    MODES,
    NO_VOSK_HINT,
    NO_WHISPER_HINT,
    OpenModeUnavailable,
    Recognizer,
    RecognizerError,
)

_LOGGER = logging.getLogger(__name__)

#: `auto` tries these in order, best measured accuracy first (docs/benchmarks/listening.md).
AUTO_ORDER: tuple[str, ...] = ("whisper", "vosk", "pocketsphinx")
#: Why one would download a model, for doctor and the tray's "How I listen" (said once, never nagging).
UPGRADE_HINT = ("for better listening, download the Whisper model once (75 MB): `pip install 'companion[whisper]'` "
                "then `companion model download whisper-tiny.en`")


def template_sentences() -> list[str]:
    """Every sentence the router understands, plus spoken crisis language: the Vosk command grammar."""
    from companion.core.router import get_router
    from companion.speech.grammar import crisis_sentences

    return list(get_router().sentences()) + crisis_sentences()


def installed_model(engine: str) -> Path | None:
    """The installed model folder of an engine that needs one (via the model manager), else None."""
    try:
        from companion.speech import models
    except ImportError:  # the model manager is optional for listening: no manager, no installed model
        return None
    finder = {"vosk": "find_installed_vosk_model", "whisper": "find_installed_whisper_model"}.get(engine)
    find = getattr(models, finder, None) if finder else None
    return find() if find is not None else None


def _incomplete_models_hint(kind: str) -> str:
    """Names a model folder of this kind that is there but unusable (an interrupted download or copy), if any."""
    try:
        from companion.speech import models

        broken = [m for m in models.installed_models(include_incomplete=True)
                  if m.problems and getattr(m, "kind", "vosk") == kind]
    except Exception:  # the manager is optional here and its own errors are reported by `companion model`
        return ""
    if not broken:
        return ""
    m = broken[0]
    return (f"the {kind.capitalize()} model in {m.path} is not usable: {'; '.join(m.problems)}. Reinstall it with "
            f"`companion model download {m.name}`, or use --engine pocketsphinx")


def open_recognizer(engine: str = "auto", mode: str = "open", *,
                    sentences: Sequence[str] | None = None, model_dir: Path | None = None) -> Recognizer:
    """Opens an engine; `auto` takes the first of AUTO_ORDER that is installed.

    `mode` "open" decodes free speech (the main path); "command" hears only `sentences` (the barge-in words,
    or by default the curated spoken phrases). `model_dir`: a Vosk or Whisper model folder to use instead.
    Raises RecognizerError (or a subclass) with a message meant for the person."""
    if engine not in ENGINES:
        raise RecognizerError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if mode not in MODES:
        raise RecognizerError(f"unknown mode {mode!r}: choose {' or '.join(MODES)}")
    for name in (AUTO_ORDER if engine == "auto" else (engine,)):
        if name == "pocketsphinx":
            from companion.speech.sphinx_engine import SphinxRecognizer

            return SphinxRecognizer(sentences, mode=mode)  # "dictation": its general language model leads
        path = model_dir if model_dir is not None and _model_kind(model_dir) == name else installed_model(name)
        if path is None:
            if engine == name:
                raise RecognizerError(_incomplete_models_hint(name) or
                                      (NO_WHISPER_HINT if name == "whisper" else NO_VOSK_HINT))
            continue
        if name == "whisper":
            if mode == "command":
                if engine == "whisper":
                    raise OpenModeUnavailable("Whisper hears free speech only; use --engine pocketsphinx for a "
                                              "closed list of phrases")
                continue  # auto: a closed list is PocketSphinx's (or Vosk's) job
            try:
                from companion.speech.whisper_engine import WhisperRecognizer
            except ImportError as exc:  # pragma: no cover - the module itself is always there
                raise RecognizerError(str(exc)) from exc
            try:
                return WhisperRecognizer(path, mode="open" if mode == "dictation" else mode)
            except RecognizerError:
                if engine == "whisper":
                    raise
                _LOGGER.warning("the Whisper model is installed but cannot be used; trying the next engine",
                                exc_info=True)
                continue
        from companion.speech.vosk_engine import VoskRecognizer

        return VoskRecognizer(path, mode="open" if mode == "dictation" else mode,
                              sentences=(sentences if sentences is not None else
                                         template_sentences() if mode == "command" else ()))
    raise RecognizerError("no speech recognizer is available")  # pragma: no cover - pocketsphinx ends the order


def _model_kind(path: Path) -> str:
    """"whisper" for a CTranslate2 Whisper folder, else "vosk"."""
    return "whisper" if (Path(path) / "model.bin").is_file() else "vosk"


def active_engine_info() -> dict[str, Any]:
    """What `auto` would use, without loading anything heavy: for doctor and the tray."""
    for name in AUTO_ORDER[:-1]:
        path = installed_model(name)
        if path is not None and (name != "whisper" or _whisper_importable()):
            return {"engine": name, "model": str(path), "open_mode": True, "hint": ""}
    try:
        import pocketsphinx

        model = str(Path(pocketsphinx.get_model_path()) / "en-us")
    except ImportError:
        return {"engine": "none", "model": "", "open_mode": False,
                "hint": "no recognizer: reinstall companion (pocketsphinx is missing); you can type instead"}
    return {"engine": "pocketsphinx", "model": model, "open_mode": True, "hint": UPGRADE_HINT}


def _whisper_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("faster_whisper") is not None
