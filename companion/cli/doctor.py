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
    """The voices speech out can use (system voices, then Piper voices), for `name` in the [voice] section of
    config.toml and for `companion say --voice`."""
    from companion.doctor import voice_list

    found, notes = voice_list()
    if as_json:
        print(json.dumps(found, indent=2))
        return 0 if found else 1
    for voice in found:
        where = f"  [{voice['source']}]" if voice.get("source") else ""
        print(f"{voice['id']:<28} {voice['engine']:<10} {voice['name']:<32} "
              f"{', '.join(voice['languages'])}{where}")
    for note in notes:
        print(f"companion: {note}")
    piper = [v["id"] for v in found if v["engine"] == "piper"]
    example = piper[0] if piper else (found[0]["id"] if found else "en-us")
    print(f"\n{len(found)} voices ({len(piper)} Piper). Put an id in config.toml, e.g. [voice] name = "
          f"\"{example}\", or try one: companion say \"Breathe in slowly.\" --voice {example}")
    return 0 if found else 1
