"""Tray icon (pystray): a state-coloured icon and the menu of things the companion can do.

It only reports which menu entry was chosen (by name) and shows the look it is given; it never calls the app.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.desktop import message, texts
from companion.desktop.icons import draw_icon

log = logging.getLogger(__name__)

# Menu entry names the tray reports: "talk", "breathe:<pattern>", "ground", "compassion", "journal",
# "check_in", "snooze:<minutes>|tomorrow|resume", "history", "settings", "voice", "stop", "quit".
Action = Callable[[str], None]


@dataclass(frozen=True)
class BackendChoice:
    """Which pystray backend to use, and what to tell the person if the menu will not work."""

    name: str
    has_menu: bool
    note: str = ""


def choose_backend(environ: os._Environ[str] | dict[str, str] | None = None) -> BackendChoice:
    """GTK (a working menu; needs python3-gi and a D-Bus session) where possible, else xorg (icon only).

    PYSTRAY_BACKEND set by the person wins.
    """
    env = os.environ if environ is None else environ
    forced = env.get("PYSTRAY_BACKEND")
    if forced:
        return BackendChoice(forced, forced not in ("xorg", "dummy"))
    if sys.platform != "linux":
        return BackendChoice("", True)  # pystray's own default is right on Windows and macOS
    if importlib.util.find_spec("gi") is None:
        return BackendChoice("xorg", False, message(
            "tray_no_menu", reason="PyGObject (python3-gi) is not installed; install it for the menu"))
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        return BackendChoice("xorg", False, message(
            "tray_no_menu", reason="there is no D-Bus session bus; start the companion inside your desktop "
            "session or under `dbus-run-session`"))
    return BackendChoice("gtk", True)


def tray_host_present(display_name: str | None = None) -> bool:
    """True when an XEmbed system tray (a panel notification area) owns _NET_SYSTEM_TRAY_S<screen>."""
    try:
        from Xlib import display as xdisplay
    except ImportError:
        return True  # cannot tell; let pystray try
    try:
        d = xdisplay.Display(display_name)
    except Exception:
        return False
    try:
        atom = d.intern_atom(f"_NET_SYSTEM_TRAY_S{d.get_default_screen()}")
        return bool(d.get_selection_owner(atom))
    finally:
        d.close()


def _menu_spec() -> list[tuple[str, Any]]:
    """(label, action-name or submenu) in menu order, from companion/data/menu.yaml."""
    words = texts()["tray"]
    patterns = [(label, f"breathe:{pid}") for pid, label in words["patterns"].items()]
    snooze = [(label, f"snooze:{key}") for key, label in words["snooze"].items()]
    return [
        (words["talk"], "talk"),
        (words["breathe"], patterns),
        (words["ground"], "ground"),
        (words["compassion"], "compassion"),
        (words["journal"], "journal"),
        (words["check_in"], "check_in"),
        (words["pause_checkins"], snooze),
        (words["stop"], "stop"),
        (words["history"], "history"),
        (words["settings"], "settings"),
        (words["voice"], "voice"),
        (words["quit"], "quit"),
    ]


def menu_actions() -> list[str]:
    """Every action name the menu can report (flattened), for tests and the shell."""
    out: list[str] = []
    for _label, what in _menu_spec():
        out.extend(name for _l, name in what) if isinstance(what, list) else out.append(what)
    return out


class Tray:
    """The pystray icon, run on its own thread (`start`); `set_look` may be called from any thread."""

    def __init__(self, on_action: Action, *, backend: BackendChoice | None = None,
                 session_running: Callable[[], bool] = lambda: False) -> None:
        self.backend = backend or choose_backend()
        self._on_action = on_action
        self._session_running = session_running
        self._icon: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.look = "idle"

    def _item(self, pystray: Any, label: str, what: Any, default: bool = False) -> Any:
        if isinstance(what, list):
            return pystray.MenuItem(label, pystray.Menu(*(self._item(pystray, lab, w) for lab, w in what)))
        kwargs: dict[str, Any] = {"default": default}
        if what == "stop":
            kwargs["visible"] = lambda _item: self._session_running()
        return pystray.MenuItem(label, self._callback(what), **kwargs)

    def _callback(self, name: str) -> Callable[[Any, Any], None]:
        # pystray counts the callback's parameters, so no default-argument tricks here
        def fire(_icon: Any, _item: Any) -> None:
            self._fire(name)

        return fire

    def _fire(self, name: str) -> None:
        try:
            self._on_action(name)
        except Exception:
            log.exception("tray action %s failed", name)

    def start(self, timeout: float = 10.0) -> None:
        """Creates the icon and runs it on a thread; raises RuntimeError with the reason if it cannot."""
        if self.backend.name:
            os.environ["PYSTRAY_BACKEND"] = self.backend.name  # pystray picks its backend at import
        try:
            import pystray
        except Exception as exc:  # Xlib DisplayNameError, gi errors, missing package...
            raise RuntimeError(f"pystray could not load ({type(exc).__name__}: {exc})") from None
        words = texts()["tray"]
        self._ready.clear()
        items = [self._item(pystray, label, what, default=(what == "talk"))
                 for label, what in _menu_spec()]
        self._icon = pystray.Icon("companion", draw_icon("idle"), words["states"]["idle"],
                                  pystray.Menu(*items))

        def setup(icon: Any) -> None:
            icon.visible = True
            self._ready.set()

        self._thread = threading.Thread(target=self._run, args=(setup,), name="tray", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the tray icon did not appear within {timeout:g} s")
        threading.Thread(target=self._ensure_docked, name="tray-dock", daemon=True).start()

    def embedded(self) -> bool | None:
        """Whether the tray host has taken the icon in (None: cannot tell with this backend)."""
        icon = self._icon
        status_icon = getattr(icon, "_status_icon", None)
        if status_icon is not None:  # gtk
            return bool(status_icon.is_embedded())
        window = getattr(icon, "_window", None)
        if window is None:
            return None
        from Xlib import display as xdisplay

        d = xdisplay.Display()
        try:
            tree = d.create_resource_object("window", window.id).query_tree()
            return bool(tree.parent != tree.root)
        except Exception:
            return None
        finally:
            d.close()

    def _ensure_docked(self, wait: float = 2.0, tries: int = 3) -> None:
        """A busy tray host can miss the one dock request a backend sends; ask again until it is taken in."""
        for _ in range(tries):
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if self._icon is None or self.embedded() is not False:
                    return
                time.sleep(0.1)
            icon = self._icon
            if icon is None:
                return
            log.info("the tray host has not taken the icon in yet; asking again")
            icon.visible = False
            icon.visible = True
        log.warning("the tray host did not take the icon in")

    def _run(self, setup: Callable[[Any], None]) -> None:
        try:
            self._icon.run(setup=setup)
        except Exception:
            log.exception("the tray icon stopped")

    @property
    def has_menu(self) -> bool:
        return bool(self._icon is not None and getattr(self._icon, "HAS_MENU", False))

    def set_look(self, look: str) -> None:
        """Shows the icon for `look` (see icons.STATE_COLOURS) with its tooltip; refreshes the menu."""
        if look == self.look or self._icon is None:
            return
        self.look = look
        icon = self._icon
        icon.icon = draw_icon(look)
        icon.title = texts()["tray"]["states"].get(look, texts()["tray"]["title"])
        with contextlib.suppress(Exception):  # the xorg backend has no menu to refresh
            icon.update_menu()

    def stop(self) -> None:
        icon, self._icon = self._icon, None
        if icon is None:
            return
        try:
            icon.stop()
        except Exception:
            log.debug("tray stop failed", exc_info=True)
        if self._thread is not None:
            self._thread.join(3)
