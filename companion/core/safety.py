"""Crisis guard: notices suicide, self-harm, danger from other people, medical emergencies and someone else in
danger in any utterance or journal text, and gives the calm reply for that kind with the region's emergency number
and lines. It runs before anything else and must never let a phrase through to save a false alarm; it must never
flag a figure of speech or recovery phrase listed in its data, nor give method details.
"""

from __future__ import annotations

import dataclasses
import functools
import locale
import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from companion.core import paths, prefilter, safety_model
from companion.core.fuzzy import normalize

_HEDGES = re.compile(r"\b(to|i|want|wanna|going|gonna|should|could|would|might|about|of) "
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
# Someone else's words read as the person's own, so the self patterns also hear another person's risk ("she does
# not see the point in living anymore" → "i do not see the point in living anymore"); a match is kind OTHER.
# Only leaning, planning and wishing verbs of "he" and "she" are turned ("they" is often anyone: "the surgeon said
# they would cut deeper"); "he is dead", "she would die for her team" and stories ("in the film") stay as they are.
_WHO = (r"(he|she|my (\w+ )?(friend|mate|bestie|boyfriend|girlfriend|partner|husband|wife|son|daughter|brother|"
        r"sister|mum|mom|mother|dad|father|grandad|grandma|nan|roommate|flatmate|housemate|cousin|colleague|student))")
_THEM = re.compile(rf"\b{_WHO}\b")
_STORY = re.compile(r"\b(film|movie|show|book|game|episode|series|novel|character|play|story|documentary|song)s?\b")
# a social-media story is a post, not a plot: "posted on his story that it's his last night"
_POSTED_STORY = re.compile(r"\b(on|to) (his|her|their|my) (insta |instagram |snap |snapchat |whatsapp |facebook |fb )?"
                           r"stor(y|ies)\b")
_VERB_AS_MINE = {"wants": "want", "wishes": "wish", "needs": "need", "plans": "plan", "tries": "try",
                 "keeps": "keep", "says": "say", "thinks": "think", "feels": "feel", "has": "have", "does": "do",
                 "is": "am", "are": "am", "hopes": "hope", "talks": "talk"}
_AS_MINE = (
    (re.compile(rf"\b{_WHO} (does|did|can|will|just|never|no longer|really|"
                r"wants|want|wanted|wishes|wish|wished|needs|need|plans|plan|planned|tried|tries|keeps|keep|"
                r"says|said|thinks|thought|feels|felt|hopes|hoped|talks|talked|"
                r"has (?=no\b|nothing\b|had enough\b|a plan\b|made\b|decided\b|written\b|chosen\b|picked\b|"
                r"been (planning|thinking|talking|saying|researching)\b))\b"
                r"(?! (died|passed|gone|been (killed|dead|gone)|left|moved))(?!(?: \w+){1,3} me\b)"),
     lambda m: f"i {_VERB_AS_MINE.get(m.group(4).strip(), m.group(4).strip())}{' ' * m.group(4).endswith(' ')}"),
    (re.compile(rf"\b{_WHO} (is) (going|gonna|planning|thinking|about|trying|talking|considering|"
                r"better off|a burden|not (safe|going|coming))\b(?!(?: \w+){1,3} me\b)"),
     lambda m: f"i am {m.group(5)}"),
    (re.compile(r"\b(himself|herself|themselves|themself)\b"), lambda m: "myself"),
    (re.compile(r"\bif (he|she|they) (died|was dead|was gone|disappeared|was not here|was not around|"
                r"killed (himself|herself))\b"),
     lambda m: f"if i {m.group(2)}"),
    # "his life", "her pills" only where they are still to be taken ("wants to end his life"), never in a past
    # ("my grandad took his own life in the 80s" is remembrance)
    (re.compile(r"\b(to|will|would|gonna|going to) (take|end|swallow|down) (all )?(of )?(his|her) (own life|life|pills|"
                r"tablets|meds)\b"),
     lambda m: f"{m.group(1)} {m.group(2)} {m.group(3) or ''}{m.group(4) or ''}my {m.group(6)}"),
    (re.compile(r"\b(his|her) last (night|day|week|weekend)\b"), lambda m: f"my last {m.group(2)}"),
    (re.compile(r"\bwithout (him|her)\b"), lambda m: "without me"),
)
_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+|\s*\n\s*")
_MAX_SCAN = 20_000  # characters read from one text (a long journal entry is read in full up to this)


# the learned reading's other kinds (danger, medical, someone else) read a text or sentence of at least this many words
_KIND_MIN_WORDS = 4

CRISIS = "crisis"  # a pattern fired: the crisis reply
CHECK = "check"    # only the learned second reading fired: a gentle "are you safe?" with the line

# What the danger is about, each with its own reply in crisis_lines.toml; the kind files in data/safety/ are read
# in this order, then self.yaml ("self"); "other" (someone else in danger) is also read off a "self" match.
SELF, METHOD, DANGER, MEDICAL, OTHER = "self", "method", "danger", "medical", "other"
KINDS = (SELF, METHOD, DANGER, MEDICAL, OTHER)
_KIND_FILES = ((DANGER, "danger.yaml"), (MEDICAL, "medical.yaml"), (METHOD, "method.yaml"),
               (OTHER, "someone_else.yaml"))
_SELF_FILE = "self.yaml"  # the person's own crisis, read after the kind files
_IDIOM_FILES = ("figures_of_speech.yaml", "not_crisis.yaml")
DATA_FILES = ("words.yaml", *(f for _, f in _KIND_FILES), _SELF_FILE, *_IDIOM_FILES, "quiet.yaml", "answers.yaml")


@dataclass(frozen=True)
class SafetyMatch:
    """Crisis language found: which pattern fired (or "learned") and the words that matched (for logs, never
    stored); `level` says how sure the guard is and so which reply fits, `score` is in [0, 1]."""

    pattern: str
    matched: str
    level: str = CRISIS
    score: float = 1.0
    kind: str = "self"  # one of KINDS: which reply fits


@dataclass(frozen=True)
class CrisisLine:
    """Where to turn in one region (data: companion/data/crisis_lines.toml): the crisis line, the emergency
    number, and the notes of the region's domestic-abuse, child and poison lines ("" where there is none)."""

    region: str
    name: str
    phone: str
    text: str
    url: str
    note: str
    emergency: str = "your local emergency number"
    abuse: str = ""
    child: str = ""
    poison: str = ""


@dataclass(frozen=True)
class _Group:
    """One commented group of a kind file (which of its patterns can match a text at all is read off the patterns
    themselves, like self.yaml's: core/prefilter.py)."""

    kind: str
    patterns: tuple[re.Pattern[str], ...]
    plain: bool  # read before figures of speech are blanked ("he said he will kill me" is not an idiom here)


@dataclass(frozen=True)
class _Index:
    """Which of a list of patterns can match a text: those with no known literal, and those whose literal
    (prefilter.required_literals) is in it, found through the literal's first three letters."""

    always: tuple[int, ...] = ()
    by_trigram: dict[str, tuple[tuple[str, tuple[int, ...]], ...]] = dataclasses.field(default_factory=dict)
    size: int = 0

    @classmethod
    def build(cls, patterns: tuple[re.Pattern[str], ...]) -> _Index:
        always, by_literal = [], {}
        try:
            cache: Path | None = paths.cache_dir()
        except Exception:  # no place to keep it: read the expressions every start
            cache = None
        for i, literals in enumerate(prefilter.required_literals_cached(patterns, cache)):
            if literals is None:
                always.append(i)
            for lit in literals or ():
                by_literal.setdefault(lit, []).append(i)
        by_trigram: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
        for lit, idx in by_literal.items():
            by_trigram.setdefault(lit[:3], []).append((lit, tuple(idx)))
        return cls(tuple(always), {k: tuple(v) for k, v in by_trigram.items()}, len(patterns))

    def candidates(self, text: str) -> list[int]:
        """Indexes of the patterns worth searching in `text`, in list order (the others cannot match it). Long texts
        too: a 9,000-character journal entry still rules out about two thirds of the patterns."""
        found = set(self.always)
        for tri in _trigrams(text):
            for lit, idx in self.by_trigram.get(tri, ()):
                if lit in text:
                    found.update(idx)
        return sorted(found)


@functools.lru_cache(maxsize=16)
def _trigrams(text: str) -> frozenset[str]:
    """Every three-character piece of a text: each index asks, and a text is read by several indexes."""
    return frozenset(text[i:i + 3] for i in range(len(text) - 2))


@dataclass(frozen=True)
class _Guard:
    patterns: tuple[re.Pattern[str], ...]
    idioms: tuple[re.Pattern[str], ...]
    phrase_fixes: tuple[tuple[re.Pattern[str], str], ...]
    word_fixes: dict[str, str]
    keywords: tuple[str, ...]
    groups: tuple[_Group, ...] = ()
    about_them: tuple[re.Pattern[str], ...] = ()
    about_me: tuple[re.Pattern[str], ...] = ()
    still_answers: tuple[re.Pattern[str], ...] = ()
    pattern_index: _Index = _Index()
    idiom_index: _Index = _Index()
    group_index: _Index = _Index()  # over the kind files' patterns, flattened in reading order (_group_patterns)

    @functools.cached_property
    def group_patterns(self) -> tuple[tuple[str, bool, re.Pattern[str]], ...]:
        """(kind, reads plain, pattern) of every kind-file pattern, in reading order."""
        return tuple((g.kind, g.plain, rx) for g in self.groups for rx in g.patterns)


def _data_text(*parts: str) -> str:
    return resources.files("companion").joinpath("data", *parts).read_text(encoding="utf-8")


def _expand(template: str, words: dict[str, str]) -> str:
    for _ in range(3):  # word groups may use other groups
        template = re.sub(r"\{(\w+)\}", lambda m: words.get(m.group(1), m.group(0)), template)
    return template


def _yaml(name: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(_data_text("safety", name), Loader=loader) or {}


def _compile(patterns: Any, words: dict[str, str], source: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for p in patterns or ():
        try:
            out.append(re.compile(_expand(str(p), words)))
        except re.error as exc:
            raise ValueError(f"safety/{source}: bad pattern {p!r}: {exc}") from exc
    return tuple(out)


def _groups(kind: str, name: str, words: dict[str, str]) -> list[_Group]:
    raw = _yaml(name)
    return [_Group(kind, _compile(g["patterns"], words, name), g.get("reads", raw.get("reads")) == "plain")
            for g in raw.get("groups") or ()]


@functools.cache
def _guard() -> _Guard:
    raw = _yaml("words.yaml")
    words = {k: str(v) for k, v in (raw.get("words") or {}).items()}
    patterns = _compile([p for g in _yaml(_SELF_FILE)["groups"] for p in g["patterns"]], words, _SELF_FILE)
    idioms: tuple[re.Pattern[str], ...] = ()
    for name in _IDIOM_FILES:
        part = _yaml(name).get("idioms") or ()
        flat = [p for g in part for p in (g["patterns"] if isinstance(g, dict) else [g])]
        idioms += _compile(flat, words, name)
    spelling = raw.get("spelling") or {}
    fixed = {str(k): str(v) for k, v in (spelling.get("fixed") or {}).items()}
    phrase_fixes = tuple((re.compile(rf"\b{re.escape(k)}\b"), v) for k, v in fixed.items() if " " in k)
    word_fixes = {k: v for k, v in fixed.items() if " " not in k}
    keywords = tuple(w for w in spelling.get("words") or () if " " not in w)
    groups = tuple(g for kind, name in _KIND_FILES for g in _groups(kind, name, words))
    other = _yaml("someone_else.yaml")
    quiet = _yaml("quiet.yaml")
    return _Guard(patterns, idioms, phrase_fixes, word_fixes, keywords, groups,
                  _compile(other.get("about_them"), words, "someone_else.yaml"),
                  _compile(other.get("about_me"), words, "someone_else.yaml"),
                  _compile(quiet.get("still_answers"), words, "quiet.yaml"),
                  _Index.build(patterns), _Index.build(idioms),
                  _Index.build(tuple(rx for g in groups for rx in g.patterns)))


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


def _unhedge(text: str) -> str:
    # hedges between the words that matter: "i want to like just die" → "i want to die"
    for _ in range(3):
        text = _HEDGES.sub(lambda m: f"{m.group(1) or m.group(3)} ", text)
    return " ".join(text.split())


def _prepare_both(text: str, excused: tuple[str, ...] = ()) -> tuple[str, str]:
    """(plain, clean): the text normalised and corrected, then also with figures of speech blanked out, and with
    the phrases in `excused` (figures found in the whole text, read here one sentence of it) blanked as well."""
    return _prepare(text, excused)[:2]


def _prepare(text: str, excused: tuple[str, ...] = ()) -> tuple[str, str, tuple[str, ...]]:
    """As _prepare_both, and the phrases blanked as figures of speech."""
    guard = _guard()
    plain = _correct(normalize(text[:_MAX_SCAN]), guard)
    plain = _REPEATS.sub(r"\1", plain)
    # joined words a recognizer splits: "my self" → "myself" (not "my self portrait", "my self esteem")
    plain = _MY_SELF.sub("myself", plain)
    for rx, repl in _HEARD_AS:
        plain = rx.sub(repl, plain)
    plain = _ILL.sub("i will ", plain)
    clean, blanked = plain, []
    for i in guard.idiom_index.candidates(plain):  # a blanked idiom only removes text: no new candidates
        clean = _blank(guard.idioms[i], clean, blanked)
    for phrase in excused:
        if phrase in clean:
            clean = clean.replace(phrase, " , ")
    return _unhedge(plain), _unhedge(clean), tuple(blanked)


def _blank(rx: re.Pattern[str], text: str, blanked: list[str] | None = None) -> str:
    """`text` with each match of the figure `rx` blanked; a group named `keep` (the context that makes it a figure,
    "they were laughing") stays to be read. The blanked phrases are added to `blanked`."""
    def cut(m: re.Match[str]) -> str:
        keep = m.group("keep") if "keep" in rx.groupindex else None
        phrase = m.group(0)[len(keep):] if keep else m.group(0)
        if blanked is not None and phrase.strip():
            blanked.append(phrase.strip())
        return (keep or "") + " , "

    return rx.sub(cut, text)


def prepare(text: str) -> str:
    """The text as the guard reads it: normalised, corrected, figures of speech blanked out."""
    return _prepare_both(text)[1]


def _about_someone_else(clean: str) -> bool:
    guard = _guard()
    return any(rx.search(clean) for rx in guard.about_them) and not any(rx.search(clean) for rx in guard.about_me)


def _as_mine(plain: str) -> str:
    """`plain` with another person's leaning, wishing and planning words turned into the person's own, figures of
    speech blanked again; "" when nothing was turned (see _AS_MINE)."""
    if (not _THEM.search(plain) and "self" not in plain) or _STORY.search(_POSTED_STORY.sub(" ", plain)):
        return ""
    turned = plain
    for rx, repl in _AS_MINE:
        turned = rx.sub(repl, turned)
    if turned == plain:
        return ""
    guard = _guard()
    for i in guard.idiom_index.candidates(turned):
        turned = _blank(guard.idioms[i], turned)
    return _unhedge(turned)


def _first_match(plain: str, clean: str) -> SafetyMatch | None:
    guard = _guard()
    listed = guard.group_patterns
    found = guard.group_index.candidates(plain)
    if clean != plain:
        found = sorted({*found, *guard.group_index.candidates(clean)})
    for i in found:
        kind, reads_plain, rx = listed[i]
        m = rx.search(plain if reads_plain else clean)
        if m:
            return SafetyMatch(pattern=rx.pattern[:80], matched=m.group(0), kind=kind)
    for i in guard.pattern_index.candidates(clean):
        rx = guard.patterns[i]
        m = rx.search(clean)
        if m:
            kind = OTHER if _about_someone_else(clean) else SELF
            return SafetyMatch(pattern=rx.pattern[:80], matched=m.group(0), kind=kind)
    theirs = _as_mine(clean)
    for i in guard.pattern_index.candidates(theirs) if theirs else ():
        rx = guard.patterns[i]
        m = rx.search(theirs)
        if m:
            return SafetyMatch(pattern=rx.pattern[:80], matched=m.group(0), kind=OTHER)
    return None


def _sentences(text: str) -> list[str]:
    """The sentences of a text of more than one; [] for a single sentence."""
    parts = [s for s in _SENTENCE_END.split(text[:_MAX_SCAN]) if s.strip()]
    return parts if len(parts) > 1 else []


@functools.lru_cache(maxsize=8)
def _readings(text: str) -> tuple[tuple[str, str], ...]:
    """The text as the guard reads it (plain, clean), whole and then sentence by sentence: kept for a moment,
    because the patterns and then the learned reading both read the same utterance or journal entry."""
    plain, clean, excused = _prepare(text)
    # a figure the whole text excuses ("they were laughing. i wanted to disappear") stays excused in its sentence
    return ((plain, clean), *(_prepare_both(part, excused) for part in _sentences(text)))


def check_patterns(text: str) -> SafetyMatch | None:
    """The patterns' verdict alone (the kind files and self.yaml): certain, listed phrasings.

    The whole text is read first (a thought may run over two sentences), then each sentence on its own, so a
    phrase that ends a sentence ("i just want out.") is still seen as ending one inside a long journal entry."""
    if not text or not text.strip():
        return None
    for plain, clean in _readings(text):
        found = _first_match(plain, clean)
        if found is not None:
            return found
    return None


@functools.cache
def _model() -> safety_model.Model:
    return safety_model.load(prepare)


def check_learned(text: str) -> SafetyMatch | None:
    """The learned second reading alone: a match at level CHECK when the text (or one of its sentences) scores at
    or above a threshold in safety/model.yaml, the person's own crisis or one of the other kinds it knows (danger,
    medical, someone else); where several do, the kind furthest above its threshold gives the reply."""
    if not text or not text.strip():
        return None
    model, s = _model(), safety_model.settings()
    limits = {SELF: s.threshold, **{kind: limit for kind, _files, limit in s.kinds}}
    best: tuple[float, float, str, str] | None = None  # (margin, score, kind, text)
    readings = _readings(text)
    for _plain, clean in readings:
        if clean.strip(" ,"):
            short = len(clean.split()) < _KIND_MIN_WORDS  # "she is asleep": too few words to tell danger by
            for kind, score in model.score_kinds(clean).items():
                if short and kind != SELF:
                    continue
                margin = score - limits.get(kind, s.threshold)
                if margin >= 0 and (best is None or margin > best[0]):
                    best = (margin, score, kind, clean)
    if best is None:
        return None
    _margin, score, kind, best_text = best
    if kind == SELF and _about_someone_else(readings[0][1]):  # the whole text says whose danger
        kind = OTHER
    return SafetyMatch(pattern="learned", matched=best_text[:200], level=CHECK, score=round(score, 4), kind=kind)


def still_answers(text: str) -> bool:
    """True when the text names a plan, a means, a time, a goodbye, a self-harm act, a method question or danger
    now (safety/quiet.yaml): such words are answered even inside the quiet window after "I'm safe"."""
    rxs = _guard().still_answers
    return any(rx.search(clean) for _plain, clean in _readings(text) for rx in rxs)


def ready() -> None:
    """Compiles the patterns and loads the learned reading now (about 0.6 s on two cores once per process, several
    seconds when the learned reading must be trained again after an update), so the first check of a conversation
    need not wait for them. Safe to call from a background thread."""
    _guard()
    _model()
    _answer_patterns()


def check(text: str, *, quiet: bool = False) -> SafetyMatch | None:
    """A SafetyMatch when the text talks about suicide, self-harm, danger from others, a medical emergency or
    someone else in danger, else None: the patterns first (level CRISIS), then the learned second reading
    (level CHECK).

    `quiet` is the quiet window after the person said they were safe: the learned reading's gentle check is not
    repeated for the same kind of sadness, but a sentence it reads as danger now, a medical emergency or someone
    else at risk, or that also names a plan, means, time, goodbye, act, method or danger (`still_answers`), gets
    the full reply; every pattern still answers."""
    found = check_patterns(text)
    if found is not None:
        return found
    learned = check_learned(text)
    if learned is None or not quiet:
        return learned
    if learned.kind in (OTHER, DANGER, MEDICAL) or still_answers(text):
        return SafetyMatch(pattern="learned+quiet", matched=learned.matched, level=CRISIS, score=learned.score,
                           kind=learned.kind)
    return None


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
    generic = data["generic"]

    def note(part: str) -> str:
        return str((entry.get(part) or {}).get("note", ""))

    return CrisisLine(region=code if code in regions else "", name=entry["name"],
                      phone=entry.get("phone", ""), text=entry.get("text", ""), url=entry.get("url", ""),
                      note=entry.get("note", ""), emergency=entry.get("emergency") or generic["emergency"],
                      abuse=note("abuse"), child=note("child"), poison=note("poison"))


def _fill(template: str, region: str) -> str:
    line = crisis_line(region)
    # "call 911, the emergency number"; but "call your local emergency number", never "…, the emergency number"
    named = f"{line.emergency}, the emergency number" if any(c.isdigit() for c in line.emergency) else line.emergency
    text = template.format(line=line.note, emergency=line.emergency, emergency_named=named, abuse=line.abuse,
                           child=line.child, poison=line.poison)
    return " ".join(text.split())


def _section(level: str, kind: str) -> str:
    if kind in (DANGER, MEDICAL, OTHER):
        return f"check_{kind}" if level == CHECK else kind  # the learned reading alone: "in case", not certain
    return "check" if level == CHECK else "reply"


def crisis_reply(region: str, level: str = CRISIS, kind: str = SELF, *, earlier_safe: bool = False) -> str:
    """What the companion says when the guard fires: calm, brief, the region's emergency number and lines.
    For a person at risk (kind "self" or "method") it is not a crisis service, gives the local line and asks
    whether they are safe right now (at level CHECK it first asks whether that is what was meant); danger from
    others, a medical emergency and someone else in danger have their own reply. `earlier_safe`: the person
    said they were safe a little earlier, and the reply says so first."""
    data = _lines()
    text = _fill(data[_section(level, kind)]["template"], region)
    if earlier_safe:
        text = f"{_fill(data['earlier_safe']['template'], region)} {text}"
    return text


def reply_asks(level: str = CRISIS, kind: str = SELF) -> bool:
    """True when the reply for this level and kind ends on "are you safe right now?" (an answer is awaited)."""
    return bool(_lines()[_section(level, kind)].get("asks", True))


SAFETY_ANSWERS = ("safe", "safe_brief", "for_now", "denied", "denied_sorry", "not_safe", "stopped", "unclear",
                  "parting")


def safety_answer(kind: str, region: str) -> str:
    """What the companion says to the answer to "Are you safe right now?" ([answers] in crisis_lines.toml):
    `kind` is "safe" (they said yes), "safe_brief" (yes, and went on to something else), "denied" ("no, I'm not
    suicidal"), "denied_sorry" (the same, and they said sorry), "not_safe" (no), "stopped" ("stop") or "unclear"
    (anything else); "for_now" is "I'm not going to do anything right now": safe for now, the thoughts still there."""
    if kind not in SAFETY_ANSWERS:
        raise ValueError(f"kind must be one of {', '.join(SAFETY_ANSWERS)}, got {kind!r}")
    template = str((_lines().get("answers") or {}).get(kind, "")).strip()
    if not template:
        raise ValueError(f"crisis_lines.toml: [answers] needs {kind}")
    return _fill(template, region)


# the order answers.yaml is read in: "yeah. tonight probably" names a time, not safety; "not going to do anything
# right now" is safe for now, not a denial
_ANSWER_ORDER = ("not_safe", "for_now", "denied", "safe", "stopped")


@functools.cache
def _answer_patterns() -> dict[str, tuple[re.Pattern[str], ...]]:
    raw = _yaml("answers.yaml")
    return {k: _compile(raw.get(k), {}, "answers.yaml") for k in _ANSWER_ORDER}


YES_WORDS = 3  # a "yes" read by the router answers "are you safe?" only when it is about this short


def read_answer(text: str, intent: str) -> tuple[str, str]:
    """How the person answered "Are you safe right now?" (safety/answers.yaml), and what they said after it:
    ("for_now" | "denied" | "safe" | "stopped" | "not_safe" | "unclear", the rest of the utterance, "" when
    nothing)."""
    said = normalize(text)
    rxs = _answer_patterns()
    for kind in _ANSWER_ORDER:
        for rx in rxs[kind]:
            m = rx.search(said)
            if m:
                rest = said[m.end():].strip(" ,.")
                return kind, rest if len(rest.split()) >= 3 else ""
    if intent == "yes" and len(said.split()) <= YES_WORDS:  # "ok", "yeah sure"; "ok and how many…" is not a yes
        return "safe", ""
    if intent == "stop":
        return "stopped", ""
    if intent == "no":
        return "not_safe", ""
    return "unclear", ""


@functools.cache
def _goes_on() -> tuple[re.Pattern[str], ...]:
    return _compile(_yaml("danger.yaml").get("goes_on"), _yaml("words.yaml").get("words") or {}, "danger.yaml")


def danger_goes_on(text: str) -> bool:
    """Said soon after the danger reply: the person telling that the danger is back or still there ("yeah he's
    back. he's in the kitchen now", danger.yaml `goes_on`), which alone would read as nothing."""
    said = normalize(text)
    return any(rx.search(said) for rx in _goes_on())


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
