"""Rates, counted phases and durations in the router's normalised text (numbers as digits)."""

from __future__ import annotations

import pytest

from companion.core import numbers


@pytest.mark.parametrize(("text", "rate"), [
    ("about 6 breaths a minutes", 6.0), ("5 or 6 breaths per minute", 5.5), ("4 to 5 cycles a minute", 4.5),
    ("10 per minute", 10.0), ("3 a minute", None), ("breathe for 5 minutes", None),
])
def test_rate_in(text: str, rate: float | None) -> None:
    found = numbers.rate_in(text)
    assert (found[0] if found else None) == rate


@pytest.mark.parametrize(("text", "counts"), [
    ("in for 4 hold for 7 out for 8", (4, 7, 8)), ("inhale 5 exhale 5", (5, 5)),
    ("breathe in for a count of 4 hold 4 out 4 hold 4", (4, 4, 4, 4)), ("in for 4", (4,)),
    ("breathe for 4 minutes", ()), ("breathe in for 10 minutes", ()),
])
def test_phase_counts(text: str, counts: tuple[int, ...]) -> None:
    assert numbers.phase_counts(text)[0] == counts


def test_counts_and_rates_removed_are_not_minutes() -> None:
    text = "6 breaths a minutes for 10 minutes"
    found = numbers.rate_in(text)
    assert found is not None
    assert numbers.minutes_in(numbers.without(text, [found[1]])) == 10
    assert numbers.minutes_in("the 5 5 1", bare=False) is None
    assert numbers.minutes_in("for 3 minutes", bare=False) == 3


@pytest.mark.parametrize("text", ["i am going to whitby to sleep for seven days", "3 nights then 2 days then nights",
                                  "hold it for 30 seconds", "i woke up 4 times"])
def test_a_number_of_days_nights_seconds_or_times_is_no_count_of_minutes(text: str) -> None:
    """Conversation batch 8: "stop the check-in reminders for a week… to sleep for seven days" paused them for 7
    minutes."""
    assert numbers.minutes_in(text) is None


def test_a_bare_number_still_counts_minutes() -> None:
    assert numbers.minutes_in("breathe for ten") == 10


@pytest.mark.parametrize("text", ["let's do the 478 one", "Let's do the 4 7 8 1", "the box one please"])
def test_one_alone_is_a_pronoun_not_a_minute(text: str) -> None:
    """Listening batch 7, heard by Whisper: "let's do the four seven eight one" started a one-minute session."""
    from companion.core.router import get_router

    result = get_router().route(text)
    assert result.intent == "breathe" and "minutes" not in result.slots
    assert numbers.minutes_in("that one") is None
    assert numbers.minutes_in("for one minute") == 1


@pytest.mark.parametrize(("text", "minutes"), [
    ("give me a break from the notifications for a couple of hours", 120), ("snooze for a few hours", 180),
    ("a couple of minutes", 2), ("for an hour", 60), ("couple of hours off please", 120),
])
def test_hours_said_in_words_are_minutes(text: str, minutes: int) -> None:
    assert numbers.minutes_in(text) == minutes
