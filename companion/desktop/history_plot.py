"""The history chart: check-ins on one mood scale (good feelings high, hard feelings low, stronger further from
the middle), and exercises per day with finished and stopped-early counted apart, drawn with matplotlib.

Never needs a display (Agg canvas, no pyplot) and never judges: it shows what was recorded, and says so kindly
when nothing was. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import io
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

# Colours per exercise kind (colour-blind friendly Okabe-Ito hues); other kinds get a stable colour by name.
KIND_COLOURS: dict[str, str] = {
    "breathing": "#0072B2",
    "grounding": "#009E73",
    "compassion": "#CC79A7",
    "journal": "#E69F00",
    "body": "#56B4E9",
    "connection": "#D55E00",
}
EXTRA_COLOURS = ("#F0E442", "#999999", "#882255", "#44AA99", "#117733", "#332288")
GOOD_COLOUR = "#1a8a5a"   # a good feeling's point
HARD_COLOUR = "#b5471b"   # a hard feeling's point
OTHER_COLOUR = "#5a6470"  # any other feeling
LINE_COLOUR = "#b8bec6"


@dataclass(frozen=True)
class ChartColours:
    """The chart's own colours for a light or a dark window (the kinds keep their colours in both)."""

    background: str
    text: str
    muted: str
    line: str
    middle: str
    good: str
    hard: str
    other: str


LIGHT_CHART = ChartColours("#ffffff", "#222222", "#555555", LINE_COLOUR, "#999999", GOOD_COLOUR, HARD_COLOUR,
                           OTHER_COLOUR)
DARK_CHART = ChartColours("#262932", "#eceff3", "#aab2bd", "#5d6470", "#7d8593", "#4cc38a", "#f08a5d", "#aab2bd")
MOOD_MIDDLE = 5.0
COLUMN_INCHES = 6.0       # two windows side by side stay under 1280 px at 100 dpi
DPI = 100


class HistorySource(Protocol):
    """What the chart reads (companion.core.store.Store has these)."""

    def sessions(self, days: int) -> Sequence[Any]: ...

    def checkins(self, days: int) -> Sequence[Any]: ...


@dataclass(frozen=True)
class PictureWords:
    title: str
    checkins_axis: str
    mood_top: str
    mood_middle: str
    mood_bottom: str
    sessions_axis: str
    finished: str
    stopped: str
    counts: str
    no_intensity: str
    empty: str
    good_feelings: tuple[str, ...]
    hard_feelings: tuple[str, ...]

    @classmethod
    def load(cls) -> PictureWords:
        raw = yaml.safe_load(resources.files("companion.data").joinpath("checkins.yaml")
                             .read_text(encoding="utf-8")) or {}
        words = raw.get("history_picture") or {}
        lists = ("good_feelings", "hard_feelings")
        missing = [f for f in cls.__dataclass_fields__
                   if not (isinstance(words.get(f), list) if f in lists else isinstance(words.get(f), str))]
        if missing:
            raise ValueError(f"checkins.yaml: history_picture needs {missing}")
        return cls(**{f: tuple(str(x).lower() for x in words[f]) if f in lists else words[f]
                      for f in cls.__dataclass_fields__})


@dataclass(frozen=True)
class MoodPoint:
    """One check-in on the mood scale: `x` where it is drawn (nudged off its neighbours), `at` when it was."""

    at: datetime
    x: datetime
    mood: float
    feeling: str
    polarity: str  # good | hard | other
    rated: bool


@dataclass(frozen=True)
class WindowCounts:
    """What the chart counts for one window; its caption and bars show exactly these numbers."""

    days: int
    started: int
    finished: int
    checkins: int


def kind_colour(kind: str) -> str:
    return KIND_COLOURS.get(kind) or EXTRA_COLOURS[zlib.crc32(kind.encode()) % len(EXTRA_COLOURS)]


def local_time(stamp: str | datetime) -> datetime:
    """A stored UTC ISO timestamp as naive local time (naive input is taken as UTC)."""
    moment = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(str(stamp))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().replace(tzinfo=None)


def polarity(feeling: str | None, words: PictureWords) -> str:
    name = (feeling or "").strip().lower()
    if name in words.good_feelings:
        return "good"
    if name in words.hard_feelings:
        return "hard"
    return "other"


def mood_value(feeling: str | None, intensity: int | None, words: PictureWords) -> float:
    """0 (very low) .. 10 (very good): a good feeling of strength i is 5 + i/2, a hard one 5 - i/2; without a
    strength, a moderate 2.5 from the middle; any other feeling sits on the middle line."""
    side = {"good": 1.0, "hard": -1.0}.get(polarity(feeling, words), 0.0)
    strength = 5.0 if intensity is None else min(10, max(0, int(intensity)))
    return MOOD_MIDDLE + side * strength / 2


def spread(times: list[datetime], gap: timedelta, latest: datetime) -> list[datetime]:
    """Sorted times moved apart to at least `gap` (later ones pushed right, then back left so none passes
    `latest`): same-hour points stay readable and never run past the end of today."""
    xs: list[datetime] = []
    for t in times:
        xs.append(t if not xs or t - xs[-1] >= gap else xs[-1] + gap)
    limit = latest
    for i in range(len(xs) - 1, -1, -1):
        xs[i] = min(xs[i], limit)
        limit = xs[i] - gap
    return xs


def mood_points(rows: list[tuple[datetime, str | None, int | None]], span_days: int, words: PictureWords, *,
                end: datetime | None = None) -> list[MoodPoint]:
    """Check-ins as points, in time order; points closer than a small gap (1/40 of the window) are spread
    apart so none hides another, and none is drawn after `end` (the end of today)."""
    rows = sorted(rows, key=lambda r: r[0])
    gap = timedelta(days=span_days) / 40
    latest = (end or max((r[0] for r in rows), default=datetime.now()) + gap) - gap / 2
    xs = spread([r[0] for r in rows], gap, latest)
    return [MoodPoint(at, x, mood_value(feeling, intensity, words), str(feeling or ""), polarity(feeling, words),
                      intensity is not None) for (at, feeling, intensity), x in zip(rows, xs, strict=True)]


def window_counts(store: HistorySource, days: int, *, now: datetime | None = None) -> WindowCounts:
    """Started / finished exercises and check-ins in the last `days` calendar days (today included)."""
    now = now or datetime.now()
    start = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time())
    sessions = [s for s in store.sessions(days) if local_time(s.started_at) >= start]
    checkins = [c for c in store.checkins(days) if local_time(c.at) >= start]
    return WindowCounts(days, len(sessions), sum(1 for s in sessions if s.completed), len(checkins))


def draw_history(store: HistorySource, days: tuple[int, ...] = (7, 30), *, now: datetime | None = None,
                 height: float = 7.0, dark: bool = False) -> Any:
    """The chart as a matplotlib Figure (one column per window in `days`: mood on top, exercises below),
    `height` inches tall (at 100 dpi) when there is something to show; `dark` for a dark window."""
    import matplotlib

    c = DARK_CHART if dark else LIGHT_CHART
    style = {"figure.facecolor": c.background, "axes.facecolor": c.background, "savefig.facecolor": c.background,
             "text.color": c.text, "axes.labelcolor": c.text, "axes.edgecolor": c.muted, "xtick.color": c.text,
             "ytick.color": c.text, "grid.color": c.muted, "legend.labelcolor": c.text, "hatch.color": c.text}
    with matplotlib.rc_context(style):
        return _draw(store, days, now, height, c)


def _draw(store: HistorySource, days: tuple[int, ...], now: datetime | None, height: float,
          c: ChartColours) -> Any:
    from matplotlib.figure import Figure

    if not days or any(int(d) < 1 for d in days):
        raise ValueError(f"days must be one or more positive numbers of days, not {days!r}")
    words = PictureWords.load()
    now = now or datetime.now()
    longest = max(days)
    checkins = [(local_time(c.at), c.feeling, c.intensity) for c in store.checkins(longest)]
    sessions = [(local_time(s.started_at), s.kind, bool(s.completed)) for s in store.sessions(longest)]
    oldest = datetime.combine(now.date() - timedelta(days=longest - 1), datetime.min.time())
    anything = any(t >= oldest for t, *_ in checkins + sessions)
    fig = Figure(figsize=(COLUMN_INCHES * len(days) + (1.0 if len(days) == 1 else 0), height if anything else 3.0),
                 dpi=DPI, layout="constrained")
    grid = fig.subplots(2, len(days), squeeze=False, height_ratios=(3, 2))
    for col, span in enumerate(days):
        first_day = now.date() - timedelta(days=span - 1)
        start = datetime.combine(first_day, datetime.min.time())
        end = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())  # the end of today
        window_checkins = [c for c in checkins if start <= c[0] < end]
        window_sessions = [s for s in sessions if start <= s[0] < end]
        top, bottom = grid[0][col], grid[1][col]
        if not window_checkins and not window_sessions:
            top.set_title(words.title.format(days=span), fontsize=14, loc="left")
            for ax in (top, bottom):
                ax.set_axis_off()
            top.text(0.5, 0.0, words.empty.format(days=span), ha="center", va="center", fontsize=13,
                     color=c.muted, transform=top.transAxes, wrap=True)
            continue
        finished = sum(1 for s in window_sessions if s[2])
        top.text(0.0, 1.0, words.counts.format(started=len(window_sessions), finished=finished,
                                               checkins=len(window_checkins)),
                 transform=top.transAxes, fontsize=9, color=c.text, va="bottom", ha="left")
        top.set_title(words.title.format(days=span), fontsize=14, loc="left", pad=18)
        _draw_moods(top, mood_points(window_checkins, span, words, end=end), start, end, words, c,
                    annotate=span <= 14)
        _draw_sessions(bottom, window_sessions, first_day, span, words, c)
    return fig


def render_history_png(store: HistorySource, days: tuple[int, ...] = (7,), *, now: datetime | None = None,
                       height: float = 7.0, dark: bool = False) -> bytes:
    """The chart as PNG bytes (what the history window shows)."""
    fig = draw_history(store, days, now=now, height=height, dark=dark)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_history_plot(store: HistorySource, path: Path, days: tuple[int, ...] = (7, 30), *,
                       now: datetime | None = None) -> Path:
    """Draws the chart for each window in `days` side by side and writes a PNG (`companion history --plot`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_history(store, days, now=now).savefig(path, format="png")
    return path


def _draw_moods(ax: Any, points: list[MoodPoint], start: datetime, end: datetime, words: PictureWords,
                c: ChartColours, *, annotate: bool) -> None:
    ax.axhspan(MOOD_MIDDLE, 10.4, color=c.good, alpha=0.06, lw=0)
    ax.axhspan(-0.4, MOOD_MIDDLE, color=c.hard, alpha=0.06, lw=0)
    ax.axhline(MOOD_MIDDLE, color=c.middle, lw=0.8, ls="--")
    if len(points) > 1:
        ax.plot([p.x for p in points], [p.mood for p in points], "-", color=c.line, lw=1, zorder=1)
    colours = {"good": c.good, "hard": c.hard, "other": c.other}
    for i, p in enumerate(points):
        colour = colours[p.polarity]
        ax.plot([p.x], [p.mood], "o", ms=8, zorder=3, color=colour,
                markerfacecolor=colour if p.rated else c.background, markeredgewidth=2)
        if annotate and p.feeling:
            below = (i % 2 == 1 and p.mood >= 1.0) or p.mood > 9.0
            ax.annotate(p.feeling, (p.x, p.mood), textcoords="offset points", xytext=(0, -14 if below else 9),
                        ha="center", fontsize=8, color=colour)
    if any(not p.rated for p in points):
        ax.plot([], [], "o", color=c.other, markerfacecolor=c.background, markeredgewidth=2,
                label=words.no_intensity)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_ylim(-0.4, 10.4)
    ax.set_yticks([0, MOOD_MIDDLE, 10], [words.mood_bottom, words.mood_middle, words.mood_top])
    ax.set_xlim(start, end)
    ax.set_ylabel(words.checkins_axis)
    _day_axis(ax, start.date(), (end - start).days)


def _draw_sessions(ax: Any, rows: list[tuple[datetime, str, bool]], first_day: date, span: int,
                   words: PictureWords, c: ChartColours) -> None:
    """Stacked bars per day: each kind's finished exercises solid, its stopped-early ones hatched on top."""
    from matplotlib.patches import Patch

    per_day: dict[tuple[str, bool], Counter[date]] = defaultdict(Counter)
    for started, kind, completed in rows:
        per_day[(kind, completed)][started.date()] += 1
    day_list = [first_day + timedelta(days=i) for i in range(span)]
    x = [datetime.combine(d, datetime.min.time()) + timedelta(hours=12) for d in day_list]
    bottom = [0] * span
    kinds = sorted({k for k, _ in per_day})
    for completed in (True, False):
        for kind in kinds:
            heights = [per_day[(kind, completed)][d] for d in day_list]
            if not any(heights):
                continue
            colour = kind_colour(kind)
            if completed:
                ax.bar(x, heights, width=0.7, bottom=bottom, color=colour)
            else:
                ax.bar(x, heights, width=0.7, bottom=bottom, facecolor=c.background, edgecolor=colour, hatch="///",
                       lw=1.2)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    top = max(bottom) if bottom else 0
    ax.set_ylim(0, max(3, top + 1))
    ax.yaxis.get_major_locator().set_params(integer=True)
    start = datetime.combine(first_day, datetime.min.time())
    ax.set_xlim(start, start + timedelta(days=span))
    ax.set_ylabel(words.sessions_axis)
    ax.grid(axis="y", alpha=0.3)
    _day_axis(ax, first_day, span)
    handles = [Patch(color=kind_colour(k), label=k) for k in kinds]
    handles.append(Patch(facecolor=c.muted, label=words.finished))
    handles.append(Patch(facecolor=c.background, edgecolor=c.muted, hatch="///", label=words.stopped))
    ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, ncols=min(4, len(handles)))


def _day_axis(ax: Any, first_day: date, span_days: int) -> None:
    """One label per day at its middle (never a label for tomorrow), a faint line between days."""
    import matplotlib.dates as mdates

    step = 1 if span_days <= 10 else max(1, span_days // 8)
    middles = [datetime.combine(first_day + timedelta(days=i), datetime.min.time()) + timedelta(hours=12)
               for i in range(span_days - 1, -1, -step)]  # counted back from today, so today is labelled
    ax.set_xticks(sorted(middles))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a\n%d %b" if span_days <= 10 else "%d %b"))
    ax.tick_params(axis="x", which="major", length=0 if span_days <= 10 else 3, labelsize=8)
    if span_days <= 10:
        midnights = [datetime.combine(first_day + timedelta(days=i), datetime.min.time())
                     for i in range(1, span_days)]
        ax.set_xticks(midnights, minor=True)
        ax.tick_params(axis="x", which="minor", length=0)
        ax.grid(axis="x", which="minor", alpha=0.25)
