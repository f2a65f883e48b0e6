"""Single instance: serve / forward over the user-only Unix socket, stale sockets, a second server, bad input.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers import need

from companion.core import paths
from companion.instance import AlreadyRunning, InstanceServer, forward, socket_path


def test_forward_returns_none_when_nothing_runs() -> None:
    assert forward({"cmd": "show"}) is None


def test_serves_commands_and_replies() -> None:
    seen: list[dict] = []

    def handler(cmd: dict) -> dict:
        seen.append(cmd)
        return {"ok": True, "echo": cmd["cmd"]}

    with InstanceServer(handler):
        assert forward({"cmd": "breathe", "pattern": "box", "minutes": 3}) == {"ok": True, "echo": "breathe"}
        assert forward({"cmd": "stop"}) == {"ok": True, "echo": "stop"}
    assert seen == [{"cmd": "breathe", "pattern": "box", "minutes": 3}, {"cmd": "stop"}]
    assert not socket_path().exists()  # closed cleanly
    assert forward({"cmd": "show"}) is None


def test_socket_and_dir_are_user_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "fresh-run"
    monkeypatch.setenv("COMPANION_RUNTIME_DIR", str(run))
    with InstanceServer(lambda cmd: {"ok": True}):
        assert stat.S_IMODE(run.stat().st_mode) == 0o700
        mode = socket_path().stat().st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600


def test_a_group_readable_runtime_dir_is_tightened() -> None:
    d = paths.runtime_dir()
    d.chmod(0o755)
    with InstanceServer(lambda cmd: {"ok": True}):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_stale_socket_is_detected_and_replaced() -> None:
    path = socket_path()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a socket file nobody listens on, as a crash leaves it
    dead.close()
    assert path.exists()
    assert forward({"cmd": "show"}) is None
    with InstanceServer(lambda cmd: {"ok": True, "fresh": True}):
        assert forward({"cmd": "show"}) == {"ok": True, "fresh": True}


def test_second_server_in_the_same_process_is_refused() -> None:
    with InstanceServer(lambda cmd: {"ok": True, "who": "first"}):
        second = InstanceServer(lambda cmd: {"ok": True, "who": "second"})
        with pytest.raises(AlreadyRunning):
            second.start()
        assert forward({"cmd": "show"}) == {"ok": True, "who": "first"}


@pytest.mark.timeout(30)
def test_second_process_forwards_to_the_first() -> None:
    """A real second process: it cannot serve while the first lives, and its forward reaches the first."""
    got: list[dict] = []
    with InstanceServer(lambda cmd: (got.append(cmd), {"ok": True, "pid": os.getpid()})[1]):
        code = (
            "import json\n"
            "from companion.instance import AlreadyRunning, InstanceServer, forward\n"
            "try:\n"
            "    InstanceServer(lambda c: {'ok': True}).start()\n"
            "    print('SERVED')\n"
            "except AlreadyRunning:\n"
            "    print(json.dumps(forward({'cmd': 'ground'})))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20,
                             env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"ok": True, "pid": os.getpid()}
    assert got == [{"cmd": "ground"}]


@pytest.mark.timeout(30)
def test_lock_is_released_when_the_serving_process_dies() -> None:
    code = ("import time\nfrom companion.instance import InstanceServer\n"
            "InstanceServer(lambda c: {'ok': True, 'child': True}).start()\nprint('up', flush=True)\n"
            "time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ))
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "up"
        assert forward({"cmd": "show"}) == {"ok": True, "child": True}
        child.kill()
        child.wait(10)
        assert socket_path().exists()  # a killed process leaves its socket behind...
        assert forward({"cmd": "show"}) is None  # ...which is seen as stale
        with InstanceServer(lambda cmd: {"ok": True, "child": False}):
            assert forward({"cmd": "show"}) == {"ok": True, "child": False}
    finally:
        child.kill()
        child.wait(10)


def test_bad_commands_get_clear_errors_and_the_server_survives() -> None:
    def handler(cmd: dict) -> dict:
        if cmd["cmd"] == "boom":
            raise RuntimeError("broken on purpose")
        return {"ok": True}

    with InstanceServer(handler):
        reply = forward({"cmd": "boom"})
        assert reply is not None and reply["ok"] is False and "broken on purpose" in reply["error"]
        reply = forward({"nocmd": 1})
        assert reply is not None and reply["ok"] is False and '"cmd"' in reply["error"]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(socket_path()))
            s.sendall(b"this is not json\n")
            answer = json.loads(s.makefile().readline())
        assert answer == {"ok": False, "error": "the command is not JSON"}
        assert forward({"cmd": "fine"}) == {"ok": True}


@pytest.mark.timeout(30)
def test_a_hung_instance_yields_an_error_not_a_hang() -> None:
    release = threading.Event()

    def slow(cmd: dict) -> dict:
        release.wait(10)
        return {"ok": True}

    with InstanceServer(slow):
        reply = forward({"cmd": "show"}, timeout=0.5)
        answered_early = not release.is_set()  # forward returned while the handler was still waiting
        release.set()
    assert answered_early
    assert reply is not None and reply["ok"] is False and "did not answer" in reply["error"]


# ----------------------------------------------------------------------------------------------------
# A second `companion desktop` on a real desktop (Xvfb + tray host): two real processes
# ----------------------------------------------------------------------------------------------------
def _visible(name: str = "") -> set[str]:
    args = ["xdotool", "search", "--onlyvisible", "--name", name or ""]
    return set(subprocess.run(args, capture_output=True, text=True, timeout=20).stdout.split())


def _until(predicate, seconds: float = 20.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def _first_companion(tmp_path: Path, *args: str) -> subprocess.Popen:
    """`companion desktop` as a person starts it in their session (its own D-Bus session for the GTK menu)."""
    out = (tmp_path / "first.out").open("w")
    proc = subprocess.Popen(["dbus-run-session", "--", sys.executable, "-m", "companion", "desktop", "--silent",
                             "--no-checkins", *args], env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    ok = _until(lambda: (forward({"cmd": "status"}) or {}).get("ok") is True or proc.poll() is not None, 60)
    assert ok and proc.poll() is None, (tmp_path / "first.out").read_text()
    return proc


def _stop(proc: subprocess.Popen) -> int | None:
    import signal

    forward({"cmd": "quit"}, timeout=2)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the session's dbus-daemon
    return proc.returncode


def _second_launch() -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "companion", "desktop"], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ))


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_a_second_launch_brings_the_running_window_forward(xdisplay: str, tmp_path: Path) -> None:
    need("dbus-run-session", "xdotool")
    from companion.desktop import texts

    title = f"^{texts()['window']['title']}$"
    first = _first_companion(tmp_path)
    try:
        assert _until(lambda: forward({"cmd": "status"})["status"]["timings"].get("started"), 30)
        status = forward({"cmd": "status"})["status"]
        assert status["pacer"] == "on", (tmp_path / "first.out").read_text()
        assert not _visible(title)  # the window waits hidden until it is wanted
        second = _second_launch()
        assert second.returncode == 0, second.stderr
        assert len(second.stdout.strip().splitlines()) == 1 and "already running" in second.stdout
        assert _until(lambda: bool(_visible(title)), 10), "the running companion's window did not come forward"
        assert forward({"cmd": "status"})["status"]["pid"] == status["pid"]  # still the first one
    finally:
        assert _stop(first) == 0, (tmp_path / "first.out").read_text()


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_without_a_window_a_second_launch_opens_the_tray_menu(xdisplay: str, tmp_path: Path) -> None:
    need("dbus-run-session", "xdotool")
    first = _first_companion(tmp_path, "--no-pacer")
    try:
        assert _until(lambda: forward({"cmd": "status"})["status"]["timings"].get("started"), 30)
        assert forward({"cmd": "status"})["status"]["tray"] == "menu"
        before = _visible()
        second = _second_launch()
        assert second.returncode == 0, second.stderr
        assert len(second.stdout.strip().splitlines()) == 1 and "already running" in second.stdout
        assert _until(lambda: bool(_visible() - before), 10), "no menu opened"
        subprocess.run(["xdotool", "key", "Escape"], timeout=20)
    finally:
        assert _stop(first) == 0, (tmp_path / "first.out").read_text()
