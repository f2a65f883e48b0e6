"""`companion talk` and `companion checkin`: the conversation by voice, in a terminal, with captions.

Arguments and printing only: listening is the voice loop's (companion.voice), meaning the router's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from companion.cli.exercise import app_for_terminal, number_type, open_events, wait_for_session_end
from companion.core.config import ENGINES

_seconds = number_type("seconds", float, 1, 120)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--silent", action="store_true", help="captions only, no speech")
    parser.add_argument("--events", metavar="FILE", type=Path,
                        help="write one JSON line per session event (t, planned, event, name, cycle…)")
    parser.add_argument("--seconds", type=_seconds, metavar="N",
                        help="give up listening after N seconds without speech (default: from config)")
    parser.add_argument("--engine", choices=ENGINES, help="recognizer (default: from config, usually auto)")
    parser.add_argument("--device", default=None, help="input device number or name (see `python -m sounddevice`)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("talk", help="say something to the companion (listens now, like the tray's Talk to me)",
                       description="Listens now and acts on what it hears, then keeps listening while the "
                       "conversation or the session it started waits for an answer. The microphone is open "
                       "only while listening; during a session only for the words stop and pause.")
    p.add_argument("--once", action="store_true",
                   help="hear one utterance only and act on it; a session it starts then runs to its end unheard")
    _common(p)
    p.set_defaults(func=cmd_talk)

    p = sub.add_parser("checkin", help="a spoken check-in now: how are you feeling?",
                       description="Asks how you are, listens, keeps the feeling in your history and offers "
                       "a fitting exercise. Without a microphone it reads your typed answers instead.")
    _common(p)
    p.set_defaults(func=cmd_checkin)


def _notice(message: str) -> None:
    print(f"companion: {message}", file=sys.stderr, flush=True)


def _listening(mode: str) -> None:
    what = "free speech" if mode == "open" else "the companion's phrases"
    print(f"companion: listening ({what})…", file=sys.stderr, flush=True)


def _typed() -> str | None:
    """The fallback without a microphone: one typed line (None at the end of input)."""
    if sys.stdin is None or sys.stdin.closed:
        return None
    if sys.stdin.isatty():
        print("you> ", end="", flush=True)
    try:
        line = sys.stdin.readline()
    except (OSError, ValueError):
        return None
    return line if line else None


def _forward(command: dict[str, Any], done: str) -> bool:
    """A running companion (the tray) owns the microphone and the voice: hand it the command."""
    try:
        from companion.instance import forward

        reply = forward(command)
    except (ImportError, OSError):
        return False
    if reply is None:
        return False
    print(f"companion: {done}" if reply.get("ok", True)
          else f"companion: {reply.get('error', 'the running companion could not do that.')}")
    return True


def cmd_talk(args: argparse.Namespace) -> int:
    if not args.silent and args.events is None and _forward({"cmd": "talk"}, "the running companion is listening."):
        return 0
    return _run(args, checkin=False)


def cmd_checkin(args: argparse.Namespace) -> int:
    if not args.silent and args.events is None and _forward({"cmd": "check_in"},
                                                           "the running companion is checking in."):
        return 0
    return _run(args, checkin=True)


def _run(args: argparse.Namespace, *, checkin: bool) -> int:
    device: int | str | None = args.device
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    writer = open_events(args.events)
    from companion.voice import VoiceLoop

    app = app_for_terminal(silent=args.silent, writer=writer)
    loop: Any = VoiceLoop(app, engine=args.engine, device=device, seconds=args.seconds, fallback=_typed,
                          on_listening=_listening, notice=_notice)
    try:
        if checkin:
            app.check_in(source="voice")
            loop.run(listen_first=False)
        else:
            if app.greet(returning_only=True, source="voice"):  # a returning person: welcomed back, as in chat
                app.wait_quiet()
            loop.run(once=args.once)
            if args.once:  # act on that one utterance: a session it started runs to its end
                wait_for_session_end(app)
        if not any(t.text for t in loop.turns) and not checkin:
            print("companion: nothing heard.", file=sys.stderr)
        app.wait_quiet()
        return 0
    except KeyboardInterrupt:
        loop.close()
        stopped = app.stop("interrupted")
        print("\ncompanion: stopped" + ("; the session is saved as not completed." if stopped else "."),
              file=sys.stderr)
        return 130
    finally:
        loop.close()
        app.close()
        if writer is not None:
            writer.close()
