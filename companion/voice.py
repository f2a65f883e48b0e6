"""The voice loop: drives the Companion by voice — listens when the companion has asked something, hears
"stop"/"pause" while a session speaks, and hands every transcript to `Companion.handle_text`.

It never decides what words mean (the router does) and never keeps the microphone open when nothing is asked:
the microphone is open only for one answer at a time, or for the barge-in words while a session runs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from companion.core.events import Event

if TYPE_CHECKING:
    from companion.app import Companion
    from companion.speech.audio import Heard
    from companion.speech.recognizer import Recognizer

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often the loop looks at the app when no event woke it
NOT_UNDERSTOOD_RETRIES = 1  # speech heard but not understood as an answer: listen once more
#: Session events after which the session waits for spoken input (its ask step was spoken in full).
_ASK_EVENTS = frozenset({"listen"})
#: Session events after which that wait is over (answered, something new is being said, paused, ended).
_ASK_OVER_EVENTS = frozenset({"heard", "say", "end", "pause"})


class VoiceUnavailable(Exception):
    """The microphone or every recognizer is unusable; the message names the fix."""


@dataclass(frozen=True)
class Turn:
    """One utterance the loop heard and acted on, with the times a benchmark needs (time.monotonic()).

    `endpoint_at`: the trailing-silence window closed; `routed_at`: the app had routed and acted on it."""

    text: str
    intent: str
    mode: str
    source: str  # "voice" | "typed" (the fallback) | "barge-in"
    endpoint_at: float
    routed_at: float
    decode_ms_after_end: float = 0.0
    timed_out: bool = False


class BargeInLike(Protocol):
    """What the loop needs from companion.speech.audio.BargeIn (a fake in unit tests)."""

    error: Exception | None

    def start(self) -> None: ...

    def stop(self) -> None: ...


Hear = Callable[[str], "Heard"]


class VoiceLoop:
    """Listens when the app waits for an answer and acts on what is heard, until nothing more is expected.

    `hear(mode)` hears one utterance (default: the microphone, see `_hear_mic`); `barge_in(on_word)` makes the
    background "stop"/"pause" listener used while a session runs (default: `BargeIn`); `fallback()` returns
    a typed line (or None at the end of input) once the microphone turned out to be unavailable."""

    def __init__(self, app: Companion, *, engine: str | None = None, device: int | str | None = None,
                 seconds: float | None = None, hear: Hear | None = None,
                 barge_in: Callable[[Callable[[str], None]], BargeInLike] | bool | None = None,
                 fallback: Callable[[], str | None] | None = None,
                 on_listening: Callable[[str], None] | None = None,
                 notice: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.engine = engine or app.config.listening.engine
        self.device = device
        self.seconds = seconds
        self.fallback = fallback
        self.on_listening = on_listening
        self.notice = notice or (lambda message: log.warning("%s", message))
        self.turns: list[Turn] = []
        self._hear = hear or self._hear_mic
        self._make_barge_in = (self._default_barge_in if barge_in is None or barge_in is True
                               else None if barge_in is False else barge_in)
        self._barge_default = barge_in is None or barge_in is True
        self._told_unavailable = False
        self._shut = False
        self._barge: BargeInLike | None = None
        # what the speaker plays, when it can tell (Pyttsx3Speaker), asked for now so that every line of a session
        # is published, also the one already playing when barge-in starts: barge-in subtracts it (echo.py)
        self._reference = getattr(app.speaker, "playback_reference", None)
        self._barge_running = False
        self._barge_lock = threading.Lock()
        self._barge_words: queue.Queue[str] = queue.Queue()
        self._recognizers: dict[str, Recognizer] = {}
        self._vad: Any = None
        self._endpoint_at: float | None = None  # when the last utterance's trailing-silence window closed
        self._typed = False  # the microphone failed once: typed answers from here on
        self._answer_wanted = threading.Event()
        self._wake = threading.Event()
        self._closed = threading.Event()
        app.bus.subscribe(self._on_event)

    # ----- events -------------------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind in _ASK_EVENTS:
            self._answer_wanted.set()
        elif event.kind in _ASK_OVER_EVENTS:
            self._answer_wanted.clear()
        if event.kind in ("listen", "end", "checkin", "pause", "resume", "state"):
            self._wake.set()

    # ----- the loop -----------------------------------------------------------------------------------------
    def run(self, *, listen_first: bool = True, once: bool = False) -> None:
        """Blocks: hears one utterance now (`listen_first`), then keeps answering while the app or a session
        waits for an answer; returns when nothing more is expected, at the end of typed input, or on close().
        May be run again (the tray's Talk, each check-in); a microphone that failed is tried again then."""
        if self._shut:
            return
        ready = getattr(self.app, "ready_in_background", None)
        if callable(ready):
            ready()  # the crisis guard compiles while the person speaks, not after
        self._closed.clear()
        if self.fallback is None and self._typed:
            self._typed = False
            self._make_barge_in = self._default_barge_in if self._barge_default else self._make_barge_in
        try:
            if listen_first:
                self._answer()
            if once:
                return
            while not self._closed.is_set():
                if not self._step():
                    return
        finally:
            self._stop_barge_in()

    def _step(self) -> bool:
        """One look at the app; False when the conversation is over."""
        app = self.app
        try:
            word = self._barge_words.get_nowait()
        except queue.Empty:
            word = None
        if word is not None:
            self._stop_barge_in()
            self._act(Turn(word, "", "command", "barge-in", time.monotonic(), 0.0), word)
            return True
        if app.session_running:
            if self._answer_wanted.is_set() or app.state == "paused":
                self._stop_barge_in()
                # never listen over our own voice: "Paused. Say resume…" heard by a laptop's microphone was taken
                # for the person's answer, and each reply to it heard again (a loop with no headset)
                app.wait_quiet()
                self._turn()  # no speech: the loop comes back here while the session still waits
                return True
            self._start_barge_in()
            self._wake.wait(POLL_S)
            self._wake.clear()
            return True
        self._stop_barge_in()
        if app.expecting_answer:
            app.wait_quiet()  # never listen over our own question
            return self._answer() or self.app.session_running
        return False

    def _answer(self) -> bool:
        """One answer, listened for once more when speech came but was not understood."""
        for attempt in range(1 + NOT_UNDERSTOOD_RETRIES):
            if self._turn():
                return True
            if self._closed.is_set() or not self.turns or self.turns[-1].timed_out:
                return False  # nobody spoke: the question stays unanswered, without consequence
            if attempt < NOT_UNDERSTOOD_RETRIES:
                self.notice(self.app.lines.pick("not_caught_listening_again"))
        return False

    def release_models(self) -> None:
        """Drops the recognizers, the VAD and the barge-in listener (a recognizer is 100 MB or more) while the loop
        is not running; they load again on the next turn. The caller makes sure nothing listens now."""
        with self._barge_lock:
            barge, self._barge = (None, self._barge) if self._barge_running else (self._barge, None)
            if barge is not None:
                close = getattr(barge, "close", None)
                if callable(close):
                    close()
        for recognizer in self._recognizers.values():
            close = getattr(recognizer, "close", None)
            if callable(close):
                close()
        self._recognizers.clear()
        self._vad = None

    def shutdown(self) -> None:
        """Ends the loop for good (the app is closing)."""
        self._shut = True
        self.close()

    def close(self) -> None:
        """Ends the loop from any thread; the microphone closes within one audio block."""
        self._closed.set()
        self._wake.set()
        self._stop_barge_in()

    # ----- one utterance ------------------------------------------------------------------------------------
    def _turn(self) -> bool:
        """Hears (or reads) one answer and hands it to the app; False when nothing came."""
        mode = self.app.listen_mode()
        if not self._typed:
            self._endpoint_at = None
            try:
                heard = self._hear(mode)
            except VoiceUnavailable as exc:
                self._go_typed(str(exc))
            else:
                if self._closed.is_set():
                    return False
                endpoint_at = self._endpoint_at or time.monotonic()
                if not heard.transcript:
                    self.turns.append(Turn("", "", mode, "voice", endpoint_at, endpoint_at,
                                           heard.decode_ms_after_end, heard.timed_out))
                    return False
                self._act(Turn(heard.transcript, "", mode, "voice", endpoint_at, 0.0, heard.decode_ms_after_end),
                          heard.transcript, heard)
                return True
        if self.fallback is None:
            self.close()
            return False
        line = self.fallback()
        if line is None:
            self.close()
            return False
        if not line.strip():
            return False
        self._act(Turn(line.strip(), "", mode, "typed", time.monotonic(), 0.0), line)
        return True

    def _act(self, turn: Turn, text: str, heard: Heard | None = None) -> None:
        self._answer_wanted.clear()
        if turn.source == "voice" and heard is not None and heard.hypotheses:
            result = self.app.handle_heard(heard.hypotheses, source="voice", confidence=heard.confidence,
                                           clear_at=heard.clear_at, repeat_below=heard.repeat_below)
        else:
            result = self.app.handle_text(text, source="typed" if turn.source == "typed" else "voice")
        done = Turn(turn.text, result.intent, turn.mode, turn.source, turn.endpoint_at, time.monotonic(),
                    turn.decode_ms_after_end, turn.timed_out)
        self.turns.append(done)

    def _go_typed(self, reason: str) -> None:
        """Says once that listening does not work here, and why; later answers are read as typed lines."""
        self._typed = True
        self._stop_barge_in()
        self._make_barge_in = None
        if self._told_unavailable and self.fallback is None:
            return  # said once for this companion: check-ins and sessions go on without listening
        self._told_unavailable = True
        reason = reason.strip().removesuffix(".").removesuffix(", or type instead")  # the line says so itself
        if not reason.endswith((".", "!", "?")):
            reason += "."
        self.app.say(self.app.lines.pick("listening_unavailable", reason=reason))
        self.app.wait_quiet()

    # ----- the microphone -----------------------------------------------------------------------------------
    def _recognizer(self, mode: str) -> Recognizer:
        from companion.speech.engines import open_recognizer
        from companion.speech.recognizer import OpenModeUnavailable, RecognizerError

        if mode not in self._recognizers:
            try:
                self._recognizers[mode] = open_recognizer(self.engine, mode)
            except OpenModeUnavailable as exc:
                self.notice(f"{exc}; listening for the companion's phrases instead")
                self._recognizers[mode] = self._recognizer("command")
            except RecognizerError as exc:
                raise VoiceUnavailable(str(exc)) from exc
        return self._recognizers[mode]

    def _hear_mic(self, mode: str) -> Heard:
        """`listen_once`, with the 'listening' notice given once the stream is really open (so a person, or a
        test feeding a virtual microphone, speaks only when it can be heard) and a close() that cuts it short."""
        from companion.speech import audio

        recognizer = self._recognizer(mode)
        if self._vad is None:
            self._vad = audio.make_vad()
        config = self.app.config.listening

        def partial(text: str) -> None:
            self.app.bus.emit(Event("caption", self.app.clock.now(),
                                    data={"who": "person", "text": text, "partial": True}))

        endpointer = audio.Endpointer(recognizer, trailing_silence=config.trailing_silence,
                                      no_speech_timeout=self.seconds or config.no_speech_timeout,
                                      max_seconds=self.seconds or 30.0, on_partial=partial, vad=self._vad)
        try:
            with audio.Microphone(self.device) as mic:
                self.app.mark_listening(True)
                if self.on_listening is not None:
                    self.on_listening(mode)
                for block in mic.blocks():
                    if self._closed.is_set():
                        break
                    if endpointer.feed(block):
                        self._endpoint_at = time.monotonic()
                        break
                return endpointer.finish()  # before closing the stream: the answer does not wait for it
        except audio.MicrophoneError as exc:
            raise VoiceUnavailable(str(exc)) from exc
        finally:
            if self.app.state == "listening":
                self.app.mark_listening(False)

    # ----- barge-in -----------------------------------------------------------------------------------------
    def _default_barge_in(self, on_word: Callable[[str], None]) -> BargeInLike:
        from companion.speech.audio import BargeIn

        return BargeIn(on_word, engine=self.engine, device=self.device, reference=self._reference)

    def _on_barge_word(self, word: str) -> None:
        self._barge_words.put(word)
        self._wake.set()

    def _start_barge_in(self) -> None:
        with self._barge_lock:
            if self._barge_running or self._make_barge_in is None or self._closed.is_set():
                return
            if self._barge is None:
                try:
                    self._barge = self._make_barge_in(self._on_barge_word)
                except Exception as exc:  # no recognizer for the barge-in words: sessions still run, unheard
                    self.notice(f"saying stop during speech will not work here: {exc}")
                    self._make_barge_in = None
                    return
            self._barge.start()
            self._barge_running = True

    def _stop_barge_in(self) -> None:
        with self._barge_lock:
            if self._barge is None or not self._barge_running:
                return
            self._barge_running = False
            self._barge.stop()
            if self._barge.error is not None:
                self.notice(f"saying stop during speech will not work here: {self._barge.error}")
                self._make_barge_in = None
