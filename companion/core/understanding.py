"""Spoken readings → one meaning: picks among a recognizer's hypotheses by what the router makes of each, says how
sure that is, and whether to act, ask "did you mean …?" or ask again. Never opens audio, never acts itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from companion.core.intent import IntentResult

#: Each step down a recognizer's n-best list costs this much router confidence (docs/benchmarks/listening.md).
RANK_PENALTY = 0.05
#: The companion's own phrase, heard by a closed search, is a candidate only when it sounds this close to the
#: free transcript (phone edit distance 0..1), and pays FIXED + SCALE × that distance.
GRAMMAR_MAX_DISTANCE = 0.6
GRAMMAR_PENALTY_FIXED = 0.1
GRAMMAR_PENALTY_SCALE = 0.5
#: Below this the companion asks again instead of acting ("I didn't catch that"), unless the engine brings its own
#: (`repeat_below`): calibrated per engine on the tuning voices (docs/benchmarks/listening.md, "Honest confidence").
REPEAT_BELOW = 0.45
#: A crisis reading gets the full crisis reply only when the audio was clear: this share of the engine's readings
#: (best and n-best) are crisis language too, and the engine's own confidence is at least its `clear_at`.
#: Otherwise the person is asked gently: misheard ordinary speech ("live if", "i have faith") never gets it.
CRISIS_AGREEMENT = 0.8
#: Crisis language in the engine's other readings is asked about when the closest own phrase is crisis language, or
#: when at least this many n-best alternatives are. Recall first: with 2, six of 72 spoken crisis sentences of the
#: tuning voices were no longer asked about, against half the gentle checks on ordinary speech (29 → 54 of 978).
RISK_ALTERNATIVES = 1
#: Intents whose mistake costs the person something (an exercise ended, check-ins silenced): below this they are
#: confirmed first ("Did you mean …?").
CONFIRM_BELOW = 0.55
RISKY: frozenset[str] = frozenset({"stop", "snooze"})
#: A session's control words, heard as the best reading of one or two words with at least this router confidence,
#: are acted on even when an n-best alternative holds crisis language (barge-in "stop" said over our own voice).
CONTROLS: frozenset[str] = frozenset({"stop", "pause", "resume"})
CONTROL_SURE = 0.9
ACT, CONFIRM, REPEAT = "act", "confirm", "repeat"


class Reading(Protocol):
    """A recognizer hypothesis (companion.speech.recognizer.Hypothesis): text, where it came from, rank."""

    text: str
    source: str
    rank: int
    distance: float


@dataclass(frozen=True)
class Understanding:
    """The chosen reading and the router's result for it; `decision` is ACT, CONFIRM or REPEAT; `risk_heard`:
    a reading other than the chosen one was crisis language (ask gently: the person may have said it)."""

    text: str
    result: IntentResult
    confidence: float
    decision: str
    risk_heard: bool = False  # ask gently: crisis language in unclear speech, or in a reading that was not chosen


def understand(readings: Sequence[Reading], route: Callable[[str], IntentResult], *,
               engine_confidence: float = 1.0, clear_at: float = 0.0,
               repeat_below: float = REPEAT_BELOW, placed: Callable[[str], bool] | None = None) -> Understanding:
    """The best-supported reading. Only the recognizer's own best reading of clear audio can be crisis: crisis
    language in an alternative, or in unclear audio, sets `risk_heard` instead (the gentle question), so misheard
    ordinary speech never gets the crisis reply and risk words are never dropped either.
    `placed`: whether the conversation can answer a text that names no request (a hello, a topic, a question, a
    "no"); such a best reading of clear audio is acted on (answered) rather than asked again."""
    if not readings or not readings[0].text.strip():
        empty = IntentResult("", "unknown", 0.0, {})
        return Understanding("", empty, 0.0, REPEAT)
    best_text = readings[0].text
    best = route(best_text)
    if best.intent == "crisis":
        free = [r for r in readings if r.source != "grammar"]
        agreement = sum(route(r.text).intent == "crisis" for r in free) / len(free)
        clear = agreement >= CRISIS_AGREEMENT and engine_confidence >= clear_at
        return Understanding(best_text, best, 1.0, ACT if clear else REPEAT, risk_heard=not clear)
    chosen, score, from_grammar = best, _support(best), False
    risky_alternatives, risk = 0, False
    heard_as: list[IntentResult] = [best]  # the free readings' results, best first: where slots are filled from
    for reading in readings[1:]:
        if reading.source == "grammar" and reading.distance > GRAMMAR_MAX_DISTANCE:
            continue
        result = route(reading.text)
        if result.intent == "crisis":
            risky_alternatives += reading.source != "grammar"
            risk = risk or reading.source == "grammar" or risky_alternatives >= RISK_ALTERNATIVES
            continue
        if reading.source != "grammar":
            heard_as.append(result)
        penalty = (GRAMMAR_PENALTY_FIXED + GRAMMAR_PENALTY_SCALE * reading.distance if reading.source == "grammar"
                   else RANK_PENALTY * reading.rank)
        if _support(result) - penalty > score:
            chosen, score, from_grammar = result, _support(result) - penalty, reading.source == "grammar"
    chosen = _with_heard_slots(chosen, heard_as, from_grammar=from_grammar)
    if risk and chosen is best and best.intent in CONTROLS and best.confidence >= CONTROL_SURE \
            and len(best_text.split()) <= 2:
        risk = False  # "stop" heard clearly over our own voice: crisis words in one alternative are noise there
    confidence = round(min(1.0, max(0.0, score)), 4)
    if chosen.intent == "unknown":
        answered = placed is not None and chosen.text == best_text and engine_confidence >= clear_at
        decision = ACT if answered and placed(best_text) else REPEAT
    elif confidence < repeat_below:
        decision = REPEAT
    elif chosen.intent in RISKY and confidence < CONFIRM_BELOW:
        decision = CONFIRM
    else:
        decision = ACT
    return Understanding(chosen.text, chosen, confidence, decision, risk)


def _with_heard_slots(chosen: IntentResult, heard_as: Sequence[IntentResult], *,
                      from_grammar: bool = False) -> IntentResult:
    """The chosen meaning with the slots it lacks taken from free readings of the same intent, best first: the
    companion's own phrase ("can we do four seven eight breathing") never drops the "for ten minutes" that the free
    decoding heard. When the companion's own phrase was chosen, what the free decoding heard also wins over the
    phrase's values: "breathe with me for a couple of minutes", heard word for word, is two minutes, not the
    "twelve minutes" of the nearest listed phrase."""
    heard = {key: value for result in reversed(heard_as) if result.intent == chosen.intent
             for key, value in result.slots.items()}
    if not from_grammar:
        heard = {key: value for key, value in heard.items() if key not in chosen.slots}
    return replace(chosen, slots={**chosen.slots, **heard}) if heard else chosen


def _support(result: IntentResult) -> float:
    """How much a reading supports acting: the router's confidence, nothing for a reading it cannot place."""
    return 0.0 if result.intent == "unknown" else result.confidence
