"""`companion intent` from outside, exactly as scripts use it: one JSON object per line, any input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import run_cli

pytestmark = pytest.mark.timeout(120)


def test_json_for_one_sentence() -> None:
    p = run_cli("intent", "--json", "box breathing for three minutes")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out == {"text": "box breathing for three minutes", "intent": "breathe", "confidence": 1.0,
                   "slots": {"pattern": "box", "minutes": 3}}


def test_stdin_answers_every_line_in_order_even_bad_ones() -> None:
    lines = [b"hold on", b"", b"I feel invisible at work", b"x" * 10_000, b"\xff\xfe\x00 junk \xc3\x28",
             "今日はとても疲れた".encode(), "😀🙏".encode(), b"i want to die", b"snooze half an hour"]
    p = subprocess.run([sys.executable, "-m", "companion", "intent", "--json", "--stdin"],
                       input=b"\n".join(lines) + b"\n", capture_output=True, timeout=120,
                       env=dict(os.environ))
    assert p.returncode == 0, p.stderr
    out = [json.loads(line) for line in p.stdout.decode("utf-8").splitlines()]
    assert len(out) == len(lines)
    assert [o["intent"] for o in out] == ["pause", "unknown", "feeling", "unknown", "unknown", "unknown",
                                           "unknown", "crisis", "snooze"]
    assert out[2]["slots"] == {"feeling": "lonely"} and out[8]["slots"] == {"minutes": 30}
    assert all(set(o) == {"text", "intent", "confidence", "slots"} for o in out)
    assert all(0 <= o["confidence"] <= 1 for o in out)


def test_stdin_streams_one_answer_per_line_without_waiting_for_the_end() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "companion", "intent", "--json", "--stdin"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdin and proc.stdout
        for text, intent in (("slow down", "slower"), ("yes please", "yes")):
            proc.stdin.write(text.encode() + b"\n")
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())  # would hang here without a flush per line
            assert (answer["text"], answer["intent"]) == (text, intent)
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()


def test_plain_output_and_usage_errors() -> None:
    p = run_cli("intent", "I'm", "a", "burden")
    assert p.returncode == 0 and p.stdout.startswith("reframe")
    p = run_cli("intent")
    assert p.returncode == 2 and "--stdin" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("intent", "--stdin", "hello")
    assert p.returncode == 2 and "not both" in p.stderr
