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
