"""Visual breathing pacer: a small always-on-top Tk window whose circle follows the session's phase events.

It animates from each phase's planned start on the session's own monotonic clock, so picture and voice share
one timeline; it never paces anything itself and only runs on the Tk (main) thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import queue
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from companion.core.events import Event
from companion.desktop import texts

log = logging.getLogger(__name__)

FRAME_MS = 33        # ~30 frames per second while a session runs
IDLE_POLL_MS = 200   # queue polling when nothing animates (keeps idle CPU near zero)
HIDE_AFTER_END_MS = 2500
SIZE = 220
R_MIN, R_MAX = 30.0, 95.0
CIRCLE_COLOUR = "#3cb4a0"
BACKGROUND = "#1e1e28"


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


def level_to_radius(level: float) -> float:
    return R_MIN + (R_MAX - R_MIN) * level


class PacerModel:
    """The timeline state behind the circle, free of Tk so it can be tested with explicit times.

    Times are absolute monotonic seconds; `t0` is the session start on that clock (taken when the `start`
    event arrived, minus its `t`).
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
            self.phase = {"name": str(event.data.get("name", "")), "cycle": int(event.data.get("cycle", 0)),
                          "planned": float(planned), "seconds": float(event.data.get("seconds", 0.0))}
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

    def level(self, now: float) -> float:
        """The circle level at monotonic time `now`; records a phase's first drawn frame in `animated`."""
        if self.phase is None or self.t0 is None:
            return self._level
        if self.paused_at is not None:
            now = self.paused_at
        elapsed = now - (self.t0 + self.phase["planned"] + self.shift)
        if elapsed < 0:  # the event arrived a touch early: hold the previous picture until the phase starts
            return self._level
        if not self._phase_shown:
            self._phase_shown = True
            self.animated.append(AnimatedPhase(self.phase["name"], self.phase["cycle"], self.phase["planned"],
                                               self.phase["seconds"], round(now - self.t0, 4)))
        seconds = self.phase["seconds"]
        progress = 1.0 if seconds <= 0 else elapsed / seconds
        self._level = phase_level(self.phase["name"], min(1.0, progress), self._level_at_phase_start)
        return self._level


class PacerWindow:
    """The Tk window. Construct and drive it on the main thread; feed it with `submit` from any thread.

    `actions` maps "pause", "resume", "stop" to callables run when the buttons are pressed. When `log_path`
    is given, every animated phase is appended to it as a JSON line (for tests and benchmarks).
    """

    def __init__(self, actions: dict[str, Callable[[], None]], *, log_path: Path | None = None,
                 root: Any = None) -> None:
        import tkinter as tk

        self._tk = tk
        self.model = PacerModel()
        self.queue: queue.Queue[tuple[str, Any, float]] = queue.Queue()
        self._actions = actions
        self._log_path = log_path
        self._logged = 0
        self._hide_job: str | None = None
        self._closed = False
        words = texts()["pacer"]
        self._words = words
        self.root = root if root is not None else tk.Tk(className="companion")
        self.win = self.root if root is None else tk.Toplevel(self.root)
        self.win.title(words["title"])
        self.win.configure(bg=BACKGROUND)
        self.win.geometry(f"{SIZE}x{SIZE + 110}+40+60")
        self.win.resizable(False, False)
        self.win.attributes("-topmost", True)
        self.win.protocol("WM_DELETE_WINDOW", self._hide)
        self.canvas = tk.Canvas(self.win, width=SIZE, height=SIZE, bg=BACKGROUND, highlightthickness=0)
        self.canvas.pack()
        c = SIZE / 2
        self.circle = self.canvas.create_oval(c - R_MIN, c - R_MIN, c + R_MIN, c + R_MIN,
                                              fill=CIRCLE_COLOUR, outline="")
        self.phase_text = self.canvas.create_text(c, c, text="", fill="white", font=("TkDefaultFont", 12))
        self.caption = tk.Label(self.win, text="", wraplength=SIZE - 10, bg=BACKGROUND, fg="white",
                                justify="center", height=3)
        self.caption.pack(fill="x")
        bar = tk.Frame(self.win, bg=BACKGROUND)
        bar.pack()
        self.pause_button = tk.Button(bar, text=words["pause"], command=self._pause_clicked)
        self.pause_button.pack(side="left", padx=4, pady=4)
        self.stop_button = tk.Button(bar, text=words["stop"], command=lambda: self._act("stop"))
        self.stop_button.pack(side="left", padx=4, pady=4)
        self.radius = R_MIN
        self.win.withdraw()
        self._tick_job = self.root.after(IDLE_POLL_MS, self._tick)

    # --- feeding (any thread) -------------------------------------------------------------------------
    def submit(self, event: Event) -> None:
        """Bus listener: stamps arrival on the monotonic clock here, on the emitting thread, then queues."""
        if event.kind in {"start", "phase", "say", "caption", "pause", "resume", "end"}:
            self.queue.put(("event", event, time.monotonic()))

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Runs `fn` on the Tk thread at the next tick (how other threads reach Tk)."""
        self.queue.put(("call", fn, time.monotonic()))

    # --- Tk thread ------------------------------------------------------------------------------------
    def _act(self, name: str) -> None:
        fn = self._actions.get(name)
        if fn is not None:
            fn()

    def _pause_clicked(self) -> None:
        self._act("resume" if self.model.paused_at is not None else "pause")

    def _hide(self) -> None:
        self._hide_job = None
        self.win.withdraw()

    def show(self) -> None:
        if self._hide_job is not None:
            self.root.after_cancel(self._hide_job)
            self._hide_job = None
        self.win.deiconify()
        self.win.lift()

    def _drain(self) -> None:
        while True:
            try:
                what, item, arrived = self.queue.get_nowait()
            except queue.Empty:
                return
            if what == "call":
                try:
                    item()
                except Exception:
                    log.exception("pacer call failed")
                continue
            event: Event = item
            self.model.on_event(event, arrived)
            if event.kind == "start":
                self.show()
            elif event.kind == "pause":
                self.pause_button.configure(text=self._words["resume"])
                self.canvas.itemconfigure(self.phase_text, text=self._words["paused"])
            elif event.kind == "resume":
                self.pause_button.configure(text=self._words["pause"])
            elif event.kind == "end":
                self.pause_button.configure(text=self._words["pause"])
                self._hide_job = self.root.after(HIDE_AFTER_END_MS, self._hide)

    def _draw(self) -> None:
        level = self.model.level(time.monotonic())
        r = level_to_radius(level)
        self.radius = r
        c = SIZE / 2
        self.canvas.coords(self.circle, c - r, c - r, c + r, c + r)
        phase = self.model.phase
        if phase is not None and self.model.paused_at is None:
            self.canvas.itemconfigure(self.phase_text, text=self._words["phases"].get(phase["name"], ""))
        self.caption.configure(text=self.model.caption)
        self._flush_log()

    def _flush_log(self) -> None:
        new = self.model.animated[self._logged:]
        if not new:
            return
        self._logged += len(new)
        if self._log_path is not None:
            with self._log_path.open("a", encoding="utf-8") as f:
                for entry in new:  # rounded like Event.to_json, so lines compare with an --events file
                    f.write(json.dumps({**asdict(entry), "planned": round(entry.planned, 4)}) + "\n")

    def _tick(self) -> None:
        if self._closed:
            return
        self._drain()
        animating = self.model.running  # frame rate for the whole session, so a phase shows within a frame
        if self.model.phase is not None:
            self._draw()
            if not self.model.running:
                self.model.phase = None  # the session ended: keep the last picture, stop redrawing
        self._tick_job = self.root.after(FRAME_MS if animating else IDLE_POLL_MS, self._tick)

    def close(self) -> None:
        self._closed = True
        if self._tick_job is not None:
            with contextlib.suppress(Exception):
                self.root.after_cancel(self._tick_job)
        if self.win is not self.root:
            self.win.destroy()
