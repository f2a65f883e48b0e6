"""`companion autostart on|off|status` for Linux, Windows and macOS, all written into temporary folders."""

from __future__ import annotations

import configparser
import os
import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import run_cli

from companion.desktop import autostart
from companion.desktop.autostart import AutostartError, desktop_exec, disable, enable, entry_path, status


@pytest.fixture
def homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    dirs = {"home": tmp_path / "home", "xdg": tmp_path / "xdg", "appdata": tmp_path / "AppData" / "Roaming"}
    for d in dirs.values():
        d.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(dirs["xdg"]))
    monkeypatch.setenv("APPDATA", str(dirs["appdata"]))
    return dirs


EXPECTED = {
    "linux": ("xdg", "autostart/companion.desktop"),
    "win32": ("appdata", "Microsoft/Windows/Start Menu/Programs/Startup/companion.cmd"),
    "darwin": ("home", "Library/LaunchAgents/local.companion.plist"),
}


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_on_status_off_round_trip(homes, platform):
    base, rel = EXPECTED[platform]
    command = ["/opt/My Apps/companion", "tray", "100%"]
    assert status(platform).enabled is False
    path = enable(platform, command=command)
    assert path == homes[base] / rel
    state = status(platform)
    assert state.enabled and state.path == path
    assert state.command == tuple(command)  # what was written reads back exactly
    assert not state.current  # not this installation's command
    assert enable(platform) == path  # rewriting points it at this installation
    assert status(platform).current
    assert disable(platform) == path
    assert not path.exists()
    assert disable(platform) is None
    assert status(platform).enabled is False


def test_linux_entry_is_a_valid_desktop_file(homes):
    path = enable("linux", command=["/opt/My Apps/companion", "tray"])
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path)
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == '"/opt/My Apps/companion" tray'
    assert entry["X-GNOME-Autostart-enabled"] == "true"
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_desktop_exec_quoting():
    assert desktop_exec(["/usr/bin/companion", "tray"]) == "/usr/bin/companion tray"
    assert desktop_exec(['/a b/c"d$', "50%"]) == '"/a b/c\\"d\\$" 50%%'


def test_windows_entry_is_a_cmd_file_with_crlf(homes):
    path = enable("win32", command=[r"C:\Program Files\Companion\companion.exe", "tray"])
    data = path.read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert b'start "" "C:\\Program Files\\Companion\\companion.exe" tray' in data


def test_macos_entry_is_a_launch_agent(homes):
    path = enable("darwin", command=["/Applications/Companion.app/Contents/MacOS/companion", "tray"])
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == "local.companion"
    assert agent["RunAtLoad"] is True
    assert agent["ProgramArguments"] == ["/Applications/Companion.app/Contents/MacOS/companion", "tray"]


def test_xdg_config_home_unset_or_relative_means_dot_config(homes, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert entry_path("linux") == homes["home"] / ".config" / "autostart" / "companion.desktop"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert entry_path("linux") == homes["home"] / ".config" / "autostart" / "companion.desktop"
    assert entry_path("freebsd13") == entry_path("linux")


def test_clear_errors(homes, monkeypatch, tmp_path):
    monkeypatch.delenv("APPDATA")
    with pytest.raises(AutostartError, match="APPDATA"):
        enable("win32")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(blocker))
    with pytest.raises(AutostartError, match="could not write"):
        enable("linux")


def test_launch_command_prefers_the_frozen_app(monkeypatch):
    monkeypatch.setattr(autostart.sys, "frozen", True, raising=False)
    monkeypatch.setattr(autostart.sys, "executable", "/opt/companion/companion")
    assert autostart.launch_command("linux") == ["/opt/companion/companion", "tray"]


@pytest.mark.timeout(120)
def test_cli_on_status_off(homes):
    env = dict(os.environ)
    on = run_cli("autostart", "on", env=env)
    assert on.returncode == 0, on.stderr
    path = homes["xdg"] / "autostart" / "companion.desktop"
    assert str(path) in on.stdout and path.is_file()
    st = run_cli("autostart", "status", env=env)
    assert st.returncode == 0 and "Autostart is on" in st.stdout and "tray" in st.stdout
    assert "not this installation" not in st.stdout
    mac = run_cli("autostart", "on", "--platform", "darwin", env=env)
    assert mac.returncode == 0 and (homes["home"] / EXPECTED["darwin"][1]).is_file()
    off = run_cli("autostart", "off", env=env)
    assert off.returncode == 0 and "Removed" in off.stdout and not path.exists()
    again = run_cli("autostart", "off", env=env)
    assert again.returncode == 0 and "already off" in again.stdout
    st = run_cli("autostart", "status", env=env)
    assert "Autostart is off" in st.stdout


def test_cli_reports_an_unwritable_folder_without_a_traceback(homes, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("autostart", "on", env=dict(os.environ, XDG_CONFIG_HOME=str(blocker)))
    assert result.returncode == 1
    assert "could not write" in result.stdout and "Traceback" not in result.stderr
