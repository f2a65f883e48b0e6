"""The Whisper recognizer (faster-whisper, CTranslate2): buffers one utterance cut by our VAD and transcribes
it in final(). Never downloads (a local model folder only) and never streams partial text."""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Any

from companion.speech.recognizer import Hypothesis

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000
INSTALL_HINT = "pip install 'companion[whisper]'"
DOWNLOAD_HINT = "companion model download whisper-tiny.en"
#: a segment whose no-speech probability is above this gets confidence 0 (faster-whisper's own default)
NO_SPEECH_THRESHOLD = 0.6
#: utterances quieter than this RMS (about -60 dBFS) are silence: "" without decoding (Whisper invents
#: "you" or "Thank you." on near-silence, and every decode costs a fixed ~0.5 s)
SILENCE_RMS = 0.001
MIN_SAMPLES = SAMPLE_RATE // 10  # under 0.1 s there is nothing to recognise
#: Beam search width. 5 (faster-whisper's own default) against greedy decoding: +1.6 points clean and +1.2 in room
#: audio on a regression set, at a median cost measured by scripts/bench_listen.py (docs/benchmarks/listening.md,
#: "Round 9"); the encoder's fixed 30-s window costs more than the wider search.
BEAM_SIZE = 5
_EDGE_PUNCTUATION = " \t\n.,!?;:\"'()[]-–—…"

_MODEL_LOCK = threading.Lock()
_MODELS: dict[tuple[Path, str, int], Any] = {}


def _problem(message: str) -> Exception:
    from companion.speech.recognizer import ModelProblem

    return ModelProblem(message)


def model_problems(model_dir: Path) -> list[str]:
    """Why a folder is not a usable Whisper model ([] when it looks whole), via the model manager's check."""
    from companion.speech.models import check_model_dir

    return check_model_dir(Path(model_dir), "whisper")


def load_model(model_dir: Path, *, compute_type: str = "int8", cpu_threads: int = 2) -> Any:
    """Loads (once per process per folder and settings) a checked faster-whisper model; ModelProblem naming
    what is missing and the fix, or RecognizerError when faster-whisper is not installed."""
    model_dir = Path(model_dir).resolve()
    key = (model_dir, compute_type, cpu_threads)
    with _MODEL_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        problems = model_problems(model_dir)
        if problems:
            raise _problem(f"the Whisper model in {model_dir} is not usable: {'; '.join(problems)}. "
                           f"Reinstall it: `{DOWNLOAD_HINT}` (or `companion model install DIR`)")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            from companion.speech.recognizer import RecognizerError

            raise RecognizerError(f"faster-whisper is not installed: run `{INSTALL_HINT}`") from exc
        try:
            model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type,
                                 cpu_threads=cpu_threads, num_workers=1, local_files_only=True)
        except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError for damaged files
            raise _problem(f"faster-whisper could not load the model in {model_dir} ({exc}); it is probably "
                           f"damaged: reinstall it with `{DOWNLOAD_HINT}`") from exc
        _MODELS[key] = model
        return model


def normalise(text: str) -> str:
    """Whisper's text as the router wants it: one line, single spaces, no punctuation at either end."""
    return " ".join(text.split()).strip(_EDGE_PUNCTUATION)


def confidence(segments: list[Any]) -> float:
    """0..1: exp(avg_logprob) per segment weighted by its tokens; 0 for segments that are likely no speech."""
    weight = total = 0.0
    for seg in segments:
        n = max(len(getattr(seg, "tokens", ()) or ()), 1)
        p = 0.0 if seg.no_speech_prob > NO_SPEECH_THRESHOLD else math.exp(min(seg.avg_logprob, 0.0))
        weight += n
        total += n * p
    return total / weight if weight else 0.0


class WhisperRecognizer:
    """Whole-utterance recognition with faster-whisper. Open mode: the transcript as heard. Command mode
    returns the same text (Whisper has no grammar); the router decides what it means.

    After final(): last_raw (Whisper's own text), last_confidence (0..1), last_segments."""

    name = "whisper"

    def __init__(self, model_dir: Path, *, mode: str = "open", compute_type: str = "int8", cpu_threads: int = 2,
                 beam_size: int = BEAM_SIZE, language: str = "en") -> None:
        self.model_dir = Path(model_dir)
        self.mode = mode
        self.beam_size = beam_size
        self.language = language
        self._model = load_model(self.model_dir, compute_type=compute_type, cpu_threads=cpu_threads)
        self._chunks: list[bytes] = []
        self.last_raw = ""
        self.last_confidence = 0.0
        self.last_segments: list[Any] = []
        self.last_hypotheses: tuple[Hypothesis, ...] = ()

    #: Router confidence below which it asks again: Whisper's transcripts are nearly typed text, so it acts a little
    #: sooner than PocketSphinx (docs/benchmarks/listening.md, "Honest confidence"). No `clear_at`: one reading.
    repeat_below = 0.35

    def accept(self, pcm16: bytes) -> None:
        self._chunks.append(bytes(pcm16))

    def partial(self) -> str:
        return ""  # Whisper decodes whole utterances

    def final(self) -> str:
        """Ends the utterance: transcribes what accept() buffered and readies the next one."""
        import numpy as np

        pcm = b"".join(self._chunks)
        self._chunks = []
        self.last_raw, self.last_confidence, self.last_segments = "", 0.0, []
        self.last_hypotheses = ()
        audio = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).astype(np.float32) / 32768.0
        if len(audio) < MIN_SAMPLES or float(np.sqrt(np.mean(audio * audio))) < SILENCE_RMS:
            return ""
        segments, _info = self._model.transcribe(
            audio, language=self.language, beam_size=self.beam_size, temperature=0.0, vad_filter=False,
            condition_on_previous_text=False, without_timestamps=True)
        self.last_segments = list(segments)  # the generator does the decoding
        self.last_raw = "".join(seg.text for seg in self.last_segments).strip()
        self.last_confidence = confidence(self.last_segments)
        text = normalise(self.last_raw)
        self.last_hypotheses = (Hypothesis(text),) if text else ()
        return text

    def reset(self) -> None:
        self._chunks = []
