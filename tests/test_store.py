"""The SQLite store: round trips, summaries over injected time, privacy of files, bad databases, threads."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from companion.core import paths
from companion.core.store import SCHEMA_VERSION, TABLES, Store, StoreError

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Now:
    """An injectable wall clock the test moves by hand."""

    def __init__(self, start: datetime = START) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **delta: float) -> None:
        self.t += timedelta(**delta)


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def store(now: Now) -> Store:
    s = Store.open(now=now)
    yield s
    s.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_opens_at_the_default_path_in_wal_mode_with_private_files(store: Store) -> None:
    store.add_journal("first entry")  # a write, so the -wal and -shm files exist
    db = paths.db_path()
    assert store.path == db and db.is_file()
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
    assert all(f.exists() for f in files)
    assert [mode(f) for f in files] == [0o600, 0o600, 0o600]
    assert mode(db.parent) == 0o700


def test_creates_a_missing_data_dir_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper"
    monkeypatch.setenv("COMPANION_DATA_DIR", str(target))
    with Store.open() as s:
        s.add_checkin("okay")
    assert mode(target) == 0o700 and mode(target / "companion.sqlite3") == 0o600


def test_sessions_round_trip_with_times_and_detail(store: Store, now: Now) -> None:
    sid = store.start_session("box-3", "breathe", {"pattern": "box", "minutes": 3})
    running = store.sessions()[0]
    assert running.ended_at is None and running.completed is False and running.minutes == 0.0
    now.advance(minutes=3, seconds=30)
    store.end_session(sid, completed=True, reason="done")
    [s] = store.sessions()
    assert (s.id, s.exercise_id, s.kind, s.completed, s.reason) == (sid, "box-3", "breathe", True, "done")
    assert s.detail == {"pattern": "box", "minutes": 3}
    assert s.started_at == START and s.ended_at == START + timedelta(minutes=3, seconds=30)
    assert s.minutes == pytest.approx(3.5)


def test_checkins_journal_steps_and_crisis_round_trip(store: Store, now: Now) -> None:
    store.add_checkin("anxious", 7, "big meeting", source="voice")
    store.add_checkin(None)
    now.advance(hours=1)
    store.add_journal("Walked to the river.\nIt helped.", prompt="What helped today?")
    first = store.add_connection_step("text Sam")
    second = store.add_connection_step("call Mum")
    assert [s.step for s in store.pending_connection_steps()] == ["text Sam", "call Mum"]
    now.advance(days=1)
    store.follow_up_connection_step(first, "we met for coffee")
    crisis = store.add_crisis_event("GB", "voice")

    checkins = store.checkins()
    assert [(c.feeling, c.intensity, c.note, c.source) for c in checkins] == [
        ("anxious", 7, "big meeting", "voice"), (None, None, None, "typed")]
    [entry] = store.journal()
    assert (entry.text, entry.prompt, entry.at) == ("Walked to the river.\nIt helped.", "What helped today?",
                                                    START + timedelta(hours=1))
    assert [s.id for s in store.pending_connection_steps()] == [second]
    done = next(s for s in store.connection_steps() if s.id == first)
    assert done.outcome == "we met for coffee" and done.followed_up_at == START + timedelta(days=1, hours=1)
    [event] = store.crisis_events()
    assert (event.id, event.region, event.source, event.text) == (crisis, "GB", "voice", None)


def test_crisis_text_is_kept_only_when_given(store: Store) -> None:
    store.add_crisis_event("US", "typed", text="the words, kept because the person asked")
    assert store.crisis_events()[0].text == "the words, kept because the person asked"


@pytest.mark.parametrize("bad", [-1, 11, 2.5, "7", True])
def test_intensity_outside_0_to_10_is_refused_clearly(store: Store, bad: object) -> None:
    with pytest.raises(ValueError, match="intensity must be a whole number from 0 to 10"):
        store.add_checkin("sad", bad)  # type: ignore[arg-type]
    assert store.checkins() == []


def test_unknown_checkin_source_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="source must be one of voice, typed, click, scheduled, session"):
        store.add_checkin("sad", 3, source="telepathy")


def test_summary_counts_only_the_window(store: Store, now: Now) -> None:
    old = store.start_session("box-3", "breathe")  # 10 days before the summary: outside 7, inside 30
    now.advance(minutes=5)
    store.end_session(old, completed=True, reason="done")
    store.add_checkin("sad", 2)
    store.add_journal("old entry")
    now.advance(days=10)
    a = store.start_session("box-3", "breathe")
    now.advance(minutes=3)
    store.end_session(a, completed=True, reason="done")
    b = store.start_session("five-senses", "ground")
    now.advance(minutes=1, seconds=30)
    store.end_session(b, completed=False, reason="stopped")
    store.start_session("box-3", "breathe")  # still running: counted, no minutes
    store.add_checkin("anxious", 6)
    store.add_checkin("anxious", 3)
    store.add_checkin("okay")
    store.add_journal("new entry")
    store.add_connection_step("text Sam")

    assert store.summary(7) == {
        "days": 7, "sessions": 3, "completed": 1, "minutes": 4.5, "by_kind": {"breathe": 2, "ground": 1},
        "checkins": 3, "feelings": {"anxious": 2, "okay": 1}, "mean_intensity": 4.5, "journal_entries": 1,
        "connection_steps": 1,
    }
    month = store.summary(30)
    assert (month["sessions"], month["completed"], month["minutes"]) == (4, 2, 9.5)
    assert month["feelings"] == {"sad": 1, "anxious": 2, "okay": 1}
    assert month["mean_intensity"] == pytest.approx(11 / 3, abs=0.05)
    assert [s.id for s in store.sessions(days=7)] == [a, b, a + 2]


def test_summary_of_nothing(store: Store) -> None:
    assert store.summary() == {"days": 7, "sessions": 0, "completed": 0, "minutes": 0, "by_kind": {},
                               "checkins": 0, "feelings": {}, "mean_intensity": None, "journal_entries": 0,
                               "connection_steps": 0}


def test_data_survives_reopening_and_schema_is_versioned(now: Now) -> None:
    with Store.open(now=now) as s:
        s.add_journal("kept")
    with Store.open(now=now) as s:
        assert [j.text for j in s.journal()] == ["kept"]
        assert s._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_database_from_a_newer_version_is_refused_not_touched() -> None:
    db = paths.db_path()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match="newer version of companion"):
        Store.open()
    assert db.read_bytes() == before


def test_export_holds_everything_as_json(store: Store, now: Now) -> None:
    sid = store.start_session("box-3", "breathe", {"pattern": "box"})
    store.end_session(sid, completed=True, reason="done")
    store.add_checkin("lonely", 5, source="click")
    store.add_journal("text")
    store.add_connection_step("call Ana")
    store.add_crisis_event("IE", "voice")
    store.remember("name", "Ana")
    data = json.loads(json.dumps(store.export()))
    assert data["format"] == "companion-export" and data["schema_version"] == SCHEMA_VERSION
    assert data["sessions"][0] == {"id": sid, "exercise_id": "box-3", "kind": "breathe",
                                   "started_at": "2026-03-02T09:00:00+00:00",
                                   "ended_at": "2026-03-02T09:00:00+00:00", "completed": True,
                                   "reason": "done", "detail": {"pattern": "box"}}
    assert data["checkins"][0]["feeling"] == "lonely" and data["checkins"][0]["source"] == "click"
    assert [len(data[t]) for t in TABLES] == [1, 1, 1, 1, 1, 1]


def test_forget_all_leaves_nothing_readable_on_disk(store: Store) -> None:
    secret = "my very private sentence 4711"
    store.add_journal(secret)
    store.add_checkin("sad", 4, note=secret)
    store.forget_all()
    assert store.counts() == dict.fromkeys(TABLES, 0)
    db = paths.db_path()
    for f in (db, Path(f"{db}-wal")):
        if f.exists():
            assert secret.encode() not in f.read_bytes()
    assert store.add_journal("after") == 1  # ids start again; the store still works


def test_corrupted_database_is_moved_aside_and_a_fresh_one_works(
        now: Now, caplog: pytest.LogCaptureFixture) -> None:
    db = paths.db_path()
    junk = b"this is not a database " * 500
    db.write_bytes(junk)
    with Store.open(now=now) as s:
        moved = db.with_name("companion.sqlite3.corrupt-20260302T090000Z")
        assert moved.read_bytes() == junk  # nothing lost
        assert len(s.notices) == 1 and str(moved) in s.notices[0] and "nothing was deleted" in s.notices[0]
        assert any("moved aside" in r.getMessage() for r in caplog.records)
        s.add_journal("fresh start")
        assert [j.text for j in s.journal()] == ["fresh start"]
    # A second bad file in the same second does not overwrite the first one moved aside.
    db.write_bytes(b"junk again" * 100)
    with Store.open(now=now) as s:
        assert moved.read_bytes() == junk
        second = db.with_name("companion.sqlite3.corrupt-20260302T090000Z-2")
        assert second.read_bytes() == b"junk again" * 100


def test_damaged_pages_are_detected_as_corruption(now: Now) -> None:
    with Store.open(now=now) as s:
        for i in range(300):
            s.add_journal(f"entry {i} " + "x" * 200)
    db = paths.db_path()
    raw = bytearray(db.read_bytes())
    raw[4096 * 2: 4096 * 2 + 2000] = b"\xff" * 2000  # overwrite part of a b-tree page
    db.write_bytes(bytes(raw))
    with Store.open(now=now) as s:
        assert s.notices and "moved aside" in s.notices[0]
        assert s.journal() == []


def test_unwritable_data_dir_raises_a_clear_store_error(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "sub"  # root ignores permissions; a path under a file cannot be created by anyone
    monkeypatch.setenv("COMPANION_DATA_DIR", str(target))
    with pytest.raises(StoreError) as info:
        Store.open()
    message = str(info.value)
    assert str(target) in message and "COMPANION_DATA_DIR" in message and "Fix:" in message
    assert blocker.read_text() == "not a folder"


def test_open_or_memory_keeps_working_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("COMPANION_DATA_DIR", str(blocker / "sub"))
    with Store.open_or_memory() as s:
        assert s.path is None
        [notice] = s.notices
        assert "in memory only" in notice and str(blocker / "sub") in notice
        s.add_checkin("okay", 5)
        assert s.summary()["checkins"] == 1


def test_open_or_memory_uses_the_disk_when_it_can() -> None:
    with Store.open_or_memory() as s:
        assert s.path == paths.db_path() and s.notices == []


def test_writes_from_many_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                sid = store.start_session(f"ex-{n}", "breathe")
                store.end_session(sid, completed=bool(i % 2), reason="done")
                store.add_checkin("okay", i % 11)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.counts()["sessions"] == 200 and store.counts()["checkins"] == 200
    assert store.summary()["completed"] == 100
