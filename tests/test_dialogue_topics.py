"""Two topics found by the outside batch5 (docs/benchmarks/conversation.md): having to tell someone close hard news,
and the company that went with a person or a change. Read by concept, never for good news or a plain past habit.
The Companion as the front ends drive it, with a fake voice and a real store, router and replies."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import FakeSpeaker
from test_dialogue_steps import _said

from companion.app import Companion
from companion.core.clock import FakeClock
from companion.core.config import Config
from companion.core.store import Store


@pytest.fixture
def app() -> Companion:
    companion = Companion(config=replace(Config(), region="US"), store=Store.memory(), speaker=FakeSpeaker(),
                          clock=FakeClock())
    yield companion
    companion.close()


def test_telling_someone_hard_news_is_met_with_courage_and_not_kept_as_a_plan(app: Companion) -> None:
    reply = _said(app, "i'm going to break it to my mum on sunday that i failed the resit")
    assert "courage" in reply.lower() or "brave" in reply.lower(), reply
    assert app.store.connection_steps() == [] and app.expecting_answer is False


def test_telling_after_good_news_is_not_read_as_hard_news(app: Companion) -> None:
    _said(app, "we just got engaged!!")
    reply = _said(app, "gonna tell my dad tonight")
    assert not any(w in reply.lower() for w in ("courage", "brave", "hard")), reply


def test_a_lost_circle_of_people_is_saved_as_lonely_not_numb(app: Companion) -> None:
    reply = _said(app, "Since Tom died I don't go to the club anymore. I feel nothing about it.")
    assert any(w in reply.lower() for w in ("people", "company", "connection")), reply
    assert app.store.checkins() and app.store.checkins()[-1].feeling == "lonely"


@pytest.mark.parametrize("text", ["i used to go running", "we used to go to the same school",
                                  "since the divorce i have started going to a pottery class and love it"])
def test_a_plain_past_habit_is_not_a_lost_circle(app: Companion, text: str) -> None:
    assert app.dialogue.read(text).topic != "company_lost"
