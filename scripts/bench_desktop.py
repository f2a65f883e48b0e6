#!/usr/bin/env python3
"""Desktop benchmark on a private Xvfb + trayer: launch → tray icon docked (vs a bare pystray icon), idle CPU
and RSS of the running tray app, and hotkey → first `say` event (and, with --audio, → first sound on a private
PulseAudio). Prints medians and p95; writes nothing outside a temporary directory.

Run: .venv/bin/python scripts/bench_desktop.py [--runs 10] [--idle-seconds 60] [--audio]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers import start_pulse, start_tray_host, start_xvfb  # noqa: E402

from companion.desktop.icons import STATE_COLOURS  # noqa: E402

PY = sys.executable
STRIP = (560, 0, 240, 32)  # x, y, w, h of the tray strip on the 800x600 screen (trayer, top right)

BARE_ICON = """
import os, sys
os.environ["PYSTRAY_BACKEND"] = "gtk"
import pystray
from companion.desktop.icons import draw_icon
icon = pystray.Icon("bare", draw_icon("idle"), "bare")
icon.run(setup=lambda ic: setattr(ic, "visible", True))
"""


def stats(samples: list[float], unit: str = "s", scale: float = 1.0) -> str:
    s = sorted(x * scale for x in samples)
    p95 = s[min(len(s) - 1, int(0.95 * len(s)))]
    return f"median {statistics.median(s):8.3f} {unit}   p95 {p95:8.3f} {unit}   (n={len(s)})"


@contextlib.contextmanager
def xserver() -> Iterator[str]:
    xvfb, disp = start_xvfb()
    os.environ["DISPLAY"] = disp
    tray = start_tray_host(disp)  # left with xvfb on failure: the benchmark stops there anyway
    try:
        yield disp
    finally:
        tray.terminate()
        xvfb.terminate()
        tray.wait(5)
        xvfb.wait(5)


def missing_tools(*tools: str) -> bool:
    """True, having said which and how to get them, when a tool the benchmark needs is not installed."""
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        print(f"missing tools: {missing} (scripts/setup --test installs them)", file=sys.stderr)
    return bool(missing)


@contextlib.contextmanager
def bench_display(prefix: str) -> Iterator[Path]:
    """A temporary work folder and a private X display with a tray; prints the display, the cores and Python."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, xserver() as disp:
        print(f"display {disp}, {os.cpu_count()} cores, python {sys.version.split()[0]}", flush=True)
        yield Path(tmp)


class StripWatcher:
    """Counts pixels of a colour in the tray strip straight from the X server (no screenshot files)."""

    def __init__(self) -> None:
        from Xlib import X
        from Xlib import display as xd

        self._x = X
        self.d = xd.Display()
        self.root = self.d.screen().root

    def count(self, rgb: tuple[int, int, int], tol: int = 20) -> int:
        x, y, w, h = STRIP
        raw = self.root.get_image(x, y, w, h, self._x.ZPixmap, 0xFFFFFFFF).data
        n = 0
        for i in range(0, len(raw), 4):  # BGRX
            b, g, r = raw[i], raw[i + 1], raw[i + 2]
            if abs(r - rgb[0]) <= tol and abs(g - rgb[1]) <= tol and abs(b - rgb[2]) <= tol:
                n += 1
        return n

    def wait(self, pred: Callable[[int], bool], rgb: tuple[int, int, int], timeout: float = 20.0) -> float | None:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if pred(self.count(rgb)):
                return time.monotonic()
            time.sleep(0.01)
        return None


def env_for(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name, sub in (("COMPANION_DATA_DIR", "data"), ("COMPANION_CONFIG_DIR", "config"),
                      ("COMPANION_RUNTIME_DIR", "run")):
        d = base / sub
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        env[name] = str(d)
        os.environ[name] = str(d)  # forward() in this process talks to the same instance
    return env


def start_tray(base: Path, events: Path, extra_env: dict[str, str] | None = None,
               silent: bool = True) -> subprocess.Popen[bytes]:
    cmd = ["dbus-run-session", "--", PY, "-m", "companion", "tray", "--events", str(events)]
    if silent:
        cmd.append("--silent")
    return subprocess.Popen(cmd, env={**env_for(base), **(extra_env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, cwd=REPO)


def stop_tray(proc: subprocess.Popen[bytes]) -> None:
    from companion.instance import forward

    with contextlib.suppress(Exception):
        forward({"cmd": "quit"}, timeout=2)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(5)


def events_of(path: Path, kind: str) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            e = json.loads(line)
            if e.get("event") == kind:
                out.append(e)
    return out


def wait_until(pred: Callable[[], bool], timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def press_hotkey() -> None:
    subprocess.run(["xdotool", "key", "ctrl+alt+b"], check=True)


def wait_tray_ready() -> None:
    """Until the tray answers (asked to show its window) and has finished starting, then a second to settle."""
    from companion.instance import forward

    assert wait_until(lambda: (forward({"cmd": "show"}) or {}).get("ok", False), 30), "tray did not start"
    assert wait_until(lambda: forward({"cmd": "show"})["status"]["state"] != "starting", 30)
    time.sleep(1.0)


def stop_by_hotkey(events: Path, n_end: int) -> None:
    """The hotkey pressed again stops the session: until its `end` event is written and the app is idle."""
    from companion.instance import forward

    press_hotkey()
    wait_until(lambda: len(events_of(events, "end")) > n_end, 10)
    wait_until(lambda: forward({"cmd": "state"}).get("state") == "idle", 15)


def bench_launch(runs: int, work: Path, watcher: StripWatcher) -> tuple[list[float], list[float]]:
    idle = STATE_COLOURS["idle"]
    bare: list[float] = []
    ours: list[float] = []
    for i in range(runs):
        # baseline: the smallest pystray GTK icon, same colour, same tray host
        t0 = time.monotonic()
        p = subprocess.Popen(["dbus-run-session", "--", PY, "-c", BARE_ICON], env=env_for(work / f"b{i}"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=REPO)
        t = watcher.wait(lambda n: n > 100, idle)
        if t is not None:
            bare.append(t - t0)
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(10)
        watcher.wait(lambda n: n < 20, idle, timeout=10)

        t0 = time.monotonic()
        p = start_tray(work / f"l{i}", work / f"l{i}.jsonl")
        t = watcher.wait(lambda n: n > 100, idle)
        if t is not None:
            ours.append(t - t0)
        stop_tray(p)
        watcher.wait(lambda n: n < 20, idle, timeout=10)
    return bare, ours


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_idle(seconds: float, work: Path) -> tuple[float, float]:
    from companion.instance import forward

    p = start_tray(work / "idle", work / "idle.jsonl")
    try:
        assert wait_until(lambda: (forward({"cmd": "show"}) or {}).get("ok", False), 30), "tray did not start"
        pid = forward({"cmd": "show"})["status"]["pid"]
        time.sleep(5)  # let start-up work (model loads, first draws) finish
        c0, t0 = proc_cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = proc_cpu_seconds(pid), time.monotonic()
        return 100 * (c1 - c0) / (t1 - t0), proc_rss_mb(pid)
    finally:
        stop_tray(p)


def bench_hotkey(runs: int, work: Path, *, silent: bool = True,
                 extra_env: dict[str, str] | None = None, sound: Callable[[float], float | None] | None = None
                 ) -> tuple[list[float], list[float]]:
    events = work / ("hotkey.jsonl" if silent else "hotkey-audio.jsonl")
    p = start_tray(work / ("hk" if silent else "hka"), events, extra_env, silent=silent)
    say_lat: list[float] = []
    sound_lat: list[float] = []
    try:
        wait_tray_ready()
        for _ in range(runs):
            n_say = len(events_of(events, "say"))
            n_end = len(events_of(events, "end"))
            t_press = time.monotonic()
            press_hotkey()
            if wait_until(lambda n=n_say: len(events_of(events, "say")) > n, 10):
                say_lat.append(events_of(events, "say")[n_say]["mono"] - t_press)
            if sound is not None:
                heard = sound(t_press)
                if heard is not None:
                    sound_lat.append(heard - t_press)
            time.sleep(1.0)
            stop_by_hotkey(events, n_end)
            time.sleep(0.8)
    finally:
        stop_tray(p)
    return say_lat, sound_lat


@contextlib.contextmanager
def pulse_server(base: Path) -> Iterator[dict[str, str]]:
    p, env = start_pulse(base, pipe_mic=False, log=False)
    try:
        yield {"XDG_RUNTIME_DIR": env["XDG_RUNTIME_DIR"], "PULSE_SERVER": env["PULSE_SERVER"]}
    finally:
        p.terminate()
        p.wait(5)


class SoundWatcher:
    """Reads the virtual speaker's monitor continuously; reports when sound first rises above silence."""

    def __init__(self, env: dict[str, str]) -> None:
        import threading

        self.rec = subprocess.Popen(["parec", "--raw", "--format=s16le", "--rate=16000", "--channels=1",
                                     "--latency-msec=10", "-d", "vspeaker.monitor"],
                                    env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.loud: list[float] = []  # monotonic arrival times of loud 10 ms blocks
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        import numpy as np

        assert self.rec.stdout is not None
        while True:
            block = self.rec.stdout.read(320)
            if not block:
                return
            if np.abs(np.frombuffer(block, np.int16)).max(initial=0) > 500:
                self.loud.append(time.monotonic())

    def first_after(self, t: float, timeout: float = 10.0) -> float | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            later = [x for x in self.loud if x > t]
            if later:
                return later[0]
            time.sleep(0.01)
        return None

    def close(self) -> None:
        self.rec.terminate()
        self.rec.wait(5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--audio", action="store_true", help="also time hotkey → first sound (private PulseAudio)")
    args = ap.parse_args()
    if missing_tools("Xvfb", "trayer", "xdotool", "dbus-run-session"):
        return 2
    with bench_display("bench-desktop-") as work:
        watcher = StripWatcher()
        bare, ours = bench_launch(args.runs, work, watcher)
        print(f"launch → icon docked, bare pystray GTK icon (baseline): {stats(bare)}")
        print(f"launch → icon docked, `companion tray --silent`:        {stats(ours)}")
        cpu, rss = bench_idle(args.idle_seconds, work)
        print(f"idle over {args.idle_seconds:g} s: CPU {cpu:.3f} % of one core, RSS {rss:.1f} MB")
        say, _ = bench_hotkey(args.runs, work)
        print(f"hotkey → first `say` event (silent voice):               {stats(say, 'ms', 1000)}")
        if args.audio:
            with pulse_server(work) as penv:
                sound = SoundWatcher(penv)
                try:
                    say_a, heard = bench_hotkey(args.runs, work, silent=False, extra_env=penv,
                                                sound=sound.first_after)
                finally:
                    sound.close()
            print(f"hotkey → first `say` event (real voice):                 {stats(say_a, 'ms', 1000)}")
            if heard:
                print(f"hotkey → first sound on the speaker (real voice):        {stats(heard, 'ms', 1000)}")
            else:
                print("hotkey → first sound: no sound reached the virtual speaker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
