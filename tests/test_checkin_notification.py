"""A scheduled check-in as the desktop delivers it: the spoken question plus a real D-Bus notification whose
buttons reach the companion, and nothing at all while an exercise runs."""

from __future__ import annotations

from typing import Any

import pytest
import test_notify
from test_desktop_shell import FakeCompanion
from test_notify import RecordingServer, wait_for

recorder = test_notify.recorder  # the notification tests' recording server


@pytest.fixture
def shell(recorder: RecordingServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    from companion.desktop.shell import DesktopShell, ShellOptions

    monkeypatch.delenv("DISPLAY", raising=False)
    app = FakeCompanion(cycles=1)
    desktop = DesktopShell(lambda: app, options=ShellOptions(tray=False, hotkey=False, pacer=False),
                           notice=lambda _message: None)
    desktop.start()
    assert desktop.app_ready.wait(10)
    yield desktop, app
    desktop.close()


@pytest.mark.timeout(60)
def test_due_check_in_asks_and_notifies_and_the_buttons_work(shell: Any, recorder: RecordingServer) -> None:
    desktop, app = shell
    desktop.submit(desktop._check_in_due, wait=10)
    assert ("check_in", "scheduled") in app.calls
    assert wait_for(lambda: len(recorder.calls) == 1)
    _app_name, _replaces, _icon, title, body, actions, _hints, _timeout = recorder.calls[0]
    assert title and body
    assert actions[0::2] == ["talk", "later"]

    recorder.emit("ActionInvoked", "us", (1, "later"))
    assert wait_for(lambda: ("snooze_checkins", 30) in app.calls)
    recorder.emit("ActionInvoked", "us", (1, "talk"))
    assert wait_for(lambda: ("talk", None) in app.calls)


@pytest.mark.timeout(60)
def test_no_check_in_interrupts_an_exercise(shell: Any, recorder: RecordingServer) -> None:
    desktop, app = shell
    app.start_exercise("coherent")
    assert wait_for(lambda: app.session_running)
    desktop.submit(desktop._check_in_due, wait=10)
    assert not [c for c in app.calls if c[0] == "check_in"]
    assert recorder.calls == []
