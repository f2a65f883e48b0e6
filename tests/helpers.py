"""Shared test helpers: real speech synthesis for recognizer input, tool checks, running the CLI, and the private
X server, tray host and sound server the tests and the benchmarks (scripts/bench_*.py) run against."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


def need(*tools: str) -> None:
    """Skips the test, naming what is missing, when a system tool is absent (scripts/setup --test installs them)."""
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        pytest.skip(f"missing tools (scripts/setup --test installs them): {missing}")


def _data_file(name: str | Path) -> Path:
    """A path as given when it is absolute or exists from here, else the file of that name in tests/data."""
    path = Path(name)
    return path if path.is_absolute() or path.exists() else DATA / path


def data_lines(name: str | Path) -> list[str]:
    """A phrase file in tests/data (or at a path): one phrase per line; blank lines and "#" comments skipped."""
    return [s.strip() for s in _data_file(name).read_text(encoding="utf-8").splitlines()
            if s.strip() and not s.startswith("#")]


def eval_rows(name: str | Path) -> list[tuple[str, str, dict[str, str]]]:
    """An intent evaluation file in tests/data (or at a path): text, intent and slots ("key=value" words)."""
    rows = []
    for line in _data_file(name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        slots = dict(kv.split("=", 1) for kv in (parts[2].split() if len(parts) > 2 else []))
        rows.append((parts[0], parts[1], slots))
    return rows


def phrase_files(kind: str) -> list[str]:
    """The crisis guard's phrase files of one kind ("crisis" or "safe") in the order they were written: the
    hand-written list first, then every blind batch (docs/benchmarks/safety.md tells how each was made)."""
    first = {"crisis": "crisis_phrases.txt", "safe": "idioms.txt"}[kind]

    def batch(path: Path) -> int:
        number = path.stem.removeprefix(f"{kind}_holdout")
        return int(number) if number else 1

    return [first, *(p.name for p in sorted(DATA.glob(f"{kind}_holdout*.txt"), key=batch))]


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


def default_sigint() -> None:
    """`preexec_fn` for a child the test interrupts with SIGINT (as Ctrl-C does): a runner started in the background
    ignores SIGINT, and children inherit that; the companion must see Ctrl-C as a person's terminal sends it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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


def start_xvfb(screen: str = "800x600x24") -> tuple[subprocess.Popen[bytes], str]:
    """A private Xvfb on a free display number (-displayfd): (the process, ":N")."""
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", screen, "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    buf = b""
    while not buf.endswith(b"\n"):  # read "N\n" fully before closing, else Xvfb dies
        chunk = os.read(r, 16)
        if not chunk:
            break
        buf += chunk
    os.close(r)
    return xvfb, ":" + buf.decode().strip()


def start_tray_host(display: str) -> subprocess.Popen[bytes]:
    """trayer as the XEmbed system tray on `display`, returned once it owns the tray selection and can take
    dock requests; RuntimeError (with trayer stopped) if it never does."""
    tray = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
                             "--height", "32", "--SetDockType", "true", "--transparent", "false",
                             "--tint", "0x202020"], env=dict(os.environ, DISPLAY=display),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from Xlib import display as xd

    d = xd.Display(display)
    sel = d.intern_atom("_NET_SYSTEM_TRAY_S0")
    try:
        for _ in range(100):
            if d.get_selection_owner(sel):
                break
            time.sleep(0.05)
        else:
            tray.terminate()
            tray.wait(5)
            raise RuntimeError("tray host did not come up")
    finally:
        d.close()
    time.sleep(0.5)  # trayer owns the selection before it reliably handles dock requests
    return tray


def start_pulse(base: Path, *, pipe_mic: bool = True, log: bool = True) -> tuple[subprocess.Popen[bytes],
                                                                                   dict[str, str]]:
    """A private PulseAudio under `base`: null sink `vspeaker` (the default sink; its monitor the default
    source) and, with `pipe_mic`, a pipe source `vmic` fed from the FIFO in env["VMIC_FIFO"]. Returns (the
    process, the env for its clients); RuntimeError (with the server stopped) if it never answers."""
    run = base / "run"
    (run / "pulse").mkdir(parents=True)
    run.chmod(0o700)
    fifo, sock = base / "vmic.fifo", run / "pulse" / "native"
    mic = (f"load-module module-pipe-source source_name=vmic file={fifo} format=s16le rate=16000 channels=1\n"
           if pipe_mic else "")
    (base / "default.pa").write_text(
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={sock}\n"
        "load-module module-null-sink sink_name=vspeaker rate=16000 channels=1 norewinds=1\n"
        f"{mic}set-default-sink vspeaker\nset-default-source vspeaker.monitor\n")
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), HOME=str(base), PULSE_SERVER=f"unix:{sock}")
    quiet = {} if log else {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    target = ["--log-target=file:" + str(base / "pulse.log")] if log else []
    p = subprocess.Popen(["pulseaudio", "-n", "-F", str(base / "default.pa"), "--daemonize=no",
                          "--exit-idle-time=-1", *target], env=env, **quiet)  # type: ignore[call-overload]
    for _ in range(200):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    else:
        p.kill()
        p.wait(5)
        raise RuntimeError("pulseaudio did not start")
    if pipe_mic:
        env["VMIC_FIFO"] = str(fifo)
    return p, env


class RealtimeFifo:
    """Feeds a FIFO microphone (16 kHz s16 mono) in real time, one block every `block_s` seconds, silence
    whenever `next_block` has nothing to play. The writer is attached at once, before any stream opens
    (PulseAudio's pipe source needs that). Subclasses set their state, then call this __init__."""

    def __init__(self, fifo: str | Path, block_s: float = 0.1) -> None:
        self.block_s = block_s
        self.block_bytes = int(32000 * block_s)
        self.fd = os.open(fifo, os.O_WRONLY)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def next_block(self, n: int) -> bytes:
        """Up to `n` bytes to play now (padded with silence); b"" for silence."""
        return b""

    def _write(self) -> None:
        nxt = time.perf_counter()
        while not self.stop.is_set():
            block = self.next_block(self.block_bytes).ljust(self.block_bytes, b"\0")
            try:
                os.write(self.fd, block)
            except BrokenPipeError:  # the sound server went away: the caller reports what it missed
                return
            nxt += self.block_s
            time.sleep(max(0.0, nxt - time.perf_counter()))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        os.close(self.fd)

