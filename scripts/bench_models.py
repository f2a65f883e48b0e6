#!/usr/bin/env python3
"""Model manager benchmark: download (with SHA-256 check) and install of a model-sized archive over loopback.

Builds a 41 MB zip with the Vosk layout (the size of vosk-model-small-en-us-0.15, stored, incompressible),
serves it from a local threaded http.server on 127.0.0.1, and times, in the same run:
  baseline_fetch   urllib reading the body into a file, nothing else (what the network path costs)
  fetch            companion.speech.model_download.fetch (Range-capable, .part file, SHA-256 of the result)
  baseline_unzip   zipfile.extractall of the same archive into a fresh folder
  install          companion.speech.models.install_zip (entry checks, extraction, layout check, rename)
  download_model   the whole `companion model download` path (fetch + verify + install), no progress bar

Run: .venv/bin/python scripts/bench_models.py [--runs 7] [--mb 41]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NAME = "vosk-model-small-zz-bench"


def build_archive(path: Path, megabytes: float) -> None:
    rnd = random.Random(7)
    big = int(megabytes * 1_000_000)
    files = {"am/final.mdl": int(big * 0.6), "graph/HCLr.fst": int(big * 0.25),
             "graph/Gr.fst": int(big * 0.1), "ivector/final.ie": int(big * 0.05)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{NAME}/conf/mfcc.conf", b"--sample-frequency=16000\n")
        zf.writestr(f"{NAME}/conf/model.conf", b"--beam=10.0\n")
        for rel, size in files.items():
            zf.writestr(f"{NAME}/{rel}", rnd.randbytes(size))


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def stats(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--mb", type=float, default=41.2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-models-"))
    serve_dir = work / "serve"
    serve_dir.mkdir()
    archive = serve_dir / f"{NAME}.zip"
    build_archive(archive, args.mb)
    data_size = archive.stat().st_size
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(serve_dir)))
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/{archive.name}"

    models_dir = work / "models"
    models_dir.mkdir()
    os.environ["COMPANION_MODELS_DIR"] = str(models_dir)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        os.environ.pop(var, None)
    (models_dir / "manifest.toml").write_text(
        f'[[model]]\nname = "{NAME}"\nlanguage = "zz"\nurl = "{url}"\nsize = {data_size}\nsha256 = "{sha}"\n')

    from companion.speech import model_download, models

    steps = ("baseline_fetch", "fetch", "baseline_unzip", "install", "download_model")
    timings: dict[str, list[float]] = {k: [] for k in steps}
    try:
        for _ in range(args.runs):
            out = work / "plain.bin"
            t = time.perf_counter()
            with urllib.request.urlopen(url, timeout=30) as r, out.open("wb") as f:
                shutil.copyfileobj(r, f, 64 * 1024)
            timings["baseline_fetch"].append(time.perf_counter() - t)
            out.unlink()

            part = work / "x.zip.part"
            t = time.perf_counter()
            digest = model_download.fetch(url, part, size=data_size, progress=False)
            timings["fetch"].append(time.perf_counter() - t)
            assert digest == sha
            part.unlink()

            dest = work / "plain-unzip"
            t = time.perf_counter()
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(dest)
            timings["baseline_unzip"].append(time.perf_counter() - t)
            shutil.rmtree(dest)

            t = time.perf_counter()
            path = models.install_zip(archive, report=lambda _m: None)
            timings["install"].append(time.perf_counter() - t)
            models.remove_model(path.name)

            t = time.perf_counter()
            path = models.download_model(NAME, progress=False, report=lambda _m: None)
            timings["download_model"].append(time.perf_counter() - t)
            models.remove_model(path.name)
    finally:
        httpd.shutdown()
        httpd.server_close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"archive {data_size / 1e6:.1f} MB, {args.runs} runs, loopback HTTP")
    print(f"{'step':<16}{'median s':>10}{'p95 s':>10}{'MB/s':>10}")
    for step, values in timings.items():
        med, p95 = stats(values)
        print(f"{step:<16}{med:>10.3f}{p95:>10.3f}{data_size / 1e6 / med:>10.0f}")
    f_med, b_med = stats(timings["fetch"])[0], stats(timings["baseline_fetch"])[0]
    i_med, u_med = stats(timings["install"])[0], stats(timings["baseline_unzip"])[0]
    print(f"fetch / baseline_fetch = {f_med / b_med:.2f}x;  install / baseline_unzip = {i_med / u_med:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
