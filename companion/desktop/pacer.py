"""The breathing picture inside the companion window: a circle that follows the session's phase events (or, in
reduced-motion mode, keeps its size and changes colour and counts down), the phase word, and the pattern's
progress (breath n of m, time left).

It animates from each phase's planned start on the session's own monotonic clock, so picture and voice share one
timeline; it never paces anything itself, and its Tk part only runs on the Tk (main) thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from companion.core.events import Event

R_MIN_SHARE = 0.3    # smallest circle as a share of the largest
BAND_SHARE = 0.18    # the phase word's band under the circle, as a share of the canvas height
MIN_BAND = 30
REDUCED_LEVEL = 0.85  # the circle's fixed size in reduced-motion mode


@dataclass(frozen=True)
class AnimatedPhase:
    """One phase as the window animated it: the timeline values it used and when its first frame showed.

    `planned` and `seconds` come from the phase event; `shown` is seconds since the session start (same clock)
    when the first frame of the phase was drawn.
    """

    name: str
    cycle: int
    planned: float
    seconds: float
    shown: float


def ease(x: float) -> float:
    """Smooth start and end of a breath (cosine ease-in-out) on progress 0..1."""
    x = min(1.0, max(0.0, x))
    return 0.5 - 0.5 * math.cos(math.pi * x)


def phase_level(name: str, progress: float, level_at_start: float) -> float:
    """Circle level 0 (smallest) .. 1 (largest) `progress` (0..1) through a phase."""
    if name == "inhale":
        return level_at_start + (1.0 - level_at_start) * ease(progress)
    if name == "exhale":
        return level_at_start * (1.0 - ease(progress))
    if name == "rest":
        return 0.0 if progress >= 1.0 else level_at_start * (1.0 - ease(progress))
    return level_at_start  # hold keeps the size the previous phase ended at


def level_to_radius(level: float, r_min: float, r_max: float) -> float:
    return r_min + (r_max - r_min) * level


def clock_text(seconds: float) -> str:
    """Seconds as m:ss (rounded up, so the last second reads 0:01, not 0:00)."""
    whole = max(0, math.ceil(seconds - 1e-6))
    return f"{whole // 60}:{whole % 60:02d}"


class PacerModel:
    """The timeline state behind the circle, free of Tk so it can be tested with explicit times.

    Times are absolute monotonic seconds; `t0` is the session start on that clock (taken when the `start`
    event arrived, minus its `t`). A `start` clears everything from the session before (no stale frame).
    """

    def __init__(self) -> None:
        self.t0: float | None = None
        self.running = False
        self.paused_at: float | None = None
        self.shift = 0.0  # seconds the current phase was pushed back by a pause not yet re-timed by an event
        self.phase: dict[str, Any] | None = None
        self._level_at_phase_start = 0.0
        self._level = 0.0
        self.caption = ""
        self.title = ""
        self.animated: list[AnimatedPhase] = []
        self._phase_shown = True

    def on_event(self, event: Event, arrived: float) -> None:
        kind = event.kind
        if kind == "start":
            self.t0 = arrived - event.t
            self.running = True
            self.paused_at = None
            self.shift = 0.0
            self.phase = None
            self._level = self._level_at_phase_start = 0.0
            self.title = str(event.data.get("title", ""))
            self.caption = ""
        elif kind == "phase" and self.running:
            if self.t0 is None:
                self.t0 = arrived - event.t
            planned = event.planned if event.planned is not None else event.t
            self._level_at_phase_start = self._level
            data = event.data
            self.phase = {"name": str(data.get("name", "")), "cycle": int(data.get("cycle", 0)),
                          "planned": float(planned), "seconds": float(data.get("seconds", 0.0)),
                          "cycles": data.get("cycles"), "left": data.get("left")}
            self.shift = 0.0
            self._phase_shown = False
        elif kind == "say" or (kind == "caption" and event.data.get("who") == "companion"
                                and not event.data.get("partial")):
            self.caption = str(event.data.get("text", ""))
        elif kind == "pause":
            self.paused_at = arrived
        elif kind == "resume":
            if self.paused_at is not None:
                self.shift += arrived - self.paused_at
            self.paused_at = None
        elif kind == "end":
            self.running = False
            self.paused_at = None

    def elapsed(self, now: float) -> float | None:
        """Seconds into the current phase at `now` (frozen while paused); None before it starts."""
        if self.phase is None or self.t0 is None:
            return None
        if self.paused_at is not None:
            now = self.paused_at
        elapsed = now - (self.t0 + self.phase["planned"] + self.shift)
        return None if elapsed < 0 else elapsed

    def level(self, now: float) -> float:
        """The circle level at monotonic time `now`; records a phase's first drawn frame in `animated`."""
        elapsed = self.elapsed(now)
        if elapsed is None or self.phase is None or self.t0 is None:
            return self._level  # the event arrived a touch early: hold the previous picture until it starts
        if not self._phase_shown:
            self._phase_shown = True
            shown_at = now if self.paused_at is None else self.paused_at
            self.animated.append(AnimatedPhase(self.phase["name"], self.phase["cycle"], self.phase["planned"],
                                               self.phase["seconds"], round(shown_at - self.t0, 4)))
        seconds = self.phase["seconds"]
        progress = 1.0 if seconds <= 0 else elapsed / seconds
        self._level = phase_level(self.phase["name"], min(1.0, progress), self._level_at_phase_start)
        return self._level

    @property
    def last_level(self) -> float:
        """The level of the last drawn frame (for a redraw without time passing, e.g. a resize)."""
        return self._level

    def phase_left(self, now: float) -> float | None:
        """Seconds left in the current phase."""
        elapsed = self.elapsed(now)
        if elapsed is None or self.phase is None:
            return None
        return max(0.0, self.phase["seconds"] - elapsed)

    def session_left(self, now: float) -> float | None:
        """Seconds of breathing left (from the phase event's `left`), None when the event did not say."""
        elapsed = self.elapsed(now)
        if self.phase is None or self.phase.get("left") is None:
            return None
        return max(0.0, float(self.phase["left"]) - (elapsed or 0.0))


def fit_font(tk_font: Any, text: str, width: float, height: float, largest: int, smallest: int = 7) -> int:
    """The largest font size (points, from `largest` down) at which every line of `text` fits width × height."""
    lines = text.split("\n") or [""]
    size = largest
    while size > smallest:
        tk_font.configure(size=size)
        widest = max(tk_font.measure(line) for line in lines)
        tall = tk_font.metrics("linespace") * len(lines)
        if widest <= width and tall <= height:
            break
        size -= 1
    tk_font.configure(size=size)
    return size


class PacerView:
    """The breathing canvas (circle + phase word + countdown) and its progress line, inside `parent`.

    Drive it with `draw(now)` from the window's frame tick; `reset()` on a new session.
    """

    def __init__(self, parent: Any, model: PacerModel, theme: Any, words: dict[str, Any], *,
                 reduced_motion: bool = False) -> None:
        import tkinter as tk
        import tkinter.font as tkfont

        self.model = model
        self.theme = theme
        self.words = words
        self.reduced_motion = reduced_motion
        self.frame = tk.Frame(parent, bg=theme.background)
        self.progress = tk.Label(self.frame, text="", bg=theme.background, fg=theme.muted,
                                 font=("TkDefaultFont", 11))
        self.progress.pack(side="top", fill="x", pady=(2, 0))
        self.canvas = tk.Canvas(self.frame, width=320, height=300, bg=theme.background, highlightthickness=0)
        self.canvas.pack(side="top", fill="both", expand=True)
        self.word_font = tkfont.Font(family="TkDefaultFont", size=18, weight="bold")
        self.count_font = tkfont.Font(family="TkDefaultFont", size=28, weight="bold")
        self.circle = self.canvas.create_oval(0, 0, 1, 1, fill=theme.phase["inhale"], outline="")
        self.count_text = self.canvas.create_text(0, 0, text="", fill=theme.phase_text["inhale"],
                                                  font=self.count_font)
        self.phase_text = self.canvas.create_text(0, 0, text="", fill=theme.text, font=self.word_font)
        self.radius = 0.0
        self.fill = theme.phase["inhale"]
        self._shown: dict[str, str] = {}
        self._started = False
        self.canvas.bind("<Configure>", lambda _e: self._relayout())

    # --- geometry ----------------------------------------------------------------------------------------
    def geometry(self) -> tuple[float, float, float, float, float, float]:
        """(centre x, centre y, smallest radius, largest radius, band top, band height) for the canvas now."""
        w = max(60, self.canvas.winfo_width())
        h = max(80, self.canvas.winfo_height())
        band = max(MIN_BAND, h * BAND_SHARE)
        r_max = max(20.0, min(w, h - band) / 2 - 8)
        return w / 2, (h - band) / 2, r_max * R_MIN_SHARE, r_max, h - band, band

    def phase_box(self) -> tuple[float, float, float, float]:
        """The box the phase word must stay inside: the band under the circle."""
        w = max(60, self.canvas.winfo_width())
        _, _, _, _, top, band = self.geometry()
        return 6.0, top, w - 6.0, top + band

    def _relayout(self) -> None:
        self._shown.clear()
        self.draw(None)

    def reset(self) -> None:
        """A new session: small circle, "Get ready", no count (never the last session's frame)."""
        self._shown.clear()
        self._started = False
        self.progress.configure(text="")
        self.draw(None)

    # --- drawing -----------------------------------------------------------------------------------------
    def _set_text(self, item: int, key: str, text: str, font: Any, box: tuple[float, float], largest: int) -> None:
        if self._shown.get(key) == text:
            return
        self._shown[key] = text
        fit_font(font, text, box[0], box[1], largest)
        self.canvas.itemconfigure(item, text=text)

    def draw(self, now: float | None) -> None:
        """One frame at monotonic `now` (None: redraw what is there, e.g. after a resize)."""
        m = self.model
        cx, cy, r_min, r_max, top, band = self.geometry()
        phase = m.phase
        name = phase["name"] if phase is not None else "inhale"
        level = m.level(now) if now is not None else m.last_level
        if self.reduced_motion:
            r = level_to_radius(REDUCED_LEVEL, r_min, r_max)
        else:
            r = level_to_radius(level, r_min, r_max)
        self.radius = r
        self.canvas.coords(self.circle, cx - r, cy - r, cx + r, cy + r)
        if now is not None:
            self._started = phase is not None and m.elapsed(now) is not None
        started = phase is not None and self._started
        fill = self.theme.phase.get(name, self.theme.accent) if started or not self.reduced_motion \
            else self.theme.phase["rest"]
        if fill != self.fill:
            self.fill = fill
            self.canvas.itemconfigure(self.circle, fill=fill)
            self.canvas.itemconfigure(self.count_text, fill=self.theme.phase_text.get(name, self.theme.text))
        # the phase word, in the band under the circle
        if m.paused_at is not None:
            word = self.words["paused"]
        elif phase is None or not started:
            word = self.words["ready"] if m.running else ""
        else:
            word = self.words["phases"].get(name, "")
        self.canvas.coords(self.phase_text, cx, top + band / 2)
        w = max(60, self.canvas.winfo_width())
        self._set_text(self.phase_text, "word", word, self.word_font, (w - 16, band - 4), 22)
        # the seconds left in this phase, inside the circle in reduced-motion mode (text instead of motion)
        count = ""
        if self.reduced_motion and now is not None and started and m.running:
            left = m.phase_left(now)
            count = str(max(1, math.ceil(left - 1e-6))) if left is not None else ""
        self.canvas.coords(self.count_text, cx, cy)
        self._set_text(self.count_text, "count", count, self.count_font, (r * 1.3, r * 1.3), 40)
        if now is not None:
            self._draw_progress(now)

    def _draw_progress(self, now: float) -> None:
        m = self.model
        phase = m.phase
        if phase is None or not m.running:
            return
        parts: list[str] = []
        if phase.get("cycles"):
            parts.append(self.words["breath_of"].format(n=phase["cycle"], total=phase["cycles"]))
        left = m.session_left(now)
        if left is not None:
            parts.append(self.words["time_left"].format(time=clock_text(left)))
        text = " · ".join(parts)
        if self._shown.get("progress") != text:
            self._shown["progress"] = text
            self.progress.configure(text=text)
