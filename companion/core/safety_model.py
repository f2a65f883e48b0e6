"""A learned second reading for the crisis guard: it scores how much a sentence sounds like the crisis language
in its examples, so a new picture ("the only thing keeping me here is my dog") can be noticed although no
pattern lists it. The patterns stay first and certain; this only adds a gentler "are you safe?" check.

It is a logistic regression over words and word pairs, trained at first start from the example files in
`companion/data/safety/` (and the router's everyday examples as more ordinary sentences) and cached. Besides the
person's own crisis it knows the other kinds named in model.yaml `kinds` (danger from others now, medical
emergencies now, someone else at risk): one more regression each, against the same ordinary sentences, so a new
picture of violence or of a body in danger gets that kind's reply.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from companion.core import paths

log = logging.getLogger(__name__)

_DATA = ("safety", "model.yaml")


@dataclass(frozen=True)
class _Settings:
    threshold: float
    safe_weight: float
    l2: float
    epochs: int
    crisis_examples: tuple[str, ...]
    safe_examples: tuple[str, ...]
    ordinary_frames: tuple[str, ...] = ()
    ordinary_acts: tuple[str, ...] = ()
    # other people doing everyday things (model.yaml `others`): people × frames, four acts each in turn
    others_people: tuple[str, ...] = ()
    others_frames: tuple[str, ...] = ()
    others_acts: tuple[str, ...] = ()
    # (kind, example files, threshold) for each other kind the model knows
    kinds: tuple[tuple[str, tuple[str, ...], float], ...] = ()


def _data(*parts: str) -> Any:
    return resources.files("companion").joinpath("data", *parts)


def parse_settings(text: str, source: str = "safety/model.yaml") -> _Settings:
    """Settings from the text of model.yaml; a wrong value is named with the file and the fix."""
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: expected keys such as threshold, crisis_examples, safe_examples")
    try:
        threshold = float(raw["threshold"])
        ordinary = raw.get("ordinary") or {}
        others = raw.get("others") or {}
        found = _Settings(threshold, float(raw.get("safe_weight", 1.0)), float(raw.get("l2", 1.0)),
                          int(raw.get("epochs", 300)), tuple(map(str, raw["crisis_examples"])),
                          tuple(map(str, raw["safe_examples"])), tuple(map(str, ordinary.get("frames") or ())),
                          tuple(map(str, ordinary.get("acts") or ())),
                          tuple(map(str, others.get("people") or ())), tuple(map(str, others.get("frames") or ())),
                          tuple(map(str, others.get("acts") or ())),
                          tuple((str(k), tuple(map(str, v["examples"])), float(v.get("threshold", raw["threshold"])))
                                for k, v in (raw.get("kinds") or {}).items()))
    except KeyError as exc:
        raise ValueError(f"{source}: {exc.args[0]} is missing") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: {exc}") from None
    if not 0.0 < found.threshold < 1.0:
        raise ValueError(f"{source}: threshold must be between 0 and 1 (exclusive), got {found.threshold}")
    if found.safe_weight <= 0 or found.l2 < 0 or found.epochs < 1:
        raise ValueError(f"{source}: safe_weight must be above 0, l2 at least 0 and epochs at least 1")
    for kind, files, limit in found.kinds:
        if not files or not 0.0 < limit < 1.0:
            raise ValueError(f"{source}: kinds.{kind} needs examples and a threshold between 0 and 1")
    if not found.crisis_examples or not found.safe_examples:
        raise ValueError(f"{source}: name at least one file in crisis_examples and in safe_examples")
    return found


@functools.cache
def settings() -> _Settings:
    """The shipped settings (companion/data/safety/model.yaml)."""
    return parse_settings(_data(*_DATA).read_text(encoding="utf-8"))


def features(prepared: str) -> list[str]:
    """Words and word pairs of a text the guard has already prepared (normalised, figures of speech blanked
    to ","); word groups ("concepts": means, places, time...) were measured too and did not help."""
    words = [w for w in prepared.split() if w != ","]
    return [*(f"w:{w}" for w in words), *(f"b:{a}_{b}" for a, b in itertools.pairwise(words)), "bias"]


class Model:
    """Weights per feature; `score` is the probability that a prepared text is crisis language. A text listed
    as safe (`listed_safe`, prepared the same way) scores 0: a reviewed decision is not second-guessed."""

    def __init__(self, weights: dict[str, float], listed_safe: frozenset[str] = frozenset(),
                 kinds: dict[str, Model] | None = None) -> None:
        self.weights = weights
        self.listed_safe = listed_safe
        self.kinds = kinds or {}  # the other kinds' models (model.yaml `kinds`), scored by `score_kinds`

    @classmethod
    def train(cls, crisis: Sequence[list[str]], safe: Sequence[list[str]], *, l2: float = 1.0,
              epochs: int = 300, safe_weight: float = 1.0) -> Model:
        """Full-batch logistic regression (AdaGrad), features scaled by 1/sqrt(count) per text so a long text
        does not win on length; the safe class weighs `safe_weight` times the crisis class in total."""
        rows_feats = [*crisis, *safe]
        y = np.concatenate([np.ones(len(crisis)), np.zeros(len(safe))])
        names = sorted({f for fs in rows_feats for f in fs})
        fid = {f: j for j, f in enumerate(names)}
        idx_rows = [sorted({fid[f] for f in fs}) for fs in rows_feats]
        lengths = np.array([len(r) for r in idx_rows])
        idx = np.fromiter(itertools.chain.from_iterable(idx_rows), np.int64, int(lengths.sum()))
        rows = np.repeat(np.arange(len(y)), lengths)
        val = np.repeat(1.0 / np.sqrt(np.maximum(lengths, 1)), lengths)
        weight = np.where(y == 1, len(y) / (2 * max(len(crisis), 1)),
                          safe_weight * len(y) / (2 * max(len(safe), 1)))
        w = np.zeros(len(names))
        g2 = np.full(len(names), 1e-8)
        n = len(y)
        for _ in range(epochs):
            z = np.bincount(rows, weights=w[idx] * val, minlength=n)
            p = 1.0 / (1.0 + np.exp(-z))
            r = (p - y) * weight
            grad = np.bincount(idx, weights=r[rows] * val, minlength=len(names)) / n + l2 * w / n
            g2 += grad * grad
            w -= 0.5 * grad / np.sqrt(g2)
        return cls({f: float(v) for f, v in zip(names, w, strict=True) if abs(v) > 1e-6})

    def score(self, feats: list[str]) -> float:
        """Probability from features (see `features`)."""
        unique = set(feats)
        z = sum(self.weights.get(f, 0.0) for f in unique) / math.sqrt(max(len(unique), 1))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def score_text(self, prepared: str) -> float:
        """Probability for a text the guard has prepared; 0 for a text listed as safe."""
        if " ".join(w for w in prepared.split() if w != ",") in self.listed_safe:
            return 0.0
        return self.score(features(prepared))

    def score_kinds(self, prepared: str) -> dict[str, float]:
        """{kind: probability} for the person's own crisis ("self") and every other kind the model knows; all 0
        for a text listed as safe."""
        if " ".join(w for w in prepared.split() if w != ",") in self.listed_safe:
            return dict.fromkeys(("self", *self.kinds), 0.0)
        feats = features(prepared)
        return {"self": self.score(feats), **{k: m.score(feats) for k, m in self.kinds.items()}}


def example_lines(name: str) -> list[str]:
    """One example per line; '#' starts a comment line."""
    text = _data("safety", name).read_text(encoding="utf-8")
    return [s.strip() for s in text.splitlines() if s.strip() and not s.lstrip().startswith("#")]


def everyday_sentences() -> list[str]:
    """Ordinary sentences besides the listed safe examples: the router's examples and the frame × act grid."""
    return [*router_sentences(), *ordinary_sentences()]


def router_sentences() -> list[str]:
    """The router's free-form examples: everyday things people say here, none of them crisis."""
    raw = yaml.safe_load(_data("intents", "examples.yaml").read_text(encoding="utf-8")) or {}
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    walk(raw)
    return out


def ordinary_sentences(s: _Settings | None = None) -> list[str]:
    """Every ordinary frame joined to every everyday act (model.yaml `ordinary`), and other people doing everyday
    things (`others`)."""
    s = s or settings()
    mine = [f"{frame} {act}" for frame in s.ordinary_frames for act in s.ordinary_acts]
    acts, frames = s.others_acts, s.others_frames
    theirs = [f"{person} {frame} {acts[((i * len(frames) + j) * 4 + k) % len(acts)]}"
              for i, person in enumerate(s.others_people) for j, frame in enumerate(frames) for k in range(4)] \
        if acts else []
    return [*mine, *theirs]


# the data that decides how a text is prepared (safety.prepare), so a change to it retrains the model
_PREPARE_FILES = ("words.yaml", "figures_of_speech.yaml", "not_crisis.yaml")


def _fingerprint(source_files: Sequence[str]) -> str:
    h = hashlib.sha256()
    for rel in (_DATA, *(("safety", f) for f in source_files), ("intents", "examples.yaml"),
                *(("safety", f) for f in _PREPARE_FILES)):
        h.update("/".join(rel).encode() + _data(*rel).read_bytes())
    try:
        h.update(Path(__file__).read_bytes())
    except (OSError, TypeError):  # frozen build without sources: the data still keys the cache
        from companion import __version__

        h.update(__version__.encode())
    return h.hexdigest()[:20]


def build(prepare: Callable[[str], str]) -> Model:
    """Trains on the example files, each text read the way the guard reads it (`prepare`)."""
    s = settings()
    crisis = [features(prepare(t)) for f in s.crisis_examples for t in example_lines(f)]
    safe_texts = [prepare(t) for f in s.safe_examples for t in example_lines(f)]
    safe = [features(t) for t in safe_texts]
    safe += [features(prepare(t)) for t in (*router_sentences(), *ordinary_sentences(s))]
    model = Model.train(crisis, safe, l2=s.l2, epochs=s.epochs, safe_weight=s.safe_weight)
    model.listed_safe = frozenset(" ".join(w for w in t.split() if w != ",") for t in safe_texts)
    for kind, files, _limit in s.kinds:
        positives = [features(prepare(t)) for f in files for t in example_lines(f)]
        model.kinds[kind] = Model.train(positives, safe, l2=s.l2, epochs=s.epochs, safe_weight=s.safe_weight)
    return model


def load(prepare: Callable[[str], str], *, use_cache: bool = True) -> Model:
    """The model from the cache when the data and code are unchanged, else trained now (about five seconds) and
    cached. A cache that cannot be read or written only costs the training time."""
    s = settings()
    kind_files = tuple(f for _kind, files, _limit in s.kinds for f in files)
    path = paths.cache_dir() / f"safety-model-{_fingerprint((*s.crisis_examples, *s.safe_examples, *kind_files))}.json"
    if use_cache:
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return Model(dict(saved["weights"]), frozenset(saved["listed_safe"]),
                         {k: Model(dict(w)) for k, w in (saved.get("kinds") or {}).items()})
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("crisis model cache %s unusable (%s); retraining", path, exc)
    model = build(prepare)
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"weights": model.weights, "listed_safe": sorted(model.listed_safe),
                                       "kinds": {k: m.weights for k, m in model.kinds.items()}}),
                           encoding="utf-8")
            os.replace(tmp, path)
            for old in path.parent.glob("safety-model-*.json"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError as exc:
            log.info("crisis model cache not written (%s)", exc)
    return model
