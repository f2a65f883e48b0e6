"""The spoken evaluation corpus for real: every voice family, the noisy room at a measured SNR, byte-identical reruns,
the cache, human recordings and WER. Must never touch the user's corpus cache: each test renders into its own dir."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import pytest
import speech_corpus as sc

pytestmark = [pytest.mark.real, pytest.mark.timeout(120)]

SENTENCE = "Breathe in slowly, then let it go."


@pytest.fixture(autouse=True)
def corpus_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, private corpus cache for every test."""
    path = tmp_path / "corpus"
    monkeypatch.setenv("COMPANION_CORPUS_DIR", str(path))
    return path


def first_voice(family: str) -> sc.Voice:
    """The family's first voice that works here, else the test is skipped with the reason and package."""
    voices = sc.available_voices([family])
    if not voices:
        pytest.skip(f"{family}: {sc.missing_families().get(family, 'no voice of this family is installed')}")
    return voices[0]


def wav_format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes() / w.getframerate()


def rms(x: sc.np.ndarray) -> float:
    return float(sc.np.sqrt(sc.np.mean(x**2)))


@pytest.mark.parametrize("family", sc.FAMILIES)
def test_each_family_renders_a_padded_16k_mono_clip(family: str) -> None:
    clip = sc.render(SENTENCE, first_voice(family))
    rate, channels, width, seconds = wav_format(clip.path)
    assert (rate, channels, width) == (16000, 1, 2)
    speech_s = seconds - sc.LEAD_S - sc.TAIL_S
    assert 1.0 < speech_s < 5.0, f"{clip.voice.id}: {speech_s:.2f} s of speech for a 7-word sentence"
    x, _ = sc.read_wav(clip.path)
    lead = x[: int(sc.LEAD_S * rate)]
    middle = x[int(sc.LEAD_S * rate): len(x) - int(sc.TAIL_S * rate)]
    tail = x[len(x) - int(sc.TAIL_S * rate):]
    assert rms(middle) > 0.05
    assert 0 < rms(lead) < 1e-3 and rms(tail) < 1e-3  # dither, not digital zero, and no speech


def test_room_is_noisy_at_a_measured_snr_between_15_and_25_db() -> None:
    voice = first_voice("flite")
    clean = sc.render(SENTENCE, voice, "clean")
    room = sc.render(SENTENCE, voice, "room")
    assert room.path != clean.path and room.path.read_bytes() != clean.path.read_bytes()
    assert wav_format(room.path)[:3] == (16000, 1, 2)
    assert room.snr_db is not None and 15.0 <= room.snr_db <= 25.0
    assert room.tempo is not None and 0.9 <= room.tempo <= 1.1
    assert room.noise in ("pink", "brown")
    assert abs(sc.estimate_snr(room.path) - room.snr_db) < 2.0  # measured from the file alone
    x, _ = sc.read_wav(room.path)
    assert rms(x[: int(sc.LEAD_S * 16000)]) > 1e-3  # the noise spans the padding too
    assert clean.snr_db is None and clean.tempo is None


def test_room_parameters_vary_between_clips_and_stay_in_range() -> None:
    params = [sc._room_params(sc._digest(f"sentence {i}", sc.VOICES[0], "room")) for i in range(200)]
    tempos, snrs, colours = [p[0] for p in params], [p[1] for p in params], {p[2] for p in params}
    assert 0.9 <= min(tempos) < 0.95 and 1.05 < max(tempos) <= 1.1
    assert 15.0 <= min(snrs) < 16.0 and 24.0 < max(snrs) <= 25.0
    assert colours == {"pink", "brown"}


def test_clips_are_byte_identical_in_two_fresh_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    voices = [v for family in sc.FAMILIES if (v := next(iter(sc.available_voices([family])), None))]
    assert voices, sc.missing_families()
    runs = []
    for name in ("a", "b"):
        monkeypatch.setenv("COMPANION_CORPUS_DIR", str(tmp_path / name))
        runs.append([(c.path.name, c.path.read_bytes()) for v in voices
                     for c in (sc.render(SENTENCE, v, "room"), sc.render(SENTENCE, v, "clean"))])
    assert [n for n, _ in runs[0]] == [n for n, _ in runs[1]]
    for (name, first), (_, second) in zip(*runs, strict=True):
        assert first == second, f"{name} differs between two renders"


def test_cached_clip_is_reused_not_rendered_again(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    voice = first_voice("espeak")
    room = sc.render(SENTENCE, voice, "room")
    stamp = room.path.stat().st_mtime_ns

    def fail(*_: object) -> None:
        raise AssertionError("rendered again although the clip is cached")

    monkeypatch.setattr(sc, "_synthesize", fail)
    monkeypatch.setattr(sc, "_room", fail)
    again = sc.render(SENTENCE, voice, "room")
    assert again == room and again.path.stat().st_mtime_ns == stamp
    assert sorted(p.suffix for p in corpus_dir.iterdir()) == [".wav", ".wav"]  # clean + room, no leftover temp file


def test_build_rotates_voices_in_parallel_in_a_stable_order() -> None:
    families = [f for f in ("espeak", "flite") if sc.available_voices([f])]
    if not families:
        pytest.skip(str(sc.missing_families()))
    texts = [f"Please start a breathing exercise number {n}." for n in range(5)]
    clips = sc.build(texts, families=families, jobs=2)
    assert len(clips) == len(texts) * len(families) * 2
    for family in families:
        voices = sc.available_voices([family])
        for condition in sc.CONDITIONS:
            mine = [c for c in clips if c.voice.family == family and c.condition == condition]
            assert [c.text for c in mine] == texts
            assert [c.voice for c in mine] == [voices[i % len(voices)] for i in range(len(texts))]
    assert [c.path for c in sc.build(texts, families=families, jobs=1)] == [c.path for c in clips]
    every = sc.build(texts[:2], families=families[:1], conditions=("clean",), per_text="all", jobs=2)
    assert len(every) == 2 * len(sc.available_voices(families[:1]))
    assert all(c.path.exists() and c.condition == "clean" for c in every)


def test_human_recordings_have_16k_audio_and_plain_transcripts() -> None:
    try:
        recordings = sc.human_recordings()
    except sc.CorpusUnavailable as exc:
        pytest.skip(str(exc))
    assert len(recordings) >= 10
    for path, transcript in recordings:
        assert wav_format(path)[:3] == (16000, 1, 2)
        assert transcript and transcript == transcript.lower()
        assert not set("<>()/.,") & set(transcript), transcript
    assert ("he was not an ill disposed young man" in {t for _, t in recordings})
    assert "ten of clubs" in {t for _, t in recordings}


def test_wer_on_known_pairs() -> None:
    assert sc.wer("he was not an ill disposed young man", "he was not an ill disposed young man") == 0.0
    assert sc.wer("ten of clubs", "Ten of clubs.") == 0.0
    assert sc.wer("ten of clubs", "ten of hearts") == pytest.approx(1 / 3)
    assert sc.wer("ten of clubs", "ten clubs") == pytest.approx(1 / 3)
    assert sc.wer("ten of clubs", "the ten of the clubs") == pytest.approx(2 / 3)
    assert sc.wer("five five", "") == 1.0
    assert sc.wer("a b", "c d e f") == 2.0
    assert sc.wer("", "") == 0.0


def test_a_missing_tool_names_its_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    only_sox = tmp_path / "bin"
    only_sox.mkdir()
    sox = sc.shutil.which("sox")
    if sox is None:
        pytest.skip("sox not installed")
    os.symlink(sox, only_sox / "sox")
    monkeypatch.setenv("PATH", str(only_sox))
    missing = sc.missing_families()
    assert missing["espeak"] == "espeak-ng not found (Debian package espeak-ng)"
    assert "Debian package flite" in missing["flite"]
    assert "Debian package festival" in missing["festival"]
    assert not sc.available_voices(["espeak", "flite", "festival"])
    with pytest.raises(sc.CorpusUnavailable, match=r"flite:slt: flite not found \(Debian package flite\)"):
        sc.render(SENTENCE, sc.Voice("flite", "slt"))
    monkeypatch.setenv("PATH", "")
    assert set(sc.missing_families().values()) == {"sox not found (Debian package sox)"}

    monkeypatch.setenv("PATH", str(only_sox))
    monkeypatch.setattr(sc.importlib.util, "find_spec", lambda name: None if name == "piper" else object())
    assert sc.missing_families()["piper"] == "Python module piper not importable (pip package piper-tts)"
    with pytest.raises(ValueError, match="unknown voice families"):
        sc.available_voices(["mbrola"])


def test_missing_festival_voice_and_human_data_name_their_packages(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    first_voice("festival")
    with pytest.raises(sc.CorpusUnavailable, match="festival voice rab_diphone not installed"):
        sc.render(SENTENCE, sc.Voice("festival", "rab_diphone"))
    monkeypatch.setattr(sc, "HUMAN_DATA", tmp_path / "nothing")
    with pytest.raises(sc.CorpusUnavailable, match=r"Debian package pocketsphinx-testdata"):
        sc.human_recordings()
