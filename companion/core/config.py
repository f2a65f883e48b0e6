"""The person's settings: config.toml read into frozen dataclasses, every problem reported with file and line.

It never writes or rewrites the person's file; a broken value falls back to its default and is reported.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from companion.core import paths
from companion.core.intent import PATTERNS

#: The speech recognizers, by name: the one list (the CLI, the settings and the engine factory read it).
ENGINES: tuple[str, ...] = ("auto", "whisper", "vosk", "pocketsphinx")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Names people reach for that difflib cannot guess from spelling alone.
SYNONYMS: dict[str, str] = {
    "speed": "rate", "wpm": "rate", "voice": "name", "loudness": "volume", "country": "code",
    "pattern": "default_pattern", "minutes": "default_minutes", "duration": "default_minutes",
    "key": "combo", "shortcut": "combo", "recognizer": "engine", "interval": "interval_minutes",
    "days": "weekdays", "transcripts": "keep_transcripts", "silence": "trailing_silence",
    "timeout": "no_speech_timeout", "checkins": "checkins", "check-ins": "checkins", "listen": "listening",
}


@dataclass(frozen=True)
class VoiceConfig:
    name: str = ""
    rate: int = 165
    volume: float = 1.0


@dataclass(frozen=True)
class BreathingConfig:
    default_pattern: str = "box"
    default_minutes: int = 3


@dataclass(frozen=True)
class HotkeyConfig:
    enabled: bool = True
    combo: str = "<ctrl>+<alt>+b"


@dataclass(frozen=True)
class ListeningConfig:
    engine: str = "auto"
    trailing_silence: float = 0.6
    no_speech_timeout: float = 8.0


@dataclass(frozen=True)
class CheckinConfig:
    """Times are local wall-clock times; a (start, end) range with start > end wraps past midnight."""

    enabled: bool = True
    times: tuple[dt.time, ...] = (dt.time(10, 30), dt.time(15, 30))
    interval_minutes: int = 0
    working_hours: tuple[dt.time, dt.time] = (dt.time(9, 0), dt.time(18, 0))
    quiet_hours: tuple[dt.time, dt.time] = (dt.time(21, 0), dt.time(8, 0))
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    skip_when_fullscreen: bool = True
    skip_when_idle_minutes: int = 20


@dataclass(frozen=True)
class PrivacyConfig:
    keep_transcripts: bool = False


@dataclass(frozen=True)
class WindowConfig:
    """The companion window's look: "system" follows the desktop's setting."""

    theme: str = "system"           # system | light | dark
    reduced_motion: str = "system"  # system | on | off


@dataclass(frozen=True)
class Config:
    """All settings; `Config()` is the defaults. `region` is the [region] code ("" = from the locale)."""

    voice: VoiceConfig = field(default_factory=VoiceConfig)
    region: str = ""
    breathing: BreathingConfig = field(default_factory=BreathingConfig)
    hotkey: HotkeyConfig = field(default_factory=HotkeyConfig)
    listening: ListeningConfig = field(default_factory=ListeningConfig)
    checkins: CheckinConfig = field(default_factory=CheckinConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    window: WindowConfig = field(default_factory=WindowConfig)


class _Invalid(Exception):
    """A value that cannot be used; the text says what it must be."""


# ---- value checkers: each returns the parsed value or raises _Invalid("must be ...") ----

def _number(low: float, high: float, *, integer: bool) -> Callable[[Any], Any]:
    kind = "a whole number" if integer else "a number"

    def check(value: Any) -> Any:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and integer and isinstance(value, float):
            ok = value.is_integer()
        if not ok or not (low <= value <= high):
            raise _Invalid(f"must be {kind} from {_fmt(low)} to {_fmt(high)}")
        return int(value) if integer else float(value)

    return check


def _interval(value: Any) -> int:
    check = _number(5, 1440, integer=True)
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return 0
    try:
        return check(value)
    except _Invalid:
        raise _Invalid("must be 0 (off) or a whole number of minutes from 5 to 1440") from None


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("must be true or false (no quotes)")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be text in quotes")
    return value


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in options:
            return value.strip().lower()
        raise _Invalid("must be one of " + ", ".join(options))

    return check


def _region(value: Any) -> str:
    if isinstance(value, str) and (value == "" or re.fullmatch(r"[A-Za-z]{2}", value.strip())):
        return value.strip().upper()
    raise _Invalid('must be a two-letter country code such as "US" or "GB", or "" for the system locale')


_COMBO_PART = re.compile(r"<[a-z0-9_]+>|[^\s<>+]")


def _combo(value: Any) -> str:
    parts = value.split("+") if isinstance(value, str) else []
    if not parts or not all(_COMBO_PART.fullmatch(p.strip().lower()) for p in parts):
        raise _Invalid('must be a key combination like "<ctrl>+<alt>+b"')
    return "+".join(p.strip().lower() for p in parts)


def _clock_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*", value) if isinstance(value, str) else None
    if not match:
        raise _Invalid('must be a time like "10:30" (24-hour clock)')
    return dt.time(int(match[1]), int(match[2]))


def _times(value: Any) -> tuple[dt.time, ...]:
    if not isinstance(value, list):
        raise _Invalid('must be a list of times like ["10:30", "15:30"]')
    try:
        return tuple(sorted({_clock_time(v) for v in value}))
    except _Invalid:
        raise _Invalid('must be a list of times like ["10:30", "15:30"]') from None


def _hours(value: Any) -> tuple[dt.time, dt.time]:
    parts = value.split("-") if isinstance(value, str) else []
    try:
        if len(parts) != 2:
            raise _Invalid
        start, end = _clock_time(parts[0]), _clock_time(parts[1])
    except _Invalid:
        raise _Invalid('must be a range of times like "09:00-18:00"') from None
    if start == end:
        raise _Invalid("must start and end at different times")
    return start, end


def _weekdays(value: Any) -> tuple[int, ...]:
    message = 'must be a list of days like ["mon", "tue", "wed", "thu", "fri"]'
    if not isinstance(value, list):
        raise _Invalid(message)
    full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    days: set[int] = set()
    for item in value:
        name = item.strip().lower() if isinstance(item, str) else ""
        if name in WEEKDAYS:
            days.add(WEEKDAYS.index(name))
        elif name in full:
            days.add(full.index(name))
        else:
            raise _Invalid(message)
    return tuple(sorted(days))


# section -> key -> checker (keys are the dataclass fields); [region] code maps onto Config.region.
_SCHEMA: dict[str, dict[str, Callable[[Any], Any]]] = {
    "voice": {"name": _string, "rate": _number(80, 400, integer=True),
              "volume": _number(0.0, 1.0, integer=False)},
    "region": {"code": _region},
    "breathing": {"default_pattern": _choice(PATTERNS), "default_minutes": _number(1, 60, integer=True)},
    "hotkey": {"enabled": _boolean, "combo": _combo},
    "listening": {"engine": _choice(ENGINES), "trailing_silence": _number(0.2, 5.0, integer=False),
                  "no_speech_timeout": _number(1.0, 120.0, integer=False)},
    "checkins": {"enabled": _boolean, "times": _times, "interval_minutes": _interval, "working_hours": _hours,
                 "quiet_hours": _hours, "weekdays": _weekdays, "skip_when_fullscreen": _boolean,
                 "skip_when_idle_minutes": _number(0, 1440, integer=True)},
    "privacy": {"keep_transcripts": _boolean},
    "window": {"theme": _choice(("system", "light", "dark")), "reduced_motion": _choice(("system", "on", "off"))},
}


def _fmt(value: Any) -> str:
    """A value as the person would write it in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else _fmt(v) for v in value) + "]"
    return str(value)


def _default_display(section: str, key: str, default: Any) -> str:
    if key == "weekdays":
        return ", ".join(WEEKDAYS[d] for d in default) or "none"
    if key == "times":
        return ", ".join(t.strftime("%H:%M") for t in default) or "none"
    if key.endswith("_hours"):
        return "-".join(t.strftime("%H:%M") for t in default)
    return _fmt(default)


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, key) -> line number, found by scanning the text (tomllib does not keep positions)."""
    found: dict[tuple[str, str], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[\s*([^\]\s]+)\s*\]", line)
        if header:
            section = header[1].strip("\"'")
            found.setdefault((section, ""), number)
            continue
        key = re.match(r"""\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""", line)
        if key:
            found.setdefault((section, key[1] or key[2] or key[3]), number)
    return found


def _suggest(word: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(word.lower(), options, n=1, cutoff=0.6)
    if close:
        return close[0]
    synonym = SYNONYMS.get(word.lower())
    return synonym if synonym in options else None


class _Reader:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.lines = _key_lines(text)
        self._found: list[tuple[int, str]] = []

    @property
    def problems(self) -> list[str]:
        """In file order, so the person can fix them top to bottom."""
        return [message for _, message in sorted(self._found, key=lambda item: item[0])]

    def problem(self, section: str, key: str, message: str) -> None:
        line = self.lines.get((section, key))
        where = f"{self.name}, line {line}" if line else self.name
        self._found.append((line or 10**9, f"{where}: {message}"))

    def section(self, data: dict[str, Any], section: str) -> dict[str, Any]:
        """Checked values of one section, by key; bad and unknown keys reported and left out."""
        raw = data.get(section, {})
        if not isinstance(raw, dict):
            self.problem("", section, f"{section} must be a section: write [{section}] on its own line, "
                         "then its settings below it; using the defaults")
            return {}
        schema = _SCHEMA[section]
        defaults = _defaults(section)
        out: dict[str, Any] = {}
        for key, value in raw.items():
            check = schema.get(key)
            if check is None:
                hint = _suggest(key, list(schema))
                self.problem(section, key, f"unknown key [{section}] {key}"
                             + (f"; did you mean {hint}?" if hint else f"; known keys: {', '.join(schema)}"))
                continue
            try:
                out[key] = check(value)
            except _Invalid as exc:
                shown = _default_display(section, key, defaults[key])
                self.problem(section, key, f"[{section}] {key} {exc}, got {_fmt(value)}; using {shown}")
        return out


def _defaults(section: str) -> dict[str, Any]:
    if section == "region":
        return {"code": Config().region}
    obj = getattr(Config(), section)
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _build(data: dict[str, Any], reader: _Reader) -> Config:
    for key in data:
        if key not in _SCHEMA:
            hint = _suggest(key, list(_SCHEMA))
            tail = f"; did you mean [{hint}]?" if hint else f"; known sections: {', '.join(_SCHEMA)}"
            reader.problem(key, "", f"unknown section [{key}]{tail}")
    values = {name: reader.section(data, name) for name in _SCHEMA}
    base = Config()
    return Config(
        voice=VoiceConfig(**values["voice"]),
        region=values["region"].get("code", base.region),
        breathing=BreathingConfig(**values["breathing"]),
        hotkey=HotkeyConfig(**values["hotkey"]),
        listening=ListeningConfig(**values["listening"]),
        checkins=CheckinConfig(**values["checkins"]),
        privacy=PrivacyConfig(**values["privacy"]),
        window=WindowConfig(**values["window"]),
    )


def load_config(path: Path | None = None) -> tuple[Config, list[str]]:
    """Reads config.toml (default location when `path` is None); a missing file means all defaults.

    Returns the config and human-readable problems ("config.toml, line 7: ..."); never raises for bad input.
    """
    path = paths.config_file() if path is None else Path(path)
    name = path.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Config(), []
    except OSError as exc:
        return Config(), [f"{name}: cannot be read ({exc.strerror or exc}); using all defaults. "
                          f"Fix: check the file {path} and its permissions"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Config(), [f"{name}, line {line}: is not UTF-8 text; using all defaults until it is fixed"]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", detail)
        reason = re.sub(r"\s*\(at .*\)$", "", detail)
        where = f"{name}, line {match[1]}, column {match[2]}" if match else name
        return Config(), [f"{where}: not valid TOML ({reason}); using all defaults until it is fixed"]
    reader = _Reader(name, text)
    return _build(data, reader), reader.problems


def example_config_text() -> str:
    """The commented example file (every key, its default and what it does)."""
    return resources.files("companion.data").joinpath("config.example.toml").read_text(encoding="utf-8")


def ensure_config_file() -> Path:
    """The config file's path, writing the commented example first only when no file exists yet."""
    path = paths.config_file()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as f:  # "x": never replaces a file that appeared meanwhile
            f.write(example_config_text())
    except FileExistsError:
        pass
    return path
