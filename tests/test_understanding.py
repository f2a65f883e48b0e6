"""Spoken readings → one meaning (companion/core/understanding.py), with a scripted router: the best-supported
reading wins, crisis needs clear audio, risk words in any reading are asked about, doubt asks again."""

from __future__ import annotations

from companion.core.intent import IntentResult
from companion.core.understanding import ACT, CONFIRM, REPEAT, understand
from companion.speech.recognizer import Hypothesis

MEANINGS = {
    "box breathing police": ("breathe", 0.40, {"pattern": "box"}),
    "box breathing please": ("breathe", 0.95, {"pattern": "box"}),
    "i want to kill myself": ("crisis", 1.0, {}),
    "i want to feel myself": ("unknown", 0.2, {}),
    "stop": ("stop", 0.5, {}),
    "it often": ("unknown", 0.3, {}),
    "maybe stop": ("stop", 0.9, {}),
    "pause": ("pause", 1.0, {}),
    "the weather in paris": ("unknown", 0.8, {}),
    "i feel lonely": ("feeling", 0.9, {"feeling": "lonely"}),
    "four seven eight breathing for ten minutes": ("breathe", 0.5, {"minutes": 10}),
    "four seven eight breeding for ten minutes": ("breathe", 0.45, {"minutes": 12}),
    "can we do four seven eight breathing": ("breathe", 0.95, {"pattern": "4-7-8"}),
    "snooze for ten minutes": ("snooze", 0.6, {"minutes": 10}),
    "breathe with me for a couple of minutes": ("breathe", 0.59, {"minutes": 2}),
    "breathe with me for twelve minutes": ("breathe", 1.0, {"minutes": 12}),
}


def route(text: str) -> IntentResult:
    intent, confidence, slots = MEANINGS.get(text, ("unknown", 0.0, {}))
    return IntentResult(text, intent, confidence, dict(slots))


def test_an_alternative_the_router_places_better_is_chosen():
    u = understand([Hypothesis("box breathing police"), Hypothesis("box breathing please", "alternative", 1)], route)
    assert u.text == "box breathing please" and u.decision == ACT and u.result.slots == {"pattern": "box"}
    assert u.confidence == 0.9  # 0.95 less one rank step


def test_the_chosen_meaning_keeps_the_slots_the_free_readings_heard():
    readings = [Hypothesis("four seven eight breathing for ten minutes"),
                Hypothesis("four seven eight breeding for ten minutes", "alternative", 1),
                Hypothesis("snooze for ten minutes", "alternative", 2),
                Hypothesis("can we do four seven eight breathing", "grammar", 0, 0.3)]
    u = understand(readings, route)
    assert u.text == "can we do four seven eight breathing"
    assert u.result.slots == {"pattern": "4-7-8", "minutes": 10}  # the best free reading's minutes, not rank 1's
    other = [Hypothesis("snooze for ten minutes"), Hypothesis("box breathing police", "alternative", 1)]
    alone = understand(other, route)
    assert alone.result.slots == {"minutes": 10}  # another intent's slots never join


def test_what_the_free_decoding_heard_wins_over_the_closest_own_phrase_s_values():
    """Listening batch 6: "breathe with me for a couple of minutes", heard word for word, was acted on as the
    nearest listed phrase, "breathe with me for twelve minutes"."""
    readings = [Hypothesis("breathe with me for a couple of minutes"),
                Hypothesis("breathe with me for twelve minutes", "grammar", 0, 0.1)]
    u = understand(readings, route)
    assert u.result.intent == "breathe" and u.result.slots == {"minutes": 2} and u.decision == ACT


def test_the_closest_own_phrase_counts_only_when_it_sounds_alike():
    near = [Hypothesis("it often"), Hypothesis("maybe stop", "grammar", 0, 0.2)]
    assert understand(near, route).text == "maybe stop"
    far = [Hypothesis("it often"), Hypothesis("maybe stop", "grammar", 0, 0.9)]
    assert understand(far, route).decision == REPEAT  # nothing placed: say it again


def test_a_doubtful_risky_action_is_confirmed_and_an_unclear_one_asked_again():
    assert understand([Hypothesis("stop")], route).decision == CONFIRM
    assert understand([Hypothesis("maybe stop")], route).decision == ACT
    assert understand([Hypothesis("box breathing police")], route).decision == REPEAT
    assert understand([Hypothesis("the weather in paris")], route).decision == REPEAT  # out of scope
    assert understand([], route).decision == REPEAT and understand([Hypothesis("  ")], route).text == ""


def test_crisis_language_in_clear_audio_gets_the_crisis_reply():
    readings = [Hypothesis("i want to kill myself"), Hypothesis("i want to kill myself", "alternative", 1)]
    u = understand(readings, route, engine_confidence=0.01, clear_at=0.0005)
    assert u.result.intent == "crisis" and u.decision == ACT and not u.risk_heard


def test_crisis_language_in_unclear_audio_is_asked_about_never_answered_in_full():
    unclear = understand([Hypothesis("i want to kill myself")], route, engine_confidence=0.0, clear_at=0.0005)
    assert unclear.decision == REPEAT and unclear.risk_heard
    split = [Hypothesis("i want to kill myself"), Hypothesis("i want to feel myself", "alternative", 1)]
    assert understand(split, route, engine_confidence=0.5, clear_at=0.0005).risk_heard  # readings disagree


def test_crisis_language_in_another_reading_is_asked_about_not_acted_on():
    readings = [Hypothesis("i feel lonely"), Hypothesis("i want to kill myself", "alternative", 3)]
    u = understand(readings, route)
    assert u.risk_heard and u.result.intent == "feeling" and u.result.intent != "crisis"


def test_a_control_word_heard_clearly_is_not_turned_into_the_safety_question_by_one_alternative():
    """Barge-in "pause" over our own voice: one n-best alternative with crisis words is noise there. The same
    alternative behind a doubtful command, or behind a longer reading, is still asked about."""
    crisis_alternative = Hypothesis("i want to kill myself", "alternative", 1)
    clear = understand([Hypothesis("pause"), crisis_alternative], route)
    assert clear.result.intent == "pause" and clear.decision == ACT and not clear.risk_heard
    doubtful = understand([Hypothesis("stop"), crisis_alternative], route)  # router only half sure of "stop"
    assert doubtful.risk_heard
    longer = understand([Hypothesis("i feel lonely"), crisis_alternative], route)
    assert longer.risk_heard


def test_a_reading_with_no_request_is_answered_only_when_the_conversation_places_it_and_the_audio_is_clear():
    placed = {"the weather in paris"}.__contains__
    heard = [Hypothesis("the weather in paris")]
    assert understand(heard, route, placed=placed).decision == ACT
    assert understand(heard, route, placed=placed, engine_confidence=0.0001, clear_at=0.0005).decision == REPEAT
    assert understand([Hypothesis("it often")], route, placed=placed).decision == REPEAT
    assert understand(heard, route).decision == REPEAT  # inside an exercise nothing is placed
