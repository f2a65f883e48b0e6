"""Which literal words a regular expression's every match must contain, read off the expression itself, so a
list of patterns can skip those whose words are not in a text. It must never skip a pattern that could match:
when it cannot tell, it says nothing (the pattern is always searched).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser as _p  # type: ignore[attr-defined]
from typing import Any

log = logging.getLogger(__name__)

MIN_LEN = 3  # shorter literals ("i ", "to") filter nothing worth the check


def _best(cands: list[frozenset[str]]) -> frozenset[str] | None:
    useful = [c for c in cands if c and min(map(len, c)) >= MIN_LEN]
    if not useful:
        return None
    return max(useful, key=lambda c: (min(len(s.strip()) for s in c), -len(c)))


def _seq(items: Any) -> frozenset[str] | None:
    cands: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            cands.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is _c.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is _c.SUBPATTERN:
            _group, add, _del, sub = av
            if add & re.IGNORECASE:
                return None
            got = _seq(sub)
        elif op is _c.BRANCH:
            alts = [_seq(a) for a in av[1]]
            got = None if any(a is None for a in alts) else frozenset().union(*alts)  # type: ignore[arg-type]
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, _high, sub = av
            got = _seq(sub) if low >= 1 else None
        else:  # classes, anchors, lookarounds, backreferences: no literal known
            got = None
        if got is not None:
            cands.append(got)
    flush()
    return _best(cands)


def required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Strings one of which every match of `pattern` contains, or None when no useful set is known."""
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        return _seq(_p.parse(pattern.pattern, pattern.flags))
    except Exception:  # an expression this reader does not know: always search it
        return None


def required_literals_cached(patterns: Sequence[re.Pattern[str]],
                             cache_dir: Path | None) -> list[frozenset[str] | None]:
    """`required_literals` of every pattern, kept in `cache_dir` under a name made from the patterns themselves
    (reading the expressions costs about 150 ms for the guard's 700; loading the answer a few). A cache that
    cannot be read or written only costs that time."""
    key = hashlib.sha256("\n".join(f"{p.flags}:{p.pattern}" for p in patterns).encode()).hexdigest()[:20]
    path = cache_dir / f"safety-prefilter-{key}.json" if cache_dir is not None else None
    if path is not None:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
            if len(rows) == len(patterns):
                return [None if r is None else frozenset(r) for r in rows]
        except (OSError, ValueError):
            pass
    found = [required_literals(p) for p in patterns]
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps([None if f is None else sorted(f) for f in found]), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            log.info("prefilter cache not written (%s)", exc)
    return found
