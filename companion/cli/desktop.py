"""`companion tray` (or `companion desktop`): the desktop companion (tray icon, hotkey, companion window,
check-ins) in one process.

Arguments only: a second launch tells the running one to show itself, prints one line and exits 0; the shell
does the rest. It never starts a second companion beside a running one.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tray", aliases=["desktop"],
                       help="run in the system tray with the global hotkey and the companion window")
    p.add_argument("--silent", action="store_true", help="captions only, no speech")
    p.add_argument("--no-hotkey", action="store_true", help="do not grab the global hotkey")
    p.add_argument("--no-pacer", action="store_true", help="no breathing window")
    p.add_argument("--no-tray", action="store_true", help="no tray icon (hotkey and window only)")
    p.add_argument("--no-checkins", action="store_true", help="no scheduled check-ins in this run")
    p.add_argument("--events", metavar="FILE", type=Path, help="write one JSON line per event")
    p.add_argument("--captions", action="store_true", help="also print what the companion says in this terminal")
    p.add_argument("--pacer-log", metavar="FILE", type=Path, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_tray)


def _notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cmd_tray(args: argparse.Namespace) -> int:
    launched = time.monotonic()
    from companion.desktop import message
    from companion.instance import AlreadyRunning, forward

    reply = forward({"cmd": "show"})
    if reply is not None and reply.get("ok"):
        print(message("already_running", action="show itself"))
        return 0
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        _notice(message("no_display"))
        return 1
    from companion.desktop.shell import DesktopShell, ShellOptions

    options = ShellOptions(tray=not args.no_tray, hotkey=not args.no_hotkey, pacer=not args.no_pacer,
                           scheduler=not args.no_checkins, pacer_log=args.pacer_log)

    def make_app() -> Any:
        from companion.app import create_app

        app = create_app(silent=args.silent, notice=_notice)
        if args.events:
            _write_events(app, args.events)
        if args.captions:  # the window shows every line; this copies them to the terminal too
            from companion.cli.exercise import CaptionPrinter

            app.bus.subscribe(CaptionPrinter(sys.stdout))
        return app

    shell = DesktopShell(make_app, options=options, notice=_notice, launched=launched)
    try:
        shell.start()
    except AlreadyRunning:
        shell.close()
        forward({"cmd": "show"})
        print(message("already_running", action="show itself"))
        return 0
    except OSError as exc:  # the runtime dir is not ours / not writable
        shell.close()
        _notice(f"The companion cannot start its single-instance socket: {exc}. "
                "Fix: set COMPANION_RUNTIME_DIR to a directory only you can write to.")
        return 1
    _notice(message("running"))
    return shell.run()


def _write_events(app: Any, path: Path) -> None:
    """Appends every bus event as a JSON line (flushed, so tests and the benchmark can follow along)."""
    import json

    f = path.open("a", encoding="utf-8")

    def write(event: Any) -> None:
        f.write(json.dumps({**event.to_json(), "mono": round(time.monotonic(), 4)}) + "\n")
        f.flush()

    app.bus.subscribe(write)
