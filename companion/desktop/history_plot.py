"""The history picture: check-ins (how strong, which feeling) and exercises per day, as a PNG via matplotlib.

Never needs a display (Agg backend) and never judges: it shows what was recorded, and says so kindly when
nothing was.
"""

from __future__ import annotations

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
CHECKIN_COLOUR = "#333333"


class HistorySource(Protocol):
    """What the picture reads (companion.core.store.Store has these)."""

    def sessions(self, days: int) -> Sequence[Any]: ...

    def checkins(self, days: int) -> Sequence[Any]: ...


@dataclass(frozen=True)
class PictureWords:
    title: str
    checkins_axis: str
    sessions_axis: str
    no_intensity: str
    empty: str

    @classmethod
    def load(cls) -> PictureWords:
        raw = yaml.safe_load(resources.files("companion.data").joinpath("checkins.yaml")
                             .read_text(encoding="utf-8")) or {}
        words = raw.get("history_picture") or {}
        missing = [f for f in cls.__dataclass_fields__ if not isinstance(words.get(f), str)]
        if missing:
            raise ValueError(f"checkins.yaml: history_picture needs the texts {missing}")
        return cls(**{f: words[f] for f in cls.__dataclass_fields__})


def kind_colour(kind: str) -> str:
    return KIND_COLOURS.get(kind) or EXTRA_COLOURS[zlib.crc32(kind.encode()) % len(EXTRA_COLOURS)]


def local_time(stamp: str | datetime) -> datetime:
    """A stored UTC ISO timestamp as naive local time (naive input is taken as UTC)."""
    moment = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(str(stamp))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().replace(tzinfo=None)


def write_history_plot(store: HistorySource, path: Path, days: tuple[int, ...] = (7, 30), *,
                       now: datetime | None = None) -> Path:
    """Draws one column per window in `days` (top: check-ins, bottom: exercises per day) and writes a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)  # no display needed; leaves an already chosen backend alone
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if not days or any(int(d) < 1 for d in days):
        raise ValueError(f"days must be one or more positive numbers of days, not {days!r}")
    words = PictureWords.load()
    now = now or datetime.now()
    longest = max(days)
    checkins = [(local_time(c.at), c.feeling, c.intensity) for c in store.checkins(longest)]
    sessions = [(local_time(s.started_at), s.kind, bool(s.completed)) for s in store.sessions(longest)]

    oldest = datetime.combine(now.date() - timedelta(days=longest - 1), datetime.min.time())
    anything = any(t >= oldest for t, *_ in checkins + sessions)
    fig = Figure(figsize=(6.5 * len(days), 7.5 if anything else 3.0), dpi=100, layout="constrained")
    grid = fig.subplots(2, len(days), squeeze=False, height_ratios=(3, 2))
    kinds_shown: set[str] = set()
    for col, span in enumerate(days):
        first_day = now.date() - timedelta(days=span - 1)
        start = datetime.combine(first_day, datetime.min.time())
        end = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
        window_checkins = [c for c in checkins if start <= c[0] < end]
        window_sessions = [s for s in sessions if start <= s[0] < end]
        top, bottom = grid[0][col], grid[1][col]
        top.set_title(words.title.format(days=span), fontsize=14, loc="left")
        if not window_checkins and not window_sessions:
            for ax in (top, bottom):
                ax.set_axis_off()
            top.text(0.5, 0.0, words.empty.format(days=span), ha="center", va="center", fontsize=13,
                     color="#555555", transform=top.transAxes, wrap=True)
            continue
        _draw_checkins(top, window_checkins, start, end, words, annotate=span <= 14)
        kinds_shown |= _draw_sessions(bottom, window_sessions, first_day, span, words)
    if kinds_shown:
        handles = [Patch(color=kind_colour(k), label=k) for k in sorted(kinds_shown)]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(6, len(handles)), frameon=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _draw_checkins(ax: Any, rows: list[tuple[datetime, str | None, int | None]], start: datetime,
                   end: datetime, words: PictureWords, *, annotate: bool) -> None:
    rated = sorted((t, f, i) for t, f, i in rows if i is not None)
    unrated = [(t, f) for t, f, i in rows if i is None]
    if rated:
        ax.plot([r[0] for r in rated], [r[2] for r in rated], "-o", color=CHECKIN_COLOUR, lw=1.2, ms=6,
                alpha=0.85)
        if annotate:
            for t, feeling, intensity in rated:
                if feeling:
                    ax.annotate(str(feeling), (t, intensity), textcoords="offset points", xytext=(0, 7),
                                ha="center", fontsize=8, color="#333333")
    if unrated:
        ax.plot([u[0] for u in unrated], [-0.6] * len(unrated), "d", color="#777777", ms=6,
                label=words.no_intensity)
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    ax.set_ylim(-1.2, 11)
    ax.set_yticks(range(0, 11, 2))
    ax.set_xlim(start, end)
    ax.set_ylabel(words.checkins_axis)
    ax.grid(axis="y", alpha=0.3)
    _date_axis(ax, (end - start).days)


def _draw_sessions(ax: Any, rows: list[tuple[datetime, str, bool]], first_day: date, span: int,
                   words: PictureWords) -> set[str]:
    per_day: dict[str, Counter[date]] = defaultdict(Counter)
    for started, kind, _completed in rows:
        per_day[kind][started.date()] += 1
    day_list = [first_day + timedelta(days=i) for i in range(span)]
    x = [datetime.combine(d, datetime.min.time()) + timedelta(hours=12) for d in day_list]
    bottom = [0] * span
    for kind in sorted(per_day):
        heights = [per_day[kind][d] for d in day_list]
        ax.bar(x, heights, width=0.8, bottom=bottom, color=kind_colour(kind), label=kind)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    top = max(bottom) if bottom else 0
    ax.set_ylim(0, max(3, top + 1))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(datetime.combine(first_day, datetime.min.time()),
                datetime.combine(first_day + timedelta(days=span), datetime.min.time()))
    ax.set_ylabel(words.sessions_axis)
    ax.grid(axis="y", alpha=0.3)
    _date_axis(ax, span)
    return set(per_day)


def _date_axis(ax: Any, span_days: int) -> None:
    import matplotlib.dates as mdates

    if span_days <= 10:
        ax.xaxis.set_major_locator(mdates.DayLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%a\n%d %b"))
    else:
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, span_days // 8)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.tick_params(axis="x", labelsize=8)
