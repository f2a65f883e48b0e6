"""Replies: every intent has one, feelings get fitting offers, exercises start, variants rotate."""

from __future__ import annotations

import dataclasses

import pytest

from companion.core.intent import FEELINGS, INTENTS, PATTERNS, IntentResult
from companion.core.replies import EXERCISE_IDS, Reply, ReplyBook
from companion.core.router import get_router

SUMMARY = {"days": 7, "sessions": 4, "completed": 3, "minutes": 21.6, "by_kind": {"box": 3, "ground": 1},
           "checkins": 5, "feelings": {"lonely": 3, "tired": 2}, "mean_intensity": 5.2, "journal_entries": 2,
           "connection_steps": 1}


@pytest.fixture
def book() -> ReplyBook:
    return ReplyBook.load(region="US")


def res(intent: str, text: str = "", **slots: object) -> IntentResult:
    return IntentResult(text, intent, 1.0, dict(slots))


def test_every_intent_has_a_reply(book: ReplyBook) -> None:
    for intent in INTENTS:
        reply = book.reply(res(intent, "something"), summary=SUMMARY)
        assert isinstance(reply, Reply) and reply.text.strip(), intent
        assert "{" not in reply.text, (intent, reply.text)
        assert all(o in EXERCISE_IDS for o in reply.offers)
        assert reply.start is None or reply.start in EXERCISE_IDS
    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.text = "x"  # type: ignore[misc]


@pytest.mark.parametrize(("intent", "start"), [
    ("ground", "ground"), ("self_compassion", "compassion"), ("reframe", "reframe"), ("journal", "journal"),
    ("connect", "connect"), ("professional_help", "professional_help"),
])
def test_exercise_intents_start_their_exercise(book: ReplyBook, intent: str, start: str) -> None:
    assert book.reply(res(intent, "x")).start == start


def test_breathe_starts_the_pattern_and_says_the_minutes(book: ReplyBook) -> None:
    for p in PATTERNS:
        assert book.reply(res("breathe", pattern=p)).start == p
    assert book.reply(res("breathe")).start == "box"
    reply = book.reply(res("breathe", pattern="coherent", minutes=5))
    assert "5 minutes" in reply.text


def test_feelings_are_acknowledged_with_fitting_offers(book: ReplyBook) -> None:
    breathing = set(PATTERNS)
    fits = {"lonely": {"connect", "compassion"}, "anxious": breathing | {"ground"}, "numb": {"ground"}}
    for feeling in FEELINGS:
        reply = book.reply(res("feeling", feeling=feeling))
        assert 1 <= len(reply.offers) <= 2 and reply.start is None
        assert reply.text.rstrip().endswith("?")
        if feeling in fits:
            assert set(reply.offers) & fits[feeling], (feeling, reply.offers)
    assert book.reply(res("feeling")).offers  # a feeling without a name still gets something


def test_no_judgement_in_feeling_replies(book: ReplyBook) -> None:
    for feeling in FEELINGS:
        for _ in range(3):
            text = book.reply(res("feeling", feeling=feeling)).text.lower()
            banned = ("should", "just cheer", "calm down", "why are you", "don't be")
            assert not any(w in text for w in banned)


def test_reframe_uses_the_persons_own_sentence(book: ReplyBook) -> None:
    reply = book.reply(get_router().route("nobody wants to hear from me"))
    assert "nobody wants to hear from me" in reply.text and reply.start == "reframe"


def test_progress_summarises_the_week(book: ReplyBook) -> None:
    text = book.reply(res("progress"), summary=SUMMARY).text
    for piece in ("4 sessions", "22 minutes", "box breathing", "5 times", "lonely", "2 journal"):
        assert piece in text, (piece, text)
    assert "one step toward connection" in text
    empty = book.reply(res("progress"), summary={"days": 7, "sessions": 0}).text
    assert "7 days" in empty and "4 sessions" not in empty
    assert book.reply(res("progress"), summary=None).text


@pytest.mark.parametrize(("minutes", "said"), [(0.2, "under a minute"), (1.1, "about a minute"),
                                                (2.4, "about 2 minutes")])
def test_a_short_session_is_never_about_0_minutes(book: ReplyBook, minutes: float, said: str) -> None:
    """Conversation batch 11: one self-compassion pause of a few seconds read back as "about 0 minutes"."""
    text = book.reply(res("progress"), summary={"days": 7, "sessions": 1, "minutes": minutes}).text
    assert f"one session, {said}" in text and "0 minutes" not in text


def test_help_and_unknown(book: ReplyBook) -> None:
    helptext = book.reply(res("help")).text.lower()
    assert all(w in helptext for w in ("breath", "ground", "journal"))
    unknown = book.reply(res("unknown")).text.lower()
    assert "catch" in unknown or "understood" in unknown or "get that" in unknown


def test_variants_rotate(book: ReplyBook) -> None:
    for intent in ("ground", "stop", "unknown", "journal"):
        a, b = book.reply(res(intent)).text, book.reply(res(intent)).text
        assert a != b, intent
    a, b = (book.reply(res("feeling", feeling="sad")).text for _ in range(2))
    assert a != b


def test_snooze_says_how_long(book: ReplyBook) -> None:
    assert "15 minutes" in book.reply(res("snooze", minutes=15)).text
    assert "minutes" in book.reply(res("snooze")).text


def test_crisis_reply_is_the_safety_reply() -> None:
    assert "988" in ReplyBook.load(region="US").reply(res("crisis")).text
    assert "116 123" in ReplyBook.load(region="GB").reply(res("crisis")).text
