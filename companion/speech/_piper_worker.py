"""The process that owns a Piper voice (piper-tts + onnxruntime): renders sentences to WAV files on request.

It never plays audio and never imports the companion package (only its sibling _tts_worker.py, for the protocol
loop): it is started with the voice's files in its environment (COMPANION_PIPER_MODEL, COMPANION_PIPER_CONFIG)
and its memory goes back to the system when it exits.

Protocol (stdin → stdout, one JSON object per line), the same shape as _tts_worker.py:
  on start            → {"ok": true, "ready": true, "sample_rate": HZ, "voice": NAME}
                        or {"ok": false, "error": MESSAGE} when piper-tts or the voice cannot load
  {"op": "render", "text", "path", "length_scale", "volume", "pause_after"}
                      → {"ok": true, "path": PATH, "frames": N, "rate_hz": HZ}   (the sentence, then
                        pause_after seconds of digital silence; an empty text is the silence alone)
                        or {"ok": false, "error": MESSAGE}
  end of input        → the process exits.
"""

from __future__ import annotations

import os
import sys
import wave
from pathlib import Path
from typing import Any

if __package__:  # imported by a frozen app's entry point (_tts_worker.main)
    from companion.speech._tts_worker import protocol_out, send, serve
else:  # run as a script: _tts_worker.py is its neighbour on sys.path
    from _tts_worker import protocol_out, send, serve  # type: ignore[no-redef]

MODEL_ENV, CONFIG_ENV = "COMPANION_PIPER_MODEL", "COMPANION_PIPER_CONFIG"
INSTALL_HINT = "pip install 'companion[natural-voice]'"


def _render(voice: Any, req: dict[str, Any]) -> tuple[int, int]:
    import numpy as np
    from piper import SynthesisConfig

    hz = int(voice.config.sample_rate)
    text = str(req.get("text") or "").strip()
    config = SynthesisConfig(length_scale=float(req.get("length_scale") or 1.0),
                             volume=float(req.get("volume", 1.0)))
    chunks = [c.audio_int16_array for c in voice.synthesize(text, syn_config=config)] if text else []
    pause = max(0.0, float(req.get("pause_after") or 0.0))
    silence = round(pause * hz) if chunks else max(round(pause * hz), hz // 50)  # never an empty file
    chunks.append(np.zeros(silence, np.int16))
    audio = np.concatenate(chunks).astype("<i2")
    path = str(req["path"])
    tmp = path + ".part"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(hz)
        w.writeframes(audio.tobytes())
    os.replace(tmp, path)
    return len(audio), hz


def main() -> int:
    out = protocol_out()  # nothing a library prints may reach the protocol
    model, config = os.environ.get(MODEL_ENV, ""), os.environ.get(CONFIG_ENV, "")
    try:
        from piper import PiperVoice
    except ImportError as e:
        send(out, {"ok": False, "error": f"piper-tts is not installed ({e}): {INSTALL_HINT}"})
        return 1
    try:
        voice = PiperVoice.load(model, config)
        list(voice.synthesize("Hi."))  # the first inference is slow: pay it before the first real line
    except Exception as e:
        send(out, {"ok": False, "error": f"the Piper voice {Path(model).name} could not load ({e})"})
        return 1
    send(out, {"ok": True, "ready": True, "sample_rate": int(voice.config.sample_rate),
                "voice": Path(model).name.removesuffix(".onnx")})
    return serve(out, lambda req: _render(voice, req))


if __name__ == "__main__":
    sys.exit(main())
