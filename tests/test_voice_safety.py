"""Safety first, by voice too: crisis language is in every command grammar, so a spoken sentence about suicide or
self-harm reaches the crisis guard whatever the companion was listening for."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import espeak_wav16k, padded_wav

from companion.core.router import get_router
from companion.speech.grammar import CONTEXTS, crisis_sentences, sentences_for

SPOKEN = ["i want to die", "i do not want to live anymore", "i want to hurt myself"]


def test_every_grammar_context_and_the_vosk_grammar_hold_the_crisis_sentences() -> None:
    crisis = set(crisis_sentences())
    assert len(crisis) > 50
    for context in CONTEXTS:
        assert crisis <= set(sentences_for(context)), context
    from companion.speech.engines import template_sentences

    assert crisis <= set(template_sentences())


def test_every_spoken_crisis_sentence_routes_to_crisis() -> None:
    router = get_router()
    missed = [s for s in crisis_sentences() if router.route(s).intent != "crisis"]
    assert missed == []


@pytest.mark.real
@pytest.mark.parametrize("context", ["idle", "session"])
def test_spoken_crisis_language_is_heard_and_routed_to_crisis(context: str, tmp_path: Path) -> None:
    from companion.speech import audio
    from companion.speech.sphinx_engine import SphinxRecognizer

    recognizer = SphinxRecognizer(sentences_for(context), mode="command")
    router = get_router()
    for i, phrase in enumerate(SPOKEN):
        padded = padded_wav(espeak_wav16k(phrase, tmp_path / f"{i}.wav"), tmp_path / f"{i}p.wav",
                            lead_s=0.5, tail_s=1.0)
        heard = audio.decode_file(padded, recognizer).transcript
        assert router.route(heard).intent == "crisis", (phrase, heard)


def test_the_spoken_batchs_ordinary_sentences_are_never_crisis_when_heard_right() -> None:
    """The 30 ordinary sentences of the first spoken blind batch (sad, dark idioms, recovery, someone else's
    illness): at first sight, five of them heard correctly got the full crisis reply (docs/benchmarks/listening.md)."""
    from helpers import data_lines

    from companion.core import safety

    flagged = [t for t in data_lines("spoken_blind1_safe.txt") if safety.check(t) is not None]
    assert flagged == []
