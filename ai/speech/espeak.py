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
import socket
import subprocess
import sys
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

from ai.speech.base import SpeechError
from ai.speech.espeak_worker import HEADER, MESSAGE_BYTES, frame, parse

ESPEAK = "espeak-ng"
WORDS_PER_MINUTE = 160
SPARE_WORKERS = 2  # idle and started, so that a clause does not wait for a worker's start (0.2-0.8 s)
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

    async def speak(self, request: bytes) -> int:
        """Asks for a clause; its number."""
        self.clause += 1
        try:
            await asyncio.get_running_loop().sock_sendall(self.channel, frame(b"S", self.clause, request))
        except OSError as error:
            raise _WorkerStopped from error
        return self.clause

    async def receive(self, clause: int) -> tuple[bytes, bytes]:
        """The next message about `clause` (those left from a cancelled one are skipped)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                message = await loop.sock_recv(self.channel, MESSAGE_BYTES)
            except OSError as error:
                raise _WorkerStopped from error
            if not message:
                raise _WorkerStopped
            kind, number, body = parse(message)
            if number == clause:
                return kind, body

    def cancel(self) -> None:
        with contextlib.suppress(OSError):  # a worker gone has nothing to stop
            self.channel.send(frame(b"C", self.clause))

    async def stop(self) -> None:
        self.is_stopped = True
        self.channel.close()
        self.process.kill()
        await asyncio.to_thread(self.process.wait)


class _Workers:
    """Workers free for a clause, the last one given back lent first (its caches warm)."""

    def __init__(self) -> None:
        self._free: deque[_Worker] = deque()

    def lend(self) -> _Worker:
        for gone in [worker for worker in self._free if worker.process.poll() is not None]:
            self._free.remove(gone)  # died while free (its exit is reaped by poll)
            gone.channel.close()
        worker = self._free.popleft() if self._free else _Worker()
        self.top_up()
        return worker

    def give_back(self, worker: _Worker) -> None:
        self._free.appendleft(worker)

    def top_up(self) -> None:
        while len(self._free) < SPARE_WORKERS:
            self._free.append(_Worker())


@functools.cache
def _workers() -> _Workers:
    return _Workers()


def warm() -> None:
    """Starts the spare workers, ahead of the first clause."""
    _workers().top_up()


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
        workers, failure = _workers(), ""
        for attempt in range(_ATTEMPTS):
            worker, is_heard, is_over = workers.lend(), False, False
            try:
                clause = await worker.speak(body)
                while (message := await worker.receive(clause))[0] != b"E":
                    kind, content = message
                    if kind == b"A":
                        is_heard = True
                        yield content
                    else:
                        failure = content.decode()
                is_over = True
            except _WorkerStopped as error:
                await worker.stop()
                if is_heard or attempt == _ATTEMPTS - 1:
                    raise SpeechError("the espeak-ng worker stopped", transient=True) from error
                continue  # it died before any of this clause's audio: another speaks it
            finally:
                if not worker.is_stopped:
                    if not is_over:
                        worker.cancel()  # the listener stopped (barge-in)
                    workers.give_back(worker)
            break
        if failure:
            raise SpeechError(failure)
