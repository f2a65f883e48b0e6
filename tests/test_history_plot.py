"""The history picture from fake and real stored data: a PNG with kind colours, or a kind empty state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from companion.desktop.history_plot import KIND_COLOURS, kind_colour, local_time, write_history_plot

NOW = datetime(2026, 11, 25, 18, 0)


@dataclass(frozen=True)
class FakeSession:
    exercise_id: str
    kind: str
    started_at: str
    ended_at: str | None
    completed: bool


@dataclass(frozen=True)
class FakeCheckin:
    at: str
    feeling: str | None
    intensity: int | None


class FakeStore:
    def __init__(self, sessions=(), checkins=()) -> None:
        self._sessions = list(sessions)
        self._checkins = list(checkins)
        self.asked: list[tuple[str, int]] = []

    def sessions(self, days: int):
        self.asked.append(("sessions", days))
        return self._sessions

    def checkins(self, days: int):
        self.asked.append(("checkins", days))
        return self._checkins


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def pixels_of(path: Path, hex_colour: str) -> int:
    rgb = np.array(Image.open(path).convert("RGB"))
    target = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return int(np.all(rgb == target, axis=-1).sum())


def test_kind_colours_show_only_for_the_kinds_in_the_window(tmp_path):
    sessions = [FakeSession("box", "breathing", utc(NOW - timedelta(days=1, hours=2)), None, True),
                FakeSession("54321", "grounding", utc(NOW - timedelta(days=20)), None, False)]
    checkins = [FakeCheckin(utc(NOW - timedelta(days=d, hours=3)), "anxious", 7 - d) for d in range(5)]
    store = FakeStore(sessions, checkins)

    both = write_history_plot(store, tmp_path / "both.png", now=NOW)
    assert both == tmp_path / "both.png"
    assert Image.open(both).format == "PNG"
    assert ("sessions", 30) in store.asked and ("checkins", 30) in store.asked
    assert pixels_of(both, KIND_COLOURS["breathing"]) > 0
    assert pixels_of(both, KIND_COLOURS["grounding"]) > 0

    week = write_history_plot(store, tmp_path / "week.png", days=(7,), now=NOW)
    assert pixels_of(week, KIND_COLOURS["breathing"]) > 0
    assert pixels_of(week, KIND_COLOURS["grounding"]) == 0  # 20 days ago is outside a week
    assert Image.open(week).width < Image.open(both).width


def test_empty_state_draws_no_data_marks(tmp_path):
    path = write_history_plot(FakeStore(), tmp_path / "sub" / "empty.png", now=NOW)
    rgb = np.array(Image.open(path).convert("RGB"))
    assert (rgb < 200).any()  # the message is drawn
    assert all(pixels_of(path, c) == 0 for c in KIND_COLOURS.values())


def test_old_data_only_is_the_empty_state_too(tmp_path):
    old = FakeStore([FakeSession("box", "breathing", utc(NOW - timedelta(days=90)), None, True)])
    path = write_history_plot(old, tmp_path / "old.png", now=NOW)
    assert pixels_of(path, KIND_COLOURS["breathing"]) == 0


def test_bad_days_get_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        write_history_plot(FakeStore(), tmp_path / "x.png", days=(0,))


def test_unknown_kinds_get_a_stable_colour_and_times_become_local():
    assert kind_colour("stretching") == kind_colour("stretching")
    assert kind_colour("breathing") == KIND_COLOURS["breathing"]
    aware = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert local_time(aware) == local_time("2026-11-25T12:00:00+00:00") == local_time("2026-11-25T12:00:00")


def test_from_the_real_store(tmp_path):
    from companion.core.store import Store

    clock = [datetime(2026, 11, 20, 9, 0, tzinfo=UTC)]
    store = Store.open(tmp_path / "companion.sqlite3", now=lambda: clock[0])
    try:
        for day in range(5):
            clock[0] = datetime(2026, 11, 20 + day, 10, 0, tzinfo=UTC)
            sid = store.start_session("box", "breathing")
            clock[0] += timedelta(minutes=3)
            store.end_session(sid, completed=True, reason="done")
            store.add_checkin("calm" if day % 2 else "tense", 6 - day)
        store.add_checkin("tired", None)
        path = write_history_plot(store, tmp_path / "real.png", now=local_time(clock[0]))
    finally:
        store.close()
    assert pixels_of(path, KIND_COLOURS["breathing"]) > 0
