"""Benchmark an agent call's whole offline pipeline through the real speech relay (issue 14):
`bench/agent pipeline`.

For each hangover in --end-ms (SWITCHBOARD_SPEECH_END_OF_TURN_MS) it starts `manage.py speech_relay`
as the Procfile runs it, with the platform's offline engines (Silero, pocketsphinx, espeak-ng), and for
each count in --sessions plays that many calls at once against it. This process plays the two other
parties:

* Twilio's side of each call's Media Stream (the bridge's, for the relay): the caller's espeak-ng
  utterances through μ-law, one 20 ms `media` frame on an absolute clock, each sent when its 20 ms
  has been spoken; the agent's audio goes into a playout that echoes each `mark` when the audio
  before it has played, and empties on `clear` (as tests/streams/twilio_driver.py plays Twilio).
* The tenant's ConversationRelay app: by default a built-in agent with the scripted brain
  (ai/runtime.py as ai/consumers.py runs it, without the database), or with `--app instant` an app
  that answers each `prompt` at once with its whole reply as one `text` token; either way each
  `dtmf` is answered with `sendDigits`.

Each call says --turns utterances, in pairs: after the first of a pair the caller speaks again 1.5 s
after the end of the utterance, over the agent's reply (a barge-in); after the second the caller
hears the whole reply, then presses a digit. Per turn, with the clock of this one process:

* end of speech: the end of the utterance's last audible 20 ms (louder than 2 % of its loudest);
* VAD end of turn: when the relay's detector ended the turn, computed by running a detector built as
  the relay builds it (ai.speech.registry) over the same audio: the same frames decide the same way;
* STT final (+ relay): from sending the frame that ended the turn to the `prompt` reaching the app;
* first token: the app's first `text` token after the prompt (the scripted brain's time; a model's
  in production);
* TTS first audio (+ relay): from the app's token to the first agent `media` at Twilio's side;
* end of speech → first agent audio, the sum, against the issue's goal (p95 ≤ 800 ms offline).

Barge-in: from the onset of caller speech over the agent (its first audible 20 ms) to the `clear`.
Relay round trip with no speech work (the baseline): a `dtmf` sent to the `sendDigits` tone's first
`media` back (two websocket hops each way through the relay, and the app).

A concurrency is held when every turn was answered, no agent audio came late, i.e. (as in
bench/agent_speech.py) more than 20 ms after the playout had run dry in the middle of a reply (the
first audio of a reply is the latency above, not lateness), STT final plus TTS first audio stayed
within 300 ms at p95 (bench/agent_speech.py's budget: what 800 ms leaves after the hangover), and
this process sent its own frames at most 20 ms late at p99 (else the harness, not the relay, was
short of CPU). CPU is the relay process and its children (pocketsphinx's and espeak-ng's workers) per
call, as a share of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import math
import os
import platform
import re
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django
import redis
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ai.brains.scripted import Faq, ScriptedBrain
from ai.relay import contract
from ai.runtime import AgentProfile, AgentSession, ToolResult, TurnRecord
from ai.speech.base import Activity
from ai.speech.registry import voice_activity
from bench.agent_speech import HINTS, _audible_span_ms, _line, _pct, _speak
from bench.processes import machine_busy_seconds, tree_cpu_seconds
from streams.bridge.codec import slin_to_ulaw, ulaw_to_slin

REPO = Path(__file__).resolve().parent.parent
FRAME = 160  # 20 ms of μ-law
SAYINGS = (  # hinted phrases (bench/agent_speech.py); none asks for a person, which would end the call
    ("what are your opening hours", "what are your opening hours"),
    ("I would like to book an appointment", "i would like to book an appointment"),
    ("can you text me the address", "can you text me the address"),
    ("yes please", "yes please"),
)
REPLY = "We are open from nine to five, Monday to Friday."
LEAD_S, HEAR_S, BARGE_S, DIGIT_S = 1.0, 5.5, 1.5, 4.6  # see the module's docstring
LATE_MS = 20.0
BUDGET_MS = 300.0  # STT final + TTS first audio at p95, as bench/agent_speech.py's --budget-ms


@dataclass
class Turn:
    at_s: float  # where the utterance's audio begins in the call
    onset_s: float  # its first audible 20 ms
    end_s: float  # the end of its last audible 20 ms
    expected: str
    is_barge_in: bool  # it starts over the reply to the turn before


@dataclass
class Script:
    audio: bytes  # μ-law, the whole call
    turns: list[Turn]
    digits: list[float]  # when the caller presses 1


@dataclass
class Call:
    """One call as Twilio's side and the app saw it; times in s since its first frame was due."""

    index: int
    script: Script
    began: float = 0.0
    frame_sent: list[float] = field(default_factory=list)  # when frame n went (due at (n + 1) * 20 ms)
    prompts: list[tuple[float, str]] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)  # the app's replies to prompts
    digits_sent: list[float] = field(default_factory=list)
    digit_answers: list[float] = field(default_factory=list)
    first_audio: list[float] = field(default_factory=list)  # of each response
    clears: list[float] = field(default_factory=list)
    playing: list[list[float]] = field(default_factory=list)  # [start, end] of the agent's audio
    late_ms: list[float] = field(default_factory=list)  # each agent chunk but a response's first
    is_answering: bool = False  # a prompt came; no token yet
    is_awaiting_first: bool = False  # a response began; none of its audio yet
    play_end: float = 0.0
    marks: dict[str, asyncio.TimerHandle] = field(default_factory=dict)  # not yet echoed

    def now(self) -> float:
        return time.monotonic() - self.began


async def script(index: int, turns: int, spoken: dict[str, bytes]) -> Script:
    """The caller's side of call `index`: the sayings in an order of its own (calls drift apart)."""
    audio, made, digits = bytearray(b"\xff" * int(LEAD_S * 8000)), [], []
    for n in range(turns):
        text, expected = SAYINGS[(index + n) % len(SAYINGS)]
        if text not in spoken:
            spoken[text] = _line(await _speak(text, voice="m3"))
        slin = spoken[text]
        start_ms, end_ms = _audible_span_ms(slin)
        at_s = len(audio) / 8000
        audio += slin_to_ulaw(slin[: end_ms * 16])
        made.append(Turn(at_s, at_s + start_ms / 1000, at_s + end_ms / 1000, expected, n % 2 == 1))
        if n % 2 == 0 and n + 1 < turns:
            audio += b"\xff" * int(BARGE_S * 8000)  # the next turn cuts the reply short
        else:
            digits.append(made[-1].end_s + DIGIT_S)
            audio += b"\xff" * int(HEAR_S * 8000)
    audio += b"\xff" * (-len(audio) % FRAME)
    return Script(bytes(audio), made, digits)


def vad_ends(audio: bytes, end_ms: int) -> list[float]:
    """When the relay's turn detector ends turns in this audio (s), fed as the relay feeds it."""
    detector, ends = voice_activity(end_of_turn_ms=end_ms), []
    for at in range(0, len(audio), FRAME):
        for event in detector.feed(ulaw_to_slin(audio[at : at + FRAME])):
            if event.kind is Activity.ENDED:
                ends.append(event.at_ms / 1000)
    return ends


# Twilio's side.


async def play_call(call: Call, relay_url: str, stream_sid: str) -> None:
    async with connect(relay_url, compression=None) as socket:
        await socket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            "streamSid": stream_sid,
            "accountSid": "AC" + "0" * 32,
            "callSid": "CA" + uuid.uuid4().hex,
            "tracks": ["inbound"],
            "customParameters": {},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        }
        await socket.send(json.dumps({"event": "start", "start": start, "streamSid": stream_sid}))
        call.began = time.monotonic()
        reader = asyncio.create_task(_hear_agent(call, socket, stream_sid))
        digits = list(call.script.digits)
        audio = call.script.audio
        try:
            for n in range(len(audio) // FRAME):
                await asyncio.sleep(max(0.0, (n + 1) * 0.02 - call.now()))
                call.frame_sent.append(call.now())
                if digits and digits[0] <= call.now():
                    digits.pop(0)
                    call.digits_sent.append(call.now())
                    dtmf = {"track": "inbound_track", "digit": "1"}
                    await socket.send(json.dumps({"event": "dtmf", "streamSid": stream_sid, "dtmf": dtmf}))
                payload = base64.b64encode(audio[n * FRAME : (n + 1) * FRAME]).decode()
                media = {
                    "track": "inbound",
                    "chunk": str(n + 1),
                    "timestamp": str(n * 20),
                    "payload": payload,
                }
                await socket.send(json.dumps({"event": "media", "streamSid": stream_sid, "media": media}))
            await socket.send(json.dumps({"event": "stop", "streamSid": stream_sid, "stop": {}}))
        except ConnectionClosed:
            pass
        reader.cancel()


async def _hear_agent(call: Call, socket: ClientConnection, stream_sid: str) -> None:
    """The playout: what the agent's audio sounds like at the caller's ear, in time."""
    loop = asyncio.get_running_loop()

    def echo(name: str) -> None:
        call.marks.pop(name, None)
        asyncio.ensure_future(
            socket.send(json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}}))
        )

    try:
        async for raw in socket:
            message, now = json.loads(raw), call.now()
            event = message.get("event")
            if event == "media":
                seconds = len(base64.b64decode(message["media"]["payload"])) / 8000
                if call.is_awaiting_first:
                    call.is_awaiting_first = False
                    call.first_audio.append(now)
                elif now > call.play_end:  # ran dry in the middle of a reply
                    call.late_ms.append((now - call.play_end) * 1000)
                else:
                    call.late_ms.append(0.0)
                if now > call.play_end:
                    call.playing.append([now, now])
                    call.play_end = now
                call.play_end += seconds
                call.playing[-1][1] = call.play_end
            elif event == "mark":
                name = message["mark"]["name"]
                delay = max(0.0, call.play_end - now)
                call.marks[name] = loop.call_later(delay, echo, name)
            elif event == "clear":
                call.clears.append(now)
                if call.playing and call.playing[-1][1] > now:
                    call.playing[-1][1] = now
                call.play_end = now
                for name, handle in list(call.marks.items()):
                    handle.cancel()
                    echo(name)  # at once, as Twilio does on clear
    except (ConnectionClosed, asyncio.CancelledError):
        pass


# The tenant's app.


class App:
    """The tenant's app: `scripted` is the built-in agent (ai/runtime.py with the scripted brain, as
    ai/consumers.py runs it, minus the database: its turn records are dropped, which the consumer
    writes after the reply); `instant` answers each prompt with REPLY as one token at once. Digits are
    the bench's own either way (the baseline): `sendDigits`, no speech."""

    def __init__(self, calls: dict[str, Call], brain: str) -> None:
        self.calls, self.brain = calls, brain

    async def handle(self, socket: ServerConnection) -> None:
        call: Call | None = None

        async def send(message: dict[str, Any]) -> None:
            if call is not None and call.is_answering and message.get("type") == "text" and message["token"]:
                call.is_answering, call.is_awaiting_first = False, True
                call.answers.append(call.now())
            await socket.send(json.dumps(message))

        agent = scripted_agent(send) if self.brain == "scripted" else None
        async for raw in socket:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "setup":
                call = self.calls[str(message["customParameters"]["bench"])]
            elif call is None:
                continue
            elif kind == "prompt":
                call.prompts.append((call.now(), message["voicePrompt"]))
                call.is_answering = True
                if agent is None:
                    await send({"type": "text", "token": REPLY, "last": True})
            elif kind == "dtmf":
                call.is_awaiting_first = True
                call.digit_answers.append(call.now())
                await send({"type": "sendDigits", "digits": "1"})
                continue
            if agent is not None and kind != "setup":
                await agent.handle(message)


def session_record(app_url: str, index: int, sid: str) -> contract.Session:
    """As the ARI worker records a <Connect><ConversationRelay>, the call's number in its parameters."""

    def voice(hints: Sequence[str]) -> contract.Voice:
        return contract.Voice(
            code="en-US",
            tts_provider="",
            voice="",
            transcription_provider="",
            speech_model="",
            hints=list(hints),
        )

    return contract.Session(
        session_id="VX" + uuid.uuid4().hex,
        url=app_url,
        signature="bench",
        setup={"sessionId": sid, "callSid": "CA" + uuid.uuid4().hex, "customParameters": {"bench": index}},
        tts=voice(()),
        transcription=voice(HINTS),
        languages=[],
        welcome_greeting="",
        welcome_greeting_interruptible="any",
        interruptible="any",
        report_input_during_agent_speech="none",
        dtmf_detection=True,
        partial_prompts=False,
        preemptible=False,
    )


def scripted_agent(send: Callable[[dict[str, Any]], Awaitable[None]]) -> AgentSession:
    """A built-in agent with the scripted brain, FAQ entries for the sayings, and no tools."""

    class NoTools:  # none offered: the brain asks for none
        async def run(self, name: str, arguments: dict[str, Any]) -> ToolResult:
            raise AssertionError(name)

    async def drop(record: TurnRecord) -> None:
        return None

    faqs = [
        Faq(phrases=("opening hours", "open"), answer=REPLY),
        Faq(phrases=("address", "where"), answer="We are at one Main Street, next to the station."),
        Faq(phrases=("yes",), answer="Good. Is there anything else I can do for you?"),
    ]
    profile = AgentProfile(
        account_id=uuid.uuid4(),
        agent_sid="AI" + "0" * 32,
        instructions="",
        tools=(),
        max_turns_without_progress=99,  # the sayings come round again
    )
    return AgentSession(
        profile=profile, brain=ScriptedBrain(faqs), tool_specs=(), tools=NoTools(), send=send, record=drop
    )


# The relay.


def start_relay(end_ms: int, out: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    """`manage.py speech_relay` on a free port with this hangover; the process, its port, its log."""
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / f"relay-{end_ms}-{time.strftime('%H%M%S')}.log"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "SWITCHBOARD_SPEECH_END_OF_TURN_MS": str(end_ms),
        "SWITCHBOARD_EGRESS_ALLOW": "127.0.0.1",  # the app listens on loopback
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(REPO / ".venv/bin/python"), "manage.py", "speech_relay", "--host", "127.0.0.1"]
            + ["--port", "0"],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 60
    while not (found := re.search(r"listening on [^ ]+:(\d+)", log_path.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the speech relay did not start; see {log_path}")
        time.sleep(0.05)
    return process, int(found.group(1)), log_path


def relay_cpu_seconds(pid: int) -> float:
    """The relay, its live children (pocketsphinx's and espeak-ng's workers), and the ones it has
    reaped (a worker that died): utime + stime, cutime + cstime."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return tree_cpu_seconds(pid) + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


# A run and its figures.


@dataclass
class Figures:
    sessions: int
    end_ms: int
    total: list[float] = field(default_factory=list)
    vad: list[float] = field(default_factory=list)
    stt: list[float] = field(default_factory=list)
    token: list[float] = field(default_factory=list)
    tts: list[float] = field(default_factory=list)
    barge: list[float] = field(default_factory=list)
    barges_expected: int = 0
    baseline: list[float] = field(default_factory=list)
    turns: int = 0
    answered: int = 0
    right: int = 0
    late_ms: list[float] = field(default_factory=list)
    sent_late_ms: list[float] = field(default_factory=list)
    cpu_per_call: float = 0.0
    busy: float = 0.0

    def held(self) -> str:
        """ "yes", or why not."""
        if self.answered < self.turns:
            return "no: turns unanswered"
        if any(value > LATE_MS for value in self.late_ms):
            return "no: agent audio late"
        if _pct([stt + tts for stt, tts in zip(self.stt, self.tts, strict=True)], 0.95) > BUDGET_MS:
            return f"no: STT + TTS p95 > {BUDGET_MS:.0f} ms"
        if _pct(self.sent_late_ms, 0.99) > LATE_MS:
            return "not known: the harness sent late"
        return "yes"


def measure(call: Call, ends: list[float], figures: Figures) -> None:
    """Call's turns, matched to what the relay and the app did after each (see the docstring)."""
    figures.sent_late_ms += [(at - 0.02 * (n + 1)) * 1000 for n, at in enumerate(call.frame_sent)]
    figures.late_ms += call.late_ms
    # Each turn's end as the relay's detector decided it, and when the frame that decided it was sent.
    decided: list[tuple[float, float] | None] = []
    for turn in call.script.turns:
        end = next((e for e in ends if e > turn.end_s - 0.02), None)
        # The detector's clock runs in its own windows (Silero's are 32 ms): the frame that decided is
        # the one that completed that much audio.
        frame = min(len(call.frame_sent) - 1, math.ceil(end / 0.02 - 1e-6) - 1) if end is not None else -1
        decided.append((end, call.frame_sent[frame]) if end is not None and frame >= 0 else None)
    for number, turn in enumerate(call.script.turns):
        figures.turns += 1
        if (this := decided[number]) is None:
            continue
        end, sent = this
        following = next((d[1] for d in decided[number + 1 :] if d is not None), float("inf"))
        prompt = next(((at, text) for at, text in call.prompts if sent <= at < following), None)
        if prompt is None:
            continue
        answer = next((at for at in call.answers if at >= prompt[0]), None)
        audio = next((at for at in call.first_audio if at >= answer), None) if answer is not None else None
        if answer is None or audio is None:
            continue
        figures.answered += 1
        figures.right += prompt[1].lower() == turn.expected
        figures.vad.append((end - turn.end_s) * 1000)
        figures.stt.append((prompt[0] - sent) * 1000)
        figures.token.append((answer - prompt[0]) * 1000)
        figures.tts.append((audio - answer) * 1000)
        figures.total.append((audio - turn.end_s) * 1000)
        if turn.is_barge_in and any(start <= turn.onset_s < stop for start, stop in call.playing):
            figures.barges_expected += 1
            clear = next((at for at in call.clears if turn.onset_s <= at < turn.end_s + 1), None)
            if clear is not None:
                figures.barge.append((clear - turn.onset_s) * 1000)
    for pressed in call.digits_sent:
        answer = next((at for at in call.digit_answers if at >= pressed), None)
        audio = next((at for at in call.first_audio if at >= answer), None) if answer is not None else None
        if audio is not None:
            figures.baseline.append((audio - pressed) * 1000)


async def run(sessions: int, end_ms: int, turns: int, brain: str, out: Path, redis_url: str) -> Figures:
    spoken: dict[str, bytes] = {}
    scripts = [await script(index, turns, spoken) for index in range(sessions)]
    ends = [vad_ends(s.audio, end_ms) for s in scripts]
    calls = {str(index): Call(index, scripts[index]) for index in range(sessions)}
    process, port, _log = start_relay(end_ms, out)
    store = redis.Redis.from_url(redis_url)
    figures = Figures(sessions, end_ms)
    try:
        async with serve(App(calls, brain).handle, "127.0.0.1", 0, compression=None) as server:
            app_url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/relay"
            sids = ["MZ" + uuid.uuid4().hex for _ in range(sessions)]
            for index, sid in enumerate(sids):
                store.set(contract.session_key(sid), json.dumps(session_record(app_url, index, sid)), ex=120)
            await asyncio.sleep(2)  # the relay's pocketsphinx workers warming
            cpu_before, busy_before = relay_cpu_seconds(process.pid), machine_busy_seconds()
            wall_before = time.monotonic()

            async def staggered(index: int, sid: str) -> None:
                await asyncio.sleep((index * 0.37) % 3.0)  # calls do not all speak in step
                await play_call(calls[str(index)], f"ws://127.0.0.1:{port}/relay", sid)

            await asyncio.gather(*(staggered(index, sid) for index, sid in enumerate(sids)))
            wall = time.monotonic() - wall_before
            figures.cpu_per_call = (relay_cpu_seconds(process.pid) - cpu_before) / wall / sessions
            figures.busy = (machine_busy_seconds() - busy_before) / wall / (os.cpu_count() or 1)
    finally:
        process.terminate()
        process.wait(timeout=20)
        store.close()
    for call in calls.values():
        measure(call, ends[call.index], figures)
    return figures


def calls_held(rows: Sequence[Figures]) -> int:
    """The most calls at once held with every smaller count run held too."""
    most = 0
    for row in sorted(rows, key=lambda row: row.sessions):
        if row.held() != "yes":
            break
        most = row.sessions
    return most


def _p(values: Sequence[float]) -> str:
    return f"{_pct(values, 0.5):.0f} / {_pct(values, 0.95):.0f}" if values else "-"


def report(rows: list[Figures]) -> str:
    lines = [
        "| hangover ms | calls at once | turns answered (text right) | end of speech → first agent audio "
        "| VAD end of turn | STT final + relay | first token | TTS first audio + relay "
        "| barge-in → clear (n) | relay round trip, no speech (dtmf → tone) |",
        "|---:|---:|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.end_ms} | {row.sessions} | {row.answered}/{row.turns} ({row.right}) "
            f"| **{_p(row.total)}** | {_p(row.vad)} | {_p(row.stt)} | {_p(row.token)} | {_p(row.tts)} "
            f"| {_p(row.barge)} ({len(row.barge)}/{row.barges_expected}) | {_p(row.baseline)} |"
        )
    lines += [
        "",
        "| hangover ms | calls at once | agent audio chunks late (> 20 ms dry) / of | worst gap ms "
        "| harness frames sent late p99 ms | relay CPU per call (of a core) | machine busy | held |",
        "|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        late = sum(value > LATE_MS for value in row.late_ms)
        lines.append(
            f"| {row.end_ms} | {row.sessions} | {late} / {len(row.late_ms)} "
            f"| {max(row.late_ms, default=0):.0f} | {_pct(row.sent_late_ms, 0.99):.1f} "
            f"| {100 * row.cpu_per_call:.1f} % | {100 * row.busy:.0f} % "
            f"| {row.held()} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    logging.getLogger("websockets").setLevel(logging.WARNING)  # a line per connection otherwise
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    print(
        f"# bench/agent pipeline: {time.strftime('%a %b %d %H:%M UTC %Y', time.gmtime())}, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}; {args.turns} turns a call, app {args.app}",
        flush=True,
    )
    rows = []
    for end_ms in args.end_ms:
        for sessions in args.sessions:
            rows.append(uvloop.run(run(sessions, end_ms, args.turns, args.app, args.out, redis_url)))
            print(report(rows[-1:]), flush=True)
    print("\n" + report(rows))
    for end_ms in args.end_ms:
        print(f"hangover {end_ms} ms: {calls_held([row for row in rows if row.end_ms == end_ms])} calls held")


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    def numbers(text: str) -> list[int]:
        return [int(n) for n in text.split(",")]

    parser = argparse.ArgumentParser(
        prog="bench/agent pipeline",
        description="Whole turns of agent calls through the real speech relay (bench/agent_pipeline.py).",
    )
    parser.add_argument("--sessions", type=numbers, default=[1, 5, 10, 15, 20], help="calls at once")
    parser.add_argument("--end-ms", type=numbers, default=[600, 450], help="VAD hangovers to run")
    parser.add_argument(
        "--app",
        choices=["scripted", "instant"],
        default="scripted",
        help="the tenant's app: the built-in scripted agent, or one answering at once with one token",
    )
    parser.add_argument("--turns", type=int, default=6, help="utterances per call")
    parser.add_argument("--out", type=Path, default=REPO / ".data/bench-agent", help="the relay's logs")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
