"""`companion autostart on|off|status`: start the companion's tray when you log in, or stop doing so.

Arguments and output only (companion.desktop.autostart writes the entry); never prints a traceback for a
folder it cannot write.
"""

from __future__ import annotations

import argparse
import shlex

from companion.desktop.autostart import PLATFORMS, AutostartError, disable, enable, status

WHERE = {
    "linux": "your desktop's autostart folder",
    "win32": "your Windows Startup folder",
    "darwin": "your LaunchAgents (macOS)",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "autostart", help="start the companion when you log in (on | off | status)",
        description="Adds or removes one small entry that starts the companion's tray icon at login. "
        "Only your own account is changed; no admin rights are needed.")
    parser.add_argument("action", choices=("on", "off", "status"), help="on: start at login; off: stop; "
                        "status: show what is set")
    # For tests and packagers: write another platform's entry (normally chosen from this computer).
    parser.add_argument("--platform", choices=PLATFORMS, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=cmd_autostart)


def cmd_autostart(args: argparse.Namespace) -> int:
    try:
        if args.action == "on":
            path = enable(args.platform)
            state = status(args.platform)
            print(f"The companion will start when you log in ({WHERE[state.platform]}).")
            print(f"Wrote {path}")
            print("Turn it off with: companion autostart off")
            return 0
        if args.action == "off":
            removed = disable(args.platform)
            if removed is None:
                print("Autostart was already off; nothing to remove.")
            else:
                print(f"Autostart is off. Removed {removed}")
            return 0
        state = status(args.platform)
    except AutostartError as exc:
        print(f"Autostart: {exc}")
        return 1
    if not state.enabled:
        print(f"Autostart is off (no entry at {state.path}). Turn it on with: companion autostart on")
        return 0
    started = shlex.join(state.command) if state.command else "(could not read the command)"
    print(f"Autostart is on: {state.path}")
    print(f"It starts: {started}")
    if not state.current:
        print("That is not this installation's command; run 'companion autostart on' to update it.")
    return 0
