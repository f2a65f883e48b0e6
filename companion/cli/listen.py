"""`companion listen`: one utterance from a WAV file or the microphone → transcript → intent, as text or JSON.
Arguments and printing only; listening lives in companion.speech, meaning in the router."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from typing import Any

from companion.core.config import ENGINES
from companion.speech.recognizer import MODES

EXIT_OK, EXIT_INPUT, EXIT_RECOGNIZER, EXIT_MIC = 0, 2, 3, 4

EPILOG = """exit status: 0 heard (silence too: transcript "" and intent unknown), 2 unreadable input file,
3 recognizer or model problem, 4 microphone problem"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("listen", help="hear one utterance (WAV file or microphone) and show its intent",
                              description="Hear one utterance and show what it means. The microphone is open "
                              "only while listening.", epilog=EPILOG)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", metavar="IN.wav", help="a WAV file (any rate, channels, 8-32 bit PCM)")
    src.add_argument("--mic", action="store_true", help="one live utterance from the microphone")
    p.add_argument("--seconds", type=float, default=None, metavar="N",
                   help="with --mic: give up after N seconds without speech and cut an utterance at N seconds")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto: Whisper or Vosk when its model is installed, else the built-in PocketSphinx")
    p.add_argument("--mode", choices=MODES, default="open",
                   help="open: free speech (default); dictation: free speech kept as said (general language "
                        "first); command: only the companion's own phrases")
    p.add_argument("--model", metavar="DIR", help="a Vosk or Whisper model folder instead of the installed one")
    p.add_argument("--device", default=None, help="input device number or name (see `python -m sounddevice`)")
    p.add_argument("--trailing-silence", type=float, default=0.6, metavar="S",
                   help="silence that ends an utterance (default 0.6 s)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _fail(message: str, code: int) -> int:
    print(f"companion listen: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from companion.speech import audio
    from companion.speech.engines import open_recognizer
    from companion.speech.recognizer import RecognizerError

    if args.seconds is not None and args.seconds <= 0:
        return _fail("--seconds must be more than 0", EXIT_INPUT)
    if args.file:  # check the input before loading a model: a typo should not cost seconds
        try:
            next(audio.iter_wav(args.file, block_s=0.01), None)
        except audio.AudioFileError as exc:
            return _fail(str(exc), EXIT_INPUT)
    try:
        recognizer = open_recognizer(args.engine, args.mode, model_dir=Path(args.model) if args.model else None)
    except RecognizerError as exc:
        return _fail(str(exc), EXIT_RECOGNIZER)
    device: int | str | None = args.device
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    try:
        if args.file:
            heard = audio.decode_file(args.file, recognizer, trailing_silence=args.trailing_silence)
        else:
            limit = args.seconds if args.seconds is not None else None
            heard = audio.listen_once(recognizer, trailing_silence=args.trailing_silence,
                                      no_speech_timeout=limit or 8.0, max_seconds=limit or 30.0, device=device)
    except audio.AudioFileError as exc:
        return _fail(str(exc), EXIT_INPUT)
    except audio.MicrophoneError as exc:
        return _fail(str(exc), EXIT_MIC)
    if heard.clipped:
        print("companion listen: the recording is clipped (too loud), which hurts recognition: lower the input "
              "level or move back from the microphone", file=sys.stderr)
    if heard.capped:
        print("companion listen: the utterance was cut at its length limit", file=sys.stderr)
    result = route(heard.transcript, heard.hypotheses, engine_confidence=heard.confidence, clear_at=heard.clear_at,
                   repeat_below=heard.repeat_below)
    out = {"transcript": heard.transcript, "intent": result["intent"], "confidence": result["confidence"],
           "slots": result["slots"], "decision": result["decision"], "understood": result["understood"],
           "risk_heard": result["risk_heard"], "hypotheses": [h.text for h in heard.hypotheses],
           "engine": recognizer.name, "speech_end_s": heard.speech_end_s,
           "decode_ms_after_end": heard.decode_ms_after_end}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    elif heard.timed_out or not heard.transcript:
        print("(nothing understood)" if not heard.timed_out else "(no speech heard)")
    else:
        slots = " ".join(f"{k}={v}" for k, v in out["slots"].items())
        print(f"heard: {heard.transcript}\nintent: {out['intent']} ({out['confidence']:.2f}) {slots}".rstrip())
        if out["understood"] != heard.transcript:
            print(f"read as: {out['understood']}")
        if out["decision"] != "act" or out["risk_heard"]:
            print("the companion would " + ("ask gently whether you are safe" if out["risk_heard"] else
                                           "ask: did you mean that?" if out["decision"] == "confirm" else
                                           "ask you to say it again"))
    return EXIT_OK


def route(transcript: str, readings: Sequence[Any] = (), *, engine_confidence: float = 1.0, clear_at: float = 0.0,
          repeat_below: float | None = None) -> dict[str, Any]:
    """What the companion makes of an utterance, decided as the app decides it (the engine's own confidence and its
    calibrated points, as `audio.Heard` carries them): the best-supported reading (companion.core.understanding),
    its intent and slots, and the decision: act, confirm (a doubtful risky action) or repeat (ask again)."""
    if not transcript.strip():
        return {"intent": "unknown", "confidence": 0.0, "slots": {}, "decision": "repeat", "understood": "",
                "risk_heard": False}
    from companion.core.router import get_router
    from companion.core.understanding import understand
    from companion.speech.recognizer import Hypothesis

    router = get_router()
    understood = understand(tuple(readings) or (Hypothesis(transcript),), router.route,
                            engine_confidence=engine_confidence, clear_at=clear_at, placed=_placed,
                            **({} if repeat_below is None else {"repeat_below": repeat_below}))
    result = understood.result
    return {"intent": result.intent, "confidence": understood.confidence, "slots": dict(result.slots),
            "decision": understood.decision, "understood": understood.text, "risk_heard": understood.risk_heard}



def _placed(text: str) -> bool:
    """Whether the conversation answers a text that names no request (as the app decides it outside an exercise)."""
    return _dialogue().placed(text)


@functools.cache
def _dialogue() -> Any:
    from companion.core.dialogue import Dialogue
    from companion.core.store import Store

    return Dialogue(Store.memory())
