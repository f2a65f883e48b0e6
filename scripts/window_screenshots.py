#!/usr/bin/env python3
"""Screenshots of the companion window in each state, light and dark, on a private 1280x800 Xvfb: breathing
(and in reduced-motion mode), grounding, check-in, Talk, "How I listen", the ending and the history window.
The states are set up with the window's own event API and the real exercise texts; nothing is spoken.

Run: .venv/bin/python scripts/window_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers import start_xvfb  # noqa: E402

NOW = datetime.now().replace(hour=18, minute=0, second=0, microsecond=0)


def shoot(root: Any, win: Any, path: Path) -> None:
    for _ in range(3):
        root.update()
        time.sleep(0.03)
    x, y, w, h = win.winfo_rootx(), win.winfo_rooty(), win.winfo_width(), win.winfo_height()
    subprocess.run(["import", "-window", "root", "-crop", f"{w}x{h}+{x}+{y}", "+repage", str(path)], check=True,
                   timeout=20)
    print(path)


def settle(window: Any) -> None:
    window._drain()
    window.root.update()


def seeded_store() -> Any:
    from companion.core.store import Store

    clock = [NOW]
    store = Store.memory(now=lambda: clock[0])
    plan = [(6, "anxious", 7, True), (5, "stressed", 8, False), (4, "tired", None, False), (3, "okay", 5, True),
            (2, "lonely", 6, False), (2, "good", 3, True), (1, "calm", 6, True), (0, "good", 7, True)]
    for days, feeling, rating, finished in plan:
        clock[0] = (NOW - timedelta(days=days, hours=3)).astimezone(UTC)
        sid = store.start_session("box", "breathing")
        store.end_session(sid, completed=finished, reason="finished" if finished else "stopped")
        store.add_checkin(feeling, rating)
    return store


def states(theme: str, out: Path, reduced: bool = False) -> None:
    from companion.core.events import Event
    from companion.core.exercises import load_library
    from companion.desktop.history_plot import render_history_png
    from companion.desktop.history_window import SPANS, HistoryWindow
    from companion.desktop.shell import voice_info
    from companion.desktop.theme import THEMES
    from companion.desktop.window import CompanionWindow

    library = load_library()
    window = CompanionWindow({}, theme=THEMES[theme], reduced_motion=reduced)
    root, win = window.root, window.win
    suffix = f"{theme}{'-reduced-motion' if reduced else ''}"
    box = library.get("box")
    say = [s.text[0] for s in box.steps if hasattr(s, "text") and isinstance(s.text, tuple)]

    def ev(event_kind: str, planned: float | None = None, **data: Any) -> None:
        window.submit(Event(event_kind, planned or 0.0, planned, data))

    ev("start", exercise="box", title=box.title, kind="breathing")
    ev("say", text=say[0])
    ev("phase", 0.0, name="inhale", cycle=2, seconds=4.0, cycles=8, left=100.0)
    ev("say", 0.0, text="And in…")
    settle(window)
    window.model.t0 -= 2.6  # as if the inhale began 2.6 s ago: the frames drawn from now on show mid-breath
    shoot(root, win, out / f"breathing-{suffix}.png")
    if reduced:
        window.close()
        root.destroy()
        return
    ev("say", text=say[-1])
    ev("end", completed=True, reason="finished")
    settle(window)
    shoot(root, win, out / f"ending-{theme}.png")

    ground = library.get("ground")
    texts = [s.text[0] for s in ground.steps if hasattr(s, "text") and isinstance(s.text, tuple)]
    ev("start", exercise="ground", title=ground.title, kind="grounding")
    ev("say", text=texts[0])
    ev("say", text=texts[1])
    ev("listen", timeout=45, mode="open")
    ev("caption", who="person", text="the lamp, my mug, a window, the door, my hands")
    ev("heard", text="the lamp, my mug, a window, the door, my hands", intent=None)
    ev("say", text=texts[2])
    ev("say", text=texts[4])
    ev("listen", timeout=45, mode="open")
    settle(window)
    shoot(root, win, out / f"grounding-{theme}.png")

    window.open_checkin()
    ev("caption", who="companion", text="Hi. Just checking in. How are you feeling right now?")
    settle(window)
    window.checkin.choose_feeling("anxious")
    window.checkin.choose_rating(6)
    shoot(root, win, out / f"checkin-{theme}.png")

    window.open_talk()
    ev("state", state="listening")
    ev("caption", who="person", text="i've had a really long day and", partial=True)
    settle(window)
    shoot(root, win, out / f"talk-{theme}.png")

    window.open_voice_info(voice_info(), ("whisper-tiny.en", 75_000_000))
    from companion.desktop.panels import set_enabled

    set_enabled(window.voice.download_button, window.theme, False)  # as while a download runs
    window.voice.bar["value"] = 40
    window.voice.status.configure(text=window.words["voice"]["downloading"].format(name="whisper-tiny.en"))
    settle(window)
    shoot(root, win, out / f"how-i-listen-{theme}.png")
    window.hide()

    store = seeded_store()
    pictures = {d: render_history_png(store, (d,), now=NOW, height=6.4, dark=theme == "dark") for d in SPANS}
    history = HistoryWindow(root, window.theme, pictures)
    shoot(root, history.win, out / f"history-{theme}.png")
    history.close()
    window.close()
    root.destroy()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    xvfb, disp = start_xvfb("1280x800x24")
    os.environ["DISPLAY"] = disp
    try:
        for theme in ("light", "dark"):
            states(theme, args.out)
        states("light", args.out, reduced=True)
    finally:
        xvfb.terminate()
        xvfb.wait(5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
