"""The history picture from fake and real stored data: a PNG with kind colours, or a kind empty state."""

from __future__ import annotations

import itertools
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


# ---- the chart a person reads: polarity, days, spread, counts, size -----------------------------------------
def seeded_store() -> FakeStore:
    """The issue's week: anxious 7 → lonely 8 → good 2 within the hour, an unrated check-in, 7 stopped and 2
    finished exercises."""
    checkins = [FakeCheckin(utc(NOW - timedelta(days=2, minutes=m)), f, i)
                for m, f, i in ((50, "anxious", 7), (40, "lonely", 8), (30, "good", 2))]
    checkins += [FakeCheckin(utc(NOW - timedelta(days=4)), "tired", None),
                 FakeCheckin(utc(NOW - timedelta(hours=1)), "calm", 6)]
    sessions = [FakeSession("box", "breathing", utc(NOW - timedelta(days=d % 3, hours=d)), None, False)
                for d in range(7)]
    sessions += [FakeSession("ground", "grounding", utc(NOW - timedelta(days=1)), None, True),
                 FakeSession("box", "breathing", utc(NOW - timedelta(days=5)), None, True)]
    return FakeStore(sessions, checkins)


def test_good_feelings_are_high_and_hard_ones_low() -> None:
    from companion.desktop.history_plot import PictureWords, mood_value

    words = PictureWords.load()
    assert mood_value("good", 2, words) > 5 > mood_value("anxious", 7, words) > mood_value("lonely", 8, words)
    assert mood_value("good", 10, words) == 10 and mood_value("sad", 10, words) == 0
    assert mood_value("okay", 7, words) == 5  # neither: the middle line
    assert 0 <= mood_value("tired", None, words) < 5 < mood_value("calm", None, words) <= 10


def test_same_hour_check_ins_are_spread_and_none_passes_the_end_of_today() -> None:
    from companion.desktop.history_plot import PictureWords, mood_points

    words = PictureWords.load()
    end = datetime(2026, 11, 26)
    rows = [(datetime(2026, 11, 25, 23, 50) + timedelta(minutes=m), "sad", 5) for m in range(4)]
    points = mood_points(rows, 7, words, end=end)
    gap = timedelta(days=7) / 40
    assert all(b.x - a.x >= gap - timedelta(seconds=1) for a, b in itertools.pairwise(points))
    assert all(p.x < end for p in points)


def _figure_axes(store: FakeStore, days: tuple[int, ...] = (7,)):
    from companion.desktop.history_plot import draw_history

    fig = draw_history(store, days, now=NOW)
    return fig, fig.axes[0], fig.axes[1]


def test_the_day_axis_ends_with_today_and_nothing_is_drawn_below_zero() -> None:
    import matplotlib.dates as mdates

    fig, top, bottom = _figure_axes(seeded_store())
    fig.canvas.draw()
    for ax in (top, bottom):
        left, right = (mdates.num2date(x).replace(tzinfo=None) for x in ax.get_xlim())
        assert left == datetime(2026, 11, 19) and right == datetime(2026, 11, 26)  # 7 days, today is the 25th
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert len(labels) == 7 and "25 Nov" in labels[-1] and not any("26 Nov" in s for s in labels)
    ys = [y for line in top.get_lines() for y in line.get_ydata()]
    assert ys and min(ys) >= 0 and max(ys) <= 10
    assert top.get_ylim()[0] > -1  # no band under the scale for unrated check-ins


def test_finished_and_stopped_are_counted_apart_and_match_the_text() -> None:
    from companion.desktop.history_plot import window_counts

    store = seeded_store()
    counts = window_counts(store, 7, now=NOW)
    assert (counts.started, counts.finished, counts.checkins) == (9, 2, 5)
    _fig, top, bottom = _figure_axes(store)
    texts = [t.get_text() for t in top.texts]
    assert "Exercises: 9 started, 2 finished · Check-ins: 5" in texts
    solid = sum(p.get_height() for p in bottom.patches if p.get_hatch() is None)
    hatched = sum(p.get_height() for p in bottom.patches if p.get_hatch())
    assert (solid, hatched) == (2, 7)


def test_the_pictures_fit_a_1280_by_800_screen(tmp_path) -> None:
    from companion.desktop.history_plot import render_history_png

    both = write_history_plot(seeded_store(), tmp_path / "both.png", now=NOW)
    assert Image.open(both).width <= 1280 and Image.open(both).height <= 800
    png = tmp_path / "window.png"
    png.write_bytes(render_history_png(seeded_store(), (30,), now=NOW, height=6.4))
    assert Image.open(png).width <= 1200 and Image.open(png).height <= 700


def test_matplotlib_loads_only_when_history_is_drawn() -> None:
    import subprocess
    import sys

    code = ("import sys; import companion.desktop.shell, companion.desktop.window, companion.desktop.history_window,"
            " companion.desktop.history_plot; print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.real
def test_history_window_shows_the_chart_inside_the_app(xdisplay, tmp_path, monkeypatch) -> None:
    import os
    import subprocess

    from helpers import need

    from companion.desktop.history_plot import render_history_png
    from companion.desktop.history_window import SPANS, HistoryWindow
    from companion.desktop.theme import LIGHT

    need("import")
    import tkinter as tk

    pictures = {d: render_history_png(seeded_store(), (d,), now=NOW, height=6.4) for d in SPANS}
    root = tk.Tk()
    root.withdraw()
    try:
        window = HistoryWindow(root, LIGHT, pictures)
        root.update()
        assert window.days == 7 and window.image.width() <= 1280 and window.image.height() <= 800
        root.update()
        shots = os.environ.get("COMPANION_SCREENSHOTS")
        if shots:
            w = window.win
            subprocess.run(["import", "-window", "root", "-crop",
                            f"{w.winfo_width()}x{w.winfo_height()}+{w.winfo_rootx()}+{w.winfo_rooty()}",
                            "+repage", f"{shots}/history-7-days.png"], check=True, timeout=20)
        window.span_buttons[30].invoke()
        root.update()
        assert window.days == 30 and window.span_buttons[30].cget("bg") == LIGHT.accent
        window.close()
    finally:
        root.destroy()


def test_a_dark_window_gets_a_dark_chart(tmp_path) -> None:
    from companion.desktop.history_plot import DARK_CHART, render_history_png

    png = tmp_path / "dark.png"
    png.write_bytes(render_history_png(seeded_store(), (7,), now=NOW, dark=True))
    assert pixels_of(png, DARK_CHART.background) > 0.3 * Image.open(png).width * Image.open(png).height
    assert pixels_of(png, "#ffffff") < 100
