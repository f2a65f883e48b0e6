#!/usr/bin/env python3
"""Barge-in over our own voice: how often "stop"/"pause" said over a session line is heard, with and without echo
suppression, and the CPU it costs while listening (% of one core per second of microphone audio).

Run: .venv/bin/python scripts/bench_echo.py [--runs N]
Everything is mixed in process (our line rendered by espeak-ng, the person's word by espeak-ng) and fed to the
real BargeInDetector (PocketSphinx) in 30 ms blocks, as the microphone would deliver it."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers import espeak_wav16k  # noqa: E402

import companion.speech.echo as echo_module  # noqa: E402
from companion.speech.audio import BARGE_IN_WORDS, BargeInDetector, read_wav16k  # noqa: E402
from companion.speech.echo import EchoCanceller, PlaybackReference  # noqa: E402
from companion.speech.engines import open_recognizer  # noqa: E402
from companion.speech.tts import render_to_wav  # noqa: E402

T0, LINE_AT = 1000.0, 1.0
LINE = ("Breathe in slowly through your nose, and let your shoulders drop as you breathe out, "
        "feeling the air leave your body.")


def mix(line: np.ndarray, level: float, delay: float, word: np.ndarray | None, word_at: float,
        path: np.ndarray | None) -> np.ndarray:
    echo = np.convolve(line, path)[:len(line)] if path is not None else line
    out = np.zeros(int((LINE_AT + 1.0) * 16000) + len(line))
    at = int((LINE_AT + delay) * 16000)
    out[at:at + len(echo)] += echo * level
    if word is not None:
        w = int((LINE_AT + word_at) * 16000)
        out[w:w + len(word)] += word
    return out


def run(recognizer, audio: np.ndarray, line: np.ndarray | None) -> tuple[list[str], float]:
    """Detected words and CPU seconds per audio second."""
    echo = None
    if line is not None:
        reference = PlaybackReference()
        reference.publish(line, T0 + LINE_AT)
        echo = EchoCanceller(reference)
    got: list[str] = []
    detector = BargeInDetector(recognizer, got.append, echo=echo)
    pcm = np.clip(np.rint(audio), -32768, 32767).astype("<i2").tobytes()
    start = time.process_time()
    for i in range(0, len(pcm), 960):
        detector.feed(pcm[i:i + 960], T0 + (i + 960) / 32000)
    return got, (time.process_time() - start) / (len(audio) / 16000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of the CPU measurement")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-echo-"))
    line = np.frombuffer(read_wav16k(render_to_wav(LINE, base / "line.wav")), "<i2").astype(float)
    words = {w: np.frombuffer(espeak_wav16k(w, base / f"{w}.wav"), "<i2").astype(float) for w in BARGE_IN_WORDS}
    recognizer = open_recognizer("pocketsphinx", "command", sentences=list(BARGE_IN_WORDS))
    room = np.zeros(160)
    room[0], room[48], room[144] = 0.7, -0.35, 0.2
    paths = {"copy": None, "room": room}
    heard = {False: 0, True: 0}
    false_alarms = {False: 0, True: 0}
    trials = 0
    for level in (0.3, 0.6, 1.0):
        for delay in (0.05, 0.25, 0.45):
            for path in paths.values():
                alone = mix(line, level, delay, None, 0, path)
                for cancel in (False, True):
                    false_alarms[cancel] += bool(run(recognizer, alone, line if cancel else None)[0])
                for word_at in (1.0, 2.5, 4.0):
                    for name, word in words.items():
                        trials += 1
                        audio = mix(line, level, delay, word, word_at, path)
                        for cancel in (False, True):
                            heard[cancel] += run(recognizer, audio, line if cancel else None)[0] == [name]
    # the microphone's clock slips mid-line (0.15 s of blocks dropped 1.5 s into the line, as on a loaded
    # machine); the word comes after the slip. Baseline in the same run: rechecking the delay switched off.
    slip_heard = {False: 0, True: 0}
    slip_false = {False: 0, True: 0}
    slip_trials = 0
    recheck_left = echo_module.RECHECK_LEFT

    def slipped(audio: np.ndarray, at: float) -> np.ndarray:
        cut = int((LINE_AT + at) * 16000)
        return np.concatenate([audio[:cut], audio[cut + int(0.15 * 16000):]])

    for level in (0.3, 0.6, 1.0):
        for delay in (0.05, 0.25, 0.45):
            for slip_at in (1.5, 3.0):
                for recheck in (False, True):
                    echo_module.RECHECK_LEFT = recheck_left if recheck else float("inf")
                    alone = slipped(mix(line, level, delay, None, 0, None), slip_at)
                    slip_false[recheck] += bool(run(recognizer, alone, line)[0])
                for word_at in (slip_at + 1.0, slip_at + 2.0):
                    for name, word in words.items():
                        slip_trials += 1
                        audio = slipped(mix(line, level, delay, word, word_at, None), slip_at)
                        for recheck in (False, True):
                            echo_module.RECHECK_LEFT = recheck_left if recheck else float("inf")
                            slip_heard[recheck] += run(recognizer, audio, line)[0] == [name]
    echo_module.RECHECK_LEFT = recheck_left
    cpu: dict[str, list[float]] = {"no reference (guards only)": [], "echo heard, cancelled": [],
                                   "headset (reference, not heard)": []}
    echo_mix = mix(line, 1.0, 0.25, None, 0, room)
    headset = np.random.default_rng(1).normal(0, 30, len(echo_mix))
    for _ in range(args.runs):
        cpu["no reference (guards only)"].append(run(recognizer, echo_mix, None)[1])
        cpu["echo heard, cancelled"].append(run(recognizer, echo_mix, line)[1])
        cpu["headset (reference, not heard)"].append(run(recognizer, headset, line)[1])
    print(f"words said over a {len(line) / 16000:.1f} s line: {trials} trials "
          "(levels 0.3/0.6/1.0 x delays 0.05/0.25/0.45 s x copy/room path x 3 positions x 2 words)")
    for cancel in (False, True):
        label = "with echo suppression" if cancel else "guards only          "
        print(f"  {label}: heard {heard[cancel]}/{trials}, our line alone taken for a word "
              f"{false_alarms[cancel]}/{trials // 6}")
    print(f"words said 1 or 2 s after the microphone's clock slipped 0.15 s, 1.5 or 3 s into the line: "
          f"{slip_trials} trials (levels 0.3/0.6/1.0 x delays 0.05/0.25/0.45 s x 2 slips x 2 positions x 2 words)")
    for recheck in (False, True):
        label = "delay rechecked when removal fails" if recheck else "delay found once (before)         "
        print(f"  {label}: heard {slip_heard[recheck]}/{slip_trials}, the slipped line alone taken for a "
              f"word {slip_false[recheck]}/{slip_trials // 4}")
    print("CPU while listening (% of one core; median, p95 over runs):")
    for name, values in cpu.items():
        values = sorted(v * 100 for v in values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"  {name:32s} {statistics.median(values):5.1f}  {p95:5.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
