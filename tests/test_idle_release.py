"""What listening loaded (recognizers, VAD) is dropped on request while nobody listens, and never during a turn."""

from __future__ import annotations

import threading

import pytest

from companion.app import create_app
from companion.voice import VoiceLoop


class FakeRecognizer:
    closed = False

    def close(self) -> None:
        self.closed = True


@pytest.mark.timeout(120)
def test_release_idle_drops_the_recognizers_only_while_nobody_listens() -> None:
    app = create_app(silent=True)
    try:
        assert app.release_idle() is False  # nothing was ever loaded
        loop = app._voice = VoiceLoop(app)
        rec = FakeRecognizer()
        loop._recognizers["open"] = rec  # type: ignore[assignment]
        loop._vad = object()
        busy = threading.Event()
        app._voice_thread = threading.Thread(target=busy.wait, daemon=True)
        app._voice_thread.start()
        assert app.release_idle() is False and loop._recognizers  # a turn is running: kept
        busy.set()
        app._voice_thread.join(5)
        assert app.release_idle() is True
        assert rec.closed and loop._recognizers == {} and loop._vad is None
    finally:
        app.close()
