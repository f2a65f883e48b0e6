"""A readable copy of the journal, written when the person asks for one in conversation ("could you export what I
wrote last night?"): plain text, newest last, each entry with its date and the prompt it answered, in a private
file (mode 0600) that never replaces an existing one. `companion export` stays the complete, machine-readable copy."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from companion.core.store import JournalEntry


def render(entries: Sequence[JournalEntry]) -> str:
    """The entries as a person reads them: a heading, then each entry under its local date and time."""
    parts = ["My journal (a copy from the companion, kept on this computer)", ""]
    for entry in sorted(entries, key=lambda e: e.at):
        parts.append(entry.at.astimezone().strftime("%A %d %B %Y, %H:%M"))
        if entry.prompt:
            parts.append(f"({entry.prompt})")
        parts += [entry.text.strip(), ""]
    return "\n".join(parts)


def write(entries: Sequence[JournalEntry], folder: Path) -> Path:
    """Writes the copy into `folder` as companion-journal-YYYY-MM-DD.txt (a number added when that exists) and
    returns its path; raises OSError when the folder cannot be written."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"companion-journal-{datetime.now().astimezone():%Y-%m-%d}"
    for n in range(1, 100):
        path = folder / (f"{stem}.txt" if n == 1 else f"{stem}-{n}.txt")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render(entries))
        return path
    raise FileExistsError(f"{folder / stem}.txt and 98 numbered copies already exist")
