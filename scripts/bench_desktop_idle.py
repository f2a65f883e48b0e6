#!/usr/bin/env python3
"""Idle cost of the desktop companion on a private Xvfb + trayer + PulseAudio: launch → tray icon docked, RSS
after 10 s idle, CPU over the next 30 s (medians over --runs launches), and optionally RSS after one Talk,
before and after the idle release. `--baseline REV` runs the same on that commit's code (`git archive`, read
only) for comparison. Writes nothing outside a temporary directory.

Run: .venv/bin/python scripts/bench_desktop_idle.py [--runs 3] [--baseline HEAD] [--after-talk]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "scripts")]

import bench_desktop  # noqa: E402
from bench_desktop import (  # noqa: E402
    StripWatcher,
    bench_display,
    missing_tools,
    proc_cpu_seconds,
    proc_rss_mb,
    pulse_server,
    stop_tray,
    wait_until,
)

from companion.desktop.icons import STATE_COLOURS  # noqa: E402

PY = sys.executable
IDLE_SECONDS = 10.0
CPU_SECONDS = 30.0


def env_for(base: Path, code: Path, extra: dict[str, str], cache: Path) -> dict[str, str]:
    env = dict(bench_desktop.env_for(base), **extra, COMPANION_CACHE_DIR=str(cache))
    if code != REPO:
        env["PYTHONPATH"] = str(code)
    return env


def launch(base: Path, code: Path, extra: dict[str, str], cache: Path) -> subprocess.Popen[bytes]:
    """`companion tray` as a person starts it (voice on, on the private sound server), in its own D-Bus session."""
    return subprocess.Popen(["dbus-run-session", "--", PY, "-m", "companion", "tray"],
                            env=env_for(base, code, extra, cache), cwd=code, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def pid_of() -> int:
    from companion.instance import forward

    assert wait_until(lambda: (forward({"cmd": "show"}) or {}).get("ok", False), 60), "the tray did not start"
    return int(forward({"cmd": "show"})["status"]["pid"])


def one_run(work: Path, code: Path, extra: dict[str, str], cache: Path, watcher: StripWatcher,
            after_talk: bool) -> dict[str, float]:
    idle = STATE_COLOURS["idle"]
    t0 = time.monotonic()
    proc = launch(work, code, extra, cache)
    try:
        docked = watcher.wait(lambda n: n > 100, idle, timeout=30)
        out: dict[str, float] = {"docked_s": (docked - t0) if docked else float("nan")}
        pid = pid_of()
        time.sleep(max(0.0, IDLE_SECONDS - (time.monotonic() - (docked or t0))))
        out["rss_mb"] = proc_rss_mb(pid)
        c0, w0 = proc_cpu_seconds(pid), time.monotonic()
        time.sleep(CPU_SECONDS)
        out["cpu_pct"] = 100 * (proc_cpu_seconds(pid) - c0) / (time.monotonic() - w0)
        if after_talk:
            from companion.instance import forward

            forward({"cmd": "talk"})
            time.sleep(15)  # listens (nothing is said), gives up, back to idle
            out["rss_after_talk_mb"] = proc_rss_mb(pid)
            time.sleep(65)  # the desktop frees what listening loaded after 60 s of idle
            out["rss_after_release_mb"] = proc_rss_mb(pid)
        return out
    finally:
        stop_tray(proc)
        watcher.wait(lambda n: n < 20, idle, timeout=10)


def measure(name: str, code: Path, runs: int, work: Path, extra: dict[str, str], watcher: StripWatcher,
            after_talk: bool) -> None:
    cache = work / f"{name}-cache"
    warm = one_run(work / f"{name}-warm", code, extra, cache, watcher, False)  # a first run fills the cache
    print(f"{name}: first launch (empty cache): docked {warm['docked_s']:.3f} s, RSS {warm['rss_mb']:.1f} MB",
          flush=True)
    rows = [one_run(work / f"{name}-{i}", code, extra, cache, watcher, after_talk and i == 0) for i in range(runs)]

    def med(key: str) -> float:
        values = [r[key] for r in rows if key in r]
        return statistics.median(values) if values else float("nan")

    print(f"{name}: launch → icon docked {med('docked_s'):.3f} s · idle RSS after {IDLE_SECONDS:g} s "
          f"{med('rss_mb'):.1f} MB · idle CPU over {CPU_SECONDS:g} s {med('cpu_pct'):.3f} % of a core "
          f"(medians of {runs}; each: " + ", ".join(f"{r['rss_mb']:.1f}" for r in rows) + " MB)", flush=True)
    if after_talk:
        print(f"{name}: after one Talk: RSS {med('rss_after_talk_mb'):.1f} MB; 80 s later "
              f"{med('rss_after_release_mb'):.1f} MB", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", metavar="REV", help="also measure this commit's code (e.g. HEAD)")
    ap.add_argument("--after-talk", action="store_true", help="also RSS after one Talk and after the release")
    args = ap.parse_args()
    if missing_tools("Xvfb", "trayer", "dbus-run-session", "pulseaudio", "git"):
        return 2
    with bench_display("bench-idle-") as work, pulse_server(work / "pulse") as sound:
        watcher = StripWatcher()
        variants = [("this tree", REPO)]
        if args.baseline:
            base = work / "baseline"
            base.mkdir()
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline], check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
            variants.insert(0, (f"baseline {args.baseline}", base))
        for name, code in variants:
            measure(name, code, args.runs, work, sound, watcher, args.after_talk)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
