"""The embedded recognizer: PocketSphinx's bundled US-English model held to a grammar of the template sentences.
Command mode only; it never pretends to understand free speech (out-of-grammar speech gives "")."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from companion.speech.grammar import Grammar, snap, to_fsg

_LOGGER = logging.getLogger(__name__)

#: Utterances up to this long (10 s of 16 kHz int16) are kept for another pass when the first hears nothing.
MAX_RETRY_BYTES = 10 * 32000
#: Extra passes over an utterance in which nothing was heard: on a fresh recognizer 2 passes found 8 of 12
#: test phrases, 1 pass 7, none 6 (docs/benchmarks/listening.md); warm accuracy did not change.
RETRIES = 2


class SphinxRecognizer:
    """Streams 16 kHz int16 PCM into a finite-state grammar search; `final()` is a template sentence or "".

    The grammar is the template sentences as one minimal word automaton: the same language as a JSGF
    alternation of them (grammar.to_jsgf), but thousands of sentences decode faster than real time."""

    name = "pocketsphinx"

    def __init__(self, sentences: Sequence[str], mode: str = "command") -> None:
        if mode != "command":
            from companion.speech.recognizer import OPEN_MODE_HINT, OpenModeUnavailable

            raise OpenModeUnavailable(OPEN_MODE_HINT)
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            from companion.speech.recognizer import RecognizerError

            raise RecognizerError("pocketsphinx is missing: run `pip install pocketsphinx==5.1.1`") from exc
        self.mode = mode
        # Measured on espeak-ng phrases (docs/benchmarks/listening.md):
        # - bestpath off: the lattice pass after a grammar search often lost the right sentence or returned
        #   nothing ("pause", "resume"): +4 of 48.
        # - no decoder dither: with the curated grammar it decoded 41 of 48 against 36-39 for dither seeds 1-3,
        #   and the same audio always gives the same words (real microphones bring their own noise floor).
        # - lw (language weight) 15: every grammar arc weighs 1, so lw only scales the word-insertion and
        #   filler penalties; 14-17 was a plateau (42-44 of 48, and 10-12 of 16 out-of-scope requests
        #   rejected, against 41 and 7 at lw 3); at 20 accuracy collapsed.
        self._decoder = Decoder(dither=False, lm=None, lw=15.0, bestpath=False, loglevel="FATAL")
        self._add_pronunciations()
        vocabulary = {w for s in sentences for w in _words(s) if self._decoder.lookup_word(w) is not None}
        self.grammar = Grammar.build(sentences, vocabulary)
        if not self.grammar.sentences:
            from companion.speech.recognizer import RecognizerError

            raise RecognizerError("none of the template sentences can be spoken with the bundled English "
                                  "dictionary")
        self._decoder.add_fsg("command", self._read_fsg(to_fsg(self.grammar)))
        self._decoder.activate_search("command")
        self._in_utt = False
        self._utterance = bytearray()
        self.last_raw = ""
        self.last_confidence = 0.0

    def _add_pronunciations(self) -> None:
        """Words our templates use that the bundled dictionary lacks ("reframe"), from voice.yaml."""
        from companion.speech.grammar import pronunciations

        for word, phones in pronunciations().items():
            if self._decoder.lookup_word(word) is None:
                try:
                    self._decoder.add_word(word, phones, False)
                except (RuntimeError, ValueError) as exc:  # a typo in the data file must not stop listening
                    _LOGGER.warning("voice.yaml: cannot add the pronunciation of %r (%s): %s", word, phones, exc)

    def _read_fsg(self, text: str) -> object:
        """PocketSphinx reads FSGs from files only."""
        import os
        import tempfile

        fd, path = tempfile.mkstemp(suffix=".fsg", prefix="companion-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            return self._decoder.read_fsg(path)
        finally:
            os.unlink(path)

    def accept(self, pcm16: bytes) -> None:
        if not self._in_utt:
            self._decoder.start_utt()
            self._in_utt = True
            self._utterance = bytearray()
        if len(self._utterance) < MAX_RETRY_BYTES:
            self._utterance += pcm16
        self._decoder.process_raw(pcm16, False, False)

    def partial(self) -> str:
        if not self._in_utt:
            return ""
        hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    def final(self) -> str:
        """Ends the utterance; the grammar sentence heard, or "" for silence and out-of-grammar speech."""
        if not self._in_utt:
            self.last_raw, self.last_confidence = "", 0.0
            return ""
        self._decoder.end_utt()
        self._in_utt = False
        hyp = self._decoder.hyp()
        for _ in range(RETRIES if 0 < len(self._utterance) < MAX_RETRY_BYTES else 0):
            if hyp is not None and hyp.hypstr:
                break
            # the live cepstral mean starts from the model's and adapts as it goes: on the first words of
            # a new voice or microphone the search can lose every path. Again, with the mean this utterance
            # has taught it (only when nothing was heard, so it costs nothing otherwise).
            self._decoder.start_utt()
            self._decoder.process_raw(bytes(self._utterance), False, False)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        self._utterance = bytearray()
        self.last_raw = hyp.hypstr if hyp is not None else ""
        self.last_confidence = float(self._decoder.get_prob()) if hyp is not None and self.last_raw else 0.0
        # a search that ended before the grammar's final state reports its best partial path: snap it
        return snap(self.last_raw, self.grammar.sentences).sentence if self.last_raw else ""

    def reset(self) -> None:
        if self._in_utt:
            self._decoder.end_utt()
            self._in_utt = False
        self._utterance = bytearray()


def _words(sentence: str) -> list[str]:
    from companion.speech.grammar import normalize

    return normalize(sentence).split()
