"""`companion history`, `export` and `forget`: the person's own record, shown, taken away or erased.

Arguments and output only; nothing is deleted without a typed "yes" (or --yes), and exports are private files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from companion.core import paths
from companion.core.store import (
    TABLES,
    Checkin,
    ConnectionStep,
    CrisisEvent,
    JournalEntry,
    Remembered,
    SessionRecord,
    Store,
    StoreError,
    record_json,
)

RECORD_TYPES: dict[str, type] = {"sessions": SessionRecord, "checkins": Checkin, "journal": JournalEntry,
                                 "connection_steps": ConnectionStep, "crisis_events": CrisisEvent,
                                 "memory": Remembered}
TABLE_WORDS: dict[str, tuple[str, str]] = {
    "sessions": ("session", "sessions"), "checkins": ("check-in", "check-ins"),
    "journal": ("journal entry", "journal entries"), "connection_steps": ("small step", "small steps"),
    "crisis_events": ("crisis moment", "crisis moments"), "memory": ("remembered detail", "remembered details")}

EXPORT_HELP = """\
json: one document with every table. csv: depends on --output:
  no --output        one CSV on stdout, with a first column `table` naming the table of each row;
  FILE.zip           a zip holding one CSV per table (sessions.csv, checkins.csv, ...);
  DIR/ (or a folder) one CSV per table inside that folder;
  any other FILE     one CSV with the `table` column, like stdout.
Files are readable only by you (mode 0600). An existing file is never replaced unless you add --force."""


def register(subparsers: argparse._SubParsersAction) -> None:
    history = subparsers.add_parser("history", help="what you have done recently",
                                    description="Your recent sessions, check-ins and journal entries.")
    history.add_argument("--days", type=_positive_int, default=7, metavar="N",
                         help="how far back (default 7)")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    history.add_argument("--plot", type=Path, metavar="FILE.png",
                         help="also draw a picture of the last 7 and 30 days (or --days N) into FILE.png")
    history.set_defaults(func=cmd_history)

    export = subparsers.add_parser("export", help="save everything the companion keeps about you",
                                   description="Export all your history.\n\n" + EXPORT_HELP,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("--format", choices=("json", "csv"), default="json", help="default json")
    export.add_argument("--output", "-o", metavar="FILE", help="where to write (default: stdout)")
    export.add_argument("--force", action="store_true", help="replace existing files")
    export.set_defaults(func=cmd_export)

    forget = subparsers.add_parser("forget", help="erase your history from this computer",
                                   description="Erase every session, check-in, journal entry and step "
                                   "(and unreadable copies set aside earlier). "
                                   "Asks you to type yes first. Your settings file is kept.")
    forget.add_argument("--all", action="store_true", help="erase everything (required)")
    forget.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    forget.set_defaults(func=cmd_forget, _usage=forget.format_usage)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of days, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _open_store() -> Store | None:
    """The store, or None after printing why not; its notices are printed once, plainly (not as log lines)."""
    store_log = logging.getLogger("companion.core.store")
    level = store_log.level
    store_log.setLevel(logging.ERROR)
    try:
        store = Store.open()
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return None
    finally:
        store_log.setLevel(level)
    for notice in store.notices:
        print(notice, file=sys.stderr)
    return store


# ---- history ----

def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%a %d %b %H:%M")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _short(text: str, width: int = 70) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _history_text(store: Store, days: int) -> str:
    s = store.summary(days)
    period = "today and yesterday" if days == 1 else f"the last {days} days"
    sessions, checkins, journal = store.sessions(days), store.checkins(days), store.journal(days)
    if not (sessions or checkins or journal or s["connection_steps"]):
        return (f"Nothing recorded in {period} yet.\n"
                "When you are ready: `companion breathe` starts a short breathing exercise.")
    lines = [f"In {period}: {_plural(s['sessions'], 'session')} ({s['completed']} finished, "
             f"{s['minutes']:g} minutes), {_plural(s['checkins'], 'check-in')}, "
             f"{_plural(s['journal_entries'], 'journal entry', 'journal entries')}."]
    if sessions:
        lines += ["", "Sessions"]
        for r in sessions:
            state = "finished" if r.completed else (r.reason or "not finished")
            length = f"{r.minutes:.0f} min" if r.ended_at else "-"
            lines.append(f"  {_local(r.started_at)}  {r.kind:<10} {r.exercise_id:<16} {length:>7}  {state}")
    if checkins:
        lines += ["", "Check-ins"]
        for c in checkins:
            feeling = c.feeling or "(no word)"
            level = f" {c.intensity}/10" if c.intensity is not None else ""
            note = f'  "{_short(c.note, 50)}"' if c.note else ""
            lines.append(f"  {_local(c.at)}  {feeling}{level}{note}")
    if journal:
        lines += ["", "Journal"]
        lines += [f"  {_local(j.at)}  {_short(j.text)}" for j in journal]
    pending = store.pending_connection_steps()
    if pending:
        lines += ["", "Small steps waiting for a follow-up"]
        lines += [f"  {_local(p.at)}  {_short(p.step)}" for p in pending]
    return "\n".join(lines)


def cmd_history(args: argparse.Namespace) -> int:
    store = _open_store()
    if store is None:
        return 1
    with store:
        if args.plot is not None:  # the picture alone: the text history is one `companion history` away
            return _plot(store, args.plot, (args.days,) if args.days != 7 else (7, 30))
        if args.json:
            data = {
                "days": args.days,
                "summary": store.summary(args.days),
                "sessions": [record_json(r) for r in store.sessions(args.days)],
                "checkins": [record_json(r) for r in store.checkins(args.days)],
                "journal": [record_json(r) for r in store.journal(args.days)],
                "pending_connection_steps": [record_json(r) for r in store.pending_connection_steps()],
            }
            print(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            print(_history_text(store, args.days))
    return 0


def _plot(store: Store, path: Path, days: tuple[int, ...]) -> int:
    try:
        from companion.desktop.history_plot import write_history_plot
    except ImportError as exc:
        if exc.name == "companion.desktop.history_plot":
            print("Drawing the history picture is not available in this version of companion yet.",
                  file=sys.stderr)
        else:
            print(f"Cannot draw the history picture: {exc}. Fix: `pip install matplotlib` "
                  "in companion's environment.", file=sys.stderr)
        return 1
    try:
        written = write_history_plot(store, path, days)
    except OSError as exc:
        print(f"Cannot write the picture to {path}: {exc.strerror or exc}. "
              "Fix: choose a folder you can write to.", file=sys.stderr)
        return 1
    print(f"Picture written to {written}", file=sys.stderr)
    return 0


# ---- export ----

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _write_csv(out: io.TextIOBase, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})


def _columns(table: str) -> list[str]:
    return [f.name for f in fields(RECORD_TYPES[table])]


def _combined_csv(data: dict[str, Any]) -> str:
    columns = ["table"]
    for table in TABLES:
        columns += [c for c in _columns(table) if c not in columns]
    out = io.StringIO()
    _write_csv(out, columns, ({"table": t, **row} for t in TABLES for row in data[t]))
    return out.getvalue()


def _table_csv(data: dict[str, Any], table: str) -> str:
    out = io.StringIO()
    _write_csv(out, _columns(table), data[table])
    return out.getvalue()


def _open_private(path: Path, force: bool) -> int:
    """A file descriptor for writing, mode 0600; refuses to replace a file unless forced."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _write_private(path: Path, content: bytes, force: bool) -> None:
    with os.fdopen(_open_private(path, force), "wb") as f:
        f.write(content)


def cmd_export(args: argparse.Namespace) -> int:
    store = _open_store()
    if store is None:
        return 1
    with store:
        data = store.export()
    if args.output is None:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n" if args.format == "json"
                         else _combined_csv(data))
        return 0
    target = Path(args.output).expanduser()
    try:
        if args.format == "json":
            document = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
            _write_private(target, document.encode(), args.force)
        elif args.output.endswith(("/", os.sep)) or target.is_dir():
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
            clashes = [t for t in TABLES if (target / f"{t}.csv").exists()]
            if clashes and not args.force:
                raise FileExistsError(0, "already exists", str(target / f"{clashes[0]}.csv"))
            for table in TABLES:
                _write_private(target / f"{table}.csv", _table_csv(data, table).encode(), True)
        elif target.suffix.lower() == ".zip":
            with os.fdopen(_open_private(target, args.force), "wb") as f, \
                    zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
                for table in TABLES:
                    archive.writestr(f"{table}.csv", _table_csv(data, table))
        else:
            _write_private(target, _combined_csv(data).encode(), args.force)
    except FileExistsError as exc:
        print(f"Not written: {exc.filename} already exists. Fix: choose another name, or add --force "
              "to replace it.", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Cannot write {exc.filename or target}: {exc.strerror or exc}. "
              "Fix: choose a folder you can write to.", file=sys.stderr)
        return 1
    total = sum(len(data[t]) for t in TABLES)
    print(f"Exported {_plural(total, 'record')} to {target} (readable only by you).", file=sys.stderr)
    return 0


# ---- forget ----

def cmd_forget(args: argparse.Namespace) -> int:
    if not args.all:
        print(args._usage().rstrip(), file=sys.stderr)
        print("Nothing was deleted. To erase your whole history: companion forget --all", file=sys.stderr)
        return 2
    if not args.yes and not sys.stdin.isatty():
        print("Nothing was deleted: erasing everything needs you to type yes, and there is no terminal "
              "to ask in. Fix: run it in a terminal, or add --yes if you are sure.", file=sys.stderr)
        return 1
    store = _open_store()
    if store is None:
        return 1
    # Copies moved aside when they could not be read hold history too; erasing everything includes them.
    db = store.path or paths.db_path()
    set_aside = sorted(db.parent.glob(f"{db.name}.corrupt-*"))
    with store:
        counts = store.counts()
        if not args.yes:
            listed = ", ".join(_plural(n, *TABLE_WORDS[t]) for t, n in counts.items())
            print(f"This erases your whole history on this computer: {listed}.")
            if set_aside:
                print(f"It also deletes {_plural(len(set_aside), 'unreadable copy', 'unreadable copies')} "
                      f"set aside earlier: {', '.join(p.name for p in set_aside)}.")
            print("It cannot be undone. (`companion export` saves a copy first.)")
            try:
                answer = input('Type "yes" to erase everything: ')
            except EOFError:
                answer = ""
            if answer.strip().lower() != "yes":
                print("Nothing was deleted.")
                return 1
        store.forget_all()
    for copy in set_aside:
        for part in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
            part.unlink(missing_ok=True)
    print("Your history has been erased.")
    return 0
