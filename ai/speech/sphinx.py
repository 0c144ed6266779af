"""The offline speech-to-text: pocketsphinx 5 and the en-US model inside its wheel.

Free speech comes out mostly wrong (a caller's "please connect me to sales" reads "we we got really
old"), but a grammar of what the caller is expected to say is recognised well. So the hints
(ConversationRelay's `hints`, the agents' intent phrases) become a JSGF grammar: each phrase, after an
optional lead-in ("i want to", "can you", ...) and before an optional "please"; the Google class
token `$OOV_CLASS_DIGIT_SEQUENCE` (or a hint that is a number) adds digit strings. A grammar always
finds something, so its answer is taken only when it holds a whole hint phrase or digits; otherwise
the turn is decoded again as free text with the general language model.

Decoding is CPU work (15-100 ms a hinted turn, 0.3-1 s of free text) that holds the GIL, so a thread
would still stall every call's audio on the event loop: it runs in worker processes instead, one per
core, each keeping its decoders (the model takes ~0.3 s to load). The first recognizer starts and
warms them, at call setup, so the caller's first turn does not pay for it.
"""

import asyncio
import functools
import hashlib
import multiprocessing
import os
import re
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from pocketsphinx import Decoder

from ai.speech.audio import duration_ms, resample, rms
from ai.speech.base import SAMPLE_RATE, SAMPLE_WIDTH, SpeechError

MODEL_RATE = 16000
DIGIT_CLASS = "$OOV_CLASS_DIGIT_SEQUENCE"
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# How callers open a request; without them "I want to talk to a person" would not fit the grammar.
LEAD_INS = (
    "i want to",
    "i'd like to",
    "i would like to",
    "i need to",
    "can i",
    "can you",
    "could you",
    "can i have",
    "please",
    "what are your",
    "what are the",
    "what is your",
    "when are your",
)
# Grammars get wide beams (the defaults prune the right path halfway through a phrase, and cost
# little on a small grammar) and no language model (28 MB a decoder instead of 93); free text keeps
# the default beams, which the wide ones would slow from ~0.5 s a turn to 2-7 s.
_GRAMMAR_OPTIONS: Mapping[str, object] = {
    "lm": None,
    "beam": 1e-80,
    "wbeam": 1e-60,
    "pbeam": 1e-80,
    "bestpath": False,
}
_FREE_OPTIONS: Mapping[str, object] = {}
_KEPT_GRAMMARS = 16  # per decoder; the oldest is dropped beyond that
_DITHER = 4  # in 16-bit steps, far below any speech
_TRIM_FRAME = SAMPLE_RATE * SAMPLE_WIDTH // 50  # 20 ms
_TRIM_MARGIN_FRAMES = 3


class _Sphinx:
    """One decoder and the grammars added to it (the newest `_KEPT_GRAMMARS`, by content)."""

    def __init__(self, options: Mapping[str, object]) -> None:
        self.decoder = Decoder(loglevel="FATAL", **options)
        self.grammars: list[str] = []

    def use_grammar(self, body: str) -> str:
        name = "g" + hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()[:16]
        if name not in self.grammars:
            self.decoder.add_jsgf_string(name, body)
            self.grammars.append(name)
            if len(self.grammars) > _KEPT_GRAMMARS:
                self.decoder.remove_search(self.grammars.pop(0))
        return name


class _DecoderPool:
    """Decoders lent to one thread at a time (a decoder is not thread-safe); made on demand."""

    def __init__(self, options: Mapping[str, object]) -> None:
        self.options = options
        self._free: list[_Sphinx] = []
        self._lock = threading.Lock()

    @contextmanager
    def borrow(self) -> Iterator[_Sphinx]:
        with self._lock:
            sphinx = self._free.pop() if self._free else None
        sphinx = sphinx or _Sphinx(self.options)
        try:
            yield sphinx
        finally:
            with self._lock:
                self._free.append(sphinx)


# pocketsphinx 5 calls start_stream() deprecated, "start_utt does this now"; it does not (see _decode).
warnings.filterwarnings("ignore", message=r"start_stream\(\) is deprecated", category=DeprecationWarning)
_grammar_pool = _DecoderPool(_GRAMMAR_OPTIONS)
_free_pool = _DecoderPool(_FREE_OPTIONS)


def _words(phrase: str) -> list[str]:
    return re.findall(r"[a-z']+", phrase.lower())


def _grammar(hints: Sequence[str], known: "_Dictionary") -> tuple[str, list[str], bool] | None:
    """The JSGF grammar for `hints`, the phrases it holds and whether it takes digits; None when no
    hint can be said with the model's dictionary."""
    digits = any(hint.strip() == DIGIT_CLASS or hint.strip().isdigit() for hint in hints)
    phrases = sorted({" ".join(w) for hint in hints if (w := _words(hint)) and all(map(known.has, w))})
    if not phrases and not digits:
        return None
    # A lead-in only before a phrase of two words or more: "what are the no" is no answer.
    long, short = [p for p in phrases if " " in p], [p for p in phrases if " " not in p]
    lead_ins = " | ".join(lead for lead in LEAD_INS if all(map(known.has, _words(lead))))
    choices = [f"([{lead_ins}] ({' | '.join(long)}) [please])"] if long else []
    choices += [f"(({' | '.join(short)}) [please | thank you | thanks])"] if short else []
    choices += [f"({' | '.join(DIGIT_WORDS)})+"] if digits else []
    body = f"#JSGF V1.0;\ngrammar hints;\npublic <utterance> = {' | '.join(choices)};\n"
    return body, phrases, digits


class _Dictionary:
    """Which words the model can say (cmudict-en-us), asked of one decoder once per word."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}
        self._lock = threading.Lock()

    def has(self, word: str) -> bool:
        with self._lock:
            if word not in self._known:
                with _grammar_pool.borrow() as sphinx:
                    self._known[word] = sphinx.decoder.lookup_word(word) is not None
            return self._known[word]


_dictionary = _Dictionary()


def _trimmed(pcm: bytes) -> bytes:
    """The turn without its silence either side (60 ms kept), so that what a grammar search calls
    silence is speech it could not say (see `_fits`), and silence costs no decoding."""
    frames = [pcm[at : at + _TRIM_FRAME] for at in range(0, len(pcm) - _TRIM_FRAME + 1, _TRIM_FRAME)]
    if not frames:
        return pcm
    levels = [rms(frame) for frame in frames]
    floor = max(200.0, 0.05 * max(levels))
    loud = [index for index, level in enumerate(levels) if level >= floor]
    if not loud:
        return b""
    first = max(0, loud[0] - _TRIM_MARGIN_FRAMES)
    last = min(len(frames), loud[-1] + 1 + _TRIM_MARGIN_FRAMES)
    return b"".join(frames[first:last])


@dataclass(frozen=True)
class _Decoded:
    text: str
    unexplained_ms: int  # inside the turn, what the search could only call silence or noise


def _dithered(pcm: bytes) -> bytes:
    """With faint noise added: a line's digital silence (μ-law 0xFF is exactly 0) has no log energy,
    and the trim margins of it throw the features off (13 of the 16 phrases of tests/ai/test_sphinx.py's
    kind right without, 16 with). Seeded, so a turn always reads the same (pocketsphinx's own dither
    is random)."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.int32)
    noise = np.random.default_rng(0).integers(-_DITHER, _DITHER + 1, samples.size)
    return bytes(np.clip(samples + noise, -32768, 32767).astype(np.int16).tobytes())


def _decode(decoder: Decoder, audio: bytes, search: str) -> _Decoded:
    decoder.activate_search(search)
    decoder.start_stream()  # a new stream: without it the last turn's audio skews this one (noise, CMN)
    decoder.start_utt()
    decoder.process_raw(audio, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    if hypothesis is None:
        return _Decoded("", duration_ms(audio, MODEL_RATE))
    fillers = sum(
        s.end_frame - s.start_frame + 1 for s in decoder.seg() if s.word.startswith(("<", "[", "+"))
    )
    return _Decoded(" ".join(hypothesis.hypstr.split()), fillers * 10)  # 100 frames a second


def _fits(decoded: _Decoded, phrases: Sequence[str], digits: bool, turn_ms: int) -> bool:
    """A grammar's answer is believed when it holds a hinted phrase (or digits only) and explains the
    turn: speech the grammar cannot say ends up as "silence" (a caller's "I have a question about my
    bill" reads "can <sil> you no"), so more than the trim margins plus a fifth of the turn is a miss."""
    if decoded.unexplained_ms > 2 * _TRIM_MARGIN_FRAMES * 20 + 100 + turn_ms // 5:
        return False
    words = decoded.text.split()
    if digits and words and all(word in DIGIT_WORDS for word in words):
        return True
    return any(f" {phrase} " in f" {decoded.text} " for phrase in phrases)


def transcribe(pcm: bytes, hints: Sequence[str]) -> str:
    """What was said in `pcm` (slin 8 kHz): a hinted phrase if one fits, else free text. Blocking."""
    audio = _dithered(resample(_trimmed(pcm), from_rate=SAMPLE_RATE, to_rate=MODEL_RATE))
    if len(audio) < MODEL_RATE * SAMPLE_WIDTH // 10:
        return ""
    grammar = _grammar(hints, _dictionary)
    if grammar:
        body, phrases, digits = grammar
        with _grammar_pool.borrow() as sphinx:
            decoded = _decode(sphinx.decoder, audio, sphinx.use_grammar(body))
        if _fits(decoded, phrases, digits, turn_ms=duration_ms(audio, MODEL_RATE)):
            return decoded.text
    with _free_pool.borrow() as sphinx:
        return _decode(sphinx.decoder, audio, "_default").text


def warm() -> None:
    """Loads this worker's decoders (done in the worker, ahead of the first turn)."""
    with _grammar_pool.borrow(), _free_pool.borrow():
        pass


def _follow_parent(parent: int) -> None:
    """A worker whose parent died (killed, so the pool could not stop it) would wait forever on the
    pool's queue: it exits instead."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="follow-parent").start()


@functools.cache
def _workers() -> ProcessPoolExecutor:
    """Spawned, not forked: the parent is a threaded, event-looped server. Every worker is started
    and warmed at once (the pool would start the second only when a second turn waits, cold)."""
    count = os.cpu_count() or 1
    pool = ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_follow_parent,
        initargs=(os.getpid(),),
    )
    for _ in range(count):
        pool.submit(warm)
    return pool


class SphinxRecognizer:
    def __init__(self, hints: Sequence[str]) -> None:
        self.hints = tuple(hints)
        self._audio = bytearray()

    async def feed(self, pcm: bytes) -> None:
        self._audio += pcm

    async def finish(self) -> str:
        audio, self._audio = bytes(self._audio), bytearray()
        return await asyncio.get_running_loop().run_in_executor(_workers(), transcribe, audio, self.hints)

    async def close(self) -> None:
        self._audio = bytearray()


class SphinxSpeechToText:
    name = "pocketsphinx"

    async def recognizer(self, *, language: str, hints: Sequence[str]) -> SphinxRecognizer:
        if not language.lower().startswith("en"):
            raise SpeechError(f"pocketsphinx has an English model only, not {language!r}")
        _workers()  # at call setup, so the caller's first turn does not wait for a worker
        return SphinxRecognizer(hints)
