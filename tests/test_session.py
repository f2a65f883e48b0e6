"""The session timeline under a fake clock: pacing, absolute deadlines, controls, questions and records."""

from __future__ import annotations

import random
import threading
from itertools import pairwise
from pathlib import Path

import pytest
from fakes import FakeSpeaker

from companion.core.clock import FakeClock, RealClock
from companion.core.events import Event, EventBus
from companion.core.exercises import Exercise, load_library, parse_exercise
from companion.core.session import LEAD_IN_WAIT, MAX_PAUSE_SECONDS, AskSpec, Session, SessionOptions, SessionResult

BREATHE_2 = """
id = "two"
title = "Two phases"
kind = "breathing"
[[steps]]
type = "say"
text = "Let's begin."
[[steps]]
type = "breathe"
cycles = 3
[[steps.phases]]
name = "inhale"
seconds = 4
cue = ["In", "Breathe in"]
[[steps.phases]]
name = "exhale"
seconds = 6
cue = "Out"
[[steps]]
type = "say"
text = "Done."
"""

ASK = """
id = "asker"
title = "Asker"
kind = "journal"
[[steps]]
type = "ask"
text = "Shall we go on?"
expect = ["yes", "no"]
timeout = 10
branches = { no = "bye", timeout = "quiet" }
[[steps]]
type = "say"
text = "Good, going on."
[[steps]]
type = "ask"
text = "What is on your mind?"
timeout = 30
save_as = "mind"
[[steps]]
type = "record"
kind = "journal"
text = "{answer}"
prompt = "{prompt}"
[[steps]]
type = "say"
when = "mind"
text = "You said {mind}."
[[steps]]
type = "goto"
to = "end"
[[steps]]
type = "say"
label = "quiet"
text = "That's okay."
[[steps]]
type = "say"
label = "bye"
text = "Bye for now."
"""


def make(text: str, name: str = "x.toml") -> Exercise:
    return parse_exercise(text, Path(name))


class Run:
    """A session under a FakeClock with a FakeSpeaker, collecting every event."""

    def __init__(self, exercise: Exercise, options: SessionOptions | None = None, *, clock=None,
                 seconds_per_line: float = 0.0) -> None:
        self.clock = clock or FakeClock()
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.speaker = FakeSpeaker(self.clock, seconds_per_line)
        self.session = Session(exercise, clock=self.clock, bus=self.bus, speaker=self.speaker,
                               options=options or SessionOptions(), rng=random.Random(1))

    def at(self, t: float, fn) -> None:
        self.clock.at(t, fn)

    def run(self) -> SessionResult:
        return self.session.run()

    def kinds(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def phases(self) -> list[tuple[str, int, float, float, float | None]]:
        return [(e.data["name"], e.data["cycle"], e.data["seconds"], e.t, e.planned)
                for e in self.kinds("phase")]


# ------------------------------------------------------------------------------------------ options


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"minutes": 0}, "minutes"), ({"minutes": 121}, "minutes"), ({"minutes": -1}, "minutes"),
    ({"cycles": 0}, "cycles"), ({"cycles": 501}, "cycles"), ({"cycles": 2.5}, "cycles"),
    ({"minutes": 1, "cycles": 2}, "either"), ({"pace": 0}, "pace"), ({"pace": 5}, "pace"),
])
def test_options_are_validated_with_clear_messages(kwargs, words):
    with pytest.raises(ValueError, match=words):
        SessionOptions(**kwargs)


def test_options_accept_the_edges():
    assert SessionOptions(minutes=120).minutes == 120
    assert SessionOptions(cycles=500).cycles == 500
    assert SessionOptions(minutes=0.5).minutes == 0.5


# ------------------------------------------------------------------------------------------ pacing


def test_phases_follow_the_pattern_on_absolute_deadlines():
    r = Run(make(BREATHE_2))
    result = r.run()
    assert result.completed and result.reason == "finished"
    assert r.phases() == [
        ("inhale", 1, 4.0, 0.0, 0.0), ("exhale", 1, 6.0, 4.0, 4.0),
        ("inhale", 2, 4.0, 10.0, 10.0), ("exhale", 2, 6.0, 14.0, 14.0),
        ("inhale", 3, 4.0, 20.0, 20.0), ("exhale", 3, 6.0, 24.0, 24.0),
    ]
    kinds = [e.kind for e in r.events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert r.events[-1].data == {"completed": True, "reason": "finished"}
    # the close is said when the last exhale is over
    assert r.kinds("say")[-1].data["text"] == "Done." and r.kinds("say")[-1].t == 30.0
    assert result.duration == 30.0


def test_cycles_option_overrides_the_default():
    r = Run(make(BREATHE_2), SessionOptions(cycles=5))
    r.run()
    assert [p[1] for p in r.phases()] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_minutes_option_runs_whole_cycles_nearest_the_length():
    r = Run(make(BREATHE_2), SessionOptions(minutes=1))  # 60 s of 10 s cycles
    r.run()
    assert max(p[1] for p in r.phases()) == 6
    r = Run(make(BREATHE_2), SessionOptions(minutes=0.75))  # 45 s → 4.5 cycles → 5 (round half up)
    r.run()
    assert max(p[1] for p in r.phases()) == 5
    r = Run(make(BREATHE_2), SessionOptions(minutes=0.1))  # always at least one cycle
    r.run()
    assert max(p[1] for p in r.phases()) == 1


def test_slow_speech_never_shifts_phase_starts():
    """A voice taking 5 s per line: the intro delays the start, but every phase starts exactly on time."""
    r = Run(make(BREATHE_2.replace('"Let\'s begin."', '"Done."')), seconds_per_line=5.0)
    r.run()
    fixed, per_word = LEAD_IN_WAIT
    t0 = fixed + per_word  # a one-word intro is waited for this long at most, then breathing starts
    assert [p[3] for p in r.phases()] == pytest.approx([t0 + d for d in (0, 4, 10, 14, 20, 24)])
    assert [p[4] for p in r.phases()] == pytest.approx([t0 + d for d in (0, 4, 10, 14, 20, 24)])
    # an inhale cue (5 s) still plays when its 4 s phase ends: it is cut first, so audio never lags;
    # an exhale cue fits in its 6 s and is left alone; the unfinished intro is cut by the first cue
    assert r.speaker.stops == pytest.approx([t0, t0 + 4, t0 + 14, t0 + 24])


def test_a_slow_voice_never_holds_back_the_first_breath_but_other_lines_are_waited_for():
    """The line leading into breathing is waited for at most LEAD_IN_WAIT (the window shows it; the first cue cuts
    what is left); a line followed by another line, or by the end, is waited for whole."""
    r = Run(make(BREATHE_2), SessionOptions(cycles=1), seconds_per_line=6.0)
    r.run()
    fixed, per_word = LEAD_IN_WAIT
    first = r.phases()[0][3]
    assert first == pytest.approx(fixed + 2 * per_word) and first < 2.0
    assert r.speaker.utterances[0].cut and r.speaker.stops[0] == pytest.approx(first)
    spoken_whole = Run(make(BREATHE_2.replace('type = "breathe"', 'type = "say"\ntext = "Then this."\n'
                                              '[[steps]]\ntype = "breathe"', 1)), SessionOptions(cycles=1),
                       seconds_per_line=6.0)
    spoken_whole.run()
    assert spoken_whole.phases()[0][3] == pytest.approx(6.0 + fixed + 2 * per_word)  # the first line whole
    assert not spoken_whole.speaker.utterances[0].cut


def test_cues_are_said_at_phase_start_with_variants():
    r = Run(make(BREATHE_2))
    r.run()
    says = [(e.data["text"], e.planned) for e in r.kinds("say")]
    cues = says[1:-1]
    assert [c[1] for c in cues] == [0.0, 4.0, 10.0, 14.0, 20.0, 24.0]
    inhale_cues = [c[0] for c in cues[::2]]
    assert set(inhale_cues) <= {"In", "Breathe in"}
    assert all(a != b for a, b in pairwise(inhale_cues))  # never twice in a row
    assert r.speaker.lines == [t for t, _ in says]


def test_faster_and_slower_apply_from_the_next_phase():
    r = Run(make(BREATHE_2), SessionOptions(cycles=3))
    r.at(5.0, r.session.faster)  # during exhale 1 (4..10): it keeps its 6 s
    r.at(12.0, r.session.slower)  # during inhale 2 (10..13.4783)
    r.run()
    ph = r.phases()
    assert ph[1][2:4] == (6.0, 4.0)
    assert ph[2][3] == 10.0 and ph[2][2] == pytest.approx(4 / 1.15, abs=1e-3)
    assert ph[3][3] == pytest.approx(10 + 4 / 1.15)
    assert ph[3][2] == pytest.approx(6.0)  # back to the written pace
    assert all(p[3] == pytest.approx(p[4]) for p in ph)


def test_pace_is_clamped():
    r = Run(make(BREATHE_2), SessionOptions(cycles=1))
    for _ in range(20):
        r.session.faster()
    assert r.session.pace == 2.0
    for _ in range(40):
        r.session.slower()
    assert r.session.pace == 0.5


def test_pause_shifts_the_remaining_timeline():
    r = Run(make(BREATHE_2), SessionOptions(cycles=2))
    r.at(5.0, r.session.pause)  # 1 s into exhale 1
    r.at(5.5, lambda: r.events.append(Event("probe", 5.5, None, {"paused": r.session.paused})))
    r.at(12.0, r.session.resume)  # paused for 7 s
    result = r.run()
    assert result.completed
    assert [(p[3], p[4]) for p in r.phases()] == [(0.0, 0.0), (4.0, 4.0), (17.0, 17.0), (21.0, 21.0)]
    pause, resume = r.kinds("pause")[0], r.kinds("resume")[0]
    assert (pause.t, resume.t) == (5.0, 12.0)
    assert r.kinds("probe")[0].data == {"paused": True}
    assert 5.0 in r.speaker.stops  # pausing silences the voice
    assert result.duration == 27.0
    assert not r.session.paused


def test_stop_at_an_exact_time():
    r = Run(make(BREATHE_2), SessionOptions(cycles=10))
    r.at(12.5, r.session.stop)
    result = r.run()
    assert (result.completed, result.reason, result.duration) == (False, "stopped", 12.5)
    assert r.events[-1].kind == "end" and r.events[-1].t == 12.5
    assert r.events[-1].data == {"completed": False, "reason": "stopped"}
    assert len(r.phases()) == 3
    assert r.speaker.stops[-1] == 12.5
    assert not r.session.running


def test_stop_while_speaking_a_line():
    r = Run(make(BREATHE_2), seconds_per_line=8.0)
    r.at(1.0, r.session.stop)
    result = r.run()
    assert (result.reason, result.duration) == ("stopped", 1.0)
    assert r.speaker.utterances[0].cut
    assert r.phases() == []


def test_stop_before_run_ends_at_once():
    r = Run(make(BREATHE_2))
    r.session.stop("crisis")
    result = r.run()
    assert (result.completed, result.reason) == (False, "crisis")
    assert [e.kind for e in r.events] == ["start", "end"]


def test_repeat_resays_the_last_cue():
    r = Run(make(BREATHE_2), SessionOptions(cycles=1))
    r.at(5.0, r.session.repeat)
    r.run()
    says = [(e.data["text"], e.t) for e in r.kinds("say")]
    assert ("Out", 5.0) in says and ("Out", 4.0) in says
    assert [p[3] for p in r.phases()] == [0.0, 4.0]  # the timeline did not move


def test_repeat_during_a_say_step_says_it_again():
    r = Run(make(BREATHE_2), SessionOptions(cycles=1), seconds_per_line=1.2)
    r.at(1.0, r.session.repeat)
    r.run()
    assert r.speaker.lines[:2] == ["Let's begin.", "Let's begin."]
    assert r.phases()[0][3] == 2.2  # second say started at 1 and took 1.2 s


def test_a_session_runs_once():
    r = Run(make(BREATHE_2), SessionOptions(cycles=1))
    r.run()
    with pytest.raises(RuntimeError, match="once"):
        r.session.run()


# ------------------------------------------------------------------------------------------ questions


def test_answer_takes_its_branch_and_is_recorded():
    r = Run(make(ASK))
    assert r.session.answer("hello") is False  # nothing asked yet
    seen: list[AskSpec | None] = []

    def reply_yes() -> None:
        seen.append(r.session.awaiting)
        assert r.session.answer("yes please", "yes")

    r.at(3.0, reply_yes)
    r.at(10.0, lambda: r.session.answer("my sister is visiting", "unknown"))
    result = r.run()
    assert seen[0] == AskSpec(mode="command", expecting=frozenset({"yes", "no", "next"}), timeout=10.0)
    assert result.completed
    assert r.speaker.lines == ["Shall we go on?", "Good, going on.", "What is on your mind?",
                               "You said my sister is visiting."]
    heard = [(e.data["text"], e.data["intent"], e.t) for e in r.kinds("heard")]
    assert heard == [("yes please", "yes", 3.0), ("my sister is visiting", "unknown", 10.0)]
    listens = [(e.data, e.t) for e in r.kinds("listen")]
    assert listens == [({"timeout": 10.0, "mode": "command"}, 0.0), ({"timeout": 30.0, "mode": "open"}, 3.0)]
    assert result.records == ({"kind": "journal", "text": "my sister is visiting",
                               "prompt": "What is on your mind?", "exercise": "asker"},)
    assert r.kinds("record")[0].data["kind"] == "journal"
    assert r.session.awaiting is None


def test_no_branch():
    r = Run(make(ASK))
    r.at(1.0, lambda: r.session.answer("no thanks", "no"))
    result = r.run()
    assert r.speaker.lines == ["Shall we go on?", "Bye for now."]
    assert result.completed and result.records == ()


def test_timeout_takes_the_timeout_branch():
    r = Run(make(ASK))
    result = r.run()
    assert r.speaker.lines == ["Shall we go on?", "That's okay.", "Bye for now."]
    assert r.kinds("say")[1].t == 10.0
    assert result.completed


def test_timeout_without_a_branch_moves_on_and_records_nothing():
    r = Run(make(ASK))
    r.at(1.0, lambda: r.session.answer("yes", "yes"))
    result = r.run()
    assert r.speaker.lines == ["Shall we go on?", "Good, going on.", "What is on your mind?"]
    assert result.records == () and result.duration == 31.0


def test_next_skips_a_question():
    r = Run(make(ASK))
    r.at(1.0, lambda: r.session.answer("yes", "yes"))
    r.at(2.0, lambda: r.session.answer("next", "next"))
    result = r.run()
    assert result.records == () and result.duration == 2.0


def test_stop_as_an_answer_stops_and_crisis_ends_with_crisis():
    r = Run(make(ASK))
    r.at(1.0, lambda: r.session.answer("stop", "stop"))
    assert r.run().reason == "stopped"
    r = Run(make(ASK))
    r.at(1.0, lambda: r.session.answer("I want to die", "crisis"))
    result = r.run()
    assert (result.completed, result.reason) == (False, "crisis")
    assert r.kinds("heard") == []  # no transcript kept for a crisis


def test_answer_over_the_question_cuts_it():
    r = Run(make(ASK), seconds_per_line=4.0)
    r.at(1.0, lambda: r.session.answer("yes", "yes"))
    r.run()
    assert r.speaker.utterances[0].cut
    assert r.kinds("heard")[0].t == 1.0
    assert r.kinds("listen")[0].data["mode"] == "open"  # the first question never got to listen


def test_repeat_in_a_question_reasks_and_restarts_the_timeout():
    r = Run(make(ASK))
    r.at(6.0, lambda: r.session.answer("again", "repeat"))
    r.run()
    assert r.speaker.lines[:2] == ["Shall we go on?", "Shall we go on?"]
    assert [e.t for e in r.kinds("listen")][:2] == [0.0, 6.0]
    assert r.kinds("say")[2].data["text"] == "That's okay." and r.kinds("say")[2].t == 16.0


def test_pause_during_a_question_extends_its_timeout():
    r = Run(make(ASK))
    r.at(2.0, r.session.pause)
    r.at(50.0, r.session.resume)
    r.run()
    assert r.kinds("say")[2].data["text"] == "That's okay."
    assert r.kinds("say")[1].t == 50.0  # asked again on resume, with a fresh timeout
    assert r.kinds("say")[2].t == 60.0


def test_answering_while_paused_resumes():
    r = Run(make(ASK))
    r.at(2.0, r.session.pause)
    r.at(3.0, lambda: r.session.answer("no", "no"))
    r.run()
    assert r.speaker.lines[-1] == "Bye for now."
    assert [e.kind for e in r.events if e.kind in ("pause", "resume")] == ["pause", "resume"]


def test_reframe_starts_from_the_persons_own_sentence():
    ex = load_library().get("reframe")
    r = Run(ex, SessionOptions(thought="nobody wants to hear from me"))
    asked: list[str] = []

    def answer_when_asked() -> None:
        spec = r.session.awaiting
        if spec is not None:
            asked.append(r.kinds("say")[-1].data["text"])
            r.session.answer("some people do like hearing from me", None)

    for t in range(1, 400, 5):
        r.at(float(t), answer_when_asked)
    result = r.run()
    assert result.completed
    assert "nobody wants to hear from me" in r.kinds("say")[1].data["text"]
    assert len(asked) == 2  # the friend question and the kinder sentence; the thought was not asked for
    assert result.records == ({"kind": "reframe", "text": "some people do like hearing from me",
                               "thought": "nobody wants to hear from me", "exercise": "reframe"},)


# ------------------------------------------------------------------------------------------ real clock


def test_runs_for_real_on_the_real_clock():
    """A tiny exercise on RealClock with a real thread: order and structure only, no timing thresholds."""
    ex = make("""
id = "tiny"
title = "Tiny"
kind = "breathing"
[[steps]]
type = "say"
text = "Hi."
[[steps]]
type = "breathe"
cycles = 2
[[steps.phases]]
name = "inhale"
seconds = 0.05
cue = "In"
[[steps.phases]]
name = "exhale"
seconds = 0.05
cue = "Out"
[[steps]]
type = "ask"
text = "Okay?"
expect = ["yes"]
timeout = 5
[[steps]]
type = "record"
kind = "journal"
text = "{answer}"
""")
    clock = RealClock()
    bus = EventBus()
    events: list[Event] = []
    asked = threading.Event()

    def listen(e: Event) -> None:
        events.append(e)
        if e.kind == "listen":
            asked.set()

    bus.subscribe(listen)
    session = Session(ex, clock=clock, bus=bus, speaker=FakeSpeaker(clock, 0.01), options=SessionOptions())
    results: list[SessionResult] = []
    thread = threading.Thread(target=lambda: results.append(session.run()))
    thread.start()
    assert asked.wait(10)
    assert session.answer("yes", "yes")
    thread.join(10)
    assert not thread.is_alive()
    breathing = ["phase", "say"] * 4
    assert [e.kind for e in events] == ["start", "say", *breathing, "say", "listen", "heard", "record", "end"]
    phases = [e for e in events if e.kind == "phase"]
    assert [p.data["name"] for p in phases] == ["inhale", "exhale", "inhale", "exhale"]
    assert all(p.t >= p.planned for p in phases)
    assert [p.planned for p in phases] == sorted(p.planned for p in phases)
    assert results[0].completed and results[0].records[0]["text"] == "yes"


def test_stop_from_another_thread_on_the_real_clock():
    ex = make(BREATHE_2.replace("seconds = 4", "seconds = 30"))
    clock = RealClock()
    bus = EventBus()
    started = threading.Event()
    bus.subscribe(lambda e: started.set() if e.kind == "phase" else None)
    speaker = FakeSpeaker(clock)
    session = Session(ex, clock=clock, bus=bus, speaker=speaker, options=SessionOptions())
    results: list[SessionResult] = []
    thread = threading.Thread(target=lambda: results.append(session.run()))
    thread.start()
    assert started.wait(10)
    assert session.running
    session.stop()
    thread.join(10)
    assert results[0].reason == "stopped" and not results[0].completed
    assert speaker.stops and not speaker.speaking


def test_pause_during_a_line_says_it_again_after_resume():
    r = Run(make(BREATHE_2), SessionOptions(cycles=1), seconds_per_line=1.2)
    r.at(1.0, r.session.pause)
    r.at(10.0, r.session.resume)
    r.run()
    says = [(e.data["text"], e.t) for e in r.kinds("say")]
    assert says[:2] == [("Let's begin.", 0.0), ("Let's begin.", 10.0)]
    assert r.speaker.utterances[0].cut
    assert r.phases()[0][3:] == (11.2, 11.2)


def test_nothing_is_said_while_paused():
    ex = make("""
id = "quiet"
title = "Quiet"
kind = "info"
[[steps]]
type = "say"
text = "One."
[[steps]]
type = "pause"
seconds = 5
[[steps]]
type = "say"
text = "Two."
""")
    r = Run(ex)
    r.at(2.0, r.session.pause)
    r.at(3.0, r.session.repeat)  # ignored while paused
    r.at(20.0, r.session.resume)
    result = r.run()
    assert [(e.data["text"], e.t) for e in r.kinds("say")] == [("One.", 0.0), ("Two.", 23.0)]
    assert result.duration == 23.0


def test_controls_after_the_end_do_nothing():
    r = Run(make(BREATHE_2), SessionOptions(cycles=1))
    r.run()
    calls = len(r.speaker.calls)
    r.session.stop()
    r.session.pause()
    r.session.repeat()
    assert len(r.speaker.calls) == calls  # the voice may be busy with something else by now
    assert not r.session.paused and r.session.answer("yes", "yes") is False


def test_a_session_left_paused_ends_after_the_limit():
    r = Run(make(BREATHE_2), SessionOptions(cycles=2))
    r.at(1.0, r.session.pause)
    result = r.run()
    assert (result.completed, result.reason) == (False, "stopped")
    assert result.duration == 1.0 + MAX_PAUSE_SECONDS


def test_a_goto_loop_without_waiting_ends_with_error():
    ex = make("""
id = "loop"
title = "Loop"
kind = "info"
[[steps]]
type = "record"
label = "again"
kind = "note"
text = "{answer}"
[[steps]]
type = "goto"
to = "again"
""")
    r = Run(ex)
    result = r.run()
    assert (result.completed, result.reason) == (False, "error")
    assert r.events[-1].data == {"completed": False, "reason": "error"}


def test_a_failing_voice_ends_with_error_not_a_crash():
    class BrokenSpeaker(FakeSpeaker):
        def say(self, text: str):
            raise OSError("no audio device")

    r = Run(make(BREATHE_2))
    r.session = Session(make(BREATHE_2), clock=r.clock, bus=r.bus, speaker=BrokenSpeaker(r.clock),
                        options=SessionOptions())
    result = r.run()
    assert (result.completed, result.reason) == (False, "error")
    assert [e.kind for e in r.events][-1] == "end"
