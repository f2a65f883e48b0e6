"""Allows `python -m companion`, and is the entry point of the packaged (PyInstaller) app.

A packaged app has no separate Python to run the speech process with, so it starts itself again with
COMPANION_TTS_WORKER=1 set; that run becomes the speech process instead of the command line.
"""

import os

if os.environ.get("COMPANION_TTS_WORKER"):
    from companion.speech._tts_worker import main as speech_process

    raise SystemExit(speech_process())

from companion.cli import main

raise SystemExit(main())
