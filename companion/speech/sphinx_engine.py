"""The embedded recognizer: PocketSphinx's bundled US-English model held to a grammar of the template sentences.
Command mode only; it never pretends to understand free speech (out-of-grammar speech gives "")."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from companion.speech.grammar import Grammar, snap, to_fsg

_LOGGER = logging.getLogger(__name__)


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
        # dither: pure digital silence upsets the acoustic model; random dither never made results worse
        # lw (language weight) 3 instead of 6.5: with flat grammar weights it chose best on the test phrases.
        # A fixed dither seed makes the same audio give the same words every time (seeds varied 62-69 %).
        self._decoder = Decoder(dither=True, seed=1, lm=None, lw=3.0, loglevel="FATAL")
        vocabulary = {w for s in sentences for w in _words(s) if self._decoder.lookup_word(w) is not None}
        self.grammar = Grammar.build(sentences, vocabulary)
        if not self.grammar.sentences:
            from companion.speech.recognizer import RecognizerError

            raise RecognizerError("none of the template sentences can be spoken with the bundled English "
                                  "dictionary")
        self._decoder.add_fsg("command", self._read_fsg(to_fsg(self.grammar)))
        self._decoder.activate_search("command")
        self._in_utt = False
        self.last_raw = ""
        self.last_confidence = 0.0

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
        self.last_raw = hyp.hypstr if hyp is not None else ""
        self.last_confidence = float(self._decoder.get_prob()) if hyp is not None and self.last_raw else 0.0
        # a search that ended before the grammar's final state reports its best partial path: snap it
        return snap(self.last_raw, self.grammar.sentences).sentence if self.last_raw else ""

    def reset(self) -> None:
        if self._in_utt:
            self._decoder.end_utt()
            self._in_utt = False


def _words(sentence: str) -> list[str]:
    from companion.speech.grammar import normalize

    return normalize(sentence).split()
