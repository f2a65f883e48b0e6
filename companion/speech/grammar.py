"""Sentences → what each recognizer can use (FSG/JSGF for PocketSphinx, a word list for Vosk, snapping), and the
curated spoken grammar of voice.yaml per listening context. Never lets a word the model lacks through."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_LOGGER = logging.getLogger(__name__)

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

#: Highest word-level edit distance (normalised to 0..1) at which a transcript still snaps to a sentence.
DEFAULT_SNAP_CUTOFF = 0.34


def number_words(n: int) -> str:
    """0..99 as spoken English words (templates may carry digits; recognizers hear words)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    return " ".join(_ONES[int(d)] for d in str(n))


def normalize(text: str) -> str:
    """Lower case, digits spelled out, hyphens and punctuation to spaces, apostrophes kept ("don't")."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"\d+", lambda m: " " + number_words(int(m.group())) + " ", text)
    text = re.sub(r"[^\w' ]+", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Grammar:
    """Spoken forms of the template sentences an engine accepts, and what was left out (and why)."""

    sentences: tuple[str, ...]
    words: frozenset[str]
    dropped_words: frozenset[str] = frozenset()

    @classmethod
    def build(cls, sentences: Iterable[str], vocabulary: frozenset[str] | set[str] | None = None) -> Grammar:
        """Normalises and de-duplicates; with a vocabulary, drops every sentence that holds a word outside it."""
        kept: dict[str, None] = {}
        dropped: set[str] = set()
        for raw in sentences:
            spoken = normalize(raw)
            if not spoken:
                continue
            missing = {w for w in spoken.split() if vocabulary is not None and w not in vocabulary}
            if missing:
                dropped |= missing
                continue
            kept[spoken] = None
        if dropped:
            _LOGGER.info("left out %d template words the model does not know: %s", len(dropped),
                         ", ".join(sorted(dropped)[:20]))
        words = frozenset(w for s in kept for w in s.split())
        return cls(tuple(kept), words, frozenset(dropped))


def to_jsgf(grammar: Grammar, name: str = "companion") -> str:
    """A JSGF grammar whose public rule is exactly the alternatives of the grammar's sentences."""
    if not grammar.sentences:
        raise ValueError("no template sentence is left to listen for")
    alternatives = "\n    | ".join(grammar.sentences)
    return f"#JSGF V1.0;\ngrammar {name};\npublic <utterance> = (\n      {alternatives}\n);\n"


def vosk_word_list(grammar: Grammar, vocabulary: frozenset[str] | set[str], unk: str = "[unk]") -> list[str]:
    """Every grammar word the model knows, plus the model's unknown-word token when it has one.

    Vosk turns this list into a soft bigram constraint; `snap` does the rest."""
    words = sorted(w for w in grammar.words if w in vocabulary)
    if unk in vocabulary:
        words.append(unk)
    return words


@dataclass(frozen=True)
class Snap:
    """A transcript matched to a template sentence; `sentence` is "" when it was too far from all of them."""

    heard: str
    sentence: str
    distance: float

    @property
    def accepted(self) -> bool:
        return bool(self.sentence)


def snap(heard: str, sentences: Sequence[str], cutoff: float = DEFAULT_SNAP_CUTOFF, *,
         split: Sequence[Sequence[str]] | None = None) -> Snap:
    """Nearest template sentence by word-level edit distance (as wyoming-vosk corrects Vosk output).

    Unknown-word tokens count as mismatches, so a mostly-unknown utterance is rejected rather than guessed.
    `split`: the sentences already split into words (saves ~7 ms per call on 15,000 sentences)."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    words = [w for w in normalize(heard).split() if w]
    if not words or not sentences:
        return Snap(heard, "", 1.0)
    best = process.extractOne(words, split if split is not None else [s.split() for s in sentences],
                              scorer=Levenshtein.normalized_distance,
                              score_cutoff=cutoff)
    if best is None:
        return Snap(heard, "", 1.0)
    _choice, distance, index = best
    return Snap(heard, sentences[index], float(distance))


def to_fsg(grammar: Grammar, name: str = "companion") -> str:
    """The sentences as a minimal word automaton in PocketSphinx's FSG text format.

    Thousands of template sentences share prefixes and suffixes ("... for three minutes"); a flat JSGF
    alternation of all of them decodes many times slower than real time, the shared automaton in real time."""
    if not grammar.sentences:
        raise ValueError("no template sentence is left to listen for")
    trie: list[dict[str, int]] = [{}]
    final: list[bool] = [False]
    for sentence in grammar.sentences:
        node = 0
        for word in sentence.split():
            nxt = trie[node].get(word)
            if nxt is None:
                nxt = len(trie)
                trie.append({})
                final.append(False)
                trie[node][word] = nxt
            node = nxt
        final[node] = True
    # minimise: merge nodes with the same future (finality + labelled canonical children), children first
    canon: dict[int, int] = {}
    registry: dict[tuple[bool, tuple[tuple[str, int], ...]], int] = {}
    order: list[int] = []
    stack = [(0, False)]
    while stack:  # iterative post-order (sentences can be long; no recursion limit worries)
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in trie[node].values())
    for node in order:
        sig = (final[node], tuple(sorted((w, canon[c]) for w, c in trie[node].items())))
        canon[node] = registry.setdefault(sig, node)
    numbering: dict[int, int] = {}
    for node in order[::-1]:  # root first
        numbering.setdefault(canon[node], len(numbering))
    end = len(numbering)
    lines = [f"FSG_BEGIN {name}", f"NUM_STATES {end + 1}", "START_STATE 0", f"FINAL_STATE {end}"]
    for node, state in numbering.items():
        arcs = [(w, numbering[canon[c]]) for w, c in sorted(trie[node].items())]
        # every arc weighs 1: a sentence is not less likely for sharing its start with many others
        # (measured: 23 of 48 exact vs 19 with 1/branching probabilities, docs/benchmarks/listening.md)
        lines += [f"TRANSITION {state} {target} 1.0 {w}" for w, target in arcs]
        if final[node]:
            lines.append(f"TRANSITION {state} {end} 1.0")
    lines.append("FSG_END")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the curated spoken grammar (voice.yaml)

#: Where the recogniser is listening: the app says which (see docs/benchmarks/listening.md, "Contexts").
CONTEXTS: tuple[str, ...] = ("idle", "session", "yesno")


def _load_voice_data() -> tuple[dict, dict]:
    """(voice.yaml's `spoken` section, commands.yaml's lists); the data files, not code, hold the phrasings."""
    from importlib import resources

    import yaml

    folder = resources.files("companion").joinpath("data", "intents")
    spoken = yaml.safe_load(folder.joinpath("voice.yaml").read_text(encoding="utf-8"))["spoken"]
    commands = yaml.safe_load(folder.joinpath("commands.yaml").read_text(encoding="utf-8"))
    return spoken, commands.get("lists") or {}


@functools.cache
def spoken_sentences() -> dict[str, tuple[str, ...]]:
    """Intent → the spoken forms (normalised, numbers as words) of voice.yaml's templates, built once."""
    from hassil.intents import Intents
    from hassil.sample import sample_intents

    # ranges are sampled as digits on purpose (we spell them); hassil would warn once per range otherwise
    logging.getLogger("hassil").setLevel(logging.ERROR)
    spoken, command_lists = _load_voice_data()
    intents = Intents.from_dict({
        "language": "en",
        "lists": {**command_lists, **(spoken.get("lists") or {})},
        "expansion_rules": spoken.get("expansion_rules") or {},
        "intents": {name: {"data": [{"sentences": list(templates)}]}
                    for name, templates in spoken["intents"].items()},
    })
    out: dict[str, dict[str, None]] = {}
    for intent, sentence in sample_intents(intents):
        said = normalize(sentence)
        if said:
            out.setdefault(intent, {})[said] = None
    return {intent: tuple(said) for intent, said in out.items()}


def pronunciations() -> dict[str, str]:
    """Word → phones for words the bundled dictionary lacks (voice.yaml), for the PocketSphinx engine."""
    return {str(w): str(p) for w, p in (_load_voice_data()[0].get("pronunciations") or {}).items()}


def sentences_for(context: str = "idle") -> list[str]:
    """The sentences to listen for in a context, for `open_recognizer(..., sentences=...)`.

    "idle": every curated phrasing; "session" (an exercise is running): control words and short answers;
    "yesno" (a yes/no question is pending): answers and a few ways out. The router still decides meaning."""
    if context not in CONTEXTS:
        raise ValueError(f"unknown listening context {context!r}: choose one of {', '.join(CONTEXTS)}")
    by_intent = spoken_sentences()
    if context == "idle":
        names = list(by_intent)
    else:
        names = list(_load_voice_data()[0]["contexts"][context])
        unknown = [n for n in names if n not in by_intent]
        if unknown:
            raise ValueError(f"voice.yaml: context {context!r} names intents with no sentences: {unknown}")
    if "crisis" not in names:
        names.append("crisis")  # safety first: crisis language is heard whatever else is expected
    heard = [s for name in names for s in by_intent[name]]
    if context in ("idle", "yesno"):
        heard += rating_sentences()  # check-ins ask "how strong, 0 to 10?"
    return heard


@functools.cache
def rating_sentences() -> tuple[str, ...]:
    """Spoken 0–10 ratings (voice.yaml `ratings`): answers the app reads itself, so no intent of their own."""
    from hassil.intents import Intents
    from hassil.sample import sample_intents

    spoken, command_lists = _load_voice_data()
    templates = list(spoken.get("ratings") or ())
    if not templates:
        return ()
    intents = Intents.from_dict({"language": "en", "lists": {**command_lists, **(spoken.get("lists") or {})},
                                 "expansion_rules": spoken.get("expansion_rules") or {},
                                 "intents": {"rating": {"data": [{"sentences": templates}]}}})
    return tuple(dict.fromkeys(said for _, sentence in sample_intents(intents) if (said := normalize(sentence))))


def crisis_sentences() -> list[str]:
    """The spoken forms of crisis language (voice.yaml), added to every command grammar."""
    return list(spoken_sentences().get("crisis", ()))
