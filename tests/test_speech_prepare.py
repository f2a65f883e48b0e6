"""Rendering a session's lines ahead: when a guided session starts, the app hands every fixed line of the exercise
to the speaker (`prepare`, first lines first) without waiting for it; the Piper speaker then renders them in its
own threads, never before a line that is being said, so each line sounds from its cache when the session says it.

The Piper speaker here runs on a stand-in speech process (a fake worker that takes its time) and `true` as the
player: its queueing and cache are real, no voice or sound card is needed (tests/test_piper_voice.py has the
real voice)."""

from __future__ import annotations

import threading
import time
import wave
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeSpeaker

from companion.app import Companion
from companion.core.clock import FakeClock
from companion.core.config import Config
from companion.core.exercises import BreatheStep, load_library
from companion.core.store import Store
from companion.speech import piper_tts
from companion.speech.piper_tts import PiperSpeaker
from companion.speech.tts import QueuedSpeaker, SilentSpeaker


class PreparingSpeaker(FakeSpeaker):
    """A FakeSpeaker with a cache to fill: records every prepare() and every say(), in one log."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, Any]] = []

    def prepare(self, texts: list[str]) -> None:
        self.log.append(("prepare", list(texts)))

    def say(self, text: str) -> Any:
        self.log.append(("say", text))
        return super().say(text)


@pytest.fixture
def app() -> Any:
    companion = Companion(config=replace(Config(), region="US"), store=Store.memory(), speaker=PreparingSpeaker(),
                          clock=FakeClock())
    yield companion
    companion.close()


def test_a_session_start_prepares_the_exercise_lines_first_lines_first(app: Companion) -> None:
    speaker: PreparingSpeaker = app.speaker  # type: ignore[assignment]
    app.start_exercise("box", cycles=2)
    assert app.wait_session(10)
    prepares = [entry for entry in speaker.log if entry[0] == "prepare"]
    assert len(prepares) == 1 and speaker.log[0][0] == "prepare"  # once, before the session said anything
    prepared = prepares[0][1]
    box = app.library.get("box")
    assert prepared == box.spoken_lines()
    said = speaker.lines
    assert said and all(line in prepared for line in said)  # every line the session said was rendered ahead
    # speaking order: the opening line and the whole first cycle come before the later cycles' cue variants
    [breathe] = [s for s in box.steps if isinstance(s, BreatheStep)]
    first_cycle = said[: 1 + len(breathe.phases)]
    positions = [prepared.index(line) for line in first_cycle]
    assert positions == sorted(positions) and positions[-1] < len(first_cycle) + 1, (first_cycle, prepared)


def test_every_exercise_prepares_what_its_session_says_in_the_pieces_the_voice_renders() -> None:
    """The session says lines with their script's line breaks made spaces: they are still the prepared pieces."""
    library = load_library(None)
    for exercise in library:
        exercise = exercise if hasattr(exercise, "steps") else library.get(exercise)
        prepared = {s for text in exercise.spoken_lines() for s in piper_tts.segments(text)}
        assert len(prepared) <= piper_tts.CACHE_LINES, exercise.id  # all of it fits the cache at once
        for text in exercise.spoken_lines():
            as_said = " ".join(text.split())
            assert set(piper_tts.segments(as_said)) <= prepared, (exercise.id, text)


# ---------- the Piper speaker's own queue and cache, on a stand-in speech process

class SlowWorker:
    """Renders like the Piper process (a WAV with the requested silence) but takes `seconds` per piece."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.rendered: list[str] = []
        self.alive = True
        self.held = threading.Event()  # a render of "Held …" waits for it: a piece that is still rendering
        self.held.set()

    def render(self, text: str, path: Path, **params: Any) -> Path:
        time.sleep(self.seconds)
        if text.startswith("Held"):
            assert self.held.wait(10)
        self.rendered.append(text)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)
            w.writeframes(b"\0\0" * 441)
        return path

    def close(self) -> None:
        self.alive = False


def _piper_speaker(worker: SlowWorker) -> PiperSpeaker:
    speaker = PiperSpeaker.__new__(PiperSpeaker)
    speaker._length_scale, speaker._volume = 1.15, 1.0
    speaker._voice = piper_tts.PiperVoiceFiles("en_US-test-medium", Path("x.onnx"), Path("x.onnx.json"), "test")
    speaker.sample_rate = 22050
    speaker._cache = {}
    speaker._cache_lock = threading.Lock()
    speaker.step_gap = 0.0
    QueuedSpeaker.__init__(speaker, command=["true"], worker=worker, on_problem=None)  # type: ignore[arg-type]
    return speaker


@pytest.fixture
def worker() -> SlowWorker:
    return SlowWorker(0.05)


@pytest.fixture
def speaker(worker: SlowWorker) -> Any:
    speaker = _piper_speaker(worker)
    yield speaker
    speaker.close()


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_piper_prepare_returns_at_once_and_renders_in_order_then_lines_are_cache_hits(
        worker: SlowWorker, speaker: PiperSpeaker) -> None:
    lines = ["Box breathing.", "Breathe in through your nose… two… three… four.", "Hold gently at the top."]
    started = time.monotonic()
    speaker.prepare(lines)
    assert time.monotonic() - started < 0.2  # nothing is rendered on the caller's thread (that takes 0.3 s)
    pieces = [s.text for text in lines for s in piper_tts.segments(text)]
    _wait(lambda: len(worker.rendered) == len(pieces))
    # every line's first piece in speaking order, then the rest: a line starts as soon as its first is ready
    ahead = ["Box breathing.", "Breathe in through your nose", "Hold gently at the top.", "two", "three", "four."]
    assert worker.rendered == ahead
    said = [speaker.say(" ".join(text.split()).replace(" ", "\n", 1)) for text in lines]  # as a script wraps it
    assert all(line.wait(10) and line.completed for line in said)
    assert worker.rendered == ahead  # nothing rendered again: every piece came from the cache


def test_piper_a_line_said_while_preparing_waits_for_one_piece_at_most_and_new_sessions_go_first(
        worker: SlowWorker, speaker: PiperSpeaker) -> None:
    worker.seconds = 0.1
    old = [f"Old session line number {i}." for i in range(6)]
    new = [f"New session line number {i}." for i in range(3)]
    speaker.prepare(old)
    _wait(lambda: len(worker.rendered) >= 1)
    speaker.prepare(new)  # a new session: its lines before the old one's
    line = speaker.say("Said right now.")
    assert line.wait(10) and line.completed
    said_at = worker.rendered.index("Said right now.")
    assert said_at <= 2  # at most the piece being rendered when it was said came first
    _wait(lambda: len(worker.rendered) == 1 + len(old) + len(new))
    rest = worker.rendered[said_at + 1:]
    assert rest[: len(new)] == [t for t in new if t not in worker.rendered[:said_at]]


def test_piper_a_cached_line_plays_at_once_while_the_voice_renders_ahead(
        worker: SlowWorker, speaker: PiperSpeaker) -> None:
    cue = "Breathe in…"
    speaker.prepare([cue])
    _wait(lambda: worker.rendered == ["Breathe in"])
    worker.seconds = 1.0  # the next pieces are long sentences on a busy machine
    speaker.prepare([f"A long line to render ahead, number {i}." for i in range(3)])
    _wait(lambda: speaker._to_prepare and len(speaker._to_prepare) < 3)  # the first is rendering now
    said = time.monotonic()
    line = speaker.say(cue)
    assert line.wait(5) and line.completed
    assert line.first_audio_at is not None and line.first_audio_at - said < 0.6  # not behind the 1 s render
    assert len(worker.rendered) == 1  # the render ahead was still going on


def test_piper_a_line_starts_from_its_cached_first_piece_while_the_rest_renders(
        worker: SlowWorker, speaker: PiperSpeaker) -> None:
    worker.seconds = 0.01
    worker.held.clear()
    text = "Hold gently at the top. Held a moment longer."
    speaker.prepare([text])
    _wait(lambda: worker.rendered == ["Hold gently at the top."] and not speaker._to_prepare)
    said = time.monotonic()
    line = speaker.say(text)
    _wait(lambda: line.first_audio_at is not None, timeout=2)
    assert line.first_audio_at - said < 1.0 and not line.done  # the first piece plays; the second is held
    worker.held.set()
    assert line.wait(10) and line.completed
    assert worker.rendered.count("Held a moment longer.") == 1  # rendered once, kept for the line


def test_piper_cache_keeps_the_pieces_used_last(worker: SlowWorker, speaker: PiperSpeaker) -> None:
    worker.seconds = 0.0
    texts = [f"Line {i} of many." for i in range(piper_tts.CACHE_LINES + 5)]
    speaker.prepare(texts[:1])
    _wait(lambda: len(worker.rendered) == 1)
    for start in range(1, len(texts), 40):
        batch = texts[start:start + 40]
        speaker.prepare(["Line 0 of many.", *batch])  # asked for again: it counts as just used
        # kept, not only rendered: the speaker files a piece in its cache just after the worker returns it
        _wait(lambda b=batch: all(piper_tts.Segment(t) in speaker._cache for t in b))
    assert len(speaker._cache) == piper_tts.CACHE_LINES
    assert piper_tts.Segment("Line 0 of many.") in speaker._cache
    assert piper_tts.Segment("Line 1 of many.") not in speaker._cache  # the least recently used went
    assert len(list(speaker._dir.glob("cache-*.wav"))) == piper_tts.CACHE_LINES  # its file went with it


def test_starting_a_session_never_waits_for_the_voice_to_render_ahead() -> None:
    worker = SlowWorker(0.2)  # ≈5 s to render all of box breathing ahead
    speaker = _piper_speaker(worker)
    app = Companion(config=replace(Config(), region="US"), store=Store.memory(), speaker=speaker, clock=FakeClock())
    try:
        started = time.monotonic()
        app.start_exercise("box", cycles=1)
        assert time.monotonic() - started < 1.0  # the session is running; rendering goes on in the speaker
        assert app.session_running and len(speaker._to_prepare) > 10
    finally:
        app.stop()
        app.close()
        speaker.close()


def test_speakers_without_a_cache_take_prepare_as_nothing_to_do() -> None:
    assert QueuedSpeaker.prepare(object(), ["Breathe in."]) is None  # type: ignore[arg-type]  # pyttsx3's
    assert SilentSpeaker().prepare(["Breathe in."]) is None
