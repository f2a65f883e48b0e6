"""The Settings window on a real X display: values changed through its own widgets are saved into config.toml
with the person's comments and unknown keys kept; bad input is explained and nothing is written; Preview says a
sample line in the typed voice and speed from a background thread (the window never waits for a voice to load),
and a voice that cannot be loaded is explained."""

from __future__ import annotations

import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeSpeaker

from companion.core import paths
from companion.core.config import load_config
from companion.desktop.settings import SAMPLE_LINE, SettingsWindow, save_settings

PERSONS_FILE = """# my own notes: keep the evenings free
[voice]
rate = 150  # a bit slower suits me

[checkins]
# times = ["10:30", "15:30"]
working_hours = "09:00-17:00"

[mine]
favourite_colour = "green"
"""


@pytest.fixture
def config_file() -> Path:
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PERSONS_FILE, encoding="utf-8")
    return path


def test_saving_keeps_comments_and_unknown_keys_and_writes_only_changes(config_file: Path) -> None:
    result = save_settings({"voice.rate": "180", "checkins.times": "11:00, 16:45", "voice.name": "",
                            "checkins.working_hours": "09:00-17:00"}, config_file)
    assert result.saved and result.changed == ["voice.rate", "checkins.times"], result
    text = config_file.read_text()
    assert "# my own notes: keep the evenings free" in text and "# a bit slower suits me" in text
    data = tomllib.loads(text)
    assert data["mine"] == {"favourite_colour": "green"}
    assert data["voice"] == {"rate": 180} and data["checkins"]["times"] == ["11:00", "16:45"]
    config, problems = load_config(config_file)
    assert config.voice.rate == 180 and [t.strftime("%H:%M") for t in config.checkins.times] == ["11:00", "16:45"]
    assert len(problems) == 1 and "unknown section [mine]" in problems[0]  # the person's own, as before


def test_bad_input_is_explained_and_nothing_is_written(config_file: Path) -> None:
    before = config_file.read_bytes()
    result = save_settings({"checkins.times": "10:30, 25:99", "voice.rate": "fast"}, config_file)
    assert not result.saved
    assert any(p.startswith("Check-in times: must be a list of times") for p in result.problems), result
    assert any(p.startswith("Speed: must be a whole number from 80 to 400") for p in result.problems), result
    assert config_file.read_bytes() == before
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["config.toml"]  # no temporary file left


def test_a_first_save_starts_from_the_commented_example() -> None:
    path = paths.config_file()
    assert not path.exists()
    assert save_settings({"privacy.keep_transcripts": True}, path).saved
    text = path.read_text()
    assert "# Settings for companion." in text and tomllib.loads(text)["privacy"]["keep_transcripts"] is True


@pytest.fixture
def tk_root(xdisplay: str) -> Iterator[Any]:
    import tkinter as tk

    root = tk.Tk()
    root.withdraw()
    yield root
    root.destroy()


def _type(widget: Any, text: str) -> None:
    widget.delete(0, "end")
    widget.insert(0, text)


@pytest.mark.real
@pytest.mark.timeout(60)
def test_the_window_saves_what_is_typed_into_it(tk_root: Any, config_file: Path) -> None:
    saved: list[Any] = []
    opened: list[Path] = []
    win = SettingsWindow(tk_root, path=config_file, on_saved=saved.append, open_file=opened.append)
    tk_root.update()
    assert win.top.winfo_viewable()
    assert win.vars["voice.rate"].get() == "150"  # shows what the file says
    assert win.vars["checkins.working_hours"].get() == "09:00-17:00"

    _type(win.entries["checkins.times"], "09:15, 14:00")
    _type(win.entries["checkins.quiet_hours"], "22:00-07:00")
    _type(win.entries["hotkey.combo"], "<ctrl>+<alt>+k")
    _type(win.entries["region.code"], "gb")
    win.entries["privacy.keep_transcripts"].invoke()  # the checkbox, clicked
    win.save_button.invoke()
    tk_root.update()

    assert "Saved" in win.message.get(), win.message.get()
    data = tomllib.loads(config_file.read_text())
    assert data["checkins"]["times"] == ["09:15", "14:00"] and data["checkins"]["quiet_hours"] == "22:00-07:00"
    assert data["hotkey"]["combo"] == "<ctrl>+<alt>+k" and data["region"]["code"] == "GB"
    assert data["privacy"]["keep_transcripts"] is True
    assert data["mine"]["favourite_colour"] == "green"
    assert "# a bit slower suits me" in config_file.read_text()
    assert saved and saved[0].region == "GB"

    win.open_button.invoke()  # the raw file stays available
    assert opened == [config_file] and str(config_file) in win.message.get()
    win.close()


@pytest.mark.real
@pytest.mark.timeout(60)
def test_the_window_refuses_25_99_and_keeps_what_was_typed(tk_root: Any, config_file: Path) -> None:
    before = config_file.read_bytes()
    win = SettingsWindow(tk_root, path=config_file)
    _type(win.entries["checkins.times"], "25:99")
    _type(win.entries["voice.rate"], "190")
    win.save_button.invoke()
    tk_root.update()
    shown = win.message.get()
    assert shown.startswith("Nothing was saved") and "Check-in times: must be a list of times" in shown
    assert "25:99" in shown
    assert str(win.message_label.cget("foreground")) == "#b00020"
    assert config_file.read_bytes() == before  # nothing written, not even the good speed
    assert win.vars["checkins.times"].get() == "25:99" and win.vars["voice.rate"].get() == "190"  # nothing lost
    _type(win.entries["checkins.times"], "10:00")
    win.save_button.invoke()
    assert "Saved" in win.message.get()
    assert tomllib.loads(config_file.read_text())["voice"]["rate"] == 190
    win.close()


# ---------- the voice preview

class SpeakerMaker:
    """Stands in for companion.speech.tts.make_speaker: records how it was asked, hands out FakeSpeakers."""

    def __init__(self, gate: threading.Event | None = None, error: Exception | None = None,
                 problem: str | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.speakers: list[FakeSpeaker] = []
        self.gate, self.error, self.problem = gate, error, problem

    def __call__(self, **kwargs: Any) -> FakeSpeaker:
        self.calls.append(kwargs)
        if self.gate is not None:
            assert self.gate.wait(10)  # a slow voice (Piper loads in ≈1 s)
        if self.error is not None:
            raise self.error
        if self.problem is not None:
            kwargs["on_problem"](self.problem)
        speaker = FakeSpeaker()
        self.speakers.append(speaker)
        return speaker


def _pump_until(root: Any, done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the preview never reported back"
        root.update()
        time.sleep(0.01)
    root.update()


@pytest.mark.real
@pytest.mark.timeout(60)
def test_preview_says_the_sample_in_the_typed_voice_and_speed_without_freezing(tk_root: Any,
                                                                              config_file: Path) -> None:
    gate = threading.Event()
    maker = SpeakerMaker(gate=gate)
    win = SettingsWindow(tk_root, path=config_file, make_speaker=maker)
    tk_root.update()
    _type(win.entries["voice.name"], "en_US-joe-medium")
    _type(win.entries["voice.rate"], "140")
    started = time.monotonic()
    win.preview_button.invoke()
    clicked = time.monotonic() - started
    tk_root.update()
    assert clicked < 0.5 and win.top.winfo_exists()  # the voice is still loading: the window is not waiting
    assert "Loading" in win.message.get()
    gate.set()
    _pump_until(tk_root, lambda: "That was" in win.message.get())
    assert maker.calls and maker.calls[0]["voice"] == "en_US-joe-medium" and maker.calls[0]["rate"] == 140
    [speaker] = maker.speakers
    assert speaker.lines == [SAMPLE_LINE] and speaker.closed  # said once, then the voice was let go
    assert "en_US-joe-medium" in win.message.get()
    assert config_file.read_text() == PERSONS_FILE  # a preview saves nothing
    win.close()


@pytest.mark.real
@pytest.mark.timeout(60)
def test_a_voice_that_cannot_be_loaded_is_explained_in_red(tk_root: Any, config_file: Path) -> None:
    maker = SpeakerMaker(error=ValueError("The Piper voice 'en_US-nobody-medium' is not installed."))
    win = SettingsWindow(tk_root, path=config_file, make_speaker=maker)
    _type(win.entries["voice.name"], "en_US-nobody-medium")
    thread = win.preview()
    assert thread is not None
    _pump_until(tk_root, lambda: "could not be loaded" in win.message.get())
    assert "en_US-nobody-medium" in win.message.get() and "not installed" in win.message.get()
    assert str(win.message_label.cget("foreground")) == "#b00020"

    fallback = SpeakerMaker(problem="The voice en_US-joe-medium needs piper-tts, which is not installed "
                                    "(pip install 'companion[natural-voice]'); speaking with espeak-ng instead.")
    win._make_speaker = fallback
    _type(win.entries["voice.name"], "en_US-joe-medium")
    win.preview()
    _pump_until(tk_root, lambda: "espeak-ng instead" in win.message.get() and not win.preview_thread.is_alive())
    assert fallback.speakers[0].lines == [SAMPLE_LINE]  # the person still hears what they will get
    assert "espeak-ng instead" in win.message.get()  # and the reason stays on screen

    _type(win.entries["voice.rate"], "fast")
    assert win.preview() is None and "Speed" in win.message.get()
    win.close()


@pytest.mark.real
@pytest.mark.timeout(60)
def test_the_voice_field_offers_the_voices_to_choose_from_and_still_takes_a_typed_id(tk_root: Any,
                                                                                  config_file: Path) -> None:
    listed = threading.Event()

    def slow_list() -> list[str]:  # listing starts the speech engine: the window must not wait for it
        assert listed.wait(10)
        return ["en_US-joe-medium", "gmw/en-us"]

    win = SettingsWindow(tk_root, path=config_file, make_speaker=SpeakerMaker(), list_voices=slow_list)
    tk_root.update()
    field = win.entries["voice.name"]
    assert win.top.winfo_exists() and not field.cget("values")
    listed.set()
    _pump_until(tk_root, lambda: bool(field.cget("values")))
    assert list(field.cget("values")) == ["en_US-joe-medium", "gmw/en-us"]
    _type(field, "gmw/en-gb-x-rp")  # not in the list: typed ids are kept as typed
    assert win.values()["voice.name"] == "gmw/en-gb-x-rp"
    win.close()


@pytest.mark.real
def test_the_voices_offered_are_english_with_natural_voices_first() -> None:
    from companion.desktop.settings import english_voice_ids

    ids = english_voice_ids()  # the real speech engine's list (espeak-ng here), and any Piper voice installed
    assert any(i.endswith("en-us") for i in ids), ids
    assert not [i for i in ids if "/" in i and "/en" not in i], ids  # English only
    piper = [n for n, i in enumerate(ids) if "/" not in i]
    assert piper == list(range(len(piper)))  # Piper voices (ids without a family) lead
