"""Speech out for real: pyttsx3 WAVs, playback into the private PulseAudio's virtual speaker, cut-off, order,
and the captions-only fallback when there is no engine or no audio device."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import ncc_align, need, read_wav

from companion.speech import tts
from companion.speech.tts import (
    Pyttsx3Speaker,
    SilentSpeaker,
    SpeechUnavailable,
    Voice,
    list_voices,
    make_speaker,
    probe,
    render_to_wav,
)

RATE = 16000
FRAME = 160
VOICED_RMS = 200.0
LONG = ("Let us take a slow breath together, in through the nose, and out through the mouth, "
        "letting the shoulders drop a little more with every breath we take.")


def wav_info(path: Path) -> tuple[np.ndarray, int, int, int]:
    with wave.open(str(path)) as w:
        a = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        return a, w.getframerate(), w.getnchannels(), w.getsampwidth()


def rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(a.astype(float) ** 2))) if len(a) else 0.0


def to16k(src: Path, dst: Path) -> np.ndarray:
    need("sox")
    subprocess.run(["sox", str(src), "-r", str(RATE), "-c", "1", "-b", "16", str(dst)], check=True)
    return read_wav(dst)[0]


class MonitorCapture:
    """parec on the virtual speaker's monitor (a subprocess with the pulse env); sample i ≈ t0 + i / RATE."""

    def __init__(self, env: dict[str, str]) -> None:
        need("parec")
        self._proc = subprocess.Popen(["parec", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=1",
                                       "--latency-msec=10", "-d", "vspeaker.monitor"],
                                      env=env, stdout=subprocess.PIPE)
        self._chunks: list[bytes] = []
        self._n = 0
        self.t0 = float("inf")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while self._n < RATE // 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self._n, "no audio arrived from the virtual speaker's monitor"

    def _read(self) -> None:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while data := os.read(fd, 640):
            self._chunks.append(data)
            self._n += len(data) // 2
            self.t0 = min(self.t0, time.monotonic() - self._n / RATE)

    def stop(self) -> np.ndarray:
        self._proc.terminate()
        self._proc.wait(5)
        self._thread.join(5)
        raw = b"".join(self._chunks)
        return np.frombuffer(raw[: len(raw) // 2 * 2], np.int16)


def voiced(samples: np.ndarray) -> np.ndarray:
    """Indices of 10 ms frames with sound in them (the null sink's silence is exact zeros)."""
    n = len(samples) // FRAME
    return np.flatnonzero(np.sqrt((samples[: n * FRAME].astype(float).reshape(n, FRAME) ** 2).mean(1))
                          > VOICED_RMS)


@pytest.fixture
def speaker_env(pulse: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Points this process (and so the player children it starts) at the private PulseAudio."""
    need("aplay")
    for k in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME"):
        monkeypatch.setenv(k, pulse[k])
    return pulse


# ---------- rendering (real pyttsx3 in its worker process; no audio device needed)

@pytest.mark.timeout(60)
def test_render_to_wav_is_real_speech_scaled_by_text_and_rate(tmp_path: Path) -> None:
    need("espeak-ng")
    short = render_to_wav("Breathe in.", tmp_path / "short.wav")
    long_ = render_to_wav(LONG, tmp_path / "sub" / "long.wav")  # missing folders are created
    fast = render_to_wav(LONG, tmp_path / "fast.wav", rate=330)
    a_short, hz, ch, width = wav_info(short)
    a_long, *_ = wav_info(long_)
    a_fast, *_ = wav_info(fast)
    assert (hz, ch, width) == (22050, 1, 2)
    assert rms(a_short) > 500 and rms(a_long) > 500
    # 14x the text → several times the audio; double the rate → clearly shorter
    assert len(a_long) > 4 * len(a_short)
    assert len(a_fast) < 0.75 * len(a_long)


@pytest.mark.timeout(60)
def test_voice_choice_changes_the_audio_and_voices_are_listed(tmp_path: Path) -> None:
    need("espeak-ng")
    voices = list_voices()
    assert len(voices) > 20 and all(isinstance(v, Voice) and v.id and v.name for v in voices)
    us = next(v for v in voices if v.id.endswith("/en-us"))
    assert "en-us" in us.languages
    a, *_ = wav_info(render_to_wav("Hello there, friend.", tmp_path / "us.wav", voice=us.id))
    b, *_ = wav_info(render_to_wav("Hello there, friend.", tmp_path / "de.wav", voice="German"))  # by name
    c, *_ = wav_info(render_to_wav("Hello there, friend.", tmp_path / "us2.wav", voice="en-us"))  # by code
    assert np.array_equal(a, c)
    assert len(a) != len(b) or not np.array_equal(a, b)


@pytest.mark.timeout(60)
def test_bad_voice_and_rate_get_clear_errors(tmp_path: Path) -> None:
    need("espeak-ng")
    with pytest.raises(ValueError, match=r"Unknown voice 'no-such-voice'.*companion doctor --voices"):
        render_to_wav("hi", tmp_path / "x.wav", voice="no-such-voice")
    for bad in (79, 401, 0, "fast"):
        with pytest.raises(ValueError, match="80 to 400"):
            render_to_wav("hi", tmp_path / "x.wav", rate=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="80 to 400"):
            make_speaker(rate=bad, silent=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="volume"):
        make_speaker(volume=1.5, silent=True)
    with pytest.raises(ValueError, match="folder"):
        render_to_wav("hi", tmp_path)
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.timeout(60)
def test_missing_espeak_is_reported_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pyttsx3 whose espeak library cannot load (a machine without espeak-ng): clear message, no hang."""
    fake = tmp_path / "fake" / "pyttsx3"
    (fake / "drivers").mkdir(parents=True)
    (fake / "__init__.py").write_text("def init(*a, **k):\n    from .drivers import _espeak\n")
    (fake / "drivers" / "__init__.py").write_text("")
    (fake / "drivers" / "_espeak.py").write_text(  # what pyttsx3 2.99 raises when libespeak-ng is missing
        "raise RuntimeError('This means you probably do not have eSpeak or eSpeak-ng installed!')\n")
    monkeypatch.setenv("PYTHONPATH", str(fake.parent))
    with pytest.raises(SpeechUnavailable,
                       match=r"espeak-ng is not installed.*sudo apt install espeak-ng\). Captions only\.$"):
        render_to_wav("hi", tmp_path / "x.wav")
    ok, message = probe()
    assert not ok and "sudo apt install espeak-ng" in message
    with pytest.raises(SpeechUnavailable, match="espeak-ng"):
        list_voices()


# ---------- the captions-only paths

def test_silent_speaker_finishes_every_line_at_once() -> None:
    problems: list[str] = []
    s = make_speaker(silent=True, on_problem=problems.append)
    assert isinstance(s, SilentSpeaker) and not problems
    line = s.say("Breathe out.")
    assert line.done and line.wait(0) and line.first_audio_at is None and line.ended_at is not None
    assert not s.speaking
    s.stop()
    s.close()


@pytest.mark.timeout(90)
def test_no_audio_device_degrades_to_captions_with_one_message(tmp_path: Path) -> None:
    """No sound server and no sound card (ALSA given an empty configuration): one clear message, no hang."""
    empty = tmp_path / "asound.conf"
    empty.write_text("")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(ALSA_CONFIG_PATH=str(empty), XDG_RUNTIME_DIR=str(run), HOME=str(tmp_path),
               PULSE_SERVER=f"unix:{tmp_path / 'nothing-here'}")
    code = textwrap.dedent("""
        import json, time
        from companion.speech.tts import make_speaker, probe
        problems = []
        t = time.monotonic()
        s = make_speaker(on_problem=problems.append)
        line = s.say("Hello.")
        print(json.dumps({"kind": type(s).__name__, "problems": problems, "done": line.done,
                          "probe": probe(), "secs": time.monotonic() - t}))
    """)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         cwd=Path(tts.__file__).parents[2])
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["kind"] == "SilentSpeaker" and res["done"]
    assert len(res["problems"]) == 1
    message = res["problems"][0]
    assert message.startswith("Speech output is unavailable (") and message.endswith("Captions only.")
    assert "no audio output device" in message or "no audio player" in message
    ok, doctor = res["probe"]
    assert not ok and ("sound server" in doctor or "alsa-utils" in doctor)


# ---------- real playback into the virtual speaker

@pytest.mark.slow
@pytest.mark.timeout(120)
def test_playback_reaches_the_speaker_and_matches_the_rendered_wav(speaker_env: dict[str, str],
                                                                   tmp_path: Path) -> None:
    ok, message = probe()
    assert ok and "Speech out works" in message and "voices" in message
    text = "I am here with you. Let us breathe slowly."
    ref = to16k(render_to_wav(text, tmp_path / "ref.wav"), tmp_path / "ref16.wav")
    cap = MonitorCapture(speaker_env)
    with Pyttsx3Speaker() as s:
        said = time.monotonic()
        line = s.say(text)
        assert not line.done  # say() returned before the line played
        assert line.wait(30) and line.completed and not s.speaking
    time.sleep(0.3)
    got = cap.stop()
    ncc, _lag, overlap = ncc_align(got, ref)
    assert ncc > 0.9 and overlap > 0.95
    assert line.first_audio_at is not None and line.ended_at is not None
    assert said <= line.first_audio_at < line.ended_at
    # what played lasted about as long as the rendered line
    assert line.ended_at - line.first_audio_at > 0.8 * len(ref) / RATE


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_stop_cuts_the_line_off_and_drops_the_queue(speaker_env: dict[str, str], tmp_path: Path) -> None:
    with Pyttsx3Speaker() as s:
        cap = MonitorCapture(speaker_env)
        line = s.say(LONG)  # about 9 s of speech
        queued = s.say("This line must never be heard.")
        deadline = time.monotonic() + 20
        while line.first_audio_at is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert line.first_audio_at is not None
        time.sleep(1.5)
        stopped = time.monotonic()
        s.stop()
        assert line.done and not line.completed and queued.done and not queued.completed
        assert not s.speaking
        time.sleep(2.5)
        got = cap.stop()
        frames = voiced(got)
        t = cap.t0 + frames * FRAME / RATE
        assert np.any(t < stopped), "nothing was heard before stop()"
        late = t[t > stopped + 1.0]  # generous margin; the benchmark measures the real figure
        assert len(late) == 0, f"sound {late[-1] - stopped:.2f} s after stop()"
        # the speaker still works after a stop
        again = s.say("Breathe in.")
        assert again.wait(30) and again.completed


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_queued_lines_play_in_order_without_overlap(speaker_env: dict[str, str], tmp_path: Path) -> None:
    texts = ["Breathe in through your nose.", "Hold it gently.", "Now breathe all the way out."]
    # espeak-ng carries a little state from line to line, so the references are rendered the way the
    # speaker renders them: in order, by one fresh speech process
    worker = tts._Worker()
    try:
        refs = [to16k(worker.render(t, tmp_path / f"r{i}.wav", voice=worker.default_voice, rate=165,
                                    volume=1.0), tmp_path / f"r{i}_16.wav") for i, t in enumerate(texts)]
    finally:
        worker.close()
    cap = MonitorCapture(speaker_env)
    with Pyttsx3Speaker() as s:
        lines = [s.say(t) for t in texts]
        assert lines[-1].wait(60)
        assert all(line.done and line.completed for line in lines)
    time.sleep(0.3)
    got = cap.stop()
    for a, b in itertools.pairwise(lines):
        assert a.ended_at is not None and b.first_audio_at is not None and a.ended_at <= b.first_audio_at
    # each line is found by its first 0.4 s: a player underrun under heavy load can open a gap inside a line,
    # which would lower a whole-line correlation without anything being wrong with order or content
    found = [ncc_align(got, ref[: int(RATE * 0.4)]) for ref in refs]
    assert all(ncc > 0.9 for ncc, _, _ in found), found
    lags = [lag for _, lag, _ in found]
    assert lags == sorted(lags)
    assert lags[1] - lags[0] >= len(refs[0]) * 0.9 and lags[2] - lags[1] >= len(refs[1]) * 0.9


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_dead_speech_process_is_replaced(speaker_env: dict[str, str]) -> None:
    problems: list[str] = []
    s = make_speaker(on_problem=problems.append)
    assert isinstance(s, Pyttsx3Speaker)
    try:
        assert s.say("One.").wait(30)
        s._worker._proc.kill()
        s._worker._proc.wait(5)
        line = s.say("Two.")
        assert line.wait(30) and line.completed, line.error
        assert not problems
    finally:
        s.close()
    late = s.say("Three.")  # after close(): finished at once, not spoken, no exception
    assert late.done and not late.completed and late.error == "the speaker is closed"
    s.close()  # closing twice is harmless


def test_windows_and_macos_start_with_their_most_natural_english_voice() -> None:
    from companion.speech.tts import best_system_voice

    mac = [Voice("com.apple.speech.synthesis.voice.Albert", "Albert", ("en_US",)),
           Voice("com.apple.voice.compact.en-US.Samantha", "Samantha", ("en_US",)),
           Voice("com.apple.voice.compact.fr-FR.Thomas", "Thomas", ("fr_FR",)),
           Voice("com.apple.voice.enhanced.en-GB.Daniel", "Daniel (Enhanced)", ("en_GB",)),
           Voice("com.apple.voice.premium.en-US.Zoe", "Zoe (Premium)", ("en_US",))]
    assert best_system_voice(mac, mac[1].id, "darwin") == "com.apple.voice.premium.en-US.Zoe"
    assert best_system_voice(mac[:4], mac[2].id, "darwin") == "com.apple.voice.enhanced.en-GB.Daniel"
    assert best_system_voice(mac[:2], mac[1].id, "darwin") == mac[1].id  # nothing better: the system default
    win = [Voice(r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Speech\Voices\Tokens\TTS_MS_EN-US_DAVID_11.0",
                 "Microsoft David Desktop - English (United States)", ()),
           Voice("Microsoft Aria Online (Natural) - English (United States)",
                 "Microsoft Aria Online (Natural) - English (United States)", ())]
    assert best_system_voice(win, win[0].id, "win32") == win[1].id
    # on Linux espeak-ng's default stays: it needs nothing and the person chooses anything else
    assert best_system_voice(mac, "gmw/en-us", "linux") == "gmw/en-us"
