"""`companion history / export / forget` through the real CLI, as a person would run them."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import pty
import stat
import subprocess
import sys
import types
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import run_cli

from companion.cli import main
from companion.core import paths
from companion.core.store import TABLES, Store

pytestmark = pytest.mark.timeout(120)


def fill() -> dict[str, int]:
    """Two days of history written through the real store at its default path."""
    moment = [datetime.now(UTC) - timedelta(days=2)]
    with Store.open(now=lambda: moment[0]) as s:
        sid = s.start_session("box-3", "breathe", {"pattern": "box"})
        moment[0] += timedelta(minutes=3)
        s.end_session(sid, completed=True, reason="done")
        s.add_checkin("anxious", 6, note='a "big", long\nday', source="voice")
        moment[0] += timedelta(days=1)
        s.add_journal("Walked to the river.\nIt helped.", prompt="What helped?")
        s.add_connection_step("text Sam")
        s.add_crisis_event("GB", "voice")
        s.remember("name", "Ana")
        return s.counts()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- history ----

def test_history_when_nothing_is_recorded_is_friendly() -> None:
    done = run_cli("history")
    assert done.returncode == 0, done.stderr
    assert "Nothing recorded in the last 7 days yet." in done.stdout and done.stderr == ""


def test_history_lists_recent_things_in_local_time() -> None:
    fill()
    done = run_cli("history", env=dict(os.environ, TZ="Asia/Kolkata"))  # +05:30 shows the conversion
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "In the last 7 days: 1 session (1 finished, 3 minutes), 1 check-in, 1 journal entry." in out
    assert "box-3" in out and "finished" in out and "anxious 6/10" in out
    assert "Walked to the river. It helped." in out and "text Sam" in out
    with Store.open() as s:
        started = s.sessions()[0].started_at
    kolkata = (started + timedelta(hours=5, minutes=30)).strftime("%a %d %b %H:%M")
    assert kolkata in out, out


def test_history_json_and_days_window() -> None:
    fill()
    data = json.loads(run_cli("history", "--json").stdout)
    assert data["days"] == 7 and data["summary"]["sessions"] == 1 and data["summary"]["minutes"] == 3.0
    assert data["sessions"][0]["exercise_id"] == "box-3"
    assert data["checkins"][0]["note"] == 'a "big", long\nday'
    assert [p["step"] for p in data["pending_connection_steps"]] == ["text Sam"]
    recent = json.loads(run_cli("history", "--json", "--days", "1").stdout)
    assert recent["summary"]["sessions"] == 0 and recent["summary"]["journal_entries"] == 1


def test_history_rejects_a_bad_day_count_without_a_traceback() -> None:
    done = run_cli("history", "--days", "soon")
    assert done.returncode == 2 and "must be a whole number of days" in done.stderr
    assert "Traceback" not in done.stderr


def test_history_plot_without_the_drawing_module_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "companion.desktop.history_plot", None)  # import fails as if absent
    assert main(["history", "--plot", str(tmp_path / "h.png")]) == 1
    assert "not available in this version" in capsys.readouterr().err
    assert not (tmp_path / "h.png").exists()


def test_history_plot_hands_over_store_path_and_days(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fill()
    calls = []

    def write_history_plot(store: Store, path: Path, days: tuple[int, ...] = (7, 30)) -> Path:
        calls.append((store.summary(30)["sessions"], path, days))
        path.write_bytes(b"png")
        return path

    fake = types.ModuleType("companion.desktop.history_plot")
    fake.write_history_plot = write_history_plot  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "companion.desktop.history_plot", fake)
    assert main(["history", "--plot", str(tmp_path / "a.png")]) == 0
    assert main(["history", "--days", "14", "--plot", str(tmp_path / "b.png")]) == 0
    assert calls == [(1, tmp_path / "a.png", (7, 30)), (1, tmp_path / "b.png", (14,))]


@pytest.mark.skipif(importlib.util.find_spec("companion.desktop.history_plot") is None,
                    reason="companion.desktop.history_plot is not in this tree yet")
def test_history_plot_writes_a_real_picture(tmp_path: Path) -> None:
    fill()
    done = run_cli("history", "--plot", str(tmp_path / "h.png"), env=dict(os.environ, MPLBACKEND="Agg"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unwritable_data_dir_gives_a_message_and_exit_1(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = run_cli("history", env=dict(os.environ, COMPANION_DATA_DIR=str(blocker / "sub")))
    assert done.returncode == 1
    assert str(blocker / "sub") in done.stderr and "COMPANION_DATA_DIR" in done.stderr
    assert "Traceback" not in done.stderr


def test_corrupted_database_is_reported_and_kept() -> None:
    paths.db_path().write_bytes(b"\x00garbage" * 300)
    done = run_cli("history")
    assert done.returncode == 0 and done.stderr.count("moved aside") == 1  # said once, plainly
    assert "WARNING" not in done.stderr
    [moved] = paths.data_dir().glob("companion.sqlite3.corrupt-*")
    assert moved.read_bytes() == b"\x00garbage" * 300


# ---- export ----

def test_export_json_to_stdout_has_every_table() -> None:
    counts = fill()
    done = run_cli("export")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {t: len(data[t]) for t in TABLES} == counts
    assert data["journal"][0]["text"] == "Walked to the river.\nIt helped."


def test_export_json_file_is_private_and_never_silently_replaced(tmp_path: Path) -> None:
    fill()
    out = tmp_path / "mine.json"
    done = run_cli("export", "--format", "json", "--output", str(out))
    assert done.returncode == 0 and done.stdout == "" and "Exported 6 records" in done.stderr
    assert mode(out) == 0o600 and json.loads(out.read_text())["sessions"][0]["kind"] == "breathe"
    out.write_text("keep me")
    again = run_cli("export", "--output", str(out))
    assert again.returncode == 1 and "already exists" in again.stderr and "--force" in again.stderr
    assert out.read_text() == "keep me"
    forced = run_cli("export", "--output", str(out), "--force")
    assert forced.returncode == 0 and json.loads(out.read_text())["format"] == "companion-export"


def test_export_csv_to_stdout_is_one_table_with_a_table_column() -> None:
    fill()
    done = run_cli("export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["table"] for r in rows] == list(TABLES)
    checkin = rows[1]
    assert (checkin["feeling"], checkin["intensity"]) == ("anxious", "6")
    assert checkin["note"] == 'a "big", long\nday'
    assert json.loads(rows[0]["detail"]) == {"pattern": "box"} and rows[0]["completed"] == "true"


def test_export_csv_zip_holds_one_csv_per_table(tmp_path: Path) -> None:
    fill()
    out = tmp_path / "history.zip"
    assert run_cli("export", "--format", "csv", "-o", str(out)).returncode == 0
    assert mode(out) == 0o600
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == sorted(f"{t}.csv" for t in TABLES)
        journal = list(csv.DictReader(io.StringIO(z.read("journal.csv").decode())))
        steps = list(csv.DictReader(io.StringIO(z.read("connection_steps.csv").decode())))
    assert journal[0]["prompt"] == "What helped?" and list(journal[0]) == ["id", "at", "prompt", "text"]
    assert steps[0]["step"] == "text Sam" and steps[0]["outcome"] == ""


def test_export_csv_into_a_folder(tmp_path: Path) -> None:
    fill()
    folder = tmp_path / "out"
    assert run_cli("export", "--format", "csv", "-o", f"{folder}/").returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    assert all(mode(p) == 0o600 for p in folder.iterdir())
    sessions = list(csv.DictReader((folder / "sessions.csv").open()))
    assert sessions[0]["exercise_id"] == "box-3"
    again = run_cli("export", "--format", "csv", "-o", str(folder))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_export_to_an_impossible_place_explains() -> None:
    done = run_cli("export", "-o", "/proc/no-such-dir/x.json")
    assert done.returncode == 1 and "Cannot write" in done.stderr and "Traceback" not in done.stderr


def test_export_help_documents_the_csv_layouts() -> None:
    out = run_cli("export", "--help").stdout
    assert "FILE.zip" in out and "DIR/" in out and "`table`" in out and "0600" in out


# ---- forget ----

def test_forget_without_all_shows_usage_and_deletes_nothing() -> None:
    counts = fill()
    done = run_cli("forget", "--yes")
    assert done.returncode == 2 and "usage: companion forget" in done.stderr and "--all" in done.stderr
    with Store.open() as s:
        assert s.counts() == counts


def test_forget_refuses_without_a_terminal_even_when_yes_is_piped_in() -> None:
    counts = fill()
    done = run_cli("forget", "--all", input="yes\n")
    assert done.returncode == 1 and "Nothing was deleted" in done.stderr and "--yes" in done.stderr
    with Store.open() as s:
        assert s.counts() == counts


def test_forget_all_yes_erases_everything_including_copies_set_aside() -> None:
    paths.db_path().write_bytes(b"unreadable old history" * 50)
    run_cli("history")  # moves it aside
    [copy] = paths.data_dir().glob("companion.sqlite3.corrupt-*")
    fill()
    done = run_cli("forget", "--all", "--yes")
    assert done.returncode == 0 and "erased" in done.stdout
    with Store.open() as s:
        assert s.counts() == dict.fromkeys(TABLES, 0)
    assert json.loads(run_cli("export").stdout)["journal"] == []
    assert not copy.exists()


def run_in_terminal(answer: str, *args: str) -> tuple[int, str]:
    """Runs the CLI with a pseudo-terminal as stdin (so it asks) and types `answer`."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "companion", *args], stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    os.close(follower)
    os.write(leader, answer.encode())
    try:
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(leader)
    return proc.returncode, out


def test_forget_in_a_terminal_asks_and_yes_erases() -> None:
    fill()
    code, out = run_in_terminal("yes\n", "forget", "--all")
    assert code == 0, out
    assert "1 session, 1 check-in, 1 journal entry, 1 small step, 1 crisis moment" in out
    assert 'Type "yes" to erase everything' in out and "erased" in out
    with Store.open() as s:
        assert s.counts() == dict.fromkeys(TABLES, 0)


@pytest.mark.parametrize("answer", ["no\n", "y\n", "\n"])
def test_forget_in_a_terminal_keeps_everything_unless_yes(answer: str) -> None:
    counts = fill()
    code, out = run_in_terminal(answer, "forget", "--all")
    assert code == 1 and "Nothing was deleted." in out
    with Store.open() as s:
        assert s.counts() == counts
