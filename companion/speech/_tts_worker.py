"""The process that owns pyttsx3: renders lines to WAV files on request, one JSON line in, one JSON line out.

It never plays audio and never shares its pyttsx3 engine with anyone: its global state dies with the process.

Protocol (stdin → stdout, one JSON object per line):
  on start            → {"ok": true, "ready": true, "default_voice": ID, "voices": [{id, name, languages}]}
                        or {"ok": false, "error": MESSAGE} when pyttsx3 / espeak-ng cannot start
  {"op": "render", "text", "path", "voice", "rate", "volume"}
                      → {"ok": true, "path": PATH, "frames": N, "rate_hz": R}
                        or {"ok": false, "error": MESSAGE}
  end of input        → the process exits.

pyttsx3 2.99 quirks handled here: runAndWait() may return before the file is written (we wait on the
`finished-utterance` callback and then for a complete WAV); voice, rate and volume are set before every line
(a rate can be lost under load); save_to_file is the only command ever queued, one per runAndWait, so neither
"only the last command runs" nor "later say() goes to the file" can bite; the driver prints to stdout, so the
protocol uses a private copy of stdout and fd 1 is pointed at stderr.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import threading
import time
import wave
from collections.abc import Callable
from typing import Any, TextIO

FINISH_TIMEOUT = 20.0  # seconds; espeak renders a sentence in ~10 ms, this only catches a wedged engine


class _Engine:
    """One pyttsx3 engine and the event that says the last queued line really finished.

    Why the waiting: espeak-ng runs asynchronously here (pyttsx3 uses AUDIO_OUTPUT_RETRIEVAL), so a rate or
    volume change is a command in espeak's own queue, and every runAndWait() first calls the driver's stop(),
    which cancels that queue if it is not empty yet. Under load that silently dropped the rate. So each
    change is waited for until espeak has applied it, and runAndWait() only runs on an idle espeak.
    """

    def __init__(self) -> None:
        import pyttsx3
        from pyttsx3.drivers import _espeak

        self._espeak = _espeak
        get = _espeak.dll.espeak_GetParameter  # pyttsx3's binding omits the `current` argument
        get.argtypes = [ctypes.c_int, ctypes.c_int]
        get.restype = ctypes.c_int
        self._get_parameter = get
        self._engine = pyttsx3.init()
        self._finished = threading.Event()
        self._engine.connect("finished-utterance", lambda name, completed: self._finished.set())
        self._wait_idle()
        # an empty run leaves pyttsx3 "not busy", so later property changes reach espeak at once
        self._engine.runAndWait()
        self.default_voice: str = self._engine.getProperty("voice") or ""

    def voices(self) -> list[dict[str, Any]]:
        return [{"id": v.id, "name": v.name, "languages": [str(x) for x in (v.languages or [])]}
                for v in self._engine.getProperty("voices")]

    def _wait_idle(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self._espeak.IsPlaying():
            if time.monotonic() > deadline:
                raise RuntimeError("the speech engine stayed busy")
            time.sleep(0.001)

    def _settings(self) -> tuple[str, int, int]:
        get = self._get_parameter
        return ((self._engine.getProperty("voice") or "").lower(),
                int(get(self._espeak.RATE, 1)), int(get(self._espeak.VOLUME, 1)))

    def _apply(self, voice: str, rate: int, volume: float, timeout: float = 5.0) -> None:
        """Sets voice, rate and volume and waits until espeak-ng really uses them."""
        want = (voice.lower(), rate, round(volume * 100))
        deadline = time.monotonic() + timeout
        while True:
            self._wait_idle()
            self._engine.setProperty("voice", voice)
            self._engine.setProperty("rate", rate)
            self._engine.setProperty("volume", volume)
            self._wait_idle()
            if self._settings() == want:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the speech engine did not accept voice {voice!r} at rate {rate} "
                                   f"(it has {self._settings()})")
            time.sleep(0.01)

    def render(self, text: str, path: str, voice: str, rate: int, volume: float) -> tuple[int, int]:
        """Renders one line; a line whose settings were lost on the way is rendered again."""
        voice = voice or self.default_voice
        tmp = path + ".part"
        for _ in range(3):
            if os.path.exists(tmp):
                os.remove(tmp)
            self._apply(voice, rate, volume)
            self._finished.clear()
            self._engine.save_to_file(text, tmp)
            self._engine.runAndWait()
            if not self._finished.wait(FINISH_TIMEOUT):
                raise RuntimeError("the speech engine never reported the end of the line")
            frames, hz = _complete_wav(tmp)
            self._wait_idle()
            if self._settings()[:2] == (voice.lower(), rate):
                os.replace(tmp, path)
                return frames, hz
        raise RuntimeError(f"the speech engine kept losing voice {voice!r} at rate {rate} "
                           f"(it has {self._settings()})")


def _complete_wav(path: str, timeout: float = 5.0) -> tuple[int, int]:
    """Waits until `path` is a readable WAV whose header matches its size (the driver writes it late)."""
    deadline = time.monotonic() + timeout
    last_error = "no file"
    while time.monotonic() < deadline:
        try:
            with wave.open(path) as w:
                frames, hz, width, ch = w.getnframes(), w.getframerate(), w.getsampwidth(), w.getnchannels()
            if os.path.getsize(path) >= 44 + frames * width * ch:
                return frames, hz
            last_error = "file still being written"
        except (OSError, EOFError, wave.Error) as e:
            last_error = str(e)
        time.sleep(0.005)
    raise RuntimeError(f"the speech engine did not write a complete WAV file ({last_error})")


def _write_silence(path: str, hz: int = 22050) -> tuple[int, int]:
    """A blank line still gets a (tiny) valid file, so every request has the same shape of answer."""
    frames = hz // 50
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(hz)
        w.writeframes(b"\0\0" * frames)
    return frames, hz


def send(out: TextIO, msg: dict[str, Any]) -> None:
    out.write(json.dumps(msg) + "\n")
    out.flush()


def protocol_out() -> TextIO:
    """A private copy of stdout for the protocol; fd 1 then goes to stderr, so nothing a library prints (the
    espeak driver's "Audio saved to ...") can reach it."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def serve(out: TextIO, render: Callable[[dict[str, Any]], tuple[int, int]]) -> int:
    """Answers render requests from stdin until it closes (both speech processes): `render(request)` writes
    request["path"] and gives (frames, rate_hz); any failure is answered as an error and the loop goes on."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req.get("op") != "render":
                raise ValueError(f"unknown request {req.get('op')!r}")
            frames, hz = render(req)
            send(out, {"ok": True, "path": req["path"], "frames": frames, "rate_hz": hz})
        except Exception as e:
            send(out, {"ok": False, "error": str(e) or type(e).__name__})
    return 0


def main() -> int:
    if os.environ.get("COMPANION_TTS_WORKER") == "piper":  # a frozen app's Piper voice process (piper_tts.py)
        from companion.speech._piper_worker import main as piper_main

        return piper_main()
    out = protocol_out()
    try:
        import pyttsx3  # noqa: F401  - only to tell "not installed" apart from "espeak-ng missing"
    except ImportError as e:
        send(out, {"ok": False,
                    "error": f"pyttsx3 is not installed ({e}): .venv/bin/pip install pyttsx3==2.99"})
        return 1
    try:
        engine = _Engine()
    except Exception as e:  # the driver raises RuntimeError/OSError when libespeak-ng is missing or broken
        send(out, {"ok": False,
                    "error": f"espeak-ng is not installed or could not start ({e}): sudo apt install espeak-ng"})
        return 1
    send(out, {"ok": True, "ready": True, "default_voice": engine.default_voice, "voices": engine.voices()})

    def render(req: dict[str, Any]) -> tuple[int, int]:
        text = str(req["text"]).strip()
        if not text:
            return _write_silence(req["path"])
        return engine.render(text, req["path"], req.get("voice") or "", int(req["rate"]),
                             float(req.get("volume", 1.0)))

    return serve(out, render)


if __name__ == "__main__":
    sys.exit(main())
