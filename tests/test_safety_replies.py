"""The guard's replies and numbers (data: companion/data/crisis_lines.toml): every crisis, danger and medical reply
names the region's emergency number; danger from others is short and safe; a medical emergency says so first;
someone else's danger says what to do for them; every number has its official source and the date checked."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from companion.core import safety

REPO = Path(__file__).resolve().parents[1]
LINES = tomllib.loads((REPO / "companion/data/crisis_lines.toml").read_text(encoding="utf-8"))
EMERGENCY = {"US": "911", "CA": "911", "GB": "999", "UK": "999", "IE": "112 or 999", "AU": "000", "NZ": "111",
             "": "your local emergency number", "FR": "your local emergency number"}
ABUSE = {"US": "1-800-799-7233", "GB": "0808 2000 247", "IE": "1800 341 900", "AU": "1800 737 732",
         "NZ": "0800 733 843"}
CHILD = {"US": "1-800-422-4453", "CA": "1-800-668-6868", "GB": "0800 1111", "IE": "1800 66 66 66",
         "AU": "1800 55 1800", "NZ": "0800 376 633"}
POISON = {"US": "1-800-222-1222", "CA": "1-844-764-7669", "GB": "111", "IE": "01 809 2166", "AU": "13 11 26",
          "NZ": "0800 764 766"}
METHOD_WORDS = re.compile(r"\b(pills?|tablets|rope|method|overdose|bridge|knife|gun|dose|hang\w*|jump\w*)\b", re.I)
REGIONS = sorted(EMERGENCY)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(("level", "kind"), [
    (safety.CRISIS, safety.SELF), (safety.CHECK, safety.SELF), (safety.CRISIS, safety.METHOD),
    (safety.CRISIS, safety.DANGER), (safety.CRISIS, safety.MEDICAL), (safety.CRISIS, safety.OTHER),
    (safety.CHECK, safety.OTHER), (safety.CHECK, safety.DANGER), (safety.CHECK, safety.MEDICAL),
])
def test_every_crisis_reply_names_the_regions_emergency_number(region: str, level: str, kind: str) -> None:
    text = safety.crisis_reply(region, level, kind)
    assert EMERGENCY[region] in text
    assert not METHOD_WORDS.search(text)  # safe messaging: no means, no method detail
    assert len(text.split()) < 90


@pytest.mark.parametrize("region", REGIONS)
def test_the_answers_to_are_you_safe_name_the_emergency_number_where_danger_is_possible(region: str) -> None:
    for kind in ("not_safe", "unclear", "stopped", "for_now"):
        assert EMERGENCY[region] in safety.safety_answer(kind, region)


@pytest.mark.parametrize("region", ["US", "CA", "GB", "IE", "AU", "NZ", ""])
def test_danger_from_others_is_short_safe_and_gives_the_abuse_and_child_lines(region: str) -> None:
    text = safety.crisis_reply(region, kind=safety.DANGER)
    assert text.index(EMERGENCY[region]) < 60  # the emergency number first
    if region in ABUSE:
        assert ABUSE[region] in text
    if region in CHILD:
        assert CHILD[region] in text
    assert "?" not in text  # no question that needs an answer: the person may be overheard
    assert not safety.reply_asks(kind=safety.DANGER)
    assert "not your fault" in text
    assert len(text.split()) < 75
    assert "are you safe" not in text.lower()


@pytest.mark.parametrize(("region", "text_line"), [
    ("US", "text START to 88788"), ("AU", "text 0458 737 732"), ("CA", "text CONNECT to 686868"),
])
def test_danger_reply_offers_texting_where_a_text_line_exists(region: str, text_line: str) -> None:
    text = safety.crisis_reply(region, kind=safety.DANGER)
    assert "If it isn't safe to talk, you can " + text_line in text


@pytest.mark.parametrize("region", ["US", "CA", "GB", "IE", "AU", "NZ", ""])
def test_a_medical_emergency_is_called_one_first(region: str) -> None:
    text = safety.crisis_reply(region, kind=safety.MEDICAL)
    assert text.startswith("This is a medical emergency. Please call " + EMERGENCY[region] + " now")
    if region in POISON:
        assert POISON[region] in text
    assert safety.crisis_line(region).note in text  # then the crisis line
    assert text.index(EMERGENCY[region]) < text.index(safety.crisis_line(region).note)


@pytest.mark.parametrize("region", ["US", "GB", "AU", ""])
def test_someone_elses_danger_says_what_to_do_for_them_not_are_you_safe(region: str) -> None:
    text = safety.crisis_reply(region, kind=safety.OTHER)
    assert "stay with them" in text and EMERGENCY[region] in text
    assert "worried about someone" in text
    assert "are you safe" not in text.lower() and not safety.reply_asks(kind=safety.OTHER)


@pytest.mark.parametrize("kind", [safety.DANGER, safety.MEDICAL, safety.OTHER])
def test_the_learned_reading_alone_gives_the_number_first_and_room_to_say_it_was_misread(kind: str) -> None:
    """A gentle check of danger, a medical emergency or someone else at risk: the number, then "if I've misread
    you" (conversation batch 10: "she's not wrong" had been told "This is a medical emergency")."""
    text = safety.crisis_reply("GB", safety.CHECK, kind)
    assert "999" in text and "misread" in text
    assert text.index("999") < text.index("misread")
    assert not text.startswith("This is a medical emergency")
    assert not safety.reply_asks(safety.CHECK, kind)
    assert text != safety.crisis_reply("GB", safety.CRISIS, kind)


def test_the_person_at_risk_is_asked_directly_about_safety_with_hope_and_help() -> None:
    for level in (safety.CRISIS, safety.CHECK):
        text = safety.crisis_reply("GB", level)
        assert text.endswith("Are you safe right now?") and safety.reply_asks(level)
        assert "116 123" in text and "999" in text and "not a crisis service" in text
    assert "you don't have to carry it alone" in safety.crisis_reply("GB")


def test_after_im_safe_the_reply_says_what_was_said_earlier() -> None:
    text = safety.crisis_reply("US", earlier_safe=True)
    assert text.startswith("You said earlier you were safe") and "worries me" in text and "911" in text


def test_every_number_has_its_official_source_and_the_date_checked() -> None:
    regions = LINES["regions"]
    assert {"US", "CA", "GB", "IE", "AU", "NZ"} <= set(regions)
    entries = [("generic", LINES["generic"])]
    for code, entry in regions.items():
        assert entry["emergency"] and entry["emergency_source"].startswith("https://"), code
        entries.append((code, entry))
        entries += [(f"{code}.{part}", entry[part]) for part in ("abuse", "child", "poison") if part in entry]
    for name, entry in entries:
        assert entry["source"].startswith("https://"), name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["checked"]), name
        assert entry["note"].strip(), name
    assert {"abuse", "child", "poison"} <= set(regions["US"]) and "child" in regions["CA"]


@pytest.mark.parametrize(("said", "intent", "kind", "rest"), [
    ("yes", "yes", "safe", ""),
    ("yeah im safe", "yes", "safe", ""),
    ("im safe, i just want to text my friend but i dont know what to say", "unknown", "safe",
     "i just want to text my friend but i do not know what to say"),
    ("wait what?? no im not suicidal lol", "no", "denied", ""),
    ("no i'm not going to hurt myself, i just hate my job", "no", "denied", "i just hate my job"),
    ("no", "no", "not_safe", ""),
    ("no im not", "no", "not_safe", ""),
    ("stop", "stop", "stopped", ""),
    ("stop asking me that", "unknown", "stopped", ""),
    ("i dont know", "unknown", "unclear", ""),
    ("No, no, nothing like that. I wouldn't do that to our daughter. I only mean everything feels rather pointless.",
     "unknown", "denied", "i would not do that to our daughter i only mean everything feels rather pointless"),
    ("no i would never do that", "no", "denied", ""),
    ("no, not like that, i just feel flat", "no", "denied", "i just feel flat"),
    ("no not at all", "no", "not_safe", ""),  # to "are you safe right now?": not safe
    # safe for now, the thoughts still there (batch 6): not a denial, no "sorry if I got that wrong"
    ("I'm not going to do anything right now. I just needed to say it", "unknown", "for_now",
     "i just needed to say it"),
    ("im not gonna do anything tonight", "no", "for_now", ""),
    ("not going to do anything stupid for now, promise", "unknown", "for_now", ""),
    ("no i'm not going to do anything stupid", "no", "denied", ""),
])
def test_the_answer_to_are_you_safe_is_read_for_what_it_says(said: str, intent: str, kind: str, rest: str) -> None:
    assert safety.read_answer(said, intent) == (kind, rest)


@pytest.mark.parametrize("region", REGIONS)
def test_the_emergency_number_is_named_once_and_a_number_is_called_the_emergency_number(region: str) -> None:
    """Unknown region: "call your local emergency number", never "…your local emergency number, the emergency
    number"; a known one: "call 911, the emergency number"."""
    for level in (safety.CRISIS, safety.CHECK):
        text = safety.crisis_reply(region, level=level)
        assert text.count("emergency number") == 1, text
        assert EMERGENCY[region] in text
    for kind in ("not_safe", "unclear", "stopped", "for_now"):
        assert "emergency number, the emergency number" not in safety.safety_answer(kind, region)
