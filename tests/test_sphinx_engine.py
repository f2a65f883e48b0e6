"""PocketSphinx with a JSGF grammar of template sentences, run for real on espeak-ng speech."""

from __future__ import annotations

import pytest
from helpers import espeak_wav16k

from companion.speech.recognizer import OpenModeUnavailable
from companion.speech.sphinx_engine import SphinxRecognizer

SENTENCES = ["box breathing for 3 minutes", "stop", "pause", "i feel lonely", "help me get grounded",
             "xyzzyplugh breathing"]

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def rec() -> SphinxRecognizer:
    return SphinxRecognizer(SENTENCES)


def decode(rec: SphinxRecognizer, pcm: bytes) -> tuple[str, list[str]]:
    pcm = b"\0" * 8000 + pcm + b"\0" * 16000
    partials = []
    for i in range(0, len(pcm), 3200):
        rec.accept(pcm[i:i + 3200])
        partials.append(rec.partial())
    return rec.final(), partials


def test_words_missing_from_the_dictionary_are_left_out(rec):
    assert "xyzzyplugh" in rec.grammar.dropped_words
    assert "box breathing for three minutes" in rec.grammar.sentences  # digits spelled out
    assert all("xyzzyplugh" not in s for s in rec.grammar.sentences)


def test_in_grammar_speech_is_recognised_with_growing_partials(rec, tmp_path):
    text, partials = decode(rec, espeak_wav16k("box breathing for three minutes", tmp_path / "a.wav"))
    assert text == "box breathing for three minutes"
    assert any(p and p != text for p in partials)  # heard in pieces while speaking
    assert rec.last_confidence > 0


def test_out_of_grammar_speech_is_not_forced_into_a_command(rec, tmp_path):
    text, _ = decode(rec, espeak_wav16k("the weather in paris is lovely in the spring", tmp_path / "b.wav"))
    assert text == ""


def test_several_utterances_in_a_row(rec, tmp_path):
    assert decode(rec, espeak_wav16k("i feel lonely", tmp_path / "c.wav"))[0] == "i feel lonely"
    assert decode(rec, espeak_wav16k("stop", tmp_path / "d.wav"))[0] == "stop"
    assert rec.final() == ""  # nothing fed: nothing heard


def test_open_mode_is_refused_with_the_fix():
    with pytest.raises(OpenModeUnavailable, match="companion model download"):
        SphinxRecognizer(SENTENCES, mode="open")
