"""The conversation's state and memory: what a message is (a greeting, a "no", grief, good news, a name), what
was said lately (so no line repeats within ten turns) and what is remembered between runs (name, small steps).
It must never start an exercise itself, never keep a "no" as an answer, and never decide anything about crisis.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

import yaml

from companion.core.fuzzy import normalize, sentences
from companion.core.intent import IntentResult
from companion.core.store import Store

RECENT_TURNS = 10  # no line of the companion's own is said again within this many lines
_STOP_WORDS = frozenset(re.findall(r"\w+", """
    i my me a an the to and or of for with on in at it is was be do did done call called text texted message
    messaged send sent say said go went get got this that will would just one some up out about"""))
_PAST = re.compile(r"\b(i|we|finally|actually|just) \w+ed\b|\b(i|we) (did|went|sent|saw|met|rang|spoke|wrote|made|"
                   r"took|got|had|managed|finally|told|gave|rang)\b|\b(done|did it|went well)\b")


# the asking itself turned down: "don't give me breathing exercises", "never suggest journaling", "no more exercises"
_TURNED_DOWN_ASK = re.compile(r"\b(do not|dont|please do not|never|no more|stop) (give|giving|make|making|start|"
                              r"starting|send|sending|suggest|suggesting|offer|offering|push|pushing|put|putting) "
                              r"(me |us )?"
                              r"(on |through |into |any |more |another |the |your |a |those |these |that )?(\w+ )?"
                              r"(breath\w*|exercise\w*|ground\w*|journal\w*|meditat\w*|anything|things|stuff|"
                              r"tips|techniques|that)\b|^no more (breath\w*|exercise\w*)\b")
# a name after a way of reaching someone, as written ("message Dave", "ring Emily"): who "him" or "her" is next
_CONTACT_NAME = re.compile(r"\b(?:message|text|call|ring|email|e-mail|phone|telephone|tell|ask|see|visit|meet|contact)"
                           r" (?P<name>[A-Z][a-z]{2,})\b")
# one person named in the message the step is said in: "I have Ana's number", "her name is Ana", "Ana from work"
_NAMED_HERE = re.compile(r"\b(?P<name>[A-Z][a-z]{2,})(?:'s| s) (?:number|phone number|phone|email|address|details|"
                         r"instagram|insta|whatsapp|snap)\b|\b(?i:her|his) name(?:'s| is) (?P<name2>[A-Z][a-z]{2,})\b")
_QUESTION = re.compile(r"^(what|how|why|where|when|who|which) (is|are|do|does|did|can|could|should|would|will|was|"
                       r"were|about|if|time|happens|kind|sort|way)\b"
                       r"|^(can|could|should|would|do|does|did|will|am|have|has) (i|you|we|it|this|that|there|"
                       r"they|he|she|people|anyone|anybody)\b"
                       r"|^(is|are) (it|this|that|there|a|an|the|my|your|people|anyone|anybody|they|he|she)\b"
                       r"|\b(how do (i|you|u)|how can i|how to|what should|who won|where can|where (i|do i) can)\b")
_EMOTICON = re.compile(r"<3+|[:;=8x][-']?[()\[\]dpo3/\\|*]+|\^_?\^", re.IGNORECASE)
_RATING = re.compile(r"\b(\d{1,2}) (out of|of|/) 10\b|\b(\d{1,2}) 10\b")
# "i'd say i'm about a 5 today": a number said as a mood, the message ending with it
_BARE_RATING = re.compile(r"\b(about|around|like|maybe|probably|feel like|feeling like|i am|i would say|call it|at|"
                          r"solid|a good|a low|a high) (a |an )?(\d{1,2})( or (a )?\d{1,2})?"
                          r"( today| tonight| now| right now| at the moment| i guess| i think| ish| maybe| honestly)*$")
_MAYBE_DO = re.compile(r"^(maybe|perhaps|i might|i could|i think i will|i will probably)( i will| i)? "
                       r"(send|call|text|message|write|ask|visit|invite|go|try|email|ring|phone|meet|join|check|talk)\b")
# someone else's "is going to the vet friday" is not the person's plan
# "going to" is a plan said by the person ("i am really going to", or a sentence that starts with it), never someone
# else's ("my mum is literally going to kill me if … by friday")
_PLAN = re.compile(r"(\b(i will|i ll|i think i will|maybe i|i plan to|i go|i can|i could)|"
                   r"(^|\b(i am|we are|i was|we were) (\w+ )?)going to)\b.*"
                   r"\b(saturday|sunday|monday|tuesday|wednesday|thursday|friday|tomorrow|this week|next week|"
                   r"weekend|tonight)\b|\b(saturday|sunday|monday|tuesday|wednesday|thursday|friday|tomorrow)\b.*"
                   r"\b(i|we) (go|will|ll|call|ask|try|visit)\b")
_MIXED = re.compile(
    r"\b(both at once|mixed feelings|mixed emotions|bittersweet|bitter sweet|happy and sad|sad and happy|but also|"
    r"part of me|conflicted|torn between|feel torn|all over the place|a weird mix|a strange mix)\b"
    r"|\b(good|happy|glad|excited|great|relieved|proud|thrilled) (but|though|and also|and a bit|and kind of)\b"
    r"|\b(nervous|scared|terrified|sad|worried|anxious) (but|and) (also )?(excited|happy|relieved|proud|hopeful)\b")
# words that name an exercise or what one is for: a long sentence with request words asks for one only with these
_EXERCISE_WORDS = re.compile(r"\b(breath\w*|sigh\w*|ground\w*|journal\w*|diary|meditat\w*|exercise\w*|compassion|"
                             r"kind(ness)?|reframe|thoughts?|steps?|reach out|connect\w*|calm\w*|relax\w*|box|square|"
                             r"5 4 3 2 1|4 7 8|thing|write|writing|pause|senses|therapy|therapist|professional|"
                             r"counsel\w*|help me|slow down|panic\w*|wind down|settle|meet\w* (new )?(people|friends)|"
                             r"make friends)\b")
_GOOD_TOPICS = ("good_news", "achievement", "passed", "gratitude", "celebration", "new_baby", "good_day")
# two pieces of news in one message: a loss or hard news told as the background of something good now
_LOSS_TOPICS = ("grief", "pet_loss", "separation", "job_loss", "pregnancy_loss", "failed", "health", "family_illness")
_TIME_LEAD = re.compile(r"^((and|so|well|but|honestly|actually) )?(ever since|since|after|following|when) ")
_TURN_WORD = re.compile(r"\b(but|though|although|yet)\b")
# the good clause still about the one lost or still hurting ("but i love him so much", "i miss her"): not good news
_STILL_HURTS = re.compile(r"\b(miss|missing|love (him|her|them)|loved (him|her|them)|without (him|her|them)|"
                          r"can not|could not|do not|did not|not (okay|ok|fine|good|great|well)|"
                          r"still (sad|hurts|cry))\b")
_NOT_NEWS = re.compile(r"\b(want|wanted|wish|hope|hoping|would like|trying to|try to|need to|if|maybe|should)\b")
_GOOD_WHAT = re.compile(r"^(and |also |at least |luckily |thankfully )*(my|our|the) (?P<what>(new |first )?\w+)"
                        r" (is|are|was|were|has been|have been|went|came|feels)\b")
# words after "my friend" that go on with the sentence rather than name the friend ("my friend was there")
_NOT_A_NAME = frozenset(re.findall(r"\w+", """
    is was are were has had have and but or so who that which said says told asked asks never always just really still
    also too again did does do will would can could should might may is not was not from at in on to for with of the
    a an my his her their our says lives lived came come went goes got gets has been wants wanted thinks thought knows
    knew feels felt keeps kept then when where why how because if not only even as about over after before since
    tomorrow today tonight yesterday now later here there this that these those he she they it we you i me him them
    wasnt isnt doesnt didnt hasnt havent couldnt wouldnt cant wont dont ago left moved passed died who whom whose
    i get on with works work working at from down up out off round back over maybe perhaps probably possibly
    definitely actually honestly though anyway first last once too either neither both all each every any some
    yes no yeah nah ok okay well sure"""))
_INTRODUCED = re.compile(r"\bthere is (a|an|this|one) (?P<who>(\w+ )?(nurse|doctor|teacher|colleague|friend|neighbour|"
                         r"neighbor|guy|woman|man|girl|boy|lady|bloke|mate|coworker|manager|boss|supervisor|"
                         r"priest|vicar|counsellor|counselor|coach|tutor|porter|student|lad|lass))\b")
_SAVE = re.compile(r"^(yes |yeah |ok |okay |sure |please |yep )*(save|keep|note|write down) (that|this|it)\b"
                   r"|\b(can you|could you|please) (save|keep|note) (that|this|it)( as)?( a| my)? step\b"
                   r"|\b(can you|could you|please|will you|would you)( please)? (write down|note down|note|remember|"
                   r"make a note|keep a note|save)( that)? (?=(i am going to|i am gonna|i will|i need to|i have to|"
                   r"i must|to remind me to|to ring|to call) )")
# what a request to write it down keeps: "can you write down that i'm going to ring the council tomorrow, otherwise
# i'll forget" → "ring the council tomorrow"
_SAVE_THAT = re.compile(r"\b(write down|note down|note|remember|make a note|keep a note|save)( that)? (i am going to|"
                        r"i am gonna|i will|i need to|i have to|i must|to remind me to|to) (?P<step>.+?)"
                        r"( otherwise .*| or i will forget.*| so i (do not|will not|dont) forget.*| in case .*)?$")
_SAVE_LEAD = re.compile(r"^(yes |yeah |ok |okay |sure |yep |please )*(save|keep|note|remember|write down) "
                        r"(that|this|it)( please| down| as a step| as my step)*\s*")


def _step_pattern(data: dict[str, Any]) -> re.Pattern[str]:
    """dialogue.yaml `small_step`: before, a firm or tentative lead, words between, a verb, and the rest."""
    return re.compile(rf"^(?P<before>{data['before']})(?:(?P<firm>{data['firm']})|(?P<tentative>{data['tentative']}))"
                      rf" {data['between']}(?P<verb>{data['verbs']}) (?P<rest>.+)$")


# "i am in year 3", "on day 4", "step 2", "my band 6 interview": a number after these counts something, never a rating
COUNTED_BY: tuple[str, ...] = ("year", "grade", "class", "form", "level", "day", "week", "step", "page", "room",
                               "round", "chapter", "episode", "season", "part", "number", "bus", "platform", "gate",
                               "ward", "bed", "floor", "band")


# two-letter words that name whom a step was toward ("call my gp" … "saw the gp this afternoon")
_SHORT_WHO = frozenset({"gp", "dr", "ma", "pa"})


# a number given to the mood or the day anywhere in a message: "mood 2. flat", "my mood maybe 3, sad and angry",
# "i would rate today a 5. restless rather than sad" (not "mood swings 3 times a day")
_NAMED_RATING = re.compile(r"\b(my )?mood( is| was| today| tonight| now| right now| about| around| maybe| like|"
                           r" probably| at| of| is at| is like| is maybe| is about| i would say| honestly)*"
                           r" (a |an )?(?P<n>\d{1,2})\b(?! (times|minutes|hours|days|weeks|months|years|people|things))"
                           r"|\b(rate|rating)( today| tonight| it| myself| my day| the day| this| my mood| this week|"
                           r" things)? (as |at |a |an |around |about )*(?P<m>\d{1,2})\b"
                           r"|\b(give|score|put)( today| tonight| myself| my day| the day| my mood| this week)"
                           r" (as |at |a |an |around |about )*(?P<g>\d{1,2})\b"
                           # "put me down as 7", "mood, if you're asking. 3", "sad but a little better. 5."
                           r"|\b(put|mark|write|note) me (down )?(as|at|for) (a |an )?(?P<p>\d{1,2})\b"
                           r"|^(put|mark|write|note)( it)?( down)?( as| at)? (a |an )?(?P<r>\d{1,2})\b"
                           r"|\bmood( if you are asking| since you ask| if you want it)? (?P<q>\d{1,2})\b"
                           # "feeling like a 5 today. tired but lighter": a rating said first, the words after it
                           r"|^(today |honestly |i am |i m |im )?(feeling|feel|i feel) like (a |an )(?P<f>\d{1,2})\b"
                           r"(?! (times|minutes|hours|days|weeks|months|years|year|yr|people|things|stars|out))"
                           r"|\b(sad|happy|tired|anxious|lonely|better|worse|flat|low|meh|stressed|angry|numb|"
                           r"overwhelmed|knackered|exhausted|worn out|guilty|nervous|calmer|rough)\b"
                           r"[a-z ]{0,40}" + "".join(f"(?<!\\b{w})" for w in COUNTED_BY) + r" (?P<e>\d{1,2})$"
                           r"(?! (times|minutes|hours|days|weeks|months|years|people|things|stars))")


def _asks(key: str, raw: str) -> bool:
    """A question: a question mark typed, or a sentence that opens like one ("what is", "how do")."""
    return "?" in raw or bool(_QUESTION.search(key))


def _rating(key: str) -> int | None:
    from companion.core.numbers import words_to_digits

    digits = words_to_digits(key)
    m = _RATING.search(digits)
    named = _NAMED_RATING.search(digits)
    if named and named.group("e") and key.split()[-1] == "one":
        named = None  # "ok the breathing thing. short one": a pronoun, not a rating
    if m:
        value = int(m.group(1) or m.group(3))
    elif named:
        value = int(next(v for v in named.group("n", "m", "g", "p", "q", "e", "r", "f") if v))
    elif (bare := _BARE_RATING.search(digits)) and len(digits.split()) <= 10:
        value = int(bare.group(3))
    else:
        return None
    return value if 0 <= value <= 10 else None


def step_text(key: str, fallback: str) -> str:
    """The step in "yes save that. write a first draft this week" (what follows the request), else `fallback`."""
    that = _SAVE_THAT.search(key)
    if that and len(that.group("step").split()) >= 2:
        return that.group("step")
    rest = _SAVE_LEAD.sub("", key).strip()
    return rest if len(rest.split()) >= 2 else fallback


@functools.cache
def _read() -> dict[str, Any]:
    """dialogue.yaml, parsed once a process (read-only: every Dialogue shares it)."""
    text = resources.files("companion").joinpath("data", "replies", "dialogue.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _compile(patterns: Sequence[str] | None, whole: bool = False,
             words: dict[str, Sequence[str]] | None = None) -> list[re.Pattern[str]]:
    """Patterns with their word lists put in: "{person}" becomes one alternation of dialogue.yaml's `words.person`."""
    lists = {f"{{{name}}}": "(?:" + "|".join(re.escape(w) for w in sorted(ws, key=len, reverse=True)) + ")"
             for name, ws in (words or {}).items()}

    def expand(p: str) -> str:
        for name, alternation in lists.items():
            p = p.replace(name, alternation)
        return p

    return [re.compile(f"(?:{expand(p)})$" if whole else expand(p)) for p in (patterns or ())]


@dataclass(frozen=True)
class Expectation:
    """What the last question the app asked is waiting for."""

    kind: str  # "offer" | "checkin" | "intensity" | "followup" | "safety" | "confirm" | "repeat" | "save_step"
    #            | "keep_step" (a tentative step, kept unless the next answer turns it down) | "rating" (a bare number)
    offers: tuple[str, ...] = ()
    step_id: int | None = None  # the connection step being followed up, or the check-in being rated
    source: str = "click"  # what started the check-in: scheduled | click | typed | voice
    feeling: IntentResult | None = None  # the feeling being rated, answered once the rating is in
    pending: str = ""  # "confirm": what was heard, acted on after a yes; "save_step": the plan kept after a yes
    #                    "offer": the thought a reframe offered for starts from

    def expecting(self) -> frozenset[str]:
        if self.kind == "checkin":
            return frozenset({"feeling", "no", "snooze"})
        if self.kind == "intensity":
            return frozenset({"no"})
        if self.kind == "repeat":
            return frozenset()
        return frozenset({"yes", "no"})


@dataclass(frozen=True)
class Said:
    """What one message is, beside its intent. `key` is the router's form of it (normalised)."""

    key: str
    social: str | None = None        # a social basic ("greeting", "who_are_you", …)
    refusal: bool = False            # the whole message is a "no" ("nah", "i said no", "forget it")
    refusal_lead: bool = False       # it starts with one ("nah. breathing doesn't fix anything")
    topic: str | None = None         # "grief", "good_news", …
    who: str | None = None           # the person named in the topic ("husband")
    mixed: bool = False              # good and hard in one message
    self_judgement: bool = False     # a harsh thought about oneself (the only thing reframed)
    question: bool = False
    name: str | None = None          # "my name is Sam"
    asks_name: bool = False          # "do you remember my name?"
    asks_last_time: bool = False     # "what did we talk about last time?"
    no_words: bool = False           # emoji, "...", "?", "<3", ":)"
    rating: int | None = None        # "like a 3 out of 10"
    plan: bool = False               # "maybe saturday i go library with my son"
    step: str = ""                   # a small step stated in so many words ("call the gp tomorrow morning")
    step_kind: str | None = None     # "firm" ("ill call…"), "tentative" ("maybe i could…"), "hedged" ("not promising")
    asks_step: bool = False          # "do you remember what i said i'd do?"
    asks_about: str | None = None    # the exercise a question asks the point of ("does the 4 7 8 thing work?")
    save_request: bool = False       # "yes save that. write a first draft this week"
    sentiment: int = 0               # >0 good news, <0 hard news (±2 clearly so), 0 neither (dialogue.yaml `sentiment`)
    news_turn: str | None = None     # two news: "after_loss", "hard_then_good", "good_then_hard" (`_news_turn`)


class Dialogue:
    """One conversation's state: the lines said lately and the memory kept in the store. Thread-safe."""

    def __init__(self, store: Store, *, data: dict[str, Any] | None = None,
                 hour: Callable[[], int] | None = None) -> None:
        self.store = store
        self.data = data or _read()
        self._hour = hour or (lambda: datetime.now().hour)
        self._lock = threading.Lock()
        self._recent: deque[str] = deque(maxlen=RECENT_TURNS * 3)  # a turn can say several lines
        self._turns: dict[str, int] = {}
        self.last_line = ""
        self.previous_text = ""  # what the person said the turn before ("sure save it" keeps that)
        self.current_text = ""
        self.turn = 0
        self._last_topic: tuple[str, str | None, int] | None = None
        self._topics_seen: deque[tuple[str, str | None, int]] = deque(maxlen=6)  # the last few, newest last
        self._news: deque[tuple[int, int]] = deque(maxlen=4)  # which way messages with a direction pointed, turn
        d = self.data
        self._social = {name: (_compile(d["social"][name].get("whole"), whole=True, words=d.get("words")),
                               _compile(d["social"][name].get("within"), words=d.get("words")))
                        for name in d["social_order"]}
        self._refusal = _compile(d["refusal"]["whole"], whole=True)
        self._checkin = _compile(d["checkin_request"]["whole"], whole=True)
        self._checkin_lead = [re.compile(f"^(?:{p})") for p in d["checkin_request"].get("lead") or ()]
        self._refusal_lead = [re.compile(f"^(?:{p})") for p in d["refusal"]["lead"]]
        self._not_request = _compile(d["not_a_request"])
        self._request = _compile(d["request"])
        self._judgement = _compile(d["self_judgement"])
        self._topics = {name: _compile(d["topics"][name].get("within"), words=d.get("words"))
                        for name in d["topic_order"]}
        self._topics_unless = {name: _compile(d["topics"][name].get("unless"), words=d.get("words"))
                               for name in d["topic_order"]}
        self._turned_down = re.compile(d["refusal"]["turned_down"])
        self._name = _compile(d["name"]["within"])
        self._remember_name = _compile(d["remember_name"]["within"])
        self._last_time = _compile(d["last_time"]["within"])
        self._offer_words = {k: re.compile(v) for k, v in d["offer_words"].items()}
        self._help = {k: _compile(v.get("within")) for k, v in d["connect_help"].items() if k != "reask"}
        self._sentiment = {side: re.compile(r"\b(?:(?P<neg>" + "|".join(map(re.escape, d["sentiment"]["negators"]))
                                            + r") (?:\w+ )?)?(?:" + "|".join(map(re.escape, sorted(
                                                d["sentiment"][side], key=len, reverse=True))) + r")\b")
                           for side in ("positive", "negative")}
        self._activities = [(re.compile(a["within"]), a["say"]) for a in d["social"]["farewell"].get("activities", ())]
        self._step = _step_pattern(d["small_step"])
        self._not_step = re.compile(d["small_step"]["not_steps"])
        self._hedge = re.compile(d["small_step"]["hedges"])
        self._remember_step = _compile(d["remember_step"]["within"])
        self._step_news = re.compile(d["step_news"]["within"])
        self._entry = _compile(d["journal_read_back"]["within"])
        self._exercise_words = {k: re.compile(v) for k, v in d["exercise_words"].items()}
        self._asks_about = re.compile(d["asks_about_exercise"])
        self._my_person = _compile([r"\bmy (?P<who>{person})\b"], words=d.get("words"))[0]
        self._tried = _compile([d["tried_exercise"]])[0]
        self._people: deque[tuple[str, int, str]] = deque(maxlen=4)  # people named lately ("my sister"), with the turn
        self._heard: deque[tuple[int, str]] = deque(maxlen=6)  # the person's last messages, with the turn
        self._before = self._snapshot()

    # ---- reading a message ---------------------------------------------------------------------------------
    def read_refusal(self, text: str) -> bool:
        """The whole message is a no ("no thanks", "I don't want any exercises, thank you"); nothing is noted."""
        return self._is_refusal(normalize(text))

    def _is_refusal(self, key: str) -> bool:
        return any(p.match(key) for p in self._refusal)

    def _ends_in_refusal(self, text: str) -> bool:
        """"Breathing exercises are for yoga people. No thanks.": what is turned down, then a whole no."""
        parts = [normalize(p) for p in sentences(text)]
        return len(parts) >= 2 and self._is_refusal(parts[-1]) \
            and bool(self._turned_down.search(" ".join(parts[:-1])))

    def social_of(self, text: str) -> str | None:
        """The social basic a text is ("greeting", "thanks", …), or None; nothing is noted (unlike read)."""
        return self._social_kind(normalize(text))

    def read(self, text: str) -> Said:
        key = normalize(text)
        stripped = text.strip()
        question = _asks(key, stripped)
        turn = None if question else self._news_turn(key)
        # "after the divorce i started a choir and i love it": the present leads, its topic and sentiment count;
        # "my dog died but my new job is going well": the hard side's topic is kept for what follows
        topic, who = self._topic(key if turn is None else turn[2] if turn[0] == "good_then_hard" else turn[1])
        feeling_of = turn[1] if turn and turn[0] == "after_loss" else key
        lead = next((m for m in (p.match(key) for p in self._refusal_lead) if m), None)
        self._note_heard(key, text)
        step_kind, step = (None, "") if question else self.stated_step(stripped)
        return Said(
            key=key, social=self._social_kind(key) or ("acknowledge" if not key and re.search(r"[^\W\d_]", stripped)
                                                       else None),  # "hmm": a filler the router drops
            refusal=self._is_refusal(key) or self._ends_in_refusal(stripped),
            refusal_lead=lead is not None and bool(self._turned_down.search(key[lead.end():])), topic=topic, who=who,
            mixed=bool(turn and turn[0] != "after_loss") or self._mixed(key),
            self_judgement=any(p.search(key) for p in self._judgement),
            question=question, name=self._name_in(key, stripped),
            asks_name=any(p.search(key) for p in self._remember_name),
            asks_last_time=any(p.search(key) for p in self._last_time),
            no_words=bool(stripped) and not re.search(r"[^\W_]", _EMOTICON.sub("", stripped)),
            rating=_rating(key), plan=bool(_PLAN.search(key) or _MAYBE_DO.search(key)) and not question
            and not (topic and self.data["topics"][topic].get("not_a_plan")),
            save_request=bool(_SAVE.search(key)),
            sentiment=self._note_news(topic, self.sentiment(feeling_of, stripped)),
            news_turn=turn[0] if turn else None,
            step=step, step_kind=step_kind, asks_step=any(p.search(key) for p in self._remember_step),
            asks_about=self._asked_about(key) if question else None)

    def placed(self, text: str) -> bool:
        """Whether the conversation can answer `text` as what it is (a hello, a "no", a topic, a question, a
        rating, a name, a plan), not only with its fallback. A spoken message that names no request is answered
        when this holds and asked again when not: "my husband passed away last spring" heard clearly gets its
        reply, "start a new dog lane tree" gets "I didn't catch that". Reads without noting anything."""
        key, stripped = normalize(text), text.strip()
        if not key:
            return False
        question = _asks(key, stripped)
        return bool(question or self._social_kind(key) or self._is_refusal(key) or self._topic(key)[0]
                    or _rating(key) is not None or self._name_in(key, stripped) or self._mixed(key)
                    or self.stated_step(stripped)[0] is not None
                    or any(p.search(key) for p in (*self._judgement, *self._remember_name, *self._last_time,
                                                   *self._remember_step)))

    def _note_heard(self, key: str, text: str = "") -> None:
        """Keeps the message (once a turn) and the person it names ("my sister", or a name after a way of reaching
        someone: "message Dave"), for the turns that follow."""
        with self._lock:
            if self._heard and self._heard[-1][0] == self.turn:
                return
            self._heard.append((self.turn, key))
            m = self._my_person.search(key)
            if m:
                after = key[m.end():].split()[:1]
                name = after[0] if after and after[0] not in _NOT_A_NAME and after[0] not in self.data["name"][
                    "not_names"] and len(after[0]) > 2 else ""
                self._people.append((m.group("who"), self.turn, name.title() if name else f"my {m.group('who')}"))
            m = _INTRODUCED.search(key)
            if m and m.group("who").split()[-1] not in _NOT_A_NAME:
                self._people.append((m.group("who"), self.turn, f"the {m.group('who')}"))
            for m in _CONTACT_NAME.finditer(text):
                if m.group("name").lower() not in _NOT_A_NAME and m.group("name").lower() not in self.data["name"][
                        "not_names"]:
                    self._people.append(("friend", self.turn, m.group("name")))

    def stated_step(self, text: str) -> tuple[str | None, str]:
        """A small step the person states ("ok. ill call the gp tomorrow morning"): its kind ("firm", "tentative",
        "hedged") and the step itself, from the verb on, in their words ("call the gp tomorrow morning");
        (None, "") when no sentence states one."""
        key = normalize(text)
        for sentence in re.split(r"(?<=[.!?;])\s+|\n+", text):
            m = self._step.match(normalize(sentence))
            # "… maybe i msg her", "she made tea and we're going to call the counselling service": the step is last
            late = re.search(r"\b(maybe|perhaps) i\b|(?<=\band )(we|i)( will|'ll| are going to|'re going to|"
                             r" am going to|'m going to)\b", sentence, re.IGNORECASE) if m is None else None
            if late and late.start() > 0 and len(sentence[late.start():].split()) <= (9 if late.group(1) else 14):
                sentence = sentence[late.start():]
                m = self._step.match(normalize(sentence))
            if m is None or self._not_step.search(m.group("rest")):
                continue
            verb = m.group("verb")
            at = re.search(rf"\b{re.escape(verb)}\b", sentence, re.IGNORECASE)
            step = sentence[at.start():].strip(" ,.!;") if at else f"{verb} {m.group('rest')}"
            when = re.search(r"\b(this|next|on) (morning|afternoon|evening|weekend|week|monday|tuesday|wednesday|"
                             r"thursday|friday|saturday|sunday)\b", m.group("before") or "")
            if when and when.group(0) not in normalize(step):
                step = f"{step} {when.group(0)}"
            kind = "firm" if m.group("firm") else "tentative"
            if self._hedge.search(key):
                kind = "hedged"
            elif kind == "firm" and re.search(r"\b(maybe|perhaps|probably)\b", key):
                kind = "tentative"
            # "tell her I guess" keeps "tell her": a hedge or a laugh at the end is not part of the step
            step = re.sub(r"([\s,]+(i guess|i suppose|maybe|probably|perhaps|i think|or something|or smth|lol|haha))+"
                          r"[\s.!?]*$", "", step, flags=re.IGNORECASE) or step
            return kind, self._named(step, text)
        return None, ""

    def _named(self, step: str, text: str = "") -> str:
        """"text her tomorrow" → "text my sister tomorrow" when the person talked about just before fits, or
        "text Ana tomorrow" when the same message names one person ("I have Ana's number. I will text her…")."""
        with self._lock:
            people = [(w, said) for w, t, said in reversed(self._people) if self.turn - t <= 3]
        m = re.match(r"^(\S+(?: to| up with| round to)?) (her|him)\b", step, re.IGNORECASE)
        if not m:
            return step
        here = {name for n in _NAMED_HERE.finditer(text)
                if (name := n.group("name") or n.group("name2")).lower() not in _NOT_A_NAME}
        if len(here) == 1:
            return f"{m.group(1)} {here.pop()}{step[m.end():]}"
        if not people:
            return step
        fits = self.data["small_step"][m.group(2).lower()]
        # the newest person who fits: one named ("my friend maya" → Maya), one of the family words that fits "her" or
        # "him", or one just introduced without a name ("there's a charge nurse i get on with" → the charge nurse)
        said = next((said for w, said in people if w in fits or said.startswith("the ")), None)
        return f"{m.group(1)} {said}{step[m.end():]}" if said else step

    def _asked_about(self, key: str) -> str | None:
        """The exercise a question asks the point of ("does the 4 7 8 thing actually work?"), or None."""
        if not self._asks_about.search(key):
            return None
        named = next((ex for ex, p in self._exercise_words.items() if p.search(key)), None)
        return named or ("breathing" if re.search(r"\bbreath\w*\b", key) else None)

    def explain_works(self, exercise_id: str) -> str:
        """"Does it actually work?": an honest answer, then the offer to try."""
        works = self.data["explain"]["works"]
        kind = "breathing" if exercise_id in ("box", "4-7-8", "coherent", "sigh") else \
            "journal" if exercise_id == "journal" else "other"
        return self.pick(f"explain.works.{kind}", works[kind])

    def step_recall(self) -> str:
        """"Do you remember what I said I'd do?": the small step still waiting, else the last one, else honestly
        none."""
        try:
            steps = self.store.pending_connection_steps() or self.store.connection_steps()
        except Exception:
            steps = []
        if not steps:
            return self.line("remember_step.none")
        return self.line("remember_step.replies", step=_yours(steps[-1].step))

    def waiting_step(self) -> str | None:
        """The small step still waiting for a follow-up, the latest, in the person's words said back ("your")."""
        try:
            steps = self.store.pending_connection_steps()
        except Exception:
            return None
        return _yours(steps[-1].step) if steps else None

    def step_news(self, key: str) -> str:
        """What came of a step, said back ("Enjoy the dinner!"), or ""."""
        m = self._step_news.search(key)
        return self.line("step_news.say", what=m.group("what")) if m else ""

    def recent_activity(self, within: int = 6) -> str:
        """What the person is off to, from this message or one of the last few ("Enjoy the dinner! "), or ""."""
        with self._lock:
            keys = [k for t, k in reversed(self._heard) if self.turn - t <= within]
        for n, key in enumerate(keys):
            said = self._activity(key) if n == 0 else ""  # earlier messages: only a plan made with someone
            if said:
                return said
            m = self._step_news.search(key)
            if m:
                return f"{self.line('step_news.farewell', what=m.group('what'))} "
        return ""

    def _social_kind(self, key: str) -> str | None:
        for name, (whole, within) in self._social.items():
            if any(p.match(key) for p in whole) or any(p.search(key) for p in within):
                return name
        return None

    def _topic(self, key: str) -> tuple[str | None, str | None]:
        for name, patterns in self._topics.items():
            if not self._topic_fits(name, key):
                continue
            for p in patterns:
                m = p.search(key)
                if m:
                    who = m.groupdict().get("who")
                    with self._lock:
                        self._last_topic = (name, who, self.turn)
                        self._topics_seen.append(self._last_topic)
                    return name, who
        return None, None

    def _topic_fits(self, name: str, key: str) -> bool:
        """False when the topic's `unless` patterns match, or when a `hard_news` topic ("I have to tell my wife")
        is said about good news: in the message itself or in the news just told ("I got engaged!" … "tell her")."""
        if any(p.search(key) for p in self._topics_unless[name]):
            return False
        if self.data["topics"][name].get("hard_news"):
            return self.sentiment(key) <= 0 and self.recent_polarity(within=3) <= 0
        return True

    def explain(self, exercise_id: str) -> str:
        """The short version of an exercise, for "what's the self compassion thing?"."""
        explain = self.data["explain"]
        kind = exercise_id if exercise_id in explain else "breathing"
        return self.pick(f"explain.{kind}", explain[kind])

    def topic_answer(self, within: int = 4) -> str | None:
        """The answer to a question about the topic of the last few turns ("can they get in trouble for it?")."""
        with self._lock:
            seen = [t for t in reversed(self._topics_seen) if self.turn - t[2] <= within]
        for name, _, _ in seen:  # the newest topic that has answers ("what do i do with his bed?" after a loss)
            answers = self.data["topics"][name].get("answers")
            if answers:
                return self.pick(f"topics.{name}.answers", answers)
        return None

    def follow_up(self, within: int = 3) -> str | None:
        """A line that stays with the topic of the last few turns ("We were married 51 years" after a loss)."""
        with self._lock:
            last = self._last_topic
        if last is None or self.turn - last[2] > within:
            return None
        entry = self.data["topics"][last[0]]
        if not entry.get("follow_up"):
            return None
        return self.pick(f"topics.{last[0]}.follow_up", entry["follow_up"], who=last[1] or "")

    def _is_loss(self, clause: str) -> bool:
        return any(self._topic_fits(t, clause) and any(p.search(clause) for p in self._topics[t])
                   for t in _LOSS_TOPICS)

    def _is_good(self, clause: str) -> bool:
        """Good news said plainly: a good topic or good words, nothing hard beside them, not still about the loss."""
        if _STILL_HURTS.search(clause) or _NOT_NEWS.search(clause) or self._sentiment["negative"].search(clause) \
                or self._is_loss(clause):
            return False
        return self.sentiment(clause) > 0 or any(any(p.search(clause) for p in self._topics.get(t, []))
                                                 for t in _GOOD_TOPICS)

    def _news_turn(self, key: str) -> tuple[str, str, str] | None:
        """Two pieces of news in one message, the good one not about the loss: ("after_loss", present, loss) for a
        leading time clause of loss and a good present ("after the divorce i started a choir and i love it");
        ("hard_then_good", hard, good) or ("good_then_hard", good, hard) for news turned by a "but"
        ("my dog died last week but my new job is going really well"); None otherwise."""
        if _MIXED.search(key) and not re.search(r"\bbut also\b", key):
            return None  # "happy but scared": feelings about one thing, answered as a mix
        lead = _TIME_LEAD.match(key)
        if lead:
            ends = [m.end() for t in _LOSS_TOPICS if self._topic_fits(t, key) for p in self._topics[t]
                    for m in [p.search(key)] if m and m.start() <= lead.end() + 12]
            if ends:
                present = key[min(ends):].strip()
                if len(present.split()) >= 3 and self._is_good(present):
                    return "after_loss", present, key[:min(ends)].strip()
            return None
        turn = _TURN_WORD.search(key)
        if not turn:
            return None
        first, second = key[:turn.start()].strip(), key[turn.end():].strip()
        if len(first.split()) < 2 or len(second.split()) < 2:
            return None
        if self._is_loss(first) and self._is_good(second):
            return "hard_then_good", first, second
        if self._is_good(first) and self._is_loss(second):
            return "good_then_hard", first, second
        return None

    def news_turn_reply(self, said: Said) -> str:
        """Both pieces of news answered, the later one last: glad about the good, sorry about the hard, never the
        other way round; after a loss told as background, the present leads and the loss is only touched on."""
        turn = self._news_turn(said.key)
        if turn is None:
            return self.topic_reply(said.topic, said.who, said.sentiment) if said.topic else self.line("sentiment.good")
        kind, a, b = turn
        if kind == "after_loss":
            good_topic, good_who = self._topic_of(a, _GOOD_TOPICS)
            if good_topic and good_who:
                return self.topic_reply(good_topic, good_who)
            return self.line("news_turn.after_loss")
        hard, good = (a, b) if kind == "hard_then_good" else (b, a)
        loss_topic, loss_who = self._topic_of(hard, _LOSS_TOPICS)
        who = loss_who if loss_topic in ("grief", "pet_loss") else "job" if loss_topic == "job_loss" and not loss_who \
            else None
        m = _GOOD_WHAT.match(good)
        what = f"your {m.group('what')}" if m else None
        if what is None:  # "i got the job": the thing a good topic names
            good_topic, good_who = self._topic_of(good, _GOOD_TOPICS)
            what = f"the {good_who}" if good_who and not good_who[0].isdigit() else None
        glad = ("glad_what", {"what": what}) if what else ("glad", {})
        sorry = ("sorry_who", {"who": who}) if who else ("sorry", {})
        first, last = (sorry, glad) if kind == "hard_then_good" else (glad, sorry)
        return f"{self.line(f'news_turn.first.{first[0]}', **first[1])} " \
               f"{self.line(f'news_turn.last.{last[0]}', **last[1])}"

    def _topic_of(self, clause: str, names: Sequence[str]) -> tuple[str | None, str | None]:
        """The first of `names` (in topic order) the clause is about, with its person, without noting it as said."""
        for name in self._topics:
            if name not in names or not self._topic_fits(name, clause):
                continue
            for p in self._topics[name]:
                m = p.search(clause)
                if m:
                    return name, m.groupdict().get("who")
        return None, None

    def _mixed(self, key: str) -> bool:
        if _MIXED.search(key):
            return True
        good = any(any(p.search(key) for p in self._topics.get(t, [])) for t in _GOOD_TOPICS) or \
            bool(re.search(r"\bi (do |really )?(like|love|enjoy)\b", key)) or \
            bool(re.search(r"(?<!not )\b(happy|glad|excited|proud|relieved|thrilled|grateful|great)\b", key))
        if good and re.search(r"\bwould have (loved|been (so )?proud|liked|enjoyed)"
                              r"|\bwish (he|she|they) (was|were|could) (be )?(here|see)", key):
            return True  # "my grandson is getting married. june would have loved that"
        if not re.search(r"\b(but|though|although|yet|just|and also|at the same time|still)\b", key):
            return False
        hard = any(any(p.search(key) for p in self._topics[t]) for t in ("grief", "loneliness")) \
            or bool(re.search(r"\b(lonely|sad|hard|awful|stressed|miss|scared|nervous|worried|terrified|guilty|"
                              r"weird|strange|overwhelmed|anxious|tired|exhausted)\b", key))
        return good and hard

    def mixed_reply(self, key: str) -> str:
        """Mixed feelings answered with both sides named from the person's words ("love and exhaustion")."""
        entry = self.data["topics"]["mixed"]
        words = entry.get("pair_words") or {}
        sides = []
        for side in ("good", "hard"):
            found = [(m.start(), w) for w in words.get(side, {}) for m in [re.search(rf"(?<!not )\b{w}\b", key)] if m]
            sides.append(words[side][min(found)[1]] if found else None)
        good, hard = sides
        if good and hard and entry.get("with_pair"):
            line = self.pick("topics.mixed.with_pair", entry["with_pair"], good=good, hard=hard)
            return line[0].upper() + line[1:]
        return self.pick("topics.mixed.replies", entry["replies"])

    def _name_in(self, key: str, raw: str = "") -> str | None:
        """"my name is Sam" always; "I'm Sam" / "it's Priya" only as a name is said (a capital, a hello before it,
        "here" or "again" after it), so "im bored" or "its complicated" never become a name."""
        for index, p in enumerate(self._name):
            m = p.search(key)
            if not m or m.group("name") in self.data["name"]["not_names"]:
                continue
            name = m.group("name")
            greeted = re.match(r"(hi|hello|hey|hiya|morning|good (morning|afternoon|evening))\b", key)
            said_as_name = index == 0 or greeted or re.search(r"\b(here|again)$", key) \
                or re.search(rf"\b{re.escape(name.title())}\b", raw)
            if said_as_name:
                return name.title()
        return None

    def is_request(self, key: str, confidence: float = 1.0) -> bool:
        """A request for an exercise, not a statement about one ("breathing does not fix anything") nor a
        question about something else ("should i text my mate"): asked for in so many words, or said as a
        short command the router knows."""
        asked = any(p.search(key) for p in self._request)
        if _TURNED_DOWN_ASK.search(key):
            return False  # "don't give me breathing exercises", "please don't start anything"
        if asked and len(key.split()) > 8 and not _EXERCISE_WORDS.search(key):
            return False  # "i want to support her" in a long sentence asks for no exercise
        if any(p.search(key) for p in self._not_request):
            return asked and not key.startswith(("no ", "not "))
        if _QUESTION.search(key) and not asked:
            return False
        named = bool(re.search(r"\b(breath\w*|sigh\w*|ground\w*|journal\w*|meditat\w*|exercise|4 7 8|478|box|"
                               r"coherent|resonance|square)\b", key))
        return asked or named or confidence >= 0.9 or len(key.split()) <= 4

    def negated(self, key: str) -> bool:
        """The message turns something down or doubts it ("doesn't", "never", "pointless")."""
        return any(p.search(key) for p in self._not_request)

    def asked_in_words(self, key: str) -> bool:
        """The message asks for something in so many words ("can we…", "please", "help me")."""
        return any(p.search(key) for p in self._request)

    def offered_choice(self, key: str, offers: Sequence[str]) -> str | None:
        """Which offered exercise an answer names ("small step please", "the first one"), or None."""
        short = len(key.split()) <= 5
        for word, index in self.data["ordinals"].items():
            if short and offers and re.search(rf"^(the |option |number |maybe |okay |ok )*{re.escape(str(word))}"
                                              rf"( one| option| please| thanks)*$", key):
                return offers[index] if -len(offers) <= index < len(offers) else None
        named = [o for o in offers if o in self._offer_words and self._offer_words[o].search(key)]
        return named[0] if named else None

    def help_kind(self, key: str) -> str | None:
        """Which concrete help a question about reaching people asks for ("medium", "reconnect", "groups")."""
        return next((k for k in ("medium", "reconnect", "groups") if any(p.search(key) for p in self._help[k])),
                    None)

    def connect_help(self, key: str, *, off_topic: bool = False) -> str:
        """The answer to a question about reaching people (never kept as a step); with `off_topic`, any other
        question gets the honest "that's outside what I can do"."""
        for kind in ("medium", "reconnect", "groups"):
            if any(p.search(key) for p in self._help[kind]):
                return self.pick(f"connect_help.{kind}", self.data["connect_help"][kind]["replies"])
        if off_topic:
            return self.social_reply("off_topic")
        return self.pick("connect_help.other", self.data["connect_help"]["other"]["replies"])

    def rating_reply(self, rating: int) -> str:
        band = "low" if rating <= 4 else "mid" if rating <= 6 else "high"
        return self.line(f"rating.{band}", n=rating)

    # ---- wording, with variety ---------------------------------------------------------------------------
    def pick(self, key: str, variants: Sequence[str], **fields: Any) -> str:
        """The next wording of `key` not said within the last RECENT_TURNS lines (when there is one)."""
        with self._lock:
            start = self._turns.get(key, 0)
            lines = [variants[(start + i) % len(variants)].format(**fields) for i in range(len(variants))]
            fresh = [i for i, line in enumerate(lines) if line not in self._recent]
            chosen = fresh[0] if fresh else 0
            self._turns[key] = start + chosen + 1
            return lines[chosen]

    def line(self, path: str, **fields: Any) -> str:
        """A wording from dialogue.yaml by dotted path ("social.thanks.replies")."""
        node: Any = self.data
        for part in path.split("."):
            node = node[part]
        return self.pick(path, node, **fields)

    def is_recent(self, line: str) -> bool:
        """True when `line` was said (alone or as part of a longer line) within the last RECENT_TURNS lines."""
        with self._lock:
            return any(line in said for said in self._recent)

    def said(self, line: str, *, exercise: bool = False) -> None:
        """Notes a line the companion said (exercise lines are not held against variety)."""
        with self._lock:
            if not exercise:
                self._recent.append(line)
            if line.strip():
                self.last_line = line

    def asks_checkin(self, text: str) -> bool:
        """"check in", "can we do a check in": a check-in asked for now (with a time it is a snooze)."""
        key = normalize(text)
        return any(p.match(key) for p in self._checkin) or self.checkin_rest(text) is not None

    def checkin_rest(self, text: str) -> str | None:
        """"hi, i'm priya. want to do the daily check in thing", "lets do todays. feeling lighter, 6": a check-in
        asked for with more around it; what is said after the request ("" when nothing), else None."""
        key = normalize(text)
        for p in self._checkin_lead:
            m = p.match(key)
            if m:
                return key[m.end():].strip()
        return None

    def checkin_name(self, text: str) -> str | None:
        """The name said before a check-in request ("hi, i'm priya. want to do the check in"), else None."""
        key = normalize(text)
        for p in self._checkin_lead:
            m = p.match(key)
            name = m.groupdict().get("name") if m else None
            if name and name not in self.data["name"]["not_names"]:
                return name.title()
        return None

    def social_reply(self, kind: str, key: str = "") -> str:
        name = self.name_suffix()
        if kind == "greeting_answer":  # "hello" right after the companion's own greeting: no second hello
            said = re.search(r"\b(morning|afternoon|evening)\b", key)
            return self.line(f"social.greeting.answer.{said.group(1) if said else 'plain'}", name=name)
        if kind == "greeting":
            said = re.search(r"\b(morning|afternoon|evening)\b", key)
            hour = self._hour()
            part = said.group(1) if said else "morning" if 5 <= hour < 12 else "afternoon" if 12 <= hour < 18 \
                else "evening"
            return self.line(f"social.greeting.by_time.{part}", name=name)
        if kind == "farewell_night":
            return self.line("social.farewell.night", name=name)
        if kind == "farewell" and re.search(r"\bsee you (tomorrow|in the morning)\b", key) \
                and "tomorrow" in self.data["social"]["farewell"]:
            return self.line("social.farewell.tomorrow", name=name)  # "thanks, see you tomorrow"
        if kind == "farewell":
            return f"{self.recent_activity()}{self.line('social.farewell.replies', name=name)}"
        reply = self.line(f"social.{kind}.replies", name=name)
        if kind not in ("thanks", "thanks_memory", "farewell_night") and re.match(r"(thanks|thank you|cheers)\b", key):
            return f"{self.line('social.thanks_lead')} {reply}"  # "thank you. are you a psychologist?"
        return reply

    def _activity(self, key: str) -> str:
        """What the person is off to, said back before a goodbye ("Enjoy the cake! "), or nothing."""
        for activity in self._activities:
            m = activity[0].search(key)
            if m:
                return activity[1].format(what=m.groupdict().get("what") or "") + " "
        return ""

    def topic_offers(self, topic: str | None) -> tuple[str, ...]:
        return tuple(self.data["topics"][topic].get("offers") or ()) if topic else ()

    def sentiment(self, key: str, raw: str = "") -> int:
        """>0 when a statement points to good news, <0 to hard news (±2: clearly, by a word and a half or more), 0
        when neither or both: the words of dialogue.yaml's `sentiment` lists counted, a "not" just before a word
        turning it round, an "!" lifting good news a little."""
        score = {"positive": 0.0, "negative": 0.0}
        for side, pattern in self._sentiment.items():
            for m in pattern.finditer(key):
                other = "negative" if side == "positive" else "positive"
                score[other if m.group("neg") else side] += 1
        if "!" in raw and score["negative"] == 0:  # "!!" with nothing hard in it is good news said loudly
            score["positive"] += 1.0 if raw.count("!") >= 2 else 0.5 if score["positive"] > 0 else 0.0
        diff = score["positive"] - score["negative"]
        return (2 if diff >= 1.5 else 1) if diff >= 1 else (-2 if diff <= -1.5 else -1) if diff <= -1 else 0

    def sentiment_reply(self, sentiment: int, who: str | None = None) -> str:
        side = "good" if sentiment > 0 else "hard"
        if who:
            return self.line(f"sentiment.{side}_with_who", who=who)
        return self.line(f"sentiment.{side}")

    def topic_polarity(self, topic: str | None) -> int:
        """+1 for a topic that points up (good news), -1 down (grief), 0 neither."""
        polarity = self.data["topics"][topic].get("polarity") if topic else None
        return 1 if polarity in self.data["positive_moods"] else -1 if polarity in self.data["negative_moods"] else 0

    def _note_news(self, topic: str | None, sentiment: int) -> int:
        """Keeps which way this message pointed (its topic's polarity, else its sentiment); returns `sentiment`."""
        direction = self.topic_polarity(topic) or (1 if sentiment > 0 else -1 if sentiment < 0 else 0)
        if direction:
            with self._lock:
                if not self._news or self._news[-1][1] != self.turn:
                    self._news.append((direction, self.turn))
        return sentiment

    def recent_polarity(self, within: int = 2) -> int:
        """Which way the news of the last few turns before this one pointed (+1 good, -1 hard, 0 none)."""
        with self._lock:
            earlier = [n for n in self._news if n[1] < self.turn]
        return earlier[-1][0] if earlier and self.turn - earlier[-1][1] <= within else 0

    def follow_up_or_sentiment(self, sentiment: int) -> str | None:
        """What a statement nothing placed gets: the last topic's follow-up when the statement points the same way
        (or nowhere), else a line for good or hard news; None when neither applies."""
        with self._lock:
            last = self._last_topic
        polarity = self.topic_polarity(last[0]) if last is not None and self.turn - last[2] <= 3 else 0
        agrees = polarity * sentiment > 0
        outweighed = polarity * sentiment < 0 and abs(sentiment) < 2  # "cried in the car park" after passing a test
        if sentiment and not (agrees or outweighed):
            return self.sentiment_reply(sentiment)
        if polarity > 0 and not sentiment:  # good news is followed up only when it still sounds good ("she can't
            return None                     # come, I don't know what to tell him" after a spelling bee won)
        return self.follow_up()

    def topic_reply(self, topic: str, who: str | None, sentiment: int = 0) -> str:
        entry = self.data["topics"][topic]
        by_sentiment = entry.get("by_sentiment")
        if sentiment and (by_sentiment == "any" or (by_sentiment == "good" and sentiment > 0)):
            own = entry.get("replies_good" if sentiment > 0 else "replies_hard")  # the topic's own good-news line
            if own:
                return self.pick(f"topics.{topic}.{'good' if sentiment > 0 else 'hard'}", own, who=who or "")
            return self.sentiment_reply(sentiment, who)
        if who and "replies_with_who" in entry:
            return self.pick(f"topics.{topic}.who", entry["replies_with_who"], who=who)
        if who or "replies_no_who" not in entry:
            return self.pick(f"topics.{topic}", entry["replies"], who=who or "")
        return self.pick(f"topics.{topic}.no_who", entry["replies_no_who"])

    def mood_for(self, topic: str | None, feeling: str | None, mixed: bool = False,
                 rating: int | None = None) -> str | None:
        """The mood to save: the router's, unless the topic or a rating said in words ("like a 3 out of 10")
        clearly points the other way."""
        negative = set(self.data["negative_moods"])
        if rating is not None and feeling not in negative:
            by_rating = "sad" if rating <= 4 else "okay" if rating <= 6 else "good"
            feeling = self.mood_for(topic, None, mixed) if rating <= 4 and topic else by_rating
            return feeling if feeling in negative or rating > 4 else by_rating
        if topic is None or mixed:
            return feeling
        polarity = self.data["topics"][topic].get("polarity")
        positive = set(self.data["positive_moods"])
        if polarity is None:
            return feeling
        if feeling in (self.data["topics"][topic].get("over_moods") or ()):
            return polarity
        if polarity in negative and (feeling is None or feeling in positive or feeling == "okay"):
            return polarity
        if polarity in positive and (feeling is None or feeling in negative):
            return polarity
        return feeling

    # ---- memory ------------------------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        """What happened before this conversation began (for "what did we talk about last time?")."""
        try:
            checkins, sessions = self.store.checkins(), self.store.sessions()
            journal, steps = self.store.journal(), self.store.connection_steps()
        except Exception:  # a broken store must not stop the conversation
            return {}
        return {"checkin": checkins[-1] if checkins else None, "session": sessions[-1] if sessions else None,
                "journal": journal[-1] if journal else None, "step": steps[-1] if steps else None}

    @property
    def known_before(self) -> bool:
        return any(self._before.values()) or self.name is not None

    @property
    def name(self) -> str | None:
        try:
            return self.store.recall("name")
        except Exception:
            return None

    def name_suffix(self) -> str:
        name = self.name
        return f", {name}" if name else ""

    def remember_name(self, name: str, key: str = "") -> str:
        """Keeps the name; a returning person is welcomed back, or told honestly that nothing was kept."""
        known = self.name
        self.store.remember("name", name)
        if known and known.lower() == name.lower():
            return self.line("name.welcome_back", plain_name=name)
        if re.search(r"\b(again|back|remember me)\b", key) and not self.known_before:
            return self.line("name.no_record", plain_name=name)
        return self.line("name.replies", plain_name=name)

    def alternative(self, exercise_id: str) -> str | None:
        """Another exercise to offer when `exercise_id` has been chosen again and again lately."""
        if not self.repeated_exercise(exercise_id):
            return None
        return self.data.get("alternatives", {}).get(exercise_id)

    def name_answer(self) -> str:
        name = self.name
        if name:
            return self.line("remember_name.replies_known", plain_name=name)
        return self.line("remember_name.replies_unknown")

    def last_time(self, names: dict[str, str]) -> str:
        b = self._before
        parts = self.data["last_time"]["parts"]
        said = []
        if b.get("checkin") is not None and b["checkin"].feeling:
            rated = b["checkin"].intensity is not None and "feeling_rated" in parts  # "what number did i give?"
            said.append(parts["feeling_rated" if rated else "feeling"].format(feeling=b["checkin"].feeling,
                                                                             n=b["checkin"].intensity))
        if b.get("session") is not None:
            said.append(parts["exercise"].format(exercise=names.get(b["session"].exercise_id,
                                                                     b["session"].exercise_id)))
        if b.get("journal") is not None:
            said.append(parts["journal"])
        if b.get("step") is not None:
            said.append(parts["step"].format(step=b["step"].step))
        if not said:
            return self.line("last_time.nothing")
        body = ", ".join(said[:-1]) + (" and " if len(said) > 1 else "") + said[-1]
        return f"{self.line('last_time.intro')} {body}. {self.line('last_time.closing')}"

    def step_reported(self, key: str) -> Any:
        """A pending small step the message reports as done ("I called my brother!"), or None."""
        # the sentence that reports it: in the past, not denied ("emailed dave. … i haven't done that commute in
        # years" reports; "i didn't call her" does not); the subject may be left out ("rang her at 7:45")
        parts = [normalize(x) for x in sentences(self.current_text)] \
            if normalize(self.current_text) == key else [key]
        # "can you ask me tomorrow if we actually called them": asked about later, not reported
        reports = [k for k in parts or [key] if not re.search(r"\b(not|never|did not|have not|could not)\b", k)
                   and not re.search(r"\b(if|whether) (i|we|you) (actually |really |ever )?\w+ed\b", k)
                   and (_PAST.search(k) or _DROPPED_I_PAST.match(k) or self._exclaimed_present(k))]
        if not reports:
            return None
        key = " ".join(reports)
        try:
            pending = self.store.pending_connection_steps()
        except Exception:
            return None
        words = {_stem(w) for w in key.split() if w not in _STOP_WORDS and (len(w) > 2 or w in _SHORT_WHO)}
        for step in reversed(pending):
            step_words = {_stem(w) for w in normalize(step.step).split()
                          if w not in _STOP_WORDS and (len(w) > 2 or w in _SHORT_WHO)}
            if words & step_words or _same_verb(key, step.step):
                return step
        return None

    def _exclaimed_present(self, key: str) -> bool:
        """"I call Tomasz!": a step verb said in the present with an "!" and nothing ahead of it (no "will",
        "maybe", "tomorrow"), the way a learner of English or a quick typist reports it done."""
        if "!" not in self.current_text:
            return False
        verbs = "|".join(_PAST_OF)
        m = re.search(rf"(^|\b(i|and|so|yes|okay|finally|today) )({verbs})\b", key)
        return m is not None and not re.search(r"\b(will|going to|maybe|might|should|could|want to|need to|"
                                               r"tomorrow|later|tonight|next)\b", key[:m.end()])

    def chosen_word(self, key: str) -> str | None:
        """The word a contrast chooses: "restless rather than sad", "more tired than sad", "not sad, just flat"."""
        m = re.search(r"\b(?:more |just |mostly |mainly )?(?P<a>[a-z]+) (?:rather than|more than|not|instead of) "
                      r"(?:really |so much |exactly )?[a-z]+\b", key)
        if m and m.group("a") not in _NOT_A_NAME and m.group("a") not in ("more", "other", "better", "worse", "less"):
            return m.group("a")
        m = re.search(r"\bmore (?P<a>[a-z]+) than [a-z]+\b|\bnot [a-z]+ (?:just |more |but |but more |but just )"
                      r"(?P<b>[a-z]+)\b", key)
        if m:
            return m.group("a") or m.group("b")
        return None

    def read_back(self) -> str:
        """"Can you show me that journal entry again?": the newest entry, in the person's own words, or honestly
        none."""
        try:
            entries = self.store.journal()
        except Exception:
            entries = []
        if not entries:
            return self.line("journal_read_back.none")
        return self.line("journal_read_back.replies", entry=entries[-1].text.strip())

    def asks_entry(self, key: str) -> bool:
        """The message asks to see or hear a journal entry already written ("read me back what i wrote")."""
        return any(p.search(key) for p in self._entry)

    def tried_exercise(self, key: str) -> str | None:
        """An exercise agreed to by its nickname ("ok fine we can try the thought thing", "let's do the breathing
        one"): its id ("breathe" for any breathing), or None."""
        m = self._tried.search(key)
        if m is None:
            return None
        what = m.group("what")
        for exercise in ("reframe", "journal", "ground", "compassion", "connect"):
            if self._offer_words[exercise].search(what):
                return exercise
        return "breathe" if self._offer_words["box"].search(what) else None

    def repeated_exercise(self, exercise_id: str, recent: int = 5, limit: int = 3) -> bool:
        """The same exercise chosen `limit` times among the last `recent` sessions."""
        try:
            sessions = self.store.sessions()[-recent:]
        except Exception:
            return False
        return sum(1 for s in sessions if s.exercise_id == exercise_id) >= limit


def _yours(step: str) -> str:
    """A step in the person's words said back to them: "text my sister" → "text your sister"."""
    swap = {"my": "your", "me": "you", "myself": "yourself", "mine": "yours", "i": "you", "i'm": "you're",
            "i've": "you've", "i'll": "you'll"}
    return re.sub(r"\b(myself|mine|my|me|i'm|i've|i'll|i)\b", lambda m: swap[m.group(1).lower()], step,
                  flags=re.IGNORECASE)


def _stem(word: str) -> str:
    """"asked" and "ask", "visiting" and "visit" compared as one word (a rough English stem)."""
    for end in ("ing", "ed", "s"):
        if word.endswith(end) and len(word) - len(end) >= 3:
            return word[: -len(end)]
    return word


_STEP_LEAD = re.compile(r"^\s*((ok|okay|so|yes|yeah|well|right|alright|maybe|perhaps|i think|i guess|i might|i could|"
                        r"i will|i'll|i ll|i am going to|i'm going to|im going to|i'm gonna|im gonna|i'd|i would|"
                        r"probably|then|and|just|not now|not right now|not today|no thanks|"
                        r"(?:no|nah|nope)(?=\s*[,.!]))\b[\s,.!]*)+",
                        re.IGNORECASE)  # "not now. maybe i'll just apologize to him tonight": the plan, not the no


def clean_step(step: str) -> str:
    """The step itself, without the "ok maybe i'll" said before it ("ask my brother to sit with her")."""
    rest = _STEP_LEAD.sub("", step).strip()
    return rest if len(rest.split()) >= 2 else step.strip()


_PAST_OF = {"call": "called", "text": "texted", "message": "messaged", "email": "emailed", "visit": "visited",
            "ring": "rang", "phone": "phoned", "write": "wrote", "meet": "met", "see": "saw", "send": "sent",
            "ask": "asked", "reply": "replied", "join": "joined", "tell": "told", "invite": "invited"}


def _same_verb(key: str, step: str) -> bool:
    """"i called him" reports "call my brother": the step's verb, said in the past (or, with an "!", the present);
    any way of getting in touch reports a step of getting in touch ("texted her" for "message my aunt")."""
    first = normalize(clean_step(step)).split()[:2]
    if any(w in _CONTACT_VERBS for w in first) and _CONTACTED.search(key):
        return True
    return any(_PAST_OF.get(w) and re.search(rf"\b({_PAST_OF[w]}|i {w})\b", key) for w in first)


_CONTACT_VERBS = frozenset({"call", "ring", "phone", "telephone", "text", "message", "email", "talk", "speak",
                            "facetime", "contact", "reach"})
_GOT_IN_TOUCH = (r"called|rang|phoned|telephoned|texted|messaged|emailed|talked to|spoke to|spoke with|facetimed|"
                 r"video called|got in touch with|reached out to")
_CONTACTED = re.compile(rf"\b({_GOT_IN_TOUCH})\b")
# a report with the "i" left out, as people text: "rang her at 7:45", "emailed dave", "back. texted her"
_DROPPED_I_PAST = re.compile(r"^(back |so |ok |okay |yes |yeah |and |well |finally |update |hey |hi |hello |"
                             rf"its me again |it is me again )*({_GOT_IN_TOUCH}|saw|met|visited|wrote to|sent|asked|"
                             r"told|went|did it|joined|signed up)\b")
