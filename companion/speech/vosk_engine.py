"""The Vosk recognizer: a local model, a runtime grammar of the template words in command mode (snapped to the
nearest template sentence), free speech in open mode. Never passes a word the model lacks; never downloads."""

from __future__ import annotations

import functools
import json
import logging
import re
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from companion.speech.grammar import DEFAULT_SNAP_CUTOFF, Grammar, snap, vosk_word_list
from companion.speech.recognizer import Hypothesis

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000
_FST_MAGIC = 2125659606
_SYMBOLS_MAGIC = 2125658996
_MODEL_LOCK = threading.Lock()


def _problem(message: str) -> Exception:
    from companion.speech.recognizer import ModelProblem

    return ModelProblem(message)


def model_problems(model_dir: Path) -> list[str]:
    """Why a directory is not a usable Vosk model ([] when it looks whole). Uses the model manager's check
    when it is there, plus the files this engine reads itself."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return [f"{model_dir} is not a directory"]
    problems: list[str] = []
    try:
        from companion.speech.models import check_model_dir
    except ImportError:
        check_model_dir = None
    if check_model_dir is not None:
        problems.extend(check_model_dir(model_dir))
    else:
        graph = model_dir / "graph"
        if not (model_dir / "am" / "final.mdl").is_file():
            problems.append("missing am/final.mdl (the acoustic model)")
        if not ((graph / "HCLG.fst").is_file() or ((graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file())):
            problems.append("missing graph/HCLG.fst or graph/HCLr.fst + graph/Gr.fst (the decoding graph)")
    for f in sorted(model_dir.rglob("*")):
        if f.is_file() and f.stat().st_size == 0 and f.suffix in {".mdl", ".fst", ".conf", ".mat"}:
            problems.append(f"{f.relative_to(model_dir)} is empty (an interrupted copy?)")
    return list(dict.fromkeys(problems))


def model_sample_rate(model_dir: Path) -> int:
    """The rate the model's features were trained at (conf/mfcc.conf; Kaldi's default is 16000)."""
    conf = Path(model_dir) / "conf" / "mfcc.conf"
    text = conf.read_text(errors="replace") if conf.is_file() else ""
    match = re.search(r"--sample-frequency=(\d+(?:\.\d+)?)", text)
    return int(float(match.group(1))) if match else 16000


@functools.lru_cache(maxsize=4)
def model_vocabulary(model_dir: Path) -> frozenset[str]:
    """Every word the model can output: graph/words.txt, else the symbol table inside Gr.fst or HCLG.fst."""
    graph = Path(model_dir) / "graph"
    words_txt = graph / "words.txt"
    if words_txt.is_file():
        with words_txt.open(encoding="utf-8", errors="replace") as f:
            return frozenset(line.split()[0] for line in f if line.strip())
    for name in ("Gr.fst", "HCLG.fst"):
        if (graph / name).is_file():
            return frozenset(_fst_output_symbols(graph / name))
    raise _problem(f"{model_dir}: no word list (graph/words.txt) and no FST with one; reinstall the model")


def _fst_output_symbols(path: Path) -> list[str]:
    """The output symbol table embedded in an OpenFst binary file (header, then isymbols, then osymbols)."""
    try:
        with path.open("rb") as f:
            def i32() -> int:
                return struct.unpack("<i", f.read(4))[0]

            def i64() -> int:
                return struct.unpack("<q", f.read(8))[0]

            def string() -> bytes:
                return f.read(i32())

            if i32() != _FST_MAGIC:
                raise ValueError("not an OpenFst file")
            string(), string()  # fst type, arc type
            _version, flags = i32(), i32()
            f.read(8 + 8 + 8 + 8)  # properties, start, states, arcs
            if not flags & 3:
                raise ValueError("no symbol table")
            tables: list[list[str]] = []
            for _ in range(2 if flags & 1 and flags & 2 else 1):
                if i32() != _SYMBOLS_MAGIC:
                    raise ValueError("bad symbol table")
                string()
                i64()  # available key
                size = i64()
                table = []
                for _ in range(size):
                    table.append(string().decode("utf-8", "replace"))
                    f.read(8)
                tables.append(table)
            return tables[-1]
    except (ValueError, struct.error, OSError) as exc:
        raise _problem(f"{path} is damaged or incomplete ({exc}); reinstall the model") from exc


_MODELS: dict[Path, Any] = {}


def load_model(model_dir: Path) -> Any:
    """Loads (once per process) a checked Vosk model; ModelProblem with the fix when it cannot."""
    model_dir = Path(model_dir).resolve()
    with _MODEL_LOCK:
        if model_dir in _MODELS:
            return _MODELS[model_dir]
        problems = model_problems(model_dir)
        if problems:
            raise _problem(f"the Vosk model in {model_dir} is not usable: {'; '.join(problems)}. "
                           "Reinstall it: `companion model download` or `companion model install DIR`")
        rate = model_sample_rate(model_dir)
        if rate != SAMPLE_RATE:
            raise _problem(f"the Vosk model in {model_dir} is made for {rate} Hz audio; companion listens at "
                           f"{SAMPLE_RATE} Hz. Install a 16 kHz model (e.g. vosk-model-small-en-us-0.15)")
        try:
            import vosk
        except ImportError as exc:
            raise _problem("vosk is missing: run `pip install vosk==0.3.45`") from exc
        vosk.SetLogLevel(-1)
        try:
            model = vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises bare Exception("Failed to create a model")
            raise _problem(f"Vosk could not load the model in {model_dir} ({exc}); it is probably damaged: "
                           "reinstall it with `companion model download`") from exc
        _MODELS[model_dir] = model
        return model


class VoskRecognizer:
    """Streaming Vosk recognition. Command mode: grammar words (+[unk] when the model has it), then snapping."""

    name = "vosk"

    def __init__(self, model_dir: Path, *, mode: str = "command", sentences: Sequence[str] = (),
                 snap_cutoff: float = DEFAULT_SNAP_CUTOFF) -> None:
        import vosk

        self.model_dir = Path(model_dir)
        self.mode = mode
        self._model = load_model(self.model_dir)
        self.vocabulary = model_vocabulary(self._model_key())
        self.snap_cutoff = snap_cutoff
        self.grammar = Grammar.build(sentences, self.vocabulary) if mode == "command" else Grammar((), frozenset())
        if mode == "command":
            self.words = vosk_word_list(self.grammar, self.vocabulary)
            if not self.grammar.sentences:
                from companion.speech.recognizer import RecognizerError

                raise RecognizerError(f"the Vosk model in {model_dir} knows none of the command sentences' words; "
                                      "is it a model for another language?")
            self._rec = vosk.KaldiRecognizer(self._model, SAMPLE_RATE, json.dumps(self.words, ensure_ascii=False))
        else:
            self.words = []
            self._rec = vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        self._rec.SetWords(True)
        self._split = [sentence.split() for sentence in self.grammar.sentences]
        self._segments: list[dict[str, Any]] = []
        self.last_raw = ""
        self.last_words: list[dict[str, Any]] = []
        self.last_confidence = 0.0
        self.last_hypotheses: tuple[Hypothesis, ...] = ()

    def _model_key(self) -> Path:
        return self.model_dir.resolve()

    @property
    def can_reject(self) -> bool:
        """Whether out-of-grammar speech can come out as [unk] (models without it force speech onto grammar
        words; snapping then only rejects what lands far from every sentence)."""
        return "[unk]" in self.vocabulary

    def accept(self, pcm16: bytes) -> None:
        if self._rec.AcceptWaveform(pcm16):  # Vosk's own endpointer closed a segment: keep it
            self._segments.append(json.loads(self._rec.Result()))

    def partial(self) -> str:
        live = json.loads(self._rec.PartialResult()).get("partial", "")
        return " ".join(t for t in [*(s.get("text", "") for s in self._segments), live] if t)

    def final(self) -> str:
        """Ends the utterance. Open mode: the free transcript. Command mode: a template sentence or ""."""
        self._segments.append(json.loads(self._rec.FinalResult()))
        self.last_words = [w for s in self._segments for w in s.get("result", [])]
        self.last_raw = " ".join(t for t in (s.get("text", "") for s in self._segments) if t)
        self._segments = []
        self._rec.Reset()
        confs = [float(w.get("conf", 0.0)) for w in self.last_words]
        self.last_confidence = sum(confs) / len(confs) if confs else 0.0
        text = self.last_raw if self.mode == "open" or not self.last_raw else \
            snap(self.last_raw, self.grammar.sentences, self.snap_cutoff, split=self._split).sentence
        self.last_hypotheses = (Hypothesis(text),) if text else ()
        return text

    def reset(self) -> None:
        self._rec.Reset()
        self._segments = []
