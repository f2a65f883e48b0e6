"""Tray icon (pystray): an icon whose shape and colour say the state, a tooltip in words, and a grouped menu.

It only reports which menu entry was chosen (by name) and shows the state it is given; it never calls the app.
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
from datetime import datetime, timedelta
from typing import Any

from companion.desktop import message, texts
from companion.desktop.icons import draw_icon

log = logging.getLogger(__name__)

# Menu entry names the tray reports: "talk", "breathe:<pattern>", "ground", "compassion", "journal",
# "check_in", "snooze:<minutes>|tomorrow|resume", "history", "settings", "voice", "stop", "pause", "resume",
# "quit".
Action = Callable[[str], None]
ICON_SIZE = 64  # the panel scales it; the shapes are drawn to stay legible down to 16 px


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


def tray_host_present(display_name: str | None = None, tries: int = 3) -> bool:
    """True when an XEmbed system tray (a panel notification area) owns _NET_SYSTEM_TRAY_S<screen>. A busy X
    server that refuses a connection for a moment is asked again (`tries` times, 0.5 s apart)."""
    try:
        from Xlib import display as xdisplay
    except ImportError:
        return True  # cannot tell; let pystray try
    for attempt in range(tries):
        try:
            d = xdisplay.Display(display_name)
            break
        except Exception:
            if attempt == tries - 1:
                return False
            time.sleep(0.5)
    try:
        atom = d.intern_atom(f"_NET_SYSTEM_TRAY_S{d.get_default_screen()}")
        return bool(d.get_selection_owner(atom))
    finally:
        d.close()


@dataclass(frozen=True)
class MenuState:
    """What the menu and tooltip show: the icon's look, whether a session runs (or is paused), check-ins."""

    look: str = "idle"
    session: bool = False
    paused: bool = False
    checkins_paused_until: datetime | None = None
    checkins_enabled: bool = True

    @property
    def checkins_paused(self) -> bool:
        return self.checkins_paused_until is not None


Label = str | Callable[[MenuState], str]


def _always(_s: MenuState) -> bool:
    return True


@dataclass(frozen=True)
class MenuEntry:
    """One menu line: its label, the action name it reports (or a submenu, or None for a greyed line), and
    when it shows. `label == "-"` is a separator; pystray drops separators that end up doubled or at an end."""

    label: Label
    action: str | tuple[MenuEntry, ...] | None = None
    when: Callable[[MenuState], bool] = _always
    default: bool = False


SEPARATOR = MenuEntry("-")


def until_text(until: datetime, now: datetime | None = None) -> str:
    """'14:30' today, 'tomorrow' at midnight, 'tomorrow 09:00', else 'Mon 14:30' (menu.yaml words)."""
    words = texts()["tray"]
    now = now or datetime.now(until.tzinfo)
    clock = until.strftime("%H:%M")
    if until.date() == now.date():
        return clock
    if until.date() == now.date() + timedelta(days=1):
        return words["tomorrow"] if clock == "00:00" else words["tomorrow_at"].format(time=clock)
    return until.strftime("%a %H:%M")


def menu_entries() -> list[MenuEntry]:
    """The menu in order, from companion/data/menu.yaml: session controls on top while one runs, then Talk,
    the exercises, check-ins, history and settings, and Quit last."""
    w = texts()["tray"]
    patterns = tuple(MenuEntry(label, f"breathe:{pid}") for pid, label in w["patterns"].items())
    snooze = tuple(MenuEntry(label, f"snooze:{key}") for key, label in w["snooze"].items())

    def paused_line(s: MenuState) -> str:
        until = s.checkins_paused_until
        return w["checkins_paused"].format(until=until_text(until)) if until is not None else ""

    return [
        MenuEntry(w["stop"], "stop", lambda s: s.session),
        MenuEntry(w["pause"], "pause", lambda s: s.session and not s.paused),
        MenuEntry(w["resume"], "resume", lambda s: s.session and s.paused),
        SEPARATOR,
        MenuEntry(w["talk"], "talk", default=True),
        SEPARATOR,
        MenuEntry(w["breathe"], patterns),
        MenuEntry(w["ground"], "ground"),
        MenuEntry(w["compassion"], "compassion"),
        MenuEntry(w["journal"], "journal"),
        SEPARATOR,
        MenuEntry(w["check_in"], "check_in"),
        MenuEntry(paused_line, None, lambda s: s.checkins_paused),
        MenuEntry(w["resume_checkins"], "snooze:resume", lambda s: s.checkins_paused),
        MenuEntry(w["checkins_disabled"], None, lambda s: not s.checkins_enabled and not s.checkins_paused),
        MenuEntry(w["pause_checkins"], snooze, lambda s: s.checkins_enabled and not s.checkins_paused),
        SEPARATOR,
        MenuEntry(w["history"], "history"),
        MenuEntry(w["settings"], "settings"),
        MenuEntry(w["voice"], "voice"),
        SEPARATOR,
        MenuEntry(w["quit"], "quit"),
    ]


def menu_actions() -> list[str]:
    """Every action name the menu can report (flattened), for tests and the shell."""
    out: list[str] = []
    for entry in menu_entries():
        if isinstance(entry.action, tuple):
            out.extend(str(sub.action) for sub in entry.action)
        elif entry.action is not None:
            out.append(entry.action)
    return out


def tooltip(state: MenuState) -> str:
    """The icon's text alternative: the state in words, and when check-ins are paused or off."""
    w = texts()["tray"]
    text = str(w["states"].get(state.look, w["title"]))
    if state.checkins_paused_until is not None:
        key = "tooltip_idle_checkins_paused" if state.look == "checkins_off" else "tooltip_checkins_paused"
        return w[key].format(state=text, until=until_text(state.checkins_paused_until))
    if not state.checkins_enabled and state.look != "checkins_off":
        return w["tooltip_checkins_disabled"].format(state=text)
    return text


class Tray:
    """The pystray icon, run on its own thread (`start`); `show` may be called from any thread."""

    def __init__(self, on_action: Action, *, backend: BackendChoice | None = None,
                 state: MenuState | None = None) -> None:
        self.backend = backend or choose_backend()
        self._on_action = on_action
        self.state = state or MenuState()
        self._icon: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()

    def _item(self, pystray: Any, entry: MenuEntry) -> Any:
        if entry.label == "-":
            return pystray.Menu.SEPARATOR
        label = entry.label
        text: Any = label if isinstance(label, str) else (lambda _item: label(self.state))
        when = entry.when
        visible = True if when is _always else (lambda _item: when(self.state))
        if isinstance(entry.action, tuple):
            return pystray.MenuItem(text, pystray.Menu(*(self._item(pystray, sub) for sub in entry.action)),
                                    visible=visible)
        if entry.action is None:  # an information line, greyed
            return pystray.MenuItem(text, None, enabled=False, visible=visible)
        return pystray.MenuItem(text, self._callback(entry.action), default=entry.default, visible=visible)

    def build_menu(self, pystray: Any) -> Any:
        """The pystray menu; labels and visibility follow `self.state` whenever the backend redraws it."""
        return pystray.Menu(*(self._item(pystray, entry) for entry in menu_entries()))

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
        self._ready.clear()
        # created with the plain title: GTK names the docked window only when the title changes
        self._icon = pystray.Icon("companion", draw_icon(self.state.look, ICON_SIZE), texts()["tray"]["title"],
                                  self.build_menu(pystray))

        def setup(icon: Any) -> None:
            if hasattr(icon, "_assert_docked"):
                # pystray's xorg backend, showing an icon not drawn yet, sends the dock request twice in a row
                # (once to draw, once to show); a busy tray host that takes both can drop the icon. Asked once,
                # the icon is drawn when the host first shows it.
                icon._icon_valid = True
            icon.visible = True
            self._ready.set()
            icon.title = tooltip(self.state)
            self._hover_text(icon.title)

        self._thread = threading.Thread(target=self._run, args=(setup,), name="tray", daemon=True)
        self._stopping.clear()
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the tray icon did not appear within {timeout:g} s")
        threading.Thread(target=self._keep_docked, name="tray-dock", daemon=True).start()

    def embedded(self) -> bool | None:
        """Whether the tray host has taken the icon in (None: cannot tell with this backend, or not right now)."""
        icon = self._icon
        status_icon = getattr(icon, "_status_icon", None)
        if status_icon is not None:  # gtk
            return bool(status_icon.is_embedded())
        window = getattr(icon, "_window", None)
        if window is None:
            return None
        from Xlib import display as xdisplay

        try:
            d = xdisplay.Display()
        except Exception:  # a busy X server can refuse a connection for a moment
            return None
        try:
            tree = d.create_resource_object("window", window.id).query_tree()
            return bool(tree.parent != tree.root)
        except Exception:
            return None
        finally:
            d.close()

    def _can_tell_embedded(self) -> bool:
        icon = self._icon
        return icon is not None and (getattr(icon, "_status_icon", None) is not None
                                     or getattr(icon, "_window", None) is not None)

    def _ensure_docked(self, wait: float = 2.0, tries: int = 6) -> bool:
        """A busy tray host can miss the one dock request a backend sends, and pystray never sends it again: ask
        again until the icon is taken in. A moment when the X server cannot be asked is not an answer: keep
        looking (waits grow 2, 3, 4.5 … s, about 40 s in all). True once the icon is in."""
        if not self._can_tell_embedded():
            return False
        started = time.monotonic()
        for _ in range(tries):
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if self._icon is None:
                    return False
                if self.embedded():
                    log.info("the tray host took the icon in (%.1f s)", time.monotonic() - started)
                    return True
                time.sleep(0.1)
            if not self._ask_again():
                return False
            log.info("the tray host has not taken the icon in yet; asked again")
            wait *= 1.5
        log.warning("the tray host did not take the icon in")
        return False

    def _ask_again(self) -> bool:
        icon = self._icon
        if icon is None:
            return False
        icon.visible = False
        icon.visible = True
        return True

    def _keep_docked(self, every: float = 5.0) -> None:
        """Docks the icon, then looks now and then whether the tray host still holds it: a panel that restarts,
        or a host that drops an icon, would otherwise leave the person without one. Asked again when let go;
        a host that never takes it in is not asked forever. (GTK's status icon finds a new host by itself.)"""
        while self._ensure_docked():
            if getattr(self._icon, "_window", None) is None:
                return
            while not self._stopping.wait(every):
                if self._icon is None:
                    return
                if self.embedded() is False:
                    log.info("the tray host let the icon go; asking again")
                    self._ask_again()
                    break
            else:
                return

    def _run(self, setup: Callable[[Any], None]) -> None:
        try:
            self._icon.run(setup=setup)
        except Exception:
            log.exception("the tray icon stopped")

    @property
    def has_menu(self) -> bool:
        return bool(self._icon is not None and getattr(self._icon, "HAS_MENU", False))

    def show(self, state: MenuState) -> None:
        """Shows `state`: the icon for its look, its tooltip, and the menu redrawn. Any thread may call it."""
        previous, self.state = self.state, state
        icon = self._icon
        if icon is None or state == previous:
            return
        if state.look != previous.look:
            icon.icon = draw_icon(state.look, ICON_SIZE)
        title = tooltip(state)
        if title != tooltip(previous):
            icon.title = title  # the docked window's name (xorg, gtk)
            self._hover_text(title)
        with contextlib.suppress(Exception):  # the xorg backend has no menu to refresh
            icon.update_menu()

    def _hover_text(self, text: str) -> None:
        """GTK shows `title` nowhere on hover; its status icon needs the tooltip set too (on GTK's thread)."""
        status_icon = getattr(self._icon, "_status_icon", None)
        if status_icon is None:
            return
        try:
            from gi.repository import GLib

            GLib.idle_add(status_icon.set_tooltip_text, text)
        except Exception:
            log.debug("tooltip not set", exc_info=True)

    def tooltip_shown(self) -> str | None:
        """The tooltip as the backend holds it (GTK's hover text, else the icon window's name)."""
        icon = self._icon
        if icon is None:
            return None
        status_icon = getattr(icon, "_status_icon", None)
        if status_icon is not None:  # asked on GTK's own thread: GTK is not safe to call from others
            with contextlib.suppress(Exception):
                from gi.repository import GLib

                got: list[str | None] = []
                done = threading.Event()

                def ask() -> bool:
                    got.append(status_icon.get_tooltip_text())
                    done.set()
                    return False

                GLib.idle_add(ask)
                if done.wait(2.0):
                    return got[0]
        return str(icon.title)

    def open_menu(self) -> bool:
        """Pops the menu up under the icon (a second launch with no window to show); False where the backend
        cannot (xorg has no menu)."""
        icon = self._icon
        status_icon = getattr(icon, "_status_icon", None)
        if status_icon is None or not self.has_menu:
            return False
        try:
            from gi.repository import GLib, Gtk

            def popup() -> bool:
                icon._on_status_icon_popup_menu(status_icon, 3, Gtk.get_current_event_time())
                return False

            GLib.idle_add(popup)
        except Exception:
            log.info("the tray menu could not be opened", exc_info=True)
            return False
        return True

    @property
    def look(self) -> str:
        return self.state.look

    def stop(self) -> None:
        self._stopping.set()
        icon, self._icon = self._icon, None
        if icon is None:
            return
        try:
            icon.stop()
        except Exception:
            log.debug("tray stop failed", exc_info=True)
        if self._thread is not None:
            self._thread.join(3)
