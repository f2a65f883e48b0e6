"""Presence on a real X server (private Xvfb) and a private D-Bus session; unknown stays unknown elsewhere."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
from dbus_service import FakeDBusService
from helpers import need

from companion.desktop.presence import Presence
from companion.desktop.schedule import CheckinSettings, PresenceSnapshot, skip_reason


class FakeScreenSaver(FakeDBusService):
    """Owns org.freedesktop.ScreenSaver and answers GetActive with `self.active`."""

    def __init__(self, active: bool) -> None:
        self.active = active
        super().__init__("org.freedesktop.ScreenSaver")

    def answer(self, member: str, msg: Any) -> Any:
        from jeepney import new_method_return

        return new_method_return(msg, "b", (self.active,)) if member == "GetActive" else None


@pytest.mark.real
@pytest.mark.timeout(30)
def test_locked_comes_from_the_screensaver_service(private_bus):
    presence = Presence()
    assert presence.locked() is None  # nobody answers: unknown
    saver = FakeScreenSaver(active=True)
    try:
        assert presence.locked() is True
        saver.active = False
        assert presence.locked() is False
    finally:
        saver.close()


@pytest.mark.real
@pytest.mark.timeout(30)
def test_fullscreen_and_idle_on_a_real_x_server(xdisplay):
    need("xdotool")
    from Xlib import X, Xatom, display

    d = display.Display(xdisplay)
    root = d.screen().root
    net_active = d.intern_atom("_NET_ACTIVE_WINDOW")
    net_state = d.intern_atom("_NET_WM_STATE")
    fs = d.intern_atom("_NET_WM_STATE_FULLSCREEN")
    presence = Presence(display=xdisplay)
    window = root.create_window(0, 0, 100, 100, 0, X.CopyFromParent)
    try:
        root.delete_property(net_active)
        d.sync()
        assert presence.snapshot().fullscreen is None  # no window manager says which window is active

        window.change_property(net_state, Xatom.ATOM, 32, [fs])
        root.change_property(net_active, Xatom.WINDOW, 32, [window.id])
        d.sync()
        assert presence.snapshot().fullscreen is True

        window.change_property(net_state, Xatom.ATOM, 32, [])
        d.sync()
        assert presence.snapshot().fullscreen is False
    finally:
        root.delete_property(net_active)
        window.destroy()
        d.sync()
        d.close()

    before = presence.snapshot().idle_seconds
    assert before is not None and before >= 0
    deadline = time.monotonic() + 10
    while before < 1.0 and time.monotonic() < deadline:
        time.sleep(0.2)
        before = presence.snapshot().idle_seconds
    subprocess.run(["xdotool", "key", "shift"], env={"DISPLAY": xdisplay}, check=True, timeout=10)
    after = presence.snapshot().idle_seconds
    assert after is not None and after < before


def test_no_display_and_no_bus_means_unknown_and_no_skip(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setattr("companion.desktop.presence.shutil.which", lambda _name: None)
    snap = Presence().snapshot()
    assert snap == PresenceSnapshot(fullscreen=None, locked=None, idle_seconds=None)
    assert skip_reason(CheckinSettings(), snap) is None


def test_a_display_that_is_not_there_is_unknown_not_an_error(monkeypatch):
    monkeypatch.setattr("companion.desktop.presence.shutil.which", lambda _name: None)
    snap = Presence(display=":9999").snapshot()
    assert snap.fullscreen is None and snap.idle_seconds is None
