"""What the companion says for an understood utterance: the words (from companion/data/replies/*.yaml, in
rotating variants), the exercises it offers, and the exercise it starts at once.
It must never invent content in code, and never answers a crisis with anything but the crisis reply.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from companion.core.fuzzy import normalize, sentences
from companion.core.intent import FEELINGS, INTENTS, PATTERNS, IntentResult

REFRAME_REQUEST = re.compile(r"\b(reframe|(look at|challenge|question|work on|examine|help me with|unpack) "
                              r"(this|that|the|my|a|one)( \w+)? thought"
                              # "that thing where you challenge the negative self-talk"
                              r"|(challenge|challenging|question|questioning|tackle|tackling|work on|deal with|"
                              r"talk back to|argue with) (the |my |this |that |these |those |some |negative |harsh |"
                              r"unhelpful |mean |inner )*(self talk|inner critic|critic|thoughts|inner voice|"
                              r"self criticism))")
_THOUGHT_LEAD = re.compile(r"^(and |but |so )?(my (head|brain|mind|inner critic|inner voice)|a voice|the voice)"
                           r"( in my head)? (keeps|kept|is|just)? ?(saying|telling me|says|tells me|going)( that)?\s+",
                           re.IGNORECASE)


def thought_in(text: str) -> str | None:
    """The thought to look at in a request for the reframe: the sentences that are not the request itself ("Can you
    do that thing where you challenge the negative self-talk? My head keeps saying I'm the weakest associate." →
    "I'm the weakest associate."); a text of one sentence whole; None when every sentence only asks."""
    parts = sentences(text)
    if len(parts) <= 1:
        return text.strip().rstrip(" .!;") or None
    kept = [x for x in parts if not REFRAME_REQUEST.search(normalize(x))]
    return (_THOUGHT_LEAD.sub("", " ".join(kept)).rstrip(" .!;") or None) if kept else None


EXERCISE_IDS: tuple[str, ...] = (*PATTERNS, "ground", "compassion", "reframe", "journal", "connect",
                                 "professional_help")


@dataclass(frozen=True)
class Reply:
    """What to say; `offers`: exercise ids to offer with a yes/no question; `start`: exercise to start now."""

    text: str
    offers: tuple[str, ...] = ()
    start: str | None = None


def _read(name: str) -> dict[str, Any]:
    text = resources.files("companion").joinpath("data", "replies", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


class ReplyBook:
    """The reply data, validated at load, plus a per-key turn counter so variants rotate."""

    def __init__(self, intents: dict[str, Any], feelings: dict[str, Any], progress: dict[str, Any],
                 region: str | None = None) -> None:
        self._intents = intents
        self._feelings = feelings
        self._progress = progress
        self._region = region
        self._turns: defaultdict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._validate()

    @classmethod
    def load(cls, region: str | None = None) -> ReplyBook:
        """Reads companion/data/replies/*.yaml. `region` picks the crisis line (default: from the locale)."""
        return cls(_read("intents.yaml"), _read("feelings.yaml"), _read("progress.yaml"), region)

    def _validate(self) -> None:
        missing = [i for i in INTENTS if i not in self._intents and i not in {"feeling", "progress"}]
        if missing:
            raise ValueError(f"companion/data/replies/intents.yaml: no reply for intents {missing}")
        names = self._intents.get("names", {})
        for key, entry in self._intents.items():
            if key == "names":
                continue
            if key not in INTENTS:
                raise ValueError(f"replies/intents.yaml: {key!r} is not an intent; intents are {INTENTS}")
            for ex in [*(entry.get("offers") or []), *([entry["start"]] if entry.get("start") else [])]:
                if ex not in EXERCISE_IDS:
                    raise ValueError(f"replies/intents.yaml: {key}: unknown exercise {ex!r}; "
                                     f"use {EXERCISE_IDS}")
        for feeling, entry in self._feelings["feelings"].items():
            if feeling not in (*FEELINGS, "unspecified"):
                raise ValueError(f"replies/feelings.yaml: unknown feeling {feeling!r}; use {FEELINGS}")
            for ex in entry["offers"]:
                if ex not in EXERCISE_IDS or ex not in names:
                    raise ValueError(f"replies/feelings.yaml: {feeling}: unknown exercise {ex!r}")
        absent = [f for f in FEELINGS if f not in self._feelings["feelings"]]
        if absent:
            raise ValueError(f"replies/feelings.yaml: no reply for feelings {absent}")

    def _pick(self, key: str, variants: list[str]) -> str:
        """The next variant for `key` in turn (never the same twice running when there are two or more)."""
        if not variants:
            return ""
        with self._lock:
            turn = self._turns[key]
            self._turns[key] = turn + 1
        return variants[turn % len(variants)]

    def _name(self, exercise: str) -> str:
        return str(self._intents["names"].get(exercise, exercise))

    def reply(self, result: IntentResult, *, summary: dict[str, Any] | None = None) -> Reply:
        """The reply for one understood utterance; `summary` (Store.summary shape) feeds `progress`."""
        intent = result.intent if result.intent in INTENTS else "unknown"
        if intent == "crisis":
            from companion.core import safety

            region = self._region if self._region is not None else safety.region_from_locale()
            return Reply(safety.crisis_reply(region))
        if intent == "feeling":
            return self._feeling(result)
        if intent == "progress":
            return Reply(self._summary_text(summary))
        entry = self._intents[intent]
        if intent == "breathe":
            pattern = result.slots.get("pattern") or entry.get("default_pattern", "box")
            minutes = result.slots.get("minutes")
            for_minutes = f" for {minutes} minute{'s' if minutes != 1 else ''}" if minutes else ""
            text = self._pick(intent, entry["variants"]).format(name=self._name(pattern),
                                                                for_minutes=for_minutes)
            return Reply(text, start=pattern)
        if intent == "reframe":
            said = " ".join((thought_in(result.text) or "").split()).strip(" .!?")
            if said and len(said) <= 200:
                text = self._pick(intent, entry["variants"]).format(said=said)
            else:
                text = self._pick("reframe/none", entry["without_words"])
            return Reply(text, start="reframe")
        if intent == "snooze":
            minutes = result.slots.get("minutes") or entry.get("default_minutes", 30)
            return Reply(self._pick(intent, entry["variants"]).format(minutes=minutes))
        return Reply(self._pick(intent, entry["variants"]), tuple(entry.get("offers") or ()),
                     entry.get("start"))

    @property
    def names(self) -> dict[str, str]:
        """How each exercise id is said aloud."""
        return {str(k): str(v) for k, v in self._intents["names"].items()}

    def feeling_parts(self, result: IntentResult, *, avoid: Callable[[str], bool] | None = None
                      ) -> tuple[str, str, tuple[str, ...]]:
        """A feeling's acknowledgement, its offer question and the offered exercise ids; `avoid(line)` is true
        for a wording said lately (another one is taken when there is one)."""
        feeling = result.slots.get("feeling")
        key = feeling if feeling in self._feelings["feelings"] else "unspecified"
        entry = self._feelings["feelings"][key]
        offers = tuple(entry["offers"])
        offer_text = " or ".join(self._name(o) for o in offers)
        ack, question = "", ""
        for _ in range(3):
            ack = self._pick("feeling/" + key, entry["acknowledge"])
            if avoid is None or not avoid(ack):
                break
        for _ in range(3):
            question = self._pick("feeling/question", self._feelings["question"]).format(offer=offer_text)
            if avoid is None or not avoid(question):
                break
        return ack, question, offers

    def _feeling(self, result: IntentResult) -> Reply:
        ack, question, offers = self.feeling_parts(result)
        return Reply(f"{ack} {question}", offers)

    def _summary_text(self, summary: dict[str, Any] | None) -> str:
        p = self._progress
        s = dict(summary or {})
        days = int(s.get("days") or 7)
        sessions = int(s.get("sessions") or 0)
        checkins = int(s.get("checkins") or 0)
        journal = int(s.get("journal_entries") or 0)
        steps = int(s.get("connection_steps") or 0)
        if not (sessions or checkins or journal or steps):
            return self._pick("progress/empty", p["empty"]).format(days=days)
        by_kind: dict[str, int] = s.get("by_kind") or {}
        feelings: dict[str, int] = s.get("feelings") or {}
        minutes = float(s.get("minutes") or 0)
        values = {
            "days": days, "sessions": sessions, "completed": int(s.get("completed") or 0),
            "minutes": round(minutes), "duration": _duration(minutes),
            "checkins": checkins, "journal_entries": journal,
            "connection_steps": steps,
            "top_kind": self._name(max(by_kind, key=by_kind.__getitem__)) if by_kind else "",
            "top_feeling": max(feelings, key=feelings.__getitem__) if feelings else "",
        }
        parts = []
        for name, template in p["parts"].items():
            count = values.get(name)
            if name == "top_kind":
                if sessions and values["top_kind"]:
                    parts.append(template.format(**values))
                continue
            if name == "checkins" and not values["top_feeling"]:
                template = template.split(",")[0]
            if count == 1 and name in p.get("parts_one", {}):
                template = p["parts_one"][name]
                if name == "checkins" and not values["top_feeling"]:
                    template = template.split(",")[0]
            if count:
                parts.append(template.format(**values))
        body = "; ".join(parts)
        opening = self._pick("progress/opening", p["opening"]).format(**values)
        closing = self._pick("progress/closing", p["closing"])
        return f"{opening} {body[:1].upper()}{body[1:]}. {closing}"


def _duration(minutes: float) -> str:
    """Time spent, said as a person would: "under a minute", "about a minute", "about 12 minutes"."""
    if minutes < 0.75:
        return "under a minute"
    if minutes < 1.5:
        return "about a minute"
    return f"about {round(minutes)} minutes"
