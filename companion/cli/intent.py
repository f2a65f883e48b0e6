"""`companion intent`: what the companion understands from a sentence, for people checking phrasings and for
scripts (`--json --stdin` answers one JSON line per input line). It must never stop on bad input, and keeps
its import path light: the router loads only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "intent", help="show how a sentence is understood (intent, confidence, slots)",
        description="Show how the companion understands a sentence. With --stdin, one sentence per line.")
    p.add_argument("text", nargs="*", help="the sentence (quote it or not)")
    p.add_argument("--json", action="store_true", help="print one JSON object per sentence")
    p.add_argument("--stdin", action="store_true", help="read one sentence per line from standard input")
    p.set_defaults(func=run)


def _clean(text: str) -> str:
    """Valid Unicode text whatever came in (undecodable bytes become U+FFFD), without line endings."""
    return text.encode("utf-8", "replace").decode("utf-8", "replace").rstrip("\r\n")


def _show(result: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(result.to_json(), ensure_ascii=False)
    slots = " ".join(f"{k}={v}" for k, v in result.slots.items())
    return f"{result.intent}\t{result.confidence:.2f}\t{slots}".rstrip()


def run(args: argparse.Namespace) -> int:
    if args.stdin and args.text:
        print("companion intent: give either TEXT or --stdin, not both.", file=sys.stderr)
        return 2
    if not args.stdin and not args.text:
        print("companion intent: give a sentence, e.g. "
              "`companion intent \"box breathing for three minutes\"`, "
              "or --stdin to read one per line.", file=sys.stderr)
        return 2
    from companion.core.router import get_router

    router = get_router()
    if not args.stdin:
        print(_show(router.route(_clean(" ".join(args.text))), args.json), flush=True)
        return 0
    for raw in iter(sys.stdin.buffer.readline, b""):
        text = _clean(raw.decode("utf-8", "replace"))
        try:
            result = router.route(text)
        except Exception as exc:  # one bad line must not end the stream
            print(f"companion intent: could not route a line ({exc.__class__.__name__}); answered unknown",
                  file=sys.stderr)
            from companion.core.intent import IntentResult

            result = IntentResult(text, "unknown", 0.0, {})
        sys.stdout.write(_show(result, args.json) + "\n")
        sys.stdout.flush()
    return 0
