"""Replays persona conversations (tests/data/conversations/*.yaml) through the real `companion chat --transcript`
and checks every turn: a reply, no fallback, no exercise unless asked for, what the reply mentions, what was saved.

A conversation file: `id`, `persona`, `source`, and `turns`, each `say` (the person's words, never edited),
`expect` (the outside writer's words) and checks:
  exercise: ID | breathe | any   an exercise may (and should) start on this turn; any start elsewhere is unasked
  repeats: true         the reply says the companion's previous line again
  fallback: true        a fallback reply is acceptable here (default: not)
  mentions: [...]       the reply says at least one of these (case-insensitive)
  avoid: [...]          the reply says none of these (grief is never "lovely", good news never "anger")
  journal: true         the person's words are saved in the journal, whole
  not_saved: true       the person's words are saved nowhere (a "no", a question)
  mood: {feeling: [..], intensity: [lo, hi]}   a check-in is saved with one of these feelings / that rating
  step_done: true       a pending small step is marked done by this turn
  step_saved: WORD      a small step holding WORD is saved during this part of the conversation
  crisis: true          the writer expects crisis help here: the guard must answer (elsewhere it must not)
A turn `{restart: true}` ends the chat and starts it again on the same history (memory across runs).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CONVERSATIONS = REPO / "tests" / "data" / "conversations"
RECENT = 10
BREATHING = {"box", "4-7-8", "coherent", "sigh"}


def fallback_lines() -> list[str]:
    data = yaml.safe_load((REPO / "companion/data/replies/dialogue.yaml").read_text(encoding="utf-8"))
    return [*data["fallback"]]


@dataclass
class Turn:
    said: str
    lines: list[str] = field(default_factory=list)      # the companion's own lines
    exercise_lines: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    crisis: bool = False                                  # the crisis guard answered (its words are its own)


@dataclass
class Verdict:
    conversation: str
    turn: int
    said: str
    check: str
    ok: bool
    detail: str = ""


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_batch(name: str) -> list[dict[str, Any]]:
    return [load(p) for p in sorted(CONVERSATIONS.glob(f"{name}_*.yaml"))]


def _env(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var, sub in (("COMPANION_DATA_DIR", "data"), ("COMPANION_CONFIG_DIR", "config"),
                     ("COMPANION_RUNTIME_DIR", "run"), ("COMPANION_EXPORT_DIR", "documents")):
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    env.setdefault("COMPANION_CACHE_DIR", str(Path(tempfile.gettempdir()) / "companion-conversation-cache"))
    env.pop("DISPLAY", None)
    env["PYTHONPATH"] = str(REPO)
    return env


def _chat(lines: list[str], env: dict[str, str]) -> list[Turn]:
    done = subprocess.run([sys.executable, "-m", "companion", "chat", "--silent", "--transcript"],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, env=env, timeout=600,
                          cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"companion chat failed ({done.returncode}): {done.stderr[-2000:]}")
    turns = [Turn("")]  # turn 0: the greeting
    for row in done.stdout.splitlines():
        if row.startswith("you: "):
            turns.append(Turn(row[5:]))
        elif row.startswith("companion (exercise): "):
            turns[-1].exercise_lines.append(row.split(": ", 1)[1])
        elif row.startswith("companion: "):
            turns[-1].lines.append(row.split(": ", 1)[1])
        elif row.strip().startswith("[crisis reply"):
            turns[-1].crisis = True
        elif row.strip().startswith("[exercise started: "):
            turns[-1].started.append(row.strip()[len("[exercise started: "):-1])
    return turns


def _saved(db: Path) -> dict[str, list[dict[str, Any]]]:
    if not db.exists():
        return {"journal": [], "connection_steps": [], "checkins": []}
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return {t: [dict(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY id")]
                for t in ("journal", "connection_steps", "checkins")}
    finally:
        conn.close()


def run(conversation: dict[str, Any]) -> tuple[list[Turn], list[Verdict]]:
    """Runs one conversation (in as many chats as it has restarts) and checks it."""
    with tempfile.TemporaryDirectory(prefix="conv-") as tmp:
        env = _env(Path(tmp))
        db = Path(env["COMPANION_DATA_DIR"]) / "companion.sqlite3"
        parts: list[list[dict[str, Any]]] = [[]]
        for turn in conversation["turns"]:
            if turn.get("restart"):
                parts.append([])
            else:
                parts[-1].append(turn)
        turns: list[Turn] = []
        specs: list[dict[str, Any]] = []
        verdicts: list[Verdict] = []
        for part in parts:
            before = _saved(db)
            got = _chat([str(t["say"]) for t in part], env)
            after = _saved(db)
            if len(got) - 1 != len(part):
                raise RuntimeError(f"{conversation['id']}: {len(part)} lines sent, {len(got) - 1} turns seen")
            turns += got[1:]
            specs += part
            verdicts += _check_saved(conversation["id"], part, before, after, len(turns) - len(part))
        verdicts += _check_turns(conversation["id"], turns, specs)
        return turns, verdicts


def _check_turns(cid: str, turns: list[Turn], specs: list[dict[str, Any]]) -> list[Verdict]:
    fallbacks = fallback_lines()
    out: list[Verdict] = []
    recent: list[str] = []
    for n, (turn, spec) in enumerate(zip(turns, specs, strict=True), 1):
        said = turn.said
        text = " ".join(turn.lines + turn.exercise_lines)
        out.append(Verdict(cid, n, said, "reply", bool(text.strip())))
        is_fallback = any(line in fallbacks for line in turn.lines)
        out.append(Verdict(cid, n, said, "not_fallback", not is_fallback or bool(spec.get("fallback")),
                           text[:120]))
        allowed = spec.get("exercise")
        fits = BREATHING if allowed == "breathe" else {allowed}
        unasked = [e for e in turn.started if not (allowed == "any" or e in fits)]
        out.append(Verdict(cid, n, said, "no_unasked_exercise", not unasked, ",".join(unasked)))
        if allowed and allowed != "any":
            started = bool(fits & set(turn.started))
            out.append(Verdict(cid, n, said, "exercise_started", started, ",".join(turn.started)))
        if spec.get("repeats"):
            before = turns[n - 2].lines[-1:] + turns[n - 2].exercise_lines[-1:] if n > 1 else []
            again = any(b and b in text for b in before)
            out.append(Verdict(cid, n, said, "repeats", again, text[:120]))
        if spec.get("crisis"):
            out.append(Verdict(cid, n, said, "crisis_reply", turn.crisis))
        else:
            out.append(Verdict(cid, n, said, "no_crisis_reply", not turn.crisis))
        if turn.crisis:  # the guard's reply is safety's (docs/benchmarks/safety.md): counted, not read further
            continue
        if spec.get("mentions"):
            hit = any(re.search(re.escape(str(w)), text, re.IGNORECASE) for w in spec["mentions"])
            out.append(Verdict(cid, n, said, "topic", hit, text[:160]))
        for word in spec.get("avoid") or ():
            found = re.search(rf"\b{re.escape(str(word))}", text, re.IGNORECASE)
            out.append(Verdict(cid, n, said, "polarity", not found, str(word) if found else ""))
        repeated = [] if spec.get("repeats") else [line for line in turn.lines if line in recent]
        out.append(Verdict(cid, n, said, "no_repeat", not repeated, repeated[0][:80] if repeated else ""))
        for line in turn.lines:
            recent = [*recent, line][-RECENT:]
    return out


def _check_saved(cid: str, part: list[dict[str, Any]], before: dict[str, list[dict[str, Any]]],
                 after: dict[str, list[dict[str, Any]]], offset: int) -> list[Verdict]:
    out: list[Verdict] = []
    new = {t: after[t][len(before[t]):] for t in after}
    texts = [r["text"] for r in new["journal"]] + [r["step"] for r in new["connection_steps"]] + \
            [r["note"] or "" for r in new["checkins"]]
    for n, spec in enumerate(part, offset + 1):
        said = " ".join(str(spec["say"]).split())
        if spec.get("journal"):
            kept = any(said in " ".join(r["text"].split()) for r in new["journal"])
            out.append(Verdict(cid, n, said, "journal_kept", kept))
        if spec.get("not_saved"):
            stored = [t for t in texts if said and t and " ".join(t.split()) == said]
            stored += [r["step"] for r in new["connection_steps"] if " ".join(r["step"].split()) == said]
            out.append(Verdict(cid, n, said, "not_saved", not stored))
        mood = spec.get("mood")
        if mood:
            feelings = mood.get("feeling") or []
            lo, hi = (mood.get("intensity") or [None, None])
            ok = any((not feelings or r["feeling"] in feelings)
                     and (lo is None or (r["intensity"] is not None and lo <= r["intensity"] <= hi))
                     for r in new["checkins"])
            out.append(Verdict(cid, n, said, "mood", ok, str([(r["feeling"], r["intensity"])
                                                               for r in new["checkins"]])))
        if spec.get("step_saved"):
            kept = any(str(spec["step_saved"]).lower() in r["step"].lower() for r in new["connection_steps"])
            out.append(Verdict(cid, n, said, "step_saved", kept, str([r["step"] for r in new["connection_steps"]])))
        if spec.get("step_done"):
            done = [r for r in after["connection_steps"] if r["outcome"] == "done"]
            out.append(Verdict(cid, n, said, "step_done", bool(done)))
    return out


METRICS = {  # what the targets are about → the checks that measure it
    "turns without a reply": "reply", "fallback replies": "not_fallback",
    "exercises started unasked": "no_unasked_exercise", "topic reflected": "topic",
    "polarity right": "polarity", "journal entries kept": "journal_kept", "'no' / questions not stored": "not_saved",
    "mood saved right": "mood", "repeated lines (10 turns)": "no_repeat",
    "crisis guard answered instead": "no_crisis_reply", "crisis help where the writer expects it": "crisis_reply",
    "requested exercise started": "exercise_started",
    "'again' repeats": "repeats", "step marked done": "step_done", "step saved when asked": "step_saved",
}


def score(verdicts: list[Verdict]) -> dict[str, tuple[int, int]]:
    """check name → (failed, total)."""
    out: dict[str, tuple[int, int]] = {}
    for v in verdicts:
        failed, total = out.get(v.check, (0, 0))
        out[v.check] = (failed + (not v.ok), total + 1)
    return out
