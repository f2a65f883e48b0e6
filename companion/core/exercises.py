"""Exercise files (TOML scripts of steps) → validated, frozen Exercise objects, and the library of them.

Must never run anything or guess: a malformed file is rejected with the file, the step and what is wrong.
"""

from __future__ import annotations

import difflib
import re
import string
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from companion.core import paths
from companion.core.intent import INTENTS, PATTERNS

KINDS: tuple[str, ...] = ("breathing", "grounding", "compassion", "reframe", "journal", "connect", "info")
PHASE_NAMES: tuple[str, ...] = ("inhale", "hold", "exhale", "rest")
STEP_TYPES: tuple[str, ...] = ("say", "pause", "breathe", "ask", "record", "goto")
ASK_MODES: tuple[str, ...] = ("command", "open")
# Words a branch may be keyed on besides intent names: "next" (skip), any "other" answer, "timeout".
BRANCH_WORDS: tuple[str, ...] = ("next", "other", "timeout")
END_TARGET = "end"
# Names every script may use in {placeholders} and when/unless; asks add their own with save_as.
BUILTIN_VARS: tuple[str, ...] = ("answer", "prompt", "thought")
DEFAULT_TIMEOUT = {"command": 20.0, "open": 60.0}
MAX_STEP_SECONDS = 600.0
MAX_CYCLES = 500
MAX_MINUTES = 120.0

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = ("id", "title", "kind", "description", "tags", "steps")
_COMMON_KEYS = ("type", "label", "when", "unless")
_STEP_KEYS: dict[str, tuple[str, ...]] = {
    "say": ("text",),
    "pause": ("seconds",),
    "breathe": ("phases", "cycles", "minutes"),
    "ask": ("text", "mode", "expect", "timeout", "save_as", "branches"),
    "record": ("kind", "text", "prompt", "thought"),
    "goto": ("to",),
}
_PHASE_KEYS = ("name", "seconds", "cue", "first_cue")


class ExerciseError(Exception):
    """A problem in one exercise file: `path`, `where` ("step 3 (breathe)"; "" for the file), `message`."""

    def __init__(self, path: Path | str, where: str, message: str) -> None:
        self.path = Path(path)
        self.where = where
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.where:
            return f"{self.path.name}, {self.where}: {self.message}"
        return f"{self.path.name}: {self.message}"


@dataclass(frozen=True)
class Phase:
    """One breathing phase: `name` is inhale|hold|exhale|rest; cues are spoken at its start."""

    name: str
    seconds: float
    cue: tuple[str, ...] = ()
    first_cue: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Step:
    """What every step has: an optional `label` (goto / branch target) and conditions on a variable."""

    label: str | None = None
    when: str | None = None  # run only when this variable is set (non-empty)
    unless: str | None = None  # run only when this variable is empty

    @property
    def type(self) -> str:
        return _TYPE_OF[type(self)]


@dataclass(frozen=True, kw_only=True)
class SayStep(Step):
    text: tuple[str, ...]  # variants; one is picked each time


@dataclass(frozen=True, kw_only=True)
class PauseStep(Step):
    seconds: float


@dataclass(frozen=True, kw_only=True)
class BreatheStep(Step):
    """Cycles of phases; runs for `cycles` or `minutes` (the file's default, session options override)."""

    phases: tuple[Phase, ...]
    cycles: int | None = None
    minutes: float | None = None

    @property
    def cycle_seconds(self) -> float:
        return sum(p.seconds for p in self.phases)


@dataclass(frozen=True, kw_only=True)
class AskStep(Step):
    """Says a question, then listens; `branches` maps an intent / "next" / "other" / "timeout" to a label."""

    text: tuple[str, ...]
    mode: str = "open"
    expect: frozenset[str] = frozenset()
    timeout: float = DEFAULT_TIMEOUT["open"]
    save_as: str | None = None
    branches: tuple[tuple[str, str], ...] = ()

    def branch(self, key: str) -> str | None:
        return dict(self.branches).get(key)


@dataclass(frozen=True, kw_only=True)
class RecordStep(Step):
    """Keeps something the person said (journal text, a kinder sentence, a connection step)."""

    kind: str
    text: str
    prompt: str | None = None
    thought: str | None = None


@dataclass(frozen=True, kw_only=True)
class GotoStep(Step):
    to: str


_TYPE_OF: dict[type, str] = {
    SayStep: "say", PauseStep: "pause", BreatheStep: "breathe", AskStep: "ask", RecordStep: "record",
    GotoStep: "goto",
}


@dataclass(frozen=True)
class Exercise:
    """A validated script. `path` is where it was read from; `builtin` says whether it ships with us."""

    id: str
    title: str
    kind: str
    steps: tuple[Step, ...]
    description: str = ""
    tags: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)
    builtin: bool = False

    def label_index(self, label: str) -> int:
        """The step index a label names (validated on load, so it exists)."""
        for i, step in enumerate(self.steps):
            if step.label == label:
                return i
        raise KeyError(label)

    def spoken_lines(self) -> list[str]:
        """Every fixed line the script may say (cues and say/ask texts without {variables}) in speaking order (a
        breathing step's first cycle before its later cues), once each: what a slow voice renders ahead."""
        lines: dict[str, None] = {}
        for step in self.steps:
            texts: tuple[str, ...] = ()
            if isinstance(step, SayStep | AskStep):
                texts = step.text
            elif isinstance(step, BreatheStep):
                first = (t for p in step.phases for t in p.first_cue or p.cue)  # the first cycle's lines
                texts = (*first, *(t for p in step.phases for t in p.cue))
            lines.update((t, None) for t in texts if t and "{" not in t)
        return list(lines)

    @property
    def breathe_steps(self) -> tuple[BreatheStep, ...]:
        return tuple(s for s in self.steps if isinstance(s, BreatheStep))


# ----------------------------------------------------------------------------------------------- loading


def load_exercise_file(path: Path | str, *, builtin: bool = False) -> Exercise:
    """Reads and validates one file; raises ExerciseError naming the file, step and problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ExerciseError(path, "", f"cannot read the file ({e.strerror or e})") from e
    return parse_exercise(raw, path, builtin=builtin)


def parse_exercise(raw: bytes | str, path: Path | str, *, builtin: bool = False) -> Exercise:
    """Validates TOML text as an exercise; `path` names it in messages."""
    path = Path(path)
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as e:
        raise ExerciseError(path, "", "the file is not UTF-8 text; save it as UTF-8") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ExerciseError(path, "", f"not valid TOML: {e}") from e
    return _Validator(path).exercise(data, builtin=builtin)


class _Validator:
    """Turns parsed TOML into an Exercise, raising the first problem found with its location."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = ""

    def fail(self, message: str) -> ExerciseError:
        return ExerciseError(self.path, self.where, message)

    def keys(self, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(allowed)}"
                raise self.fail(f"unknown key '{key}'{hint}")

    def text(self, table: dict[str, Any], key: str, *, required: bool = True) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                raise self.fail(f"'{key}' is missing")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be non-empty text, got {value!r}")
        return value.strip()

    def variants(self, table: dict[str, Any], key: str, *, required: bool = True) -> tuple[str, ...]:
        """Text or a list of texts (variants said in turn so lines do not repeat word for word)."""
        value = table.get(key)
        if value is None:
            if required:
                raise self.fail(f"'{key}' is missing")
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise self.fail(f"'{key}' must be text or a non-empty list of texts, got {value!r}")
        out = []
        for n, item in enumerate(items, 1):
            if not isinstance(item, str) or not item.strip():
                which = f"'{key}'" if isinstance(value, str) else f"'{key}' item {n}"
                raise self.fail(f"{which} must be non-empty text, got {item!r}")
            out.append(" ".join(item.split()))
        return tuple(out)

    def number(self, table: dict[str, Any], key: str, *, limit: float, required: bool = True) -> float | None:
        value = table.get(key)
        if value is None:
            if required:
                raise self.fail(f"'{key}' is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise self.fail(f"{key} must be a positive number, got {value!r}")
        if value > limit:
            raise self.fail(f"{key} must be at most {limit:g}, got {value!r}")
        return float(value)

    def name(self, table: dict[str, Any], key: str) -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not _NAME_RE.match(value):
            raise self.fail(f"'{key}' must be a lowercase name like 'my_answer', got {value!r}")
        return value

    # -------------------------------------------------------------------------------------------- file

    def exercise(self, data: dict[str, Any], *, builtin: bool) -> Exercise:
        self.keys(data, _TOP_KEYS)
        ex_id = data.get("id")
        if not isinstance(ex_id, str) or not _ID_RE.match(ex_id):
            raise self.fail("'id' must be lowercase letters, digits, '-' or '_' (like \"box\" or \"4-7-8\"), "
                            f"got {ex_id!r}")
        title = self.text(data, "title")
        kind = data.get("kind")
        if kind not in KINDS:
            raise self.fail(f"'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
        description = self.text(data, "description", required=False) or ""
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise self.fail(f"'tags' must be a list of words, got {tags!r}")
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise self.fail("there are no steps: add at least one [[steps]] table")

        # Names first, so steps may refer to labels and saved answers that come later in the file.
        labels: dict[str, int] = {}
        variables = set(BUILTIN_VARS)
        for n, raw in enumerate(raw_steps, 1):
            if not isinstance(raw, dict):
                self.where = f"step {n}"
                raise self.fail("each step must be a [[steps]] table")
            self.where = f"step {n} ({raw.get('type', '?')})"
            label = self.name(raw, "label")
            if label is not None:
                if label == END_TARGET:
                    raise self.fail(f"'{END_TARGET}' is reserved (it means: finish); choose another label")
                if label in labels:
                    raise self.fail(f"label '{label}' is already used by step {labels[label]}")
                labels[label] = n
            save_as = self.name(raw, "save_as")
            if save_as:
                variables.add(save_as)

        steps = []
        for n, raw in enumerate(raw_steps, 1):
            self.where = f"step {n} ({raw.get('type', '?')})"
            steps.append(self.step(raw, labels, variables))
        self.where = ""
        if kind == "breathing" and not any(isinstance(s, BreatheStep) for s in steps):
            raise self.fail("a breathing exercise needs at least one step with type = \"breathe\"")
        return Exercise(id=ex_id, title=title or ex_id, kind=kind, steps=tuple(steps),
                        description=description, tags=tuple(t.strip() for t in tags), path=self.path,
                        builtin=builtin)

    # -------------------------------------------------------------------------------------------- steps

    def step(self, raw: dict[str, Any], labels: dict[str, int], variables: set[str]) -> Step:
        kind = raw.get("type")
        if kind not in STEP_TYPES:
            raise self.fail(f"'type' must be one of {', '.join(STEP_TYPES)}, got {kind!r}")
        self.keys(raw, _COMMON_KEYS + _STEP_KEYS[kind])
        common: dict[str, Any] = {"label": raw.get("label")}
        for cond in ("when", "unless"):
            var = self.name(raw, cond)
            if var is not None and var not in variables:
                known = ", ".join(sorted(variables))
                raise self.fail(f"'{cond}' names '{var}', which no step saves; known: {known}")
            common[cond] = var

        if kind == "say":
            return SayStep(text=self.templates(self.variants(raw, "text"), "text", variables), **common)
        if kind == "pause":
            return PauseStep(seconds=self.number(raw, "seconds", limit=MAX_STEP_SECONDS), **common)
        if kind == "breathe":
            return self.breathe(raw, common)
        if kind == "ask":
            return self.ask(raw, common, labels, variables)
        if kind == "record":
            rec_kind = raw.get("kind")
            if not isinstance(rec_kind, str) or not _NAME_RE.match(rec_kind):
                raise self.fail(f"'kind' must be a lowercase name like 'journal', got {rec_kind!r}")
            fields = {}
            for key in ("text", "prompt", "thought"):
                value = self.text(raw, key, required=key == "text")
                fields[key] = self.templates((value,), key, variables)[0] if value else None
            return RecordStep(kind=rec_kind, **fields, **common)
        target = self.text(raw, "to")
        self.target(target or "", "to", labels)
        return GotoStep(to=target or "", **common)

    def breathe(self, raw: dict[str, Any], common: dict[str, Any]) -> BreatheStep:
        step_where = self.where
        cycles = raw.get("cycles")
        if cycles is not None and (isinstance(cycles, bool) or not isinstance(cycles, int)
                                   or not 1 <= cycles <= MAX_CYCLES):
            raise self.fail(f"cycles must be a whole number from 1 to {MAX_CYCLES}, got {cycles!r}")
        minutes = self.number(raw, "minutes", limit=MAX_MINUTES, required=False)
        if cycles is None and minutes is None:
            raise self.fail("give a default length: 'cycles' (a whole number) or 'minutes'")
        if cycles is not None and minutes is not None:
            raise self.fail("give either 'cycles' or 'minutes' as the default, not both")
        phases_raw = raw.get("phases")
        if not isinstance(phases_raw, list) or not phases_raw:
            raise self.fail("'phases' is missing: add [[steps.phases]] tables with a name and seconds")
        phases = []
        for n, p in enumerate(phases_raw, 1):
            name = p.get("name") if isinstance(p, dict) else None
            self.where = f"{step_where}, phase {n}" + (f" ({name})" if isinstance(name, str) else "")
            if not isinstance(p, dict):
                raise self.fail("each phase must be a table with a name and seconds")
            self.keys(p, _PHASE_KEYS)
            if name not in PHASE_NAMES:
                raise self.fail(f"phase name must be one of {', '.join(PHASE_NAMES)}, got {name!r}")
            seconds = self.number(p, "seconds", limit=60.0)
            phases.append(Phase(name=name, seconds=seconds or 0.0,
                                cue=self.variants(p, "cue", required=False),
                                first_cue=self.variants(p, "first_cue", required=False)))
        self.where = step_where
        return BreatheStep(phases=tuple(phases), cycles=cycles, minutes=minutes, **common)

    def ask(self, raw: dict[str, Any], common: dict[str, Any], labels: dict[str, int],
            variables: set[str]) -> AskStep:
        text = self.templates(self.variants(raw, "text"), "text", variables)
        expect_raw = raw.get("expect", [])
        if not isinstance(expect_raw, list) or not all(isinstance(x, str) for x in expect_raw):
            raise self.fail(f"'expect' must be a list of intent names like [\"yes\", \"no\"], "
                            f"got {expect_raw!r}")
        for intent in expect_raw:
            if intent not in INTENTS and intent != "next":
                raise self.fail(f"'expect' has unknown intent '{intent}'; known: {', '.join(INTENTS)}, next")
        mode = raw.get("mode", "command" if expect_raw else "open")
        if mode not in ASK_MODES:
            raise self.fail(f"'mode' must be \"command\" or \"open\", got {mode!r}")
        if mode == "command" and not expect_raw:
            raise self.fail("a command question needs 'expect': the intents that answer it, "
                            "like [\"yes\", \"no\"]")
        timeout = self.number(raw, "timeout", limit=MAX_STEP_SECONDS, required=False) or DEFAULT_TIMEOUT[mode]
        branches_raw = raw.get("branches", {})
        if not isinstance(branches_raw, dict):
            raise self.fail("'branches' must be a table like { yes = \"label\", timeout = \"end\" }")
        branches = []
        for key, target in branches_raw.items():
            if key not in INTENTS and key not in BRANCH_WORDS:
                raise self.fail(f"branch '{key}' is not an intent or one of {', '.join(BRANCH_WORDS)}")
            if not isinstance(target, str):
                raise self.fail(f"branch '{key}' must name a step label or \"end\", got {target!r}")
            self.target(target, f"branch '{key}'", labels)
            branches.append((key, target))
        return AskStep(text=text, mode=mode, expect=frozenset(expect_raw), timeout=timeout,
                       save_as=raw.get("save_as"), branches=tuple(branches), **common)

    def target(self, target: str, what: str, labels: dict[str, int]) -> None:
        if target != END_TARGET and target not in labels:
            known = ", ".join(sorted(labels)) or "none yet"
            raise self.fail(f"{what} goes to '{target}', but no step has that label (labels: {known}; "
                            f"or \"{END_TARGET}\")")

    def templates(self, texts: tuple[str, ...], key: str, variables: set[str]) -> tuple[str, ...]:
        """Checks {placeholders}: only names the script knows, no format tricks."""
        for text in texts:
            try:
                parsed = list(string.Formatter().parse(text))
            except ValueError as e:
                raise self.fail(f"'{key}' has a stray brace in {text!r} ({e}); "
                                "write {{ or }} for a brace") from e
            for _, name, spec, conv in parsed:
                if name is None:
                    continue
                if name not in variables or spec or conv:
                    raise self.fail(f"'{key}' uses {{{name}}}, but only {{"
                                    + "}, {".join(sorted(variables)) + "} can be filled in")
        return texts


# ----------------------------------------------------------------------------------------------- library


class ExerciseLibrary:
    """Built-in exercises plus the person's own (which override built-ins with the same id)."""

    def __init__(self, exercises: dict[str, Exercise], problems: list[str], overridden: list[str]) -> None:
        self._exercises = dict(exercises)
        self.problems = problems
        self.overridden = overridden

    def get(self, exercise_id: str) -> Exercise:
        try:
            return self._exercises[exercise_id]
        except KeyError:
            available = ", ".join(self.ids())
            raise KeyError(f"no exercise called '{exercise_id}'; available: {available}") from None

    def ids(self) -> list[str]:
        return sorted(self._exercises)

    def breathing_ids(self) -> list[str]:
        """Breathing exercises, the standard patterns first in their usual order."""
        ids = [i for i in self.ids() if self._exercises[i].kind == "breathing"]
        order = {p: n for n, p in enumerate(PATTERNS)}
        return sorted(ids, key=lambda i: (order.get(i, len(order)), i))

    def __contains__(self, exercise_id: object) -> bool:
        return exercise_id in self._exercises

    def __iter__(self) -> Iterator[Exercise]:
        return iter(self._exercises[i] for i in self.ids())

    def __len__(self) -> int:
        return len(self._exercises)


def builtin_files() -> list[tuple[str, bytes]]:
    """(file name, bytes) of every exercise shipped in the package."""
    folder = resources.files("companion.data") / "exercises"
    return sorted((f.name, f.read_bytes()) for f in folder.iterdir() if f.name.endswith(".toml"))


def load_library(user_dir: Path | None = None) -> ExerciseLibrary:
    """Loads built-ins (a broken one raises: it is our bug) and the person's files from `user_dir`
    (default: paths.user_exercises_dir()); a broken user file is skipped and listed in `.problems`."""
    exercises: dict[str, Exercise] = {}
    builtin_dir = Path(str(resources.files("companion.data") / "exercises"))
    for name, raw in builtin_files():
        ex = parse_exercise(raw, builtin_dir / name, builtin=True)
        if ex.id in exercises:
            other = exercises[ex.id].path
            raise ExerciseError(builtin_dir / name, "", f"id '{ex.id}' is also used by {other}")
        exercises[ex.id] = ex

    problems: list[str] = []
    overridden: list[str] = []
    folder = paths.user_exercises_dir() if user_dir is None else Path(user_dir)
    seen: dict[str, Path] = {}
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    for path in files:
        try:
            ex = load_exercise_file(path)
        except ExerciseError as e:
            problems.append(f"{e} (file {path}; it was skipped)")
            continue
        if ex.id in seen:
            problems.append(f"{path.name}: id '{ex.id}' is also used by {seen[ex.id].name}; "
                            f"{path.name} was skipped (file {path})")
            continue
        seen[ex.id] = path
        if ex.id in exercises:
            overridden.append(ex.id)
        exercises[ex.id] = ex
    return ExerciseLibrary(exercises, problems, overridden)
