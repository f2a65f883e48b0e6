"""The companion window's panels besides the breathing picture: an exercise's steps (grounding's five senses),
the check-in (feelings, a 0–10 rating, Talk / Type / Not now), Talk (listening and what was heard) and
"How I listen" (the recognizer, with a model download and its progress).

Panels only show things and hand the person's choices to callbacks; they never call the Companion themselves
and only run on the Tk (main) thread (the download runs in its own thread and reports through a queue).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

WRAP_MARGIN = 24


def _label(parent: Any, theme: Any, text: str = "", *, size: int = 11, bold: bool = False,
           muted: bool = False, **kw: Any) -> Any:
    import tkinter as tk

    font = ("TkDefaultFont", size, "bold") if bold else ("TkDefaultFont", size)
    return tk.Label(parent, text=text, bg=theme.background, fg=theme.muted if muted else theme.text,
                    font=font, justify="left", anchor="w", **kw)


def button(parent: Any, theme: Any, text: str, command: Callable[[], None], *, name: str,
           primary: bool = False) -> Any:
    """A flat, themed button whose widget name is its accessible name (`name`), reachable with Tab."""
    import tkinter as tk

    bg, fg = (theme.accent, theme.accent_text) if primary else (theme.button, theme.button_text)
    return tk.Button(parent, text=text, command=command, name=name, bg=bg, fg=fg, activebackground=bg,
                     activeforeground=fg, relief="flat", bd=0, padx=14, pady=6, highlightthickness=2,
                     highlightbackground=theme.background, highlightcolor=theme.accent, takefocus=1,
                     font=("TkDefaultFont", 11), cursor="hand2")


def set_enabled(widget: Any, theme: Any, on: bool, *, primary: bool = False) -> None:
    """Enables or disables a button so both states stay readable (a disabled button looks plain, not faded)."""
    if on:
        bg, fg = (theme.accent, theme.accent_text) if primary else (theme.button, theme.button_text)
        widget.configure(state="normal", bg=bg, fg=fg)
    else:
        widget.configure(state="disabled", bg=theme.button, disabledforeground=theme.muted)


def keep_wrapped(label: Any, margin: int = WRAP_MARGIN) -> None:
    """Wraps a label's text to its own width as the window is resized (so text always fits its box)."""
    label.bind("<Configure>", lambda e: label.configure(wraplength=max(80, e.width - margin)))


class StepsPanel:
    """The steps of an exercise that asks questions (grounding's senses): done ones ticked, the current one
    marked. Exercises without a step list show only their title and the spoken line (in the caption)."""

    def __init__(self, parent: Any, theme: Any) -> None:
        import tkinter as tk

        self.theme = theme
        self.frame = tk.Frame(parent, bg=theme.background)
        self.labels: list[Any] = []
        self.current = -1

    def set_steps(self, steps: list[str]) -> None:
        for label in self.labels:
            label.destroy()
        self.labels = []
        self.current = -1
        for text in steps:
            label = _label(self.frame, self.theme, "   " + text, size=13)
            label.pack(fill="x", padx=16, pady=3)
            keep_wrapped(label)
            self.labels.append(label)

    def advance(self) -> None:
        """The next question was asked: its step becomes the current one."""
        if not self.labels:
            return
        self.current = min(self.current + 1, len(self.labels) - 1)
        self._paint()

    def finish(self) -> None:
        self.current = len(self.labels)
        self._paint()

    def _paint(self) -> None:
        for i, label in enumerate(self.labels):
            text = str(label.cget("text"))[3:]
            if i < self.current:
                label.configure(text="✓  " + text, fg=self.theme.muted, font=("TkDefaultFont", 13))
            elif i == self.current:
                label.configure(text="▶  " + text, fg=self.theme.accent, font=("TkDefaultFont", 14, "bold"))
            else:
                label.configure(text="   " + text, fg=self.theme.text, font=("TkDefaultFont", 13))

    def texts(self) -> list[str]:
        return [str(label.cget("text")) for label in self.labels]


class CheckinPanel:
    """How are you feeling: one feeling (buttons), an optional 0–10 rating, and Save / Talk / Type / Not now.
    `on_answer(text)` gets the answer as the person would type it; the other callbacks take no argument."""

    def __init__(self, parent: Any, theme: Any, words: dict[str, Any], *, on_answer: Callable[[str], None],
                 on_talk: Callable[[], None], on_type: Callable[[], None],
                 on_not_now: Callable[[], None]) -> None:
        import tkinter as tk

        self.theme = theme
        self.words = words
        self.on_answer = on_answer
        self.frame = tk.Frame(parent, bg=theme.background)
        question = _label(self.frame, theme, words["question"], size=14, bold=True)
        question.pack(fill="x", padx=12, pady=(6, 4))
        keep_wrapped(question)
        grid = tk.Frame(self.frame, bg=theme.background)
        grid.pack(fill="x", padx=12)
        self.feeling: str | None = None
        self.rating: int | None = None
        self.feeling_buttons: dict[str, Any] = {}
        for i, feeling in enumerate(words["feelings"]):
            b = button(grid, theme, feeling, lambda f=feeling: self.choose_feeling(f), name=f"feeling_{feeling}")
            b.grid(row=i // 4, column=i % 4, padx=3, pady=3, sticky="ew")
            self.feeling_buttons[feeling] = b
        for col in range(4):
            grid.columnconfigure(col, weight=1)
        rating = _label(self.frame, theme, words["rating"], size=11, muted=True)
        rating.pack(fill="x", padx=12, pady=(8, 2))
        keep_wrapped(rating)
        scale = tk.Frame(self.frame, bg=theme.background)
        scale.pack(fill="x", padx=12)
        self.rating_buttons: list[Any] = []
        for n in range(11):
            b = button(scale, theme, str(n), lambda n=n: self.choose_rating(n), name=f"rating_{n}")
            b.configure(padx=4)
            b.grid(row=0, column=n, padx=1, sticky="ew")
            scale.columnconfigure(n, weight=1)
            self.rating_buttons.append(b)
        row = tk.Frame(self.frame, bg=theme.background)
        row.pack(fill="x", padx=12, pady=8)
        self.save_button = button(row, theme, words["save"], self.save, name="save", primary=True)
        self.save_button.pack(side="left", padx=(0, 6))
        self.talk_button = button(row, theme, words["talk"], on_talk, name="talk")
        self.talk_button.pack(side="left", padx=3)
        self.type_button = button(row, theme, words["type"], on_type, name="type")
        self.type_button.pack(side="left", padx=3)
        self.not_now_button = button(row, theme, words["not_now"], on_not_now, name="not_now")
        self.not_now_button.pack(side="left", padx=3)
        self.reset()

    def reset(self) -> None:
        self.feeling = None
        self.rating = None
        self._paint()

    def choose_feeling(self, feeling: str) -> None:
        self.feeling = feeling
        self._paint()

    def choose_rating(self, n: int) -> None:
        self.rating = None if self.rating == n else n
        self._paint()

    def answer_text(self) -> str | None:
        if self.feeling is None:
            return None
        if self.rating is None:
            return str(self.words["answer"]).format(feeling=self.feeling)
        return str(self.words["answer_rated"]).format(feeling=self.feeling, rating=self.rating)

    def save(self) -> None:
        text = self.answer_text()
        if text:
            self.on_answer(text)

    def _paint(self) -> None:
        t = self.theme
        for feeling, b in self.feeling_buttons.items():
            on = feeling == self.feeling
            b.configure(bg=t.accent if on else t.button, fg=t.accent_text if on else t.button_text,
                        relief="sunken" if on else "flat")
        for n, b in enumerate(self.rating_buttons):
            on = n == self.rating
            b.configure(bg=t.accent if on else t.button, fg=t.accent_text if on else t.button_text,
                        relief="sunken" if on else "flat")
        set_enabled(self.save_button, self.theme, bool(self.feeling), primary=True)


class TalkPanel:
    """Talk to me: a listening indicator and what was heard (partial while speaking, then final)."""

    def __init__(self, parent: Any, theme: Any, words: dict[str, Any]) -> None:
        import tkinter as tk

        self.theme = theme
        self.words = words
        self.frame = tk.Frame(parent, bg=theme.background)
        self.hint = _label(self.frame, theme, words["talk_hint"], size=12, muted=True)
        self.hint.pack(fill="x", padx=12, pady=(8, 4))
        keep_wrapped(self.hint)
        self.indicator = _label(self.frame, theme, words["not_listening"], size=16, bold=True)
        self.indicator.pack(fill="x", padx=12, pady=8)
        self.heard = _label(self.frame, theme, "", size=13)
        self.heard.pack(fill="x", padx=12, pady=4)
        keep_wrapped(self.heard)

    def set_listening(self, on: bool) -> None:
        self.indicator.configure(text=self.words["listening" if on else "not_listening"],
                                 fg=self.theme.listening if on else self.theme.muted)

    def set_heard(self, text: str, *, partial: bool) -> None:
        key = "hearing" if partial else "heard"
        self.heard.configure(text=str(self.words[key]).format(text=text) if text else "")


def download_choice() -> tuple[str, int] | None:
    """The model "Download" fetches (Whisper when its engine is installed, else the default Vosk model) and its
    size in bytes; None when it is already installed or the manifest cannot be read."""
    import importlib.util

    try:
        from companion.speech import models

        name = "whisper-tiny.en" if importlib.util.find_spec("faster_whisper") else models.default_model_name()
        entry = models.manifest_entry(name)
        if entry is None:
            return None
        if any(m.name == name for m in models.installed_models()):
            return None
        return name, entry.size
    except Exception:  # a broken manifest: the panel still shows the text
        log.exception("cannot tell which model to download")
        return None


def downloaded_bytes(name: str) -> int:
    """Bytes of `name` fetched so far (its partial files in the models folder's downloads area)."""
    from companion.core.paths import models_dir
    from companion.speech.models import DOWNLOADS

    folder = models_dir() / DOWNLOADS
    if not folder.is_dir():
        return 0
    total = 0
    for path in folder.iterdir():  # a zip's NAME….part, or a file set's NAME.parts/ folder
        if not path.name.startswith(name):
            continue
        files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
        total += sum(f.stat().st_size for f in files)
    return total


class VoicePanel:
    """How I listen: the recognizer's description, a Download button that runs the model download in a thread,
    and a progress bar fed by polling the partial download (`poll()` from the window's tick)."""

    def __init__(self, parent: Any, theme: Any, words: dict[str, Any], *,
                 download: Callable[[str, Callable[[str], None]], Path] | None = None) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.theme = theme
        self.words = words
        self._download = download
        self.frame = tk.Frame(parent, bg=theme.background)
        self.text = _label(self.frame, theme, "", size=12)
        self.text.pack(fill="x", padx=12, pady=(8, 8))
        keep_wrapped(self.text)
        self.download_button = button(self.frame, theme, "", self.start_download, name="download", primary=True)
        self.download_button.pack(anchor="w", padx=12, pady=4)
        style = ttk.Style(self.frame)
        style.configure("Companion.Horizontal.TProgressbar", troughcolor=theme.button, background=theme.accent,
                        bordercolor=theme.border, lightcolor=theme.accent, darkcolor=theme.accent)
        self.bar = ttk.Progressbar(self.frame, orient="horizontal", mode="determinate", maximum=100,
                                   style="Companion.Horizontal.TProgressbar")
        self.bar.pack(fill="x", padx=12, pady=6)
        self.status = _label(self.frame, theme, "", size=11, muted=True)
        self.status.pack(fill="x", padx=12, pady=2)
        keep_wrapped(self.status)
        self.choice: tuple[str, int] | None = None
        self.thread: threading.Thread | None = None
        self.results: queue.Queue[tuple[str, str]] = queue.Queue()

    def show(self, text: str, choice: tuple[str, int] | None) -> None:
        self.text.configure(text=text)
        if self.thread is not None and self.thread.is_alive():
            return  # a download is under way: keep its button and bar
        self.choice = choice
        if choice is None:
            self.download_button.pack_forget()
            self.bar.pack_forget()
            self.status.configure(text=self.words["installed"])
            return
        name, size = choice
        self.download_button.configure(text=str(self.words["download"]).format(name=name, size=_mb(size)))
        set_enabled(self.download_button, self.theme, True, primary=True)
        self.bar.pack(fill="x", padx=12, pady=6, before=self.status)  # the status line is always there
        self.download_button.pack(anchor="w", padx=12, pady=4, before=self.bar)
        self.bar["value"] = 0
        self.status.configure(text="")

    @property
    def busy(self) -> bool:
        """A download runs, or its result is still to be shown."""
        return (self.thread is not None and self.thread.is_alive()) or not self.results.empty()

    def start_download(self) -> None:
        if self.choice is None or (self.thread is not None and self.thread.is_alive()):
            return
        name, _ = self.choice
        set_enabled(self.download_button, self.theme, False)
        self.status.configure(text=str(self.words["downloading"]).format(name=name))

        def run() -> None:
            try:
                fetch = self._download or _download_model
                fetch(name, lambda line: self.results.put(("note", line)))
                self.results.put(("done", ""))
            except Exception as exc:
                self.results.put(("failed", str(exc)))

        self.thread = threading.Thread(target=run, daemon=True, name="model-download")
        self.thread.start()

    def poll(self) -> None:
        """Updates the bar and the status line (Tk thread)."""
        if self.choice is None or self.thread is None:
            return
        name, size = self.choice
        if self.thread.is_alive() and size:
            self.bar["value"] = min(99.0, 100.0 * downloaded_bytes(name) / size)
        while True:
            try:
                kind, text = self.results.get_nowait()
            except queue.Empty:
                return
            if kind == "done":
                self.bar["value"] = 100
                self.status.configure(text=self.words["done"])
            elif kind == "failed":
                self.status.configure(text=str(self.words["failed"]).format(reason=text))
                set_enabled(self.download_button, self.theme, True, primary=True)
            else:
                self.status.configure(text=text)


def _download_model(name: str, report: Callable[[str], None]) -> Path:
    from companion.speech.models import download_model

    return download_model(name, progress=False, report=report)


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.0f} MB"
