"""Text → IntentResult: the crisis guard first, then context (short answers, control words in a session),
then the templates (exact), then the free-form classifier, then slots; also lists every template sentence and
word for the speech recognizers. It must never overrule the crisis guard, nor raise on any text.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from companion.core import fuzzy, numbers, paths, safety
from companion.core.fuzzy import MAX_CHARS, NearestNeighbours, normalize
from companion.core.intent import CONTROL_INTENTS, FEELINGS, INTENTS, PATTERNS, IntentResult, RouteContext

log = logging.getLogger(__name__)

THRESHOLD = 0.30          # below this classifier confidence the answer is "unknown"
MAX_PER_TEMPLATE_INTENT = 100  # template sentences per intent the classifier learns from
MAX_PER_TEMPLATE = 10_000  # cap on the sentences one template line expands to (every line stays represented)


def _rules() -> dict[str, Any]:
    """The English rules in companion/data/router_rules.yaml (answer words, soft leads, request, decline)."""
    text = resources.files("companion").joinpath("data", "router_rules.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


_RULES = _rules()
_ANSWER_WORDS: dict[str, str] = {str(k): str(v) for k, v in _RULES["answer_words"].items()}
_LONGEST_ANSWER = 6
_REQUEST = re.compile(_RULES["request"])
_NOT_REQUESTS = frozenset({"unknown", "yes", "no", "crisis"})
_RETURNED = re.compile(r"(ok |okay |right |so )?(i am |im )?(back|back again|home|here again)")
REQUEST_SHARE = 0.8  # a reading moved above the leader (a request, a cue, a feeling) must score this share of it
_DECLINE = re.compile(_RULES["decline"])  # "i do not want to breathe": an offer turned down, not asked for
_DECLINABLE = frozenset({"breathe", "ground", "self_compassion", "reframe", "journal", "connect",
                         "professional_help"})
_LONGEST_DECLINED = 4  # words after "i do not want to"; longer is a statement ("... be so hard on myself")
_ANSWER_STARTS = frozenset(_RULES["answer_starts"])
_SOFT_LEADS = frozenset(_RULES["soft_leads"])
_AFFIRMING_LEADS = frozenset(_RULES["affirming_leads"])
_STATEMENT_STARTS = sorted(map(re.escape, _RULES["statement_starts"]), key=len, reverse=True)
_STATEMENT = re.compile(rf"^({'|'.join(_STATEMENT_STARTS)}) ")
# long sentences are also read in stretches of _WINDOW words (see Router._rank)
_LONG_SENTENCE = 10
_WINDOW = 7
_WINDOW_STEP = 2
_WINDOW_DISCOUNT = 0.85  # a stretch counts a little less than the whole sentence saying the same
_ANSWER_INTENTS = frozenset({"yes", "no"})  # a stretch of a statement is never a bare answer
_YES_FEELINGS = frozenset(_RULES["yes_feelings"])  # "good" / "okay" answer a yes/no question with yes
_COUNTED: dict[str, str] = {str(k): str(v) for k, v in _RULES["counted_patterns"].items()}
_COHERENT_RATE: tuple[float, float] = tuple(_RULES["coherent_rate"])  # type: ignore[assignment]
_SIGH = re.compile(_RULES["sigh"])
_HELD_SEVEN = re.compile(_RULES["held_seven"])
_CUES: dict[str, re.Pattern[str]] = {str(k): re.compile(v) for k, v in _RULES["cues"].items()}
_DESCRIBED_CONFIDENCE = 0.6  # a described pattern outweighs a reading less sure than this
_LEAD_CONFIDENCE = 0.8  # a known request said as the first sentence outweighs a whole reading less sure than this
_SENTENCES = re.compile(r"(?<=[.!?;])\s+")


# a yes, though "uh", "mm" and "hmm" alone are fillers
_UH_HUH = re.compile(r"\b(uh[\s-]*huh|mm+[\s-]*hm+|mhm+)\b", re.IGNORECASE)
_RUN_ON_DIGITS = re.compile(r"\b(478|4444|54321)\b")     # "478 breathing", "54321": digits said as one


def _key(text: str) -> str:
    """The form templates and speech are compared in: normalised, number words as digits."""
    key = numbers.words_to_digits(normalize(_UH_HUH.sub("mhm", text)))
    return _RUN_ON_DIGITS.sub(lambda m: " ".join(m.group()), key)


# check-ins named in so many words: a snooze asked for, never a "no" to the question pending
_NAMES_CHECKINS = re.compile(r"\b(check ?ins?|reminders?|notifications?|pings?|nudges?|pop ?ups?|alerts?)\b")


@dataclass(frozen=True)
class _Templates:
    exact: dict[str, tuple[str, ...]]          # key → intents (in priority order)
    spoken: tuple[str, ...]                    # expanded sentences, lowercase, numbers as words
    lists: dict[str, list[tuple[str, str]]]    # list name → (key of spoken form, value), longest first
    samples: dict[str, list[str]] = field(default_factory=dict)  # intent → training sentences


def _load_yaml(name: str) -> dict[str, Any]:
    text = resources.files("companion").joinpath("data", "intents", name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _intent_files() -> list[str]:
    folder = resources.files("companion").joinpath("data", "intents")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml") and p.name != "examples.yaml")


def _load_templates() -> _Templates:
    from hassil.intents import Intents, TextSlotList
    from hassil.sample import sample_sentence

    logging.getLogger("hassil").setLevel(logging.ERROR)  # ranges stay digits; we spell them ourselves

    merged: dict[str, Any] = {}
    for name in _intent_files():
        data = _load_yaml(name)
        for section in ("intents", "lists", "expansion_rules"):
            merged.setdefault(section, {}).update(data.get(section) or {})
        merged.setdefault("language", data.get("language", "en"))
    unknown = set(merged["intents"]) - set(INTENTS)
    if unknown:
        raise ValueError(f"companion/data/intents: unknown intent names {sorted(unknown)}; use {INTENTS}")
    intents = Intents.from_dict(merged)
    exact: dict[str, list[str]] = {}
    spoken: list[str] = []
    samples: dict[str, list[str]] = {}
    def expanded() -> Iterator[tuple[str, str]]:
        """Every template line's sentences, capped per line (a cap per intent would drop its later lines)."""
        for name, intent in intents.intents.items():
            for data in intent.data:
                rules = {**intents.expansion_rules, **(data.expansion_rules or {})}
                for template in data.sentences:
                    texts = sample_sentence(template, intents.slot_lists, rules, expand_ranges=True)
                    for text in itertools.islice(texts, MAX_PER_TEMPLATE):
                        yield name, text

    pairs = expanded()
    for intent_name, sentence in pairs:
        key = _key(sentence)
        if not key:
            continue
        owners = exact.setdefault(key, [])
        if intent_name not in owners:
            owners.append(intent_name)
        said = numbers.digits_to_words(" ".join(sentence.lower().replace("'", "").split()))
        spoken.append(said.replace("one minutes", "one minute"))
        samples.setdefault(intent_name, []).append(key)
    lists: dict[str, list[tuple[str, str]]] = {}
    for name, slot_list in intents.slot_lists.items():
        if isinstance(slot_list, TextSlotList):
            pairs = [(_key(v.text_in.text), str(v.value_out)) for v in slot_list.values]  # type: ignore[attr-defined]
            lists[name] = sorted(pairs, key=lambda p: -len(p[0]))
    return _Templates({k: tuple(v) for k, v in exact.items()}, tuple(dict.fromkeys(spoken)), lists, samples)


def _package_version() -> str:
    from companion import __version__

    return f"companion {__version__}"


def _fingerprint() -> str:
    """Changes whenever the templates, examples or the code that learns from them change."""
    h = hashlib.sha256()
    folder = resources.files("companion").joinpath("data", "intents")
    for name in sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml")):
        h.update(name.encode() + folder.joinpath(name).read_bytes())
    h.update(resources.files("companion").joinpath("data", "router_rules.yaml").read_bytes())
    for module in (__file__, fuzzy.__file__, numbers.__file__):
        try:
            h.update(Path(module).read_bytes())
        except (OSError, TypeError):  # a frozen build ships no sources: key on the package version instead
            h.update(_package_version().encode())
    try:
        from importlib.metadata import version

        h.update(version("hassil").encode())
    except Exception:  # hassil absent or odd install: the key still covers our own data and code
        pass
    return h.hexdigest()[:20]


def _guard(text: str, learned: bool, quiet: bool = False) -> float | None:
    """The crisis guard's verdict as a confidence (1.0 for a listed phrase, the learned score for the second
    reading, asked only when `learned`; `quiet`: inside the quiet window, see safety.check), None when it does
    not fire; a guard that breaks (say, damaged pattern data) fails closed, so nothing is waved through."""
    try:
        found = safety.check(text, quiet=quiet) if learned else safety.check_patterns(text)
    except Exception:
        log.exception("crisis guard failed; answering as crisis")
        return 1.0
    return None if found is None else found.score


class Router:
    """Understands one utterance at a time; safe to share between threads (it holds no per-call state).

    Learning from the data takes a few hundred milliseconds, so the result is kept in a cache file keyed by
    a fingerprint of the data and code; a stale or broken cache is simply rebuilt."""

    def __init__(self, *, use_cache: bool = True) -> None:
        path = paths.cache_dir() / f"router-{_fingerprint()}.npz" if use_cache else None
        if path is not None and self._load(path):
            return
        self._build()
        if path is not None:
            self._save(path)

    def _load(self, path: Path) -> bool:
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
            self._t = _Templates({k: tuple(v) for k, v in meta["exact"].items()}, tuple(meta["spoken"]),
                                 {k: [tuple(p) for p in v] for k, v in meta["lists"].items()})
            self._texts = tuple(meta["texts"])
            self._feeling_of = {int(k): v for k, v in meta["feeling_of"].items()}
            self._nn = NearestNeighbours.from_state(meta["nn"], arrays)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            if not isinstance(exc, FileNotFoundError):
                log.info("router cache %s unusable (%s); rebuilding", path, exc)
            return False
        self._feelings = self._t.lists.get("feeling", [])
        self._patterns = self._t.lists.get("pattern", [])
        return True

    def _save(self, path: Path) -> None:
        names, arrays = self._nn.state()
        meta = {"exact": self._t.exact, "spoken": self._t.spoken, "lists": self._t.lists,
                "texts": self._texts, "feeling_of": self._feeling_of, "nn": names}
        blob = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, meta=blob, **arrays)
            os.replace(tmp, path)
            for old in path.parent.glob("router-*.npz"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError as exc:  # a read-only home only costs start-up time
            log.info("could not write router cache %s: %s", path, exc)

    def _build(self) -> None:
        self._t = _load_templates()
        texts: list[str] = []
        labels: list[str] = []
        self._feeling_of: dict[int, str] = {}
        rng = random.Random(7)
        for intent_name, keys in self._t.samples.items():
            if intent_name == "crisis":
                continue  # crisis comes from the guard or an exact request for a line, never from similarity
            uniq = list(dict.fromkeys(keys))
            if len(uniq) > MAX_PER_TEMPLATE_INTENT:
                uniq = rng.sample(uniq, MAX_PER_TEMPLATE_INTENT)
            texts += uniq
            labels += [intent_name] * len(uniq)
        examples = _load_yaml("examples.yaml")
        for feeling, sentences in (examples.get("feeling") or {}).items():
            if feeling not in FEELINGS:
                raise ValueError(f"examples.yaml: unknown feeling {feeling!r}; use {FEELINGS}")
            for s in sentences:
                self._feeling_of[len(texts)] = feeling
                texts.append(_key(s))
                labels.append("feeling")
        for intent_name, sentences in (examples.get("intents") or {}).items():
            if intent_name not in INTENTS:
                raise ValueError(f"examples.yaml: unknown intent {intent_name!r}; use {INTENTS}")
            for s in sentences:
                texts.append(_key(s))
                labels.append(intent_name)
        self._texts = tuple(texts)
        self._nn = NearestNeighbours(texts, labels)
        self._feelings = self._t.lists.get("feeling", [])
        self._patterns = self._t.lists.get("pattern", [])

    # --- what the recognizers are constrained to -------------------------------------------------------
    def sentences(self) -> list[str]:
        """Every expanded template sentence: lowercase, no punctuation, numbers as words."""
        return list(self._t.spoken)

    def vocabulary(self) -> set[str]:
        """Every word of the template sentences and of the free-form examples."""
        words = {w for s in self._t.spoken for w in s.split()}
        words |= {w for t in self._texts for w in numbers.digits_to_words(t).split()}
        return words

    # --- understanding ------------------------------------------------------------------------------
    def route(self, text: str, context: RouteContext | None = None, *, learned: bool = True) -> IntentResult:
        """The intent of one utterance, with confidence in [0, 1] and slots; never raises on text.
        `learned=False` is the quiet window after "I'm safe": the learned reading's gentle check is not repeated,
        only what still names a plan, means, act, method or danger answers (its listed phrases always count)."""
        context = context or RouteContext()
        if not isinstance(text, str):
            text = str(text)
        key = _key(text[:MAX_CHARS])
        # a sentence the companion knows word for word as something else ("i am not bad tonight" is a feeling)
        # is not second-guessed by the learned reading; the crisis patterns still read it
        guard = _guard(text, key not in self._t.exact, quiet=not learned)
        if guard is not None:
            return IntentResult(text, "crisis", guard, {})
        if not key:
            return IntentResult(text, "unknown", 0.0, {})
        intent, conf = self._decide(key, context)
        intent = self._declined(key, intent)
        slot_key = key
        if intent == "unknown" or conf < _LEAD_CONFIDENCE:
            intent, conf, slot_key = self._lead_request(text, intent, conf, key)
        if (intent == "unknown" or conf < _DESCRIBED_CONFIDENCE) and _described_pattern(key)[0]:
            # "in for 5, out for 5" describes a breath: a request to breathe, unless something clearer was said
            intent, conf = "breathe", _DESCRIBED_CONFIDENCE
        slots = self._slots(intent, slot_key) if intent != "unknown" else {}
        if intent == "snooze" and "minutes" not in slots and "no" in context.expecting \
                and not _NAMES_CHECKINS.search(key):
            intent = "no"   # "not now" answers the pending question; "stop the check in pings" stays a snooze
        if intent == "feeling" and "yes" in context.expecting and slots.get("feeling") in _YES_FEELINGS \
                and len(key.split()) <= 2:
            intent, slots = "yes", {}
        return IntentResult(text, intent, round(float(min(max(conf, 0.0), 1.0)), 4), slots)

    def _lead_request(self, text: str, intent: str, conf: float, key: str) -> tuple[str, float, str]:
        """A request said word for word as the first of several sentences ("can you help me calm down? like right
        now my heart is going a mile a minute"): that request, when the whole was unclear, with the slots of that
        sentence alone (not "a minute" from "a mile a minute"). Else (intent, conf, key) unchanged."""
        sentences = [s for s in _SENTENCES.split(text[:MAX_CHARS]) if s.strip()]
        if len(sentences) < 2:
            return intent, conf, key
        lead = _key(sentences[0])
        if _RETURNED.fullmatch(lead):  # "back. lab was brutal": a return, not "resume" (no session is waiting)
            return intent, conf, key
        owners = [o for o in self._t.exact.get(lead, ()) if o not in _NOT_REQUESTS]
        return (owners[0], _LEAD_CONFIDENCE, lead) if len(owners) == 1 else (intent, conf, key)

    def _decide(self, key: str, context: RouteContext) -> tuple[str, float]:
        expecting = context.expecting
        if expecting and key in _ANSWER_WORDS and _ANSWER_WORDS[key] in expecting:
            return _ANSWER_WORDS[key], 1.0
        lead, _, rest = key.partition(" ")
        if lead in _AFFIRMING_LEADS and _ANSWER_WORDS.get(rest) == "yes" and not context.in_session:
            return "yes", 1.0  # "yes, go on": agreeing, with a nudge to carry on
        owners = self._t.exact.get(key)
        if not owners and lead in _SOFT_LEADS and rest:
            owners = self._t.exact.get(rest)  # "okay stop" is "stop"
        if owners:
            if context.in_session:
                for o in owners:
                    if o in CONTROL_INTENTS:
                        return o, 1.0
            for o in owners:
                if o in expecting:
                    return o, 1.0
            return min(owners, key=lambda o: o == "feeling"), 1.0  # a bare "okay" answers, not reports
        ranked = self._rank(key)
        words = key.split()
        if len(words) > _LONGEST_ANSWER and words[0] not in _ANSWER_STARTS:
            # a long sentence is a statement, not a bare yes or no ("i do not really belong at my job")
            ranked = [r for r in ranked if r[0] not in {"yes", "no"}] or ranked
        if ranked[0][0] in _ANSWER_INTENTS and _STATEMENT.match(key) and self._names_feeling(key):
            ranked = _promote(ranked, {"feeling"})  # "i am absolutely shattered": a state, not a yes or no
        for name, cue in _CUES.items():
            if ranked[0][0] != name and cue.search(key):
                ranked = _promote(ranked, {name})  # "… onto paper" settles writing vs grounding
        if ranked[0][0] == "feeling" and _REQUEST.search(key):
            # "i am all wound up, help me breathe": a state said on the way to a request is the request
            ranked = _promote(ranked, set(INTENTS) - _NOT_REQUESTS - {"feeling"})
        best, score, _ = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if expecting or context.in_session:
            preferred = set(expecting) | (CONTROL_INTENTS if context.in_session else set())
            for name, s, _ in ranked[:3]:
                if name in preferred and s >= THRESHOLD and s >= score - 0.08:
                    best, score = name, s
                    break
        # confidence: similarity, lifted a little by a clear margin over the runner-up
        conf = min(1.0, score + 0.5 * max(0.0, score - second))
        if best == "unknown" or conf < THRESHOLD:
            return "unknown", conf if best == "unknown" else 1.0 - conf
        return best, conf

    def _rank(self, key: str) -> list[tuple[str, float, int]]:
        """The classifier's ranking; a long, rambling sentence is also read in overlapping stretches and each
        label keeps its best stretch, because the part that says what the person wants ("can we go faster")
        is diluted by the story around it."""
        ranked = self._nn.rank(key)
        words = key.split()
        if len(words) <= _LONG_SENTENCE or ranked[0][1] >= THRESHOLD:
            return ranked
        best = {name: (s, i) for name, s, i in ranked}
        for start in range(0, len(words) - _WINDOW + 1, _WINDOW_STEP):
            for name, s, i in self._nn.rank(" ".join(words[start:start + _WINDOW]), k=1):
                if name not in _ANSWER_INTENTS and s * _WINDOW_DISCOUNT > best.get(name, (0.0, 0))[0]:
                    best[name] = (s * _WINDOW_DISCOUNT, i)
        return sorted(((n, s, i) for n, (s, i) in best.items()), key=lambda r: -r[1])

    def _declined(self, key: str, intent: str) -> str:
        """"i do not want to breathe" is `no`, "do not stop" is `resume`: when what follows the refusal is
        itself a short request for an exercise (or for stopping), the sentence turns it down."""
        m = _DECLINE.match(key)
        if not m or intent not in _DECLINABLE | {"stop"}:
            return intent
        rest = key[m.end():]
        if not rest or len(rest.split()) > _LONGEST_DECLINED:
            return intent
        if m.group(3) == "do not" and not rest.startswith("stop"):
            return intent  # a bare "i do not belong" is a statement, not a refusal
        asked, _ = self._decide(rest, RouteContext())
        if intent in _DECLINABLE and asked in _DECLINABLE:
            return "no"
        if intent == "stop" and asked == "stop" and rest.startswith("stop"):
            return "resume"
        return intent

    def _slots(self, intent: str, key: str) -> dict[str, Any]:
        padded = f" {key} "
        slots: dict[str, Any] = {}
        if intent == "breathe":
            described, spans = _described_pattern(key)
            rest = f" {numbers.without(key, spans)} "  # counts and rates are not durations
            for said, value in self._patterns:
                if f" {said} " in padded and value in PATTERNS:
                    slots["pattern"] = value
                    rest = rest.replace(f" {said} ", " ", 1)
                    break
            if described and "pattern" not in slots:
                slots["pattern"] = described
            minutes = numbers.minutes_in(rest.strip(), bare=not spans)
            if minutes and 0 < minutes <= 120:
                slots["minutes"] = minutes
        elif intent == "snooze":
            minutes = numbers.minutes_in(key)
            if minutes and 0 < minutes <= 24 * 60:
                slots["minutes"] = minutes
        elif intent == "feeling":
            feeling = self._feeling_slot(key, padded)
            if feeling:
                slots["feeling"] = feeling
        return slots

    def _names_feeling(self, key: str) -> bool:
        """Whether the sentence names a feeling from the list other than the ones that also answer ("okay")."""
        padded = f" {key} "
        return any(f" {said} " in padded for said, value in self._feelings if value not in _YES_FEELINGS)

    def _feeling_slot(self, key: str, padded: str) -> str | None:
        negated = re.search(r"\bnot (very |really |feeling |so |that )?(okay|good|great|alright|fine)\b", key)
        if negated:
            return "sad"
        compared = " ".join(_COMPARED.sub(" ", key).split())  # "a younger mother would do better": not good
        key, padded = compared or key, f" {compared} "
        scores = self._nn.scores(key)
        best, best_score = None, 0.0
        for index, feeling in self._feeling_of.items():
            if scores[index] > best_score:
                best, best_score = feeling, float(scores[index])
        if best_score >= 0.6:  # a close example says more than one word ("my heart will not slow down")
            return best
        named = [value for said, value in self._feelings if f" {said} " in padded and value in FEELINGS]
        if best in named:  # two feelings named ("tired but lighter"): the one the examples also lean to
            return best
        return named[0] if named else best


# "better" said of what someone could or should do, not of how the person feels
_COMPARED = re.compile(r"\b(would|could|should|will|might|can|must|deserves?|deserved|do|does|did)( \w+)? better\b")


def _promote(ranked: list[tuple[str, float, int]], names: set[str]) -> list[tuple[str, float, int]]:
    """`ranked` with the first of the next two readings named in `names` moved to the top, when it scores at
    least REQUEST_SHARE of the leader; unchanged otherwise."""
    for r in ranked[1:3]:
        if r[0] in names and r[1] >= REQUEST_SHARE * ranked[0][1]:
            return [r, *[x for x in ranked if x[0] != r[0]]]
    return ranked


def _described_pattern(key: str) -> tuple[str | None, list[tuple[int, int]]]:
    """A pattern described rather than named, and the spans that described it: counted phases ("in for 4 hold
    for 7 out for 8"), a rate ("5 or 6 breaths a minute") or a doubled in-breath ("inhale twice"). The spans of
    every count, rate and doubled in-breath are returned even when they name no pattern, so they are never read
    as minutes."""
    counts, spans = numbers.phase_counts(key)
    pattern = None
    if len(counts) >= 2:  # one counted phase ("in for 4") is not a pattern
        shape = f"equal {len(counts)}" if len(set(counts)) == 1 else " ".join(map(str, counts))
        pattern = _COUNTED.get(shape)
    rate = numbers.rate_in(key)
    if rate is not None:
        spans.append(rate[1])
        if pattern is None and _COHERENT_RATE[0] <= rate[0] <= _COHERENT_RATE[1]:
            pattern = "coherent"
    held = _HELD_SEVEN.search(key)
    if held is not None and pattern is None:  # "the breathing where you hold it for seven"
        spans.append(held.span())
        pattern = "4-7-8"
    sigh = _SIGH.search(key)
    if sigh is not None:
        spans.append(sigh.span())  # "2 inhales" counts breaths, not minutes
        pattern = pattern or "sigh"
    return (pattern if pattern in PATTERNS else None), spans


@functools.cache
def get_router() -> Router:
    """The shared router, built once per process from the data files."""
    return Router()
