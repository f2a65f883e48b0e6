"""The crisis guard's learned second reading: its features, its training, its settings file, its cache, and the
real shipped model behind the patterns (a picture no pattern lists gets the gentle check; listed safe sentences
and the guard's figures of speech never do)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from companion.core import safety, safety_model
from companion.core.safety_model import Model, features, parse_settings


def test_features_are_words_and_word_pairs_without_blanked_figures() -> None:
    feats = features("i am , at the bridge")
    assert {"w:i", "w:bridge", "b:i_am", "b:am_at", "b:the_bridge", "bias"} <= set(feats)
    assert not any("," in f for f in feats)


def test_training_separates_what_it_was_shown_and_generalises_on_shared_words() -> None:
    crisis = ["i want to jump off the bridge", "i am going to the bridge tonight to jump", "i keep thinking of jumping"]
    safe = ["i walked over the bridge to work", "we jumped in the pool", "i want to go to the park tonight"]
    model = Model.train([features(t) for t in crisis], [features(t) for t in safe], l2=0.1, epochs=300)
    unseen_crisis = model.score(features("tonight i will jump"))
    unseen_safe = model.score(features("i walked to the park"))
    assert unseen_crisis > 0.5 > unseen_safe
    # the safe class can be made to weigh more: the same crisis sentence then scores lower
    cautious = Model.train([features(t) for t in crisis], [features(t) for t in safe], l2=0.1, epochs=300,
                           safe_weight=4.0)
    assert cautious.score(features("tonight i will jump")) < unseen_crisis


def test_a_listed_safe_sentence_is_never_flagged() -> None:
    model = Model({"w:die": 9.0, "bias": 0.0}, listed_safe=frozenset({"the flowers will die"}))
    assert model.score_text("the flowers will die") == 0.0
    assert model.score_text("the flowers will , die") == 0.0  # a blanked figure of speech does not matter
    assert model.score_text("i will die") > 0.9


@pytest.mark.parametrize(("text", "message"), [
    ("threshold: 1.5\ncrisis_examples: [a.txt]\nsafe_examples: [b.txt]", "between 0 and 1"),
    ("threshold: high\ncrisis_examples: [a.txt]\nsafe_examples: [b.txt]", "model.yaml"),
    ("crisis_examples: [a.txt]\nsafe_examples: [b.txt]", "threshold is missing"),
    ("threshold: 0.6\ncrisis_examples: []\nsafe_examples: [b.txt]", "at least one file"),
    ("threshold: 0.6\nsafe_weight: 0\ncrisis_examples: [a.txt]\nsafe_examples: [b.txt]", "safe_weight"),
    ("- just a list", "expected keys"),
])
def test_bad_settings_are_named_with_the_fix(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_settings(text)


def test_shipped_settings_and_examples_are_whole() -> None:
    s = safety_model.settings()
    assert 0 < s.threshold < 1
    crisis = [t for f in s.crisis_examples for t in safety_model.example_lines(f)]
    safe = [t for f in s.safe_examples for t in safety_model.example_lines(f)]
    assert len(crisis) > 1000 and len(safe) > 1000
    assert not {t.lower() for t in crisis} & {t.lower() for t in safe}, "a sentence is listed as both"


def test_the_cache_is_written_reused_and_survives_damage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path))
    built = safety_model.load(safety.prepare)
    [cached] = tmp_path.glob("safety-model-*.json")
    saved = json.loads(cached.read_text())
    assert saved["weights"] == built.weights and saved["listed_safe"]
    loaded = safety_model.load(safety.prepare)
    text = safety.prepare("ive paid off my overdraft so nobody gets stuck with it after")
    assert loaded.score_text(text) == built.score_text(text)
    cached.write_text("{not json")
    assert safety_model.load(safety.prepare).weights == built.weights  # retrained, same data, same weights


@pytest.mark.real
@pytest.mark.parametrize("text", [
    # pictures no pattern lists (checked below), in people's words: the patterns miss them, the model does not
    "ive started giving my records away to people who might want them after",
    "i keep looking at the bottle of vodka and the sleeping tablets next to it",
    "ive paid off my overdraft so nobody gets stuck with it after",
])
def test_the_learned_reading_notices_what_no_pattern_lists(text: str) -> None:
    assert safety.check_patterns(text) is None, "this picture is now a pattern: pick a new one for this test"
    found = safety.check(text)
    assert found is not None and found.level == safety.CHECK and found.score >= safety_model.settings().threshold


@pytest.mark.real
def test_the_learned_reading_never_overrides_a_figure_of_speech_in_the_data() -> None:
    idioms = (Path(__file__).parent / "data" / "idioms.txt").read_text(encoding="utf-8").splitlines()
    flagged = [t for t in idioms if t.strip() and not t.startswith("#") and safety.check(t)]
    assert flagged == []


def test_the_gentle_check_asks_with_the_same_line_and_one_question() -> None:
    check = safety.crisis_reply("GB", safety.CHECK)
    full = safety.crisis_reply("GB")
    assert check != full
    assert "116 123" in check and "not a crisis service" in check and "emergency" in check
    assert check.rstrip().endswith("Are you safe right now?") and check.count("?") == 1
    assert not re.search(r"\b(pills?|rope|method|overdose|bridge|knife|gun)\b", check, re.I)


def test_the_router_reports_the_learned_score_as_its_confidence() -> None:
    from companion.core.router import get_router

    text = "i keep looking at the bottle of vodka and the sleeping tablets next to it"
    result = get_router().route(text)
    found = safety.check(text)
    assert found is not None and result.intent == "crisis" and result.confidence == found.score < 1.0
    assert get_router().route("i want to end it all").confidence == 1.0


def test_a_sentence_known_word_for_word_as_something_else_is_not_second_guessed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a model that fired on everything would leave the companion's own templates alone; the patterns
    still read them, and anything else still gets the gentle check."""
    from companion.core.router import get_router

    def always(text: str) -> safety.SafetyMatch:
        return safety.SafetyMatch(pattern="learned", matched=text, level=safety.CHECK, score=0.99)

    monkeypatch.setattr(safety, "check_learned", always)
    router = get_router()
    assert router.route("i am not bad tonight").intent == "feeling"
    assert router.route("box breathing for three minutes").intent == "breathe"
    assert router.route("the shed beam keeps catching my eye").intent == "crisis"
    assert router.route("i want to end it all").confidence == 1.0  # a pattern, whatever the model says
