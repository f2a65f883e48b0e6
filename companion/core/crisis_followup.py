"""What the companion says after its crisis reply, to the answer to "Are you safe right now?".

The words are data (companion/data/crisis_lines.toml, [answers]); this never decides whether something is a crisis.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from companion.core.safety import crisis_line

ANSWERS = ("safe", "not_safe", "unclear")


@functools.cache
def _answers() -> dict[str, str]:
    raw = tomllib.loads(resources.files("companion.data").joinpath("crisis_lines.toml").read_text(encoding="utf-8"))
    answers = raw.get("answers") or {}
    missing = [key for key in ANSWERS if not str(answers.get(key, "")).strip()]
    if missing:
        raise ValueError(f"crisis_lines.toml: [answers] needs {', '.join(missing)}")
    return {key: str(answers[key]) for key in ANSWERS}


def safety_answer(kind: str, region: str) -> str:
    """`kind`: "safe" (they said yes), "not_safe" (no), "unclear" (anything else)."""
    return " ".join(_answers()[kind].format(line=crisis_line(region).note).split())
