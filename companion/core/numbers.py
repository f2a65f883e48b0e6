"""Spoken and typed numbers for slots: "twenty five" → 25, "half an hour" → 30, 7 → "seven".

Pure text arithmetic for the router; it must never guess a number that was not said.
"""

from __future__ import annotations

import re

_UNITS: dict[str, int] = {
    "zero": 0, "oh": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    # common mis-hearings of short numbers
    "won": 1, "to": 2, "too": 2, "tree": 3, "free": 3, "for": 4, "fore": 4, "ate": 8,
}
_TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_WORDS_UNDER_20 = [k for k, v in sorted(_UNITS.items(), key=lambda kv: kv[1])
                   if k not in {"oh", "a", "an", "won", "to", "too", "tree", "free", "for", "fore", "ate"}]
# words that only count as a number when a unit ("minutes") follows, because they are also ordinary words
_AMBIGUOUS = frozenset({"a", "an", "oh", "won", "to", "too", "tree", "free", "for", "fore", "ate"})


def to_words(n: int) -> str:
    """0–99 as spoken English ("twenty five"); larger numbers stay as digits."""
    if 0 <= n < 20:
        return _WORDS_UNDER_20[n]
    if 20 <= n < 100:
        tens = next(k for k, v in _TENS.items() if v == n - n % 10 and k != "fourty")
        return tens if n % 10 == 0 else f"{tens} {_WORDS_UNDER_20[n % 10]}"
    return str(n)


def digits_to_words(text: str) -> str:
    """Every standalone integer in `text` spelled out, for recognizer grammars."""
    return re.sub(r"\b\d+\b", lambda m: to_words(int(m.group())), text)


def _number_at(words: list[str], i: int) -> tuple[int, int] | None:
    """(value, words used) for a number starting at words[i], or None."""
    w = words[i]
    if w.isdigit():
        return int(w), 1
    if w in _TENS:
        value = _TENS[w]
        if i + 1 < len(words) and words[i + 1] in _UNITS and 0 < _UNITS[words[i + 1]] < 10 \
                and words[i + 1] not in _AMBIGUOUS:
            return value + _UNITS[words[i + 1]], 2
        return value, 1
    if w in _UNITS:
        return _UNITS[w], 1
    return None


_UNIT_WORDS = frozenset({"minute", "minutes", "min", "mins", "minits", "minuets"})
# a number of these is no count of minutes ("sleep for seven days", "3 nights then 2 days", "30 seconds")
_OTHER_UNITS = frozenset({"second", "seconds", "secs", "sec", "day", "days", "week", "weeks", "month", "months", "year",
                          "years", "night", "nights", "times", "am", "pm", "oclock", "o", "breaths", "breath",
                          "people", "percent", "kids", "children"})
_HOUR_WORDS = frozenset({"hour", "hours"})


def minutes_in(text: str, *, bare: bool = True) -> int | None:
    """A duration in whole minutes said in normalised text ("five minutes", "half an hour", "for 3"), or None.

    A bare number counts only when it is unambiguous ("breathe for ten"), never "a", "to" or "one" alone ("the
    4-7-8 one" is a pronoun), and only when `bare` (the router turns it off when the sentence also counts the
    phases of a breath).
    """
    words = text.split()
    if not words:
        return None
    joined = " ".join(words)
    if re.search(r"\bhalf (an|a) hour\b|\bhalf hour\b|\bthirty minutes?\b", joined):
        return 30
    if re.search(r"\b(quarter of an hour|quarter hour)\b", joined):
        return 15
    if re.search(r"\b(an|one|a) hour\b", joined):
        return 60
    if re.search(r"\bhalf (a|an) minute\b", joined):
        return 1
    if re.search(r"\b(a couple of|a couple|couple of) hours?\b", joined):
        return 120
    if re.search(r"\b(a few|few) hours?\b", joined):
        return 180
    if re.search(r"\b(a couple of|a couple|couple of) minutes?\b", joined):
        return 2
    if re.search(r"\b(a few|few) minutes?\b", joined):
        return 3
    candidates: list[tuple[int, bool]] = []
    i = 0
    while i < len(words):
        found = _number_at(words, i)
        if found is None:
            i += 1
            continue
        value, used = found
        nxt = words[i + used] if i + used < len(words) else ""
        if nxt in _HOUR_WORDS:
            candidates.append((value * 60, True))
        elif nxt in _UNIT_WORDS or (nxt == "more" and i + used + 1 < len(words)
                                    and words[i + used + 1] in _UNIT_WORDS):
            candidates.append((value, True))
        elif bare and words[i] not in _AMBIGUOUS and value > 1 and nxt not in _OTHER_UNITS:
            candidates.append((value, False))
        i += used
    with_unit = [v for v, unit in candidates if unit]
    if with_unit:
        return with_unit[0]
    return candidates[0][0] if candidates else None


# a rate ("6 breaths a minute", "5 or 6 per minute") says how fast to breathe, never for how long
_RATE = re.compile(r"\b(\d+)(?: (?:or|to) (\d+))?(?: (?:breaths?|breathes|cycles|rounds|times))? "
                   r"(?:a|per|each|every|in a|in 1|in one) minutes?\b")
_RATE_NEEDS_NOUN = re.compile(r"(?:breath|cycle|round|time)|per")


def rate_in(text: str) -> tuple[float, tuple[int, int]] | None:
    """A breathing rate in normalised text: (breaths per minute, span), or None. "5 or 6 breaths a minute" is 5.5;
    a bare "3 a minute" is not a rate (it may be "for 3, a minute"): a noun or "per" must say so."""
    for m in _RATE.finditer(text):
        if not _RATE_NEEDS_NOUN.search(m.group()):
            continue
        low = int(m.group(1))
        high = int(m.group(2)) if m.group(2) else low
        return (low + high) / 2, m.span()
    return None


# "in for 4, hold for 7, out for 8": the counts of each phase, which name a pattern
_PHASE = re.compile(r"\b(?:breathe in|breath in|in|inhale|hold|breathe out|breath out|out|exhale)"
                    r"(?: it)?(?: for| to)?(?: a)?(?: count of| counts of| count)? (\d+)(?: counts?| seconds?)?\b"
                    r"(?! (?:minutes?|mins?|hours?)\b)")


def phase_counts(text: str) -> tuple[tuple[int, ...], list[tuple[int, int]]]:
    """The counts said for the phases of a breath ("in for 4"), in order, and where they were said; one counted
    phase is not yet a pattern, but it is still a count, not a duration."""
    found = list(_PHASE.finditer(text))
    return tuple(int(m.group(1)) for m in found), [m.span() for m in found]


def without(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the given character spans removed (so a rate or a count is not read as a duration)."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return " ".join(text.split())


def words_to_digits(text: str) -> str:
    """Unambiguous number words as digits ("twenty five minutes" → "25 minutes"), so templates and
    speech compare equal; words that are also ordinary words ("a", "to", "for") stay as they are."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in _AMBIGUOUS or not (w in _UNITS or w in _TENS):
            out.append(w)
            i += 1
            continue
        found = _number_at(words, i)
        assert found is not None
        value, used = found
        out.append(str(value))
        i += used
    return " ".join(out)
