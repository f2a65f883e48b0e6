"""Tray: menu content from data, backend choice, state icons, and the real icon on Xvfb + trayer (docks, shows
the state, GTK menu by right click starts a session, left click talks, Quit quits; xorg fallback says so)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import need
from PIL import Image
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
from companion.desktop.tray import (
    BackendChoice,
    MenuState,
    Tray,
    choose_backend,
    menu_actions,
    tooltip,
    tray_host_present,
)

TRAY_STRIP = (560, 0, 800, 32)  # trayer sits top right on the 800x600 test screen


def test_menu_has_every_entry_the_person_needs() -> None:
    actions = menu_actions()
    for name in ("talk", "breathe:box", "breathe:4-7-8", "breathe:coherent", "breathe:sigh", "ground",
                 "compassion", "journal", "check_in", "snooze:30", "snooze:60", "snooze:120",
                 "snooze:tomorrow", "snooze:resume", "history", "settings", "voice", "stop", "pause", "resume",
                 "quit"):
        assert name in actions
    words = texts()["tray"]
    assert words["talk"] == "Talk to me" and words["patterns"]["sigh"] == "Cyclic sigh"


@pytest.fixture(scope="module")
def pystray_module() -> Any:
    """pystray for building menus in this process: whatever backend is loaded, else the display-free one."""
    if "pystray" not in sys.modules:
        old = os.environ.get("PYSTRAY_BACKEND")
        os.environ["PYSTRAY_BACKEND"] = "dummy"
        try:
            import pystray  # noqa: F401
        finally:
            if old is None:
                os.environ.pop("PYSTRAY_BACKEND", None)
            else:
                os.environ["PYSTRAY_BACKEND"] = old
    return sys.modules["pystray"]


def shown(pystray: Any, state: MenuState) -> list[str]:
    """The top-level menu as pystray shows it in `state`: labels, "-" for a separator, "(x)" when greyed."""
    tray = Tray(lambda _name: None, backend=BackendChoice("dummy", False), state=state)
    menu = tray.build_menu(pystray)
    return ["-" if item is pystray.Menu.SEPARATOR else item.text if item.enabled else f"({item.text})"
            for item in menu]


def test_menu_is_grouped_with_quit_last(pystray_module: Any) -> None:
    w = texts()["tray"]
    assert shown(pystray_module, MenuState()) == [
        w["talk"], "-", w["breathe"], w["ground"], w["compassion"], w["journal"], "-",
        w["check_in"], w["pause_checkins"], "-", w["history"], w["settings"], w["voice"], "-", w["quit"]]


def test_stop_and_pause_lead_the_menu_during_a_session(pystray_module: Any) -> None:
    w = texts()["tray"]
    running = shown(pystray_module, MenuState(look="session", session=True))
    assert running[:4] == [w["stop"], w["pause"], "-", w["talk"]]
    assert w["resume"] not in running and running[-1] == w["quit"]
    paused = shown(pystray_module, MenuState(look="paused", session=True, paused=True))
    assert paused[:4] == [w["stop"], w["resume"], "-", w["talk"]]
    assert w["pause"] not in paused


def test_paused_check_ins_say_until_when_with_resume_at_top_level(pystray_module: Any) -> None:
    w = texts()["tray"]
    until = datetime.now().replace(hour=14, minute=30, second=0, microsecond=0)
    if until <= datetime.now():
        until = datetime.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    menu = shown(pystray_module, MenuState(look="checkins_off", checkins_paused_until=until))
    line = f"(Check-ins paused until {until:%H:%M})"
    assert line in menu
    i = menu.index(line)
    assert menu[i - 1] == w["check_in"] and menu[i + 1] == w["resume_checkins"]
    assert w["pause_checkins"] not in menu  # nothing to pause while paused
    midnight = datetime.combine(datetime.now().date() + timedelta(days=1), datetime.min.time())
    assert "(Check-ins paused until tomorrow)" in shown(
        pystray_module, MenuState(look="checkins_off", checkins_paused_until=midnight))
    off = shown(pystray_module, MenuState(look="checkins_off", checkins_enabled=False))
    assert f"({w['checkins_disabled']})" in off and w["pause_checkins"] not in off


def test_menu_entries_report_their_action(pystray_module: Any) -> None:
    fired: list[str] = []
    tray = Tray(fired.append, backend=BackendChoice("dummy", False),
                state=MenuState(look="paused", session=True, paused=True))
    menu = tray.build_menu(pystray_module)
    by_label = {item.text: item for item in menu}
    w = texts()["tray"]
    for label in (w["stop"], w["resume"], w["talk"], w["ground"], w["quit"]):
        by_label[label](None)
    breathe = {i.text: i for i in by_label[w["breathe"]].submenu}
    breathe[w["patterns"]["4-7-8"]](None)
    assert fired == ["stop", "resume", "talk", "ground", "quit", "breathe:4-7-8"]
    assert by_label[w["talk"]].default


def test_tooltip_names_the_state() -> None:
    w = texts()["tray"]
    tips = {look: tooltip(MenuState(look=look)) for look in STATE_COLOURS}
    assert len(set(tips.values())) == len(STATE_COLOURS)
    assert tips["listening"] == w["states"]["listening"] and "listening" in tips["listening"]
    assert "paused" in tips["paused"] and "session" in tips["session"]
    until = datetime.now() + timedelta(minutes=30)
    assert tooltip(MenuState(look="checkins_off", checkins_paused_until=until)) == (
        f"Companion: check-ins paused until {until:%H:%M}")
    assert tooltip(MenuState(look="session", session=True, checkins_paused_until=until)) == (
        f"Companion: in a session · check-ins paused until {until:%H:%M}")
    assert "check-ins off" in tooltip(MenuState(look="session", session=True, checkins_enabled=False))


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


class _MissedDock:
    """An icon whose tray host misses dock requests: taken in only at the `taken_at`-th request. Before that,
    whether it is embedded cannot be told `unsure` times (a busy X server), then the answer is no."""

    def __init__(self, taken_at: int, unsure: int = 0) -> None:
        self.requests, self.taken_at, self.unsure = 1, taken_at, unsure
        self._window = object()  # an xorg-like icon: the tray can ask about its window
        self._visible = True

    def embedded(self) -> bool | None:
        if self.unsure:
            self.unsure -= 1
            return None
        return self.requests >= self.taken_at

    @property
    def visible(self) -> bool:
        return self._visible

    @visible.setter
    def visible(self, on: bool) -> None:
        self.requests += on and not self._visible
        self._visible = on


def test_a_missed_dock_request_is_sent_again_until_the_icon_is_taken_in(monkeypatch: pytest.MonkeyPatch) -> None:
    tray = Tray(lambda _name: None, backend=BackendChoice("xorg", False))
    monkeypatch.setattr(tray, "embedded", lambda: tray._icon.embedded())
    tray._icon = _MissedDock(taken_at=3, unsure=3)  # the first questions get no answer: not a reason to stop
    tray._ensure_docked(wait=0.5)
    assert tray._icon.requests == 3 and tray.embedded()
    tray._icon = _MissedDock(taken_at=1)
    tray._ensure_docked(wait=0.2)
    assert tray._icon.requests == 1  # taken in at once: never asked again
    tray._icon = _MissedDock(taken_at=99)
    tray._ensure_docked(wait=0.01, tries=4)
    assert tray._icon.requests == 5  # gives up after its tries, having asked each time


class _LetGo(_MissedDock):
    """An icon a tray host takes in at once, lets go of after `held` looks, then takes in again when asked."""

    def __init__(self, held: int) -> None:
        super().__init__(taken_at=1)
        self.held = held

    def embedded(self) -> bool | None:
        self.held -= 1
        return self.held > 0 or self.requests > 1


def test_an_icon_the_tray_host_lets_go_of_is_asked_for_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    tray = Tray(lambda _name: None, backend=BackendChoice("xorg", False))
    monkeypatch.setattr(tray, "embedded", lambda: tray._icon.embedded())
    tray._icon = icon = _LetGo(held=3)
    watcher = threading.Thread(target=tray._keep_docked, kwargs={"every": 0.01})
    watcher.start()
    assert wait_for(lambda: icon.requests == 2, timeout=5)  # asked once more, after being let go
    tray.stop()  # stopping ends the watch
    watcher.join(5)
    assert not watcher.is_alive() and icon.requests == 2  # held again: not asked a third time


@pytest.mark.real
def test_a_tray_host_is_seen_and_a_display_that_cannot_be_reached_has_none(xdisplay: str) -> None:
    assert tray_host_present(xdisplay)
    assert not tray_host_present(":987", tries=2)  # no such display: asked twice, then no


_COUNT_DOCK_REQUESTS = """
import sys, time
from pystray import _xorg
sent = []
dock = _xorg.Icon._dock_window
_xorg.Icon._dock_window = lambda self: (sent.append(1), dock(self))[1]
from companion.desktop.tray import BackendChoice, Tray
tray = Tray(lambda _name: None, backend=BackendChoice("xorg", False))
tray.start()
deadline = time.monotonic() + 20
while not tray.embedded() and time.monotonic() < deadline:
    time.sleep(0.05)
time.sleep(0.5)
print(len(sent), tray.embedded())
tray.stop()
"""


@pytest.mark.real
@pytest.mark.timeout(60)
def test_the_xorg_icon_asks_the_tray_host_once(xdisplay: str) -> None:
    """Two dock requests in a row (pystray's own first show) can make a busy host drop the icon: one is sent."""
    out = subprocess.run([sys.executable, "-c", _COUNT_DOCK_REQUESTS], capture_output=True, text=True, timeout=50,
                         env=dict(os.environ, PYSTRAY_BACKEND="xorg"))
    assert out.stdout.split() == ["1", "True"], out.stdout + out.stderr


def test_each_state_has_its_own_look() -> None:
    assert icon_state("idle", checkins_off=True) == "checkins_off"
    assert icon_state("session", checkins_off=True) == "session"
    assert icon_state("whatever", checkins_off=False) == "idle"
    for look, rgb in STATE_COLOURS.items():  # the state's colour is the icon's main colour
        img = draw_icon(look).convert("RGBA")
        opaque = [c[:3] for n, c in img.getcolors(64 * 64) for _ in range(min(n, 50)) if c[3] == 255]
        assert sum(all(abs(a - b) <= 8 for a, b in zip(c, rgb, strict=True)) for c in opaque) > len(opaque) / 2


def _mask(look: str, size: int) -> list[bool]:
    return [a > 127 for a in draw_icon(look, size).getchannel("A").tobytes()]


@pytest.mark.parametrize("size", [16, 22, 32])
def test_states_differ_in_shape_not_only_colour(size: int, tmp_path: Path) -> None:
    """Alpha masks (the silhouettes) of every two states differ in at least a fifth of their drawn pixels."""
    looks = list(STATE_COLOURS)
    masks = {look: _mask(look, size) for look in looks}
    for i, a in enumerate(looks):
        assert draw_icon(a, size).size == (size, size)
        for b in looks[i + 1:]:
            union = sum(x or y for x, y in zip(masks[a], masks[b], strict=True))
            differ = sum(x != y for x, y in zip(masks[a], masks[b], strict=True))
            assert differ / union >= 0.2, f"{a} and {b} look alike at {size} px ({differ}/{union})"
    sheet = Image.new("RGBA", (len(looks) * (size + 4), size), (0, 0, 0, 0))
    for i, look in enumerate(looks):
        sheet.alpha_composite(draw_icon(look, size), (i * (size + 4), 0))
    sheet.save(tmp_path / f"icons-{size}.png")


@pytest.mark.parametrize("panel", [(245, 245, 245), (32, 32, 32)], ids=["light", "dark"])
@pytest.mark.parametrize("size", [16, 22, 32])
def test_icons_stand_out_on_light_and_dark_panels(size: int, panel: tuple[int, int, int]) -> None:
    """On the panel colour, a good part of each icon differs clearly (in lightness) from the panel."""
    for look in STATE_COLOURS:
        tile = Image.new("RGBA", (size, size), (*panel, 255))
        tile.alpha_composite(draw_icon(look, size))
        lum = list(tile.convert("L").tobytes())
        base = Image.new("L", (1, 1), 0)
        base.putpixel((0, 0), Image.new("RGB", (1, 1), panel).convert("L").getpixel((0, 0)))
        ground = base.getpixel((0, 0))
        drawn = sum(_mask(look, size))
        contrasted = sum(abs(v - ground) >= 60 for v in lum)
        assert contrasted >= 0.5 * drawn, f"{look} at {size} px on {panel}: {contrasted}/{drawn}"


def _strip_count(path: Path, look: str) -> int:
    return count_colour(screenshot(path), STATE_COLOURS[look], TRAY_STRIP, tol=20)


def _click(x: int, y: int, button: int) -> None:
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", str(button)], check=True, timeout=20)


def _docked(path: Path, look: str) -> bool:
    """The tray strip shows the icon in this look's colour (within 20 s: docking is slow on a loaded machine)."""
    return wait_for(lambda: _strip_count(path, look) > 100, timeout=20)


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


def _choose(icon: tuple[int, int], keys: tuple[str, ...]) -> None:
    """Right click the icon, wait for the menu, then choose by keyboard (separators and greyed lines are
    skipped, as a person using the keyboard meets them): e.g. ("Down", "Down", "Return")."""
    before = _visible_windows()
    _click(icon[0], icon[1], 3)

    def menu_shown() -> bool:  # a new window tall enough to be the menu (the hover tooltip is a small one)
        return any(_geometry(win)[3] > 100 for win in _visible_windows() - before)

    assert wait_for(menu_shown, timeout=10), "no menu"
    subprocess.run(["xdotool", "key", "--delay", "60", *keys], check=True, timeout=20)


def _down(n: int) -> tuple[str, ...]:
    return ("Down",) * n + ("Return",)


def _named(name: str) -> bool:
    """A window (the docked icon) carries this name: the tooltip's text, readable by assistive tools."""
    out = subprocess.run(["xdotool", "search", "--name", f"^{name}$"], capture_output=True, text=True,
                         timeout=20).stdout
    return bool(out.split())


def _last_state(run: DesktopRun) -> str:
    states = run.events("state")
    return states[-1]["state"] if states else "idle"


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
        words = texts()["tray"]
        # the docked icon carries the tooltip: as GTK's hover text and as the icon window's name
        assert status["tooltip"] == words["states"]["idle"]
        assert wait_for(lambda: _named(words["states"]["idle"]), timeout=10)

        # the icon follows the state: a session turns it violet
        assert forward({"cmd": "breathe", "pattern": "box"})["ok"]
        assert _docked(tmp_path / "session.png", "session")
        assert _strip_count(tmp_path / "session.png", "idle") < 20
        forward({"cmd": "stop"})
        assert _docked(tmp_path / "idle2.png", "idle")

        # right click → menu → "Ground me" (Talk, Breathe, Ground me while no session runs)
        icon = _icon_centre(tmp_path / "find.png", "idle")
        starts = len(run.events("start"))
        _choose(icon, _down(3))
        assert wait_for(lambda: len(run.events("start")) > starts, timeout=10), run.output
        assert run.events("start")[-1]["exercise"] == "ground"
        forward({"cmd": "stop"})
        assert _docked(tmp_path / "idle3.png", "idle")

        # during a session Stop and Pause lead the menu; Pause then Resume reach the app's own commands
        assert forward({"cmd": "breathe", "pattern": "box"})["ok"]
        assert wait_for(lambda: _named(words["states"]["session"]), timeout=10)
        _choose(icon, _down(2))
        assert wait_for(lambda: _last_state(run) == "paused", timeout=10), run.events("state")
        assert wait_for(lambda: _named(words["states"]["paused"]), timeout=10)
        _choose(icon, _down(2))  # Stop, Resume session
        assert wait_for(lambda: _last_state(run) == "session", timeout=10), run.events("state")
        _choose(icon, _down(1))  # Stop session
        assert wait_for(lambda: _last_state(run) == "idle", timeout=10), run.events("state")
        assert _docked(tmp_path / "idle4.png", "idle")

        # left click = Talk to me
        _click(icon[0], icon[1], 1)
        if real_app_available():
            assert wait_for(lambda: any(e["event"] in ("state", "caption") for e in run.events()), timeout=10)
        else:
            assert wait_for(lambda: run.calls("talk"), timeout=10)
        forward({"cmd": "stop"})

        # pausing check-ins greys the icon and says until when; "Resume check-ins" is on the top level
        assert forward({"cmd": "snooze", "minutes": 30})["ok"]
        assert _docked(tmp_path / "snoozed.png", "checkins_off")
        assert wait_for(lambda: _named("Companion: check-ins paused until [0-9][0-9]:[0-9][0-9]"), timeout=10)
        _choose(icon, _down(7))  # Talk, Breathe, Ground, Compassion, Journal, Check in now, (greyed), Resume
        assert _docked(tmp_path / "resumed.png", "idle")
        assert wait_for(lambda: _named(words["states"]["idle"]), timeout=10)

        # Quit (the last entry: Up from the top wraps to it) ends the process cleanly
        _choose(icon, ("Up", "Return"))
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
        assert status["tray"] == "icon-only", run.output
        assert "no menu here" in run.output and "D-Bus" in run.output
        assert _docked(tmp_path / "xorg.png", "idle"), f"icon not docked: {run.output}"
        assert status["hotkey"] == "on"
    finally:
        assert run.close() == 0, run.output


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_settings_entry_opens_the_settings_window(xdisplay: str, tmp_path: Path) -> None:
    """Settings opens the companion's own Settings window (no longer the raw file through xdg-open)."""
    need("dbus-run-session", "xdotool", "import")
    from companion.desktop.settings import words as settings_words

    run = DesktopRun(tmp_path)
    try:
        status = run.started()
        assert status["tray"] == "menu" and status["pacer"] == "on", run.output
        assert _docked(tmp_path / "idle.png", "idle"), "icon not docked"
        icon = _icon_centre(tmp_path / "find.png", "idle")
        _choose(icon, ("Up", "Up", "Up", "Return"))  # from the bottom: Quit, How I listen, Settings
        title = settings_words()["title"]
        assert wait_for(lambda: bool(_visible_windows() & set(subprocess.run(
            ["xdotool", "search", "--name", f"^{title}$"], capture_output=True, text=True, timeout=20
        ).stdout.split())), timeout=15), run.output
        screenshot(tmp_path / "settings.png")
    finally:
        assert run.close() == 0, run.output
