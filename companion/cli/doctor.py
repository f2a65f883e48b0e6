"""`companion doctor`: prints what works on this computer and the fix for each missing part.

Arguments and output only (the checks live in companion.doctor); it exits 0 when optional parts are missing.
"""

from __future__ import annotations

import argparse
import json

from companion.doctor import MISSING, OK, WARN, run_checks


def register(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="check speech, audio, desktop, recognizers, config and data",
        description="Checks what works here and what is missing, with the fix for each. "
        "Lines: ✓ works, ✗ missing (with a fix), ! works partly or could not be checked.")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.add_argument("--voices", action="store_true", help="list the voice ids [voice] name accepts")
    doctor.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    if args.voices:
        return list_voices(as_json=args.json)
    if not args.json:
        print("Checking this computer (a few seconds)...", flush=True)
    checks = run_checks()
    if args.json:
        print(json.dumps({"checks": [c.to_json() for c in checks]}, indent=2, ensure_ascii=False))
        return 0
    for check in checks:
        print(check.render())
    counts = {status: sum(1 for c in checks if c.status == status) for status in (OK, MISSING, WARN)}
    print(f"\n{counts[OK]} working, {counts[MISSING]} missing, {counts[WARN]} to look at. "
          "Missing parts are optional: companion uses what is there.")
    return 0


def list_voices(*, as_json: bool) -> int:
    """The voices speech out can use, for `name` in the [voice] section of config.toml."""
    try:
        from companion.speech.tts import list_voices as voices
    except ImportError as exc:
        print(f"companion: speech output is not available: {exc}")
        return 1
    try:
        found = voices()
    except (RuntimeError, OSError) as exc:
        print(f"companion: could not list voices: {exc}")
        return 1
    if as_json:
        print(json.dumps([{"id": v.id, "name": v.name, "languages": list(v.languages)} for v in found], indent=2))
        return 0
    for voice in found:
        print(f"{voice.id:<28} {voice.name:<32} {', '.join(voice.languages)}")
    example = found[0].id if found else "en-us"
    print(f"\n{len(found)} voices. Put an id in config.toml, e.g. [voice] name = \"{example}\"")
    return 0
