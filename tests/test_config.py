"""config.toml: defaults, every kind of bad value reported with its line, syntax errors, unknown keys,
and the person's file never touched."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest

from companion.core import paths
from companion.core.config import (
    BreathingConfig,
    CheckinConfig,
    Config,
    VoiceConfig,
    ensure_config_file,
    example_config_text,
    load_config,
)


def write(text: str) -> Path:
    path = paths.config_file()
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_means_defaults_and_no_problems() -> None:
    assert not paths.config_file().exists()
    assert load_config() == (Config(), [])
    assert not paths.config_file().exists()  # loading never creates it


def test_defaults_match_the_schema() -> None:
    c = Config()
    assert (c.voice.name, c.voice.rate, c.voice.volume, c.region) == ("", 165, 1.0, "")
    assert (c.breathing.default_pattern, c.breathing.default_minutes) == ("box", 3)
    assert (c.hotkey.enabled, c.hotkey.combo) == (True, "<ctrl>+<alt>+b")
    listening = c.listening
    assert (listening.engine, listening.trailing_silence, listening.no_speech_timeout) == ("auto", 0.6, 8.0)
    k = c.checkins
    assert k.times == (dt.time(10, 30), dt.time(15, 30)) and k.interval_minutes == 0
    assert k.working_hours == (dt.time(9), dt.time(18)) and k.quiet_hours == (dt.time(21), dt.time(8))
    assert k.weekdays == (0, 1, 2, 3, 4) and k.skip_when_fullscreen and k.skip_when_idle_minutes == 20
    assert c.privacy.keep_transcripts is False


def test_the_example_file_documents_exactly_the_defaults() -> None:
    text = example_config_text()
    assert load_config(write(text)) == (Config(), [])
    uncommented = re.sub(r"(?m)^# (\w+ = )", r"\1", text)
    assert uncommented.count("\n[") == 8 and len(re.findall(r"(?m)^\w+ = ", uncommented)) == 22
    assert load_config(write(uncommented)) == (Config(), [])


def test_good_values_are_parsed() -> None:
    path = write("""
[voice]
name = "en-gb"
rate = 140
volume = 0.5
[region]
code = "gb"
[breathing]
default_pattern = "4-7-8"
default_minutes = 5
[checkins]
times = ["09:15", "14:00"]
working_hours = "22:00-06:00"
weekdays = ["Monday", "wed", "sat", "mon"]
interval_minutes = 90
[hotkey]
combo = "<Ctrl>+<Shift>+K"
""")
    config, problems = load_config(path)
    assert problems == []
    assert config.voice == VoiceConfig("en-gb", 140, 0.5)
    assert config.region == "GB"
    assert config.breathing == BreathingConfig("4-7-8", 5)
    assert config.checkins.times == (dt.time(9, 15), dt.time(14, 0))
    assert config.checkins.working_hours == (dt.time(22), dt.time(6))
    assert config.checkins.weekdays == (0, 2, 5)
    assert config.checkins.interval_minutes == 90
    assert config.checkins.quiet_hours == CheckinConfig().quiet_hours
    assert config.hotkey.combo == "<ctrl>+<shift>+k"


def test_the_brief_example_message() -> None:
    path = write('[voice]\nname = ""\n\n\n\n\nrate = "fast"\n')
    config, problems = load_config(path)
    assert problems == ["config.toml, line 7: [voice] rate must be a whole number from 80 to 400, "
                        "got 'fast'; using 165"]
    assert config == Config()


@pytest.mark.parametrize(("section", "line", "expected"), [
    ("voice", "rate = 1000", "[voice] rate must be a whole number from 80 to 400, got 1000; using 165"),
    ("voice", "rate = true", "[voice] rate must be a whole number from 80 to 400, got true; using 165"),
    ("voice", "volume = 2", "[voice] volume must be a number from 0 to 1, got 2; using 1"),
    ("voice", "name = 5", "[voice] name must be text in quotes, got 5; using ''"),
    ("region", 'code = "Narnia"', "[region] code must be a two-letter country code"),
    ("breathing", 'default_pattern = "square"',
     "[breathing] default_pattern must be one of box, 4-7-8, coherent, sigh, got 'square'; using 'box'"),
    ("breathing", "default_minutes = 0", "[breathing] default_minutes must be a whole number from 1 to 60"),
    ("breathing", "default_minutes = 2.5", "got 2.5; using 3"),
    ("hotkey", 'enabled = "yes"',
     "[hotkey] enabled must be true or false (no quotes), got 'yes'; using true"),
    ("hotkey", 'combo = "ctrl alt b"', '[hotkey] combo must be a key combination like "<ctrl>+<alt>+b"'),
    ("listening", 'engine = "siri"', "[listening] engine must be one of auto, whisper, vosk, pocketsphinx"),
    ("listening", "trailing_silence = -1", "[listening] trailing_silence must be a number from 0.2 to 5"),
    ("checkins", 'times = ["25:00"]',
     '[checkins] times must be a list of times like ["10:30", "15:30"], got ["25:00"]; using 10:30, 15:30'),
    ("checkins", 'times = "10:30"', "[checkins] times must be a list of times"),
    ("checkins", "interval_minutes = 2", "[checkins] interval_minutes must be 0 (off) or a whole number"),
    ("checkins", 'working_hours = "9-5"',
     "[checkins] working_hours must be a range of times like \"09:00-18:00\", got '9-5'; using 09:00-18:00"),
    ("checkins", 'quiet_hours = "21:00-21:00"',
     "[checkins] quiet_hours must start and end at different times"),
    ("checkins", 'weekdays = ["mon", "funday"]',
     '[checkins] weekdays must be a list of days like ["mon", "tue", "wed", "thu", "fri"], '
     'got ["mon", "funday"]; using mon, tue, wed, thu, fri'),
    ("checkins", "skip_when_idle_minutes = -5", "[checkins] skip_when_idle_minutes must be a whole number"),
    ("privacy", "keep_transcripts = 1", "[privacy] keep_transcripts must be true or false"),
])
def test_each_bad_value_names_its_line_and_falls_back(section: str, line: str, expected: str) -> None:
    path = write(f"# my settings\n[{section}]\n{line}\n")
    config, problems = load_config(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith("config.toml, line 3: ")
    assert expected in problems[0]
    assert config == Config()  # the bad value fell back; nothing else changed


def test_a_bad_value_does_not_spoil_its_neighbours() -> None:
    config, problems = load_config(write('[voice]\nrate = "fast"\nvolume = 0.3\n'))
    assert config.voice == VoiceConfig(rate=165, volume=0.3) and len(problems) == 1


def test_syntax_error_gives_line_and_column_and_all_defaults() -> None:
    path = write('[voice]\nrate = 140\n\n[breathing]\ndefault_minutes = = 4\n')
    config, problems = load_config(path)
    assert config == Config()
    assert len(problems) == 1
    assert problems[0].startswith("config.toml, line 5, column 19: not valid TOML (")
    assert "using all defaults until it is fixed" in problems[0]


def test_unknown_keys_and_sections_get_suggestions() -> None:
    path = write('[voice]\nspeed = 200\nvolum = 0.5\n[breathng]\nx = 1\n[hotkey]\nfoo = 1\n')
    config, problems = load_config(path)
    assert problems == [
        "config.toml, line 2: unknown key [voice] speed; did you mean rate?",
        "config.toml, line 3: unknown key [voice] volum; did you mean volume?",
        "config.toml, line 4: unknown section [breathng]; did you mean [breathing]?",
        "config.toml, line 7: unknown key [hotkey] foo; known keys: enabled, combo",
    ]
    assert config == Config()


def test_a_setting_written_outside_its_section_is_explained() -> None:
    config, problems = load_config(write('region = "GB"\n'))
    assert config.region == ""
    assert problems == ["config.toml, line 1: region must be a section: write [region] on its own line, "
                        "then its settings below it; using the defaults"]


def test_unreadable_and_non_utf8_files_fall_back_with_a_message(tmp_path: Path) -> None:
    path = write("")
    path.write_bytes(b'[voice]\nname = "\xff\xfe"\n')
    config, problems = load_config(path)
    assert config == Config() and problems == [
        "config.toml, line 2: is not UTF-8 text; using all defaults until it is fixed"]
    folder = tmp_path / "config.toml"
    folder.mkdir()
    config, problems = load_config(folder)
    assert config == Config() and len(problems) == 1 and "cannot be read" in problems[0]


def test_loading_never_modifies_the_file() -> None:
    path = write('[voice]\nrate = "fast"\nspeed = 3\n[nonsense]\n')
    os.utime(path, (1_000_000_000, 1_000_000_000))
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    for _ in range(2):
        load_config(path)
        load_config()
    assert ensure_config_file() == path
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]


def test_ensure_config_file_writes_the_example_only_when_missing() -> None:
    path = ensure_config_file()
    assert path == paths.config_file()
    assert path.read_text(encoding="utf-8") == example_config_text()
    path.write_text("[voice]\nrate = 150\n")
    ensure_config_file()
    assert path.read_text() == "[voice]\nrate = 150\n"
    assert load_config()[0].voice.rate == 150


def test_ensure_config_file_creates_the_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_CONFIG_DIR", str(tmp_path / "fresh" / "companion"))
    path = ensure_config_file()
    assert path.is_file() and load_config(path) == (Config(), [])
