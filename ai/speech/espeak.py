"""The offline text-to-speech: espeak-ng (a Debian package), spoken by long-lived worker processes.

Each clause goes to a synthesis worker (ai/speech/espeak_worker.py: libespeak-ng through ctypes),
which sends its audio, already slin 8 kHz, piece by piece as it synthesises: the first piece within
a few ms, and playback starts long before the sentence is done. Not an espeak-ng process per clause:
starting one under uvloop forked the 116 MB relay and held its event loop until the exec (35 ms at
p99, seconds at 15-20 calls), stalling every call's audio. A worker is started (subprocess.Popen:
vfork, nothing of the relay copied) only when none is free, and `SPARE_WORKERS` are kept started.

A consumer that stops listening (barge-in) cancels its clause: the worker stops within one piece of
audio and is free for the next clause. A worker that dies fails its clause with a SpeechError (the
relay tells the app, as for any engine's failure) and is replaced; the next clause gets another.
"""

import asyncio
import contextlib
import functools
import json
import os
import socket
import struct
import subprocess
import sys
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

from ai.speech.audio import StreamResampler
from ai.speech.base import SAMPLE_RATE, SpeechError
from ai.speech.espeak_worker import HEADER, MESSAGE_BYTES, frame, parse

ESPEAK = "espeak-ng"
WORDS_PER_MINUTE = 160
SPARE_WORKERS = 2  # idle and started, so that a clause does not wait for a worker's start (0.1 s)
# Synthesis is CPU work: more workers than cores only share them, and each start costs 70 ms of
# CPU, so a burst of clauses waits for a worker rather than start more (a clause holds one for its
# synthesis, 2-20 ms, not while its audio is sent).
MAX_WORKERS = max(4, 2 * (os.cpu_count() or 1))
# A clause whose worker stops before its first audio is asked of another, as many times as there are
# spares and one: whatever killed the worker (the OOM killer, an operator) may have killed them too.
_ATTEMPTS = SPARE_WORKERS + 1
_ROOT = Path(__file__).resolve().parents[2]
# espeak-ng's voice variants (espeak-ng --voices=variant); a ConversationRelay voice naming one picks it.
_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt")


@functools.cache
def installed_voices() -> frozenset[str]:
    """The language names espeak-ng knows (`en-us`, `es`, `pt-br`, ...), read once per process."""
    listing = subprocess.run([ESPEAK, "--voices"], capture_output=True, text=True, check=True).stdout
    return frozenset(line.split()[1].lower() for line in listing.splitlines()[1:] if len(line.split()) > 1)


def espeak_voice(*, voice: str, language: str) -> str:
    """ConversationRelay's `language` (a BCP-47 tag such as en-US) to an espeak-ng voice: the whole
    tag if espeak-ng has it (en-us, pt-br), else its language (es-ES -> es), else US English. A
    `voice` naming an espeak-ng variant (f3, m1, klatt) is applied; other providers' voice names
    (Polly.Joanna, en-US-Neural2-F) mean nothing here and are ignored."""
    tag = language.strip().lower().replace("_", "-")
    known = installed_voices()
    name = tag if tag in known else tag.split("-")[0] if tag.split("-")[0] in known else "en-us"
    variant = voice.strip().lower()
    return f"{name}+{variant}" if variant in _VARIANTS else name


class _WorkerStopped(Exception):
    """The worker's process is gone (its socket closed or refused)."""


class _Worker:
    """A synthesis worker process and this end of its socket; its clauses are numbered from 1."""

    def __init__(self) -> None:
        self.channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ai.speech.espeak_worker"], stdin=theirs.fileno(), cwd=_ROOT
            )
        self.channel.setblocking(False)
        self.clause = 0
        self.is_stopped = False
        self._is_started = False
        self._rate = 0  # of its audio, from its `R`

    def is_started(self) -> bool:
        """Its `R` came: a clause asked of it now is not held up by its start."""
        if not self._is_started:
            with contextlib.suppress(OSError):  # BlockingIOError: not yet
                self._is_started = self.channel.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b"R"
        return self._is_started

    async def speak(self, request: bytes) -> int:
        """Asks for a clause; its number."""
        self.clause += 1
        try:
            await asyncio.get_running_loop().sock_sendall(self.channel, frame(b"S", self.clause, request))
        except OSError as error:
            raise _WorkerStopped from error
        return self.clause

    async def read(self, clause: int, pieces: "asyncio.Queue[bytes | Exception | None]") -> None:
        """`clause`'s audio, resampled to 8 kHz, (and failure) into `pieces` until its end, all that
        has come at each wake (those left from a cancelled clause are skipped)."""
        loop = asyncio.get_running_loop()
        resampler: StreamResampler | None = None
        while True:
            try:
                messages = [await loop.sock_recv(self.channel, MESSAGE_BYTES)] + self._waiting_messages()
            except OSError as error:
                raise _WorkerStopped from error
            for message in messages:
                if not message:
                    raise _WorkerStopped
                self._is_started = True  # its `R` is read with the rest
                kind, number, body = parse(message)
                if kind == b"R":
                    self._rate = struct.unpack("<I", body)[0]
                if number != clause:
                    continue
                resampler = resampler or StreamResampler(from_rate=self._rate, to_rate=SAMPLE_RATE)
                if kind == b"E":
                    if tail := resampler.feed(b"", last=True):
                        pieces.put_nowait(tail)
                    return
                if kind == b"X":
                    pieces.put_nowait(SpeechError(body.decode()))
                elif pcm := resampler.feed(body):
                    pieces.put_nowait(pcm)

    def _waiting_messages(self) -> list[bytes]:
        messages = []
        with contextlib.suppress(BlockingIOError):
            while message := self.channel.recv(MESSAGE_BYTES):
                messages.append(message)
            messages.append(b"")  # the worker has gone
        return messages

    def cancel(self) -> None:
        with contextlib.suppress(OSError):  # a worker gone has nothing to stop
            self.channel.send(frame(b"C", self.clause))

    async def stop(self) -> None:
        self.is_stopped = True
        self.channel.close()
        self.process.kill()
        await asyncio.to_thread(self.process.wait)


class _Workers:
    """At most `MAX_WORKERS`, `SPARE_WORKERS` of them kept free while under that; a clause waits for
    one to come free rather than start more. Workers free, the last one given back lent first."""

    def __init__(self) -> None:
        self._free: deque[_Worker] = deque()
        self._count = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def lend(self) -> _Worker:
        self._forget_dead()
        while not self._free and self._count >= MAX_WORKERS:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            finally:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
            self._forget_dead()
        if not self._free:
            self._start()
        worker = next((free for free in self._free if free.is_started()), self._free[0])
        self._free.remove(worker)
        self.top_up()
        return worker

    def give_back(self, worker: _Worker) -> None:
        self._free.appendleft(worker)
        self._wake()

    def lost(self) -> None:
        """A lent worker stopped: another may start in its place."""
        self._count -= 1
        self._wake()

    def top_up(self) -> None:
        while len(self._free) < SPARE_WORKERS and self._count < MAX_WORKERS:
            self._start()

    def _start(self) -> None:
        self._free.append(_Worker())
        self._count += 1

    def _forget_dead(self) -> None:
        for gone in [worker for worker in self._free if worker.process.poll() is not None]:
            self._free.remove(gone)  # died while free (its exit is reaped by poll)
            gone.channel.close()
            self._count -= 1

    def _wake(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(None)
                return


@functools.cache
def _workers() -> _Workers:
    return _Workers()


def warm() -> None:
    """Starts the spare workers, ahead of the first clause."""
    _workers().top_up()


async def _speak_clause(
    workers: _Workers, worker: _Worker, request: bytes, pieces: "asyncio.Queue[bytes | Exception | None]"
) -> None:
    """`request` spoken by `worker`, its pieces read as they come into `pieces` (the listener takes
    them at its own pace: the worker is free for another clause once its last piece is read), then
    None; or the worker's stop. Cancelled (the listener stopped), it cancels the synthesis."""
    is_over = False
    try:
        await worker.read(await worker.speak(request), pieces)
        is_over = True
        pieces.put_nowait(None)
    except _WorkerStopped as error:
        pieces.put_nowait(error)
        workers.lost()
        await worker.stop()
    finally:
        if not worker.is_stopped:
            if not is_over:
                worker.cancel()
            workers.give_back(worker)


class EspeakTextToSpeech:
    name = "espeak"

    def __init__(self, *, words_per_minute: int = WORDS_PER_MINUTE) -> None:
        self.words_per_minute = words_per_minute

    async def synthesize(self, text: str, *, voice: str, language: str) -> AsyncIterator[bytes]:
        if not text.strip():
            return
        espeak = espeak_voice(voice=voice, language=language)
        body = json.dumps({"text": text, "voice": espeak, "words_per_minute": self.words_per_minute}).encode()
        if HEADER.size + len(body) > MESSAGE_BYTES:
            raise SpeechError(f"a clause of {len(text)} characters is too long for espeak-ng")
        workers = _workers()
        for attempt in range(_ATTEMPTS):
            pieces: asyncio.Queue[bytes | Exception | None] = asyncio.Queue()
            speaking = asyncio.create_task(_speak_clause(workers, await workers.lend(), body, pieces))
            is_heard = False
            try:
                while (piece := await pieces.get()) is not None:
                    if isinstance(piece, _WorkerStopped):
                        if is_heard or attempt == _ATTEMPTS - 1:
                            raise SpeechError("the espeak-ng worker stopped", transient=True) from piece
                        break  # it died before any of this clause's audio: another speaks it
                    if isinstance(piece, Exception):
                        raise piece
                    is_heard = True
                    yield piece
                if piece is None:
                    return
            finally:
                speaking.cancel()  # when the listener stopped (barge-in): the synthesis stops
