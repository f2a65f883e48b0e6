"""Companion: the one small set of commands every front end uses (chat, CLI, tray, hotkey, check-ins, voice).

It wires the headless core (router, sessions, store) to a voice; it never imports GUI or audio libraries itself
(listening is loaded lazily, only when asked to listen).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from companion.core import journal_copy
from companion.core.clock import Clock, RealClock
from companion.core.config import Config
from companion.core.dialogue import COUNTED_BY, Dialogue, Expectation, Said, clean_step, step_text
from companion.core.events import Event, EventBus
from companion.core.exercises import ExerciseLibrary, load_library
from companion.core.fuzzy import normalize, sentences
from companion.core.intent import CONTROL_INTENTS, PATTERNS, IntentResult, RouteContext
from companion.core.lines import Lines
from companion.core.numbers import words_to_digits
from companion.core.paths import exports_dir, user_exercises_dir
from companion.core.ports import Speaker, Utterance
from companion.core.replies import REFRAME_REQUEST, ReplyBook, thought_in
from companion.core.router import Router, get_router
from companion.core.safety import (
    CHECK,
    CRISIS,
    DANGER,
    MEDICAL,
    SELF,
    check_patterns,
    crisis_reply,
    danger_goes_on,
    read_answer,
    region_from_locale,
    reply_asks,
    safety_answer,
)
from companion.core.safety import check as safety_check
from companion.core.session import Session, SessionOptions, SessionResult
from companion.core.store import Store
from companion.core.understanding import ACT, CONFIRM, Reading, understand

log = logging.getLogger(__name__)

# Session events that belong in an `--events FILE` (app-level captions and states do not).
SESSION_EVENT_KINDS = frozenset({"start", "phase", "say", "listen", "heard", "record", "pause", "resume", "end"})
# "again" is asked for in so many words ("sorry im rambling" is an apology, not a request to repeat)
_ASKS_AGAIN = re.compile(r"\b(again|repeat|say that|said that|what did you say|pardon|come again|one more time|"
                         r"once more|what was that|did not (catch|hear)|missed (that|it)|lost count|huh|what)\b"
                         r"|^sorry$")
# social kinds answered as such even when said with request words ("can you call someone for me?")
# "make it like 3 minutes", "can we do 5 minutes this time" said just after an exercise
_LONGER = re.compile(r"^(ok |okay |can you |could you |can we |please |let us |lets |now |and )*(make it|do|go for|how "
                     r"about|try|again for|again but) (like |about |maybe |for |just )?(?P<n>\d{1,2}) (minutes?|mins?)"
                     r"( (this|next) time| instead| please| then| long| longer)*$")
_BUT_NOT = re.compile(r"^(ok |okay |yeah |yes |sure )?(the |that |a )?\w+( \w+)?( one)?( is)? (ok|okay|please|is fine|"
                      r"sounds good|then|i guess)\b.{0,20}\bbut not (the|that|those|any|this|too)\b")
_NEVER_A_REQUEST = frozenset({"export", "who_are_you", "something_nice", "how_it_works", "vent", "cant_do", "remind",
                              "should_see", "your_feelings", "data", "judging"})
START_INTENTS = frozenset({"breathe", "ground", "self_compassion", "journal", "connect", "reframe",
                           "professional_help"})
# In a free-text answer (a journal entry) only these exact short messages are commands; all else is kept.
EXACT_COMMANDS = {"stop": "stop", "stop please": "stop", "please stop": "stop", "stop it": "stop",
                  "stop now": "stop", "okay stop": "stop", "cancel": "stop", "quit": "stop", "exit": "stop",
                  "end": "stop", "end it": "stop", "pause": "pause", "resume": "resume", "repeat": "repeat",
                  "again": "repeat", "say that again": "repeat", "slower": "slower", "faster": "faster",
                  "next": "next", "skip": "next", "pass": "next", "finish": "stop", "okay finish": "stop",
                  "finish now": "stop", "lets finish": "stop", "can we finish": "stop"}
# an exercise named in so many words ("breathing doesn't fix anything" is about one)
_NAMES_EXERCISE = re.compile(r"\b(breath\w*|exercise\w*|journal\w*|ground\w*|meditat\w*|small step|reframe|"
                             r"the writing|some writing|writing (thing|exercise)|5 4 3 2 1|five senses)\b")
_TENTATIVE = re.compile(r"^(ok |okay |yeah |yes |so |um |hmm |well )*(maybe|perhaps|i guess|i suppose|what about|"
                        r"how about|could we|can we|could i|can i|shall we|the)\b")  # a choice said as a question
OFFER_PREPARE_LINES = 2  # an offered exercise's opening lines rendered ahead while the answer is awaited
_LONG_ANSWER = 8  # words: a longer answer to an offer is a statement unless it asks in words
_HOW_IT_WORKS = re.compile(r"\b(how does (that|it|this) work|what (is|does) (that|it) (mean|involve)"
                           r"|what would we do)\b")
_ONE_MORE = re.compile(r"\b(again|once more|one more|another (round|one|go)|more please)\b")
_WHAT_IS = re.compile(r"\b(what is|whats|what s|how does|how do you do|explain|tell me about) (the |a |that |this )?|"
                      r"\bwhat (would|does|will|do) (it|that|this|the \w+( \w+)?|a \w+( \w+)?) "
                      r"(involve|entail|be like)\b|"
                      r"\bwhat (happens|do (we|you|i) do) (in|during|with) (it|that|this|the|a)\b")
# asked of the companion in so many words ("help me reconnect with my body"), not a wish ("i want to get back in touch")
_ASKED_OF_ME = re.compile(r"\b(help me|can we|could we|can you|could you|let us|lets|please|pls|guide me|walk me|"
                          r"show me|take me)\b")
BARE_NO = frozenset({"no", "nope", "no thanks", "no thank you", "not really"})
# a sentence that only acknowledges ("ok.", "good.", "well.") before the message itself
_ACK_ONLY = re.compile(r"^(ok|okay|k|good|well|right|alright|so|hmm|hm|um|erm|yeah|yes|fine|oh|anyway|okay so|ok so|"
                       r"well then|right then)$")
# help called or on its way, said soon after the medical or danger reply
_HELP_COMING = re.compile(
    r"\b(called|rang|phoned|rung|pressed|pulled|dialled|dialed|texted) (for )?(an |the |my |our )?(ambulance|999|911|"
    r"000|112|111|pendant|alarm|cord|warden|police|paramedics|doctor|neighbour|neighbor|help)\b|\b(ambulance|"
    r"paramedics|police|warden|help|doctor|neighbour|neighbor)( is| are| s)? (coming|on (the|its|their|his|her) way|"
    r"here|here now|nearly here)\b")
# asked whether an exercise is required ("do i have to do a breathing thing now or smth"): nothing is
_MUST_I = re.compile(r"\b(do|must) (i|we) (really |actually )?(have to|need to|gotta|got to)\b|\b(am i|are we) "
                     r"(supposed|meant|expected|required) to\b")
# how to keep a journal here, asked ("how do i write my feelings down in you?"): the journal opens
_HOW_TO_WRITE = re.compile(r"\bhow (do|can|would|should) i (write|type|put|keep|save|jot) (\w+ ){0,3}(down|in you|"
                           r"in here|into you|here|a journal|a diary)\b")
# one line given to be written down ('ok fine write ONE thing down. just this: "Sunday: ask Ola…"'): kept as it is
_WRITE_THIS = re.compile(r"\b((write|jot|note|put|save)( (one|1|a|this|that|it|something|the|these)( \w+)?)? down|"
                         r"(save|note|write|keep) (this|that|these words))\b[^:\"“]{0,25}(:\s*|\s[\"“])(?P<line>.+)$",
                         re.IGNORECASE)
# writing said to be over ("that's enough writing for now", "i'm done writing"): the journal closes, the entry kept
# "done" said just after an exercise ended (not "i am done" with anything more: the guard reads those)
_DONE = re.compile(r"^(okay |ok |right |alright |so |yes )*(all )?(done|finished|did it|i did it|that is it|"
                   r"i am done|all done|done now|finished now|over)$")
# check-ins paused in a person's words ("could you stop the morning reminders for a few days?", "would you mind not
# sending me the evening check-in tonight"); how long is read by _pause_for
_PAUSE_CHECKINS = re.compile(
    r"\b(stop|pause|mute|skip|hold off( on)?|turn off|switch off|silence|cancel|no more|not (send|sending)|quit|"
    r"(stop|quit) (popping|sending|bugging me with|showing)( up)?|"
    r"do not (send|ask|do)|without|leave (out|off)|give me a break from|a break from)\b( \w+){0,5} "
    r"(reminders?|check ?ins?|(your|these|those|the|morning|evening|daily) (notifications?|nudges?|pop ?ups?))\b"
    r"(?! (from|on|of|about|for my)\b)(?! in\b(?! the (day|daytime|days|mornings?|afternoons?|evenings?|week)\b))")
_SOME = {"a": 1, "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "few": 3, "several": 4}


_HELP_WORDS = re.compile(r"\b(therap\w*|counsel\w*|professional\w*|psycholog\w*|psychiatr\w*|doctor|gp|help|support|"
                         r"someone to talk to|appointment|referral|nhs|samaritans|helpline)\b")


# someone else's advice told ("my husband reckons i should do that breathing stuff"): offered, never started
_REPORTED_ADVICE = re.compile(r"\b(reckons|says|said|thinks|thought|keeps saying|kept saying|told me|tells me|"
                              r"suggested|suggests|recommended|recommends|wants me to|wanted me to|keeps telling me)"
                              r"( that)?"
                              r"( i| me)? (should|ought to|need to|must|have to|could|try|to try|do)\b")
_OWN_ASK = re.compile(r"\b(can we|could we|lets|let us|shall we|can you|could you|i want to|i would like to|i will try|"
                      r"go on then|ok then|okay then)\b")


def _advised(key: str) -> bool:
    """Someone else's idea told ("my sister keeps saying i should try the breathing thing"), not asked for too."""
    return bool(_REPORTED_ADVICE.search(key)) and not _OWN_ASK.search(key)


_WHERE_TO_START = re.compile(r"\b(where|how) (do|would|should|can|could|does) (i|you|one|someone) (even )?"
                             r"(start|begin|go about (it|that|this)|get one|find one|get started)\b")


def _asks_about_help(text: str) -> bool:
    """A question in `text` (a sentence ending in "?", or the whole of it when none does) about getting help; "where
    would I even start?" asks about the help named just before it ("she said I should see my doctor")."""
    asked = [x for x in re.split(r"(?<=[.!?])\s+", text) if x.rstrip().endswith("?")] or [text]
    if any(_HELP_WORDS.search(normalize(x)) for x in asked):
        return True
    return any(_WHERE_TO_START.search(normalize(x)) for x in asked) and bool(_HELP_WORDS.search(normalize(text)))


def _pause_for(key: str) -> int | None:
    """How long a pause of check-ins asked in words lasts, in minutes; None = until tomorrow."""
    m = re.search(r"\b(?P<n>\d+|a couple of|a couple|couple of|a few|few|several|a) (?P<unit>days?|weeks?|hours?)\b",
                  words_to_digits(key))
    if m:
        n = int(m.group("n")) if m.group("n").isdigit() else _SOME[m.group("n")]
        unit = m.group("unit")
        return n * (60 if unit.startswith("hour") else 7 * 1440 if unit.startswith("week") else 1440)
    if re.search(r"\b(this|the) week\b", key):
        return 7 * 1440
    return None


# a worry said in so many words ("im kind of nervous tho, what if i run out of things to say"): never good news going on
_OWN_WORRY = re.compile(r"\bi am (\w+ ){0,2}(nervous|worried|scared|anxious|stressed|terrified|dreading|panicking|"
                        r"freaking out|not sure)\b|\bwhat if\b")
_BARE_NUMBER = re.compile(r"^(a |like |about |maybe |probably |prob |around |say )?(?P<n>10|[0-9]|zero|one|two|three|"
                          r"four|five|six|seven|eight|nine|ten)( i guess| i think| maybe| probably| today)?$")
_ENOUGH_WRITING = re.compile(r"^(okay |ok |right |alright |so |yes )*(i think )?(that is|that will do|that is all|i am|"
                             r"i have|that is about) (enough|done|finished|it|all)( writing| with (the |my )?(journal|"
                             r"diary|writing))?( for (now|today|tonight))?( thanks| thank you)?$"
                             r"|^(okay |ok )?(enough|done|finished|stop) (writing|with (the |my )?"
                             r"(journal|diary|writing))( for (now|today|tonight))?( thanks| thank you)?$")
# a time said on its own ("tmrw prob", "on saturday i guess"): when a step waiting to be kept will happen
_WHEN_ONLY = re.compile(r"^(maybe |probably |prob |i guess |i think |hopefully |ok |okay |so )*(?P<when>tomorrow"
                        r"( morning| afternoon| evening| night)?|tonight|later( today| on)?|this (morning|afternoon|"
                        r"evening|weekend|week)|next week|(on |this |next )?(monday|tuesday|wednesday|thursday|friday|"
                        r"saturday|sunday|sat|sun|mon|tue|tues|wed|thu|thurs|fri)( morning| afternoon| evening| night)?"
                        r"|at the weekend|on the weekend|after (school|work|class)|in the morning)"
                        r"( maybe| probably| prob| i guess| i think| hopefully| if i can)*$")
_WHEN_IN = re.compile(r"\b(tomorrow|tonight|this (morning|afternoon|evening|weekend|week)|next week|at the weekend|"
                      r"(on |this |next )?(monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b")
_DAY_SHORT = {"sat": "saturday", "sun": "sunday", "mon": "monday", "tue": "tuesday", "tues": "tuesday",
              "wed": "wednesday", "thu": "thursday", "thurs": "thursday", "fri": "friday"}
# breathing asked for to get to sleep ("i cannot sleep. short one"): 4-7-8, the pattern for winding down
_FOR_SLEEP = re.compile(r"\b(can not|could not|cannot|can t|trouble|help me|to|get to|before) (get to )?sleep\b"
                        r"|\b(insomnia|for sleep|for bed|before bed|wind down for bed)\b")
_QUESTION_START = re.compile(r"^(what|how|why|does|do|is|are|would|could|will|can)\b")
# a goodbye and nothing else: in a journal it closes the page without being kept as an entry
_BARE_FAREWELLS = frozenset({"bye", "goodbye", "bye bye", "okay bye", "ok bye", "goodnight", "good night", "night",
                             "see you", "see you later", "later", "cya", "bye for now", "gotta go", "i have to go"})
TOGGLE_DEBOUNCE_S = 0.6  # the hotkey pressed in a burst counts once
# After "yes, I'm safe", the learned reading's gentle check is not asked again for this long (seconds): a person
# venting for a while is asked once, not at every sad sentence. That is all it quiets: listed phrases (crisis,
# method, danger, medical, someone else) and whatever names a plan, means, time, goodbye, act or danger
# (safety/quiet.yaml) still answer, and the reply says the person had said they were safe.
CHECK_QUIET_S = 30 * 60
# After the danger reply, this long (seconds) a short "he's back", "she found me" is read as that danger going on
# (safety/danger.yaml `goes_on`) and answered with the danger reply again.
DANGER_FOLLOW_S = 30 * 60


_Expectation = Expectation  # the name the listening and safety branches use


class Companion:
    """Routes what the person says, runs one session at a time, records what happened and speaks.

    Every method is safe to call from any thread and returns quickly; sessions run in a worker thread.
    Front ends render `bus` events: `caption` {who, text}, `state` {state}, and the session's own events.
    """

    def __init__(self, *, config: Config, store: Store, speaker: Speaker, router: Router | None = None,
                 replies: ReplyBook | None = None, library: ExerciseLibrary | None = None,
                 clock: Clock | None = None, lines: Lines | None = None) -> None:
        self.config = config
        self.store = store
        self.speaker = speaker
        self.router = router or get_router()
        self.replies = replies or ReplyBook.load()
        self.library = library or load_library(user_exercises_dir())
        self.clock: Clock = clock or RealClock()
        self.lines = lines or Lines.load()
        self.checkin_lines = Lines.load("checkins.yaml")
        self.bus = EventBus()
        self.dialogue = Dialogue(store)  # the conversation's state and memory, shared by every front end
        self.region = config.region or region_from_locale()
        self.snooze_handler: Callable[[int | None], None] | None = None  # set by the check-in scheduler
        self._lock = threading.RLock()  # serialises commands (start, stop, toggle)
        self._done_lock = threading.Lock()  # guards the end-of-session bookkeeping
        self._session: Session | None = None
        self._session_thread: threading.Thread | None = None
        self._session_done = threading.Event()
        self._session_done.set()
        self._last_result: SessionResult | None = None
        self._check_quiet_until = float("-inf")  # see CHECK_QUIET_S
        self._danger_until = float("-inf")  # see DANGER_FOLLOW_S
        # after any answer to "are you safe?" ("not tonight", "no"): the learned gentle check is not asked again
        # for CHECK_QUIET_S (patterns, plans, means and danger still answer), without "you said you were safe"
        self._asked_quiet_until = float("-inf")
        self._crisis_at = float("-inf")  # the last crisis reply or gentle check: a goodbye soon after keeps the line
        self._crisis_kind = SELF  # what the last one was about
        self._expect: _Expectation | None = None
        self._last_exercise: tuple[str, int] | None = None  # the exercise that ended last, and the turn it did
        self._greeted_turn: int | None = None  # the turn the conversation's opening line was said at (once a run)
        self._state = "idle"
        self._last_toggle = float("-inf")
        self._voice: Any = None  # the voice loop (companion.voice), made on the first talk()
        self._voice_thread: threading.Thread | None = None
        self._readying: threading.Thread | None = None
        self._last_utterance: Utterance | None = None
        self.bus.subscribe(self._on_event)

    # ----- state -------------------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def session_running(self) -> bool:
        return not self._session_done.is_set()

    @property
    def last_result(self) -> SessionResult | None:
        return self._last_result

    @property
    def session_asking(self) -> bool:
        """True while a running exercise waits for an answer to its own question."""
        session = self._session
        return session is not None and self.session_running and session.awaiting is not None

    @property
    def expecting_answer(self) -> bool:
        """True while the companion's own last question (check-in, offer, follow-up) waits for an answer."""
        return self._expect is not None

    def mark_listening(self, listening: bool) -> None:
        """A front end that opens the microphone itself (the voice loop) shows it as talk() does."""
        self._set_state("listening" if listening else self._idle_state())

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.bus.emit(Event("state", self.clock.now(), data={"state": state}))

    def _idle_state(self) -> str:
        if self.session_running:
            return "paused" if self._session is not None and self._session.paused else "session"
        return "idle"

    # ----- speaking --------------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        """Speaks a line of the companion's own (not part of a session) and shows it as a caption."""
        self.bus.emit(Event("caption", self.clock.now(), data={"who": "companion", "text": text}))
        self.dialogue.said(text)
        utterance = self.speaker.say(text)
        self._last_utterance = utterance
        if not self.session_running:
            self._set_state("speaking")

            def back_to_idle() -> None:
                utterance.wait(60)
                if self._state == "speaking":
                    self._set_state(self._idle_state())

            threading.Thread(target=back_to_idle, daemon=True, name="speaking-state").start()

    def wait_quiet(self, timeout: float = 30.0) -> None:
        """Blocks until the voice has finished the companion's last line (for CLI commands about to exit)."""
        utterance = self._last_utterance
        if utterance is not None:
            utterance.wait(timeout)

    # ----- sessions --------------------------------------------------------------------------------------
    def start_exercise(self, exercise_id: str, *, minutes: float | None = None, cycles: int | None = None,
                       thought: str | None = None) -> bool:
        """Starts an exercise, ending any running one first. Raises KeyError / ValueError on bad input."""
        exercise = self.library.get(exercise_id)
        options = SessionOptions(minutes=minutes, cycles=cycles, thought=thought)
        with self._lock:
            if self._stop_session("switched"):
                self.speaker.stop()  # the old session's voice; a reply that introduces this one keeps playing
            self._expect = None
            session = Session(exercise, clock=self.clock, bus=self.bus, speaker=self.speaker, options=options)
            prepare = getattr(self.speaker, "prepare", None)
            if prepare is not None:  # a slow voice (Piper) renders the cues now, so each sounds on its beat
                prepare(exercise.spoken_lines())
            detail: dict[str, Any] = {k: v for k, v in (("minutes", minutes), ("cycles", cycles)) if v is not None}
            row_id = self.store.start_session(exercise.id, exercise.kind, detail)
            self._session = session
            self._session_done.clear()
            thread = threading.Thread(target=self._run_session, args=(session, row_id), daemon=True,
                                      name=f"session-{exercise.id}")
            self._session_thread = thread
            self._set_state("session")
            thread.start()
        return True

    def _run_session(self, session: Session, row_id: int) -> None:
        result: SessionResult | None = None
        try:
            result = session.run()
        except Exception:  # an exercise bug must not take the companion down
            log.exception("session failed")
        finally:
            completed = bool(result and result.completed)
            reason = result.reason if result else "error"
            try:
                self.store.end_session(row_id, completed=completed, reason=reason)
            except Exception:
                log.exception("could not record the end of a session")
            # Not self._lock: a stop() holding it joins this thread, which must be able to finish.
            with self._done_lock:
                if self._session is session:
                    self._session = None
                self._last_result = result
                if reason != "crisis":
                    self._last_exercise = (session.exercise.id, self.dialogue.turn)
                self._session_done.set()
            if self._state in ("session", "paused"):
                self._set_state("idle")

    def _stop_session(self, reason: str) -> bool:
        session, thread = self._session, self._session_thread
        if session is None or self._session_done.is_set():
            return False
        session.stop(reason)
        self.speaker.stop()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        return True

    def wait_session(self, timeout: float | None = None) -> bool:
        """Blocks until no session runs; False on timeout."""
        return self._session_done.wait(timeout)

    def stop(self, reason: str = "stopped") -> bool:
        with self._lock:
            self._expect = None
            stopped = self._stop_session(reason)
        self.speaker.stop()
        return stopped

    def pause(self) -> None:
        session = self._session
        if session is not None and self.session_running:
            session.pause()
            self.speaker.stop()
            self._set_state("paused")

    def resume(self) -> None:
        session = self._session
        if session is not None and self.session_running:
            session.resume()
            self._set_state("session")

    def repeat(self) -> None:
        if self._session is not None and self.session_running:
            self._session.repeat()

    def slower(self) -> None:
        if self._session is not None and self.session_running:
            self._session.slower()

    def faster(self) -> None:
        if self._session is not None and self.session_running:
            self._session.faster()

    def toggle_breathing(self) -> None:
        """The hotkey: starts the default breathing pattern, or stops the running session. Bursts count once."""
        now = self.clock.now()
        with self._lock:
            if now - self._last_toggle < TOGGLE_DEBOUNCE_S:
                return
            self._last_toggle = now
            if self.session_running:
                self.stop()
                return
            self.start_exercise(self.config.breathing.default_pattern,
                                minutes=self.config.breathing.default_minutes)

    # ----- conversation -----------------------------------------------------------------------------------
    def _route(self, text: str) -> IntentResult:
        """The router's reading of a text in the conversation's present context (what was just asked)."""
        session = self._session if self.session_running else None
        awaiting = session.awaiting if session is not None else None
        expecting: frozenset[str] = frozenset()
        if awaiting is not None:
            expecting = awaiting.expecting
        elif self._expect is not None:
            expecting = self._expect.expecting()
        context = RouteContext(expecting=expecting, in_session=session is not None)
        learned = self.clock.now() >= max(self._check_quiet_until, self._asked_quiet_until)
        if learned and awaiting is None and self._expect is not None and self._expect.kind == "safety" \
                and read_answer(text, "")[0] != "unclear":
            # "No, nothing like that, I only mean…" answers the question just asked: the learned reading's gentle
            # check would only ask it again, so it reads as inside the quiet window (patterns, plans, means,
            # goodbyes and danger still answer)
            learned = False
        return self.router.route(text, context, learned=learned)

    def handle_heard(self, readings: Sequence[Reading], *, source: str = "voice", confidence: float = 1.0,
                     clear_at: float = 0.0, repeat_below: float | None = None) -> IntentResult:
        """What the person said, as a recognizer's readings (best first): the best-supported one is acted on, a
        doubtful risky one confirmed, an unclear one asked again; crisis language in any reading is asked about."""
        session = self._session if self.session_running else None
        awaiting = session.awaiting if session is not None else None
        if not readings:
            return IntentResult("", "unknown", 0.0, {})
        if awaiting is not None and awaiting.mode == "open":  # free text (a journal entry): kept as heard
            return self.handle_text(readings[0].text, source=source)
        if self._expect is not None and self._expect.kind == "intensity" \
                and self._route(readings[0].text).intent != "crisis":  # "how strong, 0 to 10?": a number
            rated = next((r.text for r in readings if intensity_in(r.text) is not None), None)
            if rated is not None:
                return self.handle_text(rated, source=source)
        understood = understand(readings, self._route, engine_confidence=confidence, clear_at=clear_at,
                                placed=self.dialogue.placed if session is None else None,
                                **({} if repeat_below is None else {"repeat_below": repeat_below}))
        if understood.decision == ACT and not understood.risk_heard:
            return self.handle_text(understood.text, source=source, routed=understood.result)
        self.bus.emit(Event("caption", self.clock.now(), data={"who": "person", "text": readings[0].text}))
        if understood.risk_heard:
            self._ask_gently(readings[0].text, source)
        elif understood.decision == CONFIRM:
            result = understood.result
            action = self.lines.pick(f"confirm_actions.{result.intent}",
                                     minutes=result.slots.get("minutes", 30))
            self._expect = _Expectation("confirm", pending=understood.text)
            self.say(self.lines.pick("did_you_mean", action=action))
        else:
            self._expect = _Expectation("repeat")
            self.say(self.lines.pick("not_caught"))
        return understood.result

    def _ask_gently(self, heard: str, source: str) -> None:
        """Crisis language was one reading of unclear speech: the gentle safety check, said as a question."""
        with self._lock:
            self._expect = None
        keep = self.config.privacy.keep_transcripts
        try:
            self.store.add_crisis_event(self.region, source, heard if keep else None)
        except Exception:
            log.exception("could not record a crisis event")
        self._crisis_at = self.clock.now()
        self.bus.emit(Event("crisis", self.clock.now(), data={"region": self.region, "level": CHECK}))
        self.say(self.lines.pick("misheard_risk") + " " + crisis_reply(self.region, CHECK))
        self._expect = _Expectation("safety")

    def handle_text(self, text: str, *, source: str = "typed", routed: IntentResult | None = None) -> IntentResult:
        """What the person said or typed: safety first, then the running session, then the conversation.
        `routed`: what the understanding layer already made of a spoken `text` (slots it filled from other readings)."""
        text = text.strip()
        self.bus.emit(Event("caption", self.clock.now(), data={"who": "person", "text": text}))
        session = self._session if self.session_running else None
        result = routed if routed is not None else self._route(text)
        asked = self._expect is not None  # a question of the app's was waiting when this was said
        self.dialogue.turn += 1
        self.dialogue.previous_text, self.dialogue.current_text = self.dialogue.current_text, text

        if result.intent == "crisis" and self._answers_safety_question(text):
            result = IntentResult(text, "unknown", 0.0, {})  # read as the answer; what follows it is read again
        if result.intent == "crisis" or self._danger_goes_on(text):
            self._keep_open_answer(session, text)
            self.dialogue.read(text)  # its topic is still noted: a question about it may follow the guard's reply
            self._on_crisis(text, source, goes_on=result.intent != "crisis")
        elif self._expect is not None and self._expect.kind in ("confirm", "repeat") \
                and self._answer_expectation(result, source):
            pass
        elif session is None and self.dialogue.asks_checkin(text):  # "check in": a check-in now, never a snooze
            if self._expect is not None and self._expect.kind == "keep_step" and self._expect.pending:
                self._keep_step(self._expect.pending, line=None)  # kept unless turned down: a check-in is no "no"
            self._expect = None
            self._checkin_asked(text, source=source if source in ("typed", "voice") else "typed")
        elif session is not None:
            self._in_session(session, result, text)
        elif self._expect is not None and self._answer_expectation(result, source):
            pass
        else:
            if asked and routed is None and self._expect is None and result.intent in ("yes", "no") \
                    and result.confidence < 0.5:
                result = self._route(text)  # not an answer after all ("ok now maybe breathing. i cannot sleep"):
            self._converse(result, source)   # read again without the question's pull toward yes or no
        return result

    def _keep_open_answer(self, session: Session | None, text: str) -> None:
        """A journal entry that also worried the crisis guard is still kept: the guard's reply comes next, and
        the entry is never what is lost."""
        awaiting = session.awaiting if session is not None else None
        if awaiting is None or awaiting.mode != "open" or getattr(session, "exercise", None) is None:
            return
        assert session is not None
        if session.exercise.id == "journal" and text.strip():
            try:
                self.store.add_journal(text.strip(), session.exercise.title)
            except Exception:
                log.exception("could not keep a journal entry")

    def _record_risk_answer(self, text: str, source: str, answer: str) -> None:
        """"No" or "I'm not going to do anything right now" to "Are you safe right now?": the person is still at
        risk, so it counts as a crisis moment (kept in the history, and the window keeps the numbers shown)."""
        keep = self.config.privacy.keep_transcripts
        try:
            self.store.add_crisis_event(self.region, source, text if keep else None)
        except Exception:
            log.exception("could not record a crisis event")
        self.bus.emit(Event("crisis", self.clock.now(),
                            data={"region": self.region, "level": CRISIS, "kind": SELF, "answer": answer}))

    def _answers_safety_question(self, text: str) -> bool:
        """"I haven't taken anything. I'm not going to do anything tonight." answers "are you safe?": no listed
        phrase, only the learned reading (or "tonight") worried the guard, so it is read as the answer (which
        keeps the numbers in view) and not met with the same question again."""
        if self._expect is None or self._expect.kind != "safety" or read_answer(text, "")[0] == "unclear":
            return False
        try:
            return check_patterns(text) is None
        except Exception:
            return False

    def _danger_goes_on(self, text: str) -> bool:
        """Soon after the danger reply, the danger said to be back or still there ("he's back")."""
        if self.clock.now() >= self._danger_until:
            return False
        try:
            return danger_goes_on(text)
        except Exception:
            log.exception("could not read a message after the danger reply")
            return False

    def _on_crisis(self, text: str, source: str, *, goes_on: bool = False) -> None:
        """Stops everything and answers with the crisis line for the region, before anything else. `goes_on`:
        nothing in the text alone, but it tells that the danger just answered is back (the danger reply again)."""
        with self._lock:
            self._expect = None
            self._stop_session("crisis")
        self.speaker.stop()
        keep = self.config.privacy.keep_transcripts
        try:
            self.store.add_crisis_event(self.region, source, text if keep else None)
        except Exception:
            log.exception("could not record a crisis event")
        earlier_safe = self.clock.now() < self._check_quiet_until
        quiet = earlier_safe or self.clock.now() < self._asked_quiet_until
        try:
            found = safety_check(text, quiet=quiet)
        except Exception:  # the router already failed closed on this text: give the full reply
            found = None
        level, kind = (found.level, found.kind) if found is not None else (CRISIS, DANGER if goes_on else SELF)
        if kind == DANGER:
            self._danger_until = self.clock.now() + DANGER_FOLLOW_S
        self._check_quiet_until = float("-inf")  # said again: the next gentle check may be asked again
        self._asked_quiet_until = float("-inf")
        reply = crisis_reply(self.region, level, kind, earlier_safe=earlier_safe and found is not None)
        self._crisis_at = self.clock.now()
        self._crisis_kind = kind
        self.bus.emit(Event("crisis", self.clock.now(), data={"region": self.region, "level": level, "kind": kind}))
        self.say(reply)
        if reply_asks(level, kind):
            self._expect = _Expectation("safety")  # the reply asks whether they are safe right now

    def _in_session(self, session: Session, result: IntentResult, text: str) -> None:
        intent = result.intent
        said = self.dialogue.read(text)
        awaiting = session.awaiting
        if self._refused_in_session(session, said, intent):
            return
        if awaiting is not None and self._moves_on(session, said, text):
            self.stop("closed")  # "honestly i haven't spoken to my sister in months" while naming sounds: heard
            self._converse(result, "typed")
            return
        if awaiting is not None and awaiting.mode == "open":
            self._open_answer(session, result, said)
            return
        if getattr(getattr(session, "exercise", None), "id", "") == "journal" and _ENOUGH_WRITING.match(said.key):
            self._close_journal()  # "i'm done writing for today": what was written is kept
            return
        if said.social == "farewell":  # "ok gotta run to class. later": the exercise ends, and goodbye
            self.stop("closed")
            self.say(self._farewell(said.key))
            return
        if intent in CONTROL_INTENTS:
            if intent == "stop":
                self.stop()
                self.say(self._pick("stopped"))
            elif intent == "pause":
                self.pause()
                self.say(self._pick("paused"))
            else:
                getattr(self, intent)()
            return
        if awaiting is not None and session.answer(text, intent):
            return
        reply = self.replies.reply(result)
        if reply.start and intent in START_INTENTS and intent != "reframe" and self.dialogue.is_request(said.key):
            self._start_from_reply(reply.start, result, text)
            return
        title = session.exercise.title if hasattr(session, "exercise") else "this exercise"
        self.say(self._pick("in_session", title=title))

    def _farewell(self, key: str, kind: str = "farewell") -> str:
        """The goodbye; within CHECK_QUIET_S of a crisis reply it also leaves the line and the emergency number
        with the person ("goodbye then" after "i want to die" is not just "bye for now")."""
        if kind == "farewell" and re.search(r"(\bgood ?night|\bnight|\bsleep|\bbed)\b", key):
            kind = "farewell_night"
        line = self.dialogue.social_reply(kind, key)
        if self.clock.now() - self._crisis_at < CHECK_QUIET_S:
            line = f"{line} {safety_answer('parting', self.region)}"
        return line

    def _close_journal(self) -> None:
        """Writing said to be over: the page closes and the person hears that the entry is kept."""
        self.stop("closed")
        self.say(self.dialogue.line("journal_done"))

    def _moves_on(self, session: Session, said: Said, text: str) -> bool:
        """A grounding question answered with something else entirely: a life topic or a plan told in sentences
        (not a list of things seen or heard). The exercise ends quietly and the message is answered."""
        if getattr(getattr(session, "exercise", None), "kind", "") != "grounding":
            return False
        topic = said.topic is not None and said.topic not in ("pets", "better", "good_day", "bad_day")
        return (topic or said.step_kind is not None) and text.count(",") < 2 and len(said.key.split()) >= 8

    def _refused_in_session(self, session: Session, said: Said, intent: str) -> bool:
        """"no", "nah", "i said no", "forget it" end the exercise at once, and nothing of it is kept as an answer;
        a bare "no" to the exercise's own yes/no question is that question's answer."""
        awaiting = session.awaiting
        answers_no = awaiting is not None and "no" in awaiting.expecting and said.key in BARE_NO
        if answers_no or not (said.refusal or (said.refusal_lead and intent not in ("feeling", "yes"))):
            return False
        self.stop("declined")
        self.say(self.dialogue.line("refusal.in_exercise"))
        return True

    def _open_answer(self, session: Session, result: IntentResult, said: Said) -> None:
        """A free-text answer (a journal entry, a small step): only an exact short command is read as one,
        a question while choosing a small step is answered (never kept as the step); all else is kept."""
        exercise = getattr(session.exercise, "id", "")
        if said.social == "farewell" and len(said.key.split()) <= 6:  # "gotta do homework. bye"
            if said.key not in _BARE_FAREWELLS:  # "i miss him. goodnight": a journal entry is kept first
                self._keep_open_answer(session, result.text)
            self.stop("closed")
            self.say(self._farewell(said.key))
            return
        if exercise == "journal" and _ENOUGH_WRITING.match(said.key):  # "that's enough writing for now": not kept
            self._close_journal()
            return
        if exercise == "reframe" and said.step_kind == "firm":  # "gonna do 25 min of past papers": a plan, not a
            self.stop("closed")                                  # kinder sentence; the look at the thought ends
            self._keep_step(said.step, line="plan.kept")
            return
        if exercise == "reframe" and said.step_kind == "tentative" and said.social not in ("luck", "farewell"):
            self.stop("closed")  # "maybe i msg her": a step toward someone, kept unless the next answer says no
            self._expect = _Expectation("keep_step", pending=said.step)
            self.say(self.dialogue.line("plan.keep", step=clean_step(said.step)))
            return
        first_rest = re.split(r"(?<=[.!?])\s+", result.text.strip(), maxsplit=1)
        if exercise != "journal" and len(first_rest) == 2 and EXACT_COMMANDS.get(normalize(first_rest[0])) == "stop":
            self.stop("closed")  # "ok finish. I feel more here now. Thank you": the exercise ends, the rest is heard
            self._converse(self._route(first_rest[1]), "typed")
            return
        if said.key in EXACT_COMMANDS:
            command = EXACT_COMMANDS[said.key]
            if command == "stop":
                self.stop()
                self.say(self._pick("stopped"))
            elif command == "next":
                session.answer(result.text, "next")
            else:
                getattr(self, command)()
            return
        if said.question and getattr(session.exercise, "id", "") == "connect":
            self.say(self.dialogue.connect_help(said.key))
            session.repeat()
            return
        session.answer(result.text, None)

    def _answer_expectation(self, result: IntentResult, source: str) -> bool:
        """Handles an answer to the app's own last question; False when the utterance is about something else."""
        expect = self._expect
        assert expect is not None
        intent = result.intent
        if expect.kind == "repeat":  # "say it again": whatever comes next is read as itself
            self._expect = None
            return False
        if expect.kind == "confirm":
            self._expect = None
            if intent == "yes":
                self.handle_text(expect.pending, source=source)
            elif intent == "no":
                self.say(self.lines.pick("confirm_declined"))
            else:
                return False  # something else entirely: handle it as it is
            return True
        if expect.kind == "rating":  # "4" on its own, asked back as a rating: kept after a yes
            self._expect = None
            if intent == "yes":
                self._record_feeling(IntentResult(result.text, "feeling", 1.0, {}), source=source,
                                     intensity=int(expect.pending))
                self.say(self.dialogue.line("bare_rating.kept", n=expect.pending))
            elif intent == "no":
                self.say(self.dialogue.line("bare_rating.not_kept"))
            else:
                return False
            return True
        if expect.kind == "offer":
            return self._answer_offer(expect, result)
        if expect.kind in ("save_step", "keep_step"):
            return self._answer_save_step(expect, result)
        if expect.kind == "followup" and self.dialogue.step_reported(normalize(result.text)) is not None:
            self._expect = None  # "update: saw the GP this afternoon": reported in words, answered as a report
            return False
        if expect.kind == "followup" and intent in ("yes", "no"):
            self._expect = None
            if expect.step_id is not None:
                self.store.follow_up_connection_step(expect.step_id, "done" if intent == "yes" else "not yet")
            self.say(self.lines.pick("checkin_followup_yes" if intent == "yes" else "checkin_followup_no"))
            self._ask_checkin(expect.source)
            return True
        if expect.kind == "checkin":
            return self._answer_checkin(expect, result, source)
        if expect.kind == "safety":
            self._expect = None
            answer, rest = read_answer(result.text, intent)
            if answer in ("safe", "denied"):
                self._check_quiet_until = self.clock.now() + CHECK_QUIET_S
            if answer != "unclear":
                self._asked_quiet_until = self.clock.now() + CHECK_QUIET_S
            kind = "safe_brief" if answer == "safe" and rest else answer
            if answer == "denied" and re.search(r"\b(sorry|apologi[sz]e)", result.text.lower()):
                kind = "denied_sorry"  # "i'm sorry to have alarmed you": no apology is owed
            if answer in ("not_safe", "for_now"):  # still at risk: the numbers stay on screen, the event is kept
                self._record_risk_answer(result.text, source, answer)
            self.say(safety_answer(kind, self.region))
            if rest:  # "i'm safe, i just want to text my friend": back to what they were saying
                follow = self.router.route(rest, learned=False)
                if follow.intent == "crisis":
                    self._on_crisis(rest, source)
                elif answer not in ("not_safe", "for_now") or self._asks_or_plans(follow):
                    self._converse(follow, source)  # still at risk: the rest is heard only when it asks for something
            elif answer == "safe":
                self._offer(("coherent",))
            elif answer == "unclear" and self._asks_or_plans(result):
                self._converse(result, source)  # "can i write something down?": after the guard's words, heard
            return True
        if expect.kind == "intensity":
            return self._answer_intensity(expect, result)
        self._expect = None
        return False

    def _answer_checkin(self, expect: _Expectation, result: IntentResult, source: str) -> bool:
        self._expect = None
        intent = result.intent
        if intent == "feeling":
            intensity = intensity_in(result.text)
            checkin_id = self._record_feeling(result, source="scheduled" if expect.source == "scheduled"
                                              else source, intensity=intensity)
            if intensity is None and checkin_id is not None:
                self._expect = _Expectation("intensity", step_id=checkin_id, feeling=result)
                self.say(self.lines.pick("checkin_intensity"))
                return True
            self._speak_reply(result)
            return True
        if intent in ("no", "snooze"):
            self.snooze_checkins(result.slots.get("minutes", 30) if intent == "snooze" else 30)
            return True
        return False

    def _answer_intensity(self, expect: _Expectation, result: IntentResult) -> bool:
        self._expect = None
        intensity = intensity_in(result.text)
        if intensity is None and result.intent not in ("no", "stop"):
            return False  # something else entirely: handle it as it is
        if intensity is not None and expect.step_id is not None:
            self.store.set_checkin_intensity(expect.step_id, intensity)
        if intensity is not None:  # "4": the rating said back ("4 out of 10 sounds like a hard day")
            self.say(self.dialogue.rating_reply(intensity))
        if expect.feeling is not None:
            self._speak_reply(expect.feeling)
        return True

    def _answer_offer(self, expect: _Expectation, result: IntentResult) -> bool:
        """Yes, no, or a choice among what was offered ("small step please", "the first one")."""
        said = self.dialogue.read(result.text)
        thanks = said.social == "thanks" and len(said.key.split()) <= 6 \
            and not self.dialogue.offered_choice(said.key, expect.offers)
        if (said.step_kind in ("firm", "tentative") or thanks or _PAUSE_CHECKINS.search(said.key)) \
                and result.intent != "yes":
            self._expect = None  # "ok i'll text her tomorrow": a step of their own, kept rather than any offer;
            return False         # "thanks": thanked back, and nothing starts; "no check-in tonight": paused
        tried = self.dialogue.tried_exercise(said.key)
        if tried and not said.question and tried not in expect.offers \
                and not (tried == "breathe" and set(expect.offers) & set(PATTERNS)):
            self._expect = None  # "ok fine, we can try the thought thing" after breathing was offered: that one
            return False
        choice = self.dialogue.offered_choice(said.key, expect.offers)
        # "the breathing one ok but not the holding your breath stuff": chosen, with a wish (not a story, not a no)
        chosen_but = bool(choice) and bool(_BUT_NOT.search(said.key))
        if choice and len(said.key.split()) > _LONG_ANSWER and result.intent != "yes" \
                and not self.dialogue.asked_in_words(said.key) and not chosen_but:
            choice = None  # "always someone is calling me…": a story naming a word of the offer chooses nothing
        refused = not chosen_but and (result.intent == "no" or said.refusal
                                      or (said.refusal_lead and result.intent != "feeling"))
        if result.intent == "repeat" and re.search(r"\b(say|said) (that|it)\b", said.key):
            self.say(self.dialogue.last_line)  # "say that again": the question again, still waiting
            return True
        if said.question and result.intent != "yes" and not _HOW_IT_WORKS.search(said.key) \
                and not (choice and _TENTATIVE.match(said.key)):  # "maybe the grounding thing?" chooses
            self._expect = None
            return False  # a question of its own ("are there clubs…?") is not a choice
        if _HOW_IT_WORKS.search(said.key) and not refused:  # "how does that work?": explained, still offered
            names = [self.replies.names.get(o, o) for o in expect.offers]
            self.say(self.dialogue.line("offer_explain", first=names[0], second=names[-1]))
            return True
        if (result.intent == "repeat" and len(said.key.split()) <= 4) \
                or (_ONE_MORE.search(said.key) and len(said.key.split()) <= _LONG_ANSWER):
            choice = choice or expect.offers[0]  # "again", "the same one"; not "sorry for my english, …" nor
            # "3 nights then 2 days then nights again"
        if not refused and choice is None and result.intent != "yes":
            self._expect = None
            return False  # something else entirely: handle it as it is
        self._expect = None
        if refused:
            self.say(self._pick("offer_declined"))
            return True
        exercise = choice or expect.offers[0]
        # "yes please the 4-7-8 one, 3 minutes": the pattern and the minutes said win over the offer's own
        named = self.router.route(result.text, learned=False)
        named_slots = named.slots if named.intent == "breathe" else {}
        if named_slots.get("pattern") in PATTERNS and choice is None:
            exercise = named_slots["pattern"]
        thought = expect.pending if exercise == "reframe" and expect.pending else None
        minutes = named_slots.get("minutes") if exercise in PATTERNS else None
        self.start_exercise(exercise, **({"thought": thought} if thought else {}),
                            **({"minutes": minutes} if minutes else {}))
        return True

    def _answer_save_step(self, expect: _Expectation, result: IntentResult) -> bool:
        """"Shall I keep that as a small step?": only a yes keeps it; "maybe", "no", "don't save it" do not. A
        tentative step said to be kept unless turned down ("keep_step") is kept by anything but a no."""
        self._expect = None
        said = self.dialogue.read(result.text)
        when = _WHEN_ONLY.match(said.key)
        if when and not said.refusal:  # "tmrw prob": the step waiting is kept, with when it will happen
            day = when.group("when")
            day = " ".join(_DAY_SHORT.get(w, w) for w in day.split())
            step = clean_step(expect.pending)
            self._keep_step(step if day in normalize(step) else f"{step} {day}")
            return True
        if expect.kind == "keep_step" and result.intent != "yes" and not said.save_request:
            clear_no = result.intent == "no" and result.confidence >= 0.8  # not "ok thanks. gonna try and sleep"
            if clear_no or said.refusal or said.refusal_lead or said.key in ("maybe", "perhaps"):
                self.say(self.dialogue.line("plan.not_saved"))
                return True
            self._keep_step(expect.pending, line=None)  # something else said: the step stays, and that is answered
            return False
        if (result.intent == "yes" or said.save_request) and not said.refusal \
                and not re.search(r"\b(maybe|perhaps|not sure)\b", said.key):
            self._keep_step(expect.pending)
            if said.social == "farewell":  # "yeah. ok need to get back to it. bye": the goodbye answered too
                self.say(self._farewell(said.key))
            return True
        if result.intent == "no" or said.refusal or said.refusal_lead or said.key in ("maybe", "perhaps"):
            self.say(self.dialogue.line("plan.not_saved"))
            return True
        return False

    def _asks_or_plans(self, result: IntentResult) -> bool:
        """The message asks for an exercise in so many words, or states a small step: something the conversation
        still does after the guard has spoken (the guard read no danger in it; the router would have said so)."""
        said = self.dialogue.read(result.text)
        if said.step_kind in ("firm", "tentative", "hedged") or said.rating is not None:
            return True  # "maybe a 5": a mood rating is still a check-in
        return result.intent in START_INTENTS and self.dialogue.asked_in_words(said.key) \
            and self._is_request(said, result.intent, result.confidence)

    def _converse(self, result: IntentResult, source: str) -> None:
        """Everything that is not crisis, an exercise or an answer: "no", memory, social basics, feelings with
        their topic, requests (only real ones start an exercise) and, last, a gentle fallback."""
        said = self.dialogue.read(result.text)
        intent = result.intent
        lead, rest = self._after_social_lead(result.text)
        if rest:  # "Good evening. I dropped the children back…": a short hello, then what they came to say
            if lead != "ack":
                self.say(self.dialogue.line("lead_ack.thanks") if lead == "thanks" else f"{lead.capitalize()}.")
            self._converse(self._route(rest), source)
            return
        if self._converse_first(said, result, source) or self._social(said, result):
            return
        longer = _LONGER.match(words_to_digits(said.key))
        if longer and self._last_exercise is not None and self.dialogue.turn - self._last_exercise[1] <= 3:
            minutes = int(longer.group("n"))  # "make it like 3 minutes" just after one: again, that long
            self.say(self.dialogue.line("once_more_for", n=minutes))
            self.start_exercise(self._last_exercise[0], minutes=minutes)
            return
        if intent == "snooze" and result.confidence >= 0.9:
            self.snooze_checkins(result.slots.get("minutes", 30))
            return
        if _PAUSE_CHECKINS.search(said.key):  # "could you stop the morning reminders for a few days?"
            self.snooze_checkins(result.slots.get("minutes") or _pause_for(said.key))
            return
        bare = _BARE_NUMBER.match(said.key)
        if bare and said.rating is None:  # "4", with nothing asked: a rating, probably; asked back, kept after a yes
            n = intensity_in(bare.group("n"))
            if n is not None:
                self._expect = _Expectation("rating", pending=str(n))
                self.say(self.dialogue.line("bare_rating.ask", n=n))
                return
        if self._crisis_kind in (MEDICAL, DANGER) and self.clock.now() - self._crisis_at < DANGER_FOLLOW_S \
                and _HELP_COMING.search(said.key):
            self.say(self.dialogue.line("help_coming"))  # "I have pressed my pendant. The warden is coming."
            return
        if _MUST_I.search(said.key) and (_NAMES_EXERCISE.search(said.key) or intent in START_INTENTS):
            self.say(self.dialogue.line("no_obligation"))  # asked whether one is required: never started
            return
        if said.question and _HOW_TO_WRITE.search(said.key):
            self.start_exercise("journal")
            return
        if self._keep_given_line(result.text):
            return
        tried = self.dialogue.tried_exercise(said.key) if not said.question and not _advised(said.key) else None
        if tried and not self.dialogue.negated(said.key):  # "ok fine we can try the thought thing": started
            if tried == "breathe":
                self._speak_reply(IntentResult(result.text, "breathe", 1.0, {}))
            else:
                thought = self.dialogue.previous_text if tried == "reframe" else None
                self.start_exercise(tried, **({"thought": thought} if thought else {}))
            return
        if said.asks_about:  # "whats the point of the 4 7 8 thing, does it work?": answered honestly, then offered
            exercise = self.config.breathing.default_pattern if said.asks_about == "breathing" else said.asks_about
            self._say_with_offer(self.dialogue.explain_works(exercise), (exercise,))
            return
        if said.question and self.dialogue.help_kind(said.key) == "groups":  # "how can i find people who play…?"
            self.say(self.dialogue.connect_help(said.key))
            return
        if said.rating is not None or (intent == "feeling" and not said.self_judgement):
            self._feeling(said, result, source)
            return
        if said.topic and self.dialogue.topic_offers(said.topic) and not _NAMES_EXERCISE.search(said.key) \
                and not _ASKED_OF_ME.search(said.key) and said.news_turn is None:
            self._say_with_offer(self.dialogue.topic_reply(said.topic, said.who, said.sentiment),
                                 self.dialogue.topic_offers(said.topic))
            return
        if intent in START_INTENTS and said.question and _WHAT_IS.search(said.key):
            exercise = self.replies.reply(result).start or self.config.breathing.default_pattern
            self._say_with_offer(self.dialogue.explain(exercise), (exercise,))
            return
        if intent in START_INTENTS and self._is_request(said, intent, result.confidence):
            if not self._offer_instead(result):
                self._speak_reply(result)
            return
        if said.self_judgement or (intent == "reframe" and result.confidence >= 0.5 and not said.question):
            self.say(self.dialogue.line("self_judgement_reply"))  # the thought kept: a yes looks at this one
            self._offer(("reframe", "compassion"), pending=result.text.strip())
            return
        if intent in START_INTENTS and result.confidence >= 0.45 and not said.question \
                and not self.dialogue.negated(said.key) and said.sentiment <= 0 and said.news_turn is None:
            self._offer_for_statement(said, result)  # "everything feels far away": grounding offered, not started
            return
        if intent in CONTROL_INTENTS and result.confidence >= 0.9:  # nothing runs: nothing to stop or slow
            self.speaker.stop()
            self.say(self.dialogue.line("nothing_running"))
            return
        short = len(said.key.split()) <= 3
        # "how am i doing?", not "…by the end of the month"
        progress = intent == "progress" and (said.question or len(said.key.split()) <= 6
                                             or self.dialogue.asked_in_words(said.key))
        if progress or (intent in ("yes", "no") and short and not said.topic) or (
                intent == "help" and result.confidence >= 0.6 and not said.question and not said.topic):
            self._speak_reply(result)
            return
        self.say(self._unplaced(said, intent))

    def _after_social_lead(self, text: str) -> tuple[str, str]:
        """("thanks" or the hello said, what follows) when a first sentence is only a thank-you or a "good evening"
        and what follows says something of its own (five words or more, not a goodbye); ("", "") otherwise."""
        parts = sentences(text)
        acks = 0  # "Good. Well. Today Derek didn't know who I was…": a bare "ok." or "good." only opens the message
        while acks < len(parts) - 1 and _ACK_ONLY.match(normalize(parts[acks])):
            acks += 1
        if acks and len(normalize(" ".join(parts[acks:])).split()) >= 5:
            return "ack", " ".join(parts[acks:])
        lead = self.dialogue.social_of(parts[0]) if len(parts) >= 2 else None
        hello = re.match(r"(?:hello |hi |hey )?(good (morning|afternoon|evening|day))\b", normalize(parts[0])) \
            if lead == "greeting" else None
        if hello:
            lead = hello.group(1)  # said back ("Good evening."); a plain "hey." leads into the rest as before
        elif lead != "thanks" or self.dialogue.read_refusal(text):
            return "", ""  # "I don't want any exercises, thank you. I'm not one for…" is a no, not a thank-you
        rest = " ".join(parts[1:])
        rest_social = self.dialogue.social_of(rest)
        if len(normalize(rest).split()) < 5 or rest_social in ("farewell", "farewell_night") \
                or (lead == "thanks" and rest_social == "thanks"):  # "that helped. thank you for …": thanked once
            return "", ""
        return lead, rest

    def _converse_first(self, said: Said, result: IntentResult, source: str = "text") -> bool:
        """What is answered before any intent: "no", "again", the person's name, "last time", a step done, a
        plan to keep."""
        d = self.dialogue
        if said.rating is not None and said.step_kind in ("firm", "tentative") and not said.refusal:
            # "put 6. nervous but better. might look for a men's shed": the rating kept too, said back first
            feeling = d.mood_for(said.topic, result.slots.get("feeling"), said.mixed, said.rating)
            self._record_feeling(IntentResult(result.text, "feeling", result.confidence, {"feeling": feeling}),
                                 source=source, intensity=said.rating)
            self.say(d.rating_reply(said.rating))
        if said.refusal or (said.refusal_lead and result.intent not in ("feeling", "yes")):
            self._expect = None
            self.say(d.line("refusal.replies"))
        elif said.name:
            self.say(d.remember_name(said.name, said.key))
        elif result.intent == "repeat" and (len(said.key.split()) <= 5
                                             or ("again" in said.key.split() and result.confidence >= 0.5)) \
                and _ASKS_AGAIN.search(said.key):
            self._again(said)
        elif said.asks_name:
            self.say(d.name_answer())
        elif d.asks_entry(said.key):  # "can you show me that journal entry again?": read back, never a new page
            self.say(d.read_back())
        elif _ENOUGH_WRITING.match(said.key) and self._last_exercise is not None \
                and self._last_exercise[0] == "journal" and d.turn - self._last_exercise[1] <= 3:
            self.say(d.line("journal_done"))  # the page already closed: the entry is kept, nothing more written
        elif _DONE.match(said.key) and self._last_exercise is not None and d.turn - self._last_exercise[1] <= 3:
            self._expect = None
            self.say(d.line("exercise_done"))  # "done", after the breathing ended: noticed, one light question
        elif said.asks_step:
            self.say(d.step_recall())
        elif said.asks_last_time:
            self.say(d.last_time(self.replies.names))
        elif (step := d.step_reported(said.key)) is not None:
            self.store.follow_up_connection_step(step.id, "done")
            self.say(" ".join(filter(None, (d.line("step_done", step=step.step), d.step_news(said.key)))))
            parts = [normalize(x) for x in sentences(d.current_text)]
            if result.intent in START_INTENTS and len(parts) > 1 and any(
                    _NAMES_EXERCISE.search(k) and d.asked_in_words(k) and not d.negated(k) for k in parts[1:]):
                return False  # "texted her. … ok can we do the 5 4 3 2 1 thing while i wait": that asked for too
        elif said.save_request:
            self._keep_step(step_text(said.key, d.previous_text or said.key))
        elif (said.step_kind is not None or said.plan) and self._asked_in_own_sentence(result.intent):
            return False  # "perhaps the journaling. i could write down what the kids said": the journal, not a step
        elif said.step_kind == "firm" and said.social == "farewell":  # "ok ill text her. bye": kept, and goodbye
            self._keep_step(said.step, line=None)
            self.say(f"{d.line('plan.kept_bye', step=clean_step(said.step))} {self._farewell(said.key)}")
        elif said.step_kind == "firm" and said.social != "luck":  # "ok. ill call the gp tomorrow morning": kept
            self._keep_step(said.step, line="plan.kept")          # ("going to try it now. wish me luck": luck)
        elif said.step_kind == "tentative" and said.social not in ("luck", "farewell"):
            # "maybe i could ring frank…": kept unless the next answer says no
            self._expect = _Expectation("keep_step", pending=said.step)
            self.say(d.line("plan.keep", step=clean_step(said.step)))
        elif said.step_kind == "hedged" and _WHEN_IN.search(normalize(said.step)):
            # "i might email her on monday. no promises": concrete enough to note lightly, kept unless turned down
            self._expect = _Expectation("keep_step", pending=said.step)
            self.say(d.line("plan.keep_hedged", step=clean_step(said.step)))
        elif said.step_kind == "hedged":  # "maybe i'll check that thing. not promising": offered, no pressure
            self._expect = _Expectation("save_step", pending=said.step)
            self.say(d.line("plan.ask_hedged", step=clean_step(said.step)))
        elif said.plan:
            self._expect = _Expectation("save_step", pending=result.text.strip())
            self.say(d.line("plan.ask"))
        else:
            return False
        return True

    def _again(self, said: Said) -> None:
        """"again": the exercise that has just ended once more, else the last line, else nothing to repeat."""
        d = self.dialogue
        recent = self._last_exercise is not None and d.turn - self._last_exercise[1] <= 2
        if recent and said.key in ("again", "once more", "one more", "again please", "do it again"):
            assert self._last_exercise is not None
            self.say(d.line("once_more"))
            self.start_exercise(self._last_exercise[0])
            return
        self.say(d.last_line if d.last_line else d.line("nothing_to_repeat"))

    def _keep_step(self, step: str, line: str | None = "plan.saved") -> None:
        step = clean_step(step)  # "maybe i'll ask my brother…" is kept as "ask my brother…"
        try:
            self.store.add_connection_step(step)
        except Exception:
            log.exception("could not save a small step")
        if line:
            self.say(self.dialogue.line(line, step=step))

    def _social(self, said: Said, result: IntentResult) -> bool:
        """Greetings, farewells, thanks, "who are you"…: answered as such unless the message is also a request."""
        kind = said.social
        if kind is None:
            return False
        asked = result.intent in START_INTENTS and self._is_request(said, result.intent, result.confidence) \
            and self.dialogue.asked_in_words(said.key)
        if asked and kind not in _NEVER_A_REQUEST:
            return False
        if kind in ("thanks", "acknowledge") and result.intent in ("snooze", "progress") \
                and self.dialogue.asked_in_words(said.key):
            return False  # "ok that helped. also can you quit popping up them check in reminders": the request
        leads = said.key.startswith(("thank", "sorry", "anyway sorry", "cheers", "ok thank", "okay thank"))
        if kind in ("thanks", "apology", "dont_know", "whatever") and not leads \
                and (said.topic or said.rating is not None):
            return False
        if kind == "saved_check":  # "did that save?": yes only when a journal entry was kept in the last hour
            try:
                recent = self.store.journal_since(3600)
            except Exception:
                recent = []
            self.say(self.dialogue.line("social.saved_check.replies" if recent else "social.saved_check.nothing"))
            return True
        if kind == "export":  # "could you export what i wrote last night?": a readable copy, written here
            self._expect = None
            self.say(self._journal_copy())
            return True
        if kind == "where_were_we" and self._last_exercise is not None:
            name = self.replies.names.get(self._last_exercise[0], self._last_exercise[0])
            self._say_with_offer(self.dialogue.line("where_were_we", exercise=name), (self._last_exercise[0],))
            return True
        if kind == "remind":  # "can you remind me to call my mum tomorrow?": kept as a small step after a yes
            step = re.search(r"\bremind me (to |that i need to |that i should |about )?(?P<step>.+)", said.key)
            if step and len(step.group("step").split()) >= 2:
                self._expect = _Expectation("save_step", pending=step.group("step"))
                self.say(self.dialogue.social_reply(kind, said.key))
                return True
            waiting = self.dialogue.waiting_step() if re.search(r"\b(ask|check( in)? with) me\b", said.key) else None
            if waiting:  # "can you ask me tomorrow if we actually called them": the step kept is what is asked about
                self.say(self.dialogue.line("ask_me_later", step=waiting))
                return True
            kind = "cant_do"
        # "what should i do?", "is there any help?": about the topic of the last turns, when it has an answer
        if kind in ("advice", "support_question") and (answer := self.dialogue.topic_answer()):
            self._expect = None
            self.say(answer)
            return True
        if kind == "is_normal" and said.question and self.dialogue.help_kind(said.key):
            self.say(f"{self.dialogue.social_reply(kind)} {self.dialogue.connect_help(said.key)}")
            return True
        if kind == "greeting" and self._greeted_turn is not None and self.dialogue.turn == self._greeted_turn + 1:
            kind = "greeting_answer"  # "hello" said back to the companion's own greeting: no second hello
            step = self._followup_step()
            if step is not None:  # the greeting asked about a small step: asked again, still waiting
                self.say(self.dialogue.line("social.greeting.answer.followup", name=self.dialogue.name_suffix(),
                                            step=step))
                return True
        self._expect = None
        farewell = kind.startswith("farewell")
        self.say(self._farewell(said.key, kind) if farewell else self.dialogue.social_reply(kind, said.key))
        return True

    def _journal_copy(self) -> str:
        """Writes the journal to a file in the person's documents and says where; nothing is sent anywhere."""
        entries = self.store.journal()
        if not entries:
            return self.dialogue.line("social.export.empty")
        try:
            path = journal_copy.write(entries, exports_dir())
        except OSError as exc:
            log.warning("journal copy not written: %s", exc)
            return self.dialogue.line("social.export.failed", reason=exc.strerror or str(exc))
        count = f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}"
        return self.dialogue.line("social.export.replies", entries=count, file=path)

    def _offer_instead(self, result: IntentResult) -> bool:
        """The same exercise asked for again and again lately: another one is offered first (a yes takes it,
        naming the usual one starts that)."""
        exercise = self.replies.reply(result).start
        if result.intent == "breathe":
            exercise = result.slots.get("pattern") or self.config.breathing.default_pattern
        other = self.dialogue.alternative(exercise) if exercise else None
        if not other or exercise is None:
            return False
        names = self.replies.names
        self._say_with_offer(self.dialogue.line("same_exercise", exercise=names.get(exercise, exercise),
                                                other=names.get(other, other)), (other, exercise))
        return True

    def _offer_for_statement(self, said: Said, result: IntentResult) -> None:
        exercise = self.replies.reply(result).start or self.config.breathing.default_pattern
        if result.intent == "breathe":
            exercise = result.slots.get("pattern") or self.config.breathing.default_pattern
        ack = self.dialogue.topic_reply(said.topic, said.who, said.sentiment) if said.topic \
            else self.dialogue.line("statement.ack")
        offer = self.dialogue.line("statement.offer", offer=self.replies.names.get(exercise, exercise))
        self._say_with_offer(f"{ack} {offer}", (exercise,))

    def _say_with_offer(self, text: str, offers: tuple[str, ...]) -> None:
        self.say(text)
        if offers:
            self._offer(offers)

    def _offer(self, offers: tuple[str, ...], *, pending: str = "") -> None:
        """Waits for the answer to an offer, and has a slow voice (Piper) render the offered exercises' opening
        lines meanwhile, so a "yes" starts with no wait for the first line."""
        self._expect = _Expectation("offer", offers=offers, pending=pending)
        prepare = getattr(self.speaker, "prepare", None)
        if prepare is None:
            return
        lines: list[str] = []
        for exercise_id in offers:
            try:
                lines += self.library.get(exercise_id).spoken_lines()[:OFFER_PREPARE_LINES]
            except (KeyError, ValueError):
                continue  # not an exercise of the library ("small_step")
        if lines:
            prepare(lines)

    def _keep_given_line(self, text: str) -> bool:
        """A line given to be written down, after a colon or in quotes, is kept in the journal as it is."""
        m = _WRITE_THIS.search(text)
        line = m.group("line").strip().strip('"“”').strip() if m else ""
        if len(line.split()) < 3:
            return False
        try:
            self.store.add_journal(line, None)
        except Exception:
            log.exception("could not keep a journal entry")
            self.say(self.dialogue.line("journal_line_failed"))
            return True
        self.say(self.dialogue.line("journal_line_kept", line=line))
        return True

    def _is_request(self, said: Said, intent: str, confidence: float) -> bool:
        if said.no_words or (_advised(said.key) and not said.question):  # a question still asks ("she said I
            return False  # should see my doctor. where would I start?")
        if intent == "professional_help" and not said.refusal_lead:  # "where do i get therapy?": ways to find one
            # a question about something else ("we called them. … my supervisor apologised??") asks for nothing here
            question = said.question and _asks_about_help(self.dialogue.current_text)
            if said.question and not question:
                return False
            asked = question or self.dialogue.asked_in_words(said.key) or len(said.key.split()) <= 5 \
                or confidence >= 0.9  # "the doctor said the baby is healthy" is news, not a request
            return question or (asked and not self.dialogue.negated(said.key))
        if intent == "reframe":
            return bool(REFRAME_REQUEST.search(said.key))
        if self._asked_in_own_sentence(intent):
            return True  # "ok now maybe breathing. i cannot sleep": the "cannot" is about sleep, not the breathing
        if said.question and len(said.key.split()) > 3 and not self.dialogue.asked_in_words(said.key):
            return False  # "are you judging me?" asks something; it does not ask for an exercise
        return self.dialogue.is_request(said.key, confidence)

    def _asked_in_own_sentence(self, intent: str) -> bool:
        """A short sentence of its own naming the exercise the router read ("ok now maybe breathing."), not turned
        down and not a question, in a message of several sentences."""
        parts = [normalize(x) for x in sentences(self.dialogue.current_text)]
        if len(parts) < 2:
            return False
        return any(_NAMES_EXERCISE.search(k) and len(k.split()) <= 5 and not self.dialogue.negated(k)
                   and not _QUESTION_START.match(k) and self.replies.reply(IntentResult(k, intent, 1.0, {})).start
                   for k in parts)

    def _unplaced(self, said: Said, intent: str) -> str:
        """A message no request or feeling was read in: a topic, a question, or the fallback."""
        d = self.dialogue
        if said.news_turn:  # "my dog died but my new job is going well": both answered, the later one last
            return d.news_turn_reply(said)
        if said.mixed:
            return d.mixed_reply(said.key)
        if said.topic:
            return d.topic_reply(said.topic, said.who, said.sentiment)
        if said.no_words:
            return d.social_reply("emoji")
        if said.question:
            if d.help_kind(said.key):  # "should i text my mate?": about reaching people, before the topic's answer
                return d.connect_help(said.key)
            return d.topic_answer() or d.connect_help(said.key, off_topic=True)
        if intent in START_INTENTS and _NAMES_EXERCISE.search(said.key) and d.negated(said.key):
            return d.line("exercise_doubt")
        follow = d.follow_up_or_sentiment(said.sentiment)  # the topic still talked about, or good / hard news
        if follow:
            return follow
        if len(said.key.split()) >= 4:
            return d.social_reply("listening")
        return d.line("fallback")

    def _feeling(self, said: Said, result: IntentResult, source: str) -> None:
        """A feeling: saved with the polarity its topic gives it and the rating said in words, then answered
        about the topic ("I'm so sorry about your husband"), with an offer."""
        feeling = result.slots.get("feeling")
        chosen = self.dialogue.chosen_word(said.key)  # "restless rather than sad": the word they chose
        if chosen:
            named = self.router.route(f"i feel {chosen}", learned=False)
            feeling = named.slots.get("feeling") or feeling if named.intent == "feeling" else feeling
        feeling = self.dialogue.mood_for(said.topic, feeling, said.mixed, said.rating)
        if self._good_news_goes_on(said, feeling):  # "i literally screamed lol" right after good news
            self.say(self.dialogue.follow_up_or_sentiment(1) or self.dialogue.line("sentiment.good"))
            return
        result = IntentResult(result.text, "feeling", result.confidence, {**result.slots, "feeling": feeling})
        intensity = said.rating if said.rating is not None else intensity_in(result.text)
        self._record_feeling(result, source=source, intensity=intensity)
        ack, question, offers = self.replies.feeling_parts(result, avoid=self.dialogue.is_recent)
        if said.topic == "better" and self._last_exercise is not None:  # "that was a bit better": once more?
            self._say_with_offer(self.dialogue.topic_reply("better", None), (self._last_exercise[0],))
            return
        if said.news_turn:  # a loss told as background, or hard and good news: answered, nothing offered
            self.say(self.dialogue.news_turn_reply(said))
            return
        if said.mixed:
            ack = self.dialogue.mixed_reply(said.key)
            if said.rating is not None:  # "put me down as 7, happy but still knackered": the number said back too
                ack = f"{self.dialogue.rating_reply(said.rating)} {ack}"
        elif said.topic:
            ack = self.dialogue.topic_reply(said.topic, said.who, said.sentiment)
        elif said.rating is not None:
            ack = self.dialogue.rating_reply(said.rating)
        if feeling in ("good", "okay") and said.rating is not None:
            self.say(ack)
            return
        self._say_with_offer(f"{ack} {question}", offers)

    def _good_news_goes_on(self, said: Said, feeling: str | None) -> bool:
        """A hard feeling read in a message that only goes on about good news just told ("i screamed lol",
        "i cried in the car park"): neither said back as a hard feeling nor saved as one."""
        d = self.dialogue
        hard = feeling in d.data["negative_moods"]
        return hard and said.topic is None and said.rating is None and said.sentiment > -2 \
            and not said.self_judgement and d.recent_polarity() > 0 and not _OWN_WORRY.search(said.key) \
            and len(said.key.split()) <= 10  # a reaction, not "i feel like i'm failing him some days. a younger …"

    def _record_feeling(self, result: IntentResult, *, source: str, intensity: int | None = None) -> int | None:
        keep = self.config.privacy.keep_transcripts
        try:
            return self.store.add_checkin(result.slots.get("feeling"), intensity, result.text if keep else None,
                                          source=source)
        except Exception:
            log.exception("could not record a check-in")
            return None

    def _pick(self, key: str, **fields: Any) -> str:
        """A line from app_lines.yaml not said within the last ten lines, when another wording exists."""
        line = self.lines.pick(key, **fields)
        for _ in range(3):
            if not self.dialogue.is_recent(line):
                break
            line = self.lines.pick(key, **fields)
        return line

    def _speak_reply(self, result: IntentResult) -> None:
        summary = self.store.summary(7) if result.intent == "progress" else None
        if result.intent == "breathe" and not result.slots.get("pattern") and _FOR_SLEEP.search(normalize(result.text)):
            result = IntentResult(result.text, result.intent, result.confidence, {**result.slots, "pattern": "4-7-8"})
        if result.intent == "breathe" and not result.slots.get("pattern"):  # the configured default, every path
            result = IntentResult(result.text, result.intent, result.confidence,
                                  {**result.slots, "pattern": self.config.breathing.default_pattern})
        reply = self.replies.reply(result, summary=summary)
        for _ in range(3):
            if not self.dialogue.is_recent(reply.text):
                break
            reply = self.replies.reply(result, summary=summary)
        if reply.start:
            if reply.text:
                self.say(reply.text)
            self._start_from_reply(reply.start, result, result.text)
            return
        self.say(reply.text)
        if reply.offers:
            self._offer(tuple(reply.offers))

    def _start_from_reply(self, exercise_id: str, result: IntentResult, text: str) -> None:
        minutes = result.slots.get("minutes")
        thought = thought_in(text) if exercise_id == "reframe" and result.intent == "reframe" else None
        if thought and re.search(r"\b(that|this|the|my) (thought|one)\b", normalize(thought)) \
                and self.dialogue.previous_text:  # "fine we can look at that thought": the one said before
            thought = self.dialogue.previous_text
        try:
            self.start_exercise(exercise_id, minutes=minutes, thought=thought)
        except (KeyError, ValueError) as exc:
            log.warning("could not start %s: %s", exercise_id, exc)
            self.say(str(exc).strip("'\""))

    def greet(self, *, returning_only: bool = False, source: str = "typed") -> bool:
        """The first line of a conversation, the same for every front end (chat, `companion talk`, the tray's Talk),
        said once a run: a returning person is welcomed back (by name when known) and asked about a small step
        still waiting for its follow-up. `returning_only` (the voice front ends, which listen at once): a person
        the companion knows nothing about is not greeted. True when a line was said."""
        d = self.dialogue
        try:
            pending = self.store.pending_connection_steps()
        except Exception:
            pending = []
        with self._lock:
            if self._greeted_turn is not None or (returning_only and not (d.known_before or pending)):
                return False
            self._greeted_turn = d.turn
        line = d.line("welcome_back", name=d.name_suffix()) if d.known_before else self._pick("greeting")
        if pending:
            line = f"{line} {d.line('step_followup', step=pending[-1].step)}"
            self._expect = _Expectation("followup", step_id=pending[-1].id, source=source)
        self.say(line)
        return True

    def _followup_step(self) -> str | None:
        """The small step the last question follows up, while that question still waits."""
        expect = self._expect
        if expect is None or expect.kind != "followup" or expect.step_id is None:
            return None
        try:
            return next((s.step for s in self.store.pending_connection_steps() if s.id == expect.step_id), None)
        except Exception:
            return None

    def farewell(self) -> None:
        self.say(self.dialogue.social_reply("farewell"))

    # ----- check-ins --------------------------------------------------------------------------------------
    def _checkin_asked(self, text: str, *, source: str) -> None:
        """A check-in asked for in words: a name said with it is kept ("hi, i'm priya. want to do the check in");
        a feeling and a rating said with it ("lets do todays. feeling lighter, 6") are the check-in itself."""
        name = self.dialogue.read(text).name or self.dialogue.checkin_name(text)
        if name:
            self.dialogue.remember_name(name)
        rest = self.dialogue.checkin_rest(text)
        intensity = intensity_in(rest) if rest else None
        if rest and intensity is not None:
            follow = self.router.route(rest, learned=False)
            if follow.intent == "feeling" and follow.slots.get("feeling"):
                before = [c for c in self.store.checkins(7) if c.intensity is not None]
                self._record_feeling(follow, source=source, intensity=intensity)
                prev = max(before, key=lambda c: (c.at, c.id)).intensity if before else None
                if prev is not None and prev != intensity:  # "up from a 4 last time"
                    self.say(self.dialogue.line("rating.up" if intensity > prev else "rating.down", n=intensity,
                                                prev=prev))
                self._speak_reply(follow)
                return
        self.check_in(source=source)

    def check_in(self, *, source: str = "click") -> None:
        """A gentle question; the answer arrives later through handle_text (or never, without consequence)."""
        if self.session_running:
            return  # never interrupt an exercise
        pending = self.store.pending_connection_steps()
        if pending:
            step = pending[0]
            self._expect = _Expectation("followup", step_id=step.id, source=source)
            self.bus.emit(Event("checkin", self.clock.now(), data={"source": source, "followup": step.step}))
            self.say(self.lines.pick("checkin_followup", step=step.step))
            return
        self.bus.emit(Event("checkin", self.clock.now(), data={"source": source}))
        self._ask_checkin(source)

    def _ask_checkin(self, source: str) -> None:
        self._expect = _Expectation("checkin", source=source)
        self.say(self.checkin_lines.pick("questions"))

    def snooze_checkins(self, minutes: int | None) -> None:
        """"Not now": no check-ins for a while (None = until tomorrow, 0 = resume)."""
        if self.snooze_handler is not None:
            self.snooze_handler(minutes)
        if minutes == 0:
            self.say(self.checkin_lines.pick("snoozed.resumed"))
        elif minutes is None:
            self.say(self.checkin_lines.pick("snoozed.tomorrow"))
        elif minutes >= 1440 and minutes % 1440 == 0:
            days = minutes // 1440
            self.say(self.checkin_lines.pick("snoozed.days", days=days, s="" if days == 1 else "s"))
        elif minutes >= 60 and minutes % 60 == 0:
            hours = minutes // 60
            self.say(self.checkin_lines.pick("snoozed.hours", hours=hours, s="" if hours == 1 else "s"))
        else:
            self.say(self.checkin_lines.pick("snoozed.minutes", minutes=minutes))

    # ----- listening --------------------------------------------------------------------------------------
    def listen_mode(self) -> str:
        """How to listen now: free speech; "dictation" while an exercise waits for words it keeps as said (a
        journal entry: the recognizer's general language leads), else "open" (what the words mean is the
        router's job)."""
        session = self._session
        awaiting = session.awaiting if session is not None and self.session_running else None
        return "dictation" if awaiting is not None and awaiting.mode == "open" else "open"

    def ready_in_background(self) -> None:
        """Readies the crisis guard on a background thread while the person is still speaking or typing: its first
        check otherwise holds up the first reply of a conversation: about 0.6 s, and several seconds after an update,
        when the learned reading is trained again (docs/benchmarks/listening.md, "Round 9")."""
        if self._readying is None:
            self._readying = threading.Thread(target=_ready_guard, name="companion-ready", daemon=True)
            self._readying.start()

    def talk(self, *, listen_first: bool = True) -> None:
        """Runs the one voice loop in the background (companion.voice.VoiceLoop, as `companion talk` does): hears
        now when `listen_first`, then whenever the companion asks something, with barge-in while a session speaks.
        A loop already running is left to it. Without a microphone it says so once and why."""
        with self._lock:
            if self._voice_thread is not None and self._voice_thread.is_alive():
                return
            from companion.voice import VoiceLoop

            if self._voice is None:
                self._voice = VoiceLoop(self)
            loop = self._voice
            greeted = listen_first and self.greet(returning_only=True, source="voice")

            def run() -> None:
                if greeted:
                    self.wait_quiet()  # never listen over our own greeting
                loop.run(listen_first=listen_first)

            self._voice_thread = threading.Thread(target=run, daemon=True, name="voice")
            self._voice_thread.start()

    def release_idle(self) -> bool:
        """Frees what listening loaded (recognizers, VAD) while nobody listens and no session runs; the next
        talk() loads it again. True when something was released (the desktop calls this after a quiet while)."""
        with self._lock:
            thread = self._voice_thread
            if self._voice is None or (thread is not None and thread.is_alive()) or self.session_running:
                return False
            self._voice.release_models()
            return True

    def wait_voice(self, timeout: float | None = None) -> bool:
        """Waits for the background voice loop to finish (tests, shutdown); True when it has."""
        thread = self._voice_thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # ----- commands from another process ----------------------------------------------------------------------
    def handle_command(self, command: dict[str, Any]) -> dict[str, Any]:
        """A command handed over by a second `companion …` (single instance): {"cmd": ..., ...} → {"ok": ...}."""
        cmd = str(command.get("cmd", ""))
        try:
            if cmd in ("start", "breathe"):
                exercise = command.get("exercise") or command.get("pattern") or "breathe"
                minutes, cycles = command.get("minutes"), command.get("cycles")
                if exercise == "breathe":
                    exercise = self.config.breathing.default_pattern
                    if minutes is None and cycles is None:
                        minutes = self.config.breathing.default_minutes
                self.start_exercise(str(exercise), minutes=minutes, cycles=cycles, thought=command.get("thought"))
            elif cmd in ("stop", "pause", "resume", "repeat", "slower", "faster", "talk", "toggle_breathing"):
                getattr(self, cmd)()
            elif cmd == "check_in":
                self.check_in(source="typed")
            elif cmd == "text":
                result = self.handle_text(str(command.get("text", "")), source="typed")
                return {"ok": True, "intent": result.to_json()}
            elif cmd == "state":
                return {"ok": True, "state": self.state}
            else:
                return {"ok": False, "error": f"unknown command '{cmd}'"}
        except (KeyError, ValueError) as exc:
            return {"ok": False, "error": str(exc.args[0] if exc.args else exc)}
        return {"ok": True, "state": self.state}

    # ----- records and shutdown -------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind == "say":
            self.bus.emit(Event("caption", event.t, data={"who": "companion", "text": event.data.get("text", ""),
                                                          "exercise": True}))
            self.dialogue.said(str(event.data.get("text", "")), exercise=True)
        elif event.kind == "record":
            self._store_record(event.data)

    def _store_record(self, data: dict[str, Any]) -> None:
        kind = data.get("kind")
        text = str(data.get("text") or "").strip()
        if not text:
            return
        try:
            if kind == "connection_step":
                self.store.add_connection_step(text)
            elif kind in ("journal", "reframe"):
                self.store.add_journal(text, data.get("prompt") or kind)
            elif kind == "checkin":
                self.store.add_checkin(data.get("feeling"), data.get("intensity"), text, source="session")
        except Exception:
            log.exception("could not save a %s record", kind)

    def close(self) -> None:
        expect = self._expect
        if expect is not None and expect.kind == "keep_step":
            self._expect = None
            self._keep_step(expect.pending, line=None)
        if self._voice is not None:
            self._voice.shutdown()
            self.wait_voice(2.0)
        self.stop("closed")
        self.speaker.close()


def intensity_in(text: str) -> int | None:
    """A 0–10 rating said in an answer ("about a seven", "6 out of 10"), or None; never a number that counts
    something ("the first 2 years", "year 3", "at 4 pm")."""
    words = words_to_digits(normalize(text)).split()
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        before = words[i - 1] if i else ""
        if word.isdigit() and 0 <= int(word) <= 10 and after not in _UNITS and before not in COUNTED_BY:
            return int(word)
    return None


# what a number counts when it is not a rating ("2 years", "5 am"); what it follows is `dialogue.COUNTED_BY`
_UNITS = frozenset({"year", "years", "yr", "yrs", "month", "months", "week", "weeks", "day", "days", "hour", "hours",
                    "hrs", "minute", "minutes", "mins", "min", "second", "seconds", "times", "am", "pm", "oclock",
                    "o", "kids", "children", "people", "things", "nights", "shifts", "kg", "miles", "km"})


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def _ready_guard() -> None:
    from companion.core import safety

    try:
        safety.ready()
    except Exception:  # the first real check reports the problem where it can be answered
        log.debug("the crisis guard could not be readied in advance", exc_info=True)


def create_app(*, silent: bool = False, notice: Callable[[str], None] | None = None,
               clock: Clock | None = None) -> Companion:
    """The companion on this machine's config, data and voice; problems are reported through `notice`."""
    from companion.core.config import load_config
    from companion.speech.tts import make_speaker

    report = notice or (lambda message: log.warning("%s", message))
    config, problems = load_config()
    for problem in problems:
        report(problem)
    store = Store.open_or_memory()
    for message in store.notices:
        report(message)
    speaker = make_speaker(voice=config.voice.name or None, rate=config.voice.rate, volume=config.voice.volume,
                           silent=silent, on_problem=report)
    app = Companion(config=config, store=store, speaker=speaker, clock=clock)
    for problem in app.library.problems:
        report(problem)
    return app
