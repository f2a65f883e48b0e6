"""Single instance: the running companion serves small JSON commands on a user-only Unix socket.

A second `companion …` hands its command over with forward(); this module never interprets commands.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from companion.core import paths

log = logging.getLogger(__name__)

SOCKET_NAME = "companion.sock"
LOCK_NAME = "companion.lock"
MAX_MESSAGE = 64 * 1024  # commands are tiny; anything larger is not ours

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class AlreadyRunning(RuntimeError):
    """Another companion holds the instance lock."""


def socket_path() -> Path:
    return paths.runtime_dir() / SOCKET_NAME


def _private_runtime_dir() -> Path:
    """The runtime dir, created user-only (0700) and refused if someone else owns it."""
    d = paths.runtime_dir()
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = d.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{d} belongs to another user; "
                              "set COMPANION_RUNTIME_DIR to a directory of yours")
    if st.st_mode & 0o077:
        d.chmod(0o700)
    return d


def _read_line(conn: socket.socket) -> bytes:
    buf = b""
    while b"\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += chunk
        if len(buf) > MAX_MESSAGE:
            raise ValueError("message too large")
    return buf.split(b"\n", 1)[0]


class InstanceServer:
    """Serves commands for the running companion: one JSON line in, one JSON line out per connection.

    The lock file (flock, released by the kernel when the process dies) decides who is the instance, so a
    socket left behind by a crash is recognised as stale and replaced.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._sock: socket.socket | None = None
        self._lock_fd: int | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self.path = socket_path()

    def start(self) -> None:
        """Takes the instance lock and listens; raises AlreadyRunning when another companion serves."""
        d = _private_runtime_dir()
        fd = os.open(d / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(f"another companion is running (lock {d / LOCK_NAME})") from None
        self._lock_fd = fd
        self.path = d / SOCKET_NAME
        if self.path.exists() or self.path.is_symlink():
            log.info("removing stale socket %s", self.path)
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the socket is born 0600
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        self.path.chmod(0o600)
        sock.listen(8)
        sock.settimeout(0.5)  # lets close() end the accept loop promptly
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="companion-instance", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._closing.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5.0)
            try:
                creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
                _pid, uid, _gid = struct.unpack("3i", creds)
                if uid != os.getuid():
                    reply: dict[str, Any] = {"ok": False, "error": "not your companion"}
                else:
                    reply = self._dispatch(_read_line(conn))
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except (OSError, ValueError) as exc:
                log.warning("instance connection failed: %s", exc)

    def _dispatch(self, line: bytes) -> dict[str, Any]:
        try:
            command = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {"ok": False, "error": "the command is not JSON"}
        if not isinstance(command, dict) or not isinstance(command.get("cmd"), str):
            return {"ok": False, "error": 'a command is a JSON object with a "cmd" string'}
        try:
            reply = self._handler(command)
        except Exception as exc:  # the running companion must survive a bad command
            log.exception("instance command %r failed", command.get("cmd"))
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return reply if isinstance(reply, dict) else {"ok": True}

    def close(self) -> None:
        self._closing.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
            self._sock = None
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> InstanceServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def forward(command: dict[str, Any], timeout: float = 2.0) -> dict[str, Any] | None:
    """Sends a command to the running companion and returns its reply; None when none is running.

    A companion that is running but does not answer in time yields {"ok": False, "error": ...}.
    """
    path = socket_path()
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    with sock:
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            return None  # a stale socket: nobody listens
        except TimeoutError:
            return {"ok": False, "error": f"the running companion did not answer within {timeout:g} s"}
        try:
            sock.sendall(json.dumps(command).encode() + b"\n")
            line = _read_line(sock)
        except TimeoutError:
            return {"ok": False, "error": f"the running companion did not answer within {timeout:g} s"}
        except (OSError, ValueError) as exc:
            return {"ok": False, "error": f"the running companion closed the connection ({exc})"}
    if not line:
        return {"ok": False, "error": "the running companion closed the connection"}
    try:
        reply = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"ok": False, "error": "the running companion sent a reply that is not JSON"}
    return reply if isinstance(reply, dict) else {"ok": False, "error": "unexpected reply"}
