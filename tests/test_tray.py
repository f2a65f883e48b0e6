"""Tray: menu content from data, backend choice, state icons, and the real icon on Xvfb + trayer (docks, shows
the state, GTK menu by right click starts a session, left click talks, Quit quits; xorg fallback says so)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import need
from test_desktop_shell import (
    DesktopRun,
    count_colour,
    real_app_available,
    real_app_env,
    screenshot,
    wait_for,
)

from companion.desktop import texts
from companion.desktop.icons import STATE_COLOURS, draw_icon, icon_state
from companion.desktop.tray import choose_backend, menu_actions

TRAY_STRIP = (560, 0, 800, 32)  # trayer sits top right on the 800x600 test screen


def test_menu_has_every_entry_the_person_needs() -> None:
    actions = menu_actions()
    for name in ("talk", "breathe:box", "breathe:4-7-8", "breathe:coherent", "breathe:sigh", "ground",
                 "compassion", "journal", "check_in", "snooze:30", "snooze:60", "snooze:120",
                 "snooze:tomorrow", "snooze:resume", "history", "settings", "voice", "quit"):
        assert name in actions
    words = texts()["tray"]
    assert words["talk"] == "Talk to me" and words["patterns"]["sigh"] == "Cyclic sigh"


def test_backend_choice() -> None:
    assert choose_backend({"PYSTRAY_BACKEND": "xorg"}).name == "xorg"
    no_bus = choose_backend({})
    if os.sys.platform == "linux":
        assert no_bus.name == "xorg" and not no_bus.has_menu
        assert "D-Bus" in no_bus.note or "python3-gi" in no_bus.note
        with_bus = choose_backend({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"})
        import importlib.util

        if importlib.util.find_spec("gi") is not None:
            assert with_bus.name == "gtk" and with_bus.has_menu


def test_each_state_has_its_own_look() -> None:
    centres = {look: draw_icon(look).convert("RGB").getpixel((20, 40)) for look in STATE_COLOURS}
    assert len(set(centres.values())) == len(STATE_COLOURS)
    assert icon_state("idle", checkins_off=True) == "checkins_off"
    assert icon_state("session", checkins_off=True) == "session"
    assert icon_state("whatever", checkins_off=False) == "idle"


def _strip_count(path: Path, look: str) -> int:
    return count_colour(screenshot(path), STATE_COLOURS[look], TRAY_STRIP, tol=20)


def _click(x: int, y: int, button: int) -> None:
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", str(button)], check=True, timeout=20)


def _docked(path: Path, look: str) -> bool:
    """The tray strip shows the icon in this look's colour (within 10 s)."""
    return wait_for(lambda: _strip_count(path, look) > 100, timeout=10)


def _visible_windows() -> set[str]:
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", ""], capture_output=True, text=True,
                         timeout=20).stdout
    return set(out.split())


def _geometry(win: str) -> tuple[int, int, int, int]:
    out = subprocess.run(["xdotool", "getwindowgeometry", "--shell", win], capture_output=True, text=True,
                         timeout=20).stdout
    g = dict(line.split("=", 1) for line in out.split())
    return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])


def _icon_centre(path: Path, look: str) -> tuple[int, int]:
    img = screenshot(path)
    x0, y0, x1, y1 = TRAY_STRIP
    rgb = STATE_COLOURS[look]
    pts = [(x, y) for x in range(x0, x1) for y in range(y0, y1)
           if all(abs(a - b) <= 20 for a, b in zip(img.getpixel((x, y)), rgb, strict=True))]
    assert pts, f"no {look} icon in the tray strip"
    return sum(p[0] for p in pts) // len(pts), sum(p[1] for p in pts) // len(pts)


def _open_menu_and_click(icon: tuple[int, int], index: int, count: int) -> None:
    """Right click the icon, then click item `index` of the `count` visible top-level entries."""
    before = _visible_windows()
    _click(icon[0], icon[1], 3)
    new: list[str] = []
    assert wait_for(lambda: bool(new.extend(_visible_windows() - before) or new), timeout=10), "no menu"
    x, y, w, h = max((_geometry(win) for win in set(new)), key=lambda g: g[2] * g[3])
    assert h > 100, "the menu popup is too small to be the menu"
    item_y = y + int(h * (index + 0.5) / count)
    _click(x + w // 2, item_y, 1)


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_real_tray_docks_shows_state_and_its_menu_works(xdisplay: str, tmp_path: Path) -> None:
    need("dbus-run-session", "xdotool", "import")
    from companion.instance import forward

    run = DesktopRun(tmp_path, env=real_app_env(), args=("--no-pacer",))
    try:
        status = run.started()
        assert status["tray"] == "menu", run.output
        assert _docked(tmp_path / "idle.png", "idle"), "icon not docked"

        # the icon follows the state: a session turns it violet
        assert forward({"cmd": "breathe", "pattern": "box"})["ok"]
        assert _docked(tmp_path / "session.png", "session")
        assert _strip_count(tmp_path / "session.png", "idle") < 20
        forward({"cmd": "stop"})
        assert _docked(tmp_path / "idle2.png", "idle")

        # right click → menu → "Ground me" (3rd of 10 entries while no session runs) starts that session
        icon = _icon_centre(tmp_path / "find.png", "idle")
        starts = len(run.events("start"))
        _open_menu_and_click(icon, index=2, count=11)
        assert wait_for(lambda: len(run.events("start")) > starts, timeout=10), run.output
        assert run.events("start")[-1]["exercise"] == "ground"
        forward({"cmd": "stop"})
        assert _docked(tmp_path / "idle3.png", "idle")

        # left click = Talk to me
        _click(icon[0], icon[1], 1)
        if real_app_available():
            assert wait_for(lambda: any(e["event"] in ("state", "caption") for e in run.events()), timeout=10)
        else:
            assert wait_for(lambda: run.calls("talk"), timeout=10)

        # pausing check-ins greys the icon; resuming brings the idle colour back
        assert forward({"cmd": "snooze", "minutes": 30})["ok"]
        assert _docked(tmp_path / "snoozed.png", "checkins_off")
        assert forward({"cmd": "snooze", "minutes": 0})["ok"]
        assert _docked(tmp_path / "resumed.png", "idle")

        # Quit (last entry) ends the process cleanly
        _open_menu_and_click(icon, index=10, count=11)
        assert wait_for(lambda: run.proc.poll() is not None, timeout=20), "Quit did not quit"
        assert run.proc.returncode == 0
        assert "Traceback" not in run.output
    finally:
        run.close()


@pytest.mark.real
@pytest.mark.timeout(90)
def test_without_dbus_the_icon_docks_and_the_missing_menu_is_explained(xdisplay: str, tmp_path: Path) -> None:
    need("import")
    run = DesktopRun(tmp_path, env=real_app_env(), args=("--no-pacer",), dbus=False,
                     unset=("DBUS_SESSION_BUS_ADDRESS", "PYSTRAY_BACKEND"))
    try:
        status = run.started()
        assert status["tray"] == "icon-only"
        assert "no menu here" in run.output and "D-Bus" in run.output
        assert _docked(tmp_path / "xorg.png", "idle"), "icon not docked"
        assert status["hotkey"] == "on"
    finally:
        assert run.close() == 0, run.output
