"""The one companion window: every line the companion speaks, shown as it is spoken (the latest large, all of
them in a transcript), with the panel for what is going on — the breathing picture, an exercise's steps with a
field for typed answers, a check-in, Talk, or "How I listen" — and a clear ending with "Again".

It renders the app's events and hands clicks and keys to the `actions` callbacks; it never runs a session or
decides anything, and it only touches Tk on the main thread (other threads use `submit` and `call_soon`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from companion.core.events import Event
from companion.desktop import texts
from companion.desktop.pacer import PacerModel, PacerView
from companion.desktop.panels import CheckinPanel, StepsPanel, TalkPanel, VoicePanel, button, keep_wrapped
from companion.desktop.theme import Theme, choose_reduced_motion, choose_theme

log = logging.getLogger(__name__)

FRAME_MS = 33          # ~30 frames per second while the breathing picture moves
IDLE_POLL_MS = 1000    # otherwise only a safety net: events wake the window at once through a pipe
PROGRESS_MS = 200      # the download's progress bar
HIDE_AFTER_END_MS = 60_000  # an ended session's window closes by itself after a minute
WIDTH, HEIGHT = 460, 620
MIN_WIDTH, MIN_HEIGHT = 340, 460
EVENT_KINDS = frozenset({"start", "phase", "say", "caption", "pause", "resume", "end", "state", "listen",
                         "heard", "checkin", "crisis"})
ACTIONS = ("pause", "resume", "stop", "again", "text", "talk", "not_now")
TRANSCRIPT_LINES = 500   # the oldest lines go beyond this
RESPECT_CLOSE_S = 15.0   # a line said this soon after the person closed the window does not reopen it


class CompanionWindow:
    """The Tk window. Construct and drive it on the main thread; feed it with `submit` from any thread.

    `actions` maps "pause", "resume", "stop", "talk", "not_now" to callables without arguments, "text" to one
    taking the typed line, "again" to one taking (exercise id, kind). When `log_path` is given, every animated
    breathing phase is appended to it as a JSON line (for tests and benchmarks).
    """

    def __init__(self, actions: dict[str, Callable[..., Any]], *, log_path: Path | None = None,
                 root: Any = None, theme: Theme | None = None, reduced_motion: bool | None = None,
                 config: Any = None) -> None:
        import tkinter as tk

        self._tk = tk
        self.theme = theme or choose_theme(config)
        self.reduced_motion = choose_reduced_motion(config) if reduced_motion is None else reduced_motion
        self.model = PacerModel()
        self.queue: queue.Queue[tuple[str, Any, float]] = queue.Queue()
        self._actions = actions
        self._log_path = log_path
        self._logged = 0
        self._hide_job: str | None = None
        self._tick_job: str | None = None
        self._closed = False
        self.mode = "idle"
        self.exercise: tuple[str, str] | None = None  # (id, kind) of the session shown
        self.transcript_lines: list[str] = []
        self._question = ""
        self._last_said = ""
        self._closed_at = float("-inf")  # when the person last closed the window
        all_words = texts()
        self.words: dict[str, Any] = dict(all_words["window"])  # copies: the cached texts stay untouched
        self.pacer_words: dict[str, Any] = dict(all_words["pacer"])
        self.history: Any = None  # the history window, once opened (companion.desktop.history_window)
        self.root = root if root is not None else tk.Tk(className="companion")
        self.win = self.root if root is None else tk.Toplevel(self.root)
        self._build()
        self.win.withdraw()
        # Other threads wake the Tk loop by writing a byte to this pipe: an event is shown at once, without
        # polling fast (and without calling Tk from another thread).
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.root.tk.createfilehandler(self._wake_r, tk.READABLE, self._woken)
        self._tick_job = self.root.after(IDLE_POLL_MS, self._tick)

    # --- building ----------------------------------------------------------------------------------------
    def _build(self) -> None:
        tk, t, w = self._tk, self.theme, self.words
        win = self.win
        win.title(w["title"])
        win.configure(bg=t.background)
        height = max(MIN_HEIGHT, min(HEIGHT, win.winfo_screenheight() - 60))  # fits small screens too
        win.geometry(f"{WIDTH}x{height}+40+20")
        win.minsize(MIN_WIDTH, MIN_HEIGHT)
        win.resizable(True, True)
        win.attributes("-topmost", True)
        win.protocol("WM_DELETE_WINDOW", self.hide)
        self.title = tk.Label(win, text=w["title"], bg=t.background, fg=t.text, anchor="w",
                              font=("TkDefaultFont", 16, "bold"))
        self.title.pack(side="top", fill="x", padx=14, pady=(10, 0))
        self._build_lines()  # bottom first, so the stage takes what is left when the window is small
        self._build_stage()
        win.bind("<space>", self._space)
        win.bind("<Escape>", self._escape)
        self._set_mode("idle")

    def _build_lines(self) -> None:
        """The bottom part: buttons, the answer field, the transcript, what was heard, the spoken line."""
        tk, t, w, win = self._tk, self.theme, self.words, self.win
        self.buttons = tk.Frame(win, bg=t.background)
        self.buttons.pack(side="bottom", fill="x", padx=10, pady=(4, 10))
        self.pause_button = button(self.buttons, t, self.pacer_words["pause"], self._pause_clicked, name="pause")
        self.stop_button = button(self.buttons, t, self.pacer_words["stop"], self._stop_clicked, name="stop")
        self.again_button = button(self.buttons, t, w["again"], self._again_clicked, name="again", primary=True)
        self.close_button = button(self.buttons, t, w["close"], self.hide, name="close")
        self.talk_button = button(self.buttons, t, w["talk"], lambda: self._act("talk"), name="talk")
        self.answer_row = tk.Frame(win, bg=t.background)
        self.answer = tk.Entry(self.answer_row, bg=t.surface, fg=t.text, insertbackground=t.text,
                               relief="flat", highlightthickness=1, highlightbackground=t.border,
                               highlightcolor=t.accent, font=("TkDefaultFont", 12), name="answer")
        self.answer.pack(side="left", fill="x", expand=True, ipady=5)
        self.send_button = button(self.answer_row, t, w["send"], self._send, name="send", primary=True)
        self.send_button.pack(side="left", padx=(6, 0))
        self.answer.bind("<Return>", lambda _e: self._send())
        self.answer_hint = tk.Label(win, text=w["answer_hint"], bg=t.background, fg=t.muted, anchor="w",
                                    font=("TkDefaultFont", 9))
        self.transcript = tk.Text(win, height=5, wrap="word", bg=t.surface, fg=t.muted, relief="flat",
                                  highlightthickness=0, font=("TkDefaultFont", 10), padx=8, pady=4,
                                  name="transcript", takefocus=0)
        self.transcript.tag_configure("you", foreground=t.accent)
        self.transcript.configure(state="disabled")
        self.transcript.pack(side="bottom", fill="x", padx=12, pady=(4, 2))
        self.heard = tk.Label(win, text="", bg=t.background, fg=t.muted, anchor="w", justify="left",
                              font=("TkDefaultFont", 11, "italic"))
        self.heard.pack(side="bottom", fill="x", padx=14)
        keep_wrapped(self.heard, 28)
        self.caption = tk.Label(win, text="", bg=t.background, fg=t.text, anchor="w", justify="left",
                                font=("TkDefaultFont", 14))
        self.caption.pack(side="bottom", fill="x", padx=14, pady=(4, 2))
        keep_wrapped(self.caption, 28)

    def _build_stage(self) -> None:
        """The panels, one shown at a time: breathing, steps, check-in, Talk, How I listen, a message."""
        tk, t, w = self._tk, self.theme, self.words
        self.stage = tk.Frame(self.win, bg=t.background)
        self.stage.pack(side="top", fill="both", expand=True, padx=6, pady=4)
        self.pacer = PacerView(self.stage, self.model, t, self.pacer_words, reduced_motion=self.reduced_motion)
        self.steps = StepsPanel(self.stage, t)
        self.checkin = CheckinPanel(self.stage, t, {**w["checkin"], "talk": w["talk"], "type": w["type"],
                                                    "not_now": w["not_now"]},
                                    on_answer=self._checkin_answer, on_talk=lambda: self._act("talk"),
                                    on_type=self._focus_answer, on_not_now=self._not_now)
        self.talk = TalkPanel(self.stage, t, w)
        self.voice = VoicePanel(self.stage, t, w["voice"])
        self.message = tk.Label(self.stage, text=w["idle"], bg=t.background, fg=t.text, justify="left",
                                anchor="nw", font=("TkDefaultFont", 13))
        keep_wrapped(self.message)
        self._panels = {"breathing": self.pacer.frame, "exercise": self.steps.frame,
                        "checkin": self.checkin.frame, "talk": self.talk.frame, "voice": self.voice.frame,
                        "idle": self.message, "ended": self.message}

    @property
    def radius(self) -> float:
        return self.pacer.radius

    # --- feeding (any thread) -----------------------------------------------------------------------------
    def submit(self, event: Event) -> None:
        """Bus listener: stamps arrival on the monotonic clock here, on the emitting thread, then queues."""
        if event.kind in EVENT_KINDS:
            self.queue.put(("event", event, time.monotonic()))
            self._wake()

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Runs `fn` on the Tk thread at once (how other threads reach Tk)."""
        self.queue.put(("call", fn, time.monotonic()))
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # full (a wake-up is pending anyway) or closed
            os.write(self._wake_w, b"!")

    def _woken(self, _fd: int, _mask: int) -> None:
        """Tk thread: the pipe has bytes; handle the queue now and go on at the right pace."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.read(self._wake_r, 4096)
        if self._closed:
            return
        if self._tick_job is not None:
            self.root.after_cancel(self._tick_job)
            self._tick_job = None
        self._tick()

    # --- showing ------------------------------------------------------------------------------------------
    def show(self) -> None:
        self._cancel_hide()
        self.win.deiconify()
        self.win.lift()

    def hide(self) -> None:
        """Closes the window (the person's Close, Escape, Not now): lines said just after do not reopen it."""
        self._closed_at = time.monotonic()
        self._withdraw()

    def _withdraw(self) -> None:
        self._cancel_hide()
        self.win.withdraw()

    def _cancel_hide(self) -> None:
        if self._hide_job is not None:
            self.root.after_cancel(self._hide_job)
            self._hide_job = None

    def _set_mode(self, mode: str) -> None:
        """Shows `mode`'s panel and its buttons: Pause/Stop in a session, Again/Close at its end, Talk/Close
        otherwise; the answer field where an answer is expected."""
        self.mode = mode
        panel = self._panels[mode]
        for other in set(self._panels.values()):
            if other is not panel:
                other.pack_forget()
        panel.pack(fill="both", expand=True)
        if mode == "idle":
            self.message.configure(text=self.words["idle"], anchor="nw", justify="left",
                                   font=("TkDefaultFont", 13))
        for b in (self.pause_button, self.stop_button, self.again_button, self.close_button, self.talk_button):
            b.pack_forget()
        shown = {"breathing": (self.pause_button, self.stop_button), "exercise": (self.pause_button, self.stop_button),
                 "ended": (self.again_button, self.close_button) if self.exercise else (self.close_button,),
                 "checkin": (self.close_button,)}.get(mode, (self.talk_button, self.close_button))
        self.pause_button.configure(text=self.pacer_words["pause"])
        for b in shown:
            b.pack(side="left", padx=4)
        self._show_answer(mode in ("talk", "exercise"))  # a check-in shows it on "Type"
        if mode in ("checkin", "voice"):  # panels with their own text: room for it on small screens
            self.transcript.pack_forget()
        elif not self.transcript.winfo_manager():
            self.transcript.pack(side="bottom", fill="x", padx=12, pady=(4, 2), before=self.heard)

    def _show_answer(self, on: bool) -> None:
        if on:
            self.answer_row.pack(side="bottom", fill="x", padx=12, pady=(2, 0), after=self.buttons)
            self.answer_hint.pack(side="bottom", fill="x", padx=14, after=self.answer_row)
        else:
            self.answer_row.pack_forget()
            self.answer_hint.pack_forget()

    # --- panels the shell opens (Tk thread: call through call_soon) ---------------------------------------
    def _clear_lines(self) -> None:
        self.caption.configure(text="")
        self.heard.configure(text="")

    def open_checkin(self) -> None:
        self._clear_lines()
        self.title.configure(text=self.words["checkin"]["title"])
        self.checkin.reset()
        self._set_mode("checkin")
        self.show()

    def open_talk(self) -> None:
        self._clear_lines()
        self.title.configure(text=self.words["talk_title"])
        self.talk.set_heard("", partial=False)
        self._set_mode("talk")
        self.show()
        self._focus_answer()

    def open_voice_info(self, text: str, choice: tuple[str, int] | None) -> None:
        self._clear_lines()
        self.title.configure(text=self.words["voice"]["title"])
        self.voice.show(text, choice)
        self._set_mode("voice")
        self.show()

    def open_exercise(self, exercise_id: str, kind: str, title: str) -> None:
        """Shows the panel for a session about to start (before its first event arrives)."""
        self.exercise = (exercise_id, kind)
        self.title.configure(text=title or self.words["title"])
        if kind == "breathing":
            self.model.phase = None
            self.pacer.reset()
            self._set_mode("breathing")
        else:
            self.steps.set_steps(list(self.words.get("steps", {}).get(exercise_id, [])))
            self._set_mode("exercise")
        self.show()

    # --- the person's actions ----------------------------------------------------------------------------
    def _act(self, name: str, *args: Any) -> None:
        fn = self._actions.get(name)
        if fn is not None:
            try:
                fn(*args)
            except Exception:
                log.exception("window action %s failed", name)

    def _pause_clicked(self) -> None:
        if not self.model.running:
            return
        self._act("resume" if self.model.paused_at is not None else "pause")

    def _stop_clicked(self) -> None:
        """Acknowledged at once: the picture stops and says so before the session has even ended."""
        if self.mode not in ("breathing", "exercise"):
            return
        self.model.running = False
        self.model.phase = None
        self.pacer.reset()
        self._clear_lines()
        self._end_panel(self.words["stopping"])
        self._act("stop")

    def _again_clicked(self) -> None:
        if self.exercise is not None:
            exercise_id, kind = self.exercise
            self._act("again", exercise_id, kind)

    def _send(self) -> None:
        text = self.answer.get().strip()
        if not text:
            return
        self.answer.delete(0, "end")
        self._act("text", text)

    def _checkin_answer(self, text: str) -> None:
        self._act("text", text)

    def _not_now(self) -> None:
        self._act("not_now")
        self.hide()

    def _focus_answer(self) -> None:
        self._show_answer(True)
        self.answer.focus_set()

    def _space(self, event: Any) -> str | None:
        if event.widget is self.answer or isinstance(event.widget, self._tk.Button):
            return None  # a space typed in the answer field, or pressing the focused button
        if self.mode in ("breathing", "exercise"):
            self._pause_clicked()
            return "break"
        return None

    def _escape(self, _event: Any) -> str:
        if self.mode in ("breathing", "exercise") and self.model.running:
            self._stop_clicked()
        else:
            self.hide()
        return "break"

    # --- rendering events (Tk thread) ---------------------------------------------------------------------
    def _line(self, text: str, *, you: bool = False, caption: bool = True) -> None:
        """One spoken line: the large caption (the companion's) and a transcript line."""
        if not text:
            return
        if caption and not you:
            self.caption.configure(text=text)
            self._last_said = text
        prefix = f"{self.words['you']}: " if you else ""
        self.transcript_lines = [*self.transcript_lines[-(TRANSCRIPT_LINES - 1):], prefix + text]
        self.transcript.configure(state="normal")
        if int(self.transcript.index("end-1c").split(".")[0]) >= TRANSCRIPT_LINES:
            self.transcript.delete("1.0", "2.0")
        if self.transcript.index("end-1c") != "1.0":
            self.transcript.insert("end", "\n")
        self.transcript.insert("end", prefix + text, ("you",) if you else ())
        self.transcript.see("end")
        self.transcript.configure(state="disabled")
        if caption and not you and self.win.state() == "withdrawn" \
                and time.monotonic() - self._closed_at > RESPECT_CLOSE_S:
            self.show()  # what the companion says is always on screen

    def _on_event(self, event: Event) -> None:
        kind, data = event.kind, event.data
        if kind == "start":
            self._start(event)
        elif kind == "say":
            self._line(str(data.get("text", "")))
        elif kind == "caption":
            self._caption(data)
        elif kind == "state":
            on = data.get("state") == "listening"
            self.talk.set_listening(on)
            if on and self.mode != "talk":
                self.heard.configure(text=self.words["listening"], fg=self.theme.listening)
            elif str(self.heard.cget("text")) == self.words["listening"]:
                self.heard.configure(text="", fg=self.theme.muted)
        elif kind == "listen":
            if self._last_said != self._question:
                self._question = self._last_said
                self.steps.advance()
            if self.mode == "exercise":
                self._focus_answer()
        elif kind == "pause":
            self.pause_button.configure(text=self.pacer_words["resume"])
        elif kind == "resume":
            self.pause_button.configure(text=self.pacer_words["pause"])
        elif kind == "end":
            self._end(data)
        elif kind == "checkin":
            self.open_checkin()
        elif kind == "crisis":
            self.show()

    def _caption(self, data: dict[str, Any]) -> None:
        text = str(data.get("text", ""))
        if data.get("who") == "person":
            partial = bool(data.get("partial"))
            self.talk.set_heard(text, partial=partial)
            key = "hearing" if partial else "heard"
            if self.mode != "talk":  # Talk shows it in its own panel
                self.heard.configure(text=str(self.words[key]).format(text=text), fg=self.theme.muted)
            if not partial:
                self._line(text, you=True)
        elif not data.get("partial") and not data.get("exercise"):
            self._line(text)  # a session's lines arrive as `say` events: their copies are not repeated

    def _start(self, event: Event) -> None:
        data = event.data
        exercise_id = str(data.get("exercise", ""))
        kind = str(data.get("kind") or ("breathing" if self._is_pattern(exercise_id) else "exercise"))
        self._question = ""
        self._clear_lines()
        self.open_exercise(exercise_id, kind, str(data.get("title", "")))
        self._line(f"— {data.get('title') or exercise_id} —", caption=False)

    @staticmethod
    def _is_pattern(exercise_id: str) -> bool:
        from companion.core.intent import PATTERNS

        return exercise_id in PATTERNS

    def _end(self, data: dict[str, Any]) -> None:
        reason = str(data.get("reason", ""))
        self.steps.finish()
        if reason == "switched":
            return  # another exercise starts at once
        if reason == "crisis":
            self._set_mode("idle")
            return
        key = "finished" if data.get("completed") else "ended_error" if reason == "error" else "stopped"
        self._end_panel(self.words[key])
        self._hide_job = self.root.after(HIDE_AFTER_END_MS, self._withdraw)

    def _end_panel(self, text: str) -> None:
        self.message.configure(text=text, anchor="center", justify="center", font=("TkDefaultFont", 15))
        self._set_mode("ended")

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
                    log.exception("window call failed")
                continue
            event: Event = item
            self.model.on_event(event, arrived)
            try:
                self._on_event(event)
            except Exception:
                log.exception("window could not show a %s event", event.kind)

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
        animating = self.mode == "breathing" and self.model.running
        if animating:
            self.pacer.draw(time.monotonic())
            self._flush_log()
        downloading = self.mode == "voice" and self.voice.busy
        if self.mode == "voice":
            self.voice.poll()
        pace = FRAME_MS if animating else PROGRESS_MS if downloading else IDLE_POLL_MS
        self._tick_job = self.root.after(pace, self._tick)

    # --- reading back (tests) -----------------------------------------------------------------------------
    def shown_text(self) -> str:
        """Every text the window shows now, read back from its own widgets."""
        parts = [str(self.title.cget("text")), str(self.caption.cget("text")), str(self.heard.cget("text")),
                 self.transcript.get("1.0", "end")]
        parts += self.steps.texts()
        parts.append(str(self.pacer.canvas.itemcget(self.pacer.phase_text, "text")))
        parts.append(str(self.pacer.progress.cget("text")))
        parts.append(str(self.message.cget("text")))
        return "\n".join(parts)

    def close(self) -> None:
        self._closed = True
        if self._tick_job is not None:
            with contextlib.suppress(Exception):
                self.root.after_cancel(self._tick_job)
        with contextlib.suppress(Exception):
            self.root.tk.deletefilehandler(self._wake_r)
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.win is not self.root:
            self.win.destroy()
