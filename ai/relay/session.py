"""One ConversationRelay session on the speech relay: the call's audio from the media bridge (the relay
is the stream's app) and the tenant's app's text, joined by the speech engines.

Hearing: each 20 ms of the caller goes to voice activity; a turn's audio (with the moments before its
detected start) goes to speech-to-text, and its text to the app as a `prompt` when the turn ends.
Speaking: the app's `text` tokens are cut into clauses as they come, and each clause is synthesised
and sent to the bridge at once, so speech starts on the first clause, not at `last`; a `mark` follows
each piece of audio, and the bridge echoes it once played, so the relay knows what the caller heard.
Barge-in: caller speech (or a digit) while the agent speaks, where `interruptible` allows it, clears
the bridge's playout, drops what was queued and the rest of that response, and tells the app what
was heard so far (`interrupt`). Speech for barge-in is a loudness onset (40 ms over the line's noise
floor), not the turn detector's start (Silero decides on 32 ms windows, 76 ms after the caller
begins at p95): the agent must fall silent within 100 ms of the caller, bridge and busy machine
included.

Nothing here touches the database; the session ends with an `Outcome` the server hands to the worker.
"""

import asyncio
import contextlib
import logging
import math
import re
import time
import wave
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import websockets
from websockets.asyncio.connection import Connection

from ai.relay import contract, messages
from ai.speech.base import Activity, Recognizer, SpeechError, SpeechToText, TextToSpeech, VoiceActivity
from ai.speech.vad import EnergyActivity
from core.error_codes import ErrorCode
from core.task_set import TaskSet
from streams.bridge.app_socket import AppUnreachable, connect_app
from streams.bridge.codec import slin_to_ulaw, ulaw_to_slin
from voice.media import MediaCache, MediaError

log = logging.getLogger(__name__)

PREROLL_MS = 300  # of audio before the detector said "speech": the turn's first syllable
ONSET_MS = 40  # of loud audio in a row that stops the agent
CLAUSE_END = re.compile(r"[.!?;:,](?=\s)|\n")
CLAUSE_PAUSED = re.compile(r"[.!?;:,]$")
LONG_CLAUSE_CHARS = 120  # spoken at a word boundary without waiting for punctuation
# A clause ending the tokens so far ("One moment.") is spoken after this long without another token:
# the app may be calling a tool. Sooner, its punctuation could be a decimal point ("3." then "50").
PAUSED_CLAUSE_SECONDS = 0.25
PLAY_PIECE_BYTES = 8000  # μ-law: one second of a played file per media message and mark
DTMF_TONES = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
    "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "*": (941, 1209),
    "0": (941, 1336), "#": (941, 1477),
}  # fmt: skip


@dataclass(frozen=True)
class Engines:
    """Where a session's speech comes from: its turn detector, and engines by provider name
    (ConversationRelay's ttsProvider/transcriptionProvider; "" for the platform's default), which
    raise SpeechError for a name that is not available (ai.speech.registry)."""

    activity: VoiceActivity
    text_to_speech: Callable[[str], TextToSpeech]
    speech_to_text: Callable[[str], SpeechToText]


@dataclass
class _Clause:
    """Text the agent speaks, and how much of its audio was sent and played."""

    text: str
    sent_ms: int = 0
    played_ms: int = 0
    is_whole: bool = False  # all its audio was sent

    def heard(self) -> str:
        """The words the caller heard, in proportion to the audio played."""
        if self.is_whole and self.played_ms >= self.sent_ms:
            return self.text
        words = self.text.split()
        share = self.played_ms / self.sent_ms if self.sent_ms else 0.0
        return " ".join(words[: math.floor(len(words) * share)])


@dataclass
class _Say:
    """One thing to speak: a clause to synthesise, or audio (a played file, digits)."""

    clause: _Clause
    interruptible: contract.Interruptible
    is_preemptible: bool = False  # the app's next text or play cuts it short
    voice: contract.Voice | None = None  # for text: what speaks it
    audio: Iterable[bytes] | None = None  # μ-law pieces, when it is not text; a file's read as it plays


@dataclass
class _Agent:
    """What the agent is saying in its current stretch of speech (reset when it falls silent)."""

    clauses: list[_Clause] = field(default_factory=list)
    marks: dict[str, tuple[_Say, int]] = field(default_factory=dict)  # pending, in play order: ms each
    played_ms: int = 0
    current: _Say | None = None  # being synthesised or sent

    def playing(self) -> _Say | None:
        """What the caller hears now: the first audio not yet played."""
        return next(iter(self.marks.values()))[0] if self.marks else self.current

    def may_interrupt(self, *kinds: contract.Interruptible) -> bool:
        return (say := self.playing()) is not None and say.interruptible in kinds


class RelaySession:
    def __init__(
        self,
        session: contract.Session,
        *,
        stream_sid: str,
        bridge: Connection,
        engines: Engines,
        media: MediaCache,
        connect_timeout: float,
    ) -> None:
        self.session = session
        self.stream_sid = stream_sid
        self.bridge = bridge
        self.engines = engines
        self.media = media
        self.connect_timeout = connect_timeout
        self.tts_voice: contract.Voice = session["tts"]
        self.hearing: contract.Voice = session["transcription"]
        self.app: Connection | None = None
        self._end: asyncio.Future[contract.Outcome] = asyncio.get_running_loop().create_future()
        self._tasks = TaskSet(self._task_failed)
        self._queue: asyncio.Queue[_Say] = asyncio.Queue()
        # One `play` fetched and queued at a time, in the order sent: each fetch may hold 50 MB of the
        # relay's memory, and an app sending plays by the hundred would otherwise fetch them all at once.
        self._playing = asyncio.Lock()
        self._speaker: asyncio.Task[None] | None = None
        self._is_synthesizing = False
        self._agent = _Agent()
        self._mark_count = 0  # names marks; one cleared or from before a barge-in is no longer pending
        self._tokens = ""  # of the response being streamed, not yet a whole clause
        self._pause: asyncio.TimerHandle | None = None  # speaks `_tokens` if no token follows
        self._is_response_open = False  # tokens came without `last` yet
        self._is_dropping_response = False  # interrupted: the rest of that response is not spoken
        self._response_interruptible: contract.Interruptible | None = None
        self._response_preemptible: bool | None = None
        self._preroll: deque[bytes] = deque(maxlen=PREROLL_MS // 20)
        self._onset = EnergyActivity(start_ms=ONSET_MS)
        self._recognizer: Recognizer | None = None
        self._is_turn_ignored = False
        self._prompts: asyncio.Task[None] | None = None  # the last turn's transcription, in order
        self._began = time.monotonic()

    # The session's life.

    async def run(self) -> contract.Outcome:
        """Connect to the app, relay until the app ends the session, closes, or the call goes."""
        headers = {"X-Twilio-Signature": self.session["signature"]}
        try:
            self.app = await connect_app(self.session["url"], timeout=self.connect_timeout, headers=headers)
        except AppUnreachable as exc:
            log.info("relay session %s: app unreachable (%s): %s", self.session["session_id"], exc.code, exc)
            return contract.failure(exc.code, str(exc), duration_s=self._duration_s())
        try:
            await self._tell_app(messages.setup(self.session["setup"]))  # closed at once: "ended"
            self._speaker = self._tasks.spawn(self._speak())
            if greeting := self.session["welcome_greeting"]:
                self._say_text(greeting, self.session["welcome_greeting_interruptible"], self.tts_voice)
            self._tasks.spawn(self._read_bridge())
            self._tasks.spawn(self._read_app(self.app))
            return await self._end
        finally:
            await self._tasks.cancel_all()
            if self._pause is not None:
                self._pause.cancel()
            if self._recognizer is not None:
                await self._recognizer.close()
            await self.app.close()

    def _finish(self, status: contract.Status, handoff_data: str | None = None) -> None:
        if not self._end.done():
            outcome = contract.Outcome(
                status=status,
                handoff_data=handoff_data,
                duration_s=self._duration_s(),
                error_code=0,
                error_message="",
            )
            self._end.set_result(outcome)

    def _duration_s(self) -> int:
        return round(time.monotonic() - self._began)

    def _task_failed(self, error: BaseException) -> None:
        log.error("relay session %s: a task failed", self.session["session_id"], exc_info=error)
        if not self._end.done():
            failed = contract.failure(
                ErrorCode.INTERNAL_FAILURE, contract.RELAY_FAILED, duration_s=self._duration_s()
            )
            self._end.set_result(failed)

    # The caller's side: the bridge.

    async def _read_bridge(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.bridge:
                message = messages.from_bridge(raw)
                event = message.get("event")
                if event == "media":
                    await self._hear(ulaw_to_slin(message["payload"]))
                elif event == "mark":
                    self._played(message["name"])
                elif event == "dtmf":
                    await self._digit(message["digit"])
                elif event == "stop":
                    break
        self._finish("ended")  # the caller hung up, or the platform stopped the stream

    async def _hear(self, pcm: bytes) -> None:
        self._preroll.append(pcm)
        onsets = [e for e in self._onset.feed(pcm) if e.kind is Activity.STARTED]
        if onsets and self._is_speaking() and self._agent.may_interrupt("speech", "any"):
            await self._interrupt()
        started = False
        for event in self.engines.activity.feed(pcm):
            if event.kind is Activity.STARTED:
                started = True
                await self._turn_started()
            else:
                self._turn_ended()
        if self._recognizer is not None and not started:
            await self._recognizer.feed(pcm)

    async def _turn_started(self) -> None:
        if self._is_speaking():
            if self._agent.may_interrupt("speech", "any"):
                await self._interrupt()
            elif self.session["report_input_during_agent_speech"] not in ("speech", "any"):
                self._is_turn_ignored = True
                return
        self._is_turn_ignored = False
        try:
            stt = self.engines.speech_to_text(self.hearing["transcription_provider"])
            self._recognizer = await stt.recognizer(
                language=self.hearing["code"], hints=self.hearing["hints"]
            )
        except SpeechError as exc:
            await self._tell_app(messages.error(f"speech-to-text failed: {exc}"))
            return
        await self._recognizer.feed(b"".join(self._preroll))

    def _turn_ended(self) -> None:
        recognizer, self._recognizer = self._recognizer, None
        if recognizer is not None and not self._is_turn_ignored:
            transcription = self._transcribe(recognizer, self._prompts, self.hearing["code"])
            self._prompts = self._tasks.spawn(transcription)

    async def _transcribe(
        self, recognizer: Recognizer, previous: asyncio.Task[None] | None, lang: str
    ) -> None:
        """The turn's text to the app as a prompt, after the turns before it."""
        try:
            text = (await recognizer.finish()).strip()
        except SpeechError as exc:
            text = ""
            await self._tell_app(messages.error(f"speech-to-text failed: {exc}"))
        finally:
            await recognizer.close()
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        if text:
            await self._tell_app(messages.prompt(text, lang=lang))

    async def _digit(self, digit: str) -> None:
        """A digit cuts the agent short where it may; over speech it may not cut, it reaches the app
        only if reportInputDuringAgentSpeech says digits do."""
        if self._is_speaking():
            if self._agent.may_interrupt("dtmf", "any"):
                await self._interrupt()
            elif self.session["report_input_during_agent_speech"] not in ("dtmf", "any"):
                return
        if self.session["dtmf_detection"]:
            await self._tell_app(messages.dtmf(digit))

    # Barge-in.

    def _is_speaking(self) -> bool:
        return bool(self._agent.marks) or self._is_synthesizing or not self._queue.empty()

    async def _interrupt(self) -> None:
        """Stop the agent: the bridge's queue cleared, ours dropped, the app told what was heard."""
        await self._to_bridge(messages.clear(self.stream_sid))
        heard = []
        for clause in self._agent.clauses:
            heard.append(clause.heard())
            if clause.played_ms < clause.sent_ms or not clause.is_whole:
                break
        played_ms = self._agent.played_ms
        self._silence()
        if self._is_response_open:
            self._is_dropping_response = True
        self._tokens = ""
        if self._pause is not None:
            self._pause.cancel()
        await self._tell_app(messages.interrupt(" ".join(filter(None, heard)), duration_ms=played_ms))

    def _silence(self) -> None:
        """Forget what is queued and playing (the bridge was told to clear it)."""
        self._agent = _Agent()
        while not self._queue.empty():
            self._queue.get_nowait()
        if self._speaker is not None and self._is_synthesizing:
            self._speaker.cancel()  # the synthesis under way stops (espeak-ng's process with it)
            self._speaker = self._tasks.spawn(self._speak())
        self._is_synthesizing = False

    # The app's side.

    async def _read_app(self, app: Connection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in app:
                try:
                    message = messages.parse(raw)
                except messages.Invalid as exc:
                    await self._tell_app(messages.error(str(exc)))
                    continue
                await self._on_app(message)
        self._finish("ended")

    async def _on_app(self, message: messages.AppMessage) -> None:
        if isinstance(message, messages.Text):
            await self._on_text(message)
        elif isinstance(message, messages.Play):
            self._tasks.spawn(self._play(message))
        elif isinstance(message, messages.SendDigits):
            self._enqueue(_Say(_Clause(""), "none", audio=_pieces(dtmf_audio(message.digits))))
        elif isinstance(message, messages.Language):
            self._on_language(message)
        else:
            self._finish("completed", message.handoff_data)

    async def _on_text(self, message: messages.Text) -> None:
        if self._is_dropping_response:
            self._is_dropping_response = not message.last
            return
        if not self._is_response_open:
            self._response_interruptible = message.interruptible
            self._response_preemptible = message.preemptible
            await self._preempt()
        self._is_response_open = not message.last
        interruptible = self._response_interruptible or self.session["interruptible"]
        is_preemptible = _either(self._response_preemptible, self.session["preemptible"])
        voice = self._voice_for(message.lang, self.tts_voice) if message.lang else self.tts_voice
        clauses, self._tokens = _clauses(self._tokens + message.token)
        for clause in clauses:
            self._say_text(clause, interruptible, voice, is_preemptible)
        if self._pause is not None:
            self._pause.cancel()
            self._pause = None
        if message.last:
            self._say_rest(interruptible, voice, is_preemptible)
        elif CLAUSE_PAUSED.search(self._tokens):
            self._pause = asyncio.get_running_loop().call_later(
                PAUSED_CLAUSE_SECONDS, self._say_rest, interruptible, voice, is_preemptible
            )

    def _say_rest(
        self, interruptible: contract.Interruptible, voice: contract.Voice, is_preemptible: bool
    ) -> None:
        self._say_text(self._tokens, interruptible, voice, is_preemptible)
        self._tokens = ""

    def _say_text(
        self,
        text: str,
        interruptible: contract.Interruptible,
        voice: contract.Voice,
        is_preemptible: bool = False,
    ) -> None:
        if text.strip():
            self._enqueue(_Say(_Clause(text.strip()), interruptible, is_preemptible, voice=voice))

    async def _preempt(self) -> None:
        """New text or play from the app: what plays now stops if it was sent as preemptible."""
        if self._is_speaking() and (say := self._agent.playing()) is not None and say.is_preemptible:
            await self._to_bridge(messages.clear(self.stream_sid))
            self._silence()

    def _enqueue(self, say: _Say) -> None:
        self._queue.put_nowait(say)

    def _on_language(self, message: messages.Language) -> None:
        """What follows is spoken, and heard, in another language (from now on, in order)."""
        if message.tts_language:
            self.tts_voice = self._voice_for(message.tts_language, self.tts_voice)
        if message.transcription_language:
            self.hearing = self._voice_for(message.transcription_language, self.hearing)

    def _voice_for(self, code: str, current: contract.Voice) -> contract.Voice:
        """The `<Language>` of that code, else the current settings in that language."""
        for voice in self.session["languages"]:
            if voice["code"].lower() == code.lower():
                return voice
        return contract.Voice(**{**current, "code": code})

    async def _play(self, message: messages.Play) -> None:
        async with self._playing:
            try:
                path = await self.media.play_file(message.source)
            except MediaError as exc:
                await self._tell_app(messages.error(f"play of {message.source} failed: {exc}"))
                return
            interruptible = message.interruptible or self.session["interruptible"]
            is_preemptible = _either(message.preemptible, self.session["preemptible"])
            await self._preempt()
            audio = _wav_pieces(path, message.loop)
            self._enqueue(_Say(_Clause(""), interruptible, is_preemptible, audio=audio))

    # Speaking.

    async def _speak(self) -> None:
        """What is queued, in order: each clause synthesised and sent as it is made."""
        while True:
            say = await self._queue.get()
            if not self._agent.marks:  # all played: a new stretch of speech
                self._agent = _Agent()
            self._agent.current = say
            self._agent.clauses.append(say.clause)
            self._is_synthesizing = True
            try:
                if say.audio is not None:
                    for piece in say.audio:
                        await self._send_audio(say, piece)
                else:
                    voice = say.voice or self.tts_voice
                    tts = self.engines.text_to_speech(voice["tts_provider"])
                    async for pcm in tts.synthesize(
                        say.clause.text, voice=voice["voice"], language=voice["code"]
                    ):
                        await self._send_audio(say, slin_to_ulaw(pcm))
            except SpeechError as exc:
                await self._tell_app(messages.error(f"text-to-speech failed: {exc}"))
            finally:
                say.clause.is_whole = True
                self._is_synthesizing = False

    async def _send_audio(self, say: _Say, ulaw: bytes) -> None:
        if not ulaw:
            return
        self._mark_count += 1
        name = str(self._mark_count)
        ms = len(ulaw) // 8
        say.clause.sent_ms += ms
        self._agent.marks[name] = (say, ms)
        await self._to_bridge(messages.media(self.stream_sid, ulaw))
        await self._to_bridge(messages.mark(self.stream_sid, name))

    def _played(self, name: str) -> None:
        """The bridge played the audio before mark `name` (or cleared it: then it is stale)."""
        found = self._agent.marks.pop(name, None)
        if found is not None:
            say, ms = found
            say.clause.played_ms += ms
            self._agent.played_ms += ms

    # Sending.

    async def _to_bridge(self, message: str) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.bridge.send(message)

    async def _tell_app(self, message: str) -> None:
        if self.app is not None:
            with contextlib.suppress(websockets.ConnectionClosed):
                await self.app.send(message)


def _either(value: bool | None, default: bool) -> bool:
    return default if value is None else value


def _clauses(text: str) -> tuple[list[str], str]:
    """`text` cut into whole clauses, and the rest, still waiting for its end. A clause ends after its
    punctuation within LONG_CLAUSE_CHARS, else at the last word boundary there (a longer word is cut
    at the limit). One pass, however long the text: searching and copying the rest again for each
    clause held the relay's event loop, every tenant's sessions on it, for 40 s per megabyte."""
    clauses: list[str] = []
    start = 0
    ends = CLAUSE_END.finditer(text)
    end = next(ends, None)
    while True:
        while end is not None and end.end() <= start:
            end = next(ends, None)
        limit = start + LONG_CLAUSE_CHARS
        if end is not None and end.end() <= limit:
            cut = end.end()
        elif len(text) - start > LONG_CLAUSE_CHARS:
            space = text.rfind(" ", start + 1, limit)
            cut = space + 1 if space > start else limit
        else:
            return clauses, text[start:]
        clauses.append(text[start:cut])
        start = cut


def _pieces(ulaw: bytes) -> list[bytes]:
    return [ulaw[at : at + PLAY_PIECE_BYTES] for at in range(0, len(ulaw), PLAY_PIECE_BYTES)]


def _wav_pieces(path: Path, loop: int) -> Iterator[bytes]:
    """An 8 kHz mono 16-bit WAV's audio as μ-law, a piece at a time, `loop` times: read as it plays,
    never held whole nor repeated in memory (a 50 MB file played 100 times, queued by the dozen,
    would exhaust the relay every session shares)."""
    for _ in range(loop):
        with wave.open(str(path), "rb") as wav:
            while frames := wav.readframes(PLAY_PIECE_BYTES):
                yield slin_to_ulaw(frames)


def dtmf_audio(digits: str) -> bytes:
    """`digits` as in-band DTMF tones (100 ms each, 100 ms apart; `w` waits 500 ms), as μ-law."""
    rate, pcm = 8000, []
    gap = np.zeros(rate // 10)
    for digit in digits:
        if digit in "wW":
            pcm.append(np.zeros(rate // 2))
            continue
        low, high = DTMF_TONES[digit]
        t = np.arange(rate // 10) / rate
        pcm += [6000 * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)), gap]
    samples = np.concatenate(pcm).astype(np.int16) if pcm else np.zeros(0, dtype=np.int16)
    return slin_to_ulaw(samples.tobytes())
