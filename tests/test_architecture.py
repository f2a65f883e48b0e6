"""The headless core stays headless: importing it (and the app that wires it) loads no GUI, audio or
recognizer library, so every front end, test and CLI command gets it without a desktop or sound card."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sounddevice", "pystray", "tkinter", "pyttsx3", "vosk", "pocketsphinx", "pynput", "Xlib", "gi",
         "matplotlib", "jeepney")


def test_core_and_app_import_no_gui_audio_or_recognizer_library() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import companion.core\n"
        "for m in pkgutil.iter_modules(companion.core.__path__):\n"
        "    importlib.import_module('companion.core.' + m.name)\n"
        "import companion.app\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted({n.split('.')[0] for n in sys.modules} & set(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
