"""The shipped exercises: all load, the breathing patterns have the right seconds, and each one runs."""

from __future__ import annotations

import random

import pytest
from fakes import FakeSpeaker

from companion.core.clock import FakeClock
from companion.core.events import Event, EventBus
from companion.core.exercises import (
    AskStep,
    BreatheStep,
    Exercise,
    ExerciseLibrary,
    RecordStep,
    SayStep,
    builtin_files,
    load_library,
    parse_exercise,
)
from companion.core.intent import PATTERNS
from companion.core.session import Session, SessionOptions, SessionResult

EXPECTED_IDS = {"box", "4-7-8", "coherent", "sigh", "ground", "compassion", "reframe", "journal", "connect",
                "professional_help"}
PATTERN_SECONDS = {
    "box": [("inhale", 4), ("hold", 4), ("exhale", 4), ("hold", 4)],
    "4-7-8": [("inhale", 4), ("hold", 7), ("exhale", 8)],
    "coherent": [("inhale", 5.45), ("exhale", 5.45)],
}


@pytest.fixture(scope="module")
def library() -> ExerciseLibrary:
    return load_library()


Answers = dict[float, tuple[str, str | None]]


def run(ex: Exercise, options: SessionOptions | None = None,
        answers: Answers | None = None) -> tuple[SessionResult, list[Event]]:
    clock = FakeClock()
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    session = Session(ex, clock=clock, bus=bus, speaker=FakeSpeaker(clock, 2.0),
                      options=options or SessionOptions(), rng=random.Random(7))
    for t, (text, intent) in (answers or {}).items():
        clock.at(t, lambda text=text, intent=intent: session.answer(text, intent))
    return session.run(), events


def texts(ex: Exercise) -> list[str]:
    out: list[str] = []
    for step in ex.steps:
        if isinstance(step, SayStep | AskStep):
            out += step.text
        elif isinstance(step, BreatheStep):
            for p in step.phases:
                out += p.cue + p.first_cue
    return out


def test_every_builtin_loads_and_the_ids_are_exact(library):
    assert set(library.ids()) == EXPECTED_IDS
    assert library.problems == []
    for name, raw in builtin_files():
        ex = parse_exercise(raw, name, builtin=True)
        assert f"{ex.id}.toml" == name  # one file per exercise, named for its id
    assert set(library.breathing_ids()) == set(PATTERNS)


@pytest.mark.parametrize("pattern", sorted(PATTERN_SECONDS))
def test_breathing_pattern_seconds(library, pattern):
    (step,) = library.get(pattern).breathe_steps
    assert [(p.name, p.seconds) for p in step.phases] == PATTERN_SECONDS[pattern]


def test_coherent_is_about_five_and_a_half_breaths_a_minute(library):
    (step,) = library.get("coherent").breathe_steps
    assert 60 / step.cycle_seconds == pytest.approx(5.5, abs=0.01)


def test_sigh_is_inhale_top_up_then_a_long_exhale(library):
    (step,) = library.get("sigh").breathe_steps
    names = [p.name for p in step.phases]
    assert names[:3] == ["inhale", "inhale", "exhale"]
    inhale, top_up, exhale = step.phases[:3]
    assert top_up.seconds < inhale.seconds
    assert exhale.seconds >= 2 * (inhale.seconds + top_up.seconds) - 1  # the out-breath is the long part
    assert set(names) <= {"inhale", "hold", "exhale", "rest"}


@pytest.mark.parametrize("pattern", PATTERNS)
def test_breathing_patterns_have_defaults_intro_close_and_varied_cues(library, pattern):
    ex = library.get(pattern)
    (step,) = ex.breathe_steps
    assert (step.cycles is None) != (step.minutes is None)
    assert isinstance(ex.steps[0], SayStep) and isinstance(ex.steps[-1], SayStep)
    for phase in step.phases:
        assert len(phase.cue) >= 2, f"{pattern} {phase.name}: give the recurring cue some variants"


@pytest.mark.parametrize("exercise_id", sorted(EXPECTED_IDS))
def test_no_empty_text_and_real_descriptions(library, exercise_id):
    ex = library.get(exercise_id)
    assert ex.title.strip() and ex.description.strip()
    for text in texts(ex):
        assert text.strip() and len(text) < 600
    for step in ex.steps:
        if isinstance(step, SayStep | AskStep) and len(step.text) == 1:
            pytest.fail(f"{exercise_id}: give every line at least two variants")


@pytest.mark.parametrize("exercise_id", sorted(EXPECTED_IDS))
def test_every_builtin_runs_to_the_end_in_silence(library, exercise_id):
    """Nobody answers: every question times out gently and the session still finishes."""
    result, events = run(library.get(exercise_id))
    assert result.completed and result.reason == "finished"
    assert events[0].kind == "start" and events[-1].kind == "end"
    assert all(e.data["text"].strip() and "{" not in e.data["text"] for e in events if e.kind == "say")
    assert result.records == ()


@pytest.mark.parametrize(("pattern", "phases"), [("box", 4), ("4-7-8", 3), ("coherent", 2), ("sigh", 3)])
def test_breathing_patterns_run_in_cycles_and_minutes(library, pattern, phases):
    _, events = run(library.get(pattern), SessionOptions(cycles=3))
    ph = [e for e in events if e.kind == "phase"]
    assert len(ph) == 3 * phases and ph[-1].data["cycle"] == 3
    assert all(e.t == pytest.approx(e.planned) for e in ph)
    _, events = run(library.get(pattern), SessionOptions(minutes=2))
    ph = [e for e in events if e.kind == "phase"]
    breathing_time = ph[-1].planned + ph[-1].data["seconds"] - ph[0].planned
    cycle = sum(e.data["seconds"] for e in ph[:phases])
    assert abs(breathing_time - 120) <= cycle / 2 + 1e-6


def test_ground_waits_at_each_sense(library):
    answers: Answers = {20.0: ("the window, a lamp", None), 25.0: ("next", "next")}
    result, events = run(library.get("ground"), answers=answers)
    listens = [e for e in events if e.kind == "listen"]
    assert len(listens) == 5 and all(e.data["mode"] == "open" for e in listens)
    assert [e.data["text"] for e in events if e.kind == "heard"] == ["the window, a lamp", "next"]
    assert result.completed


def test_journal_records_the_answer_with_its_prompt(library):
    ex = library.get("journal")
    (ask,) = [s for s in ex.steps if isinstance(s, AskStep)]
    assert len(ask.text) >= 5  # one of several prompts
    result, _ = run(ex, answers={30.0: ("I walked to the shop and it was okay", None)})
    (record,) = result.records
    assert record["kind"] == "journal" and record["text"] == "I walked to the shop and it was okay"
    assert record["prompt"] in ask.text


def test_connect_records_the_chosen_step(library):
    result, events = run(library.get("connect"), answers={40.0: ("text my cousin Sam", None)})
    (record,) = result.records
    assert record["kind"] == "connection_step" and record["text"] == "text my cousin Sam"
    assert any("text my cousin Sam" in e.data["text"] for e in events if e.kind == "say")


def test_connect_no_thanks_records_nothing(library):
    result, _ = run(library.get("connect"), answers={40.0: ("no, not today", "no")})
    assert result.completed and result.records == ()


def test_reframe_asks_for_the_thought_when_none_was_given(library):
    answers = {t: ("nobody wants to hear from me", None) for t in (25.0,)}
    answers.update({t: ("some people are glad when I call", None) for t in (70.0, 140.0)})
    result, events = run(library.get("reframe"), answers=answers)
    heard = [e.data["text"] for e in events if e.kind == "heard"]
    assert heard[0] == "nobody wants to hear from me"
    (record,) = result.records
    assert record["kind"] == "reframe" and record["thought"] == "nobody wants to hear from me"
    assert record["text"] == "some people are glad when I call"


def test_reframe_records_a_kinder_sentence_only(library):
    ex = library.get("reframe")
    records = [s for s in ex.steps if isinstance(s, RecordStep)]
    assert [r.kind for r in records] == ["reframe"]


def test_compassion_has_its_three_parts(library):
    lines = " ".join(texts(library.get("compassion"))).lower()
    for part in ("moment of suffering", "part of being human", "may i be kind to myself"):
        assert part in lines


def test_professional_help_says_it_is_not_therapy(library):
    ex = library.get("professional_help")
    assert ex.kind == "info"
    first = ex.steps[0]
    assert isinstance(first, SayStep)
    assert all("not a therapist" in t or "not therapy" in t for t in first.text)
