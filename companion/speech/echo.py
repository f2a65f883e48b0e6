"""Echo suppression for barge-in: subtracts what the companion itself is playing from the microphone signal.
It never changes what is played and never touches the microphone; without a playback reference it passes audio through.

How it works: the speaker publishes each line it plays (16 kHz samples + the monotonic time playback started)
to a `PlaybackReference`. `EchoCanceller` puts the microphone on the same clock (first block's arrival, then
sample counting), estimates the line's delay by cross-correlating the line's first ~0.5 s with the
microphone, then removes a delay-aligned copy with a block NLMS filter (256 taps). A line the microphone does
not hear (a headset) gives no correlation peak and the audio passes through untouched.

The clock can slip during a line: a loaded machine drops microphone blocks (an input overflow) or the player
stalls. So the canceller watches what it removes; when less than RECHECK_LEFT of the echo has gone over the
last RECHECK_S, it searches again around the current delay (±RESEARCH_S, on the newest half second of microphone)
and moves to a new delay only when that delay explains the microphone clearly better than the current one.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
EST_REF_S = 0.5  # the part of each line used to find its delay
MAX_DELAY_S = 0.5  # playback start → microphone: player start-up, sound-server buffers, the room
EARLY_S = 0.2  # the microphone's clock a little late (blocks dropped before the line): the echo comes "early"
MIN_CORRELATION = 0.3  # normalised peak below this: the microphone does not hear the line (a headset)
TAPS = 256  # 16 ms at 16 kHz: the delay is found first, so the filter models only the room's short tail
PRE_TAPS = 32  # taps before the estimated delay, for an estimate a little late
BLOCK = 160  # 10 ms NLMS blocks
MU = 0.5
HISTORY_S = 3.0
RECHECK_S = 0.1  # the span of echo (reference sounding) over which the removal is judged
RECHECK_LEFT = 0.3  # more than this share of the microphone's energy left: look for the delay again (< 5 dB)
RESEARCH_S = 1.0  # how far the delay may have moved, either way
RESEARCH_WINDOW_S = 0.5  # the newest microphone audio matched against the line
RESEARCH_MARGIN = 0.1  # a new delay must correlate this much better than the current one
PIECE_S = 0.05  # the echo path is fitted again on the newest pieces that match the new delay better (the slip
# may lie inside the window)


@dataclass
class _Line:
    start: float  # monotonic time playback started
    samples: np.ndarray  # float64, 16 kHz
    end: float = float("inf")  # monotonic time it was cut off (or finished)
    delay: float | None = None  # seconds from playback time to microphone time; None until estimated
    heard: bool = False  # the estimate found the line in the microphone
    gain: float = 0.0
    taps: np.ndarray | None = None  # the echo path fitted when the delay was found
    searched: bool = False  # the delay search ran (found or not)


class PlaybackReference:
    """What the speaker is playing, shared with the listener. Thread-safe; keeps the last few lines only.

    A speaker makes one only when asked (`Pyttsx3Speaker.playback_reference`), so without barge-in nothing is
    decoded; with it, each line costs one WAV decode (about 2 ms for a 6 s line)."""

    def __init__(self, keep: int = 4) -> None:
        self._lines: collections.deque[_Line] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()

    def publish(self, samples: np.ndarray, started_at: float) -> None:
        """A line (16 kHz samples, int16 or float) started playing at `started_at` (time.monotonic())."""
        with self._lock:
            self._lines.append(_Line(started_at, np.asarray(samples, np.float64)))

    def publish_wav(self, path: Path | str, started_at: float) -> None:
        """As `publish`, from the WAV being played; a file that cannot be read is skipped, never raised."""
        from companion.speech.audio import AudioFileError, read_wav16k

        try:
            pcm = read_wav16k(path)
        except (AudioFileError, OSError):
            return
        self.publish(np.frombuffer(pcm, "<i2"), started_at)

    def ended(self, at: float | None = None) -> None:
        """The newest line stopped sounding at `at` (cut off or finished): nothing of it is expected after."""
        at = time.monotonic() if at is None else at
        with self._lock:
            if self._lines:
                last = self._lines[-1]
                last.end = min(last.end, at)

    def lines(self) -> list[_Line]:
        with self._lock:
            return list(self._lines)


class EchoCanceller:
    """Removes the published playback from microphone blocks; output lags input only while a new line's delay
    is being estimated (at most EST_REF_S + MAX_DELAY_S), so nothing the person says is dropped."""

    def __init__(self, reference: PlaybackReference) -> None:
        self.reference = reference
        self._t0: float | None = None  # monotonic time of microphone sample 0
        self._mic = np.zeros(0, np.float64)  # raw microphone history (for the estimate and the output)
        self._mic_base = 0  # index of _mic[0]
        self._n = 0  # microphone samples received
        self._out = 0  # microphone samples emitted
        self._w = np.zeros(TAPS)
        self._w_line: _Line | None = None
        self._judged = np.zeros(3)  # since the last check, over blocks with echo: mic energy, left energy, samples
        self.cancelled_lines = 0  # lines found in the microphone and subtracted (for tests and the benchmark)
        self.realigned = 0  # times a slipped delay was found again mid-line
        self._slipped = False  # the subtraction adds echo (a slipped delay): silence until the delay is found

    def process(self, pcm16: bytes, arrived_at: float | None = None) -> bytes:
        """One microphone block, received at `arrived_at` (time.monotonic()); returns cleaned audio (int16)."""
        x = np.frombuffer(pcm16, "<i2").astype(np.float64)
        if self._t0 is None:
            self._t0 = (time.monotonic() if arrived_at is None else arrived_at) - len(x) / RATE
        self._mic = np.concatenate([self._mic, x])
        self._n += len(x)
        lines = self.reference.lines()
        limit = self._n
        for line in lines:
            if line.searched:
                continue
            first = self._index(line.start)
            if first >= self._n:
                continue  # not yet playing at the microphone's time
            need = self._index(line.start + min(EST_REF_S, len(line.samples) / RATE) + MAX_DELAY_S)
            if self._n >= need or self._index(line.end) <= self._n:
                self._estimate(line)
            else:
                # hold from (a little before) the line's start until its delay is known
                limit = min(limit, max(first - int(EARLY_S * RATE), self._out))
        out = self._clean(self._out, limit, lines) if limit > self._out else np.zeros(0)
        self._out = max(self._out, limit)
        keep = max(0, min(self._out, self._n - int(HISTORY_S * RATE)) - self._mic_base)
        if keep:
            self._mic = self._mic[keep:]
            self._mic_base += keep
        return np.clip(np.rint(out), -32768, 32767).astype("<i2").tobytes()

    # ----------------------------------------------------------------------------------------------- internals
    def _index(self, t: float) -> int:
        assert self._t0 is not None
        if t == float("inf"):
            return 1 << 62
        return round((t - self._t0) * RATE)

    def _mic_slice(self, a: int, b: int) -> np.ndarray:
        a, b = max(a, self._mic_base), min(b, self._n)
        return self._mic[a - self._mic_base:b - self._mic_base] if b > a else np.zeros(0)

    def _estimate(self, line: _Line) -> None:
        """The line's delay into the microphone: the peak of the normalised cross-correlation."""
        line.searched = True
        ref = line.samples[:int(EST_REF_S * RATE)]
        early = int(EARLY_S * RATE)
        first = self._index(line.start) - early
        mic = self._mic_slice(first, first + early + len(ref) + int(MAX_DELAY_S * RATE))
        if len(mic) < len(ref) or not np.any(ref):
            return
        norm, corr = _match(mic, ref)
        lag = int(np.argmax(np.abs(norm)))
        if abs(norm[lag]) < MIN_CORRELATION:
            return  # the microphone does not hear this line
        line.delay = (lag - early) / RATE
        line.gain = float(corr[lag] / (ref @ ref))
        line.heard = True
        line.taps = self._fit(line.samples, 0, mic[lag:lag + len(ref)])
        self.cancelled_lines += 1

    def _recheck(self, line: _Line, at: int) -> None:
        """Little of the echo went before microphone sample `at`: match the newest second of microphone
        against the line around the current delay, and move to a clearly better one."""
        assert line.delay is not None
        window, reach = int(RESEARCH_WINDOW_S * RATE), int(RESEARCH_S * RATE)
        mic = self._mic_slice(at - window, at)
        if len(mic) < window or not np.any(mic):
            return
        delay = round(line.delay * RATE)
        k0 = at - window - self._index(line.start) - delay  # the line's sample under mic[0] now
        ref = _segment(line.samples, k0 - reach, k0 + window + reach)  # index j: delay + reach - j
        if not np.any(ref):
            return
        norm, _ = _match(ref, mic)
        now = abs(norm[reach])
        j = int(np.argmax(np.abs(norm)))
        if abs(norm[j]) < max(MIN_CORRELATION, now + RESEARCH_MARGIN):
            return
        line.delay = (delay + reach - j) / RATE
        fit = self._since_slip(mic, ref[j:j + window], ref[reach:reach + window])
        line.taps = self._fit(line.samples, k0 - reach + j + window - fit, mic[-fit:])
        self._w = line.taps.copy()
        self._slipped = False
        self.realigned += 1

    @staticmethod
    def _since_slip(mic: np.ndarray, new: np.ndarray, old: np.ndarray) -> int:
        """How many of the newest microphone samples follow the new alignment (`new`) better than the old one,
        counted in PIECE_S pieces from the end (at least one piece)."""
        piece = int(PIECE_S * RATE)
        count = 1
        while (count + 1) * piece <= len(mic):
            a, b = len(mic) - (count + 1) * piece, len(mic) - count * piece
            m = mic[a:b]
            if abs(m @ new[a:b]) / (np.linalg.norm(new[a:b]) + 1e-9) <= abs(m @ old[a:b]) / (
                    np.linalg.norm(old[a:b]) + 1e-9):
                break
            count += 1
        return count * piece

    @staticmethod
    def _fit(samples: np.ndarray, k0: int, d: np.ndarray) -> np.ndarray:
        """The echo path by least squares, the line's samples from `k0` on against the microphone `d` they
        reached: the adaptive filter's starting point, so it cancels from the first sample instead of converging
        over seconds."""
        n = len(d)
        ext = _segment(samples, k0 - (TAPS - 1 - PRE_TAPS), k0 + n + PRE_TAPS)
        x = np.lib.stride_tricks.sliding_window_view(ext, TAPS)[:n, ::-1]
        xtx = x.T @ x
        xtx[np.diag_indices(TAPS)] += 1e-7 * np.trace(xtx) / TAPS + 1e-9
        return np.linalg.solve(xtx, x.T @ d)

    def _reference(self, a: int, b: int, lines: list[_Line]) -> np.ndarray:
        """The played signal as it should reach microphone samples a..b (zeros where none is heard)."""
        ref = np.zeros(b - a)
        for line in lines:
            if not line.heard or line.delay is None:
                continue
            start = self._index(line.start) + round(line.delay * RATE)
            stop = min(start + len(line.samples), self._index(line.end) + round(line.delay * RATE))
            lo, hi = max(a, start), min(b, stop)
            if hi > lo:
                ref[lo - a:hi - a] += line.samples[lo - start:hi - start]
        return ref

    def _clean(self, a: int, b: int, lines: list[_Line]) -> np.ndarray:
        d = self._mic_slice(a, b)
        heard = [line for line in lines if line.heard]
        if not heard:
            return d
        newest = heard[-1]
        if self._w_line is not newest:  # a new line: start from the echo path fitted on its first part
            self._w_line = newest
            self._judged[:] = 0
            self._slipped = False
            if newest.taps is not None:
                self._w = newest.taps.copy()
        # the filter input runs PRE_TAPS ahead of the delay: tap k sees the reference (k - PRE_TAPS) samples late
        ref = self._reference(a - TAPS + 1 + PRE_TAPS, b + PRE_TAPS, lines)
        if not np.any(ref):
            return d
        out = np.empty_like(d)
        judged = np.zeros(3)
        windows = np.lib.stride_tricks.sliding_window_view(ref, TAPS)[:, ::-1]  # row i: ref[i+TAPS-1 … i]
        for i in range(0, len(d), BLOCK):
            x = windows[i:i + BLOCK]
            y = x @ self._w
            dd = d[i:i + BLOCK]
            e = dd - y
            ey, ee, de = float(y @ y), float(e @ e), float(dd @ dd)
            out[i:i + BLOCK] = 0.0 if self._slipped else e
            power = float(np.einsum("ij,ij->", x, x)) / max(1, len(x))
            if power > 1e3:
                judged += (de, ee, len(e))
                if ee < ey:  # adapt on echo alone; freeze while the person talks over it
                    self._w += MU * (x.T @ e) / (power * len(x) + 1e-9)
        self._judge(newest, judged, b)
        return out

    def _judge(self, line: _Line, judged: np.ndarray, at: int) -> None:
        """Adds this stretch's removal to the newest line's record; every RECHECK_S of echo, rechecks the delay
        when too little went."""
        self._judged += judged
        mic_energy, left, n = self._judged
        if n < RECHECK_S * RATE:
            return
        self._judged[:] = 0
        self._slipped = left > mic_energy
        if mic_energy > 0 and left > RECHECK_LEFT * mic_energy:
            self._recheck(line, at)


def _segment(samples: np.ndarray, a: int, b: int) -> np.ndarray:
    """samples[a:b], zeros where a..b runs outside the line."""
    out = np.zeros(b - a)
    lo, hi = max(a, 0), min(b, len(samples))
    if hi > lo:
        out[lo - a:hi - a] = samples[lo:hi]
    return out


def _match(long: np.ndarray, short: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`short` slid along `long`: the normalised cross-correlation at each lag (|value| ≤ 1) and the raw one."""
    n = 1 << int(np.ceil(np.log2(len(long) + len(short))))
    corr = np.fft.irfft(np.fft.rfft(long, n) * np.conj(np.fft.rfft(short, n)), n)[:len(long) - len(short) + 1]
    csum = np.concatenate([[0.0], np.cumsum(long ** 2)])
    energy = csum[len(short):] - csum[:-len(short)]
    return corr / (np.sqrt(np.maximum(energy, 1e-9)) * max(float(np.linalg.norm(short)), 1e-9)), corr
