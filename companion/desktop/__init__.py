"""Desktop front ends (tray, hotkey, breathing window) that turn clicks and keys into Companion commands.

They only call `companion.app.Companion` methods and render its events; no session logic lives here.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@lru_cache(maxsize=1)
def texts() -> dict[str, Any]:
    """The words the desktop shows (companion/data/menu.yaml)."""
    raw = resources.files("companion").joinpath("data/menu.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(raw)
    if not isinstance(data, dict):
        raise ValueError("companion/data/menu.yaml must be a mapping with tray, pacer and messages sections")
    return data


def message(key: str, **fields: str) -> str:
    """A message from menu.yaml's `messages` section, with {fields} filled in."""
    return str(texts()["messages"][key]).strip().format(**fields)
