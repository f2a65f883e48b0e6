"""Global hotkey (pynput GlobalHotKeys): one key combination toggles a breathing session.

It only reports a debounced press; it never starts sessions itself or blocks pynput's listener thread.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_COMBO = "<ctrl>+<alt>+b"
DEFAULT_DEBOUNCE = 0.6  # seconds of quiet needed before a press counts again
FALLBACK_COMMAND = "companion breathe"


@dataclass(frozen=True)
class HotkeyStatus:
    """Whether the global hotkey works here, and if not, what to tell the person once."""

    available: bool
    message: str = ""


def fallback_message(reason: str) -> str:
    return (f"The global hotkey is not available: {reason}. Bind the command `{FALLBACK_COMMAND}` to a "
            "keyboard shortcut in your desktop settings instead; it hands over to the running companion.")


def check_available() -> HotkeyStatus:
    """Global key grabs need an X server; Wayland and headless sessions cannot have them."""
    if os.environ.get("XDG_SESSION_TYPE") == "wayland" or os.environ.get("WAYLAND_DISPLAY"):
        return HotkeyStatus(False, fallback_message("Wayland does not let applications grab global keys"))
    if not os.environ.get("DISPLAY"):
        return HotkeyStatus(False, fallback_message("there is no X display (DISPLAY is not set)"))
    try:
        from pynput import keyboard  # noqa: F401  - the import itself probes the X backend
    except ImportError as exc:
        return HotkeyStatus(False, fallback_message(f"pynput has no keyboard backend here ({exc})"))
    return HotkeyStatus(True)


def parse_combo(combo: str) -> str:
    """Validates a pynput combination such as "<ctrl>+<alt>+b"; ValueError names the problem and the fix."""
    from pynput import keyboard

    try:
        keyboard.HotKey.parse(combo)
    except ValueError as exc:
        raise ValueError(f"hotkey.combo {combo!r} is not a key combination ({exc}); "
                         f"write it like {DEFAULT_COMBO!r} (named keys in angle brackets: <space>, <f9>)"
                         ) from None
    return combo


class Debouncer:
    """Leading-edge debounce: the first press acts; presses closer than `window` to the previous press
    (counted or not) are swallowed, so a held key or twenty quick presses make one action."""

    def __init__(self, window: float = DEFAULT_DEBOUNCE, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()
        self.pressed = 0
        self.accepted = 0

    def press(self) -> bool:
        with self._lock:
            now = self._clock()
            self.pressed += 1
            ok = self._last is None or now - self._last >= self.window
            self._last = now
            if ok:
                self.accepted += 1
            return ok


class GlobalHotkey:
    """Listens for `combo` and calls `on_press` (on pynput's thread; keep it quick) once per burst."""

    def __init__(self, combo: str, on_press: Callable[[], None], *,
                 debounce: float = DEFAULT_DEBOUNCE) -> None:
        self.combo = parse_combo(combo)
        self._on_press = on_press
        self.debouncer = Debouncer(debounce)
        self._listener = None

    def _fired(self) -> None:
        if self.debouncer.press():
            try:
                self._on_press()
            except Exception:
                log.exception("hotkey action failed")
        else:
            log.debug("hotkey press swallowed by debounce")

    def start(self) -> None:
        from pynput import keyboard

        self._listener = keyboard.GlobalHotKeys({self.combo: self._fired})
        self._listener.start()
        self._listener.wait()

    def stop(self) -> None:
        """Stops the listener; pynput returns only after the next X event, so one harmless one is sent."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.stop()
        _poke_x()
        listener.join(2)
        if listener.is_alive():
            log.warning("hotkey listener did not stop within 2 s")


def _poke_x() -> None:
    """A Shift tap ends pynput's XRecord wait; xdotool if present, else an XTest fake key via python-xlib."""
    if shutil.which("xdotool"):
        subprocess.run(["xdotool", "key", "shift"], capture_output=True, timeout=5, check=False)
        return
    try:
        from Xlib import XK, X, display
        from Xlib.ext import xtest

        d = display.Display()
        code = d.keysym_to_keycode(XK.string_to_keysym("Shift_L"))
        xtest.fake_input(d, X.KeyPress, code)
        xtest.fake_input(d, X.KeyRelease, code)
        d.sync()
        d.close()
    except Exception as exc:  # shutting down anyway: the daemon thread ends with the process
        log.debug("could not poke X to stop the hotkey listener: %s", exc)
