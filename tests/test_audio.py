"""Audio in: WAV conversion, VAD endpointing against known padding, caps, microphone errors, barge-in."""

from __future__ import annotations

import math
import struct
import sys
import types
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import espeak_wav16k

from companion.speech import audio


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2, channels: int = 1) -> Path:
    """samples: float in int16 units, shape (n,) or (n, channels)."""
    data = np.asarray(samples, np.float64)
    if width == 1:
        raw = np.clip(np.rint(data / 256 + 128), 0, 255).astype(np.uint8).tobytes()
    elif width == 2:
        raw = np.clip(np.rint(data), -32768, 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = np.clip(np.rint(data * 256), -(1 << 23), (1 << 23) - 1).astype("<i4")
        raw = b"".join(struct.pack("<i", int(v))[:3] for v in ints.ravel())
    else:
        raw = np.clip(np.rint(data * 65536), -(2**31), 2**31 - 1).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


class CountingRecognizer:
    """A fake recognizer that only counts the audio it is given (for the endpointing mechanics)."""

    name = "counting"
    mode = "command"

    def __init__(self) -> None:
        self.bytes = 0
        self.finals = 0

    def accept(self, pcm16: bytes) -> None:
        self.bytes += len(pcm16)

    def partial(self) -> str:
        return f"{self.bytes // 3200} blocks"

    def final(self) -> str:
        self.finals += 1
        return "heard"

    def reset(self) -> None:
        self.bytes = 0


@pytest.mark.parametrize(("rate", "width", "channels"), [(44100, 2, 2), (22050, 1, 1), (48000, 3, 1),
                                                         (8000, 4, 2), (16000, 2, 1)])
def test_any_pcm_wav_becomes_16k_mono_with_the_same_pitch_and_length(tmp_path, rate, width, channels):
    seconds = 1.0
    t = np.arange(int(rate * seconds)) / rate
    tone = 8000 * np.sin(2 * math.pi * 440 * t)
    samples = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    pcm = audio.read_wav16k(write_wav(tmp_path / "in.wav", samples, rate, width, channels))
    out = np.frombuffer(pcm, "<i2").astype(float)
    assert abs(len(out) - 16000) <= 2
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 16000 / len(out) - 440) < 3
    assert 0.8 * 8000 < out.max() < 1.05 * 8000


def test_16k_mono_16bit_passes_through_bit_exact(tmp_path):
    rng = np.random.default_rng(1)
    samples = rng.integers(-20000, 20000, 16000)
    path = write_wav(tmp_path / "x.wav", samples, 16000)
    assert audio.read_wav16k(path) == samples.astype("<i2").tobytes()


@pytest.mark.parametrize("content", [b"", b"hello, I am text", b"RIFF\x00\x00\x00\x00WAVEjunk"])
def test_files_that_are_not_wavs_get_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(audio.AudioFileError, match="not a PCM WAV"):
        audio.read_wav16k(path)


def test_missing_file_and_folder_are_named(tmp_path):
    with pytest.raises(audio.AudioFileError, match="no such file"):
        audio.read_wav16k(tmp_path / "nope.wav")
    with pytest.raises(audio.AudioFileError, match="folder"):
        audio.read_wav16k(tmp_path)


def test_truncated_wav_yields_what_is_there(tmp_path):
    path = write_wav(tmp_path / "t.wav", np.full(16000, 1000.0), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: 44 + 8000])  # header promises 1 s, file holds 0.25 s
    assert len(audio.read_wav16k(path)) == 8000


@pytest.fixture(scope="module")
def spoken(tmp_path_factory) -> bytes:
    return espeak_wav16k("box breathing for three minutes", tmp_path_factory.mktemp("spoken") / "s.wav")


def padded(pcm: bytes, before: float, after: float) -> bytes:
    return b"\0" * (int(before * 16000) * 2) + pcm + b"\0" * (int(after * 16000) * 2)


@pytest.mark.parametrize("vad_name", ["webrtc", "silero"])
def test_vad_finds_speech_end_near_the_known_padding(tmp_path, spoken, vad_name):
    path = write_wav(tmp_path / "p.wav", np.frombuffer(padded(spoken, 1.0, 1.5), "<i2"), 16000)
    rec = CountingRecognizer()
    heard = audio.decode_file(path, rec, trailing_silence=0.6, vad=audio.make_vad(vad_name))
    words = np.nonzero(np.abs(np.frombuffer(spoken, "<i2")) > 300)[0]
    true_end = 1.0 + words[-1] / 16000
    assert heard.transcript == "heard" and not heard.timed_out
    assert abs(heard.speech_end_s - true_end) < 0.25, (heard.speech_end_s, true_end)
    # the recognizer got the speech (plus pre-roll and the trailing window), not the leading silence
    assert rec.bytes / 32000 < len(spoken) / 32000 + 0.3 + 0.6 + 0.1


def test_silence_is_no_transcript_and_the_timeout_is_reported(tmp_path):
    path = write_wav(tmp_path / "quiet.wav", np.zeros(16000 * 3), 16000)
    heard = audio.decode_file(path, CountingRecognizer(), no_speech_timeout=2.0)
    assert heard.transcript == "" and heard.timed_out
    short = audio.decode_file(path, CountingRecognizer(), no_speech_timeout=8.0)
    assert short.transcript == "" and not short.timed_out


def test_a_ten_minute_monologue_is_cut_at_max_seconds_and_not_read_further(tmp_path, spoken, monkeypatch):
    path = tmp_path / "long.wav"
    chunk = np.frombuffer(spoken, "<i2")
    with wave.open(str(path), "wb") as w:  # continuous speech, written in pieces (10 minutes, 19 MB)
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        for _ in range(int(600 / (len(chunk) / 16000)) + 1):
            w.writeframes(chunk.tobytes())
    blocks_read = 0
    real_iter = audio.iter_wav

    def counting_iter(*a, **k):
        nonlocal blocks_read
        for b in real_iter(*a, **k):
            blocks_read += 1
            yield b

    monkeypatch.setattr(audio, "iter_wav", counting_iter)
    rec = CountingRecognizer()
    heard = audio.decode_file(path, rec, max_seconds=5.0)
    assert heard.capped and heard.transcript == "heard"
    assert blocks_read * 0.1 < 6.0  # stopped reading right after the cap
    assert rec.bytes / 32000 < 5.5


def test_partials_stream_to_the_callback_while_speech_goes_on(tmp_path, spoken):
    path = write_wav(tmp_path / "p.wav", np.frombuffer(padded(spoken, 0.5, 1.0), "<i2"), 16000)
    seen: list[str] = []
    audio.decode_file(path, CountingRecognizer(), on_partial=seen.append)
    assert len(seen) >= 3 and len(set(seen)) == len(seen)


class FakeStream:
    """A sounddevice stream that delivers `blocks` blocks of audio, then nothing (a vanished device)."""

    def __init__(self, blocks: list[bytes], callback) -> None:
        self.blocks, self.callback, self.closed = blocks, callback, False

    def start(self) -> None:
        for b in self.blocks:
            self.callback(b, len(b) // 2, None, None)

    def abort(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def fake_sounddevice(blocks: list[bytes], *, fail_open: Exception | None = None):
    streams: list[FakeStream] = []
    mod = types.SimpleNamespace()
    mod.check_input_settings = lambda **k: None

    def raw_input_stream(**kwargs):
        if fail_open:
            raise fail_open
        s = FakeStream(blocks, kwargs["callback"])
        streams.append(s)
        return s

    mod.RawInputStream = raw_input_stream
    mod.streams = streams
    return mod


def test_microphone_is_closed_after_one_utterance(monkeypatch, spoken):
    pcm = padded(spoken, 0.3, 1.0)
    sd = fake_sounddevice([pcm[i:i + 960] for i in range(0, len(pcm), 960)])
    monkeypatch.setattr(audio, "import_sounddevice", lambda: sd)
    heard = audio.listen_once(CountingRecognizer())
    assert heard.transcript == "heard" and sd.streams[0].closed


def test_device_vanishing_mid_utterance_is_a_clear_error_and_closes_the_stream(monkeypatch, spoken):
    monkeypatch.setattr(audio, "MIC_STALL_S", 0.3)
    sd = fake_sounddevice([spoken[:9600]])  # 0.3 s of speech, then the device stops delivering
    monkeypatch.setattr(audio, "import_sounddevice", lambda: sd)
    with pytest.raises(audio.MicrophoneError, match="stopped delivering audio"):
        audio.listen_once(CountingRecognizer())
    assert sd.streams[0].closed


def test_no_input_device_is_a_clear_error(monkeypatch):
    sd = fake_sounddevice([], fail_open=RuntimeError("Error querying device -1"))
    monkeypatch.setattr(audio, "import_sounddevice", lambda: sd)
    with pytest.raises(audio.MicrophoneError, match="no usable microphone"):
        audio.listen_once(CountingRecognizer())


def test_missing_portaudio_names_the_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails like a missing library would
    with pytest.raises(audio.MicrophoneError, match=r"sounddevice is missing|PortAudio"):
        audio.import_sounddevice()
