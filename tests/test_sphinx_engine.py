"""PocketSphinx for real: free speech with the general language model (on a voice the companion never speaks
with), and the closed phrase search (a minimal automaton of the sentences) on espeak-ng speech."""

from __future__ import annotations

import itertools

import pytest
from helpers import espeak_wav16k, padded_wav

from companion.speech.sphinx_engine import SphinxRecognizer

SENTENCES = ["box breathing for 3 minutes", "stop", "pause", "i feel lonely", "help me get grounded",
             "xyzzyplugh breathing"]

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def rec() -> SphinxRecognizer:
    return SphinxRecognizer(SENTENCES, mode="command")


def decode(rec: SphinxRecognizer, pcm: bytes) -> tuple[str, list[str]]:
    pcm = b"\0" * 8000 + pcm + b"\0" * 16000
    partials = []
    for i in range(0, len(pcm), 3200):
        rec.accept(pcm[i:i + 3200])
        partials.append(rec.partial())
    return rec.final(), partials


def test_words_missing_from_the_dictionary_are_left_out(rec):
    assert "xyzzyplugh" in rec.grammar.dropped_words
    assert "box breathing for three minutes" in rec.grammar.sentences  # digits spelled out
    assert all("xyzzyplugh" not in s for s in rec.grammar.sentences)


def test_in_grammar_speech_is_recognised_with_growing_partials(rec, tmp_path):
    text, partials = decode(rec, espeak_wav16k("box breathing for three minutes", tmp_path / "a.wav"))
    assert text == "box breathing for three minutes"
    assert any(p and p != text for p in partials)  # heard in pieces while speaking
    assert rec.last_confidence > 0


def test_out_of_grammar_speech_is_not_forced_into_a_command(rec, tmp_path):
    text, _ = decode(rec, espeak_wav16k("the weather in paris is lovely in the spring", tmp_path / "b.wav"))
    assert text == ""


def test_several_utterances_in_a_row(rec, tmp_path):
    assert decode(rec, espeak_wav16k("i feel lonely", tmp_path / "c.wav"))[0] == "i feel lonely"
    assert decode(rec, espeak_wav16k("stop", tmp_path / "d.wav"))[0] == "stop"
    assert rec.final() == ""  # nothing fed: nothing heard


def test_free_speech_is_transcribed_with_alternatives_and_the_closest_phrase():
    import speech_corpus

    from companion.speech.recognizer import Hypothesis

    voice = next(v for v in speech_corpus.available_voices(["flite"]) if v.name == "slt")
    clip = speech_corpus.render("i need to calm my breathing", voice)
    rec = SphinxRecognizer(["i need to calm my breathing", "stop"], mode="open")
    import wave

    with wave.open(str(clip.path)) as w:
        pcm = w.readframes(w.getnframes())
    text, _ = decode(rec, pcm)
    assert speech_corpus.wer("i need to calm my breathing", text) <= 0.2, text
    readings = rec.last_hypotheses
    assert readings[0] == Hypothesis(text) and len(readings) >= 3  # the best, then the n-best list
    assert all(r.source == "alternative" and r.rank == i for i, r in enumerate(readings[1:-1], 1))
    phrase = [r for r in readings if r.source == "grammar"]
    assert not phrase or (phrase[0].text == "i need to calm my breathing" and phrase[0].distance < 0.3)
    assert 0 < rec.last_confidence <= 1
    assert rec.final() == "" and rec.last_hypotheses == ()  # nothing fed: nothing heard


def test_an_n_best_walk_that_ends_in_none_keeps_what_was_heard(tmp_path):
    """A bug found on an outside writer's batch: pocketsphinx's n-best iterator yielded None on some audio and the
    listener crashed. The best reading and the alternatives before the None are kept."""
    import speech_corpus

    voice = next(v for v in speech_corpus.available_voices(["flite"]) if v.name == "slt")
    clip = speech_corpus.render("i need to calm my breathing", voice)
    rec = SphinxRecognizer(["i need to calm my breathing", "stop"], mode="open")
    class EndsInNone:  # the real decoder, but its n-best walk ends in None after two readings
        def __init__(self, decoder: object) -> None:
            self._decoder = decoder

        def __getattr__(self, name: str) -> object:
            return getattr(self._decoder, name)

        def nbest(self):
            yield from itertools.islice(self._decoder.nbest(), 2)
            yield None

    rec._free[0] = EndsInNone(rec._free[0])
    import wave

    with wave.open(str(clip.path)) as w:
        pcm = w.readframes(w.getnframes())
    text, _ = decode(rec, pcm)
    assert text and rec.last_hypotheses[0].text == text
    assert 1 <= sum(r.source == "alternative" for r in rec.last_hypotheses) <= 2


def fsg_sentences(fsg: str) -> set[str]:
    """Every word sequence the FSG text accepts (small grammars only)."""
    arcs: dict[int, list[tuple[int, str]]] = {}
    final = -1
    for line in fsg.splitlines():
        parts = line.split()
        if parts[0] == "FINAL_STATE":
            final = int(parts[1])
        elif parts[0] == "TRANSITION":
            arcs.setdefault(int(parts[1]), []).append((int(parts[2]), parts[4] if len(parts) > 4 else ""))
    out, stack = set(), [(0, ())]
    while stack:
        state, words = stack.pop()
        if state == final:
            out.add(" ".join(words))
        for target, word in arcs.get(state, []):
            stack.append((target, (*words, word) if word else words))
    return out


def test_the_minimal_automaton_accepts_exactly_the_sentences():
    from companion.speech.grammar import Grammar, to_fsg

    sentences = ["stop", "stop now", "start box breathing for 3 minutes", "start box breathing for 4 minutes",
                 "start square breathing for 3 minutes", "i don't know", "I feel lonely!"]
    grammar = Grammar.build(sentences)
    fsg = to_fsg(grammar)
    assert fsg_sentences(fsg) == set(grammar.sentences)
    assert "i feel lonely" in grammar.sentences and "i don't know" in grammar.sentences
    # shared suffixes are merged: fewer states than a plain word tree would need
    assert int(fsg.split("NUM_STATES ")[1].split()[0]) < sum(len(s.split()) for s in grammar.sentences)


def test_jsgf_form_of_the_same_grammar_is_accepted_by_pocketsphinx(tmp_path):
    from pocketsphinx import Decoder

    from companion.speech.grammar import Grammar, to_jsgf

    decoder = Decoder(dither=True, lm=None, loglevel="FATAL")
    decoder.add_jsgf_string("g", to_jsgf(Grammar.build(["stop", "i feel lonely"])))
    decoder.activate_search("g")
    pcm = b"\0" * 8000 + espeak_wav16k("i feel lonely", tmp_path / "l.wav") + b"\0" * 16000
    decoder.start_utt()
    decoder.process_raw(pcm, False, True)
    decoder.end_utt()
    assert decoder.hyp().hypstr == "i feel lonely"


def test_snapping_corrects_near_misses_and_rejects_the_rest():
    from companion.speech.grammar import snap

    sentences = ["box breathing for three minutes", "stop", "i feel lonely"]
    assert snap("box breathing for three minute", sentences).sentence == "box breathing for three minutes"
    assert snap("[unk] feel lonely", sentences).sentence == "i feel lonely"
    assert snap("[unk] [unk] stop", sentences).sentence == ""
    assert snap("the weather is lovely", sentences).accepted is False
    assert snap("", sentences).sentence == ""


# ---------------------------------------------------------------- the curated spoken grammar (voice.yaml)


def test_every_spoken_sentence_means_what_voice_yaml_says_to_the_router():
    """The router stays the judge: a curated sentence must route to an intent it is listed under."""
    from companion.core.router import get_router
    from companion.speech.grammar import spoken_sentences

    by_intent = spoken_sentences()
    listed: dict[str, set[str]] = {}
    for intent, sentences in by_intent.items():
        for s in sentences:
            listed.setdefault(s, set()).add(intent)
    router = get_router()
    wrong = [(s, router.route(s).intent, owners) for s, owners in listed.items()
             if router.route(s).intent not in owners]
    assert not wrong, wrong[:20]
    assert "box breathing for three minutes" in by_intent["breathe"]  # lists and ranges spelled out
    assert "i feel lonely" in by_intent["feeling"] and "pause" in by_intent["pause"]


def test_the_spoken_grammar_is_compact_and_speakable():
    from pocketsphinx import Decoder

    from companion.speech.grammar import pronunciations, sentences_for

    idle = sentences_for("idle")
    assert 500 < len(idle) < 5000 and len(set(idle)) == len(idle)
    decoder = Decoder(lm=None, loglevel="FATAL")
    unspeakable = {w for s in idle for w in s.split() if decoder.lookup_word(w) is None} - set(pronunciations())
    assert not unspeakable  # every word is in the bundled dictionary, so nothing is silently dropped


def test_contexts_narrow_the_grammar():
    from companion.speech.grammar import CONTEXTS, sentences_for

    idle, session, yesno = (set(sentences_for(c)) for c in CONTEXTS)
    assert session < idle and yesno < idle
    assert {"pause", "stop", "slow down", "keep going", "yes"} <= session
    assert "box breathing for three minutes" not in session and "i feel lonely" not in session
    assert {"yes please", "no thanks", "not now"} <= yesno and "pause" not in yesno
    with pytest.raises(ValueError, match="unknown listening context 'dictation'"):
        sentences_for("dictation")


def test_building_the_grammar_prints_no_hassil_warning():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "from companion.speech.grammar import sentences_for; "
                           "print(len(sentences_for('idle')))"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and int(proc.stdout) > 500
    assert "No language set" not in proc.stderr and proc.stderr == ""


def test_a_session_grammar_hears_control_words(tmp_path):
    from companion.speech import audio
    from companion.speech.grammar import sentences_for

    rec = SphinxRecognizer(sentences_for("session"), mode="command")
    assert rec.grammar.sentences == tuple(sentences_for("session"))
    heard = []
    for i, phrase in enumerate(["slow down", "keep going", "stop"]):  # the first one on a fresh decoder
        padded = padded_wav(espeak_wav16k(phrase, tmp_path / f"{i}.wav"), tmp_path / f"{i}p.wav",
                            lead_s=0.5, tail_s=1.0)
        heard.append(audio.decode_file(padded, rec).transcript)  # through the VAD, as the app listens
    assert heard == ["slow down", "keep going", "stop"]


def test_words_missing_from_the_dictionary_get_voice_yaml_pronunciations(tmp_path):
    rec = SphinxRecognizer(["i want to reframe this thought", "stop"], mode="command")
    assert "i want to reframe this thought" in rec.grammar.sentences and not rec.grammar.dropped_words
    assert decode(rec, espeak_wav16k("i want to reframe this thought", tmp_path / "r.wav"))[0] \
        == "i want to reframe this thought"


def test_a_fluent_reading_counts_as_clearly_heard_and_word_salad_does_not():
    """Long sentences have a tiny path posterior however clearly they were said; a reading that is fluent English
    counts as clear (FLUENT_AT), the salad misheard speech turns into does not, and a word the general model does
    not know is scored as a rare word, not as a certain one."""
    from companion.speech.sphinx_engine import FLUENT_AT, _Fluency

    fluency = _Fluency()
    for fluent in ("i can't stop thinking about ending my life", "my husband is hitting me and i am scared",
                   "i need to calm my breathing"):
        assert fluency.per_word(fluent) >= FLUENT_AT, fluent
    for salad in ("kill only the exactly wont to end i", "life on top bought knife before i the to carrots",
                  "hope off the i cut day"):
        assert fluency.per_word(salad) < FLUENT_AT, salad
    assert fluency.per_word("xyzzyq xyzzyq") < FLUENT_AT  # unknown to the model: rare, not certain


def test_dictation_scores_fluency_with_its_own_general_model_the_same_way():
    """Dictation reuses the general decoder's language model (no second 33 MB copy); a word the decoder added to
    its dictionary ("paracetamol") must still count as a rare word there, not as an impossible one."""
    sentence = "i took a whole packet of paracetamol an hour ago"
    opened, dictating = SphinxRecognizer(mode="open"), SphinxRecognizer(mode="dictation")
    assert dictating._fluency.per_word(sentence) == pytest.approx(opened._fluency.per_word(sentence))
