"""The desktop shell for real on Xvfb + trayer: tray docks, GTK menu starts a session, hotkey toggles and
debounces, single instance hand-over, no display / no tray host / no hotkey backend.

Run as a script (`python tests/test_desktop_shell.py`) it is the small driver the subprocess tests start: the
desktop shell around a FakeCompanion (the real app when it can be built and COMPANION_TEST_REAL_APP=1).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import need, run_cli, start_tray_host, start_xvfb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from companion.core.clock import RealClock
from companion.core.events import Event, EventBus
from companion.core.intent import IntentResult

# A short box-like pattern so real-time tests stay quick: (phase, seconds)
FAKE_PATTERN = (("inhale", 1.2), ("hold", 1.2), ("exhale", 1.2), ("hold", 1.2))
PHASE_WORDS = {"inhale": "Breathe in", "hold": "Hold", "exhale": "Breathe out", "rest": "Rest"}


class FakeCompanion:
    """The Companion interface with a real-time session timeline on RealClock; records every call.

    Sessions emit start / phase / say / end events as the contract says (t and planned in seconds since the
    session start on the monotonic clock), so the front ends are exercised for real.
    """

    def __init__(self, *, cycles: int = 2, calls_file: Path | None = None,
                 pattern: tuple[tuple[str, float], ...] = FAKE_PATTERN) -> None:
        self.pattern = pattern
        self.bus = EventBus()
        self.config = SimpleNamespace(
            hotkey=SimpleNamespace(combo="<ctrl>+<alt>+b", enabled=True),
            breathing=SimpleNamespace(default_pattern="box", default_minutes=3),
            checkins=SimpleNamespace(enabled=True, times=["10:30"], interval_minutes=0,
                                     working_hours="09:00-18:00", quiet_hours="21:00-08:00",
                                     weekdays=["mon"], skip_when_fullscreen=False, skip_when_idle_minutes=0))
        self.clock = RealClock()
        self.cycles = cycles
        self.calls: list[tuple[str, Any]] = []
        self.sessions = 0
        self.snooze_handler = None
        self._calls_file = calls_file
        self._state = "idle"
        self._interrupt = threading.Event()
        self._thread: threading.Thread | None = None
        self._paused = threading.Event()
        self._lock = threading.Lock()

    def _record(self, name: str, arg: Any = None) -> None:
        self.calls.append((name, arg))
        if self._calls_file is not None:
            with self._calls_file.open("a") as f:
                f.write(json.dumps({"call": name, "arg": arg, "mono": time.monotonic()}) + "\n")

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.bus.emit(Event("state", 0.0, data={"state": state}))

    @property
    def state(self) -> str:
        return self._state

    @property
    def session_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start_exercise(self, exercise_id: str, *, minutes: float | None = None,
                       cycles: int | None = None) -> bool:
        self._record("start_exercise", exercise_id)
        self._end_session()
        self._interrupt = threading.Event()
        self.sessions += 1
        self._thread = threading.Thread(target=self._run, args=(exercise_id, self._interrupt), daemon=True)
        self._thread.start()
        return True

    def _run(self, exercise_id: str, interrupt: threading.Event) -> None:
        t0 = self.clock.now()
        self._set_state("session")
        self.bus.emit(Event("start", 0.0, 0.0, {"exercise": exercise_id, "title": exercise_id.title()}))
        planned = 0.5
        completed = True
        for cycle in range(1, self.cycles + 1):
            for name, seconds in self.pattern:
                if self.clock.wait_until(t0 + planned, interrupt):
                    completed = False
                    break
                while self._paused.is_set() and not interrupt.is_set():
                    time.sleep(0.05)
                now = self.clock.now() - t0
                data = {"name": name, "cycle": cycle, "seconds": seconds}
                self.bus.emit(Event("phase", now, planned, data))
                self.bus.emit(Event("say", self.clock.now() - t0, planned, {"text": PHASE_WORDS[name]}))
                planned += seconds
            else:
                continue
            break
        if completed and self.clock.wait_until(t0 + planned, interrupt):
            completed = False
        self.bus.emit(Event("end", self.clock.now() - t0, None,
                            {"completed": completed, "reason": "completed" if completed else "stopped"}))
        self._set_state("idle")

    def stop(self) -> None:
        self._record("stop")
        self._end_session()

    def _end_session(self) -> None:
        self._interrupt.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def pause(self) -> None:
        self._record("pause")
        if self.session_running and not self._paused.is_set():
            self._paused.set()
            self.bus.emit(Event("pause", 0.0))
            self._set_state("paused")

    def resume(self) -> None:
        self._record("resume")
        if self._paused.is_set():
            self._paused.clear()
            self.bus.emit(Event("resume", 0.0))
            self._set_state("session")

    def toggle_breathing(self) -> None:
        self._record("toggle_breathing")
        if self.session_running:
            self._end_session()
        else:
            self.start_exercise(self.config.breathing.default_pattern)

    def talk(self, *, listen_first: bool = True) -> None:
        self._record("talk", None if listen_first else "after a question")

    def say(self, text: str) -> None:
        self._record("say", text)

    def check_in(self, *, source: str = "manual") -> None:
        self._record("check_in", source)

    def snooze_checkins(self, minutes: int | None) -> None:
        self._record("snooze_checkins", minutes)
        if self.snooze_handler is not None:
            self.snooze_handler(minutes)

    def handle_text(self, text: str, *, source: str = "typed") -> IntentResult:
        self._record("handle_text", text)
        return IntentResult(text, "unknown", 0.0)

    def handle_command(self, command: dict[str, Any]) -> dict[str, Any]:
        self._record("handle_command", command)
        cmd = command.get("cmd")
        if cmd in ("start", "breathe"):
            self.start_exercise(str(command.get("exercise") or command.get("pattern") or "box"))
        elif cmd in ("stop", "pause", "resume", "talk", "toggle_breathing"):
            getattr(self, cmd)()
        elif cmd == "check_in":
            self.check_in(source="command")
        else:
            return {"ok": False, "error": f"unknown command '{cmd}'"}
        return {"ok": True, "state": self.state}

    def close(self) -> None:
        self._record("close")
        self._end_session()


def real_app_available() -> bool:
    try:
        from companion.app import create_app  # noqa: F401
        from companion.core import replies, router, safety  # noqa: F401
        from companion.speech import tts  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------------------------------
# Running the desktop as a subprocess
# ----------------------------------------------------------------------------------------------------
DRIVER = Path(__file__).resolve()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line being written right now
            out.append(json.loads(line))
    return out


def wait_for(predicate: Any, timeout: float = 15.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class DesktopRun:
    """The desktop shell as a person runs it: its own process (under dbus-run-session for the GTK menu),
    with its calls, events, pacer log and status written to files the test follows."""

    def __init__(self, tmp: Path, *, args: tuple[str, ...] = (), env: dict[str, str] | None = None,
                 dbus: bool = True, unset: tuple[str, ...] = ()) -> None:
        self.dir = tmp
        self.calls_path = tmp / "calls.jsonl"
        self.events_path = tmp / "events.jsonl"
        self.pacer_path = tmp / "pacer.jsonl"
        self.status_path = tmp / "status.json"
        self.out_path = tmp / "desktop.out"
        cmd = [sys.executable, str(DRIVER), "--calls", str(self.calls_path),
               "--events", str(self.events_path), "--pacer-log", str(self.pacer_path),
               "--status", str(self.status_path), *args]
        if dbus:
            cmd = ["dbus-run-session", "--", *cmd]
        full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        for name in unset:
            full_env.pop(name, None)
        self._out = self.out_path.open("w")
        self.proc = subprocess.Popen(cmd, env=full_env, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def started(self, timeout: float = 30.0) -> dict[str, Any]:
        ready = wait_for(lambda: self.status_path.exists() or self.proc.poll() is not None, timeout)
        assert ready, self.output
        assert self.status_path.exists(), f"desktop exited early: {self.output}"
        return json.loads(self.status_path.read_text())

    @property
    def output(self) -> str:
        return self.out_path.read_text() if self.out_path.exists() else ""

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [e for e in read_jsonl(self.events_path) if kind is None or e["event"] == kind]

    def calls(self, name: str | None = None) -> list[dict[str, Any]]:
        return [c for c in read_jsonl(self.calls_path) if name is None or c["call"] == name]

    def close(self) -> int | None:
        from companion.instance import forward

        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                forward({"cmd": "quit"}, timeout=2)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # dbus-daemon and anything else left in the group
        self._out.close()
        return self.proc.returncode


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


def screenshot(path: Path) -> Any:
    from PIL import Image

    subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=20)
    return Image.open(path).convert("RGB")


def count_colour(img: Any, rgb: tuple[int, int, int], box: tuple[int, int, int, int], tol: int = 30) -> int:
    region = img.crop(box)
    return sum(n for n, c in region.getcolors(region.width * region.height)
               if all(abs(a - b) <= tol for a, b in zip(c, rgb, strict=True)))


# ----------------------------------------------------------------------------------------------------
# Driver (run as a script by the subprocess tests and the benchmark)
# ----------------------------------------------------------------------------------------------------
def driver_main(argv: list[str]) -> int:
    import argparse

    from companion.desktop.shell import DesktopShell, ShellOptions
    from companion.instance import AlreadyRunning, forward

    launched = time.monotonic()
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=Path)
    p.add_argument("--events", type=Path)
    p.add_argument("--pacer-log", type=Path)
    p.add_argument("--status", type=Path, help="write the shell status here once started")
    p.add_argument("--cycles", type=int, default=2)
    p.add_argument("--no-pacer", action="store_true")
    p.add_argument("--no-tray", action="store_true")
    args = p.parse_args(argv)
    import logging  # the tray's docking steps in the output: a failed docking test then shows where it stopped

    dock_log = logging.getLogger("companion.desktop.tray")
    dock_log.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(relativeCreated)6.0f ms tray: %(message)s"))
    dock_log.addHandler(handler)

    def make_app() -> Any:
        if os.environ.get("COMPANION_TEST_REAL_APP") == "1":
            from companion.app import create_app

            app = create_app(silent=True)
        else:
            app = FakeCompanion(cycles=args.cycles, calls_file=args.calls)
        if args.events:
            f = args.events.open("a")

            def write(event: Event) -> None:
                f.write(json.dumps({**event.to_json(), "mono": time.monotonic()}) + "\n")
                f.flush()

            app.bus.subscribe(write)
        return app

    shell = DesktopShell(make_app, options=ShellOptions(pacer=not args.no_pacer, tray=not args.no_tray,
                                                        pacer_log=args.pacer_log),
                         notice=lambda text: print(text, file=sys.stderr, flush=True), launched=launched)
    try:
        shell.start()
    except AlreadyRunning:
        print(json.dumps(forward({"cmd": "show"})), flush=True)
        return 0
    shell.app_ready.wait(10)
    if args.status:  # written whole, then renamed: the test polls for it
        partial = args.status.with_suffix(".tmp")
        partial.write_text(json.dumps(shell.describe()))
        partial.rename(args.status)
    return shell.run()


if __name__ == "__main__":
    raise SystemExit(driver_main(sys.argv[1:]))


# ----------------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------------
def real_app_env() -> dict[str, str]:
    """The real Companion when it can be built here, else the FakeCompanion (same interface)."""
    return {"COMPANION_TEST_REAL_APP": "1"} if real_app_available() else {}


@pytest.fixture
def shell_without_display(monkeypatch: pytest.MonkeyPatch) -> Any:
    from companion.desktop.shell import DesktopShell, ShellOptions

    monkeypatch.delenv("DISPLAY", raising=False)
    notes: list[str] = []
    app = FakeCompanion(cycles=1)
    shell = DesktopShell(lambda: app, options=ShellOptions(tray=False, hotkey=False, pacer=False),
                         notice=notes.append)
    shell.start()
    assert shell.app_ready.wait(10)
    yield shell, app, notes
    shell.close()


@pytest.mark.timeout(60)
def test_menu_actions_become_companion_commands(shell_without_display: Any) -> None:
    shell, app, _notes = shell_without_display
    for name in ("breathe:4-7-8", "ground", "compassion", "journal", "check_in", "talk", "stop", "history"):
        shell.action(name)
    assert wait_for(lambda: ("handle_text", "how am I doing") in [(c[0], c[1]) for c in app.calls])
    names = [c for c in app.calls if c[0] != "stop"]
    # every session and check-in started from the menu runs the one voice loop (it listens when asked something)
    after = ("talk", "after a question")
    assert names[:11] == [("start_exercise", "4-7-8"), after, ("start_exercise", "ground"), after,
                          ("start_exercise", "compassion"), after, ("start_exercise", "journal"), after,
                          ("check_in", "click"), after, ("talk", None)]
    assert ("stop", None) in app.calls


@pytest.mark.timeout(60)
def test_how_i_listen_names_the_recognizer_and_the_better_one(shell_without_display: Any) -> None:
    shell, app, _notes = shell_without_display
    shell.action("voice")
    assert wait_for(lambda: any(c[0] == "say" for c in app.calls))
    [said] = [c[1] for c in app.calls if c[0] == "say"]
    assert "built-in English recognizer" in said and "companion model download" in said


@pytest.mark.timeout(60)
def test_snoozing_from_the_tray_pauses_the_scheduler(shell_without_display: Any) -> None:
    shell, app, _notes = shell_without_display
    assert shell.scheduler is not None and shell.status.scheduler == "on"
    shell.action("snooze:30")
    assert wait_for(lambda: shell.scheduler.paused_until is not None)
    assert ("snooze_checkins", 30) in app.calls
    assert shell._checkins_off()
    shell.action("snooze:resume")
    assert wait_for(lambda: shell.scheduler.paused_until is None)
    shell.action("snooze:tomorrow")
    assert wait_for(lambda: ("snooze_checkins", None) in app.calls)
    assert wait_for(lambda: shell.scheduler.paused_until is not None)


@pytest.mark.timeout(60)
def test_instance_commands_reach_the_companion(shell_without_display: Any) -> None:
    from companion.instance import forward

    _shell, app, _notes = shell_without_display
    assert forward({"cmd": "ground"}) == {"ok": True, "state": app.state}
    assert ("start_exercise", "ground") in app.calls
    reply = forward({"cmd": "breathe", "pattern": "coherent", "minutes": 2})
    assert reply is not None and reply["ok"] is True
    assert ("start_exercise", "coherent") in app.calls
    assert forward({"cmd": "stop"}) == {"ok": True, "state": app.state}
    reply = forward({"cmd": "show"})
    assert reply is not None and reply["ok"] and reply["status"]["pacer"] == "off"
    reply = forward({"cmd": "nonsense"})
    assert reply is not None and reply["ok"] is False and "nonsense" in reply["error"]


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_hotkey_starts_then_stops_and_a_burst_counts_once(xdisplay: str, tmp_path: Path) -> None:
    need("xdotool", "dbus-run-session")
    run = DesktopRun(tmp_path, env=real_app_env(), args=("--cycles", "50"))
    try:
        status = run.started()
        assert status["hotkey"] == "on", run.output
        xdotool("key", "ctrl+alt+b")
        assert wait_for(lambda: run.events("start")), run.output
        assert wait_for(lambda: run.events("phase"))
        time.sleep(1.0)  # a deliberate second press, well after the first
        xdotool("key", "ctrl+alt+b")
        assert wait_for(lambda: run.events("end")), run.output
        assert run.events("end")[0]["completed"] is False
        assert len(run.events("start")) == 1
        assert wait_for(lambda: run.events("state")[-1]["state"] == "idle", timeout=20), run.events("state")

        time.sleep(1.0)
        xdotool("key", "--delay", "25", *(["ctrl+alt+b"] * 20))  # twenty quick presses
        assert wait_for(lambda: len(run.events("start")) == 2), run.output
        time.sleep(1.5)  # anything a burst could still cause would have shown by now
        assert len(run.events("start")) == 2
        assert len(run.events("end")) == 1  # the second session runs on: one toggle, not twenty
        if not real_app_available():
            assert len(run.calls("toggle_breathing")) == 3
        # the breathing window animated the very phases the voice timeline announced (one clock)
        voice = [(e["name"], e["cycle"], e["planned"], e["seconds"]) for e in run.events("phase")]
        drawn = [(p["name"], p["cycle"], p["planned"], p["seconds"]) for p in read_jsonl(run.pacer_path)]
        assert drawn and drawn == voice[:len(drawn)] and len(voice) - len(drawn) <= 2
    finally:
        assert run.close() == 0, run.output


@pytest.mark.real
@pytest.mark.timeout(90)
def test_second_tray_hands_over_and_exits(xdisplay: str, tmp_path: Path) -> None:
    need("dbus-run-session")
    run = DesktopRun(tmp_path, env=real_app_env(), args=("--no-pacer",))
    try:
        first = run.started()
        second = run_cli("tray", timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        from companion.instance import forward

        reply = forward({"cmd": "show"})
        assert reply is not None and reply["status"]["pid"] == first["pid"]  # the first one still serves
    finally:
        assert run.close() == 0, run.output


@pytest.mark.timeout(60)
def test_no_display_gives_a_clear_message() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = run_cli("tray", env=env, timeout=60)
    assert out.returncode == 1
    assert "No desktop display" in out.stderr and "companion chat" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.fixture
def bare_display() -> Any:
    """An X display with no tray host at all."""
    need("Xvfb")
    xvfb, disp = start_xvfb("640x480x24")
    yield disp
    xvfb.terminate()
    xvfb.wait(5)


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_no_tray_host_says_so_the_hotkey_works_and_a_late_panel_gets_the_icon(bare_display: str,
                                                                               tmp_path: Path) -> None:
    """At login the companion can start before the panel: it says so, works meanwhile, and docks once the
    panel's tray is up."""
    need("xdotool", "dbus-run-session", "import", "trayer")
    from companion.desktop.icons import STATE_COLOURS

    run = DesktopRun(tmp_path, env={**real_app_env(), "DISPLAY": bare_display}, args=("--no-pacer",))
    host = None
    try:
        status = run.started()
        assert status["tray"] == "unavailable"
        assert "No system tray was found" in run.output
        assert status["hotkey"] == "on"
        subprocess.run(["xdotool", "key", "ctrl+alt+b"], check=True, timeout=20,
                       env=dict(os.environ, DISPLAY=bare_display))
        assert wait_for(lambda: run.events("start")), run.output
        host = start_tray_host(bare_display)
        assert wait_for(lambda: "A system tray is here now" in run.output, timeout=20), run.output

        def icon_in_the_strip() -> bool:  # trayer sits top right on this 640x480 screen
            shot = tmp_path / "late.png"
            subprocess.run(["import", "-window", "root", str(shot)], check=True, timeout=20,
                           env=dict(os.environ, DISPLAY=bare_display))
            from PIL import Image

            img = Image.open(shot).convert("RGB")  # the hotkey's session is on: the icon in that state's look
            return count_colour(img, STATE_COLOURS["session"], (400, 0, 640, 32), 20) > 100

        assert wait_for(icon_in_the_strip, timeout=20), run.output
        assert "Traceback" not in run.output
    finally:
        assert run.close() == 0, run.output
        if host is not None:
            host.terminate()
            host.wait(5)


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_without_a_hotkey_backend_it_says_so_once_and_commands_work(xdisplay: str, tmp_path: Path) -> None:
    need("dbus-run-session")
    from companion.instance import forward

    run = DesktopRun(tmp_path, env={**real_app_env(), "WAYLAND_DISPLAY": "wayland-0"}, args=("--no-pacer",))
    try:
        status = run.started()
        assert status["hotkey"] == "unavailable"
        assert status["tray"] == "menu"
        assert run.output.count("global hotkey is not available") == 1
        assert "companion breathe" in run.output
        reply = forward({"cmd": "breathe"})  # what the `companion breathe` desktop shortcut sends
        assert reply is not None and reply["ok"], reply
        assert wait_for(lambda: run.events("start")), run.output
    finally:
        assert run.close() == 0, run.output


@pytest.mark.timeout(60)
def test_history_and_settings_open_real_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """History draws the picture from the real store and opens it; Settings creates the config file."""
    if not real_app_available():
        pytest.skip("the real app cannot be built here yet")
    from companion.app import create_app
    from companion.core import paths
    from companion.desktop import shell as shell_mod
    from companion.desktop.shell import DesktopShell, ShellOptions

    opened: list[Path] = []
    monkeypatch.setattr(shell_mod, "_open_file", opened.append)
    notes: list[str] = []
    shell = DesktopShell(lambda: create_app(silent=True), notice=notes.append,
                         options=ShellOptions(tray=False, hotkey=False, pacer=False, scheduler=False))
    shell.start()
    try:
        assert shell.app_ready.wait(30)
        shell.action("history")
        shell.action("settings")
        assert wait_for(lambda: len(opened) == 2, timeout=30), notes
    finally:
        shell.close()
    picture, config = opened
    assert picture == paths.data_dir() / "history.png" and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert config == paths.config_file() and config.is_file()
    assert any(str(picture) in n for n in notes) and any(str(config) in n for n in notes)


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_the_hotkey_comes_from_the_config_file(xdisplay: str, tmp_path: Path) -> None:
    need("xdotool", "dbus-run-session")
    from companion.core import paths

    paths.config_file().write_text('[hotkey]\ncombo = "<ctrl>+<alt>+j"\n')
    run = DesktopRun(tmp_path, env=real_app_env(), args=("--no-pacer", "--no-tray"))
    try:
        assert run.started()["hotkey"] == "on", run.output
        xdotool("key", "ctrl+alt+b")  # the default no longer does anything
        time.sleep(1.0)
        assert run.events("start") == []
        xdotool("key", "ctrl+alt+j")
        assert wait_for(lambda: run.events("start")), run.output
    finally:
        assert run.close() == 0, run.output


@pytest.mark.timeout(60)
def test_after_a_quiet_while_what_listening_loaded_is_freed() -> None:
    """Idle RSS stays low: `release_after` seconds of idle ask the app to drop its recognizers; any other state
    before then cancels the countdown."""
    from companion.desktop.shell import DesktopShell, ShellOptions

    class ReleasingCompanion(FakeCompanion):
        released = 0

        def release_idle(self) -> bool:
            self.released += 1
            return True

    app = ReleasingCompanion(cycles=1)
    shell = DesktopShell(lambda: app, notice=lambda _text: None,
                         options=ShellOptions(tray=False, hotkey=False, pacer=False, scheduler=False,
                                              instance=False, release_after=0.3))
    shell.start()
    try:
        assert shell.app_ready.wait(10)
        app._set_state("listening")
        app._set_state("idle")
        app._set_state("speaking")  # not idle for long: no release
        time.sleep(0.6)
        assert app.released == 0
        app._set_state("idle")
        assert wait_for(lambda: app.released == 1, timeout=5)
        time.sleep(0.6)
        assert app.released == 1  # once per quiet spell
    finally:
        shell.close()
