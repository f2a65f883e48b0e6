"""Echo suppression for barge-in: the real BargeInDetector (PocketSphinx, "stop"/"pause") on our own voice mixed
in process with the person's word at several echo levels, delays and echo paths, with and without the reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import espeak_wav16k

from companion.speech.audio import BARGE_IN_WORDS, BargeInDetector, read_wav16k
from companion.speech.echo import EchoCanceller, PlaybackReference

T0 = 1000.0  # the monotonic time the simulated microphone starts at
LINE_AT = 1.0  # seconds into the microphone when the line starts playing


@pytest.fixture(scope="module")
def voice(tmp_path_factory) -> dict[str, np.ndarray]:
    """A long session line as our voice renders it, and the person's words, 16 kHz floats."""
    from companion.speech.tts import render_to_wav

    base: Path = tmp_path_factory.mktemp("echo")
    line = render_to_wav("Breathe in slowly through your nose, and let your shoulders drop as you breathe out, "
                         "feeling the air leave your body.", base / "line.wav")
    out = {"line": np.frombuffer(read_wav16k(line), "<i2").astype(float)}
    for w in BARGE_IN_WORDS:
        out[w] = np.frombuffer(espeak_wav16k(w, base / f"{w}.wav"), "<i2").astype(float)
    return out


@pytest.fixture(scope="module")
def recognizer():
    from companion.speech.engines import open_recognizer

    return open_recognizer("pocketsphinx", "command", sentences=list(BARGE_IN_WORDS))


def microphone(line: np.ndarray, *, level: float, delay: float, word: np.ndarray | None = None,
               word_at: float = 0.0, path: np.ndarray | None = None) -> np.ndarray:
    """What the microphone hears: our line (through `path`, an impulse response, if given) `delay` seconds after
    it started playing at `level`, plus the word `word_at` seconds after the line started."""
    echo = np.convolve(line, path)[:len(line)] if path is not None else line
    tail = len(word) + int(word_at * 16000) if word is not None else 0
    mix = np.zeros(int((LINE_AT + 1.0) * 16000) + max(len(line), tail))
    at = int((LINE_AT + delay) * 16000)
    mix[at:at + len(echo)] += echo * level
    if word is not None:
        w = int((LINE_AT + word_at) * 16000)
        mix[w:w + len(word)] += word
    return mix


def hears(recognizer, mic: np.ndarray, line: np.ndarray | None, *, cut_at: float | None = None) -> list[str]:
    """Feeds `mic` in 30 ms blocks to a BargeInDetector; with `line`, the reference says it started at LINE_AT
    (and stopped at `cut_at`, seconds after its start, if given)."""
    echo = None
    if line is not None:
        reference = PlaybackReference()
        reference.publish(line, T0 + LINE_AT)
        if cut_at is not None:
            reference.ended(T0 + LINE_AT + cut_at)
        echo = EchoCanceller(reference)
    got: list[str] = []
    detector = BargeInDetector(recognizer, got.append, echo=echo)
    pcm = np.clip(np.rint(mic), -32768, 32767).astype("<i2").tobytes()
    for i in range(0, len(pcm), 960):
        detector.feed(pcm[i:i + 960], T0 + (i + 960) / 32000)
    return got


@pytest.mark.real
@pytest.mark.timeout(120)
@pytest.mark.parametrize("level", [0.3, 1.0])
@pytest.mark.parametrize("delay", [0.05, 0.25, 0.45])
def test_stop_said_over_our_line_is_heard_only_with_the_reference(voice, recognizer, level, delay):
    mic = microphone(voice["line"], level=level, delay=delay, word=voice["stop"], word_at=2.5)
    assert hears(recognizer, mic, None) == []  # the guards alone miss it: it merges into our voice
    assert hears(recognizer, mic, voice["line"]) == ["stop"]


@pytest.mark.real
@pytest.mark.timeout(120)
@pytest.mark.parametrize("level", [0.5, 1.0])
def test_our_line_alone_is_never_taken_for_a_word(voice, recognizer, level):
    mic = microphone(voice["line"], level=level, delay=0.2)
    assert hears(recognizer, mic, voice["line"]) == []


@pytest.mark.real
@pytest.mark.timeout(120)
def test_a_room_like_echo_path_is_learned(voice, recognizer):
    """Not a plain copy: a direct path plus two reflections (3 ms and 9 ms later); the adaptive filter models
    them (fitted on the line's first half second, then tracked)."""
    path = np.zeros(160)
    path[0], path[48], path[144] = 0.7, -0.35, 0.2
    mic = microphone(voice["line"], level=1.0, delay=0.12, word=voice["pause"], word_at=3.0, path=path)
    assert hears(recognizer, mic, None) == []
    assert hears(recognizer, mic, voice["line"]) == ["pause"]
    alone = microphone(voice["line"], level=1.0, delay=0.12, path=path)
    assert hears(recognizer, alone, voice["line"]) == []


@pytest.mark.real
@pytest.mark.timeout(120)
def test_a_headset_passes_through_untouched(voice):
    """The microphone does not hear the line: no delay is found and every sample comes out as it went in."""
    mic = microphone(voice["line"], level=0.0, delay=0.1, word=voice["stop"], word_at=2.0)
    mic += np.random.default_rng(1).normal(0, 30, len(mic))  # room noise
    pcm = np.clip(np.rint(mic), -32768, 32767).astype("<i2").tobytes()
    reference = PlaybackReference()
    reference.publish(voice["line"], T0 + LINE_AT)
    canceller = EchoCanceller(reference)
    out = b"".join(canceller.process(pcm[i:i + 960], T0 + (i + 960) / 32000) for i in range(0, len(pcm), 960))
    assert out == pcm[:len(out)] and len(pcm) - len(out) < 960 * 60  # at most the estimate's hold is pending
    assert canceller.cancelled_lines == 0


def test_the_delay_and_level_are_found_and_the_echo_removed(voice):
    line = voice["line"]
    mic = microphone(line, level=0.8, delay=0.3)
    pcm = np.clip(np.rint(mic), -32768, 32767).astype("<i2").tobytes()
    reference = PlaybackReference()
    reference.publish(line, T0 + LINE_AT)
    canceller = EchoCanceller(reference)
    out = b"".join(canceller.process(pcm[i:i + 960], T0 + (i + 960) / 32000) for i in range(0, len(pcm), 960))
    [found] = reference.lines()
    assert found.delay == pytest.approx(0.3, abs=1 / 16000) and found.gain == pytest.approx(0.8, abs=0.05)
    residual = np.frombuffer(out, "<i2").astype(float)
    n = len(residual)
    assert np.sqrt(np.mean(residual ** 2)) < 0.05 * np.sqrt(np.mean(mic[:n] ** 2))  # > 26 dB removed


def test_a_line_cut_off_is_not_subtracted_after_the_cut(voice, recognizer):
    """stop() kills the player: what the line would have said after that must not be subtracted from a word
    said then (that would add our voice into the microphone signal)."""
    line = voice["line"]
    cut = 2.0
    mic = microphone(line[:int(cut * 16000)], level=1.0, delay=0.1, word=voice["stop"], word_at=cut + 0.6)
    assert hears(recognizer, mic, line, cut_at=cut) == ["stop"]


def test_a_played_wav_is_published_at_16_khz(tmp_path, voice):
    wav = tmp_path / "line.wav"
    import wave

    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(voice["line"].astype("<i2").tobytes())
    reference = PlaybackReference()
    reference.publish_wav(wav, 6.0)
    reference.publish_wav(tmp_path / "missing.wav", 7.0)  # a file gone already is skipped, never raised
    [line] = reference.lines()
    assert line.start == 6.0 and np.array_equal(line.samples, voice["line"])


@pytest.mark.real
@pytest.mark.timeout(60)
def test_the_speaker_publishes_each_line_it_plays(pulse, monkeypatch):
    """The real speaker through the private PulseAudio: the line played is published with its start time."""
    for key in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME"):
        monkeypatch.setenv(key, pulse[key])
    from companion.speech.tts import Pyttsx3Speaker

    with Pyttsx3Speaker() as speaker:
        reference = speaker.playback_reference
        spoken = speaker.say("Breathe in slowly.")
        assert spoken.wait(30) and spoken.completed
        [line] = reference.lines()
    assert line.start == spoken.first_audio_at and line.end <= spoken.ended_at
    assert 0.5 < len(line.samples) / 16000 < 5 and np.abs(line.samples).max() > 1000


def cancel(mic: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, EchoCanceller]:
    """`mic` through an EchoCanceller told that `line` started playing LINE_AT seconds into the microphone."""
    pcm = np.clip(np.rint(mic), -32768, 32767).astype("<i2").tobytes()
    reference = PlaybackReference()
    reference.publish(line, T0 + LINE_AT)
    canceller = EchoCanceller(reference)
    out = b"".join(canceller.process(pcm[i:i + 960], T0 + (i + 960) / 32000) for i in range(0, len(pcm), 960))
    return np.frombuffer(out, "<i2").astype(float), canceller


def left_share(mic: np.ndarray, out: np.ndarray, a: float, b: float) -> float:
    """The share of the microphone's level left between a and b seconds into the microphone."""
    lo, hi = int(a * 16000), int(b * 16000)
    return float(np.sqrt(np.mean(out[lo:hi] ** 2)) / np.sqrt(np.mean(mic[lo:hi] ** 2)))


def test_a_clock_slip_mid_line_is_found_again(voice):
    """A loaded machine drops 0.15 s of microphone blocks two seconds into the line: from there the echo
    arrives 0.15 s earlier than the first estimate says. The canceller notices that little is removed, finds
    the new delay and removes the rest of the line again."""
    line = voice["line"]
    whole = microphone(line, level=0.8, delay=0.1)
    slip = int((LINE_AT + 2.0) * 16000)
    mic = np.concatenate([whole[:slip], whole[slip + int(0.15 * 16000):]])
    out, canceller = cancel(mic, line)
    assert canceller.cancelled_lines == 1 and canceller.realigned >= 1
    end = LINE_AT + 0.1 + len(line) / 16000 - 0.15
    assert left_share(mic, out, LINE_AT + 0.5, LINE_AT + 2.0) < 0.05  # before the slip
    assert left_share(mic, out, LINE_AT + 3.5, end) < 0.05  # a second and a half after it


def test_a_microphone_clock_running_late_is_matched_early(voice):
    """Blocks dropped before the line started: the echo arrives 0.1 s before the line's start by the
    microphone's count, and is still found and removed."""
    line = voice["line"]
    mic = microphone(line, level=0.8, delay=0.2)[int(0.3 * 16000):]  # the first 0.3 s of the microphone lost
    out, canceller = cancel(mic, line)
    [found] = canceller.reference.lines()
    assert found.delay == pytest.approx(-0.1, abs=1 / 16000)
    assert left_share(mic, out, LINE_AT, LINE_AT - 0.1 + len(line) / 16000) < 0.05
    assert canceller.realigned == 0


def test_the_person_talking_over_the_line_does_not_move_the_delay(voice):
    """What the person says is left in the microphone (little echo removed while they talk); the delay search
    that follows must keep the line where it is."""
    line = voice["line"]
    mic = microphone(line, level=0.5, delay=0.2, word=voice["pause"], word_at=1.5)
    mic += microphone(line, level=0.0, delay=0.2, word=voice["stop"], word_at=3.0)
    _, canceller = cancel(mic, line)
    [found] = canceller.reference.lines()
    assert found.delay == pytest.approx(0.2, abs=1 / 16000) and canceller.realigned == 0
