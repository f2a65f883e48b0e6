"""Crisis guard: notices language about suicide or self-harm in any utterance or journal text, and gives the
calm reply with the right crisis line. It runs before anything else and must never let a phrase through to
save a false alarm; it must never flag a figure of speech listed in its data, nor give method details.
"""

from __future__ import annotations

import functools
import locale
import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from companion.core import safety_model
from companion.core.fuzzy import normalize

_HEDGES = re.compile(r"\b(to|i|want|wanna|going|gonna|should|could|would|might) "
                     r"(really|just|literally|honestly|actually|seriously|kind of|sort of|kinda|truly|"
                     r"totally|simply) "
                     r"|\b(to|i|want|wanna|going|gonna) like ")  # not "would like": that is a wish
# "ill" typed or heard without its apostrophe is "i'll" unless a word says it means unwell
_ILL = re.compile(r"\bill (?!(with|from|for|health|and|in|at|today|again|or|effects|person|people|patient|"
                  r"advised|feeling|as|to|of|lately|all|since|after|because|but|so|this|last|recently|"
                  r"yesterday|now|too|enough|tonight|the|a)\b)")
# a word or two said twice by a recognizer or a halting voice: "i want to want to die", "myself myself"
_REPEATS = re.compile(r"\b(\w+(?: \w+)?)(?: \1\b)+")
_MY_SELF = re.compile(r"\b(my|me) self\b(?! (portrait|portraits|esteem|confidence|image|care|worth|help|"
                      r"control|love|respect|defen[cs]e|assessment|awareness|doubt|employed|service|checkout))")
# words a recognizer hears for others only in a crisis phrase ("i dont want to be a life anymore")
_HEARD_AS = (
    (re.compile(r"\bbe a life\b(?= *$| anymore| any more| any longer)"), "be alive"),
    (re.compile(r"\b(stop|quit) leaving$"), r"\1 living"),
)
_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+|\s*\n\s*")
_MAX_SCAN = 20_000  # characters read from one text (a long journal entry is read in full up to this)


CRISIS = "crisis"  # a pattern fired: the crisis reply
CHECK = "check"    # only the learned second reading fired: a gentle "are you safe?" with the line


@dataclass(frozen=True)
class SafetyMatch:
    """Crisis language found: which pattern fired (or "learned") and the words that matched (for logs, never
    stored); `level` says how sure the guard is and so which reply fits, `score` is in [0, 1]."""

    pattern: str
    matched: str
    level: str = CRISIS
    score: float = 1.0


@dataclass(frozen=True)
class CrisisLine:
    """Where to turn in one region (data: companion/data/crisis_lines.toml)."""

    region: str
    name: str
    phone: str
    text: str
    url: str
    note: str


@dataclass(frozen=True)
class _Guard:
    patterns: tuple[re.Pattern[str], ...]
    idioms: tuple[re.Pattern[str], ...]
    phrase_fixes: tuple[tuple[re.Pattern[str], str], ...]
    word_fixes: dict[str, str]
    keywords: tuple[str, ...]


def _data_text(*parts: str) -> str:
    return resources.files("companion").joinpath("data", *parts).read_text(encoding="utf-8")


def _expand(template: str, words: dict[str, str]) -> str:
    for _ in range(3):  # word groups may use other groups
        template = re.sub(r"\{(\w+)\}", lambda m: words.get(m.group(1), m.group(0)), template)
    return template


@functools.cache
def _guard() -> _Guard:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw: dict[str, Any] = yaml.load(_data_text("safety", "crisis.yaml"), Loader=loader)
    words = {k: str(v) for k, v in (raw.get("words") or {}).items()}
    patterns = tuple(re.compile(_expand(p, words)) for p in raw["patterns"])
    idioms = tuple(re.compile(_expand(p, words)) for p in raw.get("idioms") or ())
    spelling = raw.get("spelling") or {}
    fixed = {str(k): str(v) for k, v in (spelling.get("fixed") or {}).items()}
    phrase_fixes = tuple((re.compile(rf"\b{re.escape(k)}\b"), v) for k, v in fixed.items() if " " in k)
    word_fixes = {k: v for k, v in fixed.items() if " " not in k}
    keywords = tuple(w for w in spelling.get("words") or () if " " not in w)
    return _Guard(patterns, idioms, phrase_fixes, word_fixes, keywords)


def _correct(text: str, guard: _Guard) -> str:
    """Fixes near-misses of the key words ("suicidle", "kill my elf") so patterns see what was meant."""
    from rapidfuzz.distance import Levenshtein

    for rx, repl in guard.phrase_fixes:
        text = rx.sub(repl, text)
    out = []
    for w in text.split():
        w = guard.word_fixes.get(w, w)
        if len(w) >= 6 and w not in guard.keywords:
            for k in guard.keywords:
                if len(k) >= 6 and Levenshtein.distance(w, k, score_cutoff=1) <= 1:
                    w = k
                    break
        out.append(w)
    return " ".join(out)


def prepare(text: str) -> str:
    """The text as the guard reads it: normalised, corrected, figures of speech blanked out."""
    guard = _guard()
    clean = _correct(normalize(text[:_MAX_SCAN]), guard)
    clean = _REPEATS.sub(r"\1", clean)
    # joined words a recognizer splits: "my self" → "myself" (not "my self portrait", "my self esteem")
    clean = _MY_SELF.sub("myself", clean)
    for rx, repl in _HEARD_AS:
        clean = rx.sub(repl, clean)
    clean = _ILL.sub("i will ", clean)
    for rx in guard.idioms:
        clean = rx.sub(" , ", clean)
    # hedges between the words that matter: "i want to like just die" → "i want to die"
    for _ in range(3):
        clean = _HEDGES.sub(lambda m: f"{m.group(1) or m.group(3)} ", clean)
    return " ".join(clean.split())


def _first_match(clean: str) -> SafetyMatch | None:
    for rx in _guard().patterns:
        m = rx.search(clean)
        if m:
            return SafetyMatch(pattern=rx.pattern[:80], matched=m.group(0))
    return None


def _sentences(text: str) -> list[str]:
    """The sentences of a text of more than one; [] for a single sentence."""
    parts = [s for s in _SENTENCE_END.split(text[:_MAX_SCAN]) if s.strip()]
    return parts if len(parts) > 1 else []


@functools.lru_cache(maxsize=8)
def _readings(text: str) -> tuple[str, ...]:
    """The text as the guard reads it, whole and then sentence by sentence: kept for a moment, because the
    patterns and then the learned reading both read the same utterance or journal entry."""
    return tuple(prepare(part) for part in [text, *_sentences(text)])


def check_patterns(text: str) -> SafetyMatch | None:
    """The patterns' verdict alone (crisis.yaml): certain, listed phrasings.

    The whole text is read first (a thought may run over two sentences), then each sentence on its own, so a
    phrase that ends a sentence ("i just want out.") is still seen as ending one inside a long journal entry."""
    if not text or not text.strip():
        return None
    for clean in _readings(text):
        found = _first_match(clean)
        if found is not None:
            return found
    return None


@functools.cache
def _model() -> safety_model.Model:
    return safety_model.load(prepare)


def check_learned(text: str) -> SafetyMatch | None:
    """The learned second reading alone: a match at level CHECK when the text (or one of its sentences)
    scores at or above the threshold in safety/model.yaml."""
    if not text or not text.strip():
        return None
    model, threshold = _model(), safety_model.settings().threshold
    best, best_text = 0.0, ""
    for clean in _readings(text):
        if clean.strip(" ,"):
            score = model.score_text(clean)
            if score > best:
                best, best_text = score, clean
    if best >= threshold:
        return SafetyMatch(pattern="learned", matched=best_text[:200], level=CHECK, score=round(best, 4))
    return None


def check(text: str) -> SafetyMatch | None:
    """A SafetyMatch when the text talks about suicide or self-harm (directly or not), else None: the
    patterns first (level CRISIS), then the learned second reading (level CHECK)."""
    return check_patterns(text) or check_learned(text)


@functools.cache
def _lines() -> dict[str, Any]:
    return tomllib.loads(_data_text("crisis_lines.toml"))


def crisis_line(region: str) -> CrisisLine:
    """The line for a region code ("US", "GB", "ie"…); the generic entry for anything unknown or empty."""
    data = _lines()
    regions: dict[str, Any] = data["regions"]
    code = (region or "").strip().upper()
    code = data.get("aliases", {}).get(code, code)
    entry = regions.get(code) or data["generic"]
    return CrisisLine(region=code if code in regions else "", name=entry["name"],
                      phone=entry.get("phone", ""), text=entry.get("text", ""), url=entry.get("url", ""),
                      note=entry.get("note", ""))


def crisis_reply(region: str, level: str = CRISIS) -> str:
    """What the companion says when the guard fires: calm, brief, not a crisis service, the local line,
    and whether the person is safe right now. At level CHECK it asks first whether that is what was meant."""
    data = _lines()
    section = "check" if level == CHECK else "reply"
    return " ".join(data[section]["template"].format(line=crisis_line(region).note).split())


SAFETY_ANSWERS = ("safe", "not_safe", "unclear")


def safety_answer(kind: str, region: str) -> str:
    """What the companion says to the answer to "Are you safe right now?" ([answers] in crisis_lines.toml):
    `kind` is "safe" (they said yes), "not_safe" (no) or "unclear" (anything else)."""
    if kind not in SAFETY_ANSWERS:
        raise ValueError(f"kind must be one of {', '.join(SAFETY_ANSWERS)}, got {kind!r}")
    template = str((_lines().get("answers") or {}).get(kind, "")).strip()
    if not template:
        raise ValueError(f"crisis_lines.toml: [answers] needs {kind}")
    return " ".join(template.format(line=crisis_line(region).note).split())


def region_from_locale() -> str:
    """Region code from LC_ALL / LC_MESSAGES / LANG ("en_GB.UTF-8" → "GB"); "" when unknown."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            break
    else:
        value = locale.getlocale()[0] or ""
    m = re.match(r"^[a-zA-Z]{2,3}[_-]([a-zA-Z]{2})\b", value)
    return m.group(1).upper() if m else ""
