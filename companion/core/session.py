"""Runs one exercise as a timeline on an injected clock: speaks, paces breathing, asks and listens, records.

Must never sleep after speaking: every phase is due at an absolute offset from the start, so speech never
accumulates drift.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from companion.core.clock import Clock
from companion.core.events import Event, EventBus
from companion.core.exercises import (
    END_TARGET,
    AskStep,
    BreatheStep,
    Exercise,
    GotoStep,
    PauseStep,
    RecordStep,
    SayStep,
    Step,
)
from companion.core.ports import Speaker, Utterance

log = logging.getLogger(__name__)

PACE_STEP = 1.15  # slower / faster change the pace by 15%
PACE_MIN = 0.5
PACE_MAX = 2.0
MAX_PAUSE_SECONDS = 3600.0  # a session left paused this long ends (reason "stopped")
MAX_STEPS_RUN = 10_000  # guards against a script that loops forever without waiting
#: A line said just before breathing starts (a pattern's few-word intro) is waited for at most this long, fixed
#: plus per word: a voice that is slow to start under load must not hold back the first guided breath (goal: within
#: 2 s of the hotkey); the first cue then cuts what is left of it, and the window has shown it already.
LEAD_IN_WAIT = (0.5, 0.45)
CONTROL_ANSWERS = frozenset({"pause", "resume", "repeat", "slower", "faster"})


@dataclass(frozen=True)
class SessionOptions:
    """How the person asked for it: a length (minutes or cycles), a pace (1.0 = as written; higher is
    faster) and, for reframe, their own sentence."""

    minutes: float | None = None
    cycles: int | None = None
    pace: float = 1.0
    thought: str | None = None

    def __post_init__(self) -> None:
        if self.minutes is not None and (isinstance(self.minutes, bool)
                                         or not isinstance(self.minutes, int | float)
                                         or not 0 < self.minutes <= 120):
            raise ValueError(f"minutes must be more than 0 and at most 120, got {self.minutes!r}")
        if self.cycles is not None and (isinstance(self.cycles, bool) or not isinstance(self.cycles, int)
                                        or not 1 <= self.cycles <= 500):
            raise ValueError(f"cycles must be a whole number from 1 to 500, got {self.cycles!r}")
        if self.minutes is not None and self.cycles is not None:
            raise ValueError("give either minutes or cycles, not both")
        if isinstance(self.pace, bool) or not isinstance(self.pace, int | float) \
                or not PACE_MIN <= self.pace <= PACE_MAX:
            raise ValueError(f"pace must be from {PACE_MIN} to {PACE_MAX} (1.0 is as written), "
                             f"got {self.pace!r}")
        if self.thought is not None and not isinstance(self.thought, str):
            raise ValueError(f"thought must be text, got {self.thought!r}")


@dataclass(frozen=True)
class AskSpec:
    """What a pending question is waiting for: `mode` "command" (one of `expecting`) or "open" (any text)."""

    mode: str
    expecting: frozenset[str]
    timeout: float


@dataclass(frozen=True)
class SessionResult:
    exercise_id: str
    completed: bool
    reason: str  # finished | stopped | crisis | error
    duration: float
    records: tuple[dict[str, Any], ...]


def _nothing() -> None:
    """A repeat that needs no action (the line is about to be said anyway)."""


class _Stopped(Exception):
    """Unwinds the runner when stop() was called."""


class _Vars(dict):
    """Template values; a name not set yet reads as empty text."""

    def __missing__(self, key: str) -> str:
        return ""


class Session:
    """One run of one exercise. `run()` blocks (call it in a thread); the control methods are thread-safe."""

    def __init__(self, exercise: Exercise, *, clock: Clock, bus: EventBus, speaker: Speaker,
                 options: SessionOptions | None = None, rng: random.Random | None = None) -> None:
        self.exercise = exercise
        self._clock = clock
        self._bus = bus
        self._speaker = speaker
        self._options = options or SessionOptions()
        self._rng = rng or random.Random()

        self._lock = threading.Lock()
        self._wake = threading.Event()  # set by every control call; the runner re-checks its state
        self._commands: deque[tuple[Any, ...]] = deque()
        self._stop_reason: str | None = None
        self._paused = False
        self._running = False
        self._started = False
        self._asking: AskSpec | None = None
        self._pace = float(self._options.pace)

        # Runner-only state (touched by the run() thread alone).
        self._t0 = 0.0
        self._shift = 0.0  # total paused time: pushes every later deadline back
        self._planned = 0.0  # active-time offset of the next scheduled moment
        self._pause_began: float | None = None
        self._last_line: str | None = None
        self._last_variant: dict[Any, str] = {}
        self._records: list[dict[str, Any]] = []
        self._vars = _Vars()
        if self._options.thought and self._options.thought.strip():
            self._vars["thought"] = " ".join(self._options.thought.split())

    # --------------------------------------------------------------------------------- control (any thread)

    @property
    def running(self) -> bool:
        with self._lock:
            return self._running

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    @property
    def awaiting(self) -> AskSpec | None:
        with self._lock:
            return self._asking

    @property
    def pace(self) -> float:
        with self._lock:
            return self._pace

    def stop(self, reason: str = "stopped") -> None:
        """Ends the session at once and silences the speaker."""
        with self._lock:
            if self._started and not self._running:
                return  # already over: the voice may be saying something else by now
            if self._stop_reason is None:
                self._stop_reason = reason
            self._asking = None
        self._speaker.stop()
        self._wake.set()

    def pause(self) -> None:
        with self._lock:
            if self._paused or self._stop_reason is not None or not self._running:
                return
            self._paused = True
            self._commands.append(("pause", self._clock.now()))
        self._speaker.stop()
        self._wake.set()

    def resume(self) -> None:
        with self._lock:
            if not self._paused:
                return
            self._paused = False
            self._commands.append(("resume", self._clock.now()))
        self._wake.set()

    def repeat(self) -> None:
        """Says the last line again (in a question: asks again and restarts its timeout)."""
        self._command("repeat")

    def slower(self) -> None:
        """15% slower, from the next phase on."""
        self._set_pace(self._pace_value() / PACE_STEP)

    def faster(self) -> None:
        """15% faster, from the next phase on."""
        self._set_pace(self._pace_value() * PACE_STEP)

    def answer(self, text: str, intent: str | None = None) -> bool:
        """Hands the person's (already routed) answer to the pending question; False when nothing is asked."""
        if intent in CONTROL_ANSWERS:
            with self._lock:
                asking = self._asking is not None
            if asking:
                getattr(self, intent)()
            return asking
        with self._lock:
            if self._asking is None or self._stop_reason is not None:
                return False
            self._asking = None
            self._commands.append(("answer", text, intent))
            was_paused = self._paused
        if was_paused:
            self.resume()  # answering means the person is back
        if intent == "crisis":
            self.stop("crisis")
            return True
        self._speaker.stop()  # the person spoke over the question: stop talking and listen
        self._wake.set()
        return True

    def _pace_value(self) -> float:
        with self._lock:
            return self._pace

    def _set_pace(self, pace: float) -> None:
        with self._lock:
            self._pace = min(PACE_MAX, max(PACE_MIN, pace))

    def _command(self, name: str) -> None:
        with self._lock:
            if self._stop_reason is not None or not self._running:
                return
            self._commands.append((name,))
        if name == "repeat":
            self._speaker.stop()
        self._wake.set()

    # ------------------------------------------------------------------------------------ the runner

    def run(self) -> SessionResult:
        with self._lock:
            if self._started:
                raise RuntimeError("a Session runs once; make a new one to run the exercise again")
            self._started = True
            self._running = True
        self._t0 = self._clock.now()
        self._emit("start", exercise=self.exercise.id, title=self.exercise.title, kind=self.exercise.kind)
        reason = "finished"
        try:
            self._check()
            self._run_steps()
        except _Stopped:
            reason = self._stop_reason or "stopped"
        except Exception:
            log.exception("exercise %s failed", self.exercise.id)
            reason = "error"
        finally:
            with self._lock:
                self._asking = None
        if reason != "finished":
            try:
                self._speaker.stop()
            except Exception:
                log.exception("speaker.stop failed")
        completed = reason == "finished"
        duration = self._clock.now() - self._t0
        self._emit("end", completed=completed, reason=reason)
        with self._lock:
            self._running = False
        return SessionResult(self.exercise.id, completed, reason, duration, tuple(self._records))

    def _run_steps(self) -> None:
        steps = self.exercise.steps
        i = 0
        count = 0
        while i < len(steps):
            count += 1
            if count > MAX_STEPS_RUN:
                raise RuntimeError(f"{self.exercise.id} ran {MAX_STEPS_RUN} steps; does a goto loop forever?")
            step = steps[i]
            self._check()
            if not self._applies(step):
                i += 1
                continue
            target: str | None = None
            if isinstance(step, SayStep):
                self._say_step(i, step)
            elif isinstance(step, PauseStep):
                self._planned += step.seconds / self._pace_value()
                self._wait_planned()
            elif isinstance(step, BreatheStep):
                self._breathe(i, step)
            elif isinstance(step, AskStep):
                target = self._ask(i, step)
            elif isinstance(step, RecordStep):
                self._record(step)
            elif isinstance(step, GotoStep):
                target = step.to
            if target == END_TARGET:
                return
            i = self.exercise.label_index(target) if target else i + 1

    def _applies(self, step: Step) -> bool:
        if step.when and not self._vars.get(step.when):
            return False
        return not (step.unless and self._vars.get(step.unless))

    # ------------------------------------------------------------------------------------ time

    def _offset(self) -> float:
        return self._clock.now() - self._t0

    def _anchor(self) -> None:
        """After something that took as long as it took (speech, an answer), the timeline goes on from now."""
        self._planned = max(self._planned, self._offset() - self._shift)

    def _due(self) -> float:
        return self._shift + self._planned

    def _wait_planned(self, on_repeat: Callable[[], None] | None = None,
                      on_resume: Callable[[], None] | None = None) -> None:
        """Waits until the timeline reaches `_planned`, handling control requests; pauses push it back."""
        while True:
            self._check()
            self._handle_commands(on_repeat=on_repeat, on_resume=on_resume)
            if self._pause_began is not None:
                self._wait_while_paused()
                continue
            if not self._clock.wait_until(self._t0 + self._due(), self._wake):
                self._check()
                return
            self._wake.clear()

    def _wait_while_paused(self) -> None:
        limit = self._t0 + (self._pause_began or 0.0) + MAX_PAUSE_SECONDS
        if self._clock.wait_until(limit, self._wake):
            self._wake.clear()
            return
        self.stop("stopped")
        self._check()

    def _check(self) -> None:
        with self._lock:
            if self._stop_reason is not None:
                raise _Stopped

    def _handle_commands(self, *, on_repeat: Callable[[], None] | None = None,
                         on_resume: Callable[[], None] | None = None,
                         answers: list[tuple[str, str | None]] | None = None) -> None:
        """Applies queued requests in order. Answers go to `answers` (or stay queued for the question)."""
        kept: list[tuple[Any, ...]] = []
        while True:
            with self._lock:
                if not self._commands:
                    break
                cmd = self._commands.popleft()
            name = cmd[0]
            if name == "pause" and self._pause_began is None:
                self._pause_began = cmd[1] - self._t0
                self._emit("pause", t=self._pause_began)
            elif name == "resume" and self._pause_began is not None:
                resumed = cmd[1] - self._t0
                self._shift += max(0.0, resumed - self._pause_began)
                self._pause_began = None
                self._emit("resume", t=resumed)
                if on_resume:
                    on_resume()
            elif name == "repeat":
                if self._pause_began is not None:
                    continue  # nothing is said while paused
                if on_repeat:
                    on_repeat()
                elif self._last_line:
                    self._cue(self._last_line, None)
            elif name == "answer":
                if answers is not None:
                    answers.append((cmd[1], cmd[2]))
                else:
                    kept.append(cmd)
        if kept:
            with self._lock:
                self._commands.extendleft(reversed(kept))

    def _settle(self) -> None:
        """Before saying anything: applies requests and waits out a pause (nothing is said while paused)."""
        while True:
            self._check()
            self._handle_commands(on_repeat=_nothing)
            if self._pause_began is None:
                return
            self._wait_while_paused()

    # ------------------------------------------------------------------------------------ speech

    def _pick(self, key: Any, variants: tuple[str, ...]) -> str:
        """A variant, never the same one twice in a row for the same line; placeholders filled in."""
        choices = [v for v in variants if v != self._last_variant.get(key)] or list(variants)
        text = self._rng.choice(choices)
        self._last_variant[key] = text
        return " ".join(text.format_map(self._vars).split())

    def _say_blocking(self, text: str, limit: float | None = None) -> None:
        """Says a line and waits for it (at most `limit` seconds when given); a pause or repeat cuts it, and it is
        said again afterwards."""
        while True:
            self._settle()
            self._last_line = text
            self._emit("say", text=text)
            self._wait_utterance(self._speaker.say(text), text, limit)
            self._check()
            with self._lock:
                interrupted = any(c[0] in ("repeat", "pause") for c in self._commands)
            if not interrupted:
                self._anchor()
                return

    def _wait_utterance(self, utterance: Utterance, text: str, limit: float | None = None) -> None:
        if limit is None:  # generous bound so a stuck voice never hangs the session: about 2 words a second + 10 s
            limit = 10.0 + len(text.split()) / 2.0
        try:
            utterance.wait(limit)
        except Exception:
            log.exception("waiting for speech failed")

    def _cue(self, text: str, planned: float | None) -> None:
        """Says a line without waiting; a previous cue still playing is cut so audio never lags."""
        self._last_line = text
        if self._speaker.speaking:
            self._speaker.stop()
        self._emit("say", planned=planned, text=text)
        self._speaker.say(text)

    def _say_step(self, index: int, step: SayStep) -> None:
        self._anchor()
        text = self._pick(index, step.text)
        limit = None
        if self._breathing_follows(index):
            fixed, per_word = LEAD_IN_WAIT
            limit = fixed + per_word * len(text.split())
        self._say_blocking(text, limit)

    def _breathing_follows(self, index: int) -> bool:
        """The next step that applies is breathing (this line leads into it)."""
        for step in self.exercise.steps[index + 1:]:
            if self._applies(step):
                return isinstance(step, BreatheStep)
        return False

    # ------------------------------------------------------------------------------------ steps

    def _breathe(self, index: int, step: BreatheStep) -> None:
        self._anchor()
        start = self._planned
        cycles_target = self._options.cycles
        minutes_target = self._options.minutes
        if cycles_target is None and minutes_target is None:
            cycles_target, minutes_target = step.cycles, step.minutes
        cycle = 0
        while True:
            cycle += 1
            pace = self._pace_value()
            if cycles_target is not None:
                if cycle > cycles_target:
                    break
            elif cycle > 1:
                # Whole cycles only; start another when that lands nearer the requested length.
                elapsed = self._planned - start
                if elapsed + step.cycle_seconds / pace / 2 > (minutes_target or 0) * 60:
                    break
            cycle_start = self._planned
            for n, phase in enumerate(step.phases):
                self._wait_planned(on_repeat=self._repeat_cue, on_resume=self._repeat_cue)
                pace = self._pace_value()
                seconds = phase.seconds / pace
                due = self._due()
                total = self._planned_cycles(cycle, cycle_start - start, step.cycle_seconds / pace,
                                             cycles_target, minutes_target)
                left = (total - cycle) * step.cycle_seconds / pace \
                    + sum(p.seconds for p in step.phases[n:]) / pace
                self._emit("phase", planned=due, name=phase.name, cycle=cycle, seconds=round(seconds, 4),
                           cycles=total, left=round(left, 1))
                variants = phase.first_cue if cycle == 1 and phase.first_cue else phase.cue
                if variants:
                    self._cue(self._pick((index, n, variants is phase.first_cue), variants), due)
                else:
                    self._last_line = None
                self._planned += seconds
        self._wait_planned(on_repeat=self._repeat_cue, on_resume=self._repeat_cue)

    @staticmethod
    def _planned_cycles(cycle: int, elapsed: float, cycle_seconds: float, cycles_target: int | None,
                        minutes_target: float | None) -> int:
        """How many cycles the session will breathe at the present pace (`elapsed`: breathing time before
        this cycle), by the same rule the loop uses to decide whether to start another."""
        if cycles_target is not None:
            return cycles_target
        more = int((((minutes_target or 0) * 60) - elapsed - cycle_seconds / 2) // cycle_seconds)
        return cycle + max(0, more)

    def _repeat_cue(self) -> None:
        if self._last_line:
            self._cue(self._last_line, None)

    def _ask(self, index: int, step: AskStep) -> str | None:
        """Asks, listens until an answer or the timeout, and returns the branch target (or None: go on)."""
        self._anchor()
        question = self._pick(index, step.text)
        self._vars["prompt"] = question
        self._vars["answer"] = ""
        branch_intents = {k for k, _ in step.branches if k not in ("other", "timeout")}
        expecting = frozenset(step.expect) | branch_intents | {"next"}
        spec = AskSpec(mode=step.mode, expecting=frozenset(expecting), timeout=step.timeout)
        with self._lock:
            self._asking = spec  # answers spoken over the question count
        answers: list[tuple[str, str | None]] = []
        self._listen(question, step)
        while not answers:
            self._check()
            self._handle_commands(answers=answers, on_repeat=lambda: self._listen(question, step),
                                  on_resume=lambda: self._listen(question, step))
            if answers:
                break
            if self._pause_began is not None:
                self._wait_while_paused()
                continue
            if not self._clock.wait_until(self._t0 + self._due(), self._wake):
                self._check()
                self._handle_commands(answers=answers)
                if answers:
                    break
                with self._lock:
                    self._asking = None
                self._anchor()
                return step.branch("timeout")
            self._wake.clear()
        with self._lock:
            self._asking = None
        self._anchor_now()
        text, intent = answers[0]
        text = " ".join((text or "").split())
        self._emit("heard", text=text, intent=intent)
        if intent == "next":
            return step.branch("next")
        if intent == "stop" and not step.branch("stop"):
            self.stop("stopped")
            self._check()
        self._vars["answer"] = text
        if step.save_as:
            self._vars[step.save_as] = text
        if intent and step.branch(intent):
            return step.branch(intent)
        return step.branch("other")

    def _listen(self, question: str, step: AskStep) -> None:
        """(Re)asks the question and restarts the timeout from when it was said."""
        self._settle()
        self._last_line = question
        self._emit("say", text=question)
        self._wait_utterance(self._speaker.say(question), question)
        self._anchor_now()
        with self._lock:
            answered = any(c[0] == "answer" for c in self._commands)
        if not answered:
            self._emit("listen", timeout=step.timeout, mode=step.mode)
        self._planned += step.timeout

    def _anchor_now(self) -> None:
        self._planned = self._offset() - self._shift

    def _record(self, step: RecordStep) -> None:
        text = " ".join(step.text.format_map(self._vars).split())
        if not text:
            return  # nothing was said: nothing to keep
        record: dict[str, Any] = {"kind": step.kind, "text": text}
        for key in ("prompt", "thought"):
            template = getattr(step, key)
            if template:
                record[key] = " ".join(template.format_map(self._vars).split())
        record["exercise"] = self.exercise.id
        self._records.append(record)
        self._emit("record", **record)

    # ------------------------------------------------------------------------------------ events

    def _emit(self, event: str, *, t: float | None = None, planned: float | None = None, **data: Any) -> None:
        self._bus.emit(Event(event, self._offset() if t is None else t, planned, data))
