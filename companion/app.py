"""Companion: the one small set of commands every front end uses (chat, CLI, tray, hotkey, check-ins, voice).

It wires the headless core (router, sessions, store) to a voice; it never imports GUI or audio libraries itself
(listening is loaded lazily, only when asked to listen).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.core.clock import Clock, RealClock
from companion.core.config import Config
from companion.core.events import Event, EventBus
from companion.core.exercises import ExerciseLibrary, load_library
from companion.core.fuzzy import normalize
from companion.core.intent import CONTROL_INTENTS, IntentResult, RouteContext
from companion.core.lines import Lines
from companion.core.numbers import words_to_digits
from companion.core.paths import user_exercises_dir
from companion.core.ports import Speaker, Utterance
from companion.core.replies import ReplyBook
from companion.core.router import Router, get_router
from companion.core.safety import CRISIS, crisis_reply, region_from_locale, safety_answer
from companion.core.safety import check as safety_check
from companion.core.session import Session, SessionOptions, SessionResult
from companion.core.store import Store

log = logging.getLogger(__name__)

# Session events that belong in an `--events FILE` (app-level captions and states do not).
SESSION_EVENT_KINDS = frozenset({"start", "phase", "say", "listen", "heard", "record", "pause", "resume", "end"})
BREATHING_IDS = ("box", "4-7-8", "coherent", "sigh")
TOGGLE_DEBOUNCE_S = 0.6  # the hotkey pressed in a burst counts once
# After "yes, I'm safe", the learned reading's gentle check is not asked again for this long (seconds): a person
# venting for a while is asked once, not at every sad sentence. Listed crisis phrases still always answer.
CHECK_QUIET_S = 30 * 60


@dataclass(frozen=True)
class _Expectation:
    """What the last question the app asked is waiting for."""

    kind: str  # "offer" | "checkin" | "intensity" | "followup" | "safety"
    offers: tuple[str, ...] = ()
    step_id: int | None = None  # the connection step being followed up, or the check-in being rated
    source: str = "click"  # what started the check-in: scheduled | click | typed | voice
    feeling: IntentResult | None = None  # the feeling being rated, answered once the rating is in

    def expecting(self) -> frozenset[str]:
        if self.kind == "checkin":
            return frozenset({"feeling", "no", "snooze"})
        if self.kind == "intensity":
            return frozenset({"no"})
        return frozenset({"yes", "no"})


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
        self._expect: _Expectation | None = None
        self._state = "idle"
        self._last_toggle = float("-inf")
        self._listening = False
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
    def handle_text(self, text: str, *, source: str = "typed") -> IntentResult:
        """What the person said or typed: safety first, then the running session, then the conversation."""
        text = text.strip()
        self.bus.emit(Event("caption", self.clock.now(), data={"who": "person", "text": text}))
        session = self._session if self.session_running else None
        awaiting = session.awaiting if session is not None else None
        expecting: frozenset[str] = frozenset()
        if awaiting is not None:
            expecting = awaiting.expecting
        elif self._expect is not None:
            expecting = self._expect.expecting()
        context = RouteContext(expecting=expecting, in_session=session is not None)
        result = self.router.route(text, context, learned=self.clock.now() >= self._check_quiet_until)

        if result.intent == "crisis":
            self._on_crisis(text, source)
        elif session is not None:
            self._in_session(session, result, text)
        elif self._expect is not None and self._answer_expectation(result, source):
            pass
        else:
            self._converse(result, source)
        return result

    def _on_crisis(self, text: str, source: str) -> None:
        """Stops everything and answers with the crisis line for the region, before anything else."""
        with self._lock:
            self._expect = None
            self._stop_session("crisis")
        self.speaker.stop()
        keep = self.config.privacy.keep_transcripts
        try:
            self.store.add_crisis_event(self.region, source, text if keep else None)
        except Exception:
            log.exception("could not record a crisis event")
        try:
            found = safety_check(text)
        except Exception:  # the router already failed closed on this text: give the full reply
            found = None
        level = found.level if found is not None else CRISIS
        reply = crisis_reply(self.region, level)
        self.bus.emit(Event("crisis", self.clock.now(), data={"region": self.region, "level": level}))
        self.say(reply)
        self._expect = _Expectation("safety")  # the reply asks whether they are safe right now

    def _in_session(self, session: Session, result: IntentResult, text: str) -> None:
        intent = result.intent
        if intent in CONTROL_INTENTS:
            if intent == "stop":
                self.stop()
                self.say(self.lines.pick("stopped"))
            elif intent == "pause":
                self.pause()
                self.say(self.lines.pick("paused"))
            else:
                getattr(self, intent)()
            return
        if session.awaiting is not None and session.answer(text, intent):
            return
        reply = self.replies.reply(result)
        if reply.start and intent in ("breathe", "ground", "self_compassion", "journal", "connect", "reframe"):
            self._start_from_reply(reply.start, result, text)
            return
        title = session.exercise.title if hasattr(session, "exercise") else "this exercise"
        self.say(self.lines.pick("in_session", title=title))

    def _answer_expectation(self, result: IntentResult, source: str) -> bool:
        """Handles an answer to the app's own last question; False when the utterance is about something else."""
        expect = self._expect
        assert expect is not None
        intent = result.intent
        if expect.kind == "offer" and intent in ("yes", "no"):
            self._expect = None
            if intent == "yes" and expect.offers:
                self.start_exercise(expect.offers[0])
            else:
                self.say(self.lines.pick("offer_declined"))
            return True
        if expect.kind == "followup" and intent in ("yes", "no"):
            self._expect = None
            if expect.step_id is not None:
                self.store.follow_up_connection_step(expect.step_id, "done" if intent == "yes" else "not yet")
            self.say(self.lines.pick("checkin_followup_yes" if intent == "yes" else "checkin_followup_no"))
            self._ask_checkin(expect.source)
            return True
        if expect.kind == "checkin":
            self._expect = None
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
        if expect.kind == "safety":
            self._expect = None
            if intent == "yes":
                self._check_quiet_until = self.clock.now() + CHECK_QUIET_S
                self.say(safety_answer("safe", self.region))
                self._expect = _Expectation("offer", offers=("coherent",))
            else:
                self.say(safety_answer("not_safe" if intent in ("no", "stop") else "unclear", self.region))
            return True
        if expect.kind == "intensity":
            self._expect = None
            intensity = intensity_in(result.text)
            if intensity is None and intent not in ("no", "stop"):
                return False  # something else entirely: handle it as it is
            if intensity is not None and expect.step_id is not None:
                self.store.set_checkin_intensity(expect.step_id, intensity)
            if expect.feeling is not None:
                self._speak_reply(expect.feeling)
            return True
        self._expect = None
        return False

    def _converse(self, result: IntentResult, source: str) -> None:
        intent = result.intent
        if intent in CONTROL_INTENTS:
            if intent == "stop":
                self.speaker.stop()
            else:
                self._speak_reply(result)
            return
        if intent == "snooze":
            self.snooze_checkins(result.slots.get("minutes", 30))
            return
        if intent == "feeling":
            self._record_feeling(result, source=source)
        self._speak_reply(result)

    def _record_feeling(self, result: IntentResult, *, source: str, intensity: int | None = None) -> int | None:
        keep = self.config.privacy.keep_transcripts
        try:
            return self.store.add_checkin(result.slots.get("feeling"), intensity, result.text if keep else None,
                                          source=source)
        except Exception:
            log.exception("could not record a check-in")
            return None

    def _speak_reply(self, result: IntentResult) -> None:
        summary = self.store.summary(7) if result.intent == "progress" else None
        reply = self.replies.reply(result, summary=summary)
        if reply.start:
            if reply.text:
                self.say(reply.text)
            self._start_from_reply(reply.start, result, result.text)
            return
        self.say(reply.text)
        if reply.offers:
            self._expect = _Expectation("offer", offers=tuple(reply.offers))

    def _start_from_reply(self, exercise_id: str, result: IntentResult, text: str) -> None:
        minutes = result.slots.get("minutes")
        thought = text if exercise_id == "reframe" and result.intent == "reframe" else None
        try:
            self.start_exercise(exercise_id, minutes=minutes, thought=thought)
        except (KeyError, ValueError) as exc:
            log.warning("could not start %s: %s", exercise_id, exc)
            self.say(str(exc).strip("'\""))

    # ----- check-ins --------------------------------------------------------------------------------------
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
        else:
            self.say(self.checkin_lines.pick("snoozed.minutes", minutes=minutes))

    # ----- listening --------------------------------------------------------------------------------------
    def listen_mode(self) -> str:
        """"open" when a session waits for free speech (journaling, answers), else "command"."""
        session = self._session if self.session_running else None
        awaiting = session.awaiting if session is not None else None
        return awaiting.mode if awaiting is not None else "command"

    def talk(self) -> None:
        """Listens once on the microphone (in the background) and acts on what was heard."""
        if self._listening:
            return
        self._listening = True
        threading.Thread(target=self._talk, daemon=True, name="talk").start()

    def _talk(self) -> None:
        previous = self._state
        try:
            from companion.speech.audio import listen_once
            from companion.speech.recognizer import open_recognizer

            mode = self.listen_mode()
            try:
                recognizer = open_recognizer(self.config.listening.engine, mode)
            except Exception as exc:  # open mode without a Vosk model, no engine...
                if mode != "open":
                    raise
                log.info("open mode unavailable (%s); listening for commands", exc)
                recognizer = open_recognizer(self.config.listening.engine, "command")
            self._set_state("listening")

            def partial(text: str) -> None:
                self.bus.emit(Event("caption", self.clock.now(),
                                    data={"who": "person", "text": text, "partial": True}))

            heard = listen_once(recognizer, trailing_silence=self.config.listening.trailing_silence,
                                no_speech_timeout=self.config.listening.no_speech_timeout, on_partial=partial)
            self._set_state(self._idle_state() if previous == "listening" else previous)
            if heard.transcript:
                self.handle_text(heard.transcript, source="voice")
        except Exception as exc:
            log.warning("listening failed: %s", exc)
            self._set_state(self._idle_state())
            self.say(self.lines.pick("listening_unavailable", reason=_sentence(exc)))
        finally:
            self._listening = False
            if self._state == "listening":
                self._set_state(self._idle_state())

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
            self.bus.emit(Event("caption", event.t, data={"who": "companion", "text": event.data.get("text", "")}))
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
        self.stop("closed")
        self.speaker.close()


def intensity_in(text: str) -> int | None:
    """A 0–10 rating said in an answer ("about a seven", "6 out of 10"), or None."""
    for word in words_to_digits(normalize(text)).split():
        if word.isdigit() and 0 <= int(word) <= 10:
            return int(word)
    return None


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def create_app(*, silent: bool = False, notice: Callable[[str], None] | None = None) -> Companion:
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
    app = Companion(config=config, store=store, speaker=speaker)
    for problem in app.library.problems:
        report(problem)
    return app
