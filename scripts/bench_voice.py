#!/usr/bin/env python3
"""Voice latency: end of speech → intent, and → first audio of the reply, through the real microphone path.

Starts a private PulseAudio (virtual speaker + FIFO microphone, as the tests' `pulse` fixture), speaks espeak-ng
phrases into the microphone in real time while the VoiceLoop listens, and times each turn:
  endpoint → intent: from the trailing-silence window closing to the app having routed and acted on it
                     (recognizer final pass + router + app; the part the ≤150 ms goal is about)
  endpoint → audio : to the reply's first audio reaching the virtual speaker (SpokenLine.first_audio_at)
Run: .venv/bin/python scripts/bench_voice.py [--n 40] [--out docs/benchmarks/voice.md]
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers import RealtimeFifo, start_pulse  # noqa: E402

#: Phrases and what they make the companion do (a spoken reply, or a session whose intro is the reply).
PHRASES = ("i feel anxious", "what can you do", "box breathing for one minute", "i feel lonely",
           "help me ground myself", "i feel stressed", "can we do some breathing", "i am sad")
GOAL_MS = 150.0


def start_mic_pulse(base: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """The tests' private PulseAudio with its FIFO microphone, made this process's default server and source."""
    try:
        proc, env = start_pulse(base)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    os.environ.update(XDG_RUNTIME_DIR=env["XDG_RUNTIME_DIR"], HOME=env["HOME"], PULSE_SERVER=env["PULSE_SERVER"],
                      PULSE_SOURCE="vmic")
    return proc, Path(env["VMIC_FIFO"])


class FifoVoice(RealtimeFifo):
    """Real-time writer into the FIFO microphone: silence, and each queued phrase when asked."""

    def __init__(self, fifo: Path) -> None:
        self.queue: queue.Queue[bytes] = queue.Queue()
        self.payload, self.pos = b"", 0
        super().__init__(fifo, block_s=0.05)

    def say(self, pcm: bytes) -> None:
        self.queue.put(b"\0" * 6400 + pcm)

    def next_block(self, n: int) -> bytes:
        if self.pos >= len(self.payload):
            try:
                self.payload, self.pos = self.queue.get_nowait(), 0
            except queue.Empty:
                self.payload, self.pos = b"", 0
        block = self.payload[self.pos:self.pos + n]
        self.pos += n
        return block


def espeak16k(text: str, path: Path) -> bytes:
    import wave

    raw = str(path) + ".raw.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, text], check=True)
    subprocess.run(["sox", "-R", raw, "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True)
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="utterances (default 40)")
    ap.add_argument("--out", type=Path, help="write the figures as markdown here")
    args = ap.parse_args()
    for tool in ("pulseaudio", "pactl", "espeak-ng", "sox"):
        if not shutil.which(tool):
            raise SystemExit(f"missing {tool}: scripts/setup --test installs it")
    base = Path(tempfile.mkdtemp(prefix="bench-voice-"))
    for name in ("DATA", "CONFIG", "RUNTIME", "MODELS"):
        os.environ[f"COMPANION_{name}_DIR"] = str(base / name.lower())
    pulse, fifo = start_mic_pulse(base)
    mic = FifoVoice(fifo)
    try:
        from companion.app import create_app
        from companion.voice import VoiceLoop

        pcm = {p: espeak16k(p, base / f"{i}.wav") for i, p in enumerate(PHRASES)}
        app = create_app(notice=lambda m: print("notice:", m, file=sys.stderr))
        spoken: list = []
        real_say = app.speaker.say

        def say(text: str):  # every line the speaker is given, with its handle (first_audio_at)
            line = real_say(text)
            spoken.append(line)
            return line

        app.speaker.say = say  # type: ignore[method-assign]
        current: list[bytes] = []
        loop = VoiceLoop(app, barge_in=False, on_listening=lambda mode: mic.say(current[0]))
        rows = []
        misses = 0
        for i in range(args.n):
            phrase = PHRASES[i % len(PHRASES)]
            current[:] = [pcm[phrase]]
            before = len(spoken)
            loop.run(once=True)
            turn = loop.turns[-1]
            if not turn.text:
                misses += 1
                continue
            first = None
            deadline = time.monotonic() + 10  # a session says its first line from its own thread
            while first is None and time.monotonic() < deadline:
                # the first line that really played (a reply cut off by the session it starts never plays)
                first = next((ln.first_audio_at for ln in spoken[before:] if ln.first_audio_at is not None), None)
                time.sleep(0.002)
            rows.append((phrase, turn.intent, turn.decode_ms_after_end, (turn.routed_at - turn.endpoint_at) * 1000,
                         None if first is None else (first - turn.endpoint_at) * 1000))
            app.stop("closed")
            app.speaker.stop()
            time.sleep(0.2)
        app.close()
    finally:
        mic.close()
        pulse.terminate()
        pulse.wait(5)
        shutil.rmtree(base, ignore_errors=True)

    decode = [r[2] for r in rows]
    intent = [r[3] for r in rows]
    audio = [r[4] for r in rows if r[4] is not None]
    import platform

    load = os.getloadavg()[0]
    lines = [
        "# Voice latency (FIFO microphone → VoiceLoop → app → real speaker)",
        "",
        f"Command: `.venv/bin/python scripts/bench_voice.py --n {args.n} --out docs/benchmarks/voice.md` — "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the end (other work was running).",
        "",
        f"{len(rows)} utterances heard of {args.n} fed through the private PulseAudio FIFO microphone in real time "
        f"({misses} not heard); PocketSphinx command grammar, Silero VAD, trailing silence 0.6 s.",
        "Times start when the trailing-silence window closed (the last audio block the endpointer needed).",
        "",
        "| stage | median ms | p95 ms |",
        "|---|---|---|",
        f"| recognizer final pass (baseline: Heard.decode_ms_after_end) | {statistics.median(decode):.1f} | "
        f"{pct(decode, 0.95):.1f} |",
        f"| endpoint → intent routed and acted on | {statistics.median(intent):.1f} | {pct(intent, 0.95):.1f} |",
        f"| endpoint → first audio of the reply | {statistics.median(audio):.1f} | {pct(audio, 0.95):.1f} |"
        if audio else "| endpoint → first audio of the reply | n/a | n/a |",
        "",
        f"Goal: ≤{GOAL_MS:.0f} ms of compute after the trailing-silence window (endpoint → intent): "
        + ("met" if intent and pct(intent, 0.95) <= GOAL_MS else "median " + (
            "met" if intent and statistics.median(intent) <= GOAL_MS else "not met") + ", p95 not met")
        + ". First audio adds rendering the reply's first line (pyttsx3 + espeak-ng in a worker process) and "
        "starting the player (`first_audio_at` is when the player started on the virtual speaker).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    for phrase, intent_name, d, it, au in rows[:len(PHRASES)]:
        shown = "n/a" if au is None else f"{au:6.1f}"
        print(f"  {phrase!r:36} {intent_name:10} decode {d:6.1f}  intent {it:6.1f}  audio {shown}", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
