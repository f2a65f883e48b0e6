"""Start the companion at login: one per-user entry (XDG autostart, Windows Startup, macOS LaunchAgent).

Never touches anything but its own single file, never needs admin rights, and never runs the entry itself.
Templates live in companion/data/autostart/ so packagers and reviewers can read them.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

PLATFORMS = ("linux", "win32", "darwin")
LAUNCH_AGENT_LABEL = "local.companion"


class AutostartError(Exception):
    """Something the person can fix (a missing folder variable, a folder that cannot be written)."""


@dataclass(frozen=True)
class AutostartStatus:
    platform: str
    path: Path
    enabled: bool
    command: tuple[str, ...] | None  # what the entry starts, when it is there and readable

    @property
    def current(self) -> bool:
        """True when the entry starts this very installation."""
        return self.enabled and self.command == tuple(launch_command(self.platform))


def platform_key(platform: str | None = None) -> str:
    """linux (any other Unix desktop too), win32 or darwin."""
    name = platform or sys.platform
    if name.startswith("win") or name == "cygwin":
        return "win32"
    if name == "darwin":
        return "darwin"
    return "linux"


def entry_path(platform: str | None = None, *, env: Mapping[str, str] | None = None,
               home: Path | None = None) -> Path:
    """Where the login entry lives for this person."""
    env = os.environ if env is None else env
    home = home or Path(env.get("HOME") or Path.home())
    key = platform_key(platform)
    if key == "win32":
        appdata = env.get("APPDATA")
        if not appdata:
            raise AutostartError("APPDATA is not set, so the Startup folder is unknown; "
                                 "run this from your normal Windows login")
        startup = Path(appdata) / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
        return startup / "companion.cmd"
    if key == "darwin":
        return home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    config_home = env.get("XDG_CONFIG_HOME", "")
    base = Path(config_home) if config_home and Path(config_home).is_absolute() else home / ".config"
    return base / "autostart" / "companion.desktop"


def launch_command(platform: str | None = None) -> list[str]:
    """Starts this installation's tray: the frozen app, the `companion` script, or `python -m companion`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "tray"]
    script = shutil.which("companion")
    if script:
        return [str(Path(script).resolve()), "tray"]
    python = Path(sys.executable)
    if platform_key(platform) == "win32" and python.name.lower() == "python.exe":
        quiet = python.with_name("pythonw.exe")  # no console window at login
        if quiet.exists():
            python = quiet
    return [str(python), "-m", "companion", "tray"]


def _template(name: str) -> str:
    return resources.files("companion.data").joinpath("autostart", name).read_text(encoding="utf-8")


def desktop_exec(command: Sequence[str]) -> str:
    """An Exec= value per the Desktop Entry spec: quote what needs it, escape inside quotes, double '%'."""
    reserved = set(' \t\n"\'\\><~|&;$*?#()`')
    parts = []
    for arg in command:
        if arg and not reserved & set(arg):
            parts.append(arg.replace("%", "%%"))
        else:
            escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
            parts.append('"' + escaped.replace("%", "%%") + '"')
    return " ".join(parts)


def render(platform: str, command: Sequence[str]) -> bytes:
    """The entry's file content for a platform."""
    key = platform_key(platform)
    if key == "win32":
        line = subprocess.list2cmdline(list(command)).replace("%", "%%")
        text = _template("companion-startup.cmd").replace("{command}", line)
        return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")  # cmd.exe wants CRLF
    if key == "darwin":
        plist = plistlib.loads(_template(f"{LAUNCH_AGENT_LABEL}.plist").encode("utf-8"))
        plist["ProgramArguments"] = list(command)
        return plistlib.dumps(plist)
    return _template("companion.desktop").replace("{exec}", desktop_exec(command)).encode("utf-8")


def read_command(platform: str, path: Path) -> tuple[str, ...] | None:
    """What an existing entry starts (None when it cannot be read back)."""
    key = platform_key(platform)
    try:
        if key == "darwin":
            return tuple(plistlib.loads(path.read_bytes()).get("ProgramArguments") or ()) or None
        text = path.read_text(encoding="utf-8", errors="replace")
    except (OSError, plistlib.InvalidFileException, ValueError):
        return None
    if key == "win32":
        for line in text.splitlines():
            if line.lower().startswith('start ""'):
                return tuple(_split_windows(line[len('start ""'):].strip().replace("%%", "%")))
        return None
    for line in text.splitlines():
        if line.startswith("Exec="):
            return tuple(_split_desktop_exec(line[len("Exec="):]))
    return None


def _split_desktop_exec(value: str) -> list[str]:
    # inside quotes a backslash takes the next character as it is; %% stands for a literal %
    args = _split_quoted(value.replace("%%", "\0"), lambda pair, quoted: quoted and pair[0] == "\\")
    return [a.replace("\0", "%") for a in args]


def _split_windows(value: str) -> list[str]:
    """Splits what subprocess.list2cmdline wrote (quotes around args with spaces, \\" inside)."""
    return _split_quoted(value, lambda pair, quoted: pair == '\\"')


def _split_quoted(value: str, escape: Callable[[str, bool], bool]) -> list[str]:
    """Splits at spaces outside double quotes ("" is an empty argument). Where `escape(pair, quoted)` is true for
    the two characters from here on, the second is taken as it is (and a lone last one is dropped)."""
    args: list[str] = []
    current: list[str] = []
    quoted = started = False
    i = 0
    while i < len(value):
        pair = value[i:i + 2]
        c = pair[0]
        if escape(pair, quoted):
            current.extend(pair[1:])
            i += 2
            continue
        if c == '"':
            quoted = not quoted
            started = True
        elif c == " " and not quoted:
            if current or started:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(c)
        i += 1
    if current or started:
        args.append("".join(current))
    return args


def enable(platform: str | None = None, *, command: Sequence[str] | None = None,
           env: Mapping[str, str] | None = None) -> Path:
    """Writes (or rewrites) the login entry; returns its path."""
    key = platform_key(platform)
    path = entry_path(key, env=env)
    content = render(key, command or launch_command(key))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(content)
        if key == "linux":
            tmp.chmod(0o644)
        tmp.replace(path)
    except OSError as exc:
        raise AutostartError(f"could not write {path}: {exc.strerror or exc}") from None
    return path


def disable(platform: str | None = None, *, env: Mapping[str, str] | None = None) -> Path | None:
    """Removes the login entry; returns the removed path, or None when there was none."""
    path = entry_path(platform, env=env)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AutostartError(f"could not remove {path}: {exc.strerror or exc}") from None
    return path


def status(platform: str | None = None, *, env: Mapping[str, str] | None = None) -> AutostartStatus:
    key = platform_key(platform)
    path = entry_path(key, env=env)
    enabled = path.is_file()
    return AutostartStatus(key, path, enabled, read_command(key, path) if enabled else None)
