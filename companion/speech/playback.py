"""Plays one WAV file through a child process (aplay, else paplay) that can be killed at once.

It never synthesises speech and never blocks longer than asked: every wait has a timeout.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path

DEVICE_CHECK_TIMEOUT = 5.0

log = logging.getLogger(__name__)


def player_command() -> list[str] | None:
    """The command that plays a WAV file given as its last argument, or None when no player is installed."""
    if shutil.which("aplay"):
        return ["aplay", "-q"]
    if shutil.which("paplay"):
        return ["paplay"]
    return None


class Playback:
    """One WAV file playing in a child process; `kill()` silences it within the sound server's latency."""

    def __init__(self, path: Path, command: list[str]) -> None:
        self.started_at = time.monotonic()
        self._proc = subprocess.Popen([*command, str(path)], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.killed = False

    def wait(self, timeout: float | None = None) -> int | None:
        """The player's exit code, or None if it is still playing after `timeout` seconds."""
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            self._proc.kill()

    def error_text(self) -> str:
        """What the player printed (after it ended), for a clear message when the device failed."""
        if self._proc.poll() is None or self._proc.stderr is None:
            return ""
        text = self._proc.stderr.read().decode(errors="replace").strip()
        self._proc.stderr.close()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return lines[-1] if lines else ""


def check_output_device(command: list[str] | None = None,
                        timeout: float = DEVICE_CHECK_TIMEOUT) -> str | None:
    """Plays 20 ms of silence; returns None when the audio output works, else what went wrong."""
    command = command or player_command()
    if command is None:
        return "no audio player is installed (sudo apt install alsa-utils)"
    with tempfile.TemporaryDirectory(prefix="companion-audio-") as d:
        path = Path(d) / "silence.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)
            w.writeframes(b"\0\0" * 441)
        play = Playback(path, command)
        code = play.wait(timeout)
        if code is None:
            play.kill()
            play.wait(1.0)
            return f"the audio output did not respond within {timeout:.0f} s"
        if code != 0:
            log.info("audio output check: %s exited with %s: %s", command[0], code, play.error_text())
            return "no audio output device was found"
    return None
