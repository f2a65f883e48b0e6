"""Command line: arguments only. Each command group lives in its own module and calls into the app or core.

`companion` with no command starts the tray when a display is available, otherwise the terminal chat.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from companion import __version__

# Each module defines register(subparsers) and sets `func(args) -> int` on its parsers.
COMMAND_MODULES: tuple[str, ...] = (
    "companion.cli.exercise",   # breathe, ground, compassion, journal, say, chat
    "companion.cli.data",       # history, export, forget
    "companion.cli.doctor",     # doctor
    "companion.cli.intent",     # intent
    "companion.cli.listen",     # listen
    "companion.cli.talk",       # talk, checkin (by voice)
    "companion.cli.model",      # model download/install/list/remove
    "companion.cli.desktop",    # tray
    "companion.cli.autostart",  # autostart on|off
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="companion",
        description="A voice-first, offline companion for breathing, grounding and small steps. "
        "It is not therapy and not a crisis service.",
    )
    parser.add_argument("--version", action="version", version=f"companion {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command group not built yet must not break the others
        module.register(sub)
    return parser


def default_command() -> list[str]:
    """The tray where a desktop is there to host it, the terminal conversation elsewhere."""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return ["tray"]
    return ["chat"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not [a for a in argv if not a.startswith("-")] and not {"-h", "--help", "--version"} & set(argv):
        argv += default_command()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
