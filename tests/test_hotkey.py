"""Global hotkey: debounce, combo validation, the fallback message, and pynput for real (Xvfb + xdotool)."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from helpers import need

from companion.desktop import hotkey
from companion.desktop.hotkey import Debouncer, GlobalHotkey, check_available, parse_combo


class StepClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def press_burst(presses: int, every: float) -> tuple[Debouncer, list[bool]]:
    """A 0.6 s debouncer pressed `presses` times, `every` seconds apart: it and whether each press counted."""
    clock = StepClock()
    d = Debouncer(0.6, clock=clock)
    accepted = []
    for _ in range(presses):
        accepted.append(d.press())
        clock.t += every
    return d, accepted


def test_a_burst_of_presses_counts_once() -> None:
    d, results = press_burst(20, every=0.03)
    assert results == [True] + [False] * 19
    assert (d.pressed, d.accepted) == (20, 1)


def test_a_held_burst_keeps_swallowing_until_quiet() -> None:
    """Presses every 0.5 s for 3 s never reach the window's quiet gap: still one action."""
    _, accepted = press_burst(7, every=0.5)
    assert accepted.count(True) == 1


def test_a_deliberate_second_press_counts() -> None:
    clock = StepClock()
    d = Debouncer(0.6, clock=clock)
    assert d.press()
    clock.t += 1.0
    assert d.press()
    clock.t += 0.1
    assert not d.press()


@pytest.mark.real
def test_bad_combo_names_the_fix(xdisplay: str) -> None:
    assert parse_combo("<ctrl>+<shift>+<space>") == "<ctrl>+<shift>+<space>"
    with pytest.raises(ValueError, match=r"hotkey.combo .* write it like '<ctrl>\+<alt>\+b'"):
        parse_combo("<ctrl>+<nokey>+b")
    with pytest.raises(ValueError, match=r"hotkey\.combo"):
        GlobalHotkey("ctrl+alt+b+", lambda: None)


def test_no_display_explains_and_names_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    status = check_available()
    assert not status.available
    assert "no X display" in status.message
    assert "`companion breathe`" in status.message


def test_wayland_explains_and_names_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    status = check_available()
    assert not status.available
    assert "Wayland" in status.message and "`companion breathe`" in status.message


@pytest.mark.real
@pytest.mark.timeout(60)
def test_real_hotkey_fires_once_per_burst_and_stops(xdisplay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    need("xdotool")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    assert check_available().available
    fired: list[float] = []
    got = threading.Event()

    def on_press() -> None:
        fired.append(time.monotonic())
        got.set()

    hk = GlobalHotkey(hotkey.DEFAULT_COMBO, on_press, debounce=0.6)
    hk.start()
    try:
        subprocess.run(["xdotool", "key", "ctrl+alt+b"], check=True, timeout=20)
        assert got.wait(10)
        assert len(fired) == 1
        time.sleep(1.0)
        subprocess.run(["xdotool", "key", "--delay", "25", *(["ctrl+alt+b"] * 20)], check=True, timeout=30)
        deadline = time.monotonic() + 10
        while hk.debouncer.pressed < 21 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hk.debouncer.pressed == 21  # pynput saw every press...
        assert len(fired) == 2  # ...and the burst acted once
        subprocess.run(["xdotool", "key", "ctrl+alt+x"], check=True, timeout=20)  # other combos do nothing
        time.sleep(0.3)
        assert hk.debouncer.pressed == 21
    finally:
        listener = hk._listener
        hk.stop()
    assert listener is not None and not listener.is_alive()
