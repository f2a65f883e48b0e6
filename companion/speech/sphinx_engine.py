"""The embedded recognizer: PocketSphinx's bundled US-English model. Open mode (the main path) decodes free speech
with its general language model and offers its n-best list plus the companion's own phrases heard by a second,
closed search; command mode hears a closed list only. Never forces speech onto a phrase it does not resemble."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from companion.speech.grammar import Grammar, normalize, snap, to_fsg
from companion.speech.recognizer import Hypothesis, RecognizerError

_LOGGER = logging.getLogger(__name__)

#: Utterances up to this long (10 s of 16 kHz int16) are kept for another pass when the first hears nothing.
MAX_RETRY_BYTES = 10 * 32000
#: Extra passes over an utterance in which nothing was heard (a fresh cepstral mean loses the first words).
RETRIES = 2
#: Readings of each open search offered besides its best one (docs/benchmarks/listening.md, "Hypotheses").
NBEST = 5
#: The open searches to run, the leading one first: "general" (the bundled US-English model), "domain" (a model of
#: what people say to the companion, companion/speech/domain_lm.py).
LANGUAGE_MODELS: dict[str, tuple[str, ...]] = {
    "general": ("general",), "domain": ("domain",), "domain+general": ("domain", "general"),
    "general+domain": ("general", "domain"),
}
DEFAULT_LM = "domain"
#: For free text kept as said (a journal entry, `companion listen --mode dictation`): general language leads.
DICTATION_LM = "general"
#: A best reading that reads as fluent English counts as clearly heard whatever its path posterior: its mean
#: log-probability per word under the bundled general English trigram model (natural log) is at least this.
#: Misheard speech comes out as word salad far more often than as a fluent sentence; the path posterior shrinks
#: with every word and with room noise, so long, clearly spoken crisis sentences fell below `clear_at`. Chosen on
#: spoken batches 3 and 4 (regression sets; docs/benchmarks/listening.md, round 5): 131 of their 240 spoken crisis
#: clips get the full reply (101 without this), no ordinary one more; -4.8 let a misheard ordinary sentence through.
FLUENT_AT = -4.7


class _GrammarSearch:
    """A finite-state grammar search over the given sentences: a sentence of the list, or ""."""

    def __init__(self, sentences: Sequence[str]) -> None:
        from pocketsphinx import Decoder

        # Measured on espeak-ng phrases (docs/benchmarks/listening.md): no lattice pass (it lost short commands),
        # no dither (the same audio gives the same words), language weight 15 (a plateau between 14 and 17).
        self.decoder = Decoder(dither=False, lm=None, lw=15.0, bestpath=False, loglevel="FATAL")
        _add_pronunciations(self.decoder)
        vocabulary = {w for s in sentences for w in normalize(s).split() if self.decoder.lookup_word(w) is not None}
        self.grammar = Grammar.build(sentences, vocabulary)
        if not self.grammar.sentences:
            raise RecognizerError("none of the phrases can be spoken with the bundled English dictionary")
        self.decoder.add_fsg("command", _read_fsg(self.decoder, to_fsg(self.grammar)))
        self.decoder.activate_search("command")
        self.raw = ""

    def start(self) -> None:
        self.decoder.start_utt()

    def process(self, pcm16: bytes) -> None:
        self.decoder.process_raw(pcm16, False, False)

    def end(self, utterance: bytes) -> str:
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        for _ in range(RETRIES if 0 < len(utterance) < MAX_RETRY_BYTES else 0):
            if hyp is not None and hyp.hypstr:
                break
            # the live cepstral mean starts from the model's: on the first words of a new voice the search can
            # lose every path. Again, with the mean this utterance has taught it (only when nothing was heard).
            self.decoder.start_utt()
            self.decoder.process_raw(utterance, False, False)
            self.decoder.end_utt()
            hyp = self.decoder.hyp()
        self.raw = hyp.hypstr if hyp is not None else ""
        # a search that ended before the grammar's final state reports its best partial path: snap it
        return snap(self.raw, self.grammar.sentences).sentence if self.raw else ""


class SphinxRecognizer:
    """Streams 16 kHz int16 PCM into PocketSphinx. `final()` is the best transcript ("" for silence);
    `last_hypotheses` the best, the n-best alternatives and (open mode) the closest companion phrase."""

    name = "pocketsphinx"
    #: The posterior of the best path from which audio counts as clearly heard (docs/benchmarks/listening.md:
    #: every misheard ordinary sentence that read as crisis language had one below this).
    clear_at = 0.0005
    #: Router confidence below which it asks again: its transcripts are often wrong (docs/benchmarks/listening.md).
    repeat_below = 0.45

    def __init__(self, sentences: Sequence[str] | None = None, mode: str = "open", lm: str | None = None) -> None:
        if mode == "dictation":  # words kept as said (a journal entry): general language leads
            mode, lm = "open", lm or DICTATION_LM
        lm = lm or os.environ.get("COMPANION_SPHINX_LM") or DEFAULT_LM
        try:
            import pocketsphinx  # noqa: F401
        except ImportError as exc:
            raise RecognizerError("pocketsphinx is missing: run `pip install pocketsphinx==5.1.1`") from exc
        from companion.speech.grammar import sentences_for

        self.mode = mode
        self.lm = lm
        self._free: list[object] = []  # the open searches, the one whose reading leads first
        if mode == "open":
            if lm not in LANGUAGE_MODELS:
                raise RecognizerError(f"unknown language model {lm!r}: choose one of {', '.join(LANGUAGE_MODELS)}")
            self._free = [open_decoder(name) for name in LANGUAGE_MODELS[lm]]
        phrases = list(sentences) if sentences is not None else sentences_for("idle")
        self._grammar = _GrammarSearch(phrases)
        self.grammar = self._grammar.grammar
        self._in_utt = False
        self._utterance = bytearray()
        self.last_raw = ""
        self.last_confidence = 0.0
        self.last_fluency = float("-inf")
        self.last_hypotheses: tuple[Hypothesis, ...] = ()
        self._fluency: _Fluency | None = None
        if mode == "open":  # the general model's own LM when it is loaded anyway (dictation): no second copy
            general = next((d for n, d in zip(LANGUAGE_MODELS[lm], self._free, strict=True) if n == "general"), None)
            self._fluency = _Fluency(general.get_lm() if general is not None else None)

    def accept(self, pcm16: bytes) -> None:
        if not self._in_utt:
            self._grammar.start()
            for decoder in self._free:
                decoder.start_utt()
            self._in_utt = True
            self._utterance = bytearray()
        if len(self._utterance) < MAX_RETRY_BYTES:
            self._utterance += pcm16
        self._grammar.process(pcm16)
        for decoder in self._free:
            decoder.process_raw(pcm16, False, False)

    def partial(self) -> str:
        if not self._in_utt:
            return ""
        hyp = (self._free[0] if self._free else self._grammar.decoder).hyp()
        return hyp.hypstr if hyp is not None else ""

    def final(self) -> str:
        """Ends the utterance; the best transcript, or "" for silence (and, in command mode, for speech that
        is none of the phrases)."""
        if not self._in_utt:
            self.last_raw, self.last_confidence, self.last_hypotheses = "", 0.0, ()
            return ""
        self._in_utt = False
        utterance, self._utterance = bytes(self._utterance), bytearray()
        phrase = self._grammar.end(utterance)
        if not self._free:
            self.last_raw = self._grammar.raw
            self.last_confidence = 1.0 if phrase else 0.0
            self.last_hypotheses = (Hypothesis(phrase),) if phrase else ()
            return phrase
        readings: dict[str, Hypothesis] = {}
        best, confidence = "", 0.0
        for i, decoder in enumerate(self._free):
            decoder.end_utt()
            hyp = decoder.hyp()
            text = _clean(hyp.hypstr) if hyp is not None else ""
            if i == 0:
                best, confidence = text, (float(decoder.get_prob()) if text else 0.0)
            if not text:
                continue
            if text not in readings:
                readings[text] = Hypothesis(text, "best" if not readings else "alternative", len(readings))
            taken = 0
            for n in decoder.nbest():
                if n is None:  # pocketsphinx's n-best walk can end in None on some audio
                    break
                alternative = _clean(n.hypstr)
                if alternative and alternative not in readings:
                    readings[alternative] = Hypothesis(alternative, "alternative", len(readings))
                    taken += 1
                if taken >= NBEST:
                    break
        if not best and readings:  # the leading search heard nothing, another did: its reading (first, "best") leads
            best = next(iter(readings))
        self.last_raw = best
        self.last_fluency = self._fluency.per_word(best) if self._fluency is not None and best else float("-inf")
        # the confidence is how clearly the best reading was heard, on the posterior's scale (see `clear_at`)
        self.last_confidence = max(confidence, self.clear_at) if self.last_fluency >= FLUENT_AT else confidence
        lead = self._free[0]
        if phrase and phrase not in readings:
            distance = sound_distance(best, phrase, lead) if best else 1.0
            readings[phrase] = Hypothesis(phrase, "grammar", 0, distance)
        self.last_hypotheses = tuple(readings.values())
        return best

    def reset(self) -> None:
        if self._in_utt:
            self._grammar.decoder.end_utt()
            for decoder in self._free:
                decoder.end_utt()
            self._in_utt = False
        self._utterance = bytearray()


class _Fluency:
    """Scores a reading with the bundled general English trigram model (≈33 MB, loaded once): the mean natural
    log-probability per word, sentence start and end included. A word the model does not know (the companion's own
    additions such as "paracetamol") counts as a rare word, `UNKNOWN`. The model is the general decoder's own when
    one is loaded (dictation), else read from the bundled file."""

    UNKNOWN = -10.0

    def __init__(self, model: object | None = None) -> None:
        import math

        from pocketsphinx import NGramModel, get_model_path

        self._model: Any = model if model is not None else NGramModel(
            None, None, os.path.join(get_model_path("en-us"), "en-us.lm.bin"))
        self._scale = math.log(1.0001)  # PocketSphinx's log base

    def per_word(self, text: str) -> float:
        words = ["<s>", *text.split(), "</s>"]
        scores = [self._model.prob(words[max(0, i - 2):i + 1][::-1]) * self._scale for i in range(1, len(words))]
        # unknown to the model: 0 from the model file; a word the decoder added to its dictionary scores far below
        # anything the model holds
        return sum(score if -50.0 < score < 0 else self.UNKNOWN for score in scores) / len(scores)


def open_decoder(name: str) -> object:
    """An open search: the general US-English model or the companion's domain model. Dither on (ENVIRONMENT.md:
    never worse, often better); no second "flat" pass at the end of the utterance: it cost 150 ms after the person
    stopped speaking for no measured gain (docs/benchmarks/listening.md, "Decoder settings")."""
    from pocketsphinx import Decoder

    if name == "general":
        decoder = Decoder(dither=True, fwdflat=False, loglevel="FATAL")
        _add_pronunciations(decoder)
        return decoder
    from companion.speech import domain_lm

    decoder = Decoder(dither=True, fwdflat=False, lm=None, loglevel="FATAL")
    _add_pronunciations(decoder)
    path = domain_lm.cached_model(decoder)
    decoder.add_lm_file("domain", str(path))
    decoder.activate_search("domain")
    return decoder


def _clean(text: str) -> str:
    """The decoder's words without its filler marks ("<sil>", "[noise]") and alternate-pronunciation tags."""
    words = [w.split("(")[0] for w in text.split() if not w.startswith(("<", "[", "+"))]
    return " ".join(words)


def _add_pronunciations(decoder: object) -> None:
    """Words our phrases use that the bundled dictionary lacks ("reframe"), from voice.yaml."""
    from companion.speech.grammar import pronunciations

    for word, phones in pronunciations().items():
        if decoder.lookup_word(word) is None:  # type: ignore[attr-defined]
            try:
                decoder.add_word(word, phones, False)  # type: ignore[attr-defined]
            except (RuntimeError, ValueError) as exc:  # a typo in the data file must not stop listening
                _LOGGER.warning("voice.yaml: cannot add the pronunciation of %r (%s): %s", word, phones, exc)


def _read_fsg(decoder: object, text: str) -> object:
    """PocketSphinx reads FSGs from files only."""
    import os
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".fsg", prefix="companion-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return decoder.read_fsg(path)  # type: ignore[attr-defined]
    finally:
        os.unlink(path)


def phones(text: str, decoder: object) -> list[str]:
    """The words as CMU phones (the decoder's dictionary; letters for a word it lacks), for comparing readings."""
    out: list[str] = []
    for word in normalize(text).split():
        found = decoder.lookup_word(word)  # type: ignore[attr-defined]
        out += found.split() if found else list(word)
    return out


def sound_distance(a: str, b: str, decoder: object) -> float:
    """How differently two readings sound: phone-level edit distance normalised to 0 (same) … 1."""
    from rapidfuzz.distance import Levenshtein

    return float(Levenshtein.normalized_distance(phones(a, decoder), phones(b, decoder)))
