"""The companion's own language model for PocketSphinx (companion/speech/domain_lm.py): a real back-off model
PocketSphinx loads, built from the data files and rebuilt when they change; and the recognizer using it for real on
a voice the companion never speaks with."""

from __future__ import annotations

import math
import re
import wave
from pathlib import Path

import pytest

from companion.speech import domain_lm
from companion.speech.sphinx_engine import SphinxRecognizer


def parse(arpa: str) -> tuple[dict[tuple[str, ...], float], dict[tuple[str, ...], float]]:
    """log10 probabilities and back-off weights of an ARPA text."""
    probs: dict[tuple[str, ...], float] = {}
    backoff: dict[tuple[str, ...], float] = {}
    order = 0
    for line in arpa.splitlines():
        heading = re.fullmatch(r"\\(\d)-grams:", line)
        if heading:
            order = int(heading.group(1))
            continue
        parts = line.split("\t")
        if order and len(parts) >= 2:
            gram = tuple(parts[1].split())
            assert len(gram) == order, line
            probs[gram] = float(parts[0])
            if len(parts) == 3:
                backoff[gram] = float(parts[2])
    return probs, backoff


def prob(probs: dict, backoff: dict, gram: tuple[str, ...]) -> float:
    if gram in probs:
        return 10 ** probs[gram]
    return 10 ** backoff.get(gram[:-1], 0.0) * prob(probs, backoff, gram[1:])


SENTENCES = ["i want box breathing", "i want to breathe", "box breathing please", "i feel lonely tonight",
             "i feel tired", "stop", "stop please", "i want to stop"]


@pytest.mark.parametrize("history", [(), ("i",), ("i", "want"), ("box",), ("<s>", "i"), ("feel", "lonely")])
def test_every_history_gives_a_proper_distribution_over_the_words(history):
    probs, backoff = parse(domain_lm.build_arpa(SENTENCES))
    vocab = sorted({g[0] for g in probs if len(g) == 1} - {"<s>"})
    total = sum(prob(probs, backoff, (*history, w)) for w in vocab)
    assert math.isclose(total, 1.0, rel_tol=1e-3), total


def test_seen_continuations_are_preferred_and_unseen_ones_still_possible():
    probs, backoff = parse(domain_lm.build_arpa(SENTENCES))
    assert prob(probs, backoff, ("i", "want", "box")) > prob(probs, backoff, ("i", "want", "lonely")) > 0
    assert prob(probs, backoff, ("feel", "lonely")) > prob(probs, backoff, ("feel", "breathing"))


def test_a_word_the_dictionary_lacks_splits_the_sentence():
    arpa = domain_lm.build_arpa(["i feel zorbly tonight"], known=lambda w: w != "zorbly")
    probs, _ = parse(arpa)
    assert ("zorbly",) not in probs
    assert ("feel", "tonight") not in probs and ("feel", "</s>") in probs and ("<s>", "tonight") in probs


def test_the_model_covers_requests_crisis_language_and_everyday_speech():
    words = {w for s in domain_lm.domain_sentences() for w in s.split()}
    assert {"breathing", "grounding", "journal", "lonely", "snooze", "suicide", "hurt", "weather"} <= words


def test_the_cached_model_is_rebuilt_only_when_its_data_changes(tmp_path, monkeypatch):
    from pocketsphinx import Decoder

    decoder = Decoder(lm=None, loglevel="FATAL")
    data = tmp_path / "examples.txt"
    data.write_text("i want box breathing\n", encoding="utf-8")
    monkeypatch.setattr(domain_lm, "sources", lambda: [data])
    monkeypatch.setattr(domain_lm, "domain_sentences", lambda: data.read_text(encoding="utf-8").split("\n"))
    first = domain_lm.cached_model(decoder, tmp_path / "cache")
    stamp = first.stat().st_mtime_ns
    assert domain_lm.cached_model(decoder, tmp_path / "cache") == first and first.stat().st_mtime_ns == stamp
    data.write_text("i want box breathing\ni feel lonely\n", encoding="utf-8")
    second = domain_lm.cached_model(decoder, tmp_path / "cache")
    assert second != first and second.exists() and not first.exists()  # the stale model is removed
    decoder.add_lm_file("domain", str(second))  # PocketSphinx reads what was written


@pytest.mark.real
def test_the_recognizer_hears_a_request_on_another_voice_with_the_domain_model(tmp_path: Path):
    import speech_corpus

    voice = next(v for v in speech_corpus.available_voices(["festival"]))
    said = "could you help me with some box breathing"
    clip = speech_corpus.render(said, voice)
    with wave.open(str(clip.path)) as w:
        pcm = w.readframes(w.getnframes())
    rec = SphinxRecognizer(["box breathing", "stop"], mode="open", lm="domain")
    pcm = b"\0" * 8000 + pcm + b"\0" * 16000
    for i in range(0, len(pcm), 3200):
        rec.accept(pcm[i:i + 3200])
    text = rec.final()
    assert speech_corpus.wer(said, text) <= 0.25, text
    assert rec.last_hypotheses[0].text == text and 0 < rec.last_confidence <= 1


def test_an_unknown_model_name_is_a_clear_error():
    from companion.speech.recognizer import RecognizerError

    with pytest.raises(RecognizerError, match="unknown language model 'nope'"):
        SphinxRecognizer(["stop"], mode="open", lm="nope")


def test_dictation_lets_general_language_lead_and_requests_use_the_companions_own():
    from companion.speech.engines import open_recognizer

    dictation = open_recognizer("pocketsphinx", "dictation")
    request = open_recognizer("pocketsphinx", "open")
    assert (dictation.mode, dictation.lm) == ("open", "general")
    assert (request.mode, request.lm) == ("open", "domain")
