"""Breathing pacer: the circle's level over a phase, the timeline model, and the real companion window on Xvfb
(bigger after an inhale than after an exhale; the phases it animated equal the voice's phase events)."""

from __future__ import annotations

import gc
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import need
from test_desktop_shell import FakeCompanion, count_colour, wait_for

from companion.core.events import Event
from companion.desktop.pacer import PacerModel, clock_text, ease, phase_level
from companion.desktop.theme import LIGHT


def test_levels_follow_the_breath() -> None:
    assert phase_level("inhale", 0.0, 0.0) == 0.0
    assert phase_level("inhale", 1.0, 0.0) == 1.0
    ups = [phase_level("inhale", x / 10, 0.0) for x in range(11)]
    assert ups == sorted(ups)
    downs = [phase_level("exhale", x / 10, 1.0) for x in range(11)]
    assert downs == sorted(downs, reverse=True) and downs[-1] == 0.0
    assert phase_level("hold", 0.7, 1.0) == 1.0  # a hold after an inhale stays full
    assert phase_level("hold", 0.7, 0.0) == 0.0  # ...after an exhale stays small
    assert ease(0.5) == pytest.approx(0.5)


def _phase(name: str, planned: float, seconds: float, cycle: int = 1) -> Event:
    return Event("phase", planned + 0.01, planned, {"name": name, "cycle": cycle, "seconds": seconds})


def test_model_animates_from_the_planned_start_on_the_session_clock() -> None:
    m = PacerModel()
    t0 = 1000.0
    m.on_event(Event("start", 0.002, 0.0, {"exercise": "box", "title": "Box"}), arrived=t0 + 0.002)
    assert m.t0 == pytest.approx(t0)
    m.on_event(_phase("inhale", 0.5, 4.0), arrived=t0 + 0.4)  # arrives 0.1 s early
    assert m.level(t0 + 0.45) == 0.0 and m.animated == []  # nothing drawn before the planned start
    assert m.level(t0 + 2.5) == pytest.approx(0.5)
    assert m.level(t0 + 4.5) == pytest.approx(1.0)
    assert [(a.name, a.planned, a.seconds, a.shown) for a in m.animated] == [("inhale", 0.5, 4.0, 2.5)]
    m.on_event(_phase("hold", 4.5, 4.0), arrived=t0 + 4.51)
    assert m.level(t0 + 6.0) == pytest.approx(1.0)
    m.on_event(_phase("exhale", 8.5, 4.0), arrived=t0 + 8.52)
    assert m.level(t0 + 10.5) == pytest.approx(0.5)
    assert m.level(t0 + 12.5) == pytest.approx(0.0)
    assert [a.planned for a in m.animated] == [0.5, 4.5, 8.5]


def test_pause_freezes_the_circle_and_resume_carries_on() -> None:
    m = PacerModel()
    m.on_event(Event("start", 0.0, 0.0), arrived=0.0)
    m.on_event(_phase("inhale", 0.0, 4.0), arrived=0.0)
    assert m.level(1.0) == pytest.approx(ease(0.25))
    m.on_event(Event("pause", 1.0), arrived=1.0)
    assert m.level(3.0) == pytest.approx(ease(0.25))  # frozen while paused
    m.on_event(Event("resume", 3.0), arrived=3.0)
    assert m.level(4.0) == pytest.approx(ease(0.5))  # two paused seconds do not count
    m.on_event(Event("end", 5.0, None, {"completed": False, "reason": "stopped"}), arrived=5.0)
    assert not m.running


def test_captions_show_what_is_said() -> None:
    m = PacerModel()
    m.on_event(Event("start", 0.0, 0.0), arrived=0.0)
    m.on_event(Event("say", 0.1, 0.1, {"text": "Breathe in"}), arrived=0.1)
    assert m.caption == "Breathe in"
    m.on_event(Event("caption", 0.2, None, {"who": "person", "text": "slower"}), arrived=0.2)
    assert m.caption == "Breathe in"  # the person's words are not the pacer's caption


def test_a_start_clears_the_last_session_and_time_left_counts_down() -> None:
    m = PacerModel()
    m.on_event(Event("start", 0.0, 0.0), arrived=0.0)
    m.on_event(Event("phase", 1.0, 1.0, {"name": "exhale", "cycle": 3, "seconds": 4.0, "cycles": 8,
                                         "left": 84.0}), arrived=1.0)
    assert m.session_left(3.0) == pytest.approx(82.0) and m.phase_left(3.0) == pytest.approx(2.0)
    assert clock_text(82.0) == "1:22" and clock_text(0.2) == "0:01"
    m.on_event(Event("end", 4.0, None, {"completed": False, "reason": "stopped"}), arrived=4.0)
    m.on_event(Event("start", 0.0, 0.0), arrived=10.0)
    assert m.phase is None and m.caption == "" and m.level(11.0) == 0.0


def test_phase_events_say_how_many_breaths_and_how_long_is_left() -> None:
    from companion.core.clock import FakeClock
    from companion.core.events import EventBus
    from companion.core.exercises import load_library
    from companion.core.session import Session, SessionOptions
    from companion.speech.tts import SilentSpeaker

    bus = EventBus()
    phases: list[Event] = []
    bus.subscribe(lambda e: phases.append(e) if e.kind == "phase" else None)
    box = load_library().get("box")
    Session(box, clock=FakeClock(), bus=bus, speaker=SilentSpeaker(), options=SessionOptions(minutes=1)).run()
    assert {e.data["cycles"] for e in phases} == {phases[-1].data["cycle"]} == {4}  # 4 squares of 16 s
    assert phases[0].data["left"] == 64.0 and phases[-1].data["left"] == 4.0


LONG_HOLDS = (("inhale", 1.0), ("hold", 2.5), ("exhale", 1.0), ("hold", 2.5))


@pytest.mark.real
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_real_window_follows_the_voice_timeline(xdisplay: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    need("import")
    from PIL import Image

    from companion.desktop.window import CompanionWindow as PacerWindow

    monkeypatch.setenv("COMPANION_THEME", "light")
    monkeypatch.setenv("COMPANION_REDUCED_MOTION", "0")

    app = FakeCompanion(cycles=1, pattern=LONG_HOLDS)
    phases: list[Event] = []
    app.bus.subscribe(lambda e: phases.append(e) if e.kind == "phase" else None)
    log_path = tmp_path / "pacer.jsonl"
    pacer = PacerWindow({"pause": app.pause, "resume": app.resume, "stop": app.stop}, log_path=log_path)
    app.bus.subscribe(pacer.submit)
    shots: dict[str, Path] = {}
    radii: dict[str, float] = {}
    failures: list[str] = []

    def shoot(label: str, index: int) -> None:
        if not wait_for(lambda: len(pacer.model.animated) > index, timeout=20):
            failures.append(f"phase {index} never animated")
            return
        time.sleep(0.8)  # well inside the 2.5 s hold that follows
        radii[label] = pacer.radius
        shots[label] = tmp_path / f"{label}.png"
        subprocess.run(["import", "-window", "root", str(shots[label])], check=True, timeout=20)

    def user() -> None:
        try:
            app.start_exercise("box")
            shoot("after_inhale", 1)
            shoot("after_exhale", 3)
            wait_for(lambda: not app.session_running, timeout=20)
        finally:
            pacer.call_soon(pacer.root.quit)

    threading.Thread(target=user, daemon=True).start()
    pacer.root.mainloop()
    x, y = pacer.win.winfo_rootx(), pacer.win.winfo_rooty()
    box = (x, y, x + pacer.win.winfo_width(), y + pacer.win.winfo_height())
    model = pacer.model
    pacer.close()
    pacer.root.destroy()
    app.bus = None  # drop the last references to Tk here: Tcl aborts when another thread frees them
    pacer = None
    gc.collect()
    assert not failures, failures

    hold = LIGHT.phase["hold"]  # both pictures are taken during a hold
    teal = tuple(int(hold[i:i + 2], 16) for i in (1, 3, 5))
    big = count_colour(Image.open(shots["after_inhale"]).convert("RGB"), teal, box, tol=12)
    small = count_colour(Image.open(shots["after_exhale"]).convert("RGB"), teal, box, tol=12)
    assert small > 0
    assert big > 4 * small, (big, small)  # the smallest circle is 0.3 of the largest: ~11x the area
    assert radii["after_inhale"] > radii["after_exhale"]

    # One clock: the window animated exactly the phases the voice timeline announced, at their planned times,
    # and never drew a phase before its planned start.
    voice = [(e.data["name"], e.data["cycle"], e.planned, e.data["seconds"]) for e in phases]
    drawn = [(a.name, a.cycle, a.planned, a.seconds) for a in model.animated]
    assert drawn == voice and len(voice) == 4
    assert all(a.shown >= a.planned for a in model.animated)
    logged = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [(r["name"], r["cycle"], r["planned"], r["seconds"]) for r in logged] == voice


@pytest.mark.real
@pytest.mark.timeout(60)
def test_real_buttons_pause_resume_and_stop(xdisplay: str) -> None:
    need("xdotool")
    from companion.desktop.window import CompanionWindow as PacerWindow

    app = FakeCompanion(cycles=20)
    pacer = PacerWindow({"pause": app.pause, "resume": app.resume, "stop": app.stop})
    app.bus.subscribe(pacer.submit)
    ends: list[Event] = []
    app.bus.subscribe(lambda e: ends.append(e) if e.kind == "end" else None)
    seen: dict[str, str] = {}
    failures: list[str] = []

    def centre(widget: Any) -> tuple[str, str]:
        return (str(widget.winfo_rootx() + widget.winfo_width() // 2),
                str(widget.winfo_rooty() + widget.winfo_height() // 2))

    def click(widget: Any) -> None:
        x, y = centre(widget)
        subprocess.run(["xdotool", "mousemove", x, y, "click", "1"], check=True, timeout=20)

    def user() -> None:
        try:
            app.start_exercise("box")
            if not wait_for(lambda: pacer.model.animated, timeout=20):
                failures.append("the window never animated")
                return
            time.sleep(0.3)
            click(pacer.pause_button)
            if not wait_for(lambda: pacer.pause_button.cget("text") == "Resume", timeout=10):
                failures.append("pause did not turn the button into Resume")
            seen["paused_state"] = app.state
            click(pacer.pause_button)
            wait_for(lambda: pacer.pause_button.cget("text") == "Pause", timeout=10)
            seen["resumed_state"] = app.state
            click(pacer.stop_button)
            if not wait_for(lambda: bool(ends), timeout=10):
                failures.append("stop did not end the session")
        finally:
            pacer.call_soon(pacer.root.quit)

    threading.Thread(target=user, daemon=True).start()
    pacer.root.mainloop()
    pacer.close()
    pacer.root.destroy()
    app.bus = None
    pacer = None
    gc.collect()
    assert not failures, failures
    assert [c[0] for c in app.calls if c[0] in ("pause", "resume", "stop")] == ["pause", "resume", "stop"]
    assert seen == {"paused_state": "paused", "resumed_state": "session"}
    assert ends[0].data["completed"] is False
