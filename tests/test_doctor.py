"""`companion doctor`: finishes on a bare machine naming each fix, reads config and data without changing
them, and sees a real (virtual) desktop and sound server when they are there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers import need, run_cli

from companion import doctor
from companion.core import paths

pytestmark = pytest.mark.timeout(120)

STATUSES = {"ok", "missing", "warn"}


def bare_env(**extra: str) -> dict[str, str]:
    """No display, no session bus, no sound server: what a fresh server or CI runner has."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "PULSE_SERVER"}}
    env["PULSE_SERVER"] = "unix:/nonexistent/pulse/native"  # never reach someone else's sound server
    env.update(extra)
    return env


def by_name(checks: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in checks}


def test_doctor_on_a_bare_machine_finishes_and_names_fixes() -> None:
    done = run_cli("doctor", env=bare_env(), timeout=90)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Traceback" not in done.stderr
    lines = [line for line in out.splitlines() if line[:2] in {"✓ ", "✗ ", "! "}]
    names = [line[2:].split(":")[0] for line in lines]
    for expected in ("Speech out", "Microphone", "Speaker", "Display", "Recognizer pocketsphinx",
                     "Recognizer vosk", "Global hotkey", "Notifications", "Config", "Data"):
        assert expected in names, out
    assert "✗ Display: no desktop" in out
    assert "✗ Microphone: no input device" in out and "apt install libportaudio2" in out
    assert "PulseAudio or PipeWire" in out
    assert "✗ Notifications: no D-Bus session bus" in out
    assert "✗ Global hotkey" in out and "companion breathe" in out
    assert "✓ Recognizer pocketsphinx" in out
    if "✗ Recognizer vosk" in out:
        assert "fix: companion model download vosk-model-small-en-us-0.15" in out
    assert f"✓ Config: {paths.config_file()} (not created yet: all defaults)" in out
    assert f"✓ Data: {paths.data_dir()} (writable; no history yet)" in out
    # Every line that is not ✓ carries its fix on the next line.
    all_lines = out.splitlines()
    for i, line in enumerate(all_lines):
        if line.startswith(("✗ ", "! ")):
            following = all_lines[i + 1:]
            fix_line = next(x for x in following if not x.startswith("    ") or x.startswith("    fix: "))
            assert fix_line.startswith("    fix: "), line
    assert "missing parts are optional" in out.lower()
    assert not paths.db_path().exists() and not paths.config_file().exists()  # doctor created nothing


def test_doctor_json_is_for_tools() -> None:
    done = run_cli("doctor", "--json", env=bare_env(), timeout=90)
    assert done.returncode == 0
    checks = json.loads(done.stdout)["checks"]
    assert all(set(c) == {"name", "status", "detail", "fix", "notes"} for c in checks)
    assert {c["status"] for c in checks} <= STATUSES
    assert all(c["fix"] for c in checks if c["status"] != "ok")
    named = by_name(checks)
    assert named["Display"]["status"] == "missing" and named["Data"]["status"] == "ok"


def test_doctor_shows_config_problems_with_lines() -> None:
    config = paths.config_file()
    config.write_text('[voice]\nrate = "fast"\n[vioce]\n')
    before = (config.read_bytes(), config.stat().st_mtime_ns)
    checks = by_name(json.loads(run_cli("doctor", "--json", env=bare_env(), timeout=90).stdout)["checks"])
    cfg = checks["Config"]
    assert cfg["status"] == "warn" and "2 problem(s)" in cfg["detail"]
    assert cfg["notes"] == [
        "config.toml, line 2: [voice] rate must be a whole number from 80 to 400, got 'fast'; using 165",
        "config.toml, line 3: unknown section [vioce]; did you mean [voice]?"]
    assert (config.read_bytes(), config.stat().st_mtime_ns) == before


def test_doctor_reports_history_size_and_an_unreadable_database_without_moving_it() -> None:
    from companion.core.store import Store

    with Store.open() as s:
        s.start_session("box-3", "breathe")
    [data] = doctor.check_data()
    assert data.status == "ok" and "1 session;" in data.detail and "KB" in data.detail
    paths.db_path().write_bytes(b"garbage" * 100)
    [check] = doctor.check_data()
    assert check.status == "warn" and "cannot be read" in check.detail and "moves it aside" in check.fix
    assert paths.db_path().read_bytes() == b"garbage" * 100
    assert list(paths.data_dir().glob("*corrupt*")) == []


def test_doctor_reports_an_unusable_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("COMPANION_DATA_DIR", str(blocker / "sub"))
    [check] = doctor.check_data()
    assert check.status == "missing" and "is a file, not a folder" in check.detail
    assert "COMPANION_DATA_DIR" in check.fix


def test_a_hanging_or_broken_check_cannot_stop_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hangs() -> list[doctor.Check]:
        release.wait(30)
        return []

    def breaks() -> list[doctor.Check]:
        raise RuntimeError("probe exploded")

    checks = (("Hangs", hangs), ("Breaks", breaks), ("Config", doctor.check_config))
    monkeypatch.setattr(doctor, "CHECKS", checks)
    try:
        checks = doctor.run_checks(timeout=0.5)
    finally:
        release.set()
    assert [(c.name, c.status) for c in checks] == [("Hangs", "warn"), ("Breaks", "warn"), ("Config", "ok")]
    assert "did not answer" in checks[0].detail and "probe exploded" in checks[1].detail


@pytest.mark.real
def test_doctor_sees_a_real_display_tray_and_sound_server(xdisplay: str, pulse: dict[str, str]) -> None:
    env = dict(pulse, DISPLAY=xdisplay)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    done = run_cli("doctor", "--json", env=env, timeout=90)
    assert done.returncode == 0, done.stderr
    checks = by_name(json.loads(done.stdout)["checks"])
    assert checks["Display"] == {"name": "Display", "status": "ok", "detail": f"X11 {xdisplay}", "fix": "",
                                 "notes": []}
    assert checks["Tray"]["status"] == "ok" and "XEmbed" in checks["Tray"]["detail"]
    assert checks["Global hotkey"]["status"] == "ok"
    assert checks["Microphone"]["status"] == "ok" and checks["Speaker"]["status"] == "ok"
    assert checks["Speech out"]["status"] == "ok", checks["Speech out"]


def test_doctor_loads_no_recognizer_model() -> None:
    """Checks look at files only: neither Vosk nor a PocketSphinx decoder is started."""
    code = ("import sys; from companion import doctor; doctor.run_checks(); "
            "print(sorted(m for m in sys.modules if m == 'vosk' or m.startswith('vosk.')), "
            "'pocketsphinx.Decoder' in repr(sys.modules.get('pocketsphinx._pocketsphinx')))")
    done = subprocess.run([sys.executable, "-c", code], env=bare_env(), capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "[]", done.stdout


def test_doctor_lists_the_voice_ids_config_accepts() -> None:
    need("espeak-ng")
    done = run_cli("doctor", "--voices", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    voices = json.loads(done.stdout)
    ids = {v["id"] for v in voices}
    assert "gmw/en-us" in ids and len(ids) == len(voices) > 10
