"""The voice front end: the VoiceLoop driving the app (fakes, fast) and `companion talk` / `companion checkin`
end to end with a private PulseAudio, a person's voice (flite) fed into its FIFO microphone, and real speech out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import speech_corpus
from fakes import FakeSpeaker
from helpers import RealtimeFifo, default_sigint, espeak_wav16k, run_cli

from companion.app import Companion
from companion.core.clock import FakeClock, RealClock
from companion.core.config import Config
from companion.core.store import Store
from companion.speech.audio import Heard
from companion.voice import VoiceLoop, VoiceUnavailable

# ----------------------------------------------------------------------------------- the loop, with fakes


def heard(text: str) -> Heard:
    return Heard(text, 1.0, 5.0, timed_out=not text)


class ScriptedEar:
    """Answers each listen with the next scripted utterance (then silence) and logs the mode it was asked in."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.modes: list[str] = []

    def __call__(self, mode: str) -> Heard:
        self.modes.append(mode)
        if not self.texts:
            time.sleep(0.05)  # silence takes time on a microphone too
        return heard(self.texts.pop(0) if self.texts else "")


class FakeBargeIn:
    """Stands in for BargeIn: says `word` `after` seconds after start() (once), and logs start/stop."""

    def __init__(self, on_word, word: str | None = None, after: float = 0.2) -> None:
        self.on_word, self.word, self.after = on_word, word, after
        self.error = None
        self.log: list[str] = []

    def start(self) -> None:
        self.log.append("start")
        if self.word is not None:
            word, self.word = self.word, None
            threading.Timer(self.after, self.on_word, args=(word,)).start()

    def stop(self) -> None:
        self.log.append("stop")


def make_app(clock=None) -> Companion:
    return Companion(config=replace(Config(), region="US"), store=Store.memory(), speaker=FakeSpeaker(),
                     clock=clock or FakeClock())


@contextmanager
def voice_loop(hear, *, clock=None, barge_in=False, check_in: bool = False,
               **options) -> Iterator[tuple[Companion, VoiceLoop]]:
    """A fresh app and a VoiceLoop listening with `hear`; with `check_in`, a voice check-in has been asked and the
    loop run as it runs for one (not listening first). Yields (app, loop); the app is closed on the way out."""
    app = make_app(clock)
    loop = VoiceLoop(app, hear=hear, barge_in=barge_in, **options)
    try:
        if check_in:
            app.check_in(source="voice")
            loop.run(listen_first=False)
        yield app, loop
    finally:
        app.close()


@pytest.mark.timeout(30)
def test_a_spoken_check_in_stores_the_feeling_and_yes_starts_the_offer():
    ear = ScriptedEar("i feel lonely", "about a six", "yes")
    with voice_loop(ear, check_in=True) as (app, loop):
        assert app.wait_session(10)
        [checkin] = app.store.checkins()
        assert (checkin.feeling, checkin.intensity) == ("lonely", 6)
        [session] = app.store.sessions()
        assert session.exercise_id == "connect"  # the first exercise the reply to loneliness offered
        assert loop.turns[0].intent == "feeling" and loop.turns[2].intent == "yes"
        assert ear.modes[:3] == ["open", "open", "open"]  # free speech, read as typed text is


@pytest.mark.timeout(30)
def test_an_answer_not_understood_is_listened_for_once_more():
    ear = ScriptedEar("", "i feel lonely")
    ear_heard = ear.__call__

    def not_understood_then_answer(mode: str) -> Heard:  # speech heard but not understood: not a timeout
        result = ear_heard(mode)
        return replace(result, timed_out=False) if len(ear.modes) == 1 else result

    with voice_loop(not_understood_then_answer, check_in=True) as (app, _):
        assert [c.feeling for c in app.store.checkins()] == ["lonely"]


@pytest.mark.timeout(30)
def test_nothing_is_heard_unless_something_is_asked():
    ear = ScriptedEar("what can you do")
    with voice_loop(ear) as (_, loop):
        loop.run()
        assert len(ear.modes) == 1  # the help reply asks nothing: the microphone is not opened again
        assert loop.turns[0].intent == "help"


@pytest.mark.timeout(30)
def test_a_journal_answer_is_kept_as_heard():
    ear = ScriptedEar("i want to journal", "today i walked by the river")
    # a fake clock would let the question time out before it is answered
    with voice_loop(ear, clock=RealClock()) as (app, loop):
        loop.run()
        assert app.wait_session(10)
        [entry] = app.store.journal()
        assert entry.text == "today i walked by the river"
        # the request is heard as a request; the entry as dictation (the recognizer's general language leads)
        assert ear.modes[:2] == ["open", "dictation"]


@pytest.mark.timeout(30)
def test_stop_heard_over_the_session_ends_it_as_stopped():
    barges: list[FakeBargeIn] = []

    def barge(on_word):
        barges.append(FakeBargeIn(on_word, "stop"))
        return barges[-1]

    with voice_loop(ScriptedEar("box breathing for one minute"), clock=RealClock(), barge_in=barge) as (app, loop):
        loop.run()
        assert app.wait_session(5)
        assert app.last_result is not None and app.last_result.reason == "stopped"
        [session] = app.store.sessions()
        assert session.exercise_id == "box" and not session.completed
        assert barges[0].log == ["start", "stop"]  # the barge-in microphone is closed again
        assert loop.turns[-1].source == "barge-in" and loop.turns[-1].intent == "stop"


@pytest.mark.timeout(30)
def test_while_paused_the_microphone_opens_only_once_our_own_line_is_spoken():
    """A laptop without a headset hears the companion: listening over "Paused. Say resume…" took that line for
    the person's answer, and every reply to it again (the flaky barge-in test in CI)."""
    clock = RealClock()
    app = Companion(config=replace(Config(), region="US"), store=Store.memory(),
                    speaker=FakeSpeaker(clock, seconds_per_word=0.05), clock=clock)
    speaking_when_heard: list[bool] = []
    texts = ["box breathing for one minute", "stop"]

    def ear(mode: str) -> Heard:
        if app.state == "paused":
            speaking_when_heard.append(app.speaker.speaking)
        return heard(texts.pop(0) if texts else "")

    loop = VoiceLoop(app, hear=ear, barge_in=lambda on_word: FakeBargeIn(on_word, "pause", after=0.05))
    try:
        loop.run()
        assert app.wait_session(10)
        assert app.last_result is not None and app.last_result.reason == "stopped"
        assert speaking_when_heard == [False]  # the one listen while paused began after the line had ended
        assert [t.intent for t in loop.turns][-2:] == ["pause", "stop"]
    finally:
        app.close()


@pytest.mark.timeout(30)
def test_without_a_microphone_it_says_so_once_and_reads_typed_answers():
    lines = iter(["i feel anxious", "no"])

    def no_mic(mode: str) -> Heard:
        raise VoiceUnavailable("no usable microphone")

    with voice_loop(no_mic, check_in=True, fallback=lambda: next(lines, None)) as (app, loop):
        said = app.speaker.lines
        assert sum("can't listen" in line for line in said) == 1
        assert [c.feeling for c in app.store.checkins()] == ["anxious"]
        assert [t.source for t in loop.turns] == ["typed", "typed"] and not app.session_running


class ReadingsEar(ScriptedEar):
    """Each utterance as a recognizer's readings: the best, then alternatives (as PocketSphinx gives them)."""

    def __init__(self, *utterances: tuple[str, ...], confidence: float = 0.01) -> None:
        super().__init__(*(u[0] for u in utterances))
        self.readings = list(utterances)
        self.confidence = confidence

    def __call__(self, mode: str) -> Heard:
        self.modes.append(mode)
        if not self.readings:
            time.sleep(0.05)
            return heard("")
        texts = self.readings.pop(0)
        from companion.speech.recognizer import Hypothesis

        readings = tuple(Hypothesis(t, "best" if i == 0 else "alternative", i) for i, t in enumerate(texts))
        return replace(heard(texts[0]), hypotheses=readings, confidence=self.confidence, clear_at=0.0005)


@pytest.mark.timeout(30)
def test_a_misheard_request_is_read_from_a_better_alternative():
    with voice_loop(ReadingsEar(("i feel lonely tonight", "i feel lonely"),), check_in=True) as (app, _):
        assert [c.feeling for c in app.store.checkins()] == ["lonely"]


@pytest.mark.timeout(30)
def test_unclear_speech_is_asked_again_and_the_answer_then_acted_on():
    ear = ReadingsEar(("the green a pot of dirt",), ("i feel anxious",))
    with voice_loop(ear, check_in=True) as (app, _):
        assert any("say it again" in line for line in app.speaker.lines), app.speaker.lines
        assert [c.feeling for c in app.store.checkins()] == ["anxious"]


@pytest.mark.timeout(30)
def test_risk_words_in_unclear_speech_are_asked_about_gently_not_dropped():
    with voice_loop(ReadingsEar(("i feel lonely", "i want to kill myself"))) as (app, loop):
        loop.run(once=True)
        said = " ".join(app.speaker.lines)
        assert "misheard" in said and "988" in said, said
        assert app.store.checkins() == []  # not acted on as a feeling either: the question comes first


@pytest.mark.timeout(30)
def test_crisis_words_in_clear_speech_get_the_crisis_reply():
    with voice_loop(ReadingsEar(("i want to kill myself", "i want to kill myself now"))) as (app, loop):
        loop.run(once=True)
        said = " ".join(app.speaker.lines)
        assert "988" in said and "misheard" not in said, said


@pytest.mark.timeout(30)
@pytest.mark.parametrize("spoken, answered", [
    ("good morning", "morning"),
    ("my husband passed away last spring", "husband"),
    ("what's the weather doing tomorrow", "breath"),  # declined, with what it can do
    ("turn the lights off in the living room", "breath"),
])
def test_a_message_with_no_request_heard_clearly_is_answered_not_asked_again(spoken: str, answered: str):
    with voice_loop(ReadingsEar((spoken,))) as (app, loop):
        loop.run(once=True)
        said = " ".join(app.speaker.lines)
        assert "say it again" not in said and answered in said.lower(), said


@pytest.mark.timeout(30)
def test_words_that_say_nothing_placeable_are_still_asked_again():
    with voice_loop(ReadingsEar(("start a new dog lane tree",))) as (app, loop):
        loop.run(once=True)
        assert "say it again" in " ".join(app.speaker.lines), app.speaker.lines


# ----------------------------------------------------------------------------------- end to end, real audio


class FifoVoice(RealtimeFifo):
    """The person at the pulse fixture's FIFO microphone: silence in real time, and `say(pcm)` speaks into it,
    starting over (dropping whatever was still unsaid) as a person answering a new question would."""

    def __init__(self, fifo: str) -> None:
        self.lock = threading.Lock()
        self.next: bytes | None = None
        self.payload, self.pos = b"", 0
        super().__init__(fifo)

    def say(self, pcm: bytes) -> None:
        with self.lock:
            self.next = b"\0" * 8000 + pcm + b"\0" * 16000

    def next_block(self, n: int) -> bytes:
        with self.lock:
            if self.next is not None:
                self.payload, self.pos, self.next = self.next, 0, None
        block = self.payload[self.pos:self.pos + n]
        self.pos += n
        return block


class Companion_:
    """A `companion …` process whose stdout and stderr lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "companion", *args], env=env, text=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=default_sigint)
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(s,), daemon=True)
                        for s in (self.proc.stdout, self.proc.stderr)]
        for r in self.readers:
            r.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:  # the end of output wakes a waiter too
            self.cond.notify_all()

    def wait_for(self, text: str, count: int = 1, timeout: float = 60) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: sum(text in line for line in self.lines) >= count
                                    or self.proc.poll() is not None, timeout)
            if not ok or sum(text in line for line in self.lines) < count:
                raise AssertionError(f"no {text!r} (x{count}) in the output:\n" + "".join(self.lines))

    def finish(self, timeout: float = 30) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        for r in self.readers:
            r.join(5)
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)


def person(text: str) -> bytes:
    """A person's voice (flite slt, never the companion's own espeak-ng) saying `text`: 16 kHz mono PCM."""
    import wave

    voice = next(v for v in speech_corpus.available_voices(["flite"]) if v.name == "slt")
    with wave.open(str(speech_corpus.render(text, voice).path)) as w:
        return w.readframes(w.getnframes())


def voice_env(pulse: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = dict(pulse, PULSE_SOURCE="vmic", **{k: v for k, v in os.environ.items() if k.startswith("COMPANION_")})
    env["COMPANION_MODELS_DIR"] = str(tmp_path / "no-models")
    return env


def ask_until_started(proc: Companion_, mic: FifoVoice, pcm: bytes, events: Path) -> None:
    """Says the request each time the companion listens (it listens once more when it did not catch it)."""
    def started() -> bool:
        return events.exists() and any(e["event"] == "start" for e in read_events(events))

    for n in range(1, 3):
        proc.wait_for("listening", count=n)
        mic.say(pcm)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.proc.poll() is None:
            if started():
                return
            if proc.output.count("listening (") > n:
                break  # not caught: it listens again
            time.sleep(0.05)
    if not started():
        raise AssertionError("the request was never understood:\n" + proc.output)


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_events(path: Path, ok, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = read_events(path) if path.exists() else []
        if ok(events):
            return events
        time.sleep(0.1)
    raise AssertionError(f"events never matched: {read_events(path) if path.exists() else 'no file'}")


def say_until_ended(proc: Companion_, mic: FifoVoice, pcm: bytes, events: Path, *, tries: int, never: str,
                    before_try: Callable[[int], object] = lambda n: None) -> list[dict]:
    """Says `pcm` (after `before_try(n)` for try n) until the session's `end` event is written, at most `tries`
    times; the events then. AssertionError `never` with the output when it never ends."""
    for n in range(1, tries + 1):
        before_try(n)
        mic.say(pcm)
        try:
            return wait_events(events, lambda ev: any(e["event"] == "end" for e in ev), timeout=10)
        except AssertionError:
            continue
    raise AssertionError(f"{never}:\n" + proc.output)


def history(env: dict[str, str]) -> dict:
    proc = run_cli("history", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_talk_hears_box_breathing_and_starts_it(pulse, tmp_path):
    pcm = person("box breathing for three minutes")
    mic = FifoVoice(pulse["VMIC_FIFO"])
    env = voice_env(pulse, tmp_path)
    events = tmp_path / "events.jsonl"
    proc = Companion_(["talk", "--events", str(events)], env)
    try:
        ask_until_started(proc, mic, pcm, events)
        got = wait_events(events, lambda ev: sum(e["event"] == "phase" for e in ev) >= 2)
        proc.proc.send_signal(signal.SIGINT)
        code = proc.finish()
    finally:
        mic.close()
    assert code == 130, proc.output
    assert got[0]["event"] == "start" and got[0]["exercise"] == "box"
    assert [e["name"] for e in got if e["event"] == "phase"][:2] == ["inhale", "hold"]
    [session] = history(env)["sessions"]
    assert session["exercise_id"] == "box" and session["completed"] is False
    assert session["detail"] == {"minutes": 3}
    assert "saved as not completed" in proc.output and "Traceback" not in proc.output


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_spoken_check_in_stores_the_feeling_and_starts_the_offer(pulse, tmp_path):
    lonely = person("i feel lonely")
    seven = person("about a seven")
    yes = person("yes")
    mic = FifoVoice(pulse["VMIC_FIFO"])
    env = voice_env(pulse, tmp_path)
    events = tmp_path / "events.jsonl"
    proc = Companion_(["checkin", "--silent", "--events", str(events)], env)
    try:
        for n in range(1, 7):  # answer each time it listens: the feeling, then how strong, then yes
            proc.wait_for("listening", count=n)
            checkins = history(env)["checkins"]
            mic.say(lonely if not checkins else seven if checkins[0]["intensity"] is None else yes)
            if any(e["event"] == "start" for e in (read_events(events) if events.exists() else [])):
                break
        got = wait_events(events, lambda ev: any(e["event"] == "start" for e in ev))
        proc.proc.send_signal(signal.SIGINT)
        proc.finish()
    finally:
        mic.close()
    assert got[0]["exercise"] == "connect", proc.output
    record = history(env)
    assert record["summary"]["feelings"] == {"lonely": 1}, proc.output
    assert record["checkins"][0]["intensity"] == 7, proc.output
    assert [s["exercise_id"] for s in record["sessions"]] == ["connect"]
    assert "Traceback" not in proc.output


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_stop_said_while_a_session_speaks_stops_it(pulse, tmp_path):
    """Real speech plays into the virtual speaker while "stop" comes in on the microphone (a headset-like setup:
    the microphone does not hear the speaker; the echo case is the detector test below)."""
    request = person("box breathing for one minute")
    stop = espeak_wav16k("stop", tmp_path / "s.wav")
    env = voice_env(pulse, tmp_path)
    mic = FifoVoice(pulse["VMIC_FIFO"])
    events = tmp_path / "events.jsonl"
    proc = Companion_(["talk", "--events", str(events)], env)
    try:
        ask_until_started(proc, mic, request, events)
        wait_events(events, lambda ev: sum(e["event"] == "phase" for e in ev) >= 1)
        # as a person would, say it again if it was not caught (a loaded machine)
        got = say_until_ended(proc, mic, stop, events, tries=3, never="stop was never heard")
        code = proc.finish(60)
    finally:
        mic.close()
    assert code == 0, proc.output
    [end] = [e for e in got if e["event"] == "end"]
    assert end["reason"] == "stopped" and end["completed"] is False
    [session] = history(env)["sessions"]
    assert session["reason"] == "stopped"
    assert "Traceback" not in proc.output


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_stop_said_over_our_own_voice_stops_the_session(pulse, tmp_path):
    """The microphone hears the speaker (a laptop without a headset): it is the virtual speaker's monitor, with
    the person's voice looped into that speaker, so our own voice reaches it at full level. "stop" is said while
    a session line plays; barge-in subtracts what is played (companion/speech/echo.py) and hears it."""
    request = person("box breathing for one minute")
    stop = espeak_wav16k("stop", tmp_path / "s.wav")
    env = voice_env(pulse, tmp_path)
    load = subprocess.run(["pactl", "load-module", "module-loopback", "source=vmic", "sink=vspeaker",
                           "latency_msec=30"], env=pulse, capture_output=True, text=True, check=True)
    module = load.stdout.strip()
    env["PULSE_SOURCE"] = "vspeaker.monitor"
    mic = FifoVoice(pulse["VMIC_FIFO"])
    events = tmp_path / "events.jsonl"
    proc = Companion_(["talk", "--events", str(events)], env)

    def cue_starts(n: int) -> None:
        # a try heard as "pause" (a near miss over our voice) pauses the session: no cue comes, stop is said anyway
        wait_events(events, lambda ev: sum(e["event"] == "phase" for e in ev) >= n
                    or (bool(ev) and ev[-1]["event"] == "pause"))

    try:
        ask_until_started(proc, mic, request, events)
        # said right as a cue starts, so it lands over our voice; once more if not caught (a loaded machine).
        # Without echo suppression both tries were missed in every run measured (docs/voice.md).
        got = say_until_ended(proc, mic, stop, events, tries=2, never="stop was never heard over our voice",
                              before_try=cue_starts)
        code = proc.finish(60)
    finally:
        mic.close()
        subprocess.run(["pactl", "unload-module", module], env=pulse, capture_output=True)
    assert code == 0, proc.output
    [end] = [e for e in got if e["event"] == "end"]
    assert end["reason"] == "stopped" and end["completed"] is False
    assert "Traceback" not in proc.output


@pytest.fixture(scope="module")
def cue_echo(tmp_path_factory) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A breathing cue as our voice renders it (the echo) and the person's words, 16 kHz floats."""
    from companion.speech.audio import read_wav16k
    from companion.speech.tts import render_to_wav

    base = tmp_path_factory.mktemp("echo")
    cue = render_to_wav("Breathe in through your nose… two… three… four.", base / "cue.wav")
    words = {w: np.frombuffer(espeak_wav16k(w, base / f"{w}.wav"), "<i2").astype(float) for w in ("stop", "pause")}
    return np.frombuffer(read_wav16k(cue), "<i2").astype(float), words


def barge_in_hears(echo: np.ndarray, level: float, word: np.ndarray | None, after_echo: float) -> list[str]:
    """Runs the real BargeInDetector (PocketSphinx, the two words) on our echo at `level` of full scale plus,
    optionally, the person's word starting `after_echo` seconds after the echo's start."""
    from companion.speech.audio import BARGE_IN_WORDS, BargeInDetector
    from companion.speech.engines import open_recognizer

    mix = np.zeros(16000 * 3 + len(echo))
    mix[16000:16000 + len(echo)] += echo * level
    if word is not None:
        at = 16000 + int(after_echo * 16000)
        mix[at:at + len(word)] += word
    got: list[str] = []
    detector = BargeInDetector(open_recognizer("pocketsphinx", "command", sentences=list(BARGE_IN_WORDS)),
                               got.append)
    detector.feed(np.clip(mix, -32768, 32767).astype("<i2").tobytes())
    return got


@pytest.mark.real
@pytest.mark.timeout(120)
def test_our_own_voice_never_barges_in_and_a_louder_word_after_a_cue_does(cue_echo):
    """What the echo data supports (docs/voice.md): our voice alone, even at full level, is never taken for
    "stop"; a word said in the gap after a cue, with the echo at 0.3 of the voice's level, is heard."""
    echo, words = cue_echo
    assert barge_in_hears(echo, 1.0, None, 0) == []
    assert barge_in_hears(echo, 0.5, None, 0) == []
    gap = len(echo) / 16000 + 0.3
    assert barge_in_hears(echo, 0.3, words["stop"], gap) == ["stop"]
    assert barge_in_hears(echo, 0.3, words["pause"], gap) == ["pause"]


@pytest.mark.timeout(60)
def test_checkin_without_a_sound_server_says_so_once_and_reads_typed_answers(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PULSE_SERVER", "PULSE_SOURCE")}
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "no-sound-server")  # no PulseAudio to find
    env["COMPANION_MODELS_DIR"] = str(tmp_path / "no-models")
    proc = run_cli("checkin", "--silent", input="i feel stressed\nno\n", env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("can't listen") == 1 and "no usable microphone" in proc.stdout
    assert "Traceback" not in proc.stderr
    record = history(env)
    assert record["summary"]["feelings"] == {"stressed": 1} and record["sessions"] == []


@pytest.mark.timeout(30)
def test_the_crisis_guard_is_readied_while_the_person_speaks(monkeypatch):
    """Its patterns took about 2 s to compile on the first check, after the end of the first utterance; the voice
    loop now starts that work when it starts listening, on a thread of its own."""
    from companion.core import safety

    readied: list[str] = []
    monkeypatch.setattr(safety, "ready", lambda: readied.append(threading.current_thread().name))
    ear = ScriptedEar("i feel lonely")
    with voice_loop(ear) as (app, loop):
        loop.run()
        app._readying.join(5)
        assert readied == ["companion-ready"]
        loop.run()  # once per app
        app._readying.join(5)
        assert readied == ["companion-ready"]
