"""A scheduled check-in as the desktop delivers it: the spoken question plus a real D-Bus notification whose
buttons reach the companion; where the server has no buttons the bubble says to click it and a click opens the
check-in in the companion window; with no server the window opens it; nothing at all while an exercise runs."""

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
    assert actions[0::2] == ["talk", "later", "default"]

    recorder.emit("ActionInvoked", "us", (1, "later"))
    assert wait_for(lambda: ("snooze_checkins", 30) in app.calls)
    recorder.emit("ActionInvoked", "us", (1, "talk"))
    assert wait_for(lambda: ("talk", None) in app.calls)
    # a click on the bubble, where the window has no check-in panel: the voice check-in
    recorder.emit("ActionInvoked", "us", (1, "default"))
    assert wait_for(lambda: ("check_in", "click") in app.calls)


class FakeWindow:
    """The companion window's side the shell uses for check-ins (the window itself is built elsewhere)."""

    def __init__(self) -> None:
        self.panels: list[str] = []
        self.root = self

    def call_soon(self, fn: Any) -> None:
        fn()

    def open_panel(self, name: str) -> None:
        self.panels.append(name)

    def submit(self, _event: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def destroy(self) -> None:
        pass


@pytest.mark.timeout(60)
def test_without_buttons_the_bubble_says_click_and_a_click_opens_the_window(private_bus: str) -> None:
    from companion.desktop.schedule import CheckinTexts

    server = RecordingServer(capabilities=("body",))
    desktop, app = _start_shell()
    try:
        window = desktop.pacer = FakeWindow()
        desktop.submit(desktop._check_in_due, wait=10)
        assert wait_for(lambda: len(server.calls) == 1)
        _app, _replaces, _icon, _title, body, actions, _hints, _timeout = server.calls[0]
        assert body in CheckinTexts.load().click_bodies and "Click here" in body
        assert actions == ["default", "Check in"]  # only the click on the bubble itself
        server.emit("ActionInvoked", "us", (1, "default"))
        assert wait_for(lambda: window.panels == ["checkin"])
        assert [c for c in app.calls if c[0] == "check_in"] == [("check_in", "scheduled")]
    finally:
        desktop.close()
        server.close()


@pytest.mark.timeout(60)
def test_with_no_notification_server_the_window_opens_the_check_in(private_bus: str) -> None:
    desktop, app = _start_shell()
    try:
        window = desktop.pacer = FakeWindow()
        desktop.submit(desktop._check_in_due, wait=10)
        assert window.panels == ["checkin"]
        assert ("check_in", "scheduled") in app.calls
    finally:
        desktop.close()


def _start_shell() -> Any:
    from companion.desktop.shell import DesktopShell, ShellOptions

    app = FakeCompanion(cycles=1)
    desktop = DesktopShell(lambda: app, options=ShellOptions(tray=False, hotkey=False, pacer=False),
                           notice=lambda _message: None)
    desktop.start()
    assert desktop.app_ready.wait(10)
    return desktop, app


@pytest.mark.timeout(60)
def test_no_check_in_interrupts_an_exercise(shell: Any, recorder: RecordingServer) -> None:
    desktop, app = shell
    app.start_exercise("coherent")
    assert wait_for(lambda: app.session_running)
    desktop.submit(desktop._check_in_due, wait=10)
    assert not [c for c in app.calls if c[0] == "check_in"]
    assert recorder.calls == []
