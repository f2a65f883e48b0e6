#!/usr/bin/env python3
"""Companion window benchmark on a private Xvfb + trayer (+ a private PulseAudio for the real voice):
hotkey → window visible (vs a bare Tk window shown by a pynput hotkey, the floor here) and hotkey → first guided
breath (the first `phase` event) with the real voice, for the shipped box exercise and, as the baseline in the
same run, the long spoken intro it had before (installed as the person's own `box.toml`, which replaces the
built-in). Prints medians and p95; writes nothing outside a temporary directory.

Run: .venv/bin/python scripts/bench_window.py [--runs 10] [--idle-seconds 60]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "scripts"), str(REPO / "tests")]

from bench_desktop import (  # noqa: E402
    PY,
    bench_display,
    bench_idle,
    env_for,
    events_of,
    missing_tools,
    press_hotkey,
    pulse_server,
    start_tray,
    stats,
    stop_by_hotkey,
    stop_tray,
    wait_tray_ready,
    wait_until,
)

OLD_INTRO = """Let's breathe in a square together. In for four, hold for four, out for four, and hold again for four. \
I'll guide you."""

BARE_WINDOW = """
import sys, time, tkinter as tk
from pynput import keyboard
root = tk.Tk(className="barewindow")
root.geometry("460x600+40+20")
root.withdraw()
shown = []
def show():
    if root.state() == "withdrawn":
        root.deiconify()
    else:
        root.withdraw()
def pressed():
    root.after(0, show)
hk = keyboard.GlobalHotKeys({"<ctrl>+<alt>+b": pressed})
hk.start()
print("ready", flush=True)
root.mainloop()
"""


class MapWatcher:
    """Polls the X server (every 2 ms) for a top-level window of a WM_CLASS to become viewable."""

    def __init__(self, wm_class: str) -> None:
        from Xlib import X
        from Xlib import display as xd

        self._x = X
        self.d = xd.Display()
        self.root = self.d.screen().root
        self.wm_class = wm_class

    def _windows(self) -> list:
        out = []
        for w in self.root.query_tree().children:
            with contextlib.suppress(Exception):
                cls = w.get_wm_class()
                if cls and self.wm_class in cls:
                    out.append(w)
        return out

    def viewable(self) -> bool:
        return any(w.get_attributes().map_state == self._x.IsViewable for w in self._windows())

    def wait(self, want: bool, timeout: float = 10.0) -> float | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.viewable() == want:
                return time.monotonic()
            time.sleep(0.002)
        return None

    def hide(self) -> None:
        """Closes the shown window as a person would (Escape in it), so the next press starts hidden."""
        for w in self._windows():
            if w.get_attributes().map_state == self._x.IsViewable:
                subprocess.run(["xdotool", "windowfocus", "--sync", str(w.id), "key", "Escape"],
                               check=False, timeout=10, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bench_bare(runs: int, work: Path) -> list[float]:
    p = subprocess.Popen([PY, "-c", BARE_WINDOW], env=env_for(work / "bare"), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, start_new_session=True, cwd=REPO)
    watch = MapWatcher("barewindow")
    out: list[float] = []
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == b"ready"
        time.sleep(1.0)
        for _ in range(runs):
            t_press = time.monotonic()
            press_hotkey()
            t = watch.wait(True)
            if t is not None:
                out.append(t - t_press)
            time.sleep(0.3)
            press_hotkey()
            watch.wait(False)
            time.sleep(0.5)
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(10)
    return out


def bench_companion(runs: int, work: Path, name: str, extra_env: dict[str, str],
                    setup: Callable[[Path], None] | None = None) -> tuple[list[float], list[float]]:
    """(hotkey → window visible, hotkey → first phase event) for `companion tray` with the real voice."""
    base = work / name
    env_for(base)
    if setup is not None:
        setup(base)
    events = work / f"{name}.jsonl"
    p = start_tray(base, events, extra_env, silent=False)
    watch = MapWatcher("companion")
    visible: list[float] = []
    breath: list[float] = []
    started: list[float] = []
    try:
        wait_tray_ready()
        watch.hide()  # "show" above brought it up
        watch.wait(False)
        for _ in range(runs):
            n_phase = len(events_of(events, "phase"))
            n_end = len(events_of(events, "end"))
            t_press = time.monotonic()
            press_hotkey()
            t = watch.wait(True)
            if t is not None:
                visible.append(t - t_press)
            if wait_until(lambda n=n_phase: len(events_of(events, "phase")) > n, 20):
                breath.append(events_of(events, "phase")[n_phase]["mono"] - t_press)
                starts = [e for e in events_of(events, "start") if e["mono"] > t_press]
                if starts:
                    started.append(starts[0]["mono"] - t_press)
            time.sleep(0.5)
            stop_by_hotkey(events, n_end)
            time.sleep(0.3)
            watch.hide()
            watch.wait(False)
            time.sleep(0.5)
    finally:
        stop_tray(p)
    print(f"  ({name}: hotkey → `start` event {stats(started, 'ms', 1000)})")
    return visible, breath


def old_box(base: Path) -> None:
    """The person's own box.toml: today's exercise with the long intro and the one-second pause it had."""
    text = (REPO / "companion/data/exercises/box.toml").read_text(encoding="utf-8")
    head, _, rest = text.partition('[[steps]]\ntype = "breathe"')
    intro = head.rsplit("[[steps]]", 1)[0]
    old = (f'{intro}[[steps]]\ntype = "say"\ntext = ["{OLD_INTRO}", "{OLD_INTRO}"]\n\n'
           '[[steps]]\ntype = "pause"\nseconds = 1\n\n[[steps]]\ntype = "breathe"' + rest)
    folder = base / "config" / "exercises"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "box.toml").write_text(old, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--idle-seconds", type=float, default=0.0,
                    help="also measure the idle CPU of `companion tray --silent` over this long (0: skip)")
    args = ap.parse_args()
    if missing_tools("Xvfb", "trayer", "xdotool", "dbus-run-session", "pulseaudio", "pactl"):
        return 2
    with bench_display("bench-window-") as work:
        bare = bench_bare(args.runs, work)
        print(f"hotkey → bare Tk window visible (baseline):             {stats(bare, 'ms', 1000)}")
        with pulse_server(work) as penv:
            visible, breath = bench_companion(args.runs, work, "now", penv)
            _, before = bench_companion(args.runs, work, "before", penv, setup=old_box)
        print(f"hotkey → companion window visible:                      {stats(visible, 'ms', 1000)}")
        print(f"hotkey → first guided breath, real voice (one-line intro): {stats(breath)}")
        print(f"hotkey → first guided breath, real voice (the old intro):  {stats(before)}")
        if args.idle_seconds > 0:
            cpu, rss = bench_idle(args.idle_seconds, work)
            print(f"idle over {args.idle_seconds:g} s: CPU {cpu:.3f} % of one core, RSS {rss:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
