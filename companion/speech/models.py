"""Recognizer models (Vosk zips, Whisper file sets) and Piper voices (.onnx + .onnx.json): the manifest, and
download / install / list / remove of model folders in models_dir(). It never writes outside the models
directory, and a model folder appears whole (checked) or not at all."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import stat
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

from companion.core import paths
from companion.speech import model_download
from companion.speech.model_download import DownloadError, mb, sha256_file

log = logging.getLogger(__name__)

Report = Callable[[str], None]

PACKAGE_MANIFEST = "models.toml"  # in companion/data/: the one list of models
LOCAL_MANIFEST = "manifest.toml"  # in models_dir(): optional local additions / replacements
DOWNLOADS = ".downloads"  # partial downloads, inside models_dir()
PARTS = ".parts"  # suffix of the folder in DOWNLOADS where a multi-file model's files gather
SPACE_FACTOR = 2.5  # the zip plus its unpacked folder
FILES_SPACE_FACTOR = 1.1  # separate files are moved into place, not unpacked: only a margin
KINDS = ("vosk", "whisper", "piper")
KIND_LABELS = {"vosk": "Vosk", "whisper": "Whisper (CTranslate2)", "piper": "Piper voice"}
#: what a Whisper folder needs (faster-whisper would fetch a missing tokenizer from the network)
WHISPER_FILES = (("model.bin", "the model weights"), ("config.json", "the model configuration"),
                 ("tokenizer.json", "the tokenizer"))
WHISPER_VOCABULARY = ("vocabulary.txt", "vocabulary.json")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ModelError(Exception):
    """Something about a model went wrong; the message says what and how to fix it."""


@dataclass(frozen=True)
class ModelFile:
    """One file of a multi-file model (Whisper): its name in the model folder, address, exact size, SHA-256."""

    path: str
    url: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ModelInfo:
    """A manifest entry. Vosk: url/size/sha256 describe the zip. Whisper: `files` lists every file; url is the
    folder they come from, size their total, sha256 empty (each file has its own)."""

    name: str
    language: str
    url: str
    size: int
    sha256: str
    sample_rate: int
    kind: str = "vosk"
    description: str = ""
    files: tuple[ModelFile, ...] = ()
    licence: str = ""  # shown before download (Piper voices: from the voice card)
    card: str = ""  # the address of the model's card


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    language: str
    size_bytes: int
    problems: tuple[str, ...] = ()  # empty for a complete model
    kind: str = "vosk"


# ---------------------------------------------------------------- manifest

def load_manifest() -> list[ModelInfo]:
    """The package's models.toml, then any entries in <models_dir>/manifest.toml (same name replaces)."""
    text = resources.files("companion").joinpath("data", PACKAGE_MANIFEST).read_text(encoding="utf-8")
    entries, _ = _parse_manifest(text, f"companion/data/{PACKAGE_MANIFEST}")
    local = paths.models_dir() / LOCAL_MANIFEST
    if local.is_file():
        extra, _ = _parse_manifest(local.read_text(encoding="utf-8"), str(local))
        by_name = {e.name: e for e in entries}
        for e in extra:
            by_name[e.name] = e
        entries = list(by_name.values())
    return entries


def default_model_name() -> str:
    text = resources.files("companion").joinpath("data", PACKAGE_MANIFEST).read_text(encoding="utf-8")
    _, default = _parse_manifest(text, f"companion/data/{PACKAGE_MANIFEST}")
    return default or load_manifest()[0].name


def _parse_manifest(text: str, source: str) -> tuple[list[ModelInfo], str | None]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{source}: not valid TOML ({exc}); fix the file or remove it") from None
    raw = data.get("model", [])
    if not isinstance(raw, list):
        raise ModelError(f"{source}: models must be [[model]] tables")
    out: list[ModelInfo] = []
    for i, entry in enumerate(raw, 1):
        where = f"{source}: model #{i}"
        if not isinstance(entry, dict):
            raise ModelError(f"{where} is not a table")

        def need(key: str, kind: type, _entry: dict = entry, _where: str = where) -> object:
            value = _entry.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ModelError(f"{_where}: '{key}' is missing or not a {kind.__name__}")
            return value

        name = str(need("name", str))
        where = f"{source}: model {name!r}"
        if not _NAME.match(name):
            raise ModelError(f"{where}: the name may use only letters, digits and . _ + -")
        kind = str(entry.get("kind", "vosk"))
        if kind not in KINDS:
            raise ModelError(f"{where}: kind {kind!r} is not supported (\"vosk\", \"whisper\" or \"piper\")")
        files: tuple[ModelFile, ...] = ()
        if kind in ("whisper", "piper"):
            files = _parse_files(entry.get("file"), where, kind)
            url, size, sha = files[0].url.rsplit("/", 1)[0] + "/", sum(f.size for f in files), ""
        else:
            url, size, sha = _checked_source(entry, where, "the archive's", "FILE.zip")
        if any(m.name == name for m in out):
            raise ModelError(f"{where} is listed twice")
        out.append(ModelInfo(name=name, language=str(need("language", str)), url=url, size=size, sha256=sha,
                             sample_rate=int(entry.get("sample_rate", 16000)), kind=kind,
                             description=str(entry.get("description", "")), files=files,
                             licence=str(entry.get("licence", "")), card=str(entry.get("card", ""))))
    default = data.get("default")
    if default is not None and not any(m.name == default for m in out):
        raise ModelError(f"{source}: default {default!r} is not one of the listed models")
    return out, default


def _checked_source(table: dict, where: str, what: str, example: str) -> tuple[str, int, str]:
    """The url, size and sha256 of a zip entry or of one [[model.file]], each checked."""
    for key, kind in (("url", str), ("size", int), ("sha256", str)):
        value = table.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ModelError(f"{where}: '{key}' is missing or not a {kind.__name__}")
    url, size, sha = str(table["url"]), int(table["size"]), str(table["sha256"]).lower()
    try:
        model_download.check_url(url)
    except DownloadError as exc:
        raise ModelError(f"{where}: {exc}") from None
    if size <= 0:
        raise ModelError(f"{where}: 'size' must be {what} size in bytes")
    if not _HEX64.match(sha):
        raise ModelError(f"{where}: 'sha256' must be 64 hexadecimal digits (`sha256sum {example}`)")
    return url, size, sha


def _parse_files(raw: object, where: str, kind: str = "whisper") -> tuple[ModelFile, ...]:
    """The [[model.file]] tables of a Whisper or Piper entry: flat file names, each with url, size and sha256."""
    if not isinstance(raw, list) or not raw:
        raise ModelError(f"{where}: a {kind} model lists its files as [[model.file]] tables "
                         "(path, url, size, sha256)")
    files: list[ModelFile] = []
    for j, table in enumerate(raw, 1):
        if not isinstance(table, dict) or not isinstance(table.get("path"), str):
            raise ModelError(f"{where}: file #{j} needs a 'path' (the file's name in the model folder)")
        path = table["path"]
        at = f"{where}: file {path!r}"
        if not _NAME.match(path):
            raise ModelError(f"{at}: a file name may use only letters, digits and . _ + - (no folders)")
        if any(f.path == path for f in files):
            raise ModelError(f"{at} is listed twice")
        url, size, sha = _checked_source(table, at, "the file's", path)
        files.append(ModelFile(path, url, size, sha))
    names = {f.path for f in files}
    missing = _piper_problems(names) if kind == "piper" else _whisper_problems(names)
    if missing:
        raise ModelError(f"{where}: the files would not make a usable model: {'; '.join(missing)}")
    return tuple(files)


def manifest_entry(name: str) -> ModelInfo | None:
    return next((m for m in load_manifest() if m.name == name), None)


# ---------------------------------------------------------------- installed models

def model_kind(path: Path) -> str:
    """"piper" for a folder holding a .onnx voice, "whisper" for one that holds (or is named for) a CTranslate2
    Whisper model, else "vosk"."""
    if path.is_dir() and any(p.suffix == ".onnx" for p in path.iterdir()):
        return "piper"
    markers = ("model.bin", "tokenizer.json", *WHISPER_VOCABULARY)
    if any((path / m).is_file() for m in markers) or path.name.lower().startswith("whisper"):
        return "whisper"
    return "vosk"


def _whisper_problems(names: set[str]) -> list[str]:
    problems = [f"missing {f} ({what})" for f, what in WHISPER_FILES if f not in names]
    if not any(v in names for v in WHISPER_VOCABULARY):
        problems.append("missing vocabulary.txt or vocabulary.json (the vocabulary)")
    return problems


def _piper_problems(names: set[str]) -> list[str]:
    """A Piper voice is one NAME.onnx with its NAME.onnx.json."""
    voices = [n for n in names if n.endswith(".onnx")]
    if len(voices) != 1:
        return [f"expected one .onnx voice file, found {len(voices)}"]
    if voices[0] + ".json" not in names:
        return [f"missing {voices[0]}.json (the voice configuration)"]
    return []


def piper_files(path: Path) -> tuple[Path | None, Path | None]:
    """The .onnx and .onnx.json of a Piper voice folder (None for what is missing)."""
    model = next(iter(sorted(path.glob("*.onnx"))), None) if path.is_dir() else None
    config = model.with_name(model.name + ".json") if model is not None else None
    return model, config if config is not None and config.is_file() else None


def check_model_dir(path: Path, kind: str | None = None) -> list[str]:
    """What is missing for a model folder: Whisper (model.bin, config.json, tokenizer.json, vocabulary), Piper
    (NAME.onnx + NAME.onnx.json), or Vosk (current am/ conf/ graph/ layout, or the old flat one). kind None:
    told by the folder's files."""
    if not path.is_dir():
        return [f"{path} is not a folder"]
    if (kind or model_kind(path)) == "piper":
        present = {p.name for p in path.iterdir() if p.is_file()}
        empty = [f"{n} is empty (an interrupted copy?)" for n in sorted(present)
                 if n.endswith((".onnx", ".onnx.json")) and not (path / n).stat().st_size]
        return _piper_problems(present) + empty
    if (kind or model_kind(path)) == "whisper":
        present = {p.name for p in path.iterdir() if p.is_file()}
        empty = [f"{n} is empty (an interrupted copy?)" for n in sorted(present)
                 if n in {f for f, _ in WHISPER_FILES} | set(WHISPER_VOCABULARY) and not (path / n).stat().st_size]
        return _whisper_problems(present) + empty
    if (path / "am").is_dir() or not (path / "final.mdl").is_file():
        am, mfcc, graph = path / "am" / "final.mdl", path / "conf" / "mfcc.conf", path / "graph"
    else:  # the first Vosk models kept everything at the top
        am, mfcc, graph = path / "final.mdl", path / "mfcc.conf", path
    problems = []
    if not am.is_file():
        problems.append(f"missing {am.relative_to(path)} (the acoustic model)")
    if not mfcc.is_file():
        problems.append(f"missing {mfcc.relative_to(path)} (the feature configuration)")
    split_graph = (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    if not ((graph / "HCLG.fst").is_file() or split_graph):
        rel = graph.relative_to(path)
        where = f"{rel}/" if str(rel) != "." else ""
        problems.append(f"missing {where}HCLG.fst or {where}HCLr.fst + {where}Gr.fst (the decoding graph)")
    return problems


def installed_models(*, include_incomplete: bool = False) -> list[InstalledModel]:
    """Model folders in models_dir(), in manifest order then by name; complete ones only unless asked."""
    root = paths.models_dir()
    if not root.is_dir():
        return []
    try:
        manifest = {m.name: m for m in load_manifest()}
    except ModelError:
        manifest = {}
    order = list(manifest)
    found = []
    for child in sorted(root.iterdir()):
        if child.name.startswith(".") or not child.is_dir():  # a symlink to a model folder counts
            continue
        entry = manifest.get(child.name)
        kind = entry.kind if entry else model_kind(child)
        problems = tuple(check_model_dir(child, kind))
        if problems and not include_incomplete:
            continue
        language = entry.language if entry else guess_language(child.name)
        found.append(InstalledModel(child.name, child, language, _tree_size(child), problems, kind))
    found.sort(key=lambda m: (order.index(m.name) if m.name in order else len(order), m.name))
    return found


def find_installed_vosk_model(lang: str = "en") -> Path | None:
    """The complete installed model for lang ("en" also matches "en-us"), preferring manifest order."""
    want = lang.lower().replace("_", "-")
    for model in installed_models():
        have = model.language.lower()
        if model.kind == "vosk" and (have == want or have.startswith(want + "-")):
            return model.path
    return None


def find_installed_whisper_model(name: str | None = None) -> Path | None:
    """The complete installed Whisper model folder called name, or (name None) the first one in manifest
    order (whisper-tiny.en before whisper-base.en); None when there is none."""
    for model in installed_models():
        if model.kind == "whisper" and (name is None or model.name == name):
            return model.path
    return None


def find_installed_piper_voice(name: str | None = None) -> Path | None:
    """The complete installed Piper voice folder called name (or the first one); None when there is none.
    Voices shipped in Python packages are found by companion.speech.piper_tts, not here."""
    for model in installed_models():
        if model.kind == "piper" and (name is None or model.name == name):
            return model.path
    return None


def guess_language(name: str) -> str:
    """Language from a Vosk-style folder name: vosk-model-small-en-us-0.15 -> en-us,
    vosk-model-de-tuda-0.6 -> de; whisper-*.en -> en; Piper en_US-joe-medium -> en-us; '' when the name follows
    no known pattern."""
    piper = re.match(r"^([a-z]{2,3})_([A-Z]{2})-", name)
    if piper:
        return f"{piper.group(1)}-{piper.group(2).lower()}"
    if name.lower().startswith("whisper"):
        return "en" if name.lower().endswith(".en") else ""
    words = name.lower().split("-")
    if words[:2] != ["vosk", "model"]:
        return ""
    words = [w for w in words[2:] if w != "small"]
    if not words or not words[0].isalpha():
        return ""
    region = words[1:2] if len(words) > 1 and len(words[1]) == 2 and words[1].isalpha() else []
    return "-".join(words[:1] + region)


def partial_downloads() -> dict[str, int]:
    """name -> bytes already downloaded, for interrupted downloads that can resume."""
    folder = paths.models_dir() / DOWNLOADS
    if not folder.is_dir():
        return {}
    found = {p.name.removesuffix(".zip.part"): p.stat().st_size for p in folder.glob("*.zip.part")}
    found.update({p.name.removesuffix(PARTS): _tree_size(p) for p in folder.glob(f"*{PARTS}") if p.is_dir()})
    return found


def remove_model(name: str) -> None:
    """Deletes an installed model folder (and any partial download of it)."""
    _check_name(name)
    root = paths.models_dir()
    target = root / name
    part = root / DOWNLOADS / f"{name}.zip.part"
    parts = root / DOWNLOADS / f"{name}{PARTS}"
    if not target.is_dir() and not part.exists() and not parts.is_dir():
        have = ", ".join(m.name for m in installed_models(include_incomplete=True)) or "none"
        raise ModelError(f"no model named {name!r} is installed in {root} (installed: {have})")
    if target.is_symlink():
        target.unlink()
    elif target.is_dir():
        aside = Path(tempfile.mkdtemp(dir=root, prefix=".removing-"))
        target.rename(aside / name)  # one rename: the model is gone at once, even if deleting is slow
        shutil.rmtree(aside)
    part.unlink(missing_ok=True)
    shutil.rmtree(parts, ignore_errors=True)


# ---------------------------------------------------------------- download / install

def disk_free(path: Path) -> int:
    """Free bytes on the filesystem that holds path (the nearest existing folder)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def download_model(name: str, *, dest: Path | None = None, progress: bool = True, url: str | None = None,
                   report: Report | None = None) -> Path:
    """Fetches, verifies and installs a manifest model into dest (models_dir()); returns its folder.

    url replaces the manifest's address (a mirror): for a Whisper model it is the folder the files are fetched
    from (url/model.bin, ...). Sizes and SHA-256 are still checked. A name that is not in the manifest needs
    url, is taken for a Vosk zip and is installed unverified. An interrupted download resumes next time.
    """
    say = report or log.info
    _check_name(name)
    entry = manifest_entry(name)
    if entry is None and url is None:
        known = ", ".join(m.name for m in load_manifest())
        raise ModelError(f"no model named {name!r} in the manifest (known: {known}); "
                         "give its address with --url, or install a zip you have with "
                         "`companion model install FILE.zip`")
    root = dest or paths.models_dir()
    target = root / name
    if target.is_dir() and not check_model_dir(target, entry.kind if entry else None):
        say(f"{name} is already installed in {target}")
        return target
    if entry is not None and entry.files:
        sources = [f.url if url is None else f"{url.rstrip('/')}/{f.path}" for f in entry.files]
    else:
        sources = [url or entry.url]  # type: ignore[union-attr]
    try:
        for source in sources:
            model_download.check_url(source)
    except DownloadError as exc:
        raise ModelError(str(exc)) from None
    _ensure_dir(root)
    with _one_download_at_a_time(root / DOWNLOADS):
        if entry is not None and entry.files:
            return _download_files_locked(entry, sources, root, progress, say)
        return _download_locked(name, entry, sources[0], root, progress, say)


@contextlib.contextmanager
def _one_download_at_a_time(folder: Path) -> Iterator[None]:
    """Holds an exclusive lock on the downloads folder, so two runs never write the same .part file."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # no flock on this system: go ahead unguarded
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelError("another `companion model download` is running; wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _download_locked(name: str, entry: ModelInfo | None, source: str, root: Path, progress: bool,
                     say: Report) -> Path:
    size = entry.size if entry else None
    part = root / DOWNLOADS / f"{name}.zip.part"
    have = part.stat().st_size if part.exists() else 0
    if size is not None:
        need = int(size * SPACE_FACTOR) - have
        free = disk_free(root)
        if free < need:
            raise ModelError(f"not enough free space in {root}: {name} needs about {mb(need)} "
                             f"(download and unpacking), {mb(free)} free. Free some space, or set "
                             "COMPANION_MODELS_DIR to a folder on another disk")
    if have:
        say(f"resuming the download of {name} at {mb(have)} of {mb(size)}")
    try:
        digest = model_download.fetch(source, part, size=size, progress=progress, desc=name, report=say)
    except DownloadError as exc:
        raise ModelError(str(exc)) from None
    if entry is not None:
        got = part.stat().st_size
        if got != entry.size or digest != entry.sha256:
            part.unlink()
            raise ModelError(f"the downloaded {name} is not the expected file (SHA-256 {digest}, "
                             f"{got} bytes; expected {entry.sha256}, {entry.size} bytes). It was deleted and "
                             "nothing was installed; run the command again; if it keeps happening, the file "
                             "on the server has changed")
    else:
        say(f"{name} is not in the manifest, so its checksum could not be verified (SHA-256 {digest})")
    try:
        path = _install_archive(part, root, name)
    except ModelError:
        part.unlink(missing_ok=True)  # verified but unusable: downloading it again would not help
        raise
    except OSError as exc:
        raise ModelError(f"could not unpack {name} into {root} ({exc}); the verified download is kept: "
                         "run the command again once that is fixed (it will not download again)") from None
    part.unlink(missing_ok=True)
    say(f"installed {name} in {path}")
    return path


def _download_files_locked(entry: ModelInfo, sources: list[str], root: Path, progress: bool,
                           say: Report) -> Path:
    """A multi-file model: each file into DOWNLOADS/<name>.parts (resumable), checked against its size and
    SHA-256, then the whole folder renamed into place. A file that fails its check empties that folder."""
    name = entry.name
    staging = root / DOWNLOADS / f"{name}{PARTS}"
    staging.mkdir(parents=True, exist_ok=True)
    have = _tree_size(staging)
    need = int(entry.size * FILES_SPACE_FACTOR) - have
    free = disk_free(root)
    if free < need:
        raise ModelError(f"not enough free space in {root}: {name} needs about {mb(need)}, {mb(free)} free. "
                         "Free some space, or set COMPANION_MODELS_DIR to a folder on another disk")
    if have:
        say(f"resuming the download of {name} at {mb(have)} of {mb(entry.size)}")
    for file, source in zip(entry.files, sources, strict=True):
        _fetch_file(name, file, source, staging, progress, say)
    work = Path(tempfile.mkdtemp(dir=root, prefix=".installing-"))
    try:
        staging.rename(work / name)
        path = _move_into_place(work / name, root / name, work)
    except OSError as exc:
        if (work / name).is_dir() and not staging.exists():
            (work / name).rename(staging)  # keep the verified files for the next run
        raise ModelError(f"could not move {name} into {root} ({exc}); the verified download is kept: run "
                         "the command again once that is fixed (it will not download again)") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"installed {name} in {path}")
    return path


def _fetch_file(name: str, file: ModelFile, source: str, staging: Path, progress: bool, say: Report) -> None:
    """One file of a multi-file model into staging/<path>, verified; a verified copy from before is kept."""
    done = staging / file.path
    if done.is_file():
        if done.stat().st_size == file.size and sha256_file(done) == file.sha256:
            return
        done.unlink()
    part = staging / f"{file.path}.part"
    try:
        digest = model_download.fetch(source, part, size=file.size, progress=progress, desc=f"{name}/{file.path}",
                                      report=say)
    except DownloadError as exc:
        raise ModelError(str(exc)) from None
    got = part.stat().st_size
    if got != file.size or digest != file.sha256:
        shutil.rmtree(staging)
        raise ModelError(f"the downloaded {file.path} of {name} is not the expected file (SHA-256 {digest}, "
                         f"{got} bytes; expected {file.sha256}, {file.size} bytes). It was deleted and nothing "
                         "was installed; run the command again; if it keeps happening, the file on the server "
                         "has changed")
    part.rename(done)


def install_zip(path: Path, *, dest: Path | None = None, report: Report | None = None,
                name: str | None = None) -> Path:
    """Installs a model zip you already have (offline); verified when it matches a manifest entry.

    An unpacked model folder is accepted too (copied in after the same layout check): a Vosk folder, or a
    Whisper folder (model.bin, config.json, tokenizer.json, vocabulary.txt), verified file by file when it
    matches a manifest entry and then installed under that entry's name. name: install under this name."""
    say = report or log.info
    path = Path(path)
    root = dest or paths.models_dir()
    if name is not None:
        _check_name(name)
    if path.is_dir():
        return _install_folder(path, root, say, name)
    if not path.is_file():
        raise ModelError(f"{path} does not exist; give the path of a model .zip archive (or unpacked folder)")
    stem = path.name.removesuffix(".zip")
    size = path.stat().st_size
    manifest = [m for m in load_manifest() if not m.files]
    by_name = next((m for m in manifest if m.name == stem or m.url.rsplit("/", 1)[-1] == path.name), None)
    by_size = [m for m in manifest if m.size == size]
    matched: str | None = None
    if by_name is not None or by_size:
        digest = sha256_file(path)
        match = next((m for m in [by_name, *by_size] if m is not None and m.sha256 == digest), None)
        if match is not None:
            say(f"{path.name} matches the manifest's {match.name} (SHA-256 verified)")
            matched = match.name
        elif by_name is not None:
            raise ModelError(f"{path} is named like {by_name.name} but is not that file (SHA-256 {digest}, "
                             f"{size} bytes; expected {by_name.sha256}, {by_name.size} bytes). It may be "
                             "damaged or incomplete; nothing was installed")
    if matched is None:
        say(f"{path.name} is not in the manifest; installing it without a checksum check")
    _ensure_dir(root)
    try:
        installed = _install_archive(path, root, name or matched)
    except OSError as exc:
        raise ModelError(f"could not unpack {path.name} into {root} ({exc}); nothing was installed") from None
    say(f"installed {installed.name} in {installed}")
    return installed


def _install_folder(folder: Path, root: Path, say: Report, name: str | None = None) -> Path:
    """Copies an unpacked model folder in (through a temporary folder, so it appears whole or not at all)."""
    kind = model_kind(folder)
    problems = check_model_dir(folder, kind)
    if problems:
        raise ModelError(f"{folder} does not look like a {KIND_LABELS[kind]} model: " + "; ".join(problems)
                         + ". Nothing was installed")
    how = "no checksum to check"
    if kind in ("whisper", "piper"):
        match = _matching_files_entry(folder, name)
        if match is not None:
            name, how = name or match.name, f"SHA-256 of every file verified against {match.name}"
        else:
            say(f"{folder} matches no {KIND_LABELS[kind]} in the manifest; installing it without a checksum "
                "check")
    name = name or folder.name
    _check_name(name)
    _ensure_dir(root)
    if folder.resolve() == (root / name).resolve():
        raise ModelError(f"{folder} is already in the models folder")
    need, free = _tree_size(folder), disk_free(root)
    if free < need:
        raise ModelError(f"not enough free space in {root}: copying {folder.name} needs {mb(need)}, "
                         f"{mb(free)} free")
    work = Path(tempfile.mkdtemp(dir=root, prefix=".installing-"))
    try:
        shutil.copytree(folder, work / name)
        installed = _move_into_place(work / name, root / name, work)
    except OSError as exc:
        raise ModelError(f"could not copy {folder} into {root} ({exc}); nothing was installed") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"installed {installed.name} in {installed} (copied from a folder; {how})")
    return installed


def _matching_files_entry(folder: Path, name: str | None) -> ModelInfo | None:
    """The multi-file manifest entry whose every file the folder holds byte for byte (sizes first, then
    SHA-256). When name is such an entry, the folder must be that model or it is refused."""
    entries = [m for m in load_manifest() if m.files]
    wanted = next((m for m in entries if m.name == name), None)
    hashes: dict[str, str] = {}

    def holds(entry: ModelInfo) -> bool:
        for f in entry.files:
            p = folder / f.path
            if not p.is_file() or p.stat().st_size != f.size:
                return False
            if f.path not in hashes:
                hashes[f.path] = sha256_file(p)
            if hashes[f.path] != f.sha256:
                return False
        return True

    if wanted is not None:
        if not holds(wanted):
            raise ModelError(f"{folder} is not the manifest's {wanted.name}: its files differ in size or SHA-256 "
                             "(damaged, incomplete or another model). Nothing was installed; give another "
                             "--name to install it unverified")
        return wanted
    return next((m for m in entries if holds(m)), None)


def _install_archive(archive: Path, root: Path, name: str | None) -> Path:
    """Unpacks into a temporary folder inside root, checks the layout, then renames it into place.

    name None: the archive's single top folder, else the archive's file name without .zip.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members = _safe_members(zf, archive)
            total = sum(info.file_size for info, _ in members)
            free = disk_free(root)
            if free < total:
                raise ModelError(f"not enough free space in {root}: unpacking {archive.name} needs "
                                 f"{mb(total)}, {mb(free)} free")
            work = Path(tempfile.mkdtemp(dir=root, prefix=".installing-"))
            try:
                _extract(zf, members, work)
                tops = [p for p in work.iterdir() if p.name != "__MACOSX"]
                if len(tops) == 1 and tops[0].is_dir():
                    model_root, default_name = tops[0], tops[0].name
                else:
                    model_root, default_name = work, archive.name.removesuffix(".part").removesuffix(".zip")
                name = name or default_name
                _check_name(name)
                kind = model_kind(model_root)
                problems = check_model_dir(model_root, kind)
                if problems:
                    raise ModelError(f"{archive.name} does not look like a {KIND_LABELS[kind]} model: "
                                     + "; ".join(problems) + ". Nothing was installed")
                return _move_into_place(model_root, root / name, work)
            finally:
                if work.exists():
                    shutil.rmtree(work)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{archive} is not a readable zip archive ({exc}); it may be damaged or "
                         "incomplete. Nothing was installed") from None


def _move_into_place(model_root: Path, target: Path, work: Path) -> Path:
    if target.is_symlink() or target.exists():
        if target.is_dir() and not target.is_symlink() and check_model_dir(target):
            # an incomplete older copy: replace it, swapping in one rename
            old = work.parent / f"{work.name}-old"
            target.rename(old)
            try:
                model_root.rename(target)
            except OSError:
                old.rename(target)
                raise
            shutil.rmtree(old)
            return target
        raise ModelError(f"{target.name} is already installed in {target}; remove it first with "
                         f"`companion model remove {target.name}`")
    model_root.rename(target)
    return target


def _safe_members(zf: zipfile.ZipFile, archive: Path) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Every entry with its path parts; the whole archive is refused if any entry could escape the target."""
    out = []
    for info in zf.infolist():
        raw = info.filename
        parts = tuple(p for p in PurePosixPath(raw).parts if p not in ("", "."))
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        reason = None
        if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw):
            reason = "an absolute path"
        elif "\\" in raw or ".." in parts or "\0" in raw:
            reason = "a path that leaves the model folder"
        elif kind == stat.S_IFLNK:
            reason = "a symbolic link"
        elif kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            reason = "a special file"
        elif info.flag_bits & 0x1:
            reason = "an encrypted file"
        if reason:
            raise ModelError(f"refusing {archive.name}: entry {raw!r} is {reason}. Nothing was installed")
        if parts:
            out.append((info, parts))
    return out


def _extract(zf: zipfile.ZipFile, members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]], work: Path) -> None:
    base = work.resolve()
    for info, parts in members:
        target = work.joinpath(*parts)
        if not target.resolve().is_relative_to(base):  # belt and braces after _safe_members
            raise ModelError(f"refusing entry {info.filename!r}: it leaves the model folder")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, 1024 * 1024)


def _ensure_dir(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the models folder {root}: {exc.strerror}; set COMPANION_MODELS_DIR "
                         "to a folder you can write") from None
    if not os.access(root, os.W_OK):
        raise ModelError(f"the models folder {root} is not writable; set COMPANION_MODELS_DIR to one that is")


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ModelError(f"{name!r} is not a model name (letters, digits and . _ + - only)")


def _tree_size(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total
