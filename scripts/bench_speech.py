#!/usr/bin/env python3
"""Speech-out benchmark: render time, say() → first audio, stop() → silence, measured on a virtual speaker.

Starts its own private PulseAudio (null sink `vspeaker`, as tests/conftest.py `pulse` does), speaks through
companion.speech.tts.Pyttsx3Speaker and records the sink's monitor with `parec`, timestamping every block, so
audio on the speaker can be placed on this process's monotonic clock.

Run: .venv/bin/python scripts/bench_speech.py [--runs 20] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from helpers import start_pulse  # noqa: E402

RATE = 16000  # the virtual speaker's sample rate
FRAME = 160  # 10 ms analysis frames
VOICED_RMS = 200.0  # int16 RMS above which a 10 ms frame counts as sound (the null sink's silence is exact 0)
LONG_LINE = ("Let us take a slow breath together, in through the nose, and out through the mouth, "
             "letting the shoulders drop a little more with every breath we take.")
SHORT_LINE = "Breathe in."


@contextmanager
def private_pulse() -> Iterator[dict[str, str]]:
    """A private PulseAudio with a null sink as default; yields the env for its clients (as conftest does)."""
    for tool in ("pulseaudio", "pactl", "parec", "aplay"):
        if not shutil.which(tool):
            sys.exit(f"missing {tool}: scripts/setup --test installs it")
    base = Path(tempfile.mkdtemp(prefix="bench-pulse-"))
    try:
        try:
            p, env = start_pulse(base, pipe_mic=False)
        except RuntimeError as exc:
            sys.exit(str(exc))
        try:
            yield env
        finally:
            p.terminate()
            p.wait(5)
    finally:
        shutil.rmtree(base, ignore_errors=True)


class MonitorCapture:
    """Records the virtual speaker's monitor with parec; maps sample i to monotonic time t0 + i / RATE."""

    def __init__(self, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(["parec", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=1",
                                       "--latency-msec=10", "-d", "vspeaker.monitor"],
                                      env=env, stdout=subprocess.PIPE)
        self._chunks: list[bytes] = []
        self._t0 = float("inf")
        self._n = 0
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        while self._n < RATE // 10:  # capture is flowing
            time.sleep(0.01)

    def _read(self) -> None:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while True:
            data = os.read(fd, 640)
            now = time.monotonic()
            if not data:
                return
            self._chunks.append(data)
            self._n += len(data) // 2
            # the earliest-arriving block bounds the mapping best (least transport delay)
            self._t0 = min(self._t0, now - self._n / RATE)

    def stop(self) -> tuple[np.ndarray, float]:
        self._proc.terminate()
        self._proc.wait(5)
        self._thread.join(5)
        raw = b"".join(self._chunks)
        return np.frombuffer(raw[: len(raw) // 2 * 2], np.int16), self._t0


def voiced_frames(samples: np.ndarray) -> np.ndarray:
    n = len(samples) // FRAME
    frames = samples[: n * FRAME].astype(float).reshape(n, FRAME)
    return np.flatnonzero(np.sqrt((frames ** 2).mean(axis=1)) > VOICED_RMS)


def _wav_voiced(path: Path) -> tuple[np.ndarray, float]:
    """Voiced 10 ms frame flags of a rendered line, and the frame length in seconds."""
    with wave.open(str(path)) as w:
        a = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        hz = w.getframerate()
    step = hz // 100
    n = len(a) // step
    rms = np.sqrt((a[: n * step].astype(float).reshape(n, step) ** 2).mean(axis=1))
    return rms > VOICED_RMS, step / hz


def leading_silence(path: Path) -> float:
    """Seconds of silence espeak puts before the first sound of a rendered line."""
    flags, dt = _wav_voiced(path)
    idx = np.flatnonzero(flags)
    return float(idx[0] * dt) if len(idx) else 0.0


def sustained_sound_at(path: Path, after: float, length: float = 0.4) -> float:
    """Seconds into the line of the middle of its first stretch of `length` s of unbroken sound after
    `after` s: stopping there means the cut-off cannot hide in a pause between words."""
    flags, dt = _wav_voiced(path)
    need = int(length / dt)
    run = 0
    for i in range(int(after / dt), len(flags)):
        run = run + 1 if flags[i] else 0
        if run >= need:
            return (i - need / 2) * dt
    raise SystemExit(f"no {length} s stretch of sound after {after} s in the benchmark line")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def bench_render(runs: int) -> dict[str, float]:
    from companion.speech.tts import _Worker

    worker = _Worker()
    with tempfile.TemporaryDirectory() as d:
        out: dict[str, float] = {}
        for label, text in (("short", SHORT_LINE), ("long", LONG_LINE)):
            times = []
            for i in range(runs):
                t = time.perf_counter()
                worker.render(text, Path(d) / f"{label}{i}.wav", voice=worker.default_voice, rate=165,
                              volume=1.0)
                times.append((time.perf_counter() - t) * 1000)
            out[f"render_{label}_ms_median"] = statistics.median(times)
            out[f"render_{label}_ms_p95"] = pct(times, 95)
    worker.close()
    t = time.perf_counter()
    _Worker().close()
    out["worker_start_ms"] = (time.perf_counter() - t) * 1000
    return out


def bench_live(env: dict[str, str], runs: int) -> dict[str, float]:
    """say() → audible onset and stop() → last audible frame, on the monitor capture."""
    os.environ.update({k: env[k] for k in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME")})
    from companion.speech.tts import Pyttsx3Speaker, render_to_wav

    with tempfile.TemporaryDirectory() as d:
        ref = render_to_wav(LONG_LINE, Path(d) / "ref.wav")
        lead = leading_silence(ref)
        cut_at = sustained_sound_at(ref, after=1.0)
    t = time.perf_counter()
    speaker = Pyttsx3Speaker()
    start_ms = (time.perf_counter() - t) * 1000
    to_onset, to_first_audio, first_audio_error, to_silence = [], [], [], []
    failures = 0
    try:
        for run in range(runs):
            cap = MonitorCapture(env)
            time.sleep(0.1)
            said = time.monotonic()
            line = speaker.say(LONG_LINE)
            while line.first_audio_at is None and not line.done:
                time.sleep(0.002)
            if line.first_audio_at is not None:  # mid-word, inside a stretch of unbroken sound
                time.sleep(max(0.0, line.first_audio_at + cut_at - time.monotonic()))
            stopped = time.monotonic()
            speaker.stop()
            time.sleep(0.8)
            samples, t0 = cap.stop()
            voiced = voiced_frames(samples)
            if not len(voiced) or line.first_audio_at is None:
                failures += 1
                print(f"run {run} failed: {len(voiced)} voiced frames, first_audio_at {line.first_audio_at}, "
                      f"error {line.error}, completed {line.completed}, ended {line.ended_at}, "
                      f"stopped {stopped}", file=sys.stderr)
                continue
            onset = t0 + voiced[0] * FRAME / RATE - lead  # when the line's audio (incl. its lead-in) began
            last = t0 + (voiced[-1] + 1) * FRAME / RATE
            to_onset.append((onset - said) * 1000)
            to_first_audio.append((line.first_audio_at - said) * 1000)
            first_audio_error.append((onset - line.first_audio_at) * 1000)
            to_silence.append((last - stopped) * 1000)
    finally:
        speaker.close()
    return {
        "speaker_start_ms": start_ms,
        "say_to_audible_ms_median": statistics.median(to_onset), "say_to_audible_ms_p95": pct(to_onset, 95),
        "say_to_first_audio_at_ms_median": statistics.median(to_first_audio),
        "first_audio_at_early_by_ms_median": statistics.median(first_audio_error),
        "stop_to_silence_ms_median": statistics.median(to_silence),
        "stop_to_silence_ms_p95": pct(to_silence, 95), "stop_to_silence_ms_max": max(to_silence),
        "runs": float(len(to_silence)), "failed_runs": float(failures),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    results = bench_render(args.runs)
    with private_pulse() as env:
        results.update(bench_live(env, args.runs))
    width = max(map(len, results))
    for k, v in results.items():
        print(f"{k:<{width}}  {v:8.1f}")
    goal = results["stop_to_silence_ms_median"] <= 300
    print(f"goal stop → silence median ≤ 300 ms: {'met' if goal else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
