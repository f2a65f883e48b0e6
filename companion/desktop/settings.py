"""The Settings window (Tk): the common settings in plain fields, saved into config.toml with the person's
comments, order and unknown keys kept (tomlkit), a button that opens the raw file, and a voice preview.

It never writes anything when one field is wrong (the config loader judges the whole new file first), never
writes a setting the person did not change, never runs Tk outside the thread that owns the Tk root, and never
loads a voice on that thread (a preview speaks from its own thread and reports back through a queue).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import tempfile
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from companion.core import paths
from companion.core.config import Config, example_config_text, load_config

log = logging.getLogger(__name__)

SAMPLE_LINE = "Breathe in slowly, and let it go. I'm here with you."
PREVIEW_POLL_MS = 50
#: the preview's words, used when companion/data/settings.yaml does not name them
_PREVIEW_WORDS = {
    "preview": "Preview",
    "preview_loading": "Loading the voice…",
    "preview_playing": "Playing a sample in {voice}.",
    "preview_done": "That was {voice}. Save to use it.",
    "preview_failed": "The voice could not be loaded: {problem}",
    "preview_bad_rate": "Speed: must be a whole number from 80 to 400 to preview it.",
}


@dataclass(frozen=True)
class Field:
    """One setting the window shows: where it lives in config.toml and how it is typed in."""

    section: str
    key: str
    kind: str  # text | int | bool | times | region

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


FIELDS: tuple[Field, ...] = (
    Field("voice", "name", "text"),
    Field("voice", "rate", "int"),
    Field("checkins", "enabled", "bool"),
    Field("checkins", "times", "times"),
    Field("checkins", "working_hours", "text"),
    Field("checkins", "quiet_hours", "text"),
    Field("hotkey", "enabled", "bool"),
    Field("hotkey", "combo", "text"),
    Field("region", "code", "region"),
    Field("privacy", "keep_transcripts", "bool"),
)


@lru_cache(maxsize=1)
def words() -> dict[str, Any]:
    """The window's words (companion/data/settings.yaml)."""
    raw = resources.files("companion.data").joinpath("settings.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(raw))


def word(key: str) -> str:
    """One of the window's words, with the preview's defaults when the words file lacks them."""
    return str(words().get(key, _PREVIEW_WORDS.get(key, key)))


def label(field: Field) -> str:
    return str(words()["fields"][field.name]["label"])


@lru_cache(maxsize=1)
def region_codes() -> tuple[str, ...]:
    """"" (from the system language) and every region with crisis lines (companion/data/crisis_lines.toml)."""
    raw = resources.files("companion.data").joinpath("crisis_lines.toml").read_text(encoding="utf-8")
    return ("", *tomllib.loads(raw).get("regions", {}))


def shown_value(config: Config, field: Field) -> str | bool:
    """The setting as the window shows it: text as the person would type it, or a bool for a checkbox."""
    if field.section == "region":
        return config.region
    value = getattr(getattr(config, field.section), field.key)
    if field.kind == "bool":
        return bool(value)
    if field.kind == "times":
        return ", ".join(t.strftime("%H:%M") for t in value)
    if field.key.endswith("_hours"):
        return "-".join(t.strftime("%H:%M") for t in value)
    return str(value)


def toml_value(field: Field, typed: str | bool) -> Any:
    """What goes into the file for what was typed; a value the loader will refuse is passed on as typed, so
    its message (with what is expected) is the one the person sees."""
    if field.kind == "bool":
        return bool(typed)
    text = str(typed).strip()
    if field.kind == "int":
        try:
            return int(text)
        except ValueError:
            return text
    if field.kind == "times":
        return [part for part in re.split(r"[,;\s]+", text) if part]
    if field.kind == "region":
        return text.upper()
    return text


@dataclass
class SaveResult:
    saved: bool
    problems: list[str]
    changed: list[str]
    config: Config | None = None


def _problem_key(problem: str) -> str:
    """A loader message without its "file, line N: " prefix, to compare problems before and after."""
    return re.sub(r"^[^:]*?(, line \d+(, column \d+)?)?: ", "", problem)


def _for_person(problem: str) -> str:
    """'config.toml, line 3: [checkins] times must be …, got …; using …' → 'Check-in times: must be …, got …'."""
    text = _problem_key(problem)
    for field in FIELDS:
        prefix = f"[{field.section}] {field.key} "
        if text.startswith(prefix):
            return f"{label(field)}: {text.removeprefix(prefix).split('; using')[0]}"
    return text


def save_settings(values: dict[str, str | bool], path: Path | None = None) -> SaveResult:
    """Writes the changed `values` (field name → typed value) into config.toml, keeping everything else.

    Nothing is written when the new file would have a problem the old one did not have; the problems come
    back in the person's words.
    """
    import tomlkit

    path = paths.config_file() if path is None else Path(path)
    existed = path.exists()
    text = path.read_text(encoding="utf-8") if existed else example_config_text()
    current, old_problems = load_config(path) if existed else (Config(), [])
    try:
        doc = tomlkit.parse(text)
    except Exception as exc:
        return SaveResult(False, [words()["broken_file"].format(problem=exc)], [])
    changed: list[str] = []
    for field in FIELDS:
        if field.name not in values:
            continue
        typed = values[field.name]
        if typed == shown_value(current, field) or (field.kind != "bool" and str(typed).strip() ==
                                                     shown_value(current, field)):
            continue
        table = doc.get(field.section)
        if table is None:
            table = tomlkit.table()
            doc[field.section] = table
        elif not isinstance(table, dict):
            return SaveResult(False, [words()["broken_file"].format(
                problem=f"{field.section} is not a section")], [])
        table[field.key] = toml_value(field, typed)
        changed.append(field.name)
    if not changed:
        return SaveResult(False, [], [], current)
    new_text = tomlkit.dumps(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new_text)
        config, new_problems = load_config(tmp)
        before = {_problem_key(p) for p in old_problems}
        fresh = [_for_person(p) for p in new_problems if _problem_key(p) not in before]
        if fresh:
            return SaveResult(False, fresh, changed)
        if existed:
            with contextlib.suppress(OSError):
                os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    log.info("settings saved: %s", ", ".join(changed))
    return SaveResult(True, [], changed, config)


def english_voice_ids() -> list[str]:
    """The voices to offer: natural (Piper) voices first, then the system's English voices, by id."""
    from companion.doctor import voice_list

    found, _notes = voice_list()
    english = [v for v in found if any(str(lang).lower().startswith("en") for lang in v["languages"])]
    english.sort(key=lambda v: (v["engine"] != "piper", str(v["id"])))
    return list(dict.fromkeys(str(v["id"]) for v in english))


def _list_voices_into(list_voices: Callable[[], list[str]], out: queue.Queue[list[str]]) -> None:
    try:
        ids = list_voices()
    except Exception:  # no speech engine here: the field stays a field to type into
        log.exception("listing the voices failed")
        ids = []
    out.put(ids)


class SettingsWindow:
    """A Toplevel of the companion's Tk root. Build it on the Tk thread; `save()` is what the Save button does.

    `vars` holds one Tk variable per field (by field name) and `entries` the input widgets, so tests drive
    the window through its own widgets. `make_speaker` is how the preview gets a voice (the app's own,
    companion.speech.tts.make_speaker, unless a test gives another).
    """

    def __init__(self, master: Any, *, path: Path | None = None,
                 on_saved: Callable[[Config], None] | None = None,
                 open_file: Callable[[Path], None] | None = None,
                 make_speaker: Callable[..., Any] | None = None,
                 list_voices: Callable[[], list[str]] | None = None) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.path = paths.config_file() if path is None else Path(path)
        self._on_saved = on_saved
        self._open_file = open_file
        self._make_speaker = make_speaker
        self._list_voices = list_voices or english_voice_ids
        self._voice_ids: queue.Queue[list[str]] = queue.Queue()
        self._preview_news: queue.Queue[tuple[int, str, str]] = queue.Queue()
        self._preview_lock = threading.Lock()
        self._preview_count = 0
        self._preview_speaker: Any = None
        self.preview_thread: threading.Thread | None = None
        w = words()
        self.top = tk.Toplevel(master)
        self.top.title(w["title"])
        self.top.minsize(420, 200)
        self.top.columnconfigure(0, weight=1)
        self.top.rowconfigure(0, weight=1)
        body = ttk.Frame(self.top, padding=14)
        body.grid(sticky="nsew")
        body.columnconfigure(1, weight=1)
        ttk.Label(body, text=w["intro"], wraplength=600).grid(row=0, column=0, columnspan=2, sticky="w",
                                                              pady=(0, 10))
        config, _problems = load_config(self.path)
        self._volume = config.voice.volume
        self.vars: dict[str, Any] = {}
        self.entries: dict[str, Any] = {}
        row = 1
        for field in FIELDS:
            value = shown_value(config, field)
            info = w["fields"][field.name]
            if field.kind == "bool":
                var: Any = tk.BooleanVar(self.top, value=bool(value))
                widget: Any = ttk.Checkbutton(body, text=info["label"], variable=var)
                widget.grid(row=row, column=0, columnspan=2, sticky="w", pady=(6, 0))
            else:
                var = tk.StringVar(self.top, value=str(value))
                ttk.Label(body, text=info["label"]).grid(row=row, column=0, sticky="w", padx=(0, 12),
                                                         pady=(6, 0))
                if field.kind == "region":
                    widget = ttk.Combobox(body, textvariable=var, values=region_codes(), width=8)
                elif field.kind == "int":
                    widget = ttk.Spinbox(body, textvariable=var, from_=80, to=400, increment=5, width=8)
                elif field.name == "voice.name":
                    widget = self._voice_entry(body, var, row)
                else:
                    widget = ttk.Entry(body, textvariable=var, width=32)
                if field.name != "voice.name":
                    widget.grid(row=row, column=1, sticky="we", pady=(6, 0))
            if info.get("hint"):
                row += 1
                ttk.Label(body, text=info["hint"], wraplength=440, foreground="#555555",
                          font="TkSmallCaptionFont").grid(row=row, column=1, sticky="w")
            self.vars[field.name] = var
            self.entries[field.name] = widget
            row += 1
        self.message = tk.StringVar(self.top, value="")
        self.message_label = ttk.Label(body, textvariable=self.message, wraplength=600)
        self.message_label.grid(row=row, column=0, columnspan=2, sticky="we", pady=(12, 0))
        buttons = ttk.Frame(body)
        buttons.grid(row=row + 1, column=0, columnspan=2, sticky="e", pady=(12, 0))
        self.open_button = ttk.Button(buttons, text=w["open_file"], command=self.open_raw)
        self.open_button.pack(side="left", padx=(0, 8))
        self.close_button = ttk.Button(buttons, text=w["close"], command=self.close)
        self.close_button.pack(side="left", padx=(0, 8))
        self.save_button = ttk.Button(buttons, text=w["save"], command=self.save, default="active")
        self.save_button.pack(side="left")
        self.top.bind("<Return>", lambda _e: self.save())
        self.top.bind("<Escape>", lambda _e: self.close())
        self.top.protocol("WM_DELETE_WINDOW", self.close)
        self.top.lift()
        first = self.entries[FIELDS[0].name]
        first.focus_set()

    def _voice_entry(self, body: Any, var: Any, row: int) -> Any:
        """The voice field with its Preview button beside it."""
        from tkinter import ttk

        line = ttk.Frame(body)
        line.grid(row=row, column=1, sticky="we", pady=(6, 0))
        line.columnconfigure(0, weight=1)
        # a list to choose from (filled from a background thread: listing starts the speech engine), and still a
        # field to type any voice id into
        entry = ttk.Combobox(line, textvariable=var, width=32)
        entry.grid(row=0, column=0, sticky="we")
        self.preview_button = ttk.Button(line, text=word("preview"), command=self.preview)
        self.preview_button.grid(row=0, column=1, padx=(8, 0))
        # the thread holds the list and the queue only, never the window: Tk's variables must die on the Tk thread
        self.voices_thread = threading.Thread(target=_list_voices_into, args=(self._list_voices, self._voice_ids),
                                              name="settings-voices", daemon=True)
        self.voices_thread.start()
        self.top.after(PREVIEW_POLL_MS, self._voices_poll)
        return entry

    def _voices_poll(self) -> None:
        """On the Tk thread: offers the voices once they are listed."""
        if not self.alive:
            return
        try:
            ids = self._voice_ids.get_nowait()
        except queue.Empty:
            self.top.after(PREVIEW_POLL_MS, self._voices_poll)
            return
        self.entries["voice.name"].configure(values=ids)

    # ----- the voice preview: a speaker made and used on its own thread, news back through a queue
    def preview(self) -> threading.Thread | None:
        """Says SAMPLE_LINE in the voice and speed typed in the window (not yet saved), from a background
        thread; a preview still playing is cut off. The thread, or None when the speed is not a number."""
        voice = str(self.vars["voice.name"].get()).strip() or None
        try:
            rate = int(str(self.vars["voice.rate"].get()).strip())
        except ValueError:
            self._say(word("preview_bad_rate"), error=True)
            return None
        self._stop_preview()
        with self._preview_lock:
            self._preview_count += 1
            number = self._preview_count
        self._say(word("preview_loading"), error=False)
        thread = threading.Thread(target=self._preview_run, args=(number, voice, rate), daemon=True,
                                  name="settings-preview")
        self.preview_thread = thread
        thread.start()
        self.top.after(PREVIEW_POLL_MS, self._preview_poll)
        return thread

    def _preview_run(self, number: int, voice: str | None, rate: int) -> None:
        """On the preview thread: make the voice, say the sample, close the voice; news go to the queue."""
        make = self._make_speaker
        if make is None:
            from companion.speech.tts import make_speaker as make
        problems: list[str] = []
        name = voice or "the default voice"
        try:
            speaker = make(voice=voice, rate=rate, volume=self._volume, on_problem=problems.append)
        except Exception as exc:  # ValueError (unknown voice, bad speed) or an engine that cannot start
            self._preview_news.put((number, "failed", str(exc)))
            return
        try:
            with self._preview_lock:
                if number != self._preview_count:  # a newer preview (or close) came meanwhile
                    return
                self._preview_speaker = speaker
            if problems:  # it fell back (espeak-ng instead, or captions only): say why
                self._preview_news.put((number, "failed", problems[0]))
            else:
                self._preview_news.put((number, "playing", name))
            line = speaker.say(SAMPLE_LINE)
            line.wait(60)
            error = getattr(line, "error", None)
            if not problems:  # a fallback's message stays on screen
                self._preview_news.put((number, "failed", str(error)) if error else (number, "done", name))
        finally:
            with self._preview_lock:
                if self._preview_speaker is speaker:
                    self._preview_speaker = None
            try:
                speaker.close()
            except Exception:
                log.exception("closing the preview voice failed")

    def _preview_poll(self) -> None:
        """On the Tk thread: shows what the preview thread reported; polls while it runs."""
        while True:
            try:
                number, kind, detail = self._preview_news.get_nowait()
            except queue.Empty:
                break
            if number != self._preview_count or not self.alive:
                continue
            if kind == "failed":
                self._say(word("preview_failed").format(problem=detail), error=True)
            else:
                self._say(word(f"preview_{kind}").format(voice=detail), error=False)
        thread = self.preview_thread
        if self.alive and thread is not None and (thread.is_alive() or not self._preview_news.empty()):
            self.top.after(PREVIEW_POLL_MS, self._preview_poll)

    def _stop_preview(self) -> None:
        with self._preview_lock:
            self._preview_count += 1  # whatever the running preview reports now is stale
            speaker = self._preview_speaker
        if speaker is not None:
            try:
                speaker.stop()
            except Exception:
                log.exception("stopping the preview voice failed")

    def values(self) -> dict[str, str | bool]:
        return {name: var.get() for name, var in self.vars.items()}

    def save(self) -> SaveResult:
        """Validates and writes; shows what happened (problems in red) and keeps every typed value."""
        w = words()
        try:
            result = save_settings(self.values(), self.path)
        except OSError as exc:
            result = SaveResult(False, [w["broken_file"].format(problem=exc)], [])
        if result.saved:
            self._say(w["saved"], error=False)
            if self._on_saved is not None and result.config is not None:
                try:
                    self._on_saved(result.config)
                except Exception:
                    log.exception("applying the new settings failed")
        elif result.problems:
            self._say("\n".join([w["not_saved"], *result.problems]), error=True)
        else:
            self._say(w["unchanged"], error=False)
        return result

    def _say(self, text: str, *, error: bool) -> None:
        self.message.set(text)
        self.message_label.configure(foreground="#b00020" if error else "")

    def open_raw(self) -> None:
        """The raw file in the person's editor (created from the commented example if missing)."""
        from companion.core.config import ensure_config_file

        path = ensure_config_file() if self.path == paths.config_file() else self.path
        if self._open_file is not None:
            self._open_file(path)
        self._say(words()["no_opener"].format(path=path), error=False)

    def show(self) -> None:
        self.top.deiconify()
        self.top.lift()
        self.top.focus_force()

    def close(self) -> None:
        self._stop_preview()
        with contextlib.suppress(Exception):
            self.top.destroy()

    @property
    def alive(self) -> bool:
        try:
            return bool(self.top.winfo_exists())
        except Exception:
            return False
