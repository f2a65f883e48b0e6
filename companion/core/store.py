"""The person's history on this computer: sessions, check-ins, journal, small steps, crisis events (SQLite).

It never deletes a database it cannot read (it moves it aside) and never keeps a transcript it was not given.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from companion.core import paths

log = logging.getLogger(__name__)

# "session": asked inside an exercise (a check-in step of its script).
CHECKIN_SOURCES: tuple[str, ...] = ("voice", "typed", "click", "scheduled", "session")
TABLES: tuple[str, ...] = ("sessions", "checkins", "journal", "connection_steps", "crisis_events", "memory")
MEMORY = ":memory:"

# Each entry upgrades the schema by one version (PRAGMA user_version); append, never edit a released one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        exercise_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        completed INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX sessions_started ON sessions (started_at);
    CREATE TABLE checkins (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        feeling TEXT,
        intensity INTEGER CHECK (intensity IS NULL OR intensity BETWEEN 0 AND 10),
        note TEXT,
        source TEXT NOT NULL
    );
    CREATE INDEX checkins_at ON checkins (at);
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        prompt TEXT,
        text TEXT NOT NULL
    );
    CREATE INDEX journal_at ON journal (at);
    CREATE TABLE connection_steps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        step TEXT NOT NULL,
        followed_up_at TEXT,
        outcome TEXT
    );
    CREATE TABLE crisis_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        region TEXT NOT NULL,
        source TEXT NOT NULL,
        text TEXT
    );
    """,
    # what the conversation remembers between runs (the person's name): key → value, exported and forgotten
    """
    CREATE TABLE memory (
        key TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        value TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# SQLite primary result codes that mean "this file is not a usable database" (rather than "cannot write").
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


class StoreError(Exception):
    """The history cannot be kept where it should be; the message says where and how to fix it."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionRecord:
    """One exercise run. Times are aware UTC datetimes; `ended_at` is None while it runs (or if cut off)."""

    id: int
    exercise_id: str
    kind: str
    started_at: datetime
    ended_at: datetime | None
    completed: bool
    reason: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def minutes(self) -> float:
        if self.ended_at is None:
            return 0.0
        return max(0.0, (self.ended_at - self.started_at).total_seconds() / 60)


@dataclass(frozen=True)
class Checkin:
    id: int
    at: datetime
    feeling: str | None
    intensity: int | None
    note: str | None
    source: str


@dataclass(frozen=True)
class JournalEntry:
    id: int
    at: datetime
    prompt: str | None
    text: str


@dataclass(frozen=True)
class ConnectionStep:
    """A small step toward someone; `followed_up_at` is None until the companion asked how it went."""

    id: int
    at: datetime
    step: str
    followed_up_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class CrisisEvent:
    id: int
    at: datetime
    region: str
    source: str
    text: str | None


@dataclass(frozen=True)
class Remembered:
    """One thing the conversation keeps between runs, such as the person's name (key "name")."""

    key: str
    at: datetime
    value: str


def record_json(record: Any) -> dict[str, Any]:
    """A record as JSON-able values (datetimes as UTC ISO 8601 strings)."""
    out = asdict(record)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = _iso(value)
    return out


def _session(row: sqlite3.Row) -> SessionRecord:
    return SessionRecord(row["id"], row["exercise_id"], row["kind"], _parse(row["started_at"]),  # type: ignore[arg-type]
                         _parse(row["ended_at"]), bool(row["completed"]), row["reason"],
                         json.loads(row["detail"]))


def _checkin(row: sqlite3.Row) -> Checkin:
    return Checkin(row["id"], _parse(row["at"]), row["feeling"], row["intensity"],  # type: ignore[arg-type]
                   row["note"], row["source"])


def _journal(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(row["id"], _parse(row["at"]), row["prompt"], row["text"])  # type: ignore[arg-type]


def _step(row: sqlite3.Row) -> ConnectionStep:
    return ConnectionStep(row["id"], _parse(row["at"]), row["step"],  # type: ignore[arg-type]
                          _parse(row["followed_up_at"]), row["outcome"])


def _crisis(row: sqlite3.Row) -> CrisisEvent:
    return CrisisEvent(row["id"], _parse(row["at"]), row["region"], row["source"], row["text"])  # type: ignore[arg-type]


def _remembered(row: sqlite3.Row) -> Remembered:
    return Remembered(row["key"], _parse(row["at"]), row["value"])  # type: ignore[arg-type]


def _code(exc: sqlite3.Error) -> int:
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _is_corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return _code(exc) in _CORRUPT_CODES or "not a database" in text or "malformed" in text


def _unwritable(directory: Path, reason: object) -> StoreError:
    return StoreError(
        f"Cannot keep your history in {directory}: {reason}. "
        f"Fix: make that folder writable for your user (for example `chmod u+rwx '{directory}'`), "
        "or set COMPANION_DATA_DIR to a folder you own.")


class Store:
    """One SQLite connection shared by all threads, guarded by a lock. Open with `Store.open()`."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None, now: Callable[[], datetime]) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self._now = now
        self.path = path  # None for an in-memory store
        self.notices: list[str] = []

    # ---- opening ----

    @classmethod
    def open(cls, path: Path | None = None, *, now: Callable[[], datetime] | None = None) -> Store:
        """Opens (creating or upgrading) the database at `path`, default `paths.db_path()`.

        An unreadable (corrupted) file is moved aside to `<name>.corrupt-<stamp>` and a fresh one started,
        noted in `notices`; an unwritable location raises StoreError.
        """
        clock = now or _utc_now
        if path is not None and str(path) == MEMORY:
            return cls.memory(now=clock)
        target = Path(path) if path is not None else paths.db_path()
        notices: list[str] = []
        try:
            conn = cls._connect(target, own_dir=path is None)
        except sqlite3.Error as exc:
            if not _is_corrupt(exc):
                raise _unwritable(target.parent, exc) from exc
            moved = cls._move_aside(target, clock())
            message = (f"Your history file {target} could not be read ({exc}). It was moved aside to {moved} "
                       "(nothing was deleted) and a fresh history was started.")
            log.warning("%s", message)
            notices.append(message)
            try:
                conn = cls._connect(target, own_dir=path is None)
            except sqlite3.Error as again:
                raise _unwritable(target.parent, again) from again
        store = cls(conn, target, clock)
        store.notices.extend(notices)
        return store

    @classmethod
    def memory(cls, *, now: Callable[[], datetime] | None = None) -> Store:
        """A store that lives only as long as this process (tests, or when the disk cannot be used)."""
        conn = sqlite3.connect(MEMORY, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        _migrate(conn)
        return cls(conn, None, now or _utc_now)

    @classmethod
    def open_or_memory(cls, path: Path | None = None, *, now: Callable[[], datetime] | None = None) -> Store:
        """Like `open`, but when the history cannot be kept on disk it is kept in memory, said in notices."""
        try:
            return cls.open(path, now=now)
        except StoreError as exc:
            log.warning("%s", exc)
            store = cls.memory(now=now)
            store.notices.append(f"{exc} Until then, this session's history is kept in memory only "
                                 "and will be gone when the companion quits.")
            return store

    @staticmethod
    def _connect(target: Path, *, own_dir: bool) -> sqlite3.Connection:
        directory = target.parent
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if own_dir:
                with contextlib.suppress(OSError):  # a shared folder we may write to but not chmod
                    directory.chmod(0o700)
            # Create the file ourselves so it is 0600 from the start; SQLite gives -wal/-shm the same mode.
            os.close(os.open(target, os.O_RDWR | os.O_CREAT, 0o600))
            target.chmod(0o600)
        except OSError as exc:
            raise _unwritable(directory, exc.strerror or exc) from exc
        conn = sqlite3.connect(target, timeout=5.0, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        try:
            _check_version(conn)  # before anything changes the file
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
            conn.execute("PRAGMA secure_delete=ON")  # forgotten rows are overwritten, not left in free pages
            conn.execute("PRAGMA foreign_keys=ON")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {check}")
            _migrate(conn)
        except BaseException:
            conn.close()
            raise
        for suffix in ("-wal", "-shm"):
            side = Path(f"{target}{suffix}")
            if side.exists():
                side.chmod(0o600)
        return conn

    @staticmethod
    def _move_aside(target: Path, moment: datetime) -> Path:
        stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved = target.with_name(f"{target.name}.corrupt-{stamp}")
        n = 1
        while moved.exists():
            n += 1
            moved = target.with_name(f"{target.name}.corrupt-{stamp}-{n}")
        try:
            target.rename(moved)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{target}{suffix}")
                if side.exists():
                    side.rename(Path(f"{moved}{suffix}"))
        except OSError as exc:
            raise _unwritable(target.parent, exc.strerror or exc) from exc
        return moved

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writing ----

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._lock:
            try:
                with self._conn:
                    cursor = self._conn.execute(sql, params)
            except sqlite3.OperationalError as exc:
                directory = self.path.parent if self.path else Path(MEMORY)
                raise _unwritable(directory, exc) from exc
            return int(cursor.lastrowid or 0)

    def start_session(self, exercise_id: str, kind: str, detail: dict[str, Any] | None = None) -> int:
        return self._write("INSERT INTO sessions (exercise_id, kind, started_at, detail) VALUES (?, ?, ?, ?)",
                           (exercise_id, kind, _iso(self._now()), json.dumps(detail or {})))

    def end_session(self, session_id: int, *, completed: bool, reason: str) -> None:
        self._write("UPDATE sessions SET ended_at = ?, completed = ?, reason = ? WHERE id = ?",
                    (_iso(self._now()), int(completed), reason, session_id))

    def add_checkin(self, feeling: str | None, intensity: int | None = None, note: str | None = None,
                    source: str = "typed") -> int:
        """`note` holds spoken text only when the person keeps transcripts; the caller decides."""
        if intensity is not None and (isinstance(intensity, bool) or not isinstance(intensity, int)
                                      or not 0 <= intensity <= 10):
            raise ValueError(f"intensity must be a whole number from 0 to 10 (or None), got {intensity!r}")
        if source not in CHECKIN_SOURCES:
            raise ValueError(f"source must be one of {', '.join(CHECKIN_SOURCES)}, got {source!r}")
        return self._write(
            "INSERT INTO checkins (at, feeling, intensity, note, source) VALUES (?, ?, ?, ?, ?)",
            (_iso(self._now()), feeling, intensity, note, source))

    def set_checkin_intensity(self, checkin_id: int, intensity: int) -> None:
        """The 0–10 rating given one turn after the feeling it rates."""
        if isinstance(intensity, bool) or not isinstance(intensity, int) or not 0 <= intensity <= 10:
            raise ValueError(f"intensity must be a whole number from 0 to 10, got {intensity!r}")
        self._write("UPDATE checkins SET intensity = ? WHERE id = ?", (intensity, checkin_id))

    def add_journal(self, text: str, prompt: str | None = None) -> int:
        return self._write("INSERT INTO journal (at, prompt, text) VALUES (?, ?, ?)",
                           (_iso(self._now()), prompt, text))

    def add_connection_step(self, step: str) -> int:
        return self._write("INSERT INTO connection_steps (at, step) VALUES (?, ?)", (_iso(self._now()), step))

    def follow_up_connection_step(self, step_id: int, outcome: str) -> None:
        self._write("UPDATE connection_steps SET followed_up_at = ?, outcome = ? WHERE id = ?",
                    (_iso(self._now()), outcome, step_id))

    def add_crisis_event(self, region: str, source: str, text: str | None = None) -> int:
        """Pass `text` only when the person keeps transcripts (config privacy.keep_transcripts)."""
        return self._write("INSERT INTO crisis_events (at, region, source, text) VALUES (?, ?, ?, ?)",
                           (_iso(self._now()), region, source, text))

    def remember(self, key: str, value: str) -> None:
        """Keeps one thing between runs (replacing what `key` held)."""
        self._write("INSERT OR REPLACE INTO memory (key, at, value) VALUES (?, ?, ?)",
                    (key, _iso(self._now()), value))

    def recall(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM memory WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def remembered(self) -> list[Remembered]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM memory ORDER BY at, key").fetchall()
        return [_remembered(r) for r in rows]

    def forget_all(self) -> None:
        """Deletes every row, then rebuilds the file and empties the WAL so nothing lingers on disk."""
        with self._lock:
            with self._conn:
                for table in TABLES:
                    self._conn.execute(f"DELETE FROM {table}")
                self._conn.execute("DELETE FROM sqlite_sequence")
            self._conn.execute("VACUUM")
            if self.path is not None:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    # ---- reading ----

    def _rows(self, table: str, column: str, days: int | None, order: str = "ASC") -> list[sqlite3.Row]:
        sql = f"SELECT * FROM {table}"
        params: tuple[Any, ...] = ()
        if days is not None:
            sql += f" WHERE {column} >= ?"
            params = (_iso(self._now() - timedelta(days=days)),)
        with self._lock:
            return self._conn.execute(f"{sql} ORDER BY {column} {order}, id {order}", params).fetchall()

    def sessions(self, days: int | None = None) -> list[SessionRecord]:
        """Sessions started in the last `days` days (all when None), oldest first."""
        return [_session(r) for r in self._rows("sessions", "started_at", days)]

    def checkins(self, days: int | None = None) -> list[Checkin]:
        return [_checkin(r) for r in self._rows("checkins", "at", days)]

    def journal(self, days: int | None = None) -> list[JournalEntry]:
        return [_journal(r) for r in self._rows("journal", "at", days)]

    def journal_since(self, seconds: float) -> list[JournalEntry]:
        """Journal entries written in the last `seconds` (by the store's clock), oldest first."""
        since = self._now() - timedelta(seconds=seconds)
        return [e for e in self.journal(days=1 + int(seconds // 86400)) if e.at >= since]

    def connection_steps(self, days: int | None = None) -> list[ConnectionStep]:
        return [_step(r) for r in self._rows("connection_steps", "at", days)]

    def pending_connection_steps(self) -> list[ConnectionStep]:
        """Steps not yet followed up, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM connection_steps WHERE followed_up_at IS NULL ORDER BY at, id").fetchall()
        return [_step(r) for r in rows]

    def crisis_events(self, days: int | None = None) -> list[CrisisEvent]:
        return [_crisis(r) for r in self._rows("crisis_events", "at", days)]

    def summary(self, days: int = 7) -> dict[str, Any]:
        """The numbers behind "how have I been doing": the last `days` days."""
        sessions = self.sessions(days)
        checkins = self.checkins(days)
        intensities = [c.intensity for c in checkins if c.intensity is not None]
        return {
            "days": days,
            "sessions": len(sessions),
            "completed": sum(1 for s in sessions if s.completed),
            "minutes": round(sum(s.minutes for s in sessions), 1),
            "by_kind": dict(Counter(s.kind for s in sessions)),
            "checkins": len(checkins),
            "feelings": dict(Counter(c.feeling for c in checkins if c.feeling)),
            "mean_intensity": round(sum(intensities) / len(intensities), 1) if intensities else None,
            "journal_entries": len(self.journal(days)),
            "connection_steps": len(self.connection_steps(days)),
        }

    def counts(self) -> dict[str, int]:
        """Rows per table (what `forget` is about to delete)."""
        with self._lock:
            return {t: self._conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}

    def export(self) -> dict[str, Any]:
        """Everything the store holds, as JSON-able data."""
        return {
            "format": "companion-export",
            "schema_version": SCHEMA_VERSION,
            "exported_at": _iso(self._now()),
            "sessions": [record_json(r) for r in self.sessions()],
            "checkins": [record_json(r) for r in self.checkins()],
            "journal": [record_json(r) for r in self.journal()],
            "connection_steps": [record_json(r) for r in self.connection_steps()],
            "crisis_events": [record_json(r) for r in self.crisis_events()],
            "memory": [record_json(r) for r in self.remembered()],
        }


def _check_version(conn: sqlite3.Connection) -> int:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"This history was written by a newer version of companion (schema {version}, "
                         f"this version knows {SCHEMA_VERSION}). Fix: update companion.")
    return int(version)


def _migrate(conn: sqlite3.Connection) -> None:
    version = _check_version(conn)
    for number in range(version, SCHEMA_VERSION):
        conn.executescript(f"BEGIN; {MIGRATIONS[number]} PRAGMA user_version = {number + 1}; COMMIT;")
        log.info("history database upgraded to schema %d", number + 1)
