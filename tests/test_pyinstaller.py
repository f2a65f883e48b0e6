"""installer/companion.spec builds a one-folder app that starts and answers, with its native parts inside."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

pytestmark = [pytest.mark.slow, pytest.mark.real]


@pytest.fixture(scope="module")
def built_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not sys.platform.startswith("linux"):
        pytest.skip("the build test runs on Linux")
    pyinstaller = Path(sys.executable).with_name("pyinstaller")
    if not pyinstaller.exists():
        pytest.skip("pyinstaller is not installed (pip install -e .[test])")
    out = tmp_path_factory.mktemp("pyinstaller")
    result = subprocess.run([str(pyinstaller), "--noconfirm", "--log-level", "WARN",
                             "--distpath", str(out / "dist"), "--workpath", str(out / "build"),
                             str(REPO / "installer" / "companion.spec")],
                            cwd=out, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-4000:]
    return out / "dist" / "companion"


def run_app(app: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    environ.update(env)
    return subprocess.run([str(app / "companion"), *args], capture_output=True, text=True, timeout=180,
                          env=environ, cwd=app.parent)


@pytest.mark.timeout(1800)
def test_one_folder_build_runs(built_app: Path, tmp_path: Path):
    internal = built_app / "_internal"
    assert (internal / "vosk" / "libvosk.so").is_file()
    assert list((internal / "pocketsphinx" / "model").rglob("mdef")), "pocketsphinx acoustic model missing"
    assert (internal / "companion" / "data" / "checkins.yaml").is_file()
    assert (internal / "companion" / "data" / "autostart" / "companion.desktop").is_file()

    version = run_app(built_app, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip().startswith("companion ")

    if (REPO / "companion" / "cli" / "intent.py").is_file():
        intent = run_app(built_app, "intent", "--json", "stop")
        assert intent.returncode == 0, intent.stderr
        assert '"intent": "stop"' in intent.stdout
    else:
        doctor = run_app(built_app, "doctor")
        assert doctor.returncode == 0, doctor.stderr

    # The frozen app's autostart entry starts the frozen app itself.
    xdg = tmp_path / "xdg"
    on = run_app(built_app, "autostart", "on", XDG_CONFIG_HOME=str(xdg))
    assert on.returncode == 0, on.stderr
    entry = (xdg / "autostart" / "companion.desktop").read_text()
    assert f"Exec={built_app / 'companion'} tray" in entry
