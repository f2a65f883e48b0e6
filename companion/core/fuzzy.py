"""Free-form understanding: text normalisation shared by router and safety, and a small nearest-neighbour
classifier (TF-IDF over words and character n-grams, numpy only) trained at load on example sentences.

It must never hold content: the examples come from companion/data/intents/*.yaml.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KNN_WEIGHT = 0.8  # share of the nearest examples in a label's score; the rest is its prototype
MAX_CHARS = 600  # longer input is cut before classification (the crisis guard reads all of it)

# Contractions spoken or typed without apostrophes → one canonical spelling.
_CONTRACTIONS: dict[str, str] = {
    "im": "i am", "i'm": "i am", "ive": "i have", "i've": "i have", "i'd": "i would", "i'll": "i will",
    "dont": "do not", "don't": "do not", "doesnt": "does not", "doesn't": "does not", "didnt": "did not",
    "didn't": "did not", "cant": "can not", "can't": "can not", "cannot": "can not", "wont": "will not",
    "won't": "will not", "isnt": "is not", "isn't": "is not", "arent": "are not", "aren't": "are not",
    "wasnt": "was not", "wasn't": "was not", "werent": "were not", "weren't": "were not",
    "havent": "have not", "haven't": "have not", "hasnt": "has not", "hasn't": "has not",
    "shouldnt": "should not", "shouldn't": "should not", "wouldnt": "would not", "wouldn't": "would not",
    "couldnt": "could not", "couldn't": "could not", "youre": "you are", "you're": "you are",
    "theyre": "they are", "they're": "they are", "theyd": "they would", "they'd": "they would",
    "theyll": "they will", "they'll": "they will", "thats": "that is", "that's": "that is",
    "whats": "what is", "what's": "what is", "theres": "there is", "there's": "there is",
    "its": "it is", "it's": "it is", "hes": "he is", "he's": "he is", "shes": "she is", "she's": "she is",
    "lets": "let us", "let's": "let us", "wanna": "want to", "gonna": "going to", "gotta": "got to",
    "kinda": "kind of", "sorta": "sort of", "dunno": "do not know", "gimme": "give me", "lemme": "let me",
    "cuz": "because", "cos": "because", "coz": "because", "u": "you", "ur": "your", "pls": "please",
    "plz": "please", "ok": "okay", "k": "okay", "kk": "okay", "yeah": "yes", "yea": "yes", "yep": "yes",
    "yup": "yes", "nope": "no", "nah": "no", "mins": "minutes", "min": "minutes", "minute": "minutes",
    "everybodys": "everybody is", "everyones": "everyone is", "nobodys": "nobody is", "noone": "no one",
    "wouldve": "would have", "would've": "would have", "shouldve": "should have", "couldve": "could have",
    "youd": "you would", "you'd": "you would", "id": "i would", "idk": "i do not know",
    "tryna": "trying to", "outta": "out of", "alot": "a lot", "wat": "what", "whatre": "what are",
}
_FILLERS = frozenset({"um", "umm", "ummm", "uh", "uhh", "uhm", "uhhh", "er", "erm", "hmm", "hmmm", "mm", "mmm",
                      "ah", "ahh", "eh"})
_LEADING = ("hey companion ", "hi companion ", "ok companion ", "companion ", "okay so ", "so ", "well ",
            "i mean ", "like ", "oh ", "hey ", "please ", "you know ", "and ", "but ")


def normalize(text: str) -> str:
    """Lowercase words without punctuation, contractions expanded, fillers dropped: what both the
    templates and the classifier see. Total on any input (never raises)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = re.sub(r"(\d)\s*-\s*(\d)", r"\1 \2", text)  # 4-7-8 → 4 7 8
    text = re.sub(r"[^\w\s']+", " ", text)
    text = text.replace("_", " ")
    words = []
    for w in text.split():
        w = w.strip("'")
        if not w or w in _FILLERS:
            continue
        words.append(_CONTRACTIONS.get(w, w.replace("'", "")))
    out = " ".join(words)
    out = re.sub(r"\b(\w+) \1\b", r"\1", out)  # stutters: "i i want" → "i want"
    out = re.sub(r"(?<!\bdo )(?<!\bdid )(?<!\bif )\byou know\b(?! (what|how|why|when|where|who|if|that))", " ",
                 out) if "you know" in out else out
    out = " ".join(out.split())
    changed = True
    while changed and out:
        changed = False
        for lead in _LEADING:
            if out.startswith(lead) and len(out) > len(lead):
                out = out[len(lead):]
                changed = True
    out = re.sub(r"\b(like|so)$", "", out).strip() if out not in {"like", "so"} else out
    if out.endswith(" please"):
        out = out[: -len(" please")]
    return out


def _features(text: str) -> list[str]:
    """Word unigrams and bigrams plus character 3–5-grams of each padded word."""
    words = text.split()
    feats = [f"w:{w}" for w in words]
    feats += [f"b:{a}_{b}" for a, b in zip(words, words[1:], strict=False)]
    for w in words:
        p = f" {w} "
        for n in (3, 4, 5):
            feats += [p[i:i + n] for i in range(max(len(p) - n + 1, 1))]
    return feats


@dataclass(frozen=True)
class Neighbour:
    """One scored example: its label and its cosine similarity to the query."""

    label: str
    score: float
    index: int


class NearestNeighbours:
    """Cosine k-NN over sparse TF-IDF vectors, kept as an inverted index so a query costs only the
    features it shares with the examples (well under a millisecond for a few thousand examples)."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        if len(texts) != len(labels) or not texts:
            raise ValueError("need the same, non-zero number of texts and labels")
        self.labels: tuple[str, ...] = tuple(labels)
        self.label_names: tuple[str, ...] = tuple(sorted(set(labels)))
        self._label_ids = np.array([self.label_names.index(x) for x in labels], dtype=np.int32)
        counts = [Counter(_features(t)) for t in texts]
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        n = len(texts)
        self._idf = {f: math.log((1 + n) / (1 + d)) + 1.0 for f, d in df.items()}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, c in enumerate(counts):
            vec = {f: (1.0 + math.log(k)) * self._idf[f] for f, k in c.items()}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for f, v in vec.items():
                ids, ws = postings.setdefault(f, ([], []))
                ids.append(i)
                ws.append(v / norm)
        self._index = {f: (np.array(ids, np.int32), np.array(ws, np.float32)) for f, (ids, ws) in postings.items()}
        self._n = n
        # one prototype per label (the normalised mean of its examples): generalises on telling words
        self._feature_ids = {f: j for j, f in enumerate(self._index)}
        cent = np.zeros((len(self.label_names), len(self._feature_ids)), np.float32)
        for f, (ids, ws) in self._index.items():
            np.add.at(cent[:, self._feature_ids[f]], self._label_ids[ids], ws)
        cent /= np.linalg.norm(cent, axis=1, keepdims=True) + 1e-9
        self._centroids = cent
        self._masks = [np.flatnonzero(self._label_ids == lid) for lid in range(len(self.label_names))]

    def _query(self, text: str) -> dict[str, float]:
        """The text's TF-IDF vector over known features, scaled by its full length (unseen features count,
        so unfamiliar text scores low)."""
        c = Counter(_features(text))
        vec = {f: (1.0 + math.log(k)) * self._idf[f] for f, k in c.items() if f in self._idf}
        # unseen features still count in the query's length, so unfamiliar text scores low
        unseen = sum(((1.0 + math.log(k)) * math.log(1 + self._n) + 1.0) ** 2 for f, k in c.items()
                     if f not in self._idf)
        norm = math.sqrt(sum(v * v for v in vec.values()) + unseen)
        if not vec or norm == 0:
            return {}
        return {f: v / norm for f, v in vec.items()}

    def scores(self, text: str, query: dict[str, float] | None = None) -> np.ndarray:
        """Cosine similarity of `text` to every example."""
        vec = self._query(text) if query is None else query
        if not vec:
            return np.zeros(self._n, np.float32)
        ids = [self._index[f][0] for f in vec]
        ws = [self._index[f][1] * v for f, v in vec.items()]
        return np.bincount(np.concatenate(ids), weights=np.concatenate(ws), minlength=self._n)

    def rank(self, text: str, k: int = 3) -> list[tuple[str, float, int]]:
        """Labels ordered by score: (label, score, index of best example); a label's score blends its
        nearest example with the mean of its k nearest, so one lucky example does not decide alone."""
        vec = self._query(text)
        s = self.scores(text, vec)
        if vec:
            cols = [self._feature_ids[f] for f in vec]
            proto = self._centroids[:, cols] @ np.fromiter(vec.values(), np.float32, len(vec))
        else:
            proto = np.zeros(len(self.label_names), np.float32)
        out: list[tuple[str, float, int]] = []
        for lid, (name, members) in enumerate(zip(self.label_names, self._masks, strict=True)):
            sub = s[members]
            top = np.sort(sub)[-k:]
            best = int(members[int(np.argmax(sub))])
            knn = 0.7 * top[-1] + 0.3 * top.mean()
            out.append((name, float(KNN_WEIGHT * knn + (1 - KNN_WEIGHT) * proto[lid]), best))
        out.sort(key=lambda x: -x[1])
        return out
