"""The companion's own lines around the exercises (greetings, offers, check-ins), loaded from data.

Never holds wording itself: every sentence is in companion/data/app_lines.yaml, reviewable by non-programmers.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

import yaml


class Lines:
    """Named lines with variants; consecutive picks of one key rotate so nothing repeats word for word."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self._table = table
        self._turn: dict[str, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, filename: str = "app_lines.yaml") -> Lines:
        """Reads a data file; nested sections become dotted keys ("snoozed.minutes")."""
        text = resources.files("companion.data").joinpath(filename).read_text(encoding="utf-8")
        table: dict[str, list[str]] = {}

        def add(prefix: str, node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    add(f"{prefix}.{key}" if prefix else str(key), value)
                return
            variants = [node] if isinstance(node, str) else list(node or [])
            if not variants or not all(isinstance(v, str) and v.strip() for v in variants):
                raise ValueError(f"{filename}: '{prefix}' needs one or more non-empty lines")
            table[prefix] = variants

        add("", yaml.safe_load(text) or {})
        return cls(table)

    def pick(self, key: str, **fields: Any) -> str:
        variants = self._table[key]
        with self._lock:
            turn = self._turn.get(key, 0)
            self._turn[key] = turn + 1
        return variants[turn % len(variants)].format(**fields)

    def keys(self) -> list[str]:
        return sorted(self._table)
