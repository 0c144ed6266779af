"""Benchmark the offline speech stages of an agent call (issue 14): `bench/agent`.

Callers' utterances are made with espeak-ng (a male variant, the agent speaks with the default
voice), sent down a phone line (μ-law and back) with silence either side, and put through the
engines the relay uses:

* VAD end of turn: the detector's speech-ended event after the utterance's last audible 20 ms
  (its hangover, SWITCHBOARD_SPEECH_END_OF_TURN_MS, included; the table also gives what is beyond
  it), and its speech-started event after the first (what barge-in waits for). Silero and energy.
* STT final: pocketsphinx's `finish()` on the turn, from the call to the text (the hinted turns,
  where the grammar answers, and free text apart), with how many hinted turns came out right.
* TTS first audio: espeak-ng from `synthesize()` to its first 8 kHz chunk, over the agent's replies.

Then `--sessions` (1,5,10,20,30) calls at once, in real time: each plays its caller (the hinted
utterances, 20 ms frames on an absolute clock into its own Silero detector and recognizer), and at
each end of turn runs STT and then TTS of a reply, as the relay does. A concurrency is held when the
frames were fed at most 20 ms late (p99) and the turns' STT final plus first TTS audio stayed within
--budget-ms at p95 (300: what the issue's 800 ms from end of speech to the agent's first audio
leaves after the default 450 ms hangover, 480-500 with Silero's windows, less a model's first
token). CPU is this process plus its children (the decoder and synthesis workers), as a share of one
core per session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ai.speech.audio import rms
from ai.speech.base import Activity
from ai.speech.espeak import EspeakTextToSpeech
from ai.speech.sphinx import SphinxSpeechToText
from ai.speech.vad import EnergyActivity, SileroActivity
from bench.processes import machine_busy_seconds, tree_cpu_seconds
from streams.bridge.codec import slin_to_ulaw, ulaw_to_slin
from tests.ai.speech import HINTS

FRAME = 320  # 20 ms of slin 8 kHz
HINTED = (
    "I want to talk to a person",
    "can you text me the address",
    "what are your opening hours",
    "I would like to book an appointment",
    "yes please",
    "no",
    "five five five one two one two",
    "talk to a person",
    "text me the address",
    "yes",
)
EXPECTED = tuple(text.lower() for text in HINTED)  # as the recognizer answers
FREE = ("I have a question about my bill", "the weather is nice today", "what time is it")
REPLIES = (
    "Sure, let me get someone for you.",
    "We are open from nine to five, Monday to Friday.",
    "I have sent the address to your phone.",
    "Your appointment is booked for Tuesday at ten.",
)


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def _p50_p95(values: Sequence[float]) -> str:
    return f"{_pct(values, 0.5):.0f} / {_pct(values, 0.95):.0f}"


async def _speak(text: str, voice: str = "") -> bytes:
    return b"".join(
        [chunk async for chunk in EspeakTextToSpeech().synthesize(text, voice=voice, language="en-US")]
    )


def _line(slin: bytes) -> bytes:
    return ulaw_to_slin(slin_to_ulaw(slin))


def _audible_span_ms(slin: bytes) -> tuple[int, int]:
    """First and last 20 ms frame of speech (louder than 2 % of the loudest), in ms."""
    levels = [rms(slin[at : at + FRAME]) for at in range(0, len(slin) - FRAME + 1, FRAME)]
    loud = [index for index, level in enumerate(levels) if level >= 0.02 * max(levels)]
    return loud[0] * 20, (loud[-1] + 1) * 20


@dataclass
class Utterance:
    text: str
    expected: str | None  # None: free text
    audio: bytes  # 500 ms silence, the speech, 1500 ms silence; through μ-law
    onset_ms: int
    end_ms: int


async def utterances() -> list[Utterance]:
    made = []
    for text, expected in [*zip(HINTED, EXPECTED, strict=True), *((t, None) for t in FREE)]:
        speech = _line(await _speak(text, voice="m3"))
        start, end = _audible_span_ms(speech)
        audio = bytes(8000) + speech + bytes(24000)
        made.append(Utterance(text, expected, audio, 500 + start, 500 + end))
    return made


def vad_stage(
    said: list[Utterance], detector: type[SileroActivity] | type[EnergyActivity], end_ms: int
) -> str:
    ends, starts, misses = [], [], 0
    for utterance in said:
        vad = detector(end_ms=end_ms)
        events = []
        for at in range(0, len(utterance.audio), FRAME):
            events += vad.feed(utterance.audio[at : at + FRAME])
        started = [e.at_ms for e in events if e.kind is Activity.STARTED]
        ended = [e.at_ms for e in events if e.kind is Activity.ENDED]
        if not started or not ended:
            misses += 1
            continue
        starts.append(started[0] - utterance.onset_ms)
        ends.append(ended[-1] - utterance.end_ms)
    beyond = [value - end_ms for value in ends]
    return (
        f"| VAD {detector.__name__.removesuffix('Activity')}, hangover {end_ms} ms | {_p50_p95(ends)} "
        f"| beyond the hangover {_p50_p95(beyond)}; speech-started after onset {_p50_p95(starts)} "
        f"| {len(said) - misses}/{len(said)} |"
    )


async def stt_stage(said: list[Utterance], rounds: int) -> list[str]:
    engine = SphinxSpeechToText()
    recognizer = await engine.recognizer(language="en-US", hints=HINTS)
    await asyncio.sleep(2)  # the worker warming, as at call setup
    hinted, free, right, hinted_count = [], [], 0, 0
    for _ in range(rounds):
        for utterance in said:
            # The relay feeds from speech-started to speech-ended: the turn and the hangover's silence.
            await recognizer.feed(
                utterance.audio[(utterance.onset_ms - 100) * 16 : (utterance.end_ms + 600) * 16]
            )
            started = time.perf_counter()
            text = await recognizer.finish()
            elapsed = (time.perf_counter() - started) * 1000
            if utterance.expected is None:
                free.append(elapsed)
            else:
                hinted.append(elapsed)
                hinted_count += 1
                right += text == utterance.expected
    await recognizer.close()
    return [
        f"| STT final, hinted turns (grammar) | {_p50_p95(hinted)} | right {right}/{hinted_count} "
        f"| {len(hinted)} |",
        f"| STT final, free text (fallback) | {_p50_p95(free)} | | {len(free)} |",
    ]


async def tts_stage(rounds: int) -> str:
    firsts = []
    for _ in range(rounds):
        for reply in REPLIES:
            started = time.perf_counter()
            async for _chunk in EspeakTextToSpeech().synthesize(reply, voice="", language="en-US"):
                firsts.append((time.perf_counter() - started) * 1000)
                break
    return f"| TTS first audio (espeak-ng, 8 kHz) | {_p50_p95(firsts)} | | {len(firsts)} |"


@dataclass
class SessionFigures:
    lateness_ms: list[float] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)  # end of turn -> STT final + first TTS audio
    turns: int = 0


async def _session(
    index: int, said: list[Utterance], seconds: float, engine: SphinxSpeechToText
) -> SessionFigures:
    figures = SessionFigures()
    vad = SileroActivity()
    recognizer = await engine.recognizer(language="en-US", hints=HINTS)
    pending: set[asyncio.Task[None]] = set()

    async def answer(reply: str) -> None:
        started = time.perf_counter()
        await recognizer.finish()
        stream = EspeakTextToSpeech().synthesize(reply, voice="", language="en-US")
        await anext(stream)
        figures.turn_ms.append((time.perf_counter() - started) * 1000)
        async for _chunk in stream:  # the rest of the reply is made too (its CPU counts)
            pass

    hinted = [utterance for utterance in said if utterance.expected]
    audio = b"".join(hinted[(index + n) % len(hinted)].audio for n in range(len(hinted)))
    loop = asyncio.get_running_loop()
    start = loop.time() + (index % 50) * 0.02  # spread the sessions' frames over a second
    frame_count = int(seconds * 50)
    for n in range(frame_count):
        due = start + n * 0.02
        await asyncio.sleep(max(0.0, due - loop.time()))
        figures.lateness_ms.append((loop.time() - due) * 1000)
        at = (n * FRAME) % len(audio)
        frame = audio[at : at + FRAME]
        await recognizer.feed(frame)
        for event in vad.feed(frame):
            if event.kind is Activity.ENDED:
                figures.turns += 1
                task = asyncio.create_task(answer(REPLIES[figures.turns % len(REPLIES)]))
                pending.add(task)
                task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    await recognizer.close()
    return figures


async def concurrency_stage(said: list[Utterance], sessions: int, seconds: float, budget_ms: float) -> str:
    engine = SphinxSpeechToText()
    await (await engine.recognizer(language="en-US", hints=HINTS)).close()
    await asyncio.sleep(2)
    cpu_before = tree_cpu_seconds(os.getpid()) + _dead_children_cpu()
    busy_before, wall_before = machine_busy_seconds(), time.monotonic()
    results = await asyncio.gather(*(_session(i, said, seconds, engine) for i in range(sessions)))
    wall = time.monotonic() - wall_before
    cpu = tree_cpu_seconds(os.getpid()) + _dead_children_cpu() - cpu_before
    busy = (machine_busy_seconds() - busy_before) / wall / (os.cpu_count() or 1)
    lateness = [value for figures in results for value in figures.lateness_ms]
    turns = [value for figures in results for value in figures.turn_ms]
    held = _pct(lateness, 0.99) <= 20 and bool(turns) and _pct(turns, 0.95) <= budget_ms
    return (
        f"| {sessions} | {sum(f.turns for f in results)} "
        f"| {_pct(lateness, 0.5):.1f} / {_pct(lateness, 0.99):.1f} "
        f"| {_p50_p95(turns)} / {max(turns, default=float('nan')):.0f} | {100 * cpu / wall / sessions:.1f} % "
        f"| {100 * busy:.0f} % | {'yes' if held else 'no'} |"
    )


def _dead_children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def main(arguments: argparse.Namespace) -> None:
    said = await utterances()
    print(
        f"# bench/agent: offline speech stages, {time.strftime('%a %b %d %H:%M UTC %Y', time.gmtime())}, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{len(said)} utterances ({len(HINTED)} hinted, {len(FREE)} free), "
        f"x{arguments.rounds} for STT and TTS\n"
    )
    print("| stage | p50 / p95 ms | notes | n |\n|---|---|---|---|")
    for detector in (SileroActivity, EnergyActivity):
        print(vad_stage(said, detector, arguments.end_ms))
    for line in await stt_stage(said, arguments.rounds):
        print(line)
    print(await tts_stage(arguments.rounds * 3))
    print(
        "\n| sessions at once | turns | frame lateness p50 / p99 ms "
        "| STT final + first TTS audio p50 / p95 / max ms | CPU per session (of a core) | machine busy "
        f"| held (p99 ≤ 20 ms, p95 ≤ {arguments.budget_ms:.0f} ms) |"
    )
    print("|---:|---:|---|---|---:|---:|---|")
    for sessions in arguments.sessions:
        print(await concurrency_stage(said, sessions, arguments.seconds, arguments.budget_ms), flush=True)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each utterance goes through STT")
    parser.add_argument("--end-ms", type=int, default=450, help="the VAD's hangover")
    parser.add_argument(
        "--sessions", type=lambda s: [int(n) for n in s.split(",")], default=[1, 5, 10, 20, 30]
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="each concurrency's length")
    parser.add_argument("--budget-ms", type=float, default=300.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
