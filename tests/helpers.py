"""Shared test helpers: real speech synthesis for recognizer input, tool checks, running the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def need(*tools: str) -> None:
    """Skips the test, naming what is missing, when a system tool is absent (scripts/setup --test installs them)."""
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        pytest.skip(f"missing tools (scripts/setup --test installs them): {missing}")


def espeak_wav16k(text: str, path: Path, voice: str = "en-us", speed: int = 150) -> bytes:
    """espeak-ng speech as a 16 kHz mono s16 WAV (what the recognizers want); returns the PCM bytes."""
    need("espeak-ng", "sox")
    raw = str(path) + ".raw.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, text], check=True)
    # -R: repeatable dither (pure digital silence hurts pocketsphinx; random dither varies run to run)
    subprocess.run(["sox", "-R", raw, "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True)
    os.remove(raw)
    with wave.open(str(path)) as w:
        return w.readframes(w.getnframes())


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    """(int16 samples, rate, channels)."""
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        return data, w.getframerate(), w.getnchannels()


def ncc_align(cap: np.ndarray, ref: np.ndarray) -> tuple[float, int, float]:
    """Peak normalised cross-correlation of ref inside cap -> (ncc, lag_samples, overlap_fraction)."""
    cap = np.asarray(cap, float)
    ref = np.asarray(ref, float)
    n = len(cap) + len(ref) - 1
    xc = np.fft.irfft(np.fft.rfft(cap, n) * np.conj(np.fft.rfft(ref, n)), n)
    k = int(np.argmax(xc))
    lag = k if k < len(cap) else k - n
    seg = cap[max(lag, 0):lag + len(ref)]
    rr = ref[max(-lag, 0):max(-lag, 0) + len(seg)]
    return float(seg @ rr / (np.linalg.norm(seg) * np.linalg.norm(rr) + 1e-9)), lag, len(seg) / len(ref)


def run_cli(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs `python -m companion ARGS` as a person would, with the test's isolated directories."""
    return subprocess.run([sys.executable, "-m", "companion", *args], input=input, env=env or dict(os.environ),
                          capture_output=True, text=True, timeout=timeout)


def padded_wav(pcm: bytes, path: Path, *, lead_s: float = 1.0, tail_s: float = 2.0) -> Path:
    """16 kHz mono speech with digital silence before and after, as a microphone would hear one utterance."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0" * int(32000 * lead_s) + pcm + b"\0" * int(32000 * tail_s))
    return path
