"""The Companion app driven as the front ends drive it, under a fake clock with a fake voice and a real store,
router, replies and exercise library."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

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


def run_while_typing(app: Companion, clock: FakeClock, exercise: str, typed: dict[float, str], **options) -> None:
    """Runs `exercise` to its end on the fake clock, each line in `typed` typed at its second."""
    for t, line in typed.items():
        clock.at(t, lambda line=line: app.handle_text(line))
    app.start_exercise(exercise, **options)
    assert app.wait_session(10)


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
    run_while_typing(app, clock, "coherent", {20.0: "i just want to end it all"}, minutes=5)
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
    run_while_typing(app, clock, "journal", {5.0: "i called my old friend and it felt good"})
    [entry] = app.store.journal()
    assert entry.text == "i called my old friend and it felt good"
    assert entry.prompt and entry.prompt.endswith("?")


def test_controls_reach_the_running_session(app: Companion, clock: FakeClock, events: Recorder) -> None:
    run_while_typing(app, clock, "box", {30.0: "pause", 31.0: "resume", 60.0: "stop"}, minutes=5)
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
    run_while_typing(app, clock, "coherent", {20.0: text}, minutes=5)
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


# ----- the conversation (issue 10): consent, nothing lost, memory, topics, variety ------------------------------
def test_a_journal_entry_that_sounds_like_a_command_is_kept(app: Companion, clock: FakeClock) -> None:
    run_while_typing(app, clock, "journal", {5.0: "my quiet evening entry about the rain"})
    [entry] = app.store.journal()
    assert entry.text == "my quiet evening entry about the rain"
    assert app.last_result is not None and app.last_result.completed


@pytest.mark.parametrize("no", ["i said no", "forget it", "no", "nah"])
def test_no_inside_an_exercise_stops_it_and_is_never_stored(app: Companion, clock: FakeClock, no: str) -> None:
    run_while_typing(app, clock, "journal", {5.0: no})
    assert app.store.journal() == [] and app.store.connection_steps() == []
    assert app.last_result is not None and not app.last_result.completed


def test_a_question_while_choosing_a_small_step_is_answered_not_saved(app: Companion, clock: FakeClock) -> None:
    question = "but what do i actually say to her after 3 years?"
    run_while_typing(app, clock, "connect", {5.0: question, 20.0: "text my sister on sunday"})
    assert [s.step for s in app.store.connection_steps()] == ["text my sister on sunday"]
    assert any("been thinking of you" in line or "miss talking" in line or "thinking about you" in line
               for line in app.speaker.lines)


@pytest.mark.parametrize("text", ["nah. breathing doesn't fix anything", "should i text my mate dave about a pint",
                                  "idk. my sister said to try this", "<3", "tell me something nice"])
def test_no_exercise_starts_without_a_request(app: Companion, text: str) -> None:
    app.handle_text(text)
    assert not app.session_running and app.store.sessions() == []
    assert app.speaker.lines, "every message gets a reply"


def test_an_offer_is_answered_by_naming_what_was_offered(app: Companion) -> None:
    app.handle_text("I don't know where to start. I keep putting it off")
    app.handle_text("small step please")
    assert app.wait_session(10)
    assert [s.exercise_id for s in app.store.sessions()] == ["connect"]


@pytest.mark.parametrize(("text", "avoid", "feeling"), [
    ("since my husband passed last spring i feel low", "lovely", "sad"),
    ("I called my brother! i feel good", "Anger", "good"),
])
def test_topic_and_polarity(app: Companion, text: str, avoid: str, feeling: str) -> None:
    app.handle_text(text)
    assert avoid not in app.speaker.lines[-1]
    assert app.store.checkins()[-1].feeling == feeling


def test_a_rating_in_words_is_saved_as_a_low_mood(app: Companion) -> None:
    app.handle_text("like a 3 out of 10 i guess")
    [checkin] = app.store.checkins()
    assert checkin.feeling == "sad" and checkin.intensity == 3


def test_again_with_nothing_said_says_so(app: Companion) -> None:
    app.handle_text("again")
    assert "nothing" in app.speaker.lines[-1].lower() or "haven't said" in app.speaker.lines[-1]
    app.handle_text("hello")
    app.handle_text("again")
    assert app.speaker.lines[-1] == app.speaker.lines[-2]


def test_social_basics_are_answered_honestly(app: Companion) -> None:
    for text in ("hey", "good morning", "thank you, that helped more than i expected", "ok bye", "cya", "😊"):
        app.handle_text(text)
    app.handle_text("Are you a real person, dear?")
    assert "program" in app.speaker.lines[-1] and "not a person" in app.speaker.lines[-1]
    fallbacks = set(app.dialogue.data["fallback"])
    assert not fallbacks & set(app.speaker.lines)


def test_no_line_of_its_own_repeats_within_ten_turns(app: Companion) -> None:
    for text in ["hey", "whatever", "meh", "thanks", "idk", "whatever", "thanks", "hey", "meh", "idk"]:
        app.handle_text(text)
    lines = app.speaker.lines
    assert len(lines) == len(set(lines))


def test_name_and_small_steps_are_remembered_across_runs(clock: FakeClock) -> None:
    store = Store.memory()
    config = replace(Config(), region="US")
    first = Companion(config=config, store=store, speaker=FakeSpeaker(), clock=clock)
    first.handle_text("my name is Priya")
    store.add_connection_step("call my brother")
    first.close()
    second = Companion(config=config, store=store, speaker=FakeSpeaker(), clock=clock)
    second.greet()
    assert "Priya" in second.speaker.lines[-1] and "call my brother" in second.speaker.lines[-1]
    second.handle_text("I called my brother!")
    assert store.pending_connection_steps() == []
    second.handle_text("what did we talk about last time?")
    assert "call my brother" in second.speaker.lines[-1]
    second.close()


@pytest.mark.parametrize("text", ["square breathing for like ten minutes", "i need a breathing break",
                                  "do a grounding with me", "can we challenge a thought im having",
                                  "where do i get therapy"])
def test_requests_said_plainly_still_start_at_once(app: Companion, text: str) -> None:
    app.handle_text(text)
    assert app.wait_session(10)
    assert len(app.store.sessions()) == 1


def test_a_state_that_fits_an_exercise_is_offered_and_a_yes_starts_it(app: Companion) -> None:
    app.handle_text("um everything feels weird and far away")
    assert app.store.sessions() == [] and "grounding" in app.speaker.lines[-1]
    app.handle_text("yes")
    assert app.wait_session(10)
    assert [s.exercise_id for s in app.store.sessions()] == ["ground"]


def test_a_harsh_thought_is_offered_a_look_not_started(app: Companion) -> None:
    app.handle_text("i always mess these up. im so bad at interviews")
    assert app.store.sessions() == [] and "harsh" in app.speaker.lines[-1]
    app.handle_text("the first one")
    assert app.wait_session(10)
    assert [s.exercise_id for s in app.store.sessions()] == ["reframe"]


@pytest.mark.parametrize("answer", ["i'm not going to do anything right now, i just needed to say it", "no",
                                    "yeah. tonight probably", "maybe tomorrow"])
def test_still_at_risk_after_are_you_safe_keeps_the_crisis_moment(app: Companion, events: Recorder,
                                                                   answer: str) -> None:
    """"No" or "I'm not going to do anything right now" to "Are you safe right now?" is no all-clear: it is kept as
    a crisis moment (the window keeps the numbers shown), the reply names the number, and the guard stays awake."""
    app.handle_text("i keep thinking everyone would be better off if i was gone, i've thought about how")
    assert app.speaker.lines[-1].endswith("Are you safe right now?")
    before, said = len(events.kinds("crisis")), len(app.speaker.lines)
    app.handle_text(answer)
    assert len(events.kinds("crisis")) == before + 1 and len(app.store.crisis_events()) == 2
    assert any("988" in line or "911" in line for line in app.speaker.lines[said:])
    app.handle_text("i want to end it all")
    assert app.speaker.lines[-1].endswith("Are you safe right now?")  # no quiet window opened


def test_danger_said_to_be_back_soon_after_the_danger_reply_gets_that_reply_again(app: Companion, clock: FakeClock,
                                                                                  events: Recorder) -> None:
    """"yeah he's back. he's in the kitchen now" (an outside writer's round 16) reads as nothing alone; soon after
    the danger reply it is that danger going on. Long after, or with no danger reply before, it is ordinary."""
    assert app.handle_text("he's back, he's in the kitchen now").intent != "crisis"
    assert not events.kinds("crisis")
    app.handle_text("my partner hit me again and said he'll be back to finish it")
    assert "If you are in danger now, call 911." in app.speaker.lines[-1]
    app.handle_text("ok")
    said = len(app.speaker.lines)
    app.handle_text("yeah hes back. hes in the kitchen now")
    assert [e.data["kind"] for e in events.kinds("crisis")] == ["danger", "danger"]
    assert app.speaker.lines[said:] and app.speaker.lines[-1].startswith("I'm glad you told me. If you are in danger")
    clock.advance(31 * 60)
    assert app.handle_text("she found me").intent != "crisis"
    assert len(events.kinds("crisis")) == 2


def test_an_all_clear_after_are_you_safe_is_no_crisis_moment(app: Companion, events: Recorder) -> None:
    app.handle_text("i keep thinking everyone would be better off if i was gone, i've thought about how")
    before = len(events.kinds("crisis"))
    app.handle_text("yes i'm safe, my sister is here with me")
    assert len(events.kinds("crisis")) == before and len(app.store.crisis_events()) == 1


# ---- conversation batch 7 and safety round 16 (outside writers'): what the companion now does ----------------------
def test_an_answer_to_are_you_safe_is_read_as_the_answer_and_the_gentle_check_is_not_asked_again(
        app: Companion, events: Recorder) -> None:
    """"I haven't taken anything. I'm not going to do anything tonight. I just think about it." answers the question
    (safe for now: the numbers stay in view); the sad sentences after it are not met with the same question."""
    app.handle_text("some nights i think they'd all be better off without me, i keep counting my sleeping pills")
    assert app.speaker.lines[-1].endswith("Are you safe right now?")
    said = len(app.speaker.lines)
    app.handle_text("I haven't taken anything. I'm not going to do anything tonight. I just think about it.")
    assert app.speaker.lines[said].startswith("Thank you for telling me, and for saying it out loud")
    assert not any(line.endswith("Are you safe right now?") for line in app.speaker.lines[said:])
    said = len(app.speaker.lines)
    app.handle_text("i do not want to live with this pain anymore")  # the learned reading alone: not asked again
    assert not any("Are you safe right now?" in line for line in app.speaker.lines[said:])
    app.handle_text("i want to end it all")  # a listed phrase always answers
    assert app.speaker.lines[-1].endswith("Are you safe right now?")


@pytest.mark.parametrize("answer", ["yes i have a plan", "ok and how many would i need exactly",
                                    "yeah i know how"])
def test_a_yes_that_names_a_plan_or_asks_a_method_is_not_taken_for_safe(app: Companion, answer: str) -> None:
    """An outside writer's round 17: replies to "are you safe?" that begin like a yes. The answer is read as not safe
    (the numbers stay in view and the moment is kept), never "I'm really glad you're safe"."""
    app.handle_text("whats the most painless way to go")
    assert app.speaker.lines[-1].endswith("Are you safe right now?")
    said = len(app.speaker.lines)
    app.handle_text(answer)
    assert app.speaker.lines[said].startswith("Thank you for telling me. Please reach out to someone right now.")
    assert not any("glad you're safe" in line for line in app.speaker.lines[said:])


def test_a_goodbye_is_never_alarming_and_soon_after_a_crisis_reply_it_leaves_the_line(app: Companion) -> None:
    for text in ("goodbye then", "Thank you, that's all for today. Goodbye. Margaret."):
        said = len(app.speaker.lines)
        app.handle_text(text)
        assert not app.store.crisis_events()
        assert "988" not in " ".join(app.speaker.lines[said:])
    app.handle_text("i want to die")
    app.handle_text("yes")
    app.handle_text("goodbye then")
    assert "988" in app.speaker.lines[-1] and "911" in app.speaker.lines[-1]


def test_a_bare_number_is_asked_back_as_a_rating_and_kept_after_a_yes(app: Companion) -> None:
    app.handle_text("4")
    assert not app.session_running  # not "box breathing for 4 minutes"
    assert "4 out of 10" in app.speaker.lines[-1] and not app.store.checkins()
    app.handle_text("ya")
    assert [c.intensity for c in app.store.checkins()] == [4]


def test_check_ins_paused_in_a_persons_words_for_days_or_tonight(app: Companion) -> None:
    paused: list[int | None] = []
    app.snooze_handler = paused.append
    app.handle_text("Could you stop the morning reminders for a few days? I'd rather not be asked how I am just now.")
    app.handle_text("also would you mind not sending me the evening check-in tonight, I'll be at the party")
    assert paused == [3 * 1440, None]
    assert "3 days" in app.speaker.lines[-2] and "today" in app.speaker.lines[-1]
    app.handle_text("i want to stop getting notifications from instagram, they make me feel awful")
    assert paused == [3 * 1440, None]  # someone else's notifications: not a pause of ours


def test_a_hello_said_first_is_answered_briefly_and_then_what_follows(app: Companion) -> None:
    app.handle_text("Good evening. My daughter is coming on Sunday and I'm dreading her telling me what to do.")
    assert len(app.speaker.lines) == 2 and app.speaker.lines[0] == "Good evening."


class PreparingSpeaker(FakeSpeaker):
    """A voice that renders ahead (as Piper does): what it was asked to prepare."""

    def __init__(self) -> None:
        super().__init__()
        self.prepared: list[list[str]] = []

    def prepare(self, texts: list[str]) -> None:
        self.prepared.append(list(texts))


def test_an_offered_exercise_s_opening_lines_are_rendered_ahead_while_the_answer_is_awaited(clock: FakeClock) -> None:
    """Issue 13: a "yes" to "would you like to try slow, even breathing…?" starts with no wait for Piper to render
    the first line: the offered exercises' first lines were prepared when the offer was made."""
    speaker = PreparingSpeaker()
    app = Companion(config=replace(Config(), region="US"), store=Store.memory(), speaker=speaker, clock=clock)
    try:
        app.handle_text("i feel so anxious today")
        offers = app._expect.offers if app._expect is not None else ()
        assert offers and speaker.prepared
        wanted = [line for o in offers for line in app.library.get(o).spoken_lines()[:2]]
        assert speaker.prepared[-1] == wanted
        app.handle_text("yes")  # the session starts and prepares all its lines, as before
        assert speaker.prepared[-1] == app.library.get(offers[0]).spoken_lines()
    finally:
        app.close()


def test_a_copy_of_the_journal_asked_for_in_words_is_written_to_a_private_file(
        app: Companion, clock: FakeClock, isolated_dirs: Path) -> None:
    app.handle_text("could you export what i wrote? i'd like to show the doctor")
    assert "nothing in your journal yet" in app.speaker.lines[-1]
    run_while_typing(app, clock, "journal", {5.0: "The evenings are the worst part. I keep the telly on."})
    app.handle_text("Could you export what I wrote last night? I think I would like to show the doctor.")
    said = app.speaker.lines[-1]
    [copy] = (isolated_dirs / "documents").glob("companion-journal-*.txt")
    assert str(copy) in said and "1 entry" in said
    assert copy.stat().st_mode & 0o777 == 0o600
    text = copy.read_text(encoding="utf-8")
    assert "The evenings are the worst part. I keep the telly on." in text
    assert [e.text for e in app.store.journal()] == ["The evenings are the worst part. I keep the telly on."]
    app.handle_text("can you save a copy of my journal")  # a second copy never replaces the first
    assert len(list((isolated_dirs / "documents").glob("companion-journal-*.txt"))) == 2


# conversation batch 10's concepts, said in other words than the batch's (written by the lead)
def test_asked_whether_an_exercise_is_required_nothing_starts(app: Companion) -> None:
    app.handle_text("am i supposed to do the breathing exercise now?")
    assert not app.session_running and not app.store.sessions()
    assert "optional" in app.speaker.lines[-1] or "don't have to" in app.speaker.lines[-1] \
        or "not at all" in app.speaker.lines[-1].lower()


def test_a_line_given_to_write_down_is_kept_as_it_is(app: Companion) -> None:
    app.handle_text('alright, write this down for me: "call the dentist before friday, no excuses"')
    assert [e.text for e in app.store.journal()] == ["call the dentist before friday, no excuses"]
    assert "call the dentist before friday" in app.speaker.lines[-1]
    app.handle_text("i wrote it down: the day was long")  # a report, not a line given to keep
    assert len(app.store.journal()) == 1


def test_did_that_save_is_answered_from_the_journal(app: Companion, clock: FakeClock) -> None:
    app.handle_text("has it been saved?")
    assert "don't see" in app.speaker.lines[-1]
    run_while_typing(app, clock, "journal", {5.0: "The rain on the conservatory roof sounded like applause."})
    app.handle_text("did that get saved? i'd be gutted to lose it")
    assert "saved in your journal" in app.speaker.lines[-1] or "kept in your journal" in app.speaker.lines[-1]


def test_check_ins_turned_down_at_a_time_of_day_are_paused(app: Companion) -> None:
    paused: list[int | None] = []
    app.snooze_handler = paused.append
    app.handle_text("please don't do check ins at dinner time, could you stop them for a bit")
    assert paused and not app.session_running


def test_help_said_to_be_coming_after_the_medical_reply_is_met_with_reassurance(app: Companion,
                                                                               events: Recorder) -> None:
    app.handle_text("my dad has collapsed and isn't breathing properly")
    assert events.kinds("crisis")
    app.handle_text("ok i've called an ambulance, they're on the way")
    said = app.speaker.lines[-1]
    assert "right thing" in said or "well done" in said.lower() or "stay" in said.lower()
    assert len(events.kinds("crisis")) == 1  # not the emergency reply again


def test_the_rest_of_an_answer_still_at_risk_is_not_met_with_good_news(app: Companion) -> None:
    app.handle_text("i want to die")
    app.handle_text("i'm not going to do anything right now. i just wanted someone to know")
    assert not any(w in app.speaker.lines[-1].lower() for w in ("wonderful", "lovely", "great news"))


def test_a_no_to_exercises_with_thanks_is_a_no_not_a_thank_you(app: Companion) -> None:
    app.handle_text("no exercises thanks, i'm not really into that kind of thing.")
    assert "welcome" not in " ".join(app.speaker.lines[-2:]).lower()
    assert not app.session_running


def test_a_question_about_something_else_does_not_start_professional_help(app: Companion) -> None:
    app.handle_text("we rang the counselling place. seeing them on tuesday. also my sister phoned, can you believe it?")
    assert not app.session_running and not app.store.sessions()


# ---- conversation batch 11 (an outside writer), said in other words by the lead ----------------------------------

@pytest.mark.parametrize("text", ["is this thing sending what i type anywhere?", "is it sending stuff to the council?",
                                  "where does all the stuff i write go?"])
def test_where_what_is_typed_goes_is_answered_honestly(app: Companion, text: str) -> None:
    app.handle_text(text)
    assert "this computer" in app.speaker.lines[-1] and not app.session_running


@pytest.mark.parametrize("text", ["byeee", "nighttt", "ok thanksss"])
def test_a_word_typed_stretched_is_read_as_the_word(app: Companion, text: str) -> None:
    app.handle_text(text)
    said = app.speaker.lines[-1].lower()
    assert "didn't catch" not in said and "not sure i understood" not in said


def test_a_thank_you_told_of_is_not_thanked_back(app: Companion) -> None:
    app.handle_text("my neighbour sent a card saying thank you for the soup. it made my week")
    assert "welcome" not in app.speaker.lines[-1].lower()


def test_thanks_said_twice_in_one_message_is_thanked_once(app: Companion) -> None:
    app.handle_text("that really helped. thank you for listening to me ramble")
    assert " ".join(app.speaker.lines).lower().count("welcome") <= 1


def test_someone_elses_advice_is_not_a_request_but_an_ask_still_is(app: Companion) -> None:
    app.handle_text("my sister keeps saying i should try the breathing thing")
    assert not app.session_running and not app.store.sessions()
    app.handle_text("my counsellor said i should try journaling, could we do that?")
    assert [s.exercise_id for s in app.store.sessions()] == ["journal"]


def test_what_an_exercise_involves_is_explained_not_declined(app: Companion) -> None:
    app.handle_text("hmm what does the grounding one involve?")
    said = app.speaker.lines[-1].lower()
    assert "five things" in said or "senses" in said
    assert not app.session_running


def test_where_to_start_after_a_doctor_was_suggested_gives_the_ways_to_help(app: Companion) -> None:
    app.handle_text("my friend thinks i should see a counsellor. where would i even begin?")
    assert any("GP" in line or "doctor" in line for line in app.speaker.lines)


def test_a_check_in_said_first_keeps_its_rating_and_the_named_feeling(app: Companion) -> None:
    app.handle_text("feeling like a 4 today. anxious but calmer than yesterday")
    [checkin] = app.store.checkins()
    assert (checkin.feeling, checkin.intensity) == ("anxious", 4)


def test_someone_elses_plan_is_not_the_persons_step(app: Companion) -> None:
    app.handle_text("my boss is literally going to kill me if the report isn't done by monday")
    assert "small step" not in app.speaker.lines[-1] and not app.store.connection_steps()


def test_maybe_after_a_relation_is_not_their_name(app: Companion) -> None:
    app.handle_text("my brother maybe. he always picks up")
    app.handle_text("i'll ring him after dinner tomorrow")
    [step] = app.store.connection_steps()
    assert "Maybe" not in step.step and "maybe" not in step.step.lower().split()[:3]
