"""Two topics found by the outside batch5 (docs/benchmarks/conversation.md): having to tell someone close hard news,
and the company that went with a person or a change. Read by concept, never for good news or a plain past habit.
The Companion as the front ends drive it, with a fake voice and a real store, router and replies."""

from __future__ import annotations

import re
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


# ---- found by the outside batch6: questions about where things go, the app itself, and topics read by concept ----
@pytest.mark.parametrize("text", ["does any of this get sent somewhere?", "could my son read what i write here?",
                                  "where does all my stuff go?", "i don't want my husband seeing this"])
def test_where_things_go_and_who_can_read_them_is_answered_honestly(app: Companion, text: str) -> None:
    reply = _said(app, text).lower()
    assert "computer" in reply and "sorry" not in reply, reply
    assert app.session_running is False and app.store.checkins() == []


@pytest.mark.parametrize("text", ["can you remove the sad bit", "please delete my last entry", "erase that please"])
def test_deleting_part_is_answered_honestly_with_how_to_delete(app: Companion, text: str) -> None:
    reply = _said(app, text).lower()
    assert "forget --all" in reply and "confirm" in reply, reply


@pytest.mark.parametrize("text", ["what even are you? some kind of chatbot?", "so what exactly is this",
                                  "are you some sort of therapist"])
def test_what_the_app_is_is_answered_and_nothing_starts(app: Companion, text: str) -> None:
    reply = _said(app, text).lower()
    assert "program" in reply and app.session_running is False, reply


@pytest.mark.parametrize("text", ["morning. or is it night. whatever", "afternoon or evening i guess"])
def test_times_of_day_said_together_are_a_hello(app: Companion, text: str) -> None:
    reply = _said(app, text).lower()
    assert any(w in reply for w in ("morning", "afternoon", "evening", "hello", "hi")), reply


def test_trying_the_app_out_is_welcomed(app: Companion) -> None:
    reply = _said(app, "lunch break. figured i'd give this a try").lower()
    assert "welcome" in reply and app.session_running is False, reply


@pytest.mark.parametrize("text", ["since the kids left home i feel a bit useless", "nobody needs me anymore",
                                  "i've lost my sense of purpose since the redundancy"])
def test_feeling_useless_or_not_needed_is_met_as_a_lost_role(app: Companion, text: str) -> None:
    reply = _said(app, text).lower()
    assert any(w in reply for w in ("useless", "purpose", "role", "needed")), reply
    assert "great news" not in reply and "glad for you" not in reply


def test_a_harsh_judgement_is_not_read_as_a_lost_role(app: Companion) -> None:
    assert app.dialogue.read("i am useless at everything").topic != "purpose"


def test_a_lack_of_money_is_not_good_news(app: Companion) -> None:
    reply = _said(app, "want to take my daughter somewhere nice but no money this month").lower()
    assert "great news" not in reply and "wonderful" not in reply, reply


def test_an_invitation_being_weighed_is_not_pushed(app: Companion) -> None:
    reply = _said(app, "my neighbour asked if i'd help at the allotment. i said i'd think about it").lower()
    assert any(w in reply for w in ("unsure", "decide", "hold")), reply
    assert app.store.connection_steps() == []


def test_caring_for_someone_named_by_a_pronoun_is_the_caring_topic(app: Companion) -> None:
    reply = _said(app, "looking after him has been wearing me down, i'm shattered").lower()
    assert "car" in reply, reply  # caring / carer


def test_tests_and_teachers_are_school(app: Companion) -> None:
    assert app.dialogue.read("another maths test tho. so done").topic == "school"


# ---- two pieces of news in one message: a loss told as background, and hard news turned by a "but" ----
@pytest.mark.parametrize("text", ["since my husband passed i took up swimming and honestly i love it",
                                  "after losing my job i retrained as a gardener and it's been wonderful",
                                  "ever since the breakup i've been painting and i'm so proud of it",
                                  "after the divorce i started a choir and i love it"])
def test_a_loss_told_as_background_lets_the_good_present_lead(app: Companion, text: str) -> None:
    reply = _said(app, text).lower()
    assert "glad" in reply and "sorry" not in reply and "lovely" not in reply, reply
    assert app.expecting_answer is False


@pytest.mark.parametrize(("text", "sorry_for", "last"), [
    ("my cat died on monday but my new flat is great", "cat", "flat"),
    ("our nan passed away but my sister is doing really well at uni", "nan", "glad"),
    ("i got the job but my dog died this morning", "dog", "dog"),
    ("i lost my job but my daughter got into university", "job", "glad"),
])
def test_hard_and_good_news_are_both_answered_the_later_last(app: Companion, text: str, sorry_for: str,
                                                             last: str) -> None:
    reply = _said(app, text)
    sentences = [x.lower() for x in re.split(r"(?<=[.!?])\s+", reply) if x]
    assert any("sorry" in x and sorry_for in x for x in sentences), reply
    assert any("glad" in x or "good news" in x for x in sentences), reply
    assert last in sentences[-1], reply
    assert not any("sorry" in x and ("glad" in x or "good news" in x) for x in sentences), reply
    assert app.expecting_answer is False


@pytest.mark.parametrize("text", ["after the funeral i just sat in the car and cried",
                                  "my dog died and i love him so much", "since my wife died i can't face the choir",
                                  "my dog died but i love him so much",
                                  "after my mum died i felt so lonely"])
def test_a_loss_with_nothing_good_now_stays_grief(app: Companion, text: str) -> None:
    reply = _said(app, text).lower()
    assert "sorry" in reply and "glad" not in reply, reply
    assert app.dialogue.read(text).news_turn is None


@pytest.mark.parametrize(("said", "words"), [
    ("Fair enough. Had to shoot four ewes this morning. Too far gone, couldn't get up.", ("stock", "shoot")),
    ("third year of drought and the dams are empty", ("drought", "season")),
    ("i missed my granddaughter's recital again, been on the road three weeks", ("missing", "away")),
])
def test_a_hard_season_on_the_land_and_a_missed_moment_at_home_are_met_in_their_own_words(
        app: Companion, said: str, words: tuple[str, ...]) -> None:
    reply = _said(app, said).lower()
    assert any(w in reply for w in words), reply
    assert not any(w in reply for w in ("congratulations", "wonderful", "great news")), reply


def test_a_missed_bus_is_not_a_missed_moment(app: Companion) -> None:
    assert "missing the moments" not in _said(app, "ugh i missed the bus again").lower()
