"""The Companion app driven as the front ends drive it, under a fake clock with a fake voice and a real store,
router, replies and exercise library."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from fakes import FakeSpeaker

from companion.app import TOGGLE_DEBOUNCE_S, Companion
from companion.core.clock import FakeClock
from companion.core.config import Config
from companion.core.events import Event
from companion.core.store import Store


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def kinds(self, kind: str) -> list[Event]:
        with self.lock:
            return [e for e in self.events if e.kind == kind]

    def captions(self, who: str = "companion") -> list[str]:
        return [e.data["text"] for e in self.kinds("caption") if e.data.get("who") == who]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(clock: FakeClock) -> Companion:
    config = replace(Config(), region="US")
    companion = Companion(config=config, store=Store.memory(), speaker=FakeSpeaker(), clock=clock)
    yield companion
    companion.close()


@pytest.fixture
def events(app: Companion) -> Recorder:
    recorder = Recorder()
    app.bus.subscribe(recorder)
    return recorder


def test_a_spoken_request_starts_the_right_breathing_session(app: Companion, events: Recorder) -> None:
    result = app.handle_text("um can we do box breathing for two minutes")
    assert result.intent == "breathe" and result.slots == {"pattern": "box", "minutes": 2}
    assert app.wait_session(10)
    phases = events.kinds("phase")
    assert phases[0].data["name"] == "inhale"
    total = sum(p.data["seconds"] for p in phases)
    assert 110 <= total <= 130  # two minutes of 16-second box cycles
    [session] = app.store.sessions()
    assert session.exercise_id == "box" and session.completed
    assert any(e.data.get("who") == "companion" for e in events.kinds("caption"))


def test_crisis_language_stops_the_session_and_gives_the_line_first(app: Companion, clock: FakeClock,
                                                                     events: Recorder) -> None:
    clock.at(20.0, lambda: app.handle_text("i just want to end it all"))
    app.start_exercise("coherent", minutes=5)
    assert app.wait_session(10)
    assert app.last_result is not None and app.last_result.reason == "crisis"
    assert not app.last_result.completed
    crisis_caption = app.speaker.lines[-1]
    assert "988" in crisis_caption
    [event] = app.store.crisis_events()
    assert event.region == "US" and event.text is None  # no transcript unless the person keeps them
    assert events.kinds("crisis")


@pytest.mark.parametrize(("answer", "expect_in_reply", "offered"), [
    ("no im not", "emergency", False),
    ("yes i am safe", "glad", True),
    ("i dont know", "emergency", False),
])
def test_the_answer_to_are_you_safe_gets_a_caring_reply(app: Companion, answer: str, expect_in_reply: str,
                                                         offered: bool) -> None:
    app.handle_text("i dont want to be alive anymore")
    assert app.speaker.lines[-1].endswith("Are you safe right now?")
    app.handle_text(answer)
    reply = app.speaker.lines[-1]
    assert expect_in_reply in reply and "988" in reply
    app.handle_text("yes")
    assert app.wait_session(10)
    assert bool(app.store.sessions()) is offered


def test_asking_for_a_crisis_number_gives_the_regions_line(app: Companion) -> None:
    app.handle_text("can you give me the crisis number")
    assert "988" in app.speaker.lines[-1]


def test_a_feeling_is_recorded_acknowledged_and_an_offer_can_be_taken(app: Companion) -> None:
    result = app.handle_text("i feel really lonely tonight")
    assert result.intent == "feeling" and result.slots.get("feeling") == "lonely"
    [checkin] = app.store.checkins()
    assert checkin.feeling == "lonely"
    assert app.speaker.lines, "the feeling was acknowledged aloud"
    app.handle_text("yes please")
    assert app.wait_session(10)
    [session] = app.store.sessions()
    assert session.exercise_id in ("connect", "compassion")


def test_declining_an_offer_starts_nothing(app: Companion) -> None:
    app.handle_text("im so anxious")
    app.handle_text("no thanks")
    assert not app.session_running
    assert app.store.sessions() == []


def test_check_in_answer_is_stored_with_the_check_in(app: Companion) -> None:
    app.check_in(source="scheduled")
    assert "?" in app.speaker.lines[-1]
    app.handle_text("honestly pretty overwhelmed")
    [checkin] = app.store.checkins()
    assert checkin.feeling == "overwhelmed" and checkin.source == "scheduled"


def test_check_in_asks_how_strong_and_keeps_the_rating(app: Companion) -> None:
    app.check_in()
    app.handle_text("kind of anxious")
    assert "ten" in app.speaker.lines[-1]  # "... from zero to ten ..."
    app.handle_text("i would say a seven")
    [checkin] = app.store.checkins()
    assert (checkin.feeling, checkin.intensity) == ("anxious", 7)
    app.handle_text("yes")
    assert app.wait_session(10)
    assert app.store.sessions(), "the exercise offered for the feeling was started"


def test_a_rating_given_with_the_feeling_is_not_asked_again(app: Companion) -> None:
    app.check_in()
    app.handle_text("stressed like a 6 out of 10")
    assert app.store.checkins()[0].intensity == 6
    assert "ten" not in app.speaker.lines[-1]


def test_skipping_the_rating_keeps_the_feeling_without_one(app: Companion) -> None:
    app.check_in()
    app.handle_text("pretty lonely")
    app.handle_text("skip")
    [checkin] = app.store.checkins()
    assert (checkin.feeling, checkin.intensity) == ("lonely", None)
    assert "?" in app.speaker.lines[-1]  # the reply to the feeling, offering something


def test_check_in_follows_up_a_small_step_promised_last_time(app: Companion) -> None:
    app.store.add_connection_step("text my sister")
    app.check_in()
    assert "text my sister" in app.speaker.lines[-1]
    app.handle_text("yes i did")
    [step] = app.store.connection_steps()
    assert step.outcome == "done"
    assert app.store.pending_connection_steps() == []
    app.handle_text("a bit tired")
    assert app.store.checkins()[0].feeling == "tired"
    app.handle_text("three")
    assert app.store.checkins()[0].intensity == 3


def test_not_now_snoozes_check_ins(app: Companion) -> None:
    snoozed: list[int | None] = []
    app.snooze_handler = snoozed.append
    app.check_in()
    app.handle_text("not now")
    assert snoozed and snoozed[0] is not None and snoozed[0] > 0
    assert app.store.checkins() == []


def test_hotkey_burst_starts_one_session_and_a_later_press_stops_it() -> None:
    """On the real clock, so the session is still running when the hotkey is pressed again."""
    app = Companion(config=Config(), store=Store.memory(), speaker=FakeSpeaker())
    try:
        for _ in range(20):
            app.toggle_breathing()
        assert len(app.store.sessions()) == 1 and app.session_running
        time.sleep(TOGGLE_DEBOUNCE_S + 0.1)
        app.toggle_breathing()
        assert app.wait_session(10)
        [session] = app.store.sessions()
        assert session.exercise_id == app.config.breathing.default_pattern
        assert not session.completed
    finally:
        app.close()


def test_journal_answer_inside_a_session_is_saved(app: Companion, clock: FakeClock) -> None:
    clock.at(5.0, lambda: app.handle_text("i called my old friend and it felt good"))
    app.start_exercise("journal")
    assert app.wait_session(10)
    [entry] = app.store.journal()
    assert entry.text == "i called my old friend and it felt good"
    assert entry.prompt and entry.prompt.endswith("?")


def test_controls_reach_the_running_session(app: Companion, clock: FakeClock, events: Recorder) -> None:
    clock.at(30.0, lambda: app.handle_text("pause"))
    clock.at(31.0, lambda: app.handle_text("resume"))
    clock.at(60.0, lambda: app.handle_text("stop"))
    app.start_exercise("box", minutes=5)
    assert app.wait_session(10)
    assert events.kinds("pause") and events.kinds("resume")
    assert app.last_result is not None and app.last_result.reason == "stopped"
    assert not app.store.sessions()[0].completed


def test_commands_from_a_second_process(app: Companion) -> None:
    assert app.handle_command({"cmd": "start", "exercise": "nope"})["ok"] is False
    assert app.handle_command({"cmd": "dance"}) == {"ok": False, "error": "unknown command 'dance'"}
    reply = app.handle_command({"cmd": "text", "text": "stop"})
    assert reply["ok"] and reply["intent"]["intent"] == "stop"
    assert app.handle_command({"cmd": "breathe", "pattern": "4-7-8", "cycles": 1})["ok"]
    assert app.wait_session(10)
    assert app.store.sessions()[0].exercise_id == "4-7-8"


def test_a_sentence_only_the_learned_reading_notices_gets_the_gentle_check(app: Companion, clock: FakeClock,
                                                                            events: Recorder) -> None:
    text = "ive paid off my overdraft so nobody gets stuck with it after"
    clock.at(20.0, lambda: app.handle_text(text))
    app.start_exercise("coherent", minutes=5)
    assert app.wait_session(10)
    assert app.last_result is not None and app.last_result.reason == "crisis"  # the session stops all the same
    check = app.speaker.lines[-1]
    assert "988" in check and "If part of you is thinking" in check and check.endswith("Are you safe right now?")
    [event] = events.kinds("crisis")
    assert event.data["level"] == "check"
    assert len(app.store.crisis_events()) == 1
    app.handle_text("no")
    assert "emergency" in app.speaker.lines[-1] and "988" in app.speaker.lines[-1]


def test_after_yes_im_safe_the_gentle_check_is_not_asked_again_for_a_while(app: Companion,
                                                                             clock: FakeClock) -> None:
    """Someone venting on a bad day is asked once, not at every sad sentence; a listed crisis phrase still
    always gets the full reply."""
    oblique = "ive paid off my overdraft so nobody gets stuck with it after"
    assert app.handle_text(oblique).intent == "crisis"
    app.handle_text("yes i am safe")
    app.handle_text("no thanks")  # the offer of slow breathing
    assert app.handle_text(oblique).intent != "crisis"
    assert "If part of you is thinking" not in app.speaker.lines[-1]
    assert app.handle_text("i want to end it all").intent == "crisis"
    assert "988" in app.speaker.lines[-1]
    app.handle_text("yes i am safe")
    clock.advance(31 * 60)
    assert app.handle_text(oblique).intent == "crisis"
    assert "If part of you is thinking" in app.speaker.lines[-1]
