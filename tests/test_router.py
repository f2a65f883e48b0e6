"""The router on sentences it was not trained on, its slots, context rules, recognizer lists and bad input."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
import yaml
from helpers import DATA, eval_rows

from companion.core import numbers
from companion.core.fuzzy import normalize
from companion.core.intent import CONTROL_INTENTS, INTENTS, PATTERNS, RouteContext
from companion.core.router import Router, _key, get_router

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def router() -> Router:
    return get_router()


def test_eval_set_is_varied_and_unseen() -> None:
    rows = eval_rows("intent_eval.tsv")
    per = Counter(intent for _, intent, _ in rows)
    assert set(per) <= set(INTENTS)
    thin = {i: per[i] for i in INTENTS if per[i] < 15}
    assert not thin, f"fewer than 15 eval sentences for {thin}"
    # short commands ("stop please") are bound to equal a template once normalised; most must be new
    known = trained_keys()
    novel = [t for t, _, _ in rows if _key(t) not in known]
    assert len(novel) >= 0.55 * len(rows), f"only {len(novel)} of {len(rows)} eval sentences are new"


def trained_keys() -> set[str]:
    """Every sentence the router knows verbatim (templates and examples), in its compared form."""
    examples = yaml.safe_load((REPO / "companion/data/intents/examples.yaml").read_text())
    trained = {_key(s) for v in examples["feeling"].values() for s in v}
    trained |= {_key(s) for v in examples["intents"].values() for s in v}
    return trained | set(get_router()._t.exact)


def test_eval_accuracy_at_least_95_percent(router: Router) -> None:
    rows = eval_rows("intent_eval.tsv")
    wrong = []
    for text, intent, slots in rows:
        r = router.route(text)
        if r.intent != intent or any(str(r.slots.get(k)) != v for k, v in slots.items()):
            wrong.append((text, intent, slots, r.intent, r.slots))
    accuracy = 1 - len(wrong) / len(rows)
    assert accuracy >= 0.95, f"accuracy {accuracy:.3f}; wrong: {wrong}"
    known = trained_keys()
    novel = [row for row in rows if _key(row[0]) not in known]
    novel_wrong = [w for w in wrong if _key(w[0]) not in known]
    assert 1 - len(novel_wrong) / len(novel) >= 0.9, f"accuracy on new sentences too low: {novel_wrong}"


BLIND = sorted(p.name for p in DATA.glob("intent_blind*.tsv"))


@pytest.mark.parametrize("name", BLIND)
def test_blind_batch_accuracy(router: Router, name: str) -> None:
    """The batches written before each round of tuning (docs/benchmarks/router.md, "Blind batches"):
    they guard against regressions; their first-sight scores are the honest estimate."""
    rows = eval_rows(name)
    per = Counter(intent for _, intent, _ in rows)
    assert set(per) <= set(INTENTS), f"{name}: unknown intents {set(per) - set(INTENTS)}"
    thin = {i: n for i, n in per.items() if n < 7}
    assert not thin, f"{name}: fewer than 7 sentences for {thin}"
    known = trained_keys()
    wrong = [(t, i, r.intent) for t, i, slots in rows
             if (r := router.route(t)).intent != i or any(str(r.slots.get(k)) != v for k, v in slots.items())]
    assert 1 - len(wrong) / len(rows) >= 0.95, f"{name}: {len(wrong)} of {len(rows)} wrong: {wrong}"
    novel = [t for t, _, _ in rows if _key(t) not in known]
    novel_wrong = [w for w in wrong if _key(w[0]) not in known]
    assert 1 - len(novel_wrong) / len(novel) >= 0.9, f"{name}: new sentences: {novel_wrong}"


def test_blind_batches_are_mostly_new() -> None:
    """Tuning must never copy a blind sentence into the examples: most lines stay unknown to the router."""
    known = trained_keys()
    rows = [row for name in BLIND for row in eval_rows(name)]
    novel = [t for t, _, _ in rows if _key(t) not in known]
    assert len(BLIND) >= 4
    complete = [n for n in BLIND if {i for _, i, _ in eval_rows(n)} == set(INTENTS)]
    assert len(complete) >= 4, f"only {complete} cover every intent"
    assert len(novel) >= 0.65 * len(rows), f"only {len(novel)} of {len(rows)} blind sentences are new"


@pytest.mark.parametrize(("text", "intent"), [
    ("i dont want to breathe", "no"),
    ("i really dont feel like journaling", "no"),
    ("i'd rather not do the grounding", "no"),
    ("dont stop", "resume"),
    ("i dont want to stop", "resume"),
    ("i dont want to be so hard on myself anymore", "self_compassion"),
    ("i don't belong at my job", "reframe"),
    ("i dont want to breathe anymore stop", "stop"),
])
def test_turning_an_offer_down(router: Router, text: str, intent: str) -> None:
    assert router.route(text).intent == intent


@pytest.mark.parametrize(("text", "intent", "slots"), [
    ("uh huh", "yes", {}),
    ("478 breathing", "breathe", {"pattern": "4-7-8"}),
    ("54321", "ground", {}),
    ("fast", "faster", {}),
    ("no that's fine", "no", {}),
])
def test_run_on_and_filler_forms(router: Router, text: str, intent: str, slots: dict[str, object]) -> None:
    r = router.route(text)
    assert (r.intent, r.slots) == (intent, slots), r


@pytest.mark.parametrize(("text", "intent", "slots"), [
    ("box breathing for three minutes", "breathe", {"pattern": "box", "minutes": 3}),
    ("Square breathing, 5 minutes please.", "breathe", {"pattern": "box", "minutes": 5}),
    ("um resonance breathing for twenty five minutes", "breathe", {"pattern": "coherent", "minutes": 25}),
    ("double inhale", "breathe", {"pattern": "sigh"}),
    ("can we do four seven eight", "breathe", {"pattern": "4-7-8"}),
    ("4-7-8 breathing for 10 minutes", "breathe", {"pattern": "4-7-8", "minutes": 10}),
    ("snooze half an hour", "snooze", {"minutes": 30}),
    ("remind me in thirty minutes", "snooze", {"minutes": 30}),
    ("snooze 3 minutes", "snooze", {"minutes": 3}),
    ("I feel invisible at work", "feeling", {"feeling": "lonely"}),
    ("im not okay", "feeling", {"feeling": "sad"}),
    ("nobody wants to hear from me", "reframe", {}),
    ("I'm a burden", "reframe", {}),
    ("I don't belong", "reframe", {}),
    ("hold on", "pause", {}),
    ("what's the weather like tomorrow", "unknown", {}),
])
def test_brief_examples(router: Router, text: str, intent: str, slots: dict[str, object]) -> None:
    r = router.route(text)
    assert r.intent == intent, r
    for k, v in slots.items():
        assert r.slots.get(k) == v, r
    assert 0.0 <= r.confidence <= 1.0


def test_slot_values_are_typed(router: Router) -> None:
    r = router.route("coherent breathing for twelve minutes")
    assert r.slots == {"pattern": "coherent", "minutes": 12}
    assert isinstance(r.slots["minutes"], int)
    assert router.route("breathe").slots == {}
    assert all(router.route(f"{p} breathing").slots.get("pattern") in PATTERNS for p in ("box", "sigh"))


def test_crisis_runs_first_everywhere(router: Router) -> None:
    ctx = RouteContext(expecting=frozenset({"yes", "no"}), in_session=True)
    for text in ("I want to die", "no i dont want to be here anymore", "stop i want to kill myself"):
        r = router.route(text, ctx)
        assert (r.intent, r.confidence) == ("crisis", 1.0), r


def test_context_short_answers(router: Router) -> None:
    yn = RouteContext(expecting=frozenset({"yes", "no"}))
    assert router.route("not now").intent == "snooze"
    assert router.route("not now", yn).intent == "no"
    assert router.route("next", yn).intent == "yes"
    assert router.route("good", yn).intent == "yes"
    assert router.route("yeah", yn).intent == "yes"
    assert router.route("nah", yn).intent == "no"
    assert router.route("not now in 10 minutes", yn).slots == {"minutes": 10}


def test_control_words_win_in_session(router: Router) -> None:
    session = RouteContext(in_session=True)
    for text, intent in (("stop", "stop"), ("hold on", "pause"), ("slower please", "slower"),
                         ("a bit quicker", "faster"), ("say that again", "repeat"), ("continue", "resume"),
                         ("okay stop", "stop")):
        r = router.route(text, session)
        assert r.intent == intent and r.intent in CONTROL_INTENTS, r


def test_out_of_scope_and_junk_is_unknown(router: Router) -> None:
    for text in ("", "   ", "😀😀😀", "今日はとても疲れた", "\x00\x01\x02", "a" * 10_000, "qwzx vbnm plok",
                 "play some music", "set a timer for ten minutes"):
        r = router.route(text)
        assert r.intent == "unknown", (text[:40], r)
        assert 0.0 <= r.confidence <= 1.0


def test_sentences_route_back_to_their_intent(router: Router) -> None:
    sentences = router.sentences()
    assert len(sentences) == len(set(sentences))
    assert "box breathing for three minutes" in sentences
    assert all(s == s.lower() and not any(c.isdigit() for c in s) for s in sentences)
    assert all(not any(c in s for c in ".,!?") for s in sentences)
    owners = {k: v for k, v in router._t.exact.items()}
    for s in random.Random(1).sample(sentences, 400):
        r = router.route(s)
        assert r.intent in owners[_key(s)] or r.intent == "crisis", (s, r)


def test_vocabulary_covers_the_sentences(router: Router) -> None:
    vocab = router.vocabulary()
    assert {"breathing", "box", "three", "minutes", "snooze", "lonely"} <= vocab
    assert all(w in vocab for s in router.sentences()[:2000] for w in s.split())
    assert not any(w.isdigit() for w in vocab)


@pytest.mark.parametrize(("text", "expected"), [
    ("um so like I'm really tired", "i am really tired"),
    ("Im, uh, you know, not OK!!", "i am not okay"),
    ("dont", "do not"),
    ("4-7-8 breathing", "4 7 8 breathing"),
    ("I   I want to", "i want to"),
])
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(("text", "minutes"), [
    ("five minutes", 5), ("twenty five minutes", 25), ("half an hour", 30), ("an hour", 60),
    ("for 3", 3), ("a couple of minutes", 2), ("in twenty", 20), ("for a bit", None), ("go to bed", None),
    ("one minute", 1), ("two hours", 120),
])
def test_minutes_in(text: str, minutes: int | None) -> None:
    assert numbers.minutes_in(normalize(text)) == minutes


def test_number_words_roundtrip() -> None:
    for n in range(0, 100):
        assert numbers.words_to_digits(numbers.to_words(n)) == str(n)
    assert numbers.words_to_digits("go to a bar for fun") == "go to a bar for fun"


def test_cache_gives_the_same_router_and_survives_damage(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path))
    built = Router()
    files = list(tmp_path.glob("router-*.npz"))
    assert len(files) == 1
    loaded = Router()
    for text in ("box breathing for three minutes", "I feel invisible at work",
                 "nobody wants to hear from me", "hmm what about tomorrow", "snooze half an hour"):
        assert loaded.route(text) == built.route(text)
    assert loaded.sentences() == built.sentences() and loaded.vocabulary() == built.vocabulary()
    files[0].write_bytes(b"not a cache")
    assert Router().route("hold on").intent == "pause"  # rebuilt
    assert Router(use_cache=False).route("hold on").intent == "pause"


@pytest.mark.parametrize(("text", "expected"), [
    ("aye that's grand", "yes that is grand"),
    ("i will msg him tmrw", "i will message him tomorrow"),
    ("she msged me 2moro", "she messaged me tomorrow"),
])
def test_normalize_reads_texting_shorthand_and_dialect_words(text: str, expected: str) -> None:
    assert normalize(text) == expected


# batch 4 typed (tests/data/spoken_blind4.tsv): phrasings read by concept, checked here with sentences of our own
@pytest.mark.parametrize(("text", "intent", "feeling"), [
    ("i kind of feel like i'm not really in my body today", "feeling", "numb"),
    ("i keep crying at night for no reason", "feeling", "sad"),
    ("i've cried most days this month", "feeling", "sad"),
    ("honestly things are not great", "feeling", None),
    ("i can't settle, i'm restless", "feeling", "anxious"),
    ("aye go on", "yes", None),
    ("aye alright go on then", "yes", None),
    ("can you skip reminding me today", "snooze", None),
    ("write down my worries while i talk", "journal", None),
    ("i want to put this into my diary", "journal", None),
    ("my head is stuck in negative thinking again", "reframe", None),
    ("i tell myself i'm an idiot whenever something goes wrong, can you help", "reframe", None),
    ("could i get some numbers for a counsellor, not urgent", "professional_help", None),
])
def test_phrasings_read_by_concept(router: Router, text: str, intent: str, feeling: str | None) -> None:
    result = router.route(text)
    assert result.intent == intent, result
    if feeling:
        assert result.slots.get("feeling") == feeling, result


def test_a_request_said_first_of_several_sentences_is_the_request_with_its_own_slots(router: Router) -> None:
    """"can you help me calm down? like right now my heart is going a mile a minute" (an outside writer's): the whole
    was read as out of scope; the first sentence is a request the companion knows word for word. Its slots are the
    first sentence's ("a mile a minute" is no one-minute session)."""
    result = router.route("can you help me calm down? like right now my heart is going a mile a minute")
    assert (result.intent, result.slots) == ("breathe", {})
    assert router.route("box breathing for two minutes. i can't sleep again").slots.get("minutes") == 2
    assert router.route("stop. i want to talk").intent == "stop"


@pytest.mark.parametrize(("text", "intent"), [("ya", "yes"), ("yeh", "yes"), ("see ya", "unknown"),
                                              ("honestly i'm just so sad", "feeling")])
def test_words_that_are_an_answer_only_on_their_own(router: Router, text: str, intent: str) -> None:
    assert router.route(text).intent == intent
