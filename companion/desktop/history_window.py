"""The history window inside the app: the chart from companion.desktop.history_plot for the last 7 or 30 days,
with buttons to switch and close, sized to fit a 1280×800 screen.

It only shows pictures drawn elsewhere (on the worker thread, from the store) and runs on the Tk thread; it
never reads the store or imports matplotlib itself.
"""

from __future__ import annotations

import base64
from typing import Any

from companion.desktop import texts
from companion.desktop.panels import button

SPANS = (7, 30)


class HistoryWindow:
    """A Toplevel showing one of `pictures` (days → PNG bytes) at a time."""

    def __init__(self, root: Any, theme: Any, pictures: dict[int, bytes]) -> None:
        import tkinter as tk

        words = texts()["window"]["history"]
        self.theme = theme
        self.pictures = pictures
        self.win = tk.Toplevel(root, bg=theme.background)
        self.win.title(words["title"])
        self.win.resizable(True, True)
        self.win.protocol("WM_DELETE_WINDOW", self.close)
        self.win.bind("<Escape>", lambda _e: self.close())
        bar = tk.Frame(self.win, bg=theme.background)
        bar.pack(side="top", fill="x", padx=10, pady=8)
        self.span_buttons: dict[int, Any] = {}
        for days in SPANS:
            if days in pictures:
                b = button(bar, theme, str(words["span"]).format(days=days), lambda d=days: self.show(d),
                           name=f"days_{days}")
                b.pack(side="left", padx=(0, 6))
                self.span_buttons[days] = b
        self.close_button = button(bar, theme, texts()["window"]["close"], self.close, name="close")
        self.close_button.pack(side="right")
        self.picture = tk.Label(self.win, bg="#ffffff", bd=0, name="chart")
        self.picture.pack(side="top", padx=10, pady=(0, 10))
        self.image: Any = None
        self.days = 0
        self.show(min(pictures))
        self.win.lift()
        self.win.focus_set()

    def show(self, days: int) -> None:
        import tkinter as tk

        self.days = days
        self.image = tk.PhotoImage(master=self.win, data=base64.b64encode(self.pictures[days]).decode("ascii"),
                                   format="png")
        self.picture.configure(image=self.image)
        t = self.theme
        for d, b in self.span_buttons.items():
            on = d == days
            b.configure(bg=t.accent if on else t.button, fg=t.accent_text if on else t.button_text)

    def close(self) -> None:
        self.win.destroy()
