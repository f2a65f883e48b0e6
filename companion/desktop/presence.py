"""Is the person busy or away? Fullscreen window, idle time and screen lock, asked of X11 and D-Bus.

Never guesses: anything it cannot find out is None ("unknown"), quietly, and unknown is never a reason to skip
a check-in. Never raises into the scheduler.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from typing import Any

from companion.desktop.schedule import PresenceSnapshot

log = logging.getLogger(__name__)

SCREENSAVERS = (  # (bus name, object path, interface) that answer GetActive -> bool
    ("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver"),
    ("org.freedesktop.ScreenSaver", "/ScreenSaver", "org.freedesktop.ScreenSaver"),
    ("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver", "org.gnome.ScreenSaver"),
)


class Presence:
    """Asks the desktop afresh on every `snapshot()` (check-ins are rare, so no connection is kept open)."""

    def __init__(self, *, display: str | None = None, dbus_timeout: float = 1.0) -> None:
        self._display = display
        self._dbus_timeout = dbus_timeout

    def snapshot(self) -> PresenceSnapshot:
        fullscreen: bool | None = None
        idle: float | None = None
        if sys.platform.startswith("win"):
            idle = _windows_idle_seconds()
        elif self._display or os.environ.get("DISPLAY"):
            try:
                fullscreen, idle = self._x11()
            except Exception as exc:  # no X server, a Wayland session with XWayland only, a dying window
                log.debug("X11 presence unknown: %s", exc)
        if idle is None:
            idle = _xprintidle_seconds()
        return PresenceSnapshot(fullscreen=fullscreen, locked=self.locked(), idle_seconds=idle)

    def _x11(self) -> tuple[bool | None, float | None]:
        from Xlib import X, Xatom, display

        d = display.Display(self._display)
        try:
            root = d.screen().root
            fullscreen: bool | None = None
            active = root.get_full_property(d.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
            if active is not None and len(active.value) and active.value[0]:
                window = d.create_resource_object("window", int(active.value[0]))
                state = window.get_full_property(d.intern_atom("_NET_WM_STATE"), Xatom.ATOM)
                values = list(state.value) if state is not None else []
                fullscreen = d.intern_atom("_NET_WM_STATE_FULLSCREEN") in values
            idle: float | None = None
            if d.has_extension("MIT-SCREEN-SAVER"):
                idle = root.screensaver_query_info().idle / 1000.0
            return fullscreen, idle
        finally:
            d.close()

    def locked(self) -> bool | None:
        """The session's screensaver/lock state over D-Bus, or None when no such service answers."""
        if not sys.platform.startswith("linux") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            return None
        try:
            from jeepney import DBusAddress, new_method_call
            from jeepney.io.blocking import open_dbus_connection
            from jeepney.wrappers import unwrap_msg
        except ImportError:
            return None
        try:
            conn = open_dbus_connection(bus="SESSION")
        except Exception as exc:
            log.debug("lock state unknown: %s", exc)
            return None
        try:
            for name, path, interface in SCREENSAVERS:
                call = new_method_call(DBusAddress(path, bus_name=name, interface=interface), "GetActive")
                try:
                    return bool(_first(unwrap_msg(conn.send_and_get_reply(call, timeout=self._dbus_timeout))))
                except Exception:
                    continue
            return None
        finally:
            conn.close()


def _first(body: Any) -> Any:
    return body[0]


def _xprintidle_seconds() -> float | None:
    tool = shutil.which("xprintidle")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool], capture_output=True, text=True, timeout=2, check=True).stdout
        return int(out.strip()) / 1000.0
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _windows_idle_seconds() -> float | None:
    """Seconds since the last input on Windows (GetLastInputInfo), through ctypes."""
    try:
        import ctypes
        from ctypes import wintypes

        class LastInputInfo(ctypes.Structure):
            _fields_ = [("cbSize", wintypes.UINT), ("dwTime", wintypes.DWORD)]

        info = LastInputInfo()
        info.cbSize = ctypes.sizeof(info)
        windll = ctypes.windll  # type: ignore[attr-defined]
        if not windll.user32.GetLastInputInfo(ctypes.byref(info)):
            return None
        return ((windll.kernel32.GetTickCount() - info.dwTime) & 0xFFFFFFFF) / 1000.0
    except Exception:
        return None
