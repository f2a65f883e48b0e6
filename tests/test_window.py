"""The companion window on a private Xvfb: every line the real app speaks, in every exercise, is read back from
the window's own widgets; grounding shows its steps and takes typed answers; the check-in, Talk and "How I
listen" panels; text stays inside its box; keyboard and buttons; themes and reduced motion; no stale frame.

Screenshots of each state go to $COMPANION_SCREENSHOTS when set (docs/screenshots is made that way), else to the
test's temporary folder.
"""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import need

from companion.core.clock import FakeClock
from companion.core.config import Config
from companion.core.events import Event
from companion.core.store import Store
from companion.desktop.theme import DARK, LIGHT

pytestmark = [pytest.mark.real]

EXERCISES = ("box", "4-7-8", "coherent", "sigh", "ground", "compassion", "journal", "reframe", "connect",
             "professional_help")


def shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("COMPANION_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(window: Any, path: Path) -> Path:
    """A screenshot of the window alone, cropped from the X root (no window manager on Xvfb)."""
    need("import")
    window.root.update()
    time.sleep(0.05)
    window.root.update()
    win = window.win
    x, y, w, h = win.winfo_rootx(), win.winfo_rooty(), win.winfo_width(), win.winfo_height()
    subprocess.run(["import", "-window", "root", "-crop", f"{w}x{h}+{x}+{y}", "+repage", str(path)], check=True,
                   timeout=20)
    return path


class Recorder:
    """Every line the companion speaks, from the event stream: session `say` lines and app captions."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if event.kind == "say" or (event.kind == "caption" and event.data.get("who") == "companion"
                                   and not event.data.get("partial")):
            self.lines.append(str(event.data.get("text", "")))


@pytest.fixture
def real_app(xdisplay: str) -> Iterator[Any]:
    """The real Companion on a fake clock (sessions run in milliseconds) with a captions-only voice."""
    from companion.app import Companion
    from companion.speech.tts import SilentSpeaker

    app = Companion(config=Config(), store=Store.memory(), speaker=SilentSpeaker(), clock=FakeClock())
    yield app
    app.stop("closed")


@pytest.fixture
def window_for(xdisplay: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Makes CompanionWindows wired to an app's commands (as the shell does) and tears Tk down safely."""
    monkeypatch.setenv("COMPANION_THEME", "light")
    monkeypatch.setenv("COMPANION_REDUCED_MOTION", "0")
    made: list[Any] = []

    def make(app: Any, **kw: Any) -> Any:
        from companion.desktop.window import CompanionWindow

        actions = {"pause": app.pause, "resume": app.resume, "stop": app.stop,
                   "text": lambda line: app.handle_text(line, source="typed"),
                   "again": lambda ex, kind: app.start_exercise(ex), "talk": lambda: None,
                   "not_now": lambda: app.handle_text("not now", source="typed")}
        window = CompanionWindow(actions, **kw)
        app.bus.subscribe(window.submit)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
        window.root.destroy()
    made.clear()
    gc.collect()


def settle(window: Any, rounds: int = 3) -> None:
    """Runs the window's queue and Tk's idle work on this (the main) thread."""
    for _ in range(rounds):
        window._drain()
        window.root.update()


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_spoken_line_of_a_whole_session_is_shown(real_app: Any, window_for: Any, exercise: str) -> None:
    spoken = Recorder()
    real_app.bus.subscribe(spoken)
    window = window_for(real_app)
    real_app.start_exercise(exercise, cycles=2 if exercise in ("box", "4-7-8", "coherent", "sigh") else None)
    assert real_app.wait_session(20)
    settle(window)
    shown = window.transcript.get("1.0", "end")
    missing = [line for line in spoken.lines if line not in shown]
    assert spoken.lines and not missing, missing
    assert window.mode == "ended" and window.again_button.winfo_ismapped()
    assert window.title.cget("text") == real_app.library.get(exercise).title


def test_grounding_shows_its_steps_and_takes_typed_answers(real_app: Any, window_for: Any,
                                                           tmp_path: Path) -> None:
    from companion.core.clock import RealClock

    real_app.clock = RealClock()  # answers are typed while the question waits
    spoken = Recorder()
    real_app.bus.subscribe(spoken)
    window = window_for(real_app)
    real_app.start_exercise("ground")
    deadline = time.monotonic() + 10
    while not any(e.kind == "listen" for e in spoken.events) and time.monotonic() < deadline:
        settle(window, 1)
        time.sleep(0.02)
    settle(window)
    steps = window.steps.texts()
    assert len(steps) == 5 and steps[0].startswith("▶") and "5 things you can see" in steps[0]
    assert window.answer.winfo_ismapped()
    shoot(window, shots_dir(tmp_path) / "grounding-light.png")
    window.answer.insert(0, "a lamp, a mug, the window, my hands, a plant")
    window.send_button.invoke()
    deadline = time.monotonic() + 10
    while sum(e.kind == "listen" for e in spoken.events) < 2 and time.monotonic() < deadline:
        settle(window, 1)
        time.sleep(0.02)
    settle(window)
    heard = [e for e in spoken.events if e.kind == "heard"]
    assert heard and heard[0].data["text"] == "a lamp, a mug, the window, my hands, a plant"
    assert window.steps.texts()[0].startswith("✓") and window.steps.texts()[1].startswith("▶")
    assert "You: a lamp, a mug" in window.transcript.get("1.0", "end")
    window.stop_button.invoke()  # acknowledged at once, before the session has ended
    assert window.mode == "ended" and window.message.cget("text") == window.words["stopping"]
    assert real_app.wait_session(5)
    settle(window)
    assert window.message.cget("text") == window.words["stopped"]
    assert [line for line in spoken.lines if line not in window.transcript.get("1.0", "end")] == []


def test_check_in_panel_answers_like_typed_chat(real_app: Any, window_for: Any, tmp_path: Path) -> None:
    spoken = Recorder()
    real_app.bus.subscribe(spoken)
    window = window_for(real_app)
    real_app.check_in(source="click")
    settle(window)
    assert window.mode == "checkin" and window.win.winfo_ismapped()
    assert spoken.lines and spoken.lines[-1] in window.caption.cget("text")
    shoot(window, shots_dir(tmp_path) / "checkin-light.png")
    assert str(window.checkin.save_button.cget("state")) == "disabled"
    window.checkin.feeling_buttons["anxious"].invoke()
    window.checkin.rating_buttons[7].invoke()
    assert window.checkin.answer_text() == "I feel anxious, 7 out of 10"
    window.checkin.save_button.invoke()
    settle(window)
    saved = real_app.store.checkins(1)
    assert [(c.feeling, c.intensity) for c in saved] == [("anxious", 7)]
    shown = window.transcript.get("1.0", "end")
    assert "You: I feel anxious, 7 out of 10" in shown
    assert all(line in shown for line in spoken.lines)


def test_talk_shows_listening_and_what_was_heard(real_app: Any, window_for: Any, tmp_path: Path) -> None:
    window = window_for(real_app)
    window.open_talk()
    real_app.mark_listening(True)
    real_app.bus.emit(Event("caption", 0.0, data={"who": "person", "text": "i feel a bit", "partial": True}))
    settle(window)
    assert window.talk.indicator.cget("text") == window.words["listening"]
    assert "i feel a bit" in window.talk.heard.cget("text")
    shoot(window, shots_dir(tmp_path) / "talk-light.png")
    real_app.mark_listening(False)
    real_app.handle_text("i feel a bit lonely today", source="voice")
    settle(window)
    assert window.talk.indicator.cget("text") == window.words["not_listening"]
    assert window.talk.heard.cget("text") == window.words["heard"].format(text="i feel a bit lonely today")
    assert "You: i feel a bit lonely today" in window.transcript.get("1.0", "end")


def test_how_i_listen_panel_downloads_in_a_thread_with_progress(window_for: Any, real_app: Any,
                                                                tmp_path: Path) -> None:
    from companion.core.paths import models_dir
    from companion.desktop.shell import voice_info
    from companion.speech.models import DOWNLOADS

    size = 4_000_000
    part = models_dir() / DOWNLOADS / "whisper-tiny.en.parts" / "model.bin.part"
    release = threading.Event()

    def fake_download(name: str, report: Any) -> Path:  # what download_model does, slowly, without a network
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"\0" * (size // 2))
        release.wait(10)
        report(f"installed {name}")
        return models_dir() / name

    window = window_for(real_app)
    window.voice._download = fake_download
    text = voice_info()
    window.open_voice_info(text, ("whisper-tiny.en", size))
    settle(window)
    assert window.voice.text.cget("text") == text and "(4 MB)" in window.voice.download_button.cget("text")
    window.voice.download_button.invoke()
    deadline = time.monotonic() + 5
    while window.voice.bar["value"] < 40 and time.monotonic() < deadline:
        window._tick()
        window.root.update()
        time.sleep(0.05)
    assert 45 <= float(window.voice.bar["value"]) <= 55
    assert str(window.voice.download_button.cget("state")) == "disabled"
    shoot(window, shots_dir(tmp_path) / "how-i-listen-light.png")
    release.set()
    deadline = time.monotonic() + 5
    while window.voice.status.cget("text") != window.words["voice"]["done"] and time.monotonic() < deadline:
        window._tick()
        window.root.update()
        time.sleep(0.05)
    assert float(window.voice.bar["value"]) == 100
    assert window.voice.status.cget("text") == window.words["voice"]["done"]


def _phase(name: str, planned: float, seconds: float, cycle: int = 1, cycles: int = 3,
           left: float = 40.0) -> Event:
    return Event("phase", planned, planned, {"name": name, "cycle": cycle, "seconds": seconds, "cycles": cycles,
                                             "left": left})


def test_text_always_fits_its_box_at_any_size(window_for: Any, real_app: Any) -> None:
    window = window_for(real_app)
    window.pacer_words["phases"] = {**window.pacer_words["phases"], "exhale": "Breathe out very slowly now"}
    window.submit(Event("start", 0.0, 0.0, {"exercise": "box", "title": "Box breathing", "kind": "breathing"}))
    window.submit(_phase("exhale", 0.0, 4.0))
    for size in ("460x640", "340x460", "900x700"):
        window.win.geometry(size)
        settle(window)
        window.pacer.draw(time.monotonic())
        window.root.update()
        canvas = window.pacer.canvas
        x1, y1, x2, y2 = canvas.bbox(window.pacer.phase_text)
        bx1, by1, bx2, by2 = window.pacer.phase_box()
        assert bx1 <= x1 and x2 <= bx2 and by1 - 2 <= y1 and y2 <= by2 + 2, (size, (x1, y1, x2, y2))
        assert x2 <= canvas.winfo_width() and y2 <= canvas.winfo_height()
        cy2 = canvas.coords(window.pacer.circle)[3]
        assert cy2 <= by1 + 1  # the circle never runs into the word's band
        for label in (window.caption, window.title):
            assert label.winfo_reqwidth() <= window.win.winfo_width()
    assert window.pacer.progress.cget("text") == "Breath 1 of 3 · 0:40 left"


def test_the_circle_follows_the_phase_and_reduced_motion_uses_colour(window_for: Any, real_app: Any) -> None:
    window = window_for(real_app)
    window.submit(Event("start", 0.0, 0.0, {"exercise": "box", "title": "Box", "kind": "breathing"}))
    settle(window)
    t0 = window.model.t0
    window.submit(_phase("inhale", 0.0, 4.0))
    settle(window)
    window.pacer.draw(t0 + 4.0)
    big = window.pacer.radius
    window.submit(_phase("exhale", 4.0, 4.0))
    settle(window)
    window.pacer.draw(t0 + 8.0)
    small = window.pacer.radius
    assert big > 2.5 * small

    calm = window_for(real_app, reduced_motion=True)
    calm.submit(Event("start", 0.0, 0.0, {"exercise": "box", "title": "Box", "kind": "breathing"}))
    settle(calm)
    t0 = calm.model.t0
    seen = []
    for name, planned in (("inhale", 0.0), ("hold", 4.0), ("exhale", 8.0)):
        calm.submit(_phase(name, planned, 4.0))
        settle(calm)
        calm.pacer.draw(t0 + planned + 1.2)
        seen.append((calm.pacer.radius, calm.pacer.fill,
                     calm.pacer.canvas.itemcget(calm.pacer.count_text, "text")))
    radii = {round(r, 3) for r, _, _ in seen}
    assert len(radii) == 1  # no scaling
    assert [f for _, f, _ in seen] == [LIGHT.phase["inhale"], LIGHT.phase["hold"], LIGHT.phase["exhale"]]
    assert [c for _, _, c in seen] == ["3", "3", "3"]  # seconds left in the phase, as text


def test_a_new_session_never_shows_the_last_frame(window_for: Any, real_app: Any) -> None:
    window = window_for(real_app)
    window.submit(Event("start", 0.0, 0.0, {"exercise": "box", "title": "Box", "kind": "breathing"}))
    window.submit(_phase("inhale", 0.0, 4.0))
    window.submit(Event("say", 0.0, 0.0, {"text": "And in…"}))
    settle(window)
    window.pacer.draw(window.model.t0 + 3.9)
    window.stop_button.invoke()
    window.submit(Event("end", 4.0, None, {"completed": False, "reason": "stopped"}))
    settle(window)
    window.submit(Event("start", 0.0, 0.0, {"exercise": "box", "title": "Box", "kind": "breathing"}))
    settle(window)
    canvas = window.pacer.canvas
    assert canvas.itemcget(window.pacer.phase_text, "text") == window.pacer_words["ready"]
    assert window.caption.cget("text") == "" and window.pacer.progress.cget("text") == ""
    _, _, r_min, _, _, _ = window.pacer.geometry()
    assert window.pacer.radius == pytest.approx(r_min)


@pytest.mark.timeout(60)
def test_keyboard_space_pauses_and_resumes_escape_stops(xdisplay: str, window_for: Any) -> None:
    need("xdotool")
    from test_desktop_shell import FakeCompanion

    app = FakeCompanion(cycles=20)
    window = window_for(app)
    app.start_exercise("box")
    deadline = time.monotonic() + 10
    while not window.model.animated and time.monotonic() < deadline:
        window._tick()
        window.root.update()
        time.sleep(0.03)
    window.win.focus_force()
    window.root.update()

    def key(name: str, until: Any) -> bool:
        subprocess.run(["xdotool", "key", name], check=True, timeout=10)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            window._tick()
            window.root.update()
            if until():
                return True
            time.sleep(0.03)
        return False

    assert key("space", lambda: window.pause_button.cget("text") == "Resume")
    assert app.state == "paused"
    assert key("space", lambda: window.pause_button.cget("text") == "Pause")
    assert app.state == "session"
    assert key("Escape", lambda: window.mode == "ended")
    assert [c[0] for c in app.calls if c[0] in ("pause", "resume", "stop")] == ["pause", "resume", "stop"]
    app.bus = None


def test_buttons_have_names_and_take_focus(window_for: Any, real_app: Any) -> None:
    window = window_for(real_app)
    for b in (window.pause_button, window.stop_button, window.again_button, window.close_button,
              window.talk_button, window.send_button, *window.checkin.feeling_buttons.values()):
        assert b.cget("text").strip() and b.winfo_name() and int(b.cget("takefocus")) == 1


def test_theme_comes_from_env_config_then_the_desktop(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from companion.desktop import theme

    monkeypatch.delenv("COMPANION_THEME", raising=False)
    monkeypatch.delenv("GTK_THEME", raising=False)
    monkeypatch.delenv("COMPANION_REDUCED_MOTION", raising=False)
    settings: dict[str, str] = {}
    monkeypatch.setattr(theme, "_gsettings", lambda key: settings.get(key))
    assert theme.choose_theme() is LIGHT  # default
    settings["color-scheme"] = "prefer-dark"
    assert theme.choose_theme() is DARK
    config = SimpleNamespace(window=SimpleNamespace(theme="light", reduced_motion="system"))
    assert theme.choose_theme(config) is LIGHT
    monkeypatch.setenv("COMPANION_THEME", "dark")
    assert theme.choose_theme(config) is DARK
    assert theme.choose_reduced_motion() is False
    settings["enable-animations"] = "false"
    assert theme.choose_reduced_motion() is True
    assert theme.choose_reduced_motion(SimpleNamespace(window=SimpleNamespace(reduced_motion="off"))) is False
    monkeypatch.setenv("COMPANION_REDUCED_MOTION", "on")
    assert theme.choose_reduced_motion(SimpleNamespace(window=SimpleNamespace(reduced_motion="off"))) is True


def test_the_shell_opens_the_right_panel_for_each_menu_entry(xdisplay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_desktop_shell import FakeCompanion, wait_for

    from companion.desktop.shell import DesktopShell, ShellOptions

    monkeypatch.setenv("COMPANION_THEME", "dark")
    app = FakeCompanion()
    app.store = Store.memory()
    app.store.add_checkin("anxious", 7)
    shell = DesktopShell(lambda: app, options=ShellOptions(tray=False, hotkey=False, scheduler=False,
                                                           instance=False))
    shell.start()
    window = shell.pacer
    try:
        assert shell.app_ready.wait(10) and window.theme is DARK

        def run(name: str, done: Any) -> bool:
            shell.action(name)
            end = time.monotonic() + 20
            while time.monotonic() < end:
                settle(window, 1)
                if done():
                    return True
                time.sleep(0.02)
            return False

        assert run("voice", lambda: window.mode == "voice" and window.voice.text.cget("text"))
        assert ("say", window.voice.text.cget("text").split(". ")[0] + ".") in app.calls
        assert run("talk", lambda: window.mode == "talk") and ("talk", None) in app.calls
        assert run("history", lambda: window.history is not None)
        assert window.history.days == 7 and window.history.win.winfo_ismapped()
        window.history.close()
        window._act("text", "i feel a bit better")
        assert wait_for(lambda: ("handle_text", "i feel a bit better") in app.calls, 10)
        window._act("again", "box", "breathing")
        assert wait_for(lambda: ("start_exercise", "box") in app.calls, 10)
        assert wait_for(lambda: app.session_running, 10)
        settle(window)
        assert window.mode == "breathing"
        app.stop()
    finally:
        shell.close()  # destroys the window's Tk too
        app.bus = None
        shell.pacer = None
        gc.collect()


def test_a_line_said_while_hidden_opens_the_window_unless_just_closed(window_for: Any, real_app: Any) -> None:
    window = window_for(real_app)
    settle(window)
    assert window.win.state() == "withdrawn"
    real_app.say("I'm here whenever you want to talk.")
    settle(window)
    assert window.win.state() == "normal" and window.caption.cget("text") == "I'm here whenever you want to talk."
    window.close_button.invoke()
    real_app.say("Okay, I'll check in later.")
    settle(window)
    assert window.win.state() == "withdrawn"  # the person just closed it
    assert "Okay, I'll check in later." in window.transcript.get("1.0", "end")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_tray_captions_also_go_to_the_terminal(xdisplay: str) -> None:
    import sys

    from companion.instance import forward

    proc = subprocess.Popen([sys.executable, "-m", "companion", "tray", "--silent", "--captions", "--no-tray",
                             "--no-hotkey", "--no-checkins"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=dict(os.environ))
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()

    def until(predicate: Any, timeout: float = 60) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with contextlib.suppress(OSError):
                if predicate():
                    return True
            time.sleep(0.1)
        return False

    try:
        assert until(lambda: ((forward({"cmd": "show"}) or {}).get("status") or {}).get("state") not in
                     (None, "starting"))
        assert (forward({"cmd": "check_in"}) or {}).get("ok")
        assert until(lambda: any(line.startswith("companion: ") for line in lines), 30), lines
    finally:
        with contextlib.suppress(OSError):
            forward({"cmd": "quit"})
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_how_i_listen_without_a_download_then_with_one(window_for: Any, real_app: Any) -> None:
    window = window_for(real_app)
    window.open_voice_info("I'm listening with Whisper.", None)
    settle(window)
    assert not window.voice.download_button.winfo_ismapped()
    assert window.voice.status.cget("text") == window.words["voice"]["installed"]
    window.open_voice_info("I'm listening with the built-in English recognizer.", ("vosk-model-small-en-us-0.15",
                                                                                     41_205_931))
    settle(window)
    assert window.voice.download_button.winfo_ismapped() and window.voice.bar.winfo_ismapped()
    assert "(41 MB)" in window.voice.download_button.cget("text")
