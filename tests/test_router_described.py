"""Patterns described rather than named (counted phases, a breathing rate, a doubled in-breath), answers that
agree, states said emphatically, and the phrasings of spoken batch 3's ideas in other words, with near-misses
that must keep their reading."""

from __future__ import annotations

import pytest

from companion.core.intent import RouteContext
from companion.core.router import Router, get_router


@pytest.fixture(scope="module")
def router() -> Router:
    return get_router()


@pytest.mark.parametrize(("text", "pattern"), [
    ("breathe in for four, hold it for seven and out for eight", "4-7-8"),
    ("inhale 4 hold 7 exhale 8 please", "4-7-8"),
    ("can we do in for 4, hold for 4, out for 4, hold for 4", "box"),
    ("breathe in for a count of five and out for a count of five", "coherent"),
    ("let's breathe at around five breaths per minute", "coherent"),
    ("slow breathing please, six or seven breaths a minute", "coherent"),
    ("two short inhales through the nose then let it all out", "sigh"),
    ("sniff in twice and then a slow breath out", "sigh"),
    # the sigh named, as a recognizer hears it after its first word
    ("Cyclic side please", "sigh"),
    ("the physiological sign one", "sigh"),
    # only 4-7-8 holds for seven
    ("the breathing where you hold it for seven", "4-7-8"),
])
def test_described_patterns(router: Router, text: str, pattern: str) -> None:
    result = router.route(text)
    assert (result.intent, result.slots) == ("breathe", {"pattern": pattern})


@pytest.mark.parametrize(("text", "slots"), [
    ("box breathing for five minutes", {"pattern": "box", "minutes": 5}),          # a duration stays one
    ("breathe with me for a minute", {"minutes": 1}),
    ("in for four out for four for ten minutes", {"pattern": "coherent", "minutes": 10}),
    ("breathing at twenty breaths a minute", {}),                                   # a rate, but not a slow one
    ("can we breathe in for four", {}),                                             # one phase is not a pattern
])
def test_rates_and_counts_are_not_durations(router: Router, text: str, slots: dict[str, object]) -> None:
    result = router.route(text)
    assert result.intent == "breathe"
    assert result.slots == slots


@pytest.mark.parametrize(("text", "intent"), [
    ("yep, carry on", "yes"),
    ("sure, go ahead", "yes"),
    ("okay keep going", "resume"),        # "okay" is only a soft lead: carrying on
    ("ok continue please", "resume"),
])
def test_agreeing_to_carry_on(router: Router, text: str, intent: str) -> None:
    assert router.route(text).intent == intent


def test_agreeing_inside_an_exercise_is_resume(router: Router) -> None:
    assert router.route("yes go on", RouteContext(in_session=True)).intent == "resume"
    assert router.route("yes go on", RouteContext(expecting=frozenset({"yes", "no"}))).intent == "yes"


def test_not_now_is_snooze_and_answers_no_when_asked(router: Router) -> None:
    assert router.route("not at the moment").intent in {"snooze", "no"}
    assert router.route("not right now").intent == "snooze"
    assert router.route("not right now", RouteContext(expecting=frozenset({"yes", "no"}))).intent == "no"


@pytest.mark.parametrize(("text", "feeling"), [
    ("i am completely knackered", "tired"),
    ("i'm totally shattered after that shift", "tired"),
    ("i feel utterly drained", "tired"),
    ("i am totally fine", "okay"),
    ("feeling a lot lighter since the weekend", "good"),
    ("so stressed about my job this week", "stressed"),
    ("i'm livid with my brother right now", "angry"),
    ("i'm seething at my flatmate, honestly", "angry"),
])
def test_emphatic_states_are_feelings(router: Router, text: str, feeling: str) -> None:
    result = router.route(text)
    assert (result.intent, result.slots.get("feeling")) == ("feeling", feeling)


@pytest.mark.parametrize(("text", "intent"), [
    ("absolutely", "yes"),                          # near-miss: a bare emphatic word still answers
    ("absolutely not", "no"),
    ("i am in", "yes"),
    ("fine", "yes"),
    ("no i am fine", "no"),
])
def test_bare_answers_keep_their_reading(router: Router, text: str, intent: str) -> None:
    assert router.route(text).intent == intent


@pytest.mark.parametrize(("text", "intent"), [
    ("i want to get all my worries onto paper", "journal"),
    ("let me put pen to paper about today", "journal"),
    ("i want to get out of my head", "ground"),                                  # near-miss: no paper, grounding
    ("talk me through tuning into the sounds around me", "ground"),
    ("is there a phone line i could ring, i'm not in danger, just low", "professional_help"),
    ("help me build up to ringing my grandad", "connect"),
    ("can you go over my old check ins with me", "progress"),
    ("no reminders for a few hours please", "snooze"),
    ("could you ease up on the tempo a little", "slower"),
    ("speed it up a bit", "faster"),                                               # near-miss
    ("i can't keep up with you", "slower"),
    ("pick up the pace", "faster"),                                                # near-miss
    ("start a countdown timer for the oven", "unknown"),
    ("order me a curry", "unknown"),
    ("how many millilitres in a cup", "unknown"),
])
def test_batch3_ideas_in_other_words(router: Router, text: str, intent: str) -> None:
    assert router.route(text).intent == intent


def test_no_reminders_for_hours_is_snooze_with_minutes(router: Router) -> None:
    result = router.route("no reminders for the next three hours")
    assert (result.intent, result.slots) == ("snooze", {"minutes": 180})
