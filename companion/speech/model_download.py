"""HTTP(S) download of one archive into a .part file that survives interruption and resumes (HTTP Range).
It never opens anything but http(s) URLs, never follows a redirect that leaves them or downgrades HTTPS."""

from __future__ import annotations

import hashlib
import http.client
import logging
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from companion import __version__

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
TIMEOUT = 30.0  # seconds without an answer (connect or read) before giving up on an attempt
RETRIES = 3  # automatic resumes within one call after a dropped connection that made progress

Report = Callable[[str], None]


class DownloadError(Exception):
    """A download failed; the message is for the person (what happened and what to do)."""


class _Interrupted(Exception):
    """The body stopped early; the .part file keeps what arrived."""


class _Restart(Exception):
    """The .part file cannot be continued; it was emptied and the download starts again."""


def check_url(url: str) -> str:
    """Returns the host of an http(s) URL; anything else is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"refusing to download from {url!r}: only http:// and https:// URLs are allowed")
    return parts.hostname


def unreachable_message(url: str, reason: object) -> str:
    host = urlsplit(url).hostname or url
    return (f"could not reach {host} ({reason}); you can install a model you have with "
            "`companion model install FILE.zip`")


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        old, new = urlsplit(req.full_url).scheme, urlsplit(newurl).scheme
        if new not in ("http", "https") or (old == "https" and new != "https"):
            raise DownloadError(f"refusing a redirect from {req.full_url} to {newurl}: it leaves HTTPS/HTTP")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_SafeRedirects)


def mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1_000_000:.1f} MB"


def fetch(url: str, part: Path, *, size: int | None, progress: bool = True, desc: str = "",
          report: Report | None = None, retries: int | None = None, timeout: float | None = None) -> str:
    """Downloads url into part (continuing what is already there) and returns the file's SHA-256 (hex).

    size, when known, is the exact expected length. Raises DownloadError with a message for the person.
    """
    say = report or log.info
    check_url(url)
    retries = RETRIES if retries is None else retries
    timeout = TIMEOUT if timeout is None else timeout
    part.parent.mkdir(parents=True, exist_ok=True)
    bar = _progress_bar(size, desc or part.name, progress)
    failures = 0
    try:
        while True:
            have = part.stat().st_size if part.exists() else 0
            if size is not None and have > size:
                say(f"the partial download {part.name} is larger than the model; starting again")
                part.unlink()
                have = 0
            if size is not None and have == size:
                break
            bar.reset(total=size)
            bar.update(have)
            try:
                _fetch_once(url, part, have, size, bar, say, timeout)
                break
            except _Restart:
                continue
            except _Interrupted as exc:
                now = part.stat().st_size if part.exists() else 0
                failures += 1
                if now <= have or failures > retries:
                    raise DownloadError(
                        f"the download from {urlsplit(url).hostname} stopped after {mb(now)} of {mb(size)} "
                        f"({exc}); run the same command again to continue where it stopped") from None
                say(f"connection lost ({exc}); resuming at {mb(now)}")
    finally:
        bar.close()
    return sha256_file(part)


def _fetch_once(url: str, part: Path, have: int, size: int | None, bar: Any, say: Report,
                timeout: float) -> None:
    headers = {"User-Agent": f"companion/{__version__}", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = _opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and have:  # our partial file does not fit what the server has
            say("the server cannot continue the partial download; starting again")
            part.unlink()
            raise _Restart from None
        raise DownloadError(f"{urlsplit(url).hostname} answered {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        if have:
            raise _Interrupted(str(exc.reason)) from None
        raise DownloadError(unreachable_message(url, exc.reason)) from None
    except (OSError, http.client.HTTPException) as exc:
        if have:
            raise _Interrupted(str(exc) or type(exc).__name__) from None
        raise DownloadError(unreachable_message(url, exc or type(exc).__name__)) from None
    with response:
        length = response.headers.get("Content-Length")
        body = int(length) if length and length.isdigit() else None
        mode = "wb"
        if have and response.status == 206:
            match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != have:
                say("the server sent a different part than asked for; starting again")
                part.unlink()
                raise _Restart
            mode = "ab"
        elif have:
            say("the server does not support resuming; starting again from the beginning")
            have = 0
            bar.reset(total=size)
        expected = None if body is None else have + body
        if size is not None and expected is not None and expected != size:
            raise DownloadError(f"the server offers {expected} bytes for {url} but the manifest says {size}; "
                                "the file there has changed, so it was not downloaded")
        expected = expected if expected is not None else size
        got = have
        with part.open(mode) as out:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise _Interrupted(str(exc) or type(exc).__name__) from None
                if not chunk:
                    break
                out.write(chunk)
                got += len(chunk)
                bar.update(len(chunk))
        if expected is not None and got < expected:
            raise _Interrupted("the connection closed early")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _progress_bar(total: int | None, desc: str, progress: bool) -> Any:
    """tqdm on stderr; silent when asked or when stderr is not a terminal."""
    from tqdm import tqdm

    quiet = not progress or not sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                disable=quiet, leave=False, dynamic_ncols=True)
