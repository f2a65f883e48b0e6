"""When gentle check-ins happen: a pure planner (`next_checkin`) and a small runner thread around it.

Never speaks, notifies or touches the store itself (the app's `on_due` does); never delivers more than one
missed check-in after a gap, never inside quiet hours, never skips because presence is unknown.

Why a pure function rather than an APScheduler/`schedule` trigger: the rules here are about *which* moments
are allowed (working hours, quiet hours that cross midnight, weekdays, a snooze) and about *coalescing*
after a suspend into at most one delivery, then rescheduling a skipped one. APScheduler's CronTrigger plus
`coalesce`/`misfire_grace_time` cover only part of that, keep their own wall-clock thread (hard to drive
from a fake clock) and would still need this window logic on top. One small function of
(now, settings, state) is easier to read, and tests replay 30 days of it in milliseconds.
"""

from __future__ import annotations

import logging
import threading
import time as _time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any, Protocol

import yaml

log = logging.getLogger(__name__)

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SLEEP_SECONDS = 60.0  # the runner re-plans at least this often, so a wall-clock jump is noticed quickly


def parse_hhmm(text: str) -> time:
    """'09:30' -> time(9, 30); a clear ValueError otherwise."""
    try:
        hours, minutes = str(text).strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"'{text}' is not a time of day; write it as HH:MM, for example 10:30") from None


def parse_range(text: str) -> tuple[time, time]:
    """'21:00-08:00' -> (time(21), time(8)); a range may cross midnight."""
    try:
        start, end = str(text).split("-")
    except ValueError:
        raise ValueError(f"'{text}' is not a range of hours; "
                         "write it as HH:MM-HH:MM, for example 09:00-18:00") from None
    return parse_hhmm(start), parse_hhmm(end)


def in_window(moment: time, window: tuple[time, time] | None) -> bool:
    """True inside [start, end); a window whose end is before its start crosses midnight; start == end is the
    whole day."""
    if window is None:
        return True
    start, end = window
    if start == end:
        return True
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


@dataclass(frozen=True)
class CheckinSettings:
    """The `[checkins]` config section, already parsed (see docs/config-schema.md)."""

    enabled: bool = True
    times: tuple[time, ...] = (time(10, 30), time(15, 30))
    interval_minutes: int = 0
    working_hours: tuple[time, time] | None = (time(9, 0), time(18, 0))
    quiet_hours: tuple[time, time] | None = (time(21, 0), time(8, 0))
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    skip_when_fullscreen: bool = True
    skip_when_idle_minutes: int = 20
    retry_minutes: int = 10  # a skipped check-in is tried again this much later (not a config key)

    @classmethod
    def from_config(cls, config: Any) -> CheckinSettings:
        """From `config.checkins` (or the section itself); accepts parsed values or the TOML spellings."""
        section = getattr(config, "checkins", config)
        if isinstance(section, dict):
            get = section.get
        else:
            def get(name: str, default: Any = None) -> Any:
                return getattr(section, name, default)
        base = cls()

        def times_of(value: Any) -> tuple[time, ...]:
            return tuple(sorted(v if isinstance(v, time) else parse_hhmm(v) for v in value))

        def window_of(value: Any) -> tuple[time, time] | None:
            if value is None or value == "":
                return None
            if isinstance(value, str):
                return parse_range(value)
            start, end = value
            return (start if isinstance(start, time) else parse_hhmm(start),
                    end if isinstance(end, time) else parse_hhmm(end))

        def weekdays_of(value: Any) -> tuple[int, ...]:
            days = []
            for v in value:
                if isinstance(v, int):
                    days.append(v)
                elif str(v).strip().lower()[:3] in WEEKDAY_NAMES:
                    days.append(WEEKDAY_NAMES.index(str(v).strip().lower()[:3]))
                else:
                    raise ValueError(f"'{v}' is not a weekday; use mon, tue, wed, thu, fri, sat or sun")
            return tuple(sorted(set(days)))

        return cls(
            enabled=bool(get("enabled", base.enabled)),
            times=times_of(get("times", base.times) or ()),
            interval_minutes=int(get("interval_minutes", base.interval_minutes) or 0),
            working_hours=window_of(get("working_hours", base.working_hours)),
            quiet_hours=window_of(get("quiet_hours", base.quiet_hours)),
            weekdays=weekdays_of(get("weekdays", base.weekdays) or ()),
            skip_when_fullscreen=bool(get("skip_when_fullscreen", base.skip_when_fullscreen)),
            skip_when_idle_minutes=int(get("skip_when_idle_minutes", base.skip_when_idle_minutes) or 0),
        )

    def allows(self, moment: datetime) -> bool:
        """A moment a check-in may happen: an enabled weekday, inside working hours, outside quiet hours."""
        t = moment.time()
        return (moment.weekday() in self.weekdays and in_window(t, self.working_hours)
                and not (self.quiet_hours is not None and self.quiet_hours[0] != self.quiet_hours[1]
                         and in_window(t, self.quiet_hours)))


@dataclass(frozen=True)
class ScheduleState:
    """What the planner remembers: the last moment it looked (scheduled moments after it and up to now are
    due; more than one of them means the runner slept through some), a retry for a skipped one, a snooze."""

    last_checked: datetime | None = None
    retry_at: datetime | None = None
    paused_until: datetime | None = None


def _day_slots(day: date, settings: CheckinSettings, tz: Any) -> Iterator[datetime]:
    """Candidate moments on one calendar day, before the allowed-moment filter."""
    if settings.interval_minutes > 0:
        step = timedelta(minutes=settings.interval_minutes)
        start_t = settings.working_hours[0] if settings.working_hours else time(0, 0)
        start = datetime.combine(day, start_t, tzinfo=tz)
        if settings.working_hours and settings.working_hours[0] != settings.working_hours[1]:
            end = datetime.combine(day, settings.working_hours[1], tzinfo=tz)
            if end <= start:
                end += timedelta(days=1)  # working hours that cross midnight
        else:
            end = start + timedelta(days=1)
        moment = start
        while moment < end:
            yield moment
            moment += step
    else:
        for t in settings.times:
            yield datetime.combine(day, t, tzinfo=tz)


def upcoming_slots(after: datetime, settings: CheckinSettings, days: int = 9) -> Iterator[datetime]:
    """Allowed scheduled moments strictly after `after`, in order, for up to `days` calendar days."""
    first_day = after.date() - timedelta(days=1)  # a night window that began yesterday may still be running
    seen: set[datetime] = set()
    for offset in range(days + 1):
        slots = sorted(s for s in _day_slots(first_day + timedelta(days=offset), settings, after.tzinfo)
                       if s > after and s not in seen and settings.allows(s))
        for s in slots:
            seen.add(s)
            yield s


def next_checkin(now: datetime, settings: CheckinSettings, state: ScheduleState) -> datetime | None:
    """The moment the next check-in is due: a time after `now`, or `now` itself when one was missed.

    Missed ones (the runner slept through them: suspend, a busy machine) collapse into a single delivery, and
    only when `now` is itself an allowed moment; otherwise the next regular moment is returned. A snooze hides
    everything before `paused_until`. A skipped check-in's retry counts when it lands on an allowed moment.
    None when check-ins are off or no moment in the coming week is allowed.
    """
    no_moments = settings.interval_minutes <= 0 and not settings.times
    if not settings.enabled or not settings.weekdays or no_moments:
        return None
    floor = state.last_checked or now
    if state.paused_until is not None and state.paused_until > floor:
        floor = state.paused_until - timedelta(microseconds=1)  # a slot exactly at the end of a snooze counts
    candidates = []
    regular = next(upcoming_slots(floor, settings), None)
    if regular is not None:
        candidates.append(regular)
    if (state.retry_at is not None and settings.allows(state.retry_at)
            and (state.paused_until is None or state.retry_at >= state.paused_until)):
        candidates.append(state.retry_at)
    if not candidates:
        return None
    due = min(candidates)
    if due > now:
        return due
    if settings.allows(now) and (state.paused_until is None or now >= state.paused_until):
        return now  # one missed check-in, delivered now
    # Missed, but now is not a good moment (quiet hours, a weekend...): wait for the next regular one.
    return next(upcoming_slots(max(now, floor), settings), None)


@dataclass(frozen=True)
class PresenceSnapshot:
    """What the desktop says about the person right now; None means unknown (never a reason to skip)."""

    fullscreen: bool | None = None
    locked: bool | None = None
    idle_seconds: float | None = None


class PresenceSource(Protocol):
    def snapshot(self) -> PresenceSnapshot: ...


def skip_reason(settings: CheckinSettings, presence: PresenceSnapshot) -> str | None:
    """Why a due check-in should wait ('locked', 'fullscreen', 'idle'), or None to deliver it."""
    if presence.locked:
        return "locked"
    if settings.skip_when_fullscreen and presence.fullscreen:
        return "fullscreen"
    if (settings.skip_when_idle_minutes > 0 and presence.idle_seconds is not None
            and presence.idle_seconds >= settings.skip_when_idle_minutes * 60):
        return "idle"
    return None


def start_of_next_day(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), time(0, 0), tzinfo=now.tzinfo)


@dataclass
class TickResult:
    """What one planning step did: 'delivered', 'skipped:<reason>' or 'waiting', and when to look again."""

    action: str
    next_due: datetime | None
    wake_in: float = field(default=MAX_SLEEP_SECONDS)


class CheckinScheduler:
    """Runs `next_checkin` on a thread: sleeps until the next due moment (interruptibly) and calls `on_due`.

    `now` is the wall clock and `wait(seconds) -> interrupted` the sleep; both are injectable so tests drive
    weeks of schedule in a moment. The thread re-plans at least every minute, so after a suspend the jump in
    wall-clock time is seen at once and at most one missed check-in is delivered.
    """

    def __init__(self, settings: CheckinSettings, *, on_due: Callable[[], None],
                 now: Callable[[], datetime] = datetime.now, presence: PresenceSource | None = None,
                 wait: Callable[[float], bool] | None = None) -> None:
        self.settings = settings
        self._on_due = on_due
        self._now = now
        self._presence = presence
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._wait = wait or self._wake.wait
        self._lock = threading.Lock()
        self._state = ScheduleState()
        self._thread: threading.Thread | None = None
        self._last_seen: tuple[datetime, float] | None = None

    # -- the app's commands ---------------------------------------------------------------------------------
    @property
    def state(self) -> ScheduleState:
        with self._lock:
            return self._state

    @property
    def paused_until(self) -> datetime | None:
        return self.state.paused_until

    def next_due(self, now: datetime | None = None) -> datetime | None:
        now = now or self._now()
        with self._lock:
            state = self._state if self._state.last_checked else replace(self._state, last_checked=now)
        return next_checkin(now, self.settings, state)

    def snooze(self, minutes: int | None) -> datetime:
        """Pause check-ins for `minutes`, or until tomorrow (None); returns when they resume."""
        now = self._now()
        until = start_of_next_day(now) if minutes is None else now + timedelta(minutes=minutes)
        with self._lock:
            self._state = replace(self._state, paused_until=until, retry_at=None)
        log.info("check-ins paused until %s", until.isoformat(timespec="minutes"))
        self._wake.set()
        return until

    def resume(self) -> None:
        with self._lock:
            self._state = replace(self._state, paused_until=None)
        self._wake.set()

    def update_settings(self, settings: CheckinSettings) -> None:
        self.settings = settings
        self._wake.set()

    # -- the loop -------------------------------------------------------------------------------------------
    def tick(self) -> TickResult:
        """One planning step at `now()`: deliver or skip a due check-in, then say how long to sleep."""
        now = self._now()
        self._notice_jump(now)
        with self._lock:
            if self._state.last_checked is None:
                self._state = replace(self._state, last_checked=now)  # nothing is "missed" before we started
            if self._state.paused_until is not None and now >= self._state.paused_until:
                self._state = replace(self._state, paused_until=None)
            state = self._state
        due = next_checkin(now, self.settings, state)
        action = "waiting"
        retry = state.retry_at
        if due is not None and due <= now:
            reason = skip_reason(self.settings, self._presence.snapshot()) if self._presence else None
            if reason:
                retry = now + timedelta(minutes=self.settings.retry_minutes)
                log.info("check-in at %s waits (%s); trying again at %s", now.isoformat(timespec="minutes"),
                         reason, retry.isoformat(timespec="minutes"))
                action = f"skipped:{reason}"
            else:
                retry = None
                action = "delivered"
        elif retry is not None and retry <= now:
            retry = None  # a retry due at a moment not allowed is dropped; the next regular one follows
        with self._lock:
            # Everything up to now has been looked at: a missed moment is delivered once or dropped.
            self._state = replace(self._state, last_checked=now, retry_at=retry)
            state = self._state
        if action == "delivered":
            try:
                self._on_due()
            except Exception:
                log.exception("the check-in handler failed; the schedule goes on")
        due = next_checkin(now, self.settings, state)
        wake_in = MAX_SLEEP_SECONDS if due is None else max(0.0, min((due - now).total_seconds(),
                                                                     MAX_SLEEP_SECONDS))
        return TickResult(action, due, wake_in)

    def _notice_jump(self, now: datetime) -> None:
        """Logs when wall-clock time moved much more than the monotonic clock (suspend, clock change)."""
        mono = _time.monotonic()
        if self._last_seen is not None:
            wall_gap = (now - self._last_seen[0]).total_seconds()
            mono_gap = mono - self._last_seen[1]
            if abs(wall_gap - mono_gap) > 2 * MAX_SLEEP_SECONDS:
                log.info("wall clock jumped by %.0f s (suspend or clock change); re-planning check-ins",
                         wall_gap - mono_gap)
        self._last_seen = (now, mono)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before planning, so a snooze arriving during tick() still wakes the wait
            result = self.tick()
            if self._stopping.is_set():
                break
            if result.wake_in > 0:
                self._wait(result.wake_in)

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="checkin-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


# -- what a check-in says ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckinTexts:
    """Check-in wording from companion/data/checkins.yaml; picks rotate so nothing repeats word for word."""

    questions: tuple[str, ...]
    titles: tuple[str, ...]
    bodies: tuple[str, ...]
    actions: dict[str, str]
    snoozed: dict[str, str]
    click_bodies: tuple[str, ...] = ()  # where notifications have no buttons: "click here to check in"

    @classmethod
    def load(cls) -> CheckinTexts:
        raw = yaml.safe_load(resources.files("companion.data").joinpath("checkins.yaml")
                             .read_text(encoding="utf-8")) or {}

        def lines(key: str) -> tuple[str, ...]:
            value = raw.get(key)
            items = (value,) if isinstance(value, str) else tuple(value or ())
            if not items or not all(isinstance(v, str) and v.strip() for v in items):
                raise ValueError(f"checkins.yaml: '{key}' needs one or more non-empty lines")
            return items

        return cls(questions=lines("questions"), titles=lines("notification_titles"),
                   bodies=lines("notification_bodies"), actions=dict(raw.get("actions") or {}),
                   snoozed=dict(raw.get("snoozed") or {}),
                   click_bodies=lines("notification_bodies_click") if "notification_bodies_click" in raw
                   else lines("notification_bodies"))

    def pick(self, which: str, turn: int) -> str:
        items: tuple[str, ...] = getattr(self, which)
        return items[turn % len(items)]
