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
    def load(cls) -> Lines:
        text = resources.files("companion.data").joinpath("app_lines.yaml").read_text(encoding="utf-8")
        raw = yaml.safe_load(text) or {}
        table: dict[str, list[str]] = {}
        for key, value in raw.items():
            variants = [value] if isinstance(value, str) else list(value or [])
            if not variants or not all(isinstance(v, str) and v.strip() for v in variants):
                raise ValueError(f"app_lines.yaml: '{key}' needs one or more non-empty lines")
            table[str(key)] = variants
        return cls(table)

    def pick(self, key: str, **fields: Any) -> str:
        variants = self._table[key]
        with self._lock:
            turn = self._turn.get(key, 0)
            self._turn[key] = turn + 1
        return variants[turn % len(variants)].format(**fields)

    def keys(self) -> list[str]:
        return sorted(self._table)
