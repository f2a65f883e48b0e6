"""A small language model of what people say to the companion, for PocketSphinx's second open search.

The general US-English model knows every word but not this domain; the command grammar knows the domain but forces
speech onto its list. An n-gram model of the companion's own language (request phrasings, free-form examples,
crisis and ordinary sentences from the safety data) sits between them: it prefers the words people use here and
still hears new phrasings, since it backs off to single words.

Built from the data each time it changes (a few seconds), then cached by the data's hash."""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from companion.speech.grammar import normalize

_LOGGER = logging.getLogger(__name__)

ORDER = 3
#: Absolute discount per n-gram order (Ney's estimate from the counts of counts, bounded).
MIN_DISCOUNT, MAX_DISCOUNT = 0.3, 0.9
START, END = "<s>", "</s>"


def _data() -> Path:
    from importlib import resources

    return Path(str(resources.files("companion").joinpath("data")))


def sources() -> list[Path]:
    """The data files the model is built from (their bytes decide when it is rebuilt)."""
    data = _data()
    return [data / "intents" / "voice.yaml", data / "intents" / "commands.yaml", data / "intents" / "examples.yaml",
            *sorted((data / "safety").glob("examples_*.txt"))]


def domain_sentences() -> list[str]:
    """The companion's language: spoken request phrasings, the router's free-form examples, and the safety data's
    crisis and ordinary sentences (so that crisis language is heard and everyday speech is not bent into it)."""
    from companion.core.safety_model import router_sentences
    from companion.speech.grammar import rating_sentences, spoken_sentences

    data = _data()
    out: list[str] = [s for sentences in spoken_sentences().values() for s in sentences]
    out += rating_sentences()
    out += router_sentences()  # examples.yaml, every sentence in it
    for path in sorted((data / "safety").glob("examples_*.txt")):
        out += [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return [s for s in (normalize(x) for x in out) if s]


def build_arpa(sentences: Iterable[str], known: Callable[[str], bool] = lambda w: True, order: int = ORDER) -> str:
    """An ARPA back-off model with absolute discounting. Words `known` rejects (not in the dictionary) split a
    sentence: no n-gram spans them."""
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order)]
    for sentence in sentences:
        for piece in _pieces(sentence.split(), known):
            words = [START, *piece, END]
            for n in range(1, order + 1):
                for i in range(len(words) - n + 1):
                    gram = tuple(words[i:i + n])
                    if gram != (START,):
                        counts[n - 1][gram] += 1
    probs: list[dict[tuple[str, ...], float]] = [{} for _ in range(order)]
    backoff: list[dict[tuple[str, ...], float]] = [{} for _ in range(order)]
    # unigrams: discounted counts, the mass left spread evenly over the vocabulary
    vocab = sorted({g[0] for g in counts[0]})
    total = sum(counts[0].values())
    d = _discount(counts[0])
    left = d * len(counts[0]) / total
    for (w,), c in counts[0].items():
        probs[0][(w,)] = (c - d) / total + left / len(vocab)
    probs[0][(START,)] = 0.0
    for n in range(2, order + 1):
        d = _discount(counts[n - 1])
        by_history: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
        for gram, c in counts[n - 1].items():
            by_history[gram[:-1]].append((gram[-1], c))
        for history, followers in by_history.items():
            seen = sum(c for _, c in followers)
            for w, c in followers:
                probs[n - 1][(*history, w)] = (c - d) / seen
            mass = d * len(followers) / seen
            lower = sum(_prob(probs, backoff, (*history[1:], w)) for w, _ in followers)
            backoff[n - 2][history] = mass / max(1e-9, 1.0 - lower)
    return _write(probs, backoff, order)


def _pieces(words: Sequence[str], known: Callable[[str], bool]) -> list[list[str]]:
    pieces: list[list[str]] = [[]]
    for w in words:
        if known(w):
            pieces[-1].append(w)
        elif pieces[-1]:
            pieces.append([])
    return [p for p in pieces if p]


def _discount(counts: Counter[tuple[str, ...]]) -> float:
    n1 = sum(1 for c in counts.values() if c == 1)
    n2 = sum(1 for c in counts.values() if c == 2)
    d = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
    return min(MAX_DISCOUNT, max(MIN_DISCOUNT, d))


def _prob(probs: list[dict[tuple[str, ...], float]], backoff: list[dict[tuple[str, ...], float]],
          gram: tuple[str, ...]) -> float:
    """p(w | history) as the model will give it (backing off): normalises the back-off weights of the order above."""
    if len(gram) == 1:
        return probs[0].get(gram, 0.0)
    p = probs[len(gram) - 1].get(gram)
    if p is not None:
        return p
    history = gram[:-1]
    return backoff[len(history) - 1].get(history, 1.0) * _prob(probs, backoff, gram[1:])


def _write(probs: list[dict[tuple[str, ...], float]], backoff: list[dict[tuple[str, ...], float]],
           order: int) -> str:
    lines = ["\\data\\"]
    lines += [f"ngram {n}={len(probs[n - 1])}" for n in range(1, order + 1)]
    for n in range(1, order + 1):
        lines += ["", f"\\{n}-grams:"]
        for gram, p in sorted(probs[n - 1].items()):
            logp = -99.0 if p <= 0 else math.log10(p)
            text = f"{logp:.4f}\t{' '.join(gram)}"
            if n < order:
                bo = backoff[n - 1].get(gram)
                if bo is not None and bo > 0:
                    text += f"\t{math.log10(bo):.4f}"
            lines.append(text)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def cached_model(decoder: Any, cache_dir: Path | None = None) -> Path:
    """The model as PocketSphinx's binary file (it loads in milliseconds, the ARPA text in 0.4 s), built on first
    use and again whenever its data or this builder change. `decoder`: its dictionary decides the vocabulary."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sources():
        digest.update(path.read_bytes())
    folder = cache_dir or _cache_dir()
    path = folder / f"domain-{digest.hexdigest()[:16]}.lm.bin"
    if path.exists():
        return path
    from pocketsphinx import NGramModel

    folder.mkdir(parents=True, exist_ok=True)
    sentences = domain_sentences()
    arpa = folder / f"domain-{os.getpid()}.arpa"
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        arpa.write_text(build_arpa(sentences, lambda w: decoder.lookup_word(w) is not None), encoding="utf-8")
        NGramModel(decoder.config, decoder.logmath, str(arpa)).write(str(tmp), NGramModel.str_to_type("bin"))
        tmp.replace(path)  # atomic: a recognizer opening at the same time reads the old file or the new, whole
    finally:
        arpa.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
    for old in folder.glob("domain-*.lm.bin"):
        if old != path:
            old.unlink(missing_ok=True)
    _LOGGER.info("built the listening language model %s from %d sentences", path.name, len(sentences))
    return path


def _cache_dir() -> Path:
    from companion.core.paths import cache_dir

    return cache_dir() / "listening"


def main() -> int:
    """`python -m companion.speech.domain_lm`: builds the model now (the installer does, so that the first time a
    person talks does not wait for it) and prints where it is."""
    from companion.speech.sphinx_engine import open_decoder

    decoder = open_decoder("domain")  # with the pronunciations the recognizer adds: the same vocabulary, same file
    print(cached_model(decoder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
