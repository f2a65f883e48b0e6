"""A tiny D-Bus service for tests: owns a well-known name on the (private) session bus and answers method
calls from a thread, so the code under test talks to a real bus and a real peer."""

from __future__ import annotations

import threading
from typing import Any


class FakeDBusService:
    """Subclasses answer calls in `answer(member, msg)` with a reply message, or None for "unknown method"."""

    def __init__(self, bus_name: str) -> None:
        from jeepney import message_bus
        from jeepney.io.blocking import Proxy, open_dbus_connection

        self.conn = open_dbus_connection(bus="SESSION")
        assert Proxy(message_bus, self.conn).RequestName(bus_name, 4) == (1,)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def answer(self, member: str, msg: Any) -> Any:
        raise NotImplementedError

    def send(self, message: Any) -> None:
        with self._lock:
            self.conn.send(message)

    def _serve(self) -> None:
        from jeepney import MessageType, new_error
        from jeepney.low_level import HeaderFields

        while not self._stop.is_set():
            try:
                msg = self.conn.receive(timeout=0.1)
            except TimeoutError:
                continue
            except OSError:
                return
            if msg.header.message_type != MessageType.method_call:
                continue
            reply = self.answer(msg.header.fields[HeaderFields.member], msg)
            self.send(reply if reply is not None else new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.conn.close()
