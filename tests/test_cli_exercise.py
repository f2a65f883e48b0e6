"""The terminal commands as a person runs them: real processes, real clock, real storage."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import default_sigint, need, read_wav, run_cli


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_breathe_silent_writes_the_events_contract(tmp_path: Path) -> None:
    events_file = tmp_path / "events.jsonl"
    done = run_cli("breathe", "--pattern", "box", "--cycles", "1", "--silent", "--events", str(events_file))
    assert done.returncode == 0, done.stderr
    events = _events(events_file)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert events[-1]["completed"] is True
    phases = [e for e in events if e["event"] == "phase"]
    assert [p["name"] for p in phases] == ["inhale", "hold", "exhale", "hold"]
    assert {p["cycle"] for p in phases} == {1}
    for phase in phases:
        assert set(phase) >= {"t", "planned", "event", "name", "cycle"}
        assert phase["planned"] is not None and phase["t"] >= phase["planned"] - 0.001
    starts = [p["planned"] for p in phases]
    assert [round(b - a, 3) for a, b in itertools.pairwise(starts)] == [4.0, 4.0, 4.0]
    assert "companion:" in done.stdout  # captions are shown as text

    history = json.loads(run_cli("history", "--json").stdout)
    sessions = history["sessions"]
    assert sessions[0]["exercise_id"] == "box" and sessions[0]["completed"] in (True, 1)


@pytest.mark.parametrize(("args", "message"), [
    (["--pattern", "triangle"], "invalid choice"),
    (["--minutes", "0"], "more than 0"),
    (["--minutes", "-3"], "more than 0"),
    (["--minutes", "1000"], "at most 120"),
    (["--minutes", "soon"], "must be a number"),
    (["--cycles", "0"], "from 1 to 500"),
    (["--cycles", "2", "--minutes", "1"], "not allowed with"),
])
def test_breathe_rejects_bad_amounts_clearly(args: list[str], message: str) -> None:
    done = run_cli("breathe", "--silent", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_unwritable_events_file_is_refused_before_starting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = run_cli("breathe", "--silent", "--cycles", "1", "--events", str(blocker / "events.jsonl"))
    assert done.returncode == 2
    assert "cannot write the events file" in done.stderr
    assert json.loads(run_cli("history", "--json").stdout)["sessions"] == []


@pytest.mark.timeout(120)
def test_ctrl_c_mid_session_records_it_as_not_completed(tmp_path: Path) -> None:
    events_file = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "companion", "breathe", "--pattern", "coherent", "--minutes",
                             "5", "--silent", "--events", str(events_file)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
                            preexec_fn=default_sigint)
    for _ in range(800):  # a fresh clone learns its router and crisis models first (several seconds under load)
        if events_file.exists() and '"phase"' in events_file.read_text():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "not completed" in err and "Traceback" not in err
    sessions = json.loads(run_cli("history", "--json").stdout)["sessions"]
    assert len(sessions) == 1 and sessions[0]["completed"] in (False, 0)
    assert _events(events_file)[-1]["event"] == "end"


@pytest.mark.real
def test_say_renders_real_speech_to_a_wav(tmp_path: Path) -> None:
    need("espeak-ng")
    out = tmp_path / "hello.wav"
    done = run_cli("say", "You", "are", "not", "alone", "in", "this.", "--to-file", str(out))
    assert done.returncode == 0, done.stderr
    samples, rate, channels = read_wav(out)
    assert channels == 1 and rate >= 16000
    assert len(samples) / rate > 0.8
    assert float((samples.astype(float) ** 2).mean() ** 0.5) > 300


def test_chat_answers_a_feeling_and_a_crisis_with_the_regions_line() -> None:
    env = dict(os.environ, LANG="en_GB.UTF-8", LC_ALL="en_GB.UTF-8")
    done = run_cli("chat", "--silent", input="i feel so lonely lately\nno\nsometimes i dont want to be here anymore\n",
                   env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "116 123" in out  # Samaritans for the UK
    checkins = json.loads(run_cli("history", "--json").stdout)["checkins"]
    assert any(c["feeling"] == "lonely" for c in checkins)


def test_chat_says_goodbye_once_when_the_person_does_however_it_is_typed() -> None:
    """`companion chat` piped "byeee": the companion's own goodbye came twice (its reply, then the chat's end)."""
    done = run_cli("chat", "--silent", input="hello\nByeee!\n", timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("companion:")]
    assert sum(any(w in line.lower() for w in ("bye", "goodbye")) for line in lines) == 1, lines
