"""The companion's voice: lines rendered in a speech process (pyttsx3/espeak-ng here, Piper in piper_tts.py),
played by a child we can kill. It never blocks its caller (lines are queued) and never lets an engine's state
into this process.

How it works: a long-lived worker process (`_tts_worker.py`) owns the pyttsx3 engine and renders each line
to a WAV file; a player thread plays the files one after another with `aplay` (playback.py), while a render
thread prepares the next line (QueuedSpeaker; a line may be several files, one per sentence, for Piper).
`stop()` kills the player process; the sound server drops what it still holds.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from companion.core.ports import Speaker
from companion.speech.playback import Playback, check_output_device, player_command

log = logging.getLogger(__name__)

RATE_MIN, RATE_MAX = 80, 400
WORKER_START_TIMEOUT = 20.0
RENDER_LOOKAHEAD = 2  # rendered lines waiting to play while one plays
_WORKER = Path(__file__).with_name("_tts_worker.py")
WORKER_ENV = "COMPANION_TTS_WORKER"  # a frozen app has no Python to run _tts_worker.py with: see _worker_command


def _worker_command() -> tuple[list[str], dict[str, str] | None]:
    """How to start the speech process. A frozen (PyInstaller) app re-runs itself with COMPANION_TTS_WORKER=1;
    its entry point must then call companion.speech._tts_worker.main() instead of the CLI."""
    if getattr(sys, "frozen", False):
        return [sys.executable], dict(os.environ, **{WORKER_ENV: "1"})
    return [sys.executable, str(_WORKER)], None
_VOICES_HINT = ("`companion doctor --voices` lists them (a Language such as en-us, a File such as gmw/en-us, "
                "or a name such as \"English (America)\" all work); leave it empty for the default voice")


@dataclass(frozen=True)
class Voice:
    """A voice the engine offers: `id` is what config and `--voice` take."""

    id: str
    name: str
    languages: tuple[str, ...]


class SpeechUnavailable(RuntimeError):
    """Speech output cannot work here; the message says why and how to fix it (captions still work)."""


def _unavailable(reason: str) -> SpeechUnavailable:
    return SpeechUnavailable(f"Speech output is unavailable ({reason}). Captions only.")


def check_rate(rate: int) -> int:
    """A speaking rate in words per minute, or a ValueError that says what is allowed."""
    if isinstance(rate, bool) or not isinstance(rate, int) or not RATE_MIN <= rate <= RATE_MAX:
        raise ValueError(f"Speech rate must be a whole number of words per minute from {RATE_MIN} to "
                         f"{RATE_MAX} (got {rate!r}); 165 is a calm default.")
    return rate


def _check_volume(volume: float) -> float:
    if isinstance(volume, bool) or not isinstance(volume, int | float) or not 0.0 <= volume <= 1.0:
        raise ValueError(f"Speech volume must be between 0.0 and 1.0 (got {volume!r}).")
    return float(volume)


def _resolve_voice(voice: str | None, voices: list[Voice], default: str) -> str:
    """The engine id for a voice given by id, name or language code; ValueError naming how to list them."""
    if voice is None or not voice.strip():
        return default
    key = voice.strip().lower()
    for match in (lambda v: v.id.lower() == key, lambda v: v.name.lower() == key.replace("_", " "),
                  lambda v: v.id.lower().rsplit("/", 1)[-1] == key,
                  lambda v: key in (lang.lower() for lang in v.languages)):
        for v in voices:
            if match(v):
                return v.id
    raise ValueError(f"Unknown voice {voice!r}. {_VOICES_HINT}.")


_NOVELTY = ("bells", "bad news", "good news", "bahh", "boing", "bubbles", "cellos", "jester", "organ",
            "trinoids", "whisper", "wobble", "zarvox", "albert", "superstar", "eloquence")


def _voice_quality(v: Voice) -> int:
    """How natural a system voice sounds, from what its id and name say: 3 neural/premium, 2 enhanced/OneCore,
    1 ordinary, 0 novelty or formant voices."""
    text = f"{v.id} {v.name}".lower()
    if any(n in text for n in _NOVELTY):
        return 0
    if any(k in text for k in ("natural", "neural", "premium")):
        return 3
    if any(k in text for k in ("enhanced", "onecore")):
        return 2
    return 1


def best_system_voice(voices: list[Voice], default: str, platform: str = sys.platform) -> str:
    """The voice used when none is chosen: on Windows and macOS the most natural English voice installed (the
    system default when nothing is better); elsewhere the default (espeak-ng's, which needs nothing)."""
    if platform not in ("win32", "darwin"):
        return default

    def english(v: Voice) -> bool:
        langs = " ".join(v.languages).lower().replace("_", "-")
        return (langs.startswith("en") or " en" in f" {langs}" or "en-" in v.id.lower()
                or "english" in v.name.lower())

    current = next((v for v in voices if v.id == default), None)
    candidates = [v for v in voices if english(v)]
    if not candidates:
        return default
    best = max(candidates, key=_voice_quality)  # the first of the best: the system's own order breaks ties
    if current is None or (_voice_quality(best), english(best)) > (_voice_quality(current), english(current)):
        return best.id
    return default


class _Worker:
    """Client for one speech process (`_tts_worker.py`; `_piper_worker.py` through the same protocol): start it,
    ask it to render, restart or close it. `hello` is what the process said when it was ready."""

    def __init__(self, command: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        if command is None:
            command, env = _worker_command()
        try:
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                          encoding="utf-8", bufsize=1)
        except OSError as e:
            raise _unavailable(f"the speech process could not start: {e}") from e
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, name="tts-worker-reader", daemon=True).start()
        hello = self._reply(WORKER_START_TIMEOUT)
        if hello is None or not hello.get("ok"):
            self.close()
            reason = (hello or {}).get("error") or "the speech process did not start in time"
            raise _unavailable(reason)
        self.hello: dict[str, Any] = hello
        self.default_voice: str = hello.get("default_voice") or ""
        self.voices = [Voice(v["id"], v["name"], tuple(v.get("languages") or ()))
                       for v in hello.get("voices") or ()]
        self._lock = threading.Lock()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _reply(self, timeout: float) -> dict[str, Any] | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if line is None else json.loads(line)

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def render(self, text: str, path: Path, **params: Any) -> Path:
        """Writes `text` as a WAV file at `path` (params: voice, rate, volume for pyttsx3; length_scale, volume,
        pause_after for Piper); RuntimeError when the worker fails (it is then closed)."""
        timeout = 20.0 + len(text) / 50
        with self._lock:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(json.dumps({"op": "render", "text": text, "path": str(path),
                                                   **params}) + "\n")
                self._proc.stdin.flush()
            except (OSError, ValueError) as e:
                self.close()
                raise RuntimeError(f"the speech process stopped ({e})") from e
            reply = self._reply(timeout)
        if reply is None:
            self.close()
            raise RuntimeError("the speech process stopped or stopped answering")
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error") or "the speech engine failed")
        return path

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self._proc.stdin:
                self._proc.stdin.close()
        try:
            self._proc.wait(2.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(2.0)


class SpokenLine:
    """The `Utterance` handle for one queued line: when its audio started and ended, whether it finished."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.first_audio_at: float | None = None  # time.monotonic() when its audio started playing
        self.ended_at: float | None = None  # time.monotonic() when it ended, was cut off or failed
        self.completed = False  # True only when it played to its end
        self.error: str | None = None
        self._queued = 0  # leading segments already queued to play from a cache (the render thread skips them)
        self._event = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def _finish(self, completed: bool, error: str | None = None) -> None:
        if self._event.is_set():
            return
        self.ended_at = time.monotonic()
        self.completed = completed
        self.error = error
        self._event.set()

    def __repr__(self) -> str:
        state = "playing" if self.first_audio_at and not self.done else ("done" if self.done else "queued")
        return f"SpokenLine({self.text!r}, {state})"


class SilentSpeaker:
    """Captions only: every line is finished the moment it is said (`--silent`, and the fallback)."""

    def say(self, text: str) -> SpokenLine:
        line = SpokenLine(text)
        line._finish(True)
        return line

    def prepare(self, texts: list[str]) -> None:
        pass

    def stop(self) -> None:
        pass

    @property
    def speaking(self) -> bool:
        return False

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Segment:
    """A piece of a line rendered to its own file (a sentence) and the silence rendered after it."""

    text: str
    pause_after: float = 0.0


def output_command() -> list[str]:
    """The player command when the audio output works here, else SpeechUnavailable with the fix."""
    command = player_command()
    if command is None:
        raise _unavailable("no audio player is installed: sudo apt install alsa-utils")
    problem = check_output_device(command)
    if problem:
        raise _unavailable(f"{problem}; start a sound server such as PulseAudio or PipeWire, "
                           "or connect a sound card")
    return command


class QueuedSpeaker:
    """The Speaker port over a speech process: a render thread prepares each line's segments ahead (at most
    RENDER_LOOKAHEAD files waiting), a play thread plays them one after another, `stop()` kills the player.

    Subclasses say how a line is cut into segments and how a segment is rendered; they set their own fields,
    then call `QueuedSpeaker.__init__`, which starts the threads.
    """

    step_gap = 0.0  # seconds of silence kept before a line that follows the previous one at once
    idle_release: float | None = None  # the speech process is closed after this long with nothing to say
    prepare_delay = 0.0  # rendering ahead waits this long after prepare(), so a line said at once goes first

    def __init__(self, *, command: list[str], worker: _Worker | None,
                 on_problem: Callable[[str], None] | None) -> None:
        self._command = command
        self._worker = worker
        self._on_problem = on_problem
        self._problem_reported = False
        self._dir = Path(tempfile.mkdtemp(prefix="companion-speech-"))
        weakref.finalize(self, shutil.rmtree, self._dir, True)  # also when close() is never called
        self._names = itertools.count()
        self._cond = threading.Condition()
        self._to_render: deque[SpokenLine] = deque()
        self._to_prepare: deque[Segment] = deque()  # rendered ahead when nothing else is to be rendered
        self._to_play: deque[tuple[SpokenLine, Path, bool]] = deque()  # (line, file, last of its line)
        self._rendering: SpokenLine | None = None
        self._playing: tuple[SpokenLine, Playback] | None = None
        self._last_end: float | None = None  # when the last line finished playing (for step_gap)
        self._last_render = time.monotonic()
        self._prepare_after = 0.0  # rendering ahead starts no sooner (see prepare_delay)
        self._closed = False
        self._reference: Any = None  # made by the first `playback_reference` call
        self._threads = [threading.Thread(target=self._render_loop, name="tts-render", daemon=True),
                         threading.Thread(target=self._play_loop, name="tts-play", daemon=True)]
        for t in self._threads:
            t.start()

    # -- what subclasses provide ---------------------------------------------------------------------------
    def _new_worker(self) -> _Worker:
        raise NotImplementedError

    def _segments(self, text: str) -> list[Segment]:
        return [Segment(text)]

    def _render_segment(self, worker: _Worker, segment: Segment, path: Path) -> None:
        raise NotImplementedError

    def _prepare_segment(self, segment: Segment) -> None:
        """Renders a segment into a cache ahead of its line (speakers with a cache)."""

    def _cached_files(self, text: str) -> tuple[list[Path], int]:
        """The files of a line's leading segments that need no rendering (cached), as fresh copies to play and
        delete, and how many segments the line has. Called in say(): it must be quick."""
        return [], 0

    def prepare(self, texts: list[str]) -> None:
        """Lines that will be said soon (a session's cues): a speaker that renders slowly renders them now, in
        the background, so they sound at once when said. Never delays a line already queued."""

    @property
    def playback_reference(self) -> Any:
        """What is being played, as a companion.speech.echo.PlaybackReference (16 kHz samples and the monotonic
        start of each file played) for barge-in's echo suppression; made on first use, so no one else pays."""
        if self._reference is None:
            from companion.speech.echo import PlaybackReference

            self._reference = PlaybackReference()
        return self._reference

    # -- the Speaker port --------------------------------------------------------------------------------
    def say(self, text: str) -> SpokenLine:
        line = SpokenLine(text)
        with self._cond:
            if self._closed:  # a line said while shutting down is dropped, never an error for the caller
                line._finish(False, "the speaker is closed")
                return line
            files, count = ([], 0) if self._to_render or self._rendering else self._cached_files(text)
            # rendered ahead: straight to the player, even while the worker renders something else ahead
            self._to_play.extend((line, f, i == count - 1) for i, f in enumerate(files))
            line._queued = len(files)
            if not files or len(files) < count:
                self._to_render.append(line)
            self._cond.notify_all()
        return line

    def stop(self) -> None:
        with self._cond:
            for line in self._to_render:
                line._finish(False)
            self._to_render.clear()
            for line, path, _ in self._to_play:
                line._finish(False)
                path.unlink(missing_ok=True)
            self._to_play.clear()
            if self._rendering:
                self._rendering._finish(False)
                self._rendering = None
            if self._playing:
                line, play = self._playing
                play.kill()
                line._finish(False)
                self._playing = None
            self._cond.notify_all()

    @property
    def speaking(self) -> bool:
        with self._cond:
            return bool(self._to_render or self._to_play or self._rendering or self._playing)

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
        self.stop()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            if t is not threading.current_thread():  # close() may come from an on_problem handler
                t.join(5.0)
        if self._worker is not None:
            self._worker.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the two background threads ------------------------------------------------------------------------
    def _problem(self, message: str) -> None:
        log.warning("%s", message)
        if self._on_problem and not self._problem_reported:
            self._problem_reported = True
            try:
                self._on_problem(message)
            except Exception:
                log.exception("on_problem handler failed")

    def _render(self, segment: Segment, path: Path) -> None:
        """Renders with the worker; a dead or wedged worker is replaced once before the line is given up."""
        self._last_render = time.monotonic()
        for attempt in (1, 2):
            if self._worker is None or not self._worker.alive:
                self._worker = self._new_worker()
            try:
                self._render_segment(self._worker, segment, path)
                return
            except RuntimeError:
                if attempt == 2 or self._worker.alive:
                    raise

    def _idle(self) -> bool:
        """Nothing to say for idle_release seconds while the speech process is up: time to let it go."""
        return (self.idle_release is not None and self._worker is not None and not self._to_render
                and not self._to_prepare and time.monotonic() - self._last_render >= self.idle_release)

    def _render_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._to_render and not self._idle():
                    left = self._prepare_after - time.monotonic()
                    if self._to_prepare and left <= 0:
                        break
                    self._cond.wait(left if self._to_prepare else self.idle_release)
                if self._closed:
                    return
                line = self._to_render.popleft() if self._to_render else None
                ahead = self._to_prepare.popleft() if line is None and self._to_prepare else None
                self._rendering = line
            if ahead is not None:  # one segment at a time, so a line said meanwhile waits for one at most
                try:
                    self._prepare_segment(ahead)
                except (RuntimeError, SpeechUnavailable, OSError) as e:
                    log.info("could not render ahead %r: %s", ahead.text, e)
                continue
            if line is None:  # idle: the speech process's memory goes back to the system
                worker, self._worker = self._worker, None
                if worker is not None:
                    log.info("speech process closed after %.0f s without speech", self.idle_release or 0)
                    worker.close()
                continue
            error = self._render_line(line)
            with self._cond:
                if self._rendering is line:
                    self._rendering = None
                if error is not None:
                    for item in [i for i in self._to_play if i[0] is line]:
                        self._to_play.remove(item)
                        item[1].unlink(missing_ok=True)
                self._cond.notify_all()
            if error is not None:
                line._finish(False, error)
                self._problem(f"A line could not be spoken ({error}); it is still shown as a caption.")

    def _render_line(self, line: SpokenLine) -> str | None:
        """Renders a line's segments into the play queue as they are ready; the error text, or None."""
        segments = self._segments(line.text) or [Segment("")]
        for i, segment in enumerate(segments):
            if i < line._queued:  # already playing from the cache
                continue
            with self._cond:
                while not self._closed and not line.done and len(self._to_play) >= RENDER_LOOKAHEAD:
                    self._cond.wait()
                if self._closed or line.done:
                    return None
            path = self._dir / f"{next(self._names)}.wav"
            try:
                self._render(segment, path)
            except (RuntimeError, SpeechUnavailable) as e:
                path.unlink(missing_ok=True)
                return str(e)
            with self._cond:
                if line.done:
                    path.unlink(missing_ok=True)
                    return None
                self._to_play.append((line, path, i == len(segments) - 1))
                self._cond.notify_all()
        return None

    def _next_to_play(self) -> tuple[SpokenLine, Path, bool, Playback] | None:
        """Under the lock: starts the next file (after the step gap, for a line's first file), or None to wait."""
        line, path, last = self._to_play[0]
        if line.first_audio_at is None and self.step_gap and self._last_end is not None:
            left = self._last_end + self.step_gap - time.monotonic()
            if left > 0:
                self._cond.wait(left)  # real silence between steps; stop() may empty the queue meanwhile
                return None
        self._to_play.popleft()
        play = Playback(path, self._command)
        if line.first_audio_at is None:
            line.first_audio_at = play.started_at
        self._playing = (line, play)
        self._cond.notify_all()
        return line, path, last, play

    def _play_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._to_play:
                    self._cond.wait()
                if self._closed:
                    return
                started = self._next_to_play()
            if started is None:
                continue
            line, path, last, play = started
            reference = self._reference
            if reference is not None:
                reference.publish_wav(path, play.started_at)
            code = play.wait()
            if reference is not None:
                reference.ended()
            with self._cond:
                if self._playing and self._playing[1] is play:
                    self._playing = None
                if last and code == 0 and not play.killed:
                    self._last_end = time.monotonic()
                self._cond.notify_all()
            if play.killed:
                line._finish(False)
            elif code == 0:
                if last:
                    line._finish(True)
            else:
                detail = play.error_text() or f"the player exited with code {code}"
                line._finish(False, detail)
                self._problem(f"Speech could not be played ({detail}); captions still work.")
            path.unlink(missing_ok=True)


class Pyttsx3Speaker(QueuedSpeaker):
    """Speaks queued lines with pyttsx3 + espeak-ng; `stop()` cuts the current line off at once.

    Raises SpeechUnavailable (with the fix in its message) when synthesis or the audio output cannot work,
    ValueError for an unknown voice or a rate outside 80–400.
    """

    def __init__(self, *, voice: str | None = None, rate: int = 165, volume: float = 1.0,
                 on_problem: Callable[[str], None] | None = None) -> None:
        self._rate = check_rate(rate)
        self._volume = _check_volume(volume)
        command = output_command()
        worker = _Worker()
        try:
            self._voice = _resolve_voice(voice, worker.voices, best_system_voice(worker.voices, worker.default_voice))
        except ValueError:
            worker.close()
            raise
        self.voices = worker.voices
        super().__init__(command=command, worker=worker, on_problem=on_problem)

    @property
    def voice(self) -> str:
        return self._voice

    @property
    def rate(self) -> int:
        return self._rate

    def _new_worker(self) -> _Worker:
        return _Worker()

    def _render_segment(self, worker: _Worker, segment: Segment, path: Path) -> None:
        worker.render(segment.text, path, voice=self._voice, rate=self._rate, volume=self._volume)


def make_speaker(*, voice: str | None = None, rate: int = 165, volume: float = 1.0, silent: bool = False,
                 on_problem: Callable[[str], None] | None = None) -> Speaker:
    """The real speaker when speech works here, else SilentSpeaker after telling `on_problem` why, once.

    An unknown voice or a bad rate is the person's setting to fix, so it raises ValueError even when silent
    would do (a rate is checked always; a voice only when the engine is available to check it against).
    """
    check_rate(rate)
    _check_volume(volume)
    if silent:
        return SilentSpeaker()
    from companion.speech import piper_tts

    if piper_tts.looks_like_piper_voice(voice):
        assert voice is not None
        try:
            return piper_tts.PiperSpeaker(voice=voice, rate=rate, volume=volume, on_problem=on_problem)
        except SpeechUnavailable as e:
            if piper_tts.available():  # piper-tts is there but this computer cannot play: captions only
                if on_problem:
                    on_problem(str(e))
                return SilentSpeaker()
            if on_problem:  # no piper-tts: today's voice, and say once why
                on_problem(f"The voice {voice} needs piper-tts, which is not installed "
                           f"({piper_tts.INSTALL_HINT}); speaking with espeak-ng instead.")
            voice = None
    try:
        return Pyttsx3Speaker(voice=voice, rate=rate, volume=volume, on_problem=on_problem)
    except SpeechUnavailable as e:
        if on_problem:
            on_problem(str(e))
        return SilentSpeaker()


def render_to_wav(text: str, path: Path, *, voice: str | None = None, rate: int = 165) -> Path:
    """Writes `text` as speech to a WAV file (22050 Hz mono 16-bit from espeak-ng, or from a Piper voice such
    as en_US-joe-medium); needs no audio device.

    Raises ValueError for a bad voice or rate, SpeechUnavailable when the engine cannot run.
    """
    from companion.speech import piper_tts

    if piper_tts.looks_like_piper_voice(voice):
        assert voice is not None
        return piper_tts.render_to_wav(text, path, voice=voice, rate=rate)
    check_rate(rate)
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name such as {path / 'speech.wav'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    worker = _Worker()
    try:
        voice_id = _resolve_voice(voice, worker.voices, best_system_voice(worker.voices, worker.default_voice))
        try:
            worker.render(text, path, voice=voice_id, rate=rate, volume=1.0)
        except RuntimeError as e:
            raise SpeechUnavailable(f"Could not render speech to {path}: {e}") from e
    finally:
        worker.close()
    return path


def list_voices() -> list[Voice]:
    """Every voice the engine offers (espeak-ng has about 130); SpeechUnavailable when it cannot start."""
    worker = _Worker()
    worker.close()
    return list(worker.voices)


def probe() -> tuple[bool, str]:
    """For `companion doctor`: whether speech out works here and, if not, the fix."""
    try:
        worker = _Worker()
    except SpeechUnavailable as e:
        return False, str(e)
    try:
        with tempfile.TemporaryDirectory(prefix="companion-probe-") as d:
            try:
                worker.render("Hello.", Path(d) / "probe.wav", voice=worker.default_voice, rate=165,
                              volume=1.0)
            except RuntimeError as e:
                return False, str(_unavailable(f"espeak-ng could not render a test line: {e}"))
    finally:
        worker.close()
    command = player_command()
    problem = (check_output_device(command) if command
               else "no audio player is installed: sudo apt install alsa-utils")
    if problem:
        return False, (f"Speech synthesis works ({len(worker.voices)} voices) but nothing can play it: "
                       f"{problem}. "
                       "Start a sound server (PulseAudio or PipeWire) or connect a sound card; "
                       "`companion say TEXT --to-file OUT.wav` still works; sessions fall back to captions.")
    assert command is not None
    return True, (f"Speech out works: espeak-ng via pyttsx3, {len(worker.voices)} voices "
                  f"(default {worker.default_voice}), played with {command[0]}.")
