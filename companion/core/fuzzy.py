"""Free-form understanding: text normalisation shared by router and safety, and a small nearest-neighbour
classifier (TF-IDF over words and character n-grams, numpy only) trained at load on example sentences.

It must never hold content: the examples come from companion/data/intents/*.yaml.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

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
    # texting shorthand and dialect words for the same ("tmrw prob", "i msged her", "aye go on then")
    "aye": "yes", "tmrw": "tomorrow", "tmr": "tomorrow", "tmrow": "tomorrow", "tomoz": "tomorrow",
    "2moro": "tomorrow", "2morrow": "tomorrow", "prolly": "probably",
    "msg": "message", "msgs": "messages", "msged": "messaged", "msgd": "messaged", "msg'd": "messaged",
    # typed with an apostrophe only: without one they are words ("shell", "well", "hell")
    "he'll": "he will", "she'll": "she will", "we'll": "we will", "you'll": "you will", "it'll": "it will",
    "youll": "you will", "itll": "it will", "we've": "we have", "weve": "we have", "you've": "you have",
    "youve": "you have", "they've": "they have", "theyve": "they have", "he'd": "he would",
    "she'd": "she would", "we'd": "we would", "we're": "we are", "who's": "who is", "where's": "where is",
}
_FILLERS = frozenset({"um", "umm", "ummm", "uh", "uhh", "uhm", "uhhh", "er", "erm", "hm", "hmm", "hmmm", "mm",
                      "mmm", "ah", "ahh", "eh"})
_NUMBER_WORDS = frozenset({"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"})
_LEADING = ("hey companion ", "hi companion ", "ok companion ", "companion ", "okay so ", "so ", "well ",
            "i mean ", "like ", "oh ", "hey ", "please ", "you know ", "and ", "but ", "honestly ", "to be honest ",
            "tbh ")


_STRETCHED_END = re.compile(r"([a-z])\1{2,}$")
_STRETCHED = re.compile(r"([a-z])\1{2,}")


def _unstretch(word: str) -> str:
    """A word typed stretched, as people do: "byeee" → "bye", "thanksss" → "thanks", "soooo" → "so", "goood" →
    "good" (a last letter said three or more times counts once, a letter inside twice)."""
    if len(word) < 3:
        return word
    return _STRETCHED.sub(r"\1\1", _STRETCHED_END.sub(r"\1", word))


_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])\s+")


def sentences(text: str) -> list[str]:
    """A message's sentences as typed: cut after ".", "!", "?" or ";" followed by a space; none empty."""
    return [part for part in _SENTENCE_BREAK.split(text.strip()) if part.strip()]


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
        w = _unstretch(w.strip("'"))
        if not w or w in _FILLERS:
            continue
        words.append(_CONTRACTIONS.get(w, w.replace("'", "")))
    out = " ".join(words)
    # stutters: "i i want" → "i want" (numbers stay: "four four four four" is a pattern)
    out = re.sub(r"\b([a-z']+)( \1\b)+",
                 lambda m: m.group(0) if m.group(1) in _NUMBER_WORDS else m.group(1), out)
    if "you know" in out:  # a filler unless it is a question ("do you know", "you know what")
        out = re.sub(r"(?<!\bdo )(?<!\bdid )(?<!\bif )\byou know\b(?! (what|how|why|when|where|who|if|that))",
                     " ", out)
    out = " ".join(out.split())
    changed = True
    while changed and out:
        changed = False
        for lead in _LEADING:
            if out.startswith(lead) and len(out) > len(lead):
                out = out[len(lead):]
                changed = True
    out = re.sub(r" (like|to be honest|honestly|tbh)$", "", out)
    if out.endswith(" please"):
        out = out[: -len(" please")]
    return _WHOLE.get(out, out)


# words that mean something else inside a sentence ("see ya", "love ya") but are an answer on their own
_WHOLE = {"ya": "yes", "yah": "yes", "yeh": "yes", "yas": "yes", "yess": "yes", "yesss": "yes", "ye": "yes",
          "ya okay": "yes okay", "ya sure": "yes sure", "mhmm": "yes", "mmhm": "yes", "thx": "thanks",
          "ty": "thank you", "tysm": "thank you so much", "bit thx": "a bit thanks", "bit thanks": "a bit thanks"}


def _features(text: str) -> list[str]:
    """Word unigrams and bigrams plus character 3–5-grams of each padded word."""
    words = text.split()
    feats = [f"w:{w}" for w in words]
    feats += [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    for w in words:
        p = f" {w} "
        for n in (3, 4, 5):
            feats += [p[i:i + n] for i in range(max(len(p) - n + 1, 1))]
    return feats


class NearestNeighbours:
    """Cosine k-NN over sparse TF-IDF vectors, kept as an inverted index (CSR: one row of example ids and
    weights per feature) so a query costs only the features it shares with the examples."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        if len(texts) != len(labels) or not texts:
            raise ValueError("need the same, non-zero number of texts and labels")
        label_names = sorted(set(labels))
        label_ids = np.array([label_names.index(x) for x in labels], dtype=np.int32)
        counts = [Counter(_features(t)) for t in texts]
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        n = len(texts)
        features = sorted(df)
        fid = {f: j for j, f in enumerate(features)}
        idf = np.array([math.log((1 + n) / (1 + df[f])) + 1.0 for f in features], np.float64)
        rows: list[list[int]] = [[] for _ in features]
        weights: list[list[float]] = [[] for _ in features]
        for i, c in enumerate(counts):
            vec = {fid[f]: (1.0 + math.log(k)) * idf[fid[f]] for f, k in c.items()}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for j, v in vec.items():
                rows[j].append(i)
                weights[j].append(v / norm)
        indptr = np.zeros(len(features) + 1, np.int64)
        indptr[1:] = np.cumsum([len(r) for r in rows])
        ids = np.fromiter(itertools.chain.from_iterable(rows), np.int32, int(indptr[-1]))
        ws = np.fromiter(itertools.chain.from_iterable(weights), np.float32, int(indptr[-1]))
        # one prototype per label (the normalised mean of its examples): generalises on telling words
        cent = np.zeros((len(label_names), len(features)), np.float32)
        col = np.repeat(np.arange(len(features)), np.diff(indptr))
        np.add.at(cent, (label_ids[ids], col), ws)
        cent /= np.linalg.norm(cent, axis=1, keepdims=True) + 1e-9
        self._setup(features, idf, indptr, ids, ws, label_names, label_ids, cent)

    def _setup(self, features: Sequence[str], idf: np.ndarray, indptr: np.ndarray, ids: np.ndarray,
               ws: np.ndarray, label_names: Sequence[str], label_ids: np.ndarray, cent: np.ndarray) -> None:
        self._features = list(features)
        self._fid = {f: j for j, f in enumerate(self._features)}
        self._idf, self._indptr, self._ids, self._ws = idf, indptr, ids, ws
        self.label_names: tuple[str, ...] = tuple(label_names)
        self._label_ids = label_ids
        self._centroids = cent
        self._n = len(label_ids)
        self._masks = [np.flatnonzero(label_ids == lid) for lid in range(len(self.label_names))]

    def state(self) -> tuple[list[str], dict[str, np.ndarray]]:
        """(feature and label names, arrays): everything needed to rebuild without training."""
        arrays = {"idf": self._idf, "indptr": self._indptr, "ids": self._ids, "ws": self._ws,
                  "label_ids": self._label_ids, "centroids": self._centroids}
        return [*self.label_names, "", *self._features], arrays

    @classmethod
    def from_state(cls, names: list[str], arrays: dict[str, np.ndarray]) -> NearestNeighbours:
        split = names.index("")
        self = cls.__new__(cls)
        self._setup(names[split + 1:], arrays["idf"], arrays["indptr"], arrays["ids"], arrays["ws"],
                    names[:split], arrays["label_ids"], arrays["centroids"])
        return self

    def _query(self, text: str) -> dict[int, float]:
        """The text's TF-IDF vector over known features (feature id → weight), scaled by its full length:
        unseen features count too, so unfamiliar text scores low."""
        c = Counter(_features(text))
        vec: dict[int, float] = {}
        unseen = 0.0
        for f, k in c.items():
            j = self._fid.get(f)
            if j is None:
                unseen += ((1.0 + math.log(k)) * (math.log(1 + self._n) + 1.0)) ** 2
            else:
                vec[j] = (1.0 + math.log(k)) * float(self._idf[j])
        norm = math.sqrt(sum(v * v for v in vec.values()) + unseen)
        if not vec or norm == 0:
            return {}
        return {j: v / norm for j, v in vec.items()}

    def scores(self, text: str, query: dict[int, float] | None = None) -> np.ndarray:
        """Cosine similarity of `text` to every example."""
        vec = self._query(text) if query is None else query
        if not vec:
            return np.zeros(self._n, np.float64)
        p = self._indptr
        ids = [self._ids[p[j]:p[j + 1]] for j in vec]
        ws = [self._ws[p[j]:p[j + 1]] * v for j, v in vec.items()]
        return np.bincount(np.concatenate(ids), weights=np.concatenate(ws), minlength=self._n)

    def rank(self, text: str, k: int = 3) -> list[tuple[str, float, int]]:
        """Labels ordered by score: (label, score, index of best example); a label's score blends its
        nearest example with the mean of its k nearest, so one lucky example does not decide alone."""
        vec = self._query(text)
        s = self.scores(text, vec)
        if vec:
            cols = list(vec)
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
