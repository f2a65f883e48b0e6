"""Persona conversations written by an outside writer (tests/data/conversations/), replayed through the real
`companion chat --transcript`: every turn gets a reply and no fallback, no exercise starts unasked, "no" and
questions are never stored, journal entries are kept, topics and moods are read the right way round, and no line
of the companion's own repeats within ten turns (tests/conversations.py; scores in docs/benchmarks/conversation.md).

A check a turn lists under `known` (with the reason) is reported by scripts/eval_conversations.py but not failed
here: today only the crisis guard's gentle check on a sad journal line, which belongs to the guard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conversations import CONVERSATIONS, load, run

FILES = sorted(CONVERSATIONS.glob("*.yaml"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_persona_conversation_is_heard(path: Path) -> None:
    conversation = load(path)
    _, verdicts = run(conversation)
    turns = [t for t in conversation["turns"] if not t.get("restart")]
    known = {(n, check) for n, t in enumerate(turns, 1) for check in (t.get("known") or {})}
    failed = [f"#{v.turn} {v.check}: {v.said[:60]!r} {v.detail[:100]}" for v in verdicts
              if not v.ok and (v.turn, v.check) not in known]
    assert not failed, "\n".join(failed)


def test_every_conversation_file_keeps_the_writers_words() -> None:
    """The person's words are copied unchanged from the outside writer's batch files."""
    for path in FILES:
        conversation = load(path)
        source = Path(conversation["source"])
        if not source.exists():
            continue  # the writer's folder is not shipped; the copy in tests/data is the record
        # "> the words" (batches 1-4), "3. Person: the words" (batch5) or "SAY: the words" (batch6)
        lines = {m.group(1) for line in source.read_text(encoding="utf-8").splitlines()
                 if (m := re.match(r"^(?:> |\s*\d+\. Person: |SAY: )(.*)$", line))}
        for turn in conversation["turns"]:
            if not turn.get("restart"):
                assert turn["say"] in lines, (path.name, turn["say"])


# ---- in-process checks: topic probes, the opening line in every front end, "check in" ----------------------------
# (the Companion as the front ends drive it, with a fake voice and a real store, router and replies: fast)

import functools  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402

import yaml  # noqa: E402
from fakes import FakeSpeaker  # noqa: E402

from companion.app import Companion  # noqa: E402
from companion.core.clock import FakeClock  # noqa: E402
from companion.core.config import Config  # noqa: E402
from companion.core.store import Store  # noqa: E402

PROBES = yaml.safe_load((CONVERSATIONS.parent / "topic_probes.yaml").read_text(encoding="utf-8"))


@functools.cache
def _shared() -> dict:
    """The read-only parts every probe's companion can share (loaded once: the probes stay fast). The wordings
    (replies, lines) are not shared: each probe starts from a wording's first variant, as a new conversation does."""
    from companion.core.exercises import load_library
    from companion.core.paths import user_exercises_dir
    from companion.core.router import get_router

    return {"router": get_router(), "library": load_library(user_exercises_dir())}


def _app(store: Store | None = None) -> Companion:
    return Companion(config=replace(Config(), region="US"), store=store or Store.memory(), speaker=FakeSpeaker(),
                     clock=FakeClock(), **_shared())


@functools.cache
def _topic_lines(topic: str) -> re.Pattern[str]:
    """Any wording of a topic's replies and follow-ups, its placeholders ("{who}") read as any words."""
    entry = yaml.safe_load((CONVERSATIONS.parents[2] / "companion/data/replies/dialogue.yaml").read_text(
        encoding="utf-8"))["topics"][topic]
    lines = [str(line) for key in ("replies", "replies_with_who", "replies_no_who", "follow_up")
             for line in entry.get(key) or ()]
    return re.compile("|".join(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(line)) for line in lines))


@pytest.mark.parametrize("probe", PROBES, ids=[p["say"][:40] for p in PROBES])
def test_a_life_event_is_named_with_the_right_polarity(probe: dict) -> None:
    """Each concept a person brings (a pet's death, redundancy, a failed theory test, a newborn at night…) is
    answered about that topic, the right way round, and nothing starts unasked: in every wording (the probe is said
    three times in one conversation, so no line repeats and each of three wordings is heard)."""
    app = _app()
    try:
        if probe.get("known"):  # the crisis guard answers it: counted as the guard's (docs/benchmarks/safety.md)
            app.handle_text(probe["say"])
            if app.store.crisis_events():
                pytest.xfail(probe["known"])
            app.close()
            app = _app()
        for n in range(3):
            said = len(app.speaker.lines)
            app.handle_text(probe["say"])
            app._expect = None  # each time as a statement of its own, not an answer to the offer just made
            text = " ".join(app.speaker.lines[said:])
            assert text.strip(), n
            if probe.get("mentions"):
                assert any(re.search(re.escape(m), text, re.IGNORECASE) for m in probe["mentions"]), (n, text)
            other = [t for t in probe.get("not_topics") or () if _topic_lines(t).search(text)]
            assert not other, (n, other, text)  # a near miss ("i used to go swimming") never gets that reply
            wrong = [a for a in probe.get("avoid") or () if re.search(rf"\b{re.escape(a)}", text, re.IGNORECASE)]
            assert not wrong, (n, wrong, text)
            assert app.store.sessions() == []
            if probe.get("mood") and n == 0:
                assert app.store.checkins() and app.store.checkins()[-1].feeling in probe["mood"]
    finally:
        app.close()


def test_check_in_typed_anywhere_starts_a_check_in_never_a_snooze() -> None:
    app = _app()
    snoozed: list[int | None] = []
    app.snooze_handler = snoozed.append
    seen: list[str] = []
    app.bus.subscribe(lambda e: seen.append(e.kind))
    try:
        for text in ("check in", "Check-in please", "can we do a check in"):
            app.handle_text(text)
            assert seen.count("checkin") == 1 + ("check in", "Check-in please", "can we do a check in").index(text)
        app.check_in(source="scheduled")  # asked by the schedule, then "check in" typed as the answer
        app.handle_text("check in")
        assert snoozed == [] and app.expecting_answer
        app.handle_text("i feel a bit anxious")
        assert app.store.checkins()[-1].feeling == "anxious"
        app.handle_text("check in with me in 20 minutes")  # a time said with it: that is a snooze
        assert snoozed == [20]
    finally:
        app.close()


def test_hello_after_the_companions_own_greeting_is_not_greeted_twice() -> None:
    app = _app()
    try:
        assert app.greet()
        app.handle_text("hello")
        assert not re.match(r"(hi|hello|hey|good (morning|afternoon|evening))\b", app.speaker.lines[-1], re.I)
        app.handle_text("good evening")  # later on, a hello is a hello again
        assert "evening" in app.speaker.lines[-1].lower()
        assert not app.greet()  # once a run
    finally:
        app.close()


def _returning_store() -> Store:
    store = Store.memory()
    first = _app(store)
    first.handle_text("my name is Noor")
    store.add_connection_step("text my cousin")
    first.close()
    return store


def test_every_front_end_greets_a_returning_person_and_follows_up_the_step() -> None:
    """Chat, `companion talk` and the tray's Talk share `greet`: the name and the pending step, once a run; a
    person the companion knows nothing about is not greeted before `talk` listens."""
    from companion.speech.audio import Heard
    from companion.voice import VoiceLoop

    store = _returning_store()
    app = _app(store)
    heard_texts = ["yes i did"]

    def ear(mode: str) -> Heard:
        text = heard_texts.pop(0) if heard_texts else ""
        if not text:
            time.sleep(0.02)
        return Heard(text, 1.0, 5.0, timed_out=not text)

    try:
        app._voice = VoiceLoop(app, hear=ear, barge_in=False)  # the tray's Talk, on a scripted microphone
        app.talk()
        assert app.wait_voice(10)
        first = app.speaker.lines[0]
        assert "Noor" in first and "text my cousin" in first
        assert store.pending_connection_steps() == []  # "yes i did" answered the follow-up
        app.talk()
        assert app.wait_voice(10)
        assert sum("Noor" in line and "welcome" in line.lower() for line in app.speaker.lines) == 1
    finally:
        app.close()
    newcomer = _app()
    try:
        assert not newcomer.greet(returning_only=True) and newcomer.speaker.lines == []
        assert newcomer.greet()  # chat greets everyone
    finally:
        newcomer.close()
