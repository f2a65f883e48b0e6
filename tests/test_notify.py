"""Desktop notifications reach a real notification server on the test's own private D-Bus session bus."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dbus_service import FakeDBusService
from helpers import need

from companion.desktop.notify import BUS_NAME, INTERFACE, OBJECT_PATH, Notifier

pytestmark = [pytest.mark.real, pytest.mark.timeout(60)]


class RecordingServer(FakeDBusService):
    """A tiny notification server: owns org.freedesktop.Notifications, records Notify calls, can click."""

    def __init__(self, capabilities: tuple[str, ...] = ("body", "actions")) -> None:
        self.capabilities = capabilities
        self.calls: list[tuple] = []
        self.closed: list[int] = []
        super().__init__(BUS_NAME)

    def answer(self, member: str, msg: Any) -> Any:
        from jeepney import new_method_return

        if member == "Notify":
            self.calls.append(msg.body)
            return new_method_return(msg, "u", (len(self.calls),))
        if member == "GetCapabilities":
            return new_method_return(msg, "as", (list(self.capabilities),))
        if member == "GetServerInformation":
            return new_method_return(msg, "ssss", ("recorder", "tests", "1.0", "1.2"))
        if member == "CloseNotification":
            self.closed.append(msg.body[0])
            self.emit("NotificationClosed", "uu", (msg.body[0], 3))
            return new_method_return(msg)
        return None

    def emit(self, member: str, signature: str, body: tuple) -> None:
        from jeepney import DBusAddress, new_signal

        self.send(new_signal(DBusAddress(OBJECT_PATH, interface=INTERFACE), member, signature, body))


@pytest.fixture
def recorder(private_bus: str) -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.close()


def wait_for(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_notification_with_actions_reaches_the_server_and_clicks_come_back(recorder: RecordingServer):
    clicks: list[tuple[int, str]] = []
    closed: list[tuple[int, str]] = []
    notifier = Notifier.open(on_action=lambda nid, key: clicks.append((nid, key)),
                             on_closed=lambda nid, why: closed.append((nid, why)))
    assert notifier is not None
    assert notifier.server.startswith("recorder")
    nid = notifier.notify("A gentle check-in", "How are you feeling?", {"talk": "Talk", "later": "Not now"})
    assert nid == 1
    app, replaces, _icon, title, body, actions, _hints, _timeout = recorder.calls[0]
    assert (app, replaces, title, body) == ("companion", 0, "A gentle check-in", "How are you feeling?")
    assert actions == ["talk", "Talk", "later", "Not now"]

    recorder.emit("ActionInvoked", "us", (99, "talk"))  # someone else's notification: ignored
    recorder.emit("ActionInvoked", "us", (nid, "talk"))
    assert wait_for(lambda: clicks == [(nid, "talk")])
    notifier.withdraw(nid)
    assert recorder.closed == [nid]
    assert wait_for(lambda: closed == [(nid, "closed")])
    notifier.close()


def test_buttons_are_dropped_where_the_server_has_none(private_bus: str):
    server = RecordingServer(capabilities=("body",))
    try:
        notifier = Notifier.open()
        assert notifier is not None and not notifier.supports_actions
        assert notifier.notify("Checking in", "How are you?", {"talk": "Talk"}) == 1
        assert server.calls[0][5] == []
        notifier.close()
    finally:
        server.close()


def test_no_session_bus_gives_none_and_one_clear_message(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'nothing-here'}")
    with caplog.at_level(logging.WARNING, logger="companion.desktop.notify"):
        assert Notifier.open() is None
    assert len(caplog.records) == 1
    assert "no D-Bus session bus" in caplog.records[0].getMessage()


def test_a_bus_without_a_notification_server_gives_none(private_bus, caplog):
    with caplog.at_level(logging.WARNING, logger="companion.desktop.notify"):
        assert Notifier.open(timeout=2) is None
    assert len(caplog.records) == 1
    assert "no notification server" in caplog.records[0].getMessage()


@pytest.mark.slow
def test_dunst_shows_the_notification(private_bus, xdisplay, tmp_path):
    """The real notification daemon many Linux desktops use; its rule script records what it displayed."""
    need("dunst")
    record = tmp_path / "shown.txt"
    script = tmp_path / "record.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s|%s|%s\\n" "$1" "$2" "$3" >> {record}\n')
    script.chmod(0o755)
    rc = tmp_path / "dunstrc"
    rc.write_text(f'[global]\n    font = Monospace 8\n[record]\n    summary = "*"\n    script = {script}\n')
    dunst = subprocess.Popen([shutil.which("dunst"), "-config", str(rc)], env=dict(os.environ),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        notifier = None
        deadline = time.monotonic() + 15
        while notifier is None and time.monotonic() < deadline:
            time.sleep(0.1)
            notifier = Notifier.open(timeout=1)
        assert notifier is not None, "dunst did not take the notification name"
        assert "dunst" in notifier.server.lower()
        nid = notifier.notify("A gentle check-in", "How are you feeling right now?",
                              {"talk": "Talk", "later": "Not now"})
        assert nid is not None and nid > 0
        assert wait_for(lambda: record.exists() and "A gentle check-in" in record.read_text())
        first = record.read_text().splitlines()[0]
        assert first == "companion|A gentle check-in|How are you feeling right now?"
        notifier.close()
    finally:
        dunst.terminate()
        dunst.wait(5)
