"""Spoken evaluation end to end: corpus clips → the real VAD and recognizer → the companion's understanding →
scores per voice family and condition. Shared by tests/test_listening.py and scripts/eval_listening.py; never
tunes anything and never speaks with the companion's own voice (speech_corpus excludes it)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from typing import Any

import speech_corpus

Row = tuple[str, str, dict[str, str]]  # text, intent, slots (as written in tests/data/*.tsv)
#: The label of sentences that are only there to be not crisis (sad, dark idioms, recovery): no intent is scored.
ORDINARY = "ordinary"


@dataclass(frozen=True)
class Outcome:
    """What the companion did with one spoken clip."""

    text: str
    intent: str  # the label
    slots: dict[str, str]
    family: str
    voice: str
    condition: str
    transcript: str
    understood: str
    got: str  # the intent acted on (or asked about)
    got_slots: dict[str, Any] = field(default_factory=dict)
    decision: str = "repeat"
    risk_heard: bool = False
    confidence: float = 0.0
    end_to_intent_ms: float = 0.0
    readings: tuple[tuple[str, str, int, float], ...] = ()  # (text, source, rank, distance), best first
    engine_confidence: float = 0.0  # the recognizer's own belief in its best reading
    safety_level: str = ""  # acted on as crisis: "crisis" (the full reply) or "check" (the gentle question)

    @property
    def right(self) -> bool:
        """Intent and slots right, and acted on (or confirmed first)."""
        return (self.decision in ("act", "confirm") and self.got == self.intent
                and all(str(self.got_slots.get(k)) == v for k, v in self.slots.items()))

    @property
    def crisis_reply(self) -> bool:
        """The full crisis reply (the guard's patterns fired on clearly heard speech)."""
        return self.got == "crisis" and self.decision == "act" and self.safety_level != "check"

    @property
    def gentle_check(self) -> bool:
        """The gentle "are you safe?" question with the line: the guard's learned reading, or risk words heard
        in unclear speech or in another reading."""
        return (self.got == "crisis" and self.decision == "act" and self.safety_level == "check") or self.risk_heard

    @property
    def reached_safety(self) -> bool:
        return self.crisis_reply or self.gentle_check

    @property
    def confident_wrong(self) -> bool:
        """Acted at once on a wrong intent: the worst outcome."""
        return self.decision == "act" and not self.right and self.got != "unknown"


_WORKER: dict[str, Any] = {}


def _init(engine: str) -> None:
    from companion.speech import audio
    from companion.speech.engines import open_recognizer

    _WORKER["recognizer"] = open_recognizer(engine, "open")
    _WORKER["vad"] = audio.make_vad()


def _hear(job: tuple[speech_corpus.Clip, Row]) -> Outcome:
    from companion.cli.listen import route
    from companion.speech import audio

    clip, (text, intent, slots) = job
    heard = audio.decode_file(clip.path, _WORKER["recognizer"], vad=_WORKER["vad"])
    start = time.perf_counter()
    result = route(heard.transcript, heard.hypotheses, engine_confidence=heard.confidence, clear_at=heard.clear_at,
                   repeat_below=heard.repeat_below)
    route_ms = (time.perf_counter() - start) * 1000
    return Outcome(text, intent, slots, clip.voice.family, clip.voice.id, clip.condition, heard.transcript,
                   result["understood"], result["intent"], result["slots"], result["decision"], result["risk_heard"],
                   result["confidence"], round(heard.decode_ms_after_end + route_ms, 1),
                   tuple((h.text, h.source, h.rank, round(h.distance, 3)) for h in heard.hypotheses),
                   round(heard.confidence, 4), _level(result))


def _level(result: dict[str, Any]) -> str:
    if result["intent"] != "crisis" or result["decision"] != "act":
        return ""
    from companion.core import safety

    found = safety.check(result["understood"])
    return found.level if found is not None else safety.CRISIS


def evaluate(rows: Sequence[Row], *, engine: str = "pocketsphinx", families: Sequence[str] | None = None,
             conditions: Sequence[str] = speech_corpus.CONDITIONS, jobs: int = 2) -> list[Outcome]:
    """Every row spoken by one voice of each family (rotating) in each condition, heard as the app hears it.
    Callers that use jobs > 1 from a script need an `if __name__ == "__main__":` guard (spawned workers)."""
    texts = [r[0] for r in rows]
    clips = speech_corpus.build(texts, families=families, conditions=conditions, jobs=jobs)
    by_text = {r[0]: r for r in rows}
    work = [(c, by_text[c.text]) for c in clips]
    if jobs <= 1:
        _init(engine)
        return [_hear(w) for w in work]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_init,
                             initargs=(engine,)) as pool:
        return list(pool.map(_hear, work, chunksize=max(1, len(work) // (4 * jobs))))


@dataclass(frozen=True)
class Score:
    """The figures of docs/benchmarks/listening.md for one group of outcomes."""

    n: int
    requests: int  # rows that are neither crisis nor out of scope
    right: int
    confident_wrong: int
    asked_again: int
    crisis: int
    crisis_reached: int
    crisis_full: int
    ordinary_given_crisis_reply: int
    ordinary_given_gentle_check: int
    out_of_scope: int
    out_of_scope_declined: int
    end_to_intent_ms_median: float

    @property
    def accuracy(self) -> float:
        return self.right / self.requests if self.requests else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy": round(self.accuracy, 4)}


def score(outcomes: Sequence[Outcome]) -> Score:
    import statistics

    requests = [o for o in outcomes if o.intent not in ("crisis", "unknown", ORDINARY)]
    crisis = [o for o in outcomes if o.intent == "crisis"]
    ordinary = [o for o in outcomes if o.intent != "crisis"]
    oos = [o for o in outcomes if o.intent == "unknown"]
    latencies = [o.end_to_intent_ms for o in outcomes if o.transcript]
    return Score(len(outcomes), len(requests), sum(o.right for o in requests),
                 sum(o.confident_wrong for o in requests), sum(o.decision == "repeat" for o in requests),
                 len(crisis), sum(o.reached_safety for o in crisis), sum(o.crisis_reply for o in crisis),
                 sum(o.crisis_reply for o in ordinary), sum(o.gentle_check for o in ordinary),
                 len(oos), sum(o.got == "unknown" or o.decision == "repeat" for o in oos),
                 round(statistics.median(latencies), 1) if latencies else 0.0)


def by_group(outcomes: Sequence[Outcome]) -> dict[tuple[str, str], Score]:
    """Scores per (family, condition), plus ("all", condition) and ("all", "all")."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        for key in ((o.family, o.condition), ("all", o.condition), ("all", "all")):
            groups.setdefault(key, []).append(o)
    return {key: score(group) for key, group in groups.items()}


def table(scores: dict[tuple[str, str], Score]) -> str:
    """A markdown table of the scores, one line per group."""
    lines = ["| family | condition | intent + slots | confident wrong | asked again | crisis reached (full reply) "
             "| ordinary → crisis reply | ordinary → gentle check | out of scope declined | end → intent ms |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (family, condition), s in sorted(scores.items(), key=lambda kv: (kv[0][0] == "all", kv[0])):
        lines.append(f"| {family} | {condition} | {s.right}/{s.requests} ({s.accuracy:.1%}) | {s.confident_wrong} "
                     f"| {s.asked_again} | {s.crisis_reached}/{s.crisis} ({s.crisis_full}) "
                     f"| {s.ordinary_given_crisis_reply} | {s.ordinary_given_gentle_check} "
                     f"| {s.out_of_scope_declined}/{s.out_of_scope} | {s.end_to_intent_ms_median:.0f} |")
    return "\n".join(lines)
