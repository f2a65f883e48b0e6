"""Check-in planning and the runner, under a fake wall clock: weeks of schedule run in a moment."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
import time_machine

from companion.desktop.schedule import (
    CheckinScheduler,
    CheckinSettings,
    CheckinTexts,
    PresenceSnapshot,
    ScheduleState,
    in_window,
    next_checkin,
    parse_hhmm,
)

MON = datetime(2026, 11, 23)  # a Monday


class Sim:
    """A fake wall clock plus a scheduler driven tick by tick, recording each delivery's moment."""

    def __init__(self, settings: CheckinSettings, start: datetime, presence=None) -> None:
        self.now = start
        self.delivered: list[datetime] = []
        self.actions: list[tuple[datetime, str]] = []
        self.sched = CheckinScheduler(settings, on_due=lambda: self.delivered.append(self.now),
                                      now=lambda: self.now, presence=presence)

    def run_until(self, end: datetime) -> None:
        while self.now < end:
            result = self.sched.tick()
            if result.action != "waiting":
                self.actions.append((self.now, result.action))
            self.now = min(end, self.now + timedelta(seconds=result.wake_in or 1))

    def jump(self, delta: timedelta) -> str:
        """A suspend: the wall clock leaps, then the runner wakes once."""
        self.now += delta
        return self.sched.tick().action


def settings(**kw) -> CheckinSettings:
    return CheckinSettings(**kw)


def test_fires_at_the_configured_minutes():
    sim = Sim(settings(), MON.replace(hour=7))
    sim.run_until(MON.replace(hour=23, minute=59))
    assert sim.delivered == [MON.replace(hour=10, minute=30), MON.replace(hour=15, minute=30)]


def test_never_inside_quiet_hours_across_midnight():
    s = settings(times=(time(7), time(12), time(23, 30), time(0, 30)), working_hours=None,
                 quiet_hours=(time(22), time(8)), weekdays=tuple(range(7)))
    sim = Sim(s, MON)
    sim.run_until(MON + timedelta(days=3))
    assert sim.delivered == [MON.replace(hour=12) + timedelta(days=d) for d in range(3)]
    assert in_window(time(23, 59), (time(22), time(8)))
    assert in_window(time(0, 1), (time(22), time(8)))
    assert not in_window(time(8), (time(22), time(8)))
    assert not in_window(time(21, 59), (time(22), time(8)))


def test_not_on_weekends_when_weekdays_are_monday_to_friday():
    sim = Sim(settings(), MON)
    sim.run_until(MON + timedelta(days=7))
    assert len(sim.delivered) == 10
    assert {d.weekday() for d in sim.delivered} == {0, 1, 2, 3, 4}


def test_interval_mode_inside_working_hours():
    s = settings(times=(), interval_minutes=90, working_hours=(time(9), time(18)))
    sim = Sim(s, MON)
    sim.run_until(MON + timedelta(days=1))
    expected = ["09:00", "10:30", "12:00", "13:30", "15:00", "16:30"]
    assert [d.strftime("%H:%M") for d in sim.delivered] == expected


def test_snooze_thirty_minutes_hides_what_falls_inside_it():
    s = settings(times=(), interval_minutes=15, working_hours=(time(9), time(12)))
    sim = Sim(s, MON.replace(hour=8))
    sim.run_until(MON.replace(hour=10, minute=5))
    until = sim.sched.snooze(30)
    assert until == MON.replace(hour=10, minute=35)
    assert sim.sched.paused_until == until
    assert sim.sched.next_due(sim.now) == MON.replace(hour=10, minute=45)
    sim.run_until(MON.replace(hour=11, minute=1))
    after = [d.strftime("%H:%M") for d in sim.delivered if d > MON.replace(hour=10, minute=5)]
    assert after == ["10:45", "11:00"]
    assert sim.sched.paused_until is None


def test_snooze_until_tomorrow_and_resume():
    sim = Sim(settings(), MON.replace(hour=8))
    sim.run_until(MON.replace(hour=11))
    sim.sched.snooze(None)
    assert sim.sched.paused_until == MON + timedelta(days=1)
    sim.run_until(MON + timedelta(days=1, hours=11))
    assert [d.strftime("%a %H:%M") for d in sim.delivered] == ["Mon 10:30", "Tue 10:30"]

    sim.sched.snooze(None)
    sim.run_until(MON + timedelta(days=1, hours=12))
    sim.sched.resume()
    assert sim.sched.paused_until is None
    sim.run_until(MON + timedelta(days=2))
    assert [d.strftime("%a %H:%M") for d in sim.delivered] == ["Mon 10:30", "Tue 10:30", "Tue 15:30"]


def test_ten_hour_suspend_delivers_exactly_one_missed_checkin():
    s = settings(times=(), interval_minutes=30, working_hours=(time(8), time(20)))
    sim = Sim(s, MON.replace(hour=7))
    sim.run_until(MON.replace(hour=9, minute=5))
    before = len(sim.delivered)
    assert sim.jump(timedelta(hours=10)) == "delivered"  # 19:05, about twenty moments were slept through
    assert len(sim.delivered) == before + 1
    sim.run_until(MON.replace(hour=23))
    assert [d.strftime("%H:%M") for d in sim.delivered[before:]] == ["19:05", "19:30"]


def test_suspend_ending_in_quiet_hours_delivers_nothing_then_resumes_normally():
    sim = Sim(settings(), MON.replace(hour=9))
    sim.run_until(MON.replace(hour=11))
    assert sim.jump(timedelta(hours=11)) == "waiting"  # 22:00: quiet hours; 15:30 was missed and is let go
    sim.run_until(MON + timedelta(days=1, hours=12))
    assert [d.strftime("%a %H:%M") for d in sim.delivered] == ["Mon 10:30", "Tue 10:30"]


def test_thirty_simulated_days():
    start = datetime(2026, 11, 2)
    sim = Sim(settings(), start)
    sim.run_until(start + timedelta(days=30))
    weekdays = sum((start + timedelta(days=d)).weekday() < 5 for d in range(30))
    assert len(sim.delivered) == 2 * weekdays
    assert all(d.time() in (time(10, 30), time(15, 30)) for d in sim.delivered)
    assert len(set(sim.delivered)) == len(sim.delivered)


class FakePresence:
    def __init__(self, snap: PresenceSnapshot) -> None:
        self.snap = snap

    def snapshot(self) -> PresenceSnapshot:
        return self.snap


def test_presence_skip_reschedules_instead_of_losing_it():
    presence = FakePresence(PresenceSnapshot(fullscreen=True))
    sim = Sim(settings(), MON.replace(hour=10), presence=presence)
    sim.run_until(MON.replace(hour=10, minute=45))
    assert sim.delivered == []
    assert [(t.strftime("%H:%M"), a) for t, a in sim.actions] == [("10:30", "skipped:fullscreen"),
                                                                  ("10:40", "skipped:fullscreen")]
    presence.snap = PresenceSnapshot(fullscreen=False, locked=False, idle_seconds=3.0)
    sim.run_until(MON.replace(hour=16))
    assert [d.strftime("%H:%M") for d in sim.delivered] == ["10:50", "15:30"]


@pytest.mark.parametrize(("snap", "settings_kw", "skipped"), [
    (PresenceSnapshot(locked=True), {}, "skipped:locked"),
    (PresenceSnapshot(idle_seconds=25 * 60), {}, "skipped:idle"),
    (PresenceSnapshot(idle_seconds=25 * 60), {"skip_when_idle_minutes": 0}, "delivered"),
    (PresenceSnapshot(fullscreen=True), {"skip_when_fullscreen": False}, "delivered"),
    (PresenceSnapshot(), {}, "delivered"),  # unknown is never a reason to skip
])
def test_presence_reasons(snap, settings_kw, skipped):
    sim = Sim(settings(**settings_kw), MON.replace(hour=10, minute=29), presence=FakePresence(snap))
    sim.sched.tick()
    sim.now = MON.replace(hour=10, minute=30)
    assert sim.sched.tick().action == skipped


def test_a_failing_handler_does_not_stop_the_schedule():
    now = [MON.replace(hour=10, minute=29)]
    calls: list[datetime] = []

    def boom() -> None:
        calls.append(now[0])
        raise RuntimeError("speaker gone")

    sched = CheckinScheduler(settings(), on_due=boom, now=lambda: now[0])
    sched.tick()
    for minute in (30, 31):
        now[0] = MON.replace(hour=10, minute=minute)
        sched.tick()
    now[0] = MON.replace(hour=15, minute=30)
    sched.tick()
    assert len(calls) == 2


def test_pure_planner_edges():
    s = settings()
    state = ScheduleState(last_checked=MON.replace(hour=16))
    # Friday after the last check-in -> Monday morning
    fri = MON + timedelta(days=4, hours=16)
    monday = MON + timedelta(days=7, hours=10, minutes=30)
    assert next_checkin(fri, s, ScheduleState(last_checked=fri)) == monday
    assert next_checkin(MON.replace(hour=16), settings(enabled=False), state) is None
    assert next_checkin(MON.replace(hour=16), settings(weekdays=()), state) is None
    # all times inside quiet hours -> nothing is ever allowed
    assert next_checkin(MON, settings(times=(time(22),), working_hours=None), ScheduleState()) is None


def test_settings_from_config_spellings_and_clear_errors():
    s = CheckinSettings.from_config({"times": ["15:30", "10:30"], "working_hours": "09:00-18:00",
                                     "quiet_hours": "21:00-08:00", "weekdays": ["mon", "Tue", "sat"],
                                     "skip_when_idle_minutes": 5})
    assert s.times == (time(10, 30), time(15, 30))
    assert s.working_hours == (time(9), time(18))
    assert s.quiet_hours == (time(21), time(8))
    assert s.weekdays == (0, 1, 5)
    assert s.skip_when_idle_minutes == 5

    class Section:
        enabled = False
        times = ("07:15",)
        interval_minutes = 0
        working_hours = (time(7), time(19))
        quiet_hours = (time(22), time(6))
        weekdays = (0, 6)
        skip_when_fullscreen = False
        skip_when_idle_minutes = 0

    class Config:
        checkins = Section()

    c = CheckinSettings.from_config(Config())
    assert (c.enabled, c.times, c.weekdays, c.skip_when_fullscreen) == (False, (time(7, 15),), (0, 6), False)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm("half past ten")
    with pytest.raises(ValueError, match="weekday"):
        CheckinSettings.from_config({"weekdays": ["someday"]})


def test_checkin_texts_load_from_data():
    texts = CheckinTexts.load()
    assert texts.pick("questions", 0) != texts.pick("questions", 1)
    assert set(texts.actions) == {"talk", "later", "default"}  # "default": a click on the bubble itself
    assert "{minutes}" in texts.snoozed["minutes"]


@pytest.mark.timeout(30)
def test_runner_thread_with_injected_clock_and_wait():
    now = [MON]
    end = MON + timedelta(days=7)
    done = threading.Event()
    delivered: list[datetime] = []

    def wait(seconds: float) -> bool:
        if now[0] >= end:
            done.set()
            return stop.wait(0.05)
        now[0] += timedelta(seconds=seconds)
        return False

    stop = threading.Event()
    sched = CheckinScheduler(settings(), on_due=lambda: delivered.append(now[0]), now=lambda: now[0],
                             wait=wait)
    sched.start()
    assert done.wait(20)
    stop.set()
    sched.stop()
    assert len(delivered) == 10


@pytest.mark.timeout(30)
def test_runner_thread_under_time_machine_with_the_default_clock():
    delivered: list[datetime] = []
    done = threading.Event()
    end = MON + timedelta(days=2)
    with time_machine.travel(MON, tick=False) as traveller:
        def wait(seconds: float) -> bool:
            if datetime.now() >= end:
                done.set()
                return done.wait(0.05) and False
            traveller.shift(timedelta(seconds=seconds))
            return False

        sched = CheckinScheduler(settings(), on_due=lambda: delivered.append(datetime.now()), wait=wait)
        sched.start()
        assert done.wait(20)
        sched.stop()
    assert [d.strftime("%a %H:%M") for d in delivered] == ["Mon 10:30", "Mon 15:30", "Tue 10:30", "Tue 15:30"]


def test_settings_from_the_real_config_file(isolated_dirs):
    from companion.core import paths
    from companion.core.config import load_config

    paths.config_file().write_text('[checkins]\ntimes = ["09:15"]\nquiet_hours = "22:00-07:00"\n'
                                   'weekdays = ["sat", "sun"]\nskip_when_idle_minutes = 0\n')
    config, problems = load_config()
    assert problems == []
    s = CheckinSettings.from_config(config)
    assert (s.times, s.quiet_hours, s.weekdays, s.skip_when_idle_minutes) == (
        (time(9, 15),), (time(22), time(7)), (5, 6), 0)
    sat = MON + timedelta(days=5)
    assert next_checkin(sat, s, ScheduleState(last_checked=sat)) == sat.replace(hour=9, minute=15)
