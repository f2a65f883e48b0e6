"""The crisis guard: every crisis phrasing caught, no figure of speech flagged, and the reply and lines."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from companion.core import safety

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


def lines(name: str) -> list[str]:
    return [s.strip() for s in (DATA / name).read_text(encoding="utf-8").splitlines()
            if s.strip() and not s.startswith("#")]


def test_phrase_lists_are_big_enough() -> None:
    assert len(lines("crisis_phrases.txt")) >= 40
    assert len(lines("idioms.txt")) >= 20


def test_every_crisis_phrase_is_caught() -> None:
    missed = [p for p in lines("crisis_phrases.txt") if safety.check(p) is None]
    assert not missed, f"missed: {missed}"


def test_no_idiom_is_flagged() -> None:
    flagged = [(p, m.matched) for p in lines("idioms.txt") if (m := safety.check(p)) is not None]
    assert not flagged, f"flagged: {flagged}"


@pytest.mark.parametrize("text", [
    "I want to die.", "I WANT TO DIE", "i want to die!!!", "um i uh want to die",
    "I dont want to be here anymore",
    "i dont wanna be here any more", "kill my self", "i want to kill mice elf", "im thinking about sueicide",
    "i'm having suicidal thoughts", "everybody'd be better off without me",
])
def test_punctuation_case_fillers_and_mishearings(text: str) -> None:
    assert safety.check(text) is not None


def test_idiom_does_not_hide_a_real_phrase() -> None:
    assert safety.check("im killing myself laughing") is None
    assert safety.check("im killing myself laughing but honestly i want to die") is not None


def test_found_inside_long_journal_text() -> None:
    entry = ("Today was long. " * 400) + "Sometimes I think everyone would be better off without me. " + \
        ("Then I made tea. " * 200)
    m = safety.check(entry)
    assert m is not None and "better" in m.matched


def test_ordinary_sentences_pass() -> None:
    for text in ("", "   ", "box breathing for three minutes", "i feel lonely", "i am a burden",
                 "my grandma died last year and i miss her", "i cut my hair", "stop the exercise",
                 "i am going to be gone for the weekend", "nobody would notice if i left the room",
                 "stop everything", "i drove my car into the garage", "i cant take it when people are rude",
                 "i want to disappear under my duvet all weekend", "i want to die my hair blue",
                 "everyone has to die someday", "the flowers will die without water", "i feel like crying"):
        assert safety.check(text) is None, text


@pytest.mark.parametrize(("region", "number"), [
    ("US", "988"), ("CA", "988"), ("GB", "116 123"), ("UK", "116 123"), ("IE", "116 123"), ("AU", "13 11 14"),
    ("NZ", "1737"), ("", "findahelpline.com"), ("FR", "findahelpline.com"), ("zz", "findahelpline.com"),
])
def test_crisis_reply_gives_the_regional_line(region: str, number: str) -> None:
    text = safety.crisis_reply(region)
    assert number in text
    assert "not a crisis service" in text
    assert text.rstrip().endswith("Are you safe right now?")
    assert "emergency" in text
    assert len(text.split()) < 80  # brief
    assert not re.search(r"\b(pills?|rope|method|overdose|bridge|knife|gun)\b", text, re.I)


def test_us_line_says_call_or_text() -> None:
    line = safety.crisis_line("us")
    assert (line.phone, line.text) == ("988", "988")
    assert "call or text" in safety.crisis_reply("US")
    assert safety.crisis_line("de").region == ""


def test_crisis_lines_are_reviewable_data() -> None:
    data = tomllib.loads((REPO / "companion/data/crisis_lines.toml").read_text())
    assert {"US", "CA", "GB", "IE", "AU", "NZ"} <= set(data["regions"])
    for entry in [data["generic"], *data["regions"].values()]:
        assert entry["name"] and entry["note"] and entry["url"].startswith("https://")


@pytest.mark.parametrize(("env", "region"), [
    ({"LANG": "en_GB.UTF-8"}, "GB"), ({"LC_ALL": "en_AU.UTF-8", "LANG": "en_US.UTF-8"}, "AU"),
    ({"LANG": "en_NZ"}, "NZ"), ({"LANG": "C.UTF-8"}, ""), ({"LANG": "POSIX"}, ""), ({"LANG": "fr-CA"}, "CA"),
])
def test_region_from_locale(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], region: str) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert safety.region_from_locale() == region
