"""The companion window's colours and motion: light or dark as the desktop (or the person) prefers, and whether
the breathing circle may grow and shrink or should change colour and words instead (reduced motion).

It only reads settings (environment, config, `gsettings`); it never changes the desktop's settings or draws.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

GSETTINGS_TIMEOUT_S = 0.5
INTERFACE = "org.gnome.desktop.interface"


@dataclass(frozen=True)
class Theme:
    """Every colour the window uses. `phase` colours fill the circle in reduced-motion mode (and tint it
    otherwise); each pairs with `phase_text` for words drawn on it."""

    name: str
    background: str
    surface: str
    text: str
    muted: str
    accent: str
    accent_text: str
    button: str
    button_text: str
    border: str
    listening: str
    phase: dict[str, str]
    phase_text: dict[str, str]


LIGHT = Theme(
    name="light", background="#f6f4ef", surface="#ffffff", text="#1d2327", muted="#525a61",
    accent="#1f7a6d", accent_text="#ffffff", button="#e4e8e6", button_text="#1d2327", border="#c9cfcc",
    listening="#b3261e",
    phase={"inhale": "#2a9d8f", "hold": "#5b7fb5", "exhale": "#d98e3f", "rest": "#8d99a6"},
    phase_text={"inhale": "#ffffff", "hold": "#ffffff", "exhale": "#1d2327", "rest": "#1d2327"},
)
DARK = Theme(
    name="dark", background="#1b1d24", surface="#262932", text="#eceff3", muted="#aab2bd",
    accent="#3cb4a0", accent_text="#0d1513", button="#353945", button_text="#eceff3", border="#444a57",
    listening="#ff8a80",
    phase={"inhale": "#3cb4a0", "hold": "#7d9fd6", "exhale": "#e9a55c", "rest": "#9aa5b1"},
    phase_text={"inhale": "#0d1513", "hold": "#0d1513", "exhale": "#0d1513", "rest": "#0d1513"},
)
THEMES = {"light": LIGHT, "dark": DARK}


def _gsettings(key: str) -> str | None:
    """One org.gnome.desktop.interface value as text ('prefer-dark', 'false'), None where there is none."""
    exe = shutil.which("gsettings")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "get", INTERFACE, key], capture_output=True, text=True,
                             timeout=GSETTINGS_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip().strip("'\"")


def system_prefers_dark() -> bool:
    """The desktop's choice: GNOME's color-scheme, else a GTK theme whose name says dark. Default light."""
    gtk = os.environ.get("GTK_THEME", "")
    if gtk:
        return ":dark" in gtk.lower() or gtk.lower().endswith("-dark")
    scheme = _gsettings("color-scheme")
    if scheme:
        return scheme == "prefer-dark"
    name = _gsettings("gtk-theme") or ""
    return "dark" in name.lower()


def system_reduces_motion() -> bool:
    """True when the desktop has animations turned off (org.gnome.desktop.interface enable-animations)."""
    return _gsettings("enable-animations") == "false"


def _window_setting(config: Any, key: str) -> str:
    window = getattr(config, "window", None)
    return str(getattr(window, key, "system") or "system").lower()


def choose_theme(config: Any = None) -> Theme:
    """COMPANION_THEME (light|dark) wins, then config [window] theme, then the desktop's setting."""
    wanted = os.environ.get("COMPANION_THEME", "").strip().lower()
    if wanted not in THEMES:
        wanted = _window_setting(config, "theme")
    if wanted not in THEMES:
        wanted = "dark" if system_prefers_dark() else "light"
    return THEMES[wanted]


def choose_reduced_motion(config: Any = None) -> bool:
    """COMPANION_REDUCED_MOTION (1/on/0/off) wins, then config [window] reduced_motion, then the desktop."""
    env = os.environ.get("COMPANION_REDUCED_MOTION", "").strip().lower()
    if env in ("1", "on", "true", "yes"):
        return True
    if env in ("0", "off", "false", "no"):
        return False
    setting = _window_setting(config, "reduced_motion")
    if setting in ("on", "off"):
        return setting == "on"
    return system_reduces_motion()
