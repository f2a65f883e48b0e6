"""Desktop notifications over D-Bus (org.freedesktop.Notifications, via jeepney), with action buttons.

Never raises into the caller because a desktop is missing: no session bus or no notification server means
`Notifier.open()` returns None after one clear log message, and the companion goes on by voice alone.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
CLOSE_REASONS = {1: "expired", 2: "dismissed", 3: "closed", 4: "undefined"}

ActionCallback = Callable[[int, str], None]
"""Called with (notification id, action key) when the person clicks a button; key 'default' is a click on the
bubble itself, and '' with the close reason in `on_closed`."""


class Notifier:
    """One connection to the session's notification server; `notify()` shows a bubble and returns its id."""

    def __init__(self, conn: Any, *, app_name: str, capabilities: frozenset[str], server: str,
                 on_action: ActionCallback | None = None,
                 on_closed: Callable[[int, str], None] | None = None) -> None:
        self._conn = conn
        self._send_lock = threading.Lock()
        self.app_name = app_name
        self.capabilities = capabilities
        self.server = server
        self.on_action = on_action
        self.on_closed = on_closed
        self._ours: set[int] = set()
        self._listener: threading.Thread | None = None
        self._listen_conn: Any = None
        self._closing = threading.Event()

    @classmethod
    def open(cls, *, app_name: str = "companion", on_action: ActionCallback | None = None,
             on_closed: Callable[[int, str], None] | None = None, timeout: float = 3.0) -> Notifier | None:
        """Connects to the session bus and asks the server who it is. None if either is absent."""
        if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
            log.warning("desktop notifications are not available on %s yet; check-ins are spoken only",
                        sys.platform)
            return None
        try:
            from jeepney.io.blocking import open_dbus_connection
        except ImportError:
            log.warning("desktop notifications are off: the 'jeepney' package is missing "
                        "(pip install jeepney)")
            return None
        try:
            conn = open_dbus_connection(bus="SESSION")
        except Exception as exc:  # no address, socket gone, auth refused: all mean "no session bus"
            log.warning("desktop notifications are off: no D-Bus session bus (%s). "
                        "Check-ins are spoken only.", exc)
            return None
        try:
            info = _ask(conn, _call("GetServerInformation", "", ()), timeout)
            caps = _ask(conn, _call("GetCapabilities", "", ()), timeout)[0]
        except Exception as exc:
            conn.close()
            log.warning("desktop notifications are off: no notification server answers on the session bus "
                        "(%s). Install one (for example dunst) or use a desktop that has one.", exc)
            return None
        notifier = cls(conn, app_name=app_name, capabilities=frozenset(caps),
                       server=" ".join(str(part) for part in info[:3]), on_action=on_action,
                       on_closed=on_closed)
        log.info("notifications via %s (%s)", notifier.server, ", ".join(sorted(notifier.capabilities)))
        if on_action is not None or on_closed is not None:
            notifier._start_listening()
        return notifier

    @property
    def supports_actions(self) -> bool:
        return "actions" in self.capabilities

    def notify(self, title: str, body: str, actions: Mapping[str, str] | None = None, *,
               timeout_ms: int = -1, replaces: int = 0, icon: str = "") -> int | None:
        """Shows a notification; `actions` maps keys to button labels. Where the server has no buttons only the
        "default" action (a click on the bubble) is sent. Returns the server's id, or None when the server
        refused (logged)."""
        flat: list[str] = []
        for key, label in (actions or {}).items():
            if self.supports_actions or key == "default":
                flat += [key, label]
        hints = {"category": ("s", "presence"), "urgency": ("y", 1)}
        if "body" not in self.capabilities:
            title = f"{title}: {body}" if body else title
            body = ""
        message = _call("Notify", "susssasa{sv}i",
                        (self.app_name, replaces, icon, title, body, flat, hints, timeout_ms))
        try:
            with self._send_lock:
                reply = _ask(self._conn, message, 5.0)
        except Exception as exc:
            log.warning("the notification could not be shown (%s)", exc)
            return None
        nid = int(reply[0])
        self._ours.add(nid)
        return nid

    def withdraw(self, nid: int) -> None:
        """Takes a notification away (for example once the person answered by voice)."""
        try:
            with self._send_lock:
                _ask(self._conn, _call("CloseNotification", "u", (nid,)), 5.0)
        except Exception as exc:
            log.info("closing notification %s: %s", nid, exc)

    def close(self) -> None:
        self._closing.set()
        if self._listener is not None:
            self._listener.join(2.0)
            self._listener = None
        for conn in (self._listen_conn, self._conn):
            if conn is not None:
                with contextlib.suppress(Exception):  # already gone
                    conn.close()
        self._listen_conn = None

    # -- action clicks ------------------------------------------------------------------------------------
    def _start_listening(self) -> None:
        from jeepney import MatchRule, message_bus
        from jeepney.io.blocking import Proxy, open_dbus_connection

        conn = open_dbus_connection(bus="SESSION")
        rule = MatchRule(type="signal", interface=INTERFACE, path=OBJECT_PATH)
        Proxy(message_bus, conn).AddMatch(rule)
        self._listen_conn = conn
        ready = threading.Event()
        self._listener = threading.Thread(target=self._listen, args=(conn, rule, ready),
                                          name="notification-actions", daemon=True)
        self._listener.start()
        ready.wait(2.0)

    def _listen(self, conn: Any, rule: Any, ready: threading.Event) -> None:
        with conn.filter(rule) as queue:
            ready.set()
            while not self._closing.is_set():
                try:
                    msg = conn.recv_until_filtered(queue, timeout=0.25)
                except TimeoutError:
                    continue
                except Exception as exc:  # the bus went away
                    if not self._closing.is_set():
                        log.info("stopped listening for notification clicks: %s", exc)
                    return
                member = msg.header.fields.get(_member_field())
                nid = int(msg.body[0])
                if nid not in self._ours:
                    continue  # another application's notification
                try:
                    if member == "ActionInvoked" and self.on_action is not None:
                        self.on_action(nid, str(msg.body[1]))
                    elif member == "NotificationClosed":
                        self._ours.discard(nid)
                        if self.on_closed is not None:
                            self.on_closed(nid, CLOSE_REASONS.get(int(msg.body[1]), "undefined"))
                except Exception:
                    log.exception("a notification click handler failed")


def _member_field() -> Any:
    from jeepney.low_level import HeaderFields

    return HeaderFields.member


def _ask(conn: Any, message: Any, timeout: float) -> tuple:
    """Sends a method call and returns the reply's body; a D-Bus error reply raises DBusErrorResponse."""
    from jeepney.wrappers import unwrap_msg

    return unwrap_msg(conn.send_and_get_reply(message, timeout=timeout))


def _call(method: str, signature: str, body: tuple) -> Any:
    from jeepney import DBusAddress, new_method_call

    address = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=INTERFACE)
    return new_method_call(address, method, signature or None, body)
