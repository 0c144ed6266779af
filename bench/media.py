"""Benchmark the media bridge (issue 12): what `manage.py media_bridge` adds to each 20 ms frame.

For each concurrency in --streams (1 and 50), this process plays Asterisk and the app for that many
bidirectional streams against one real bridge process (started as the Procfile runs it, `--port 0`):

* Asterisk: one AudioSocket connection per stream, sending a 20 ms slin frame on an absolute clock.
  Each frame carries its number in its first two mu-law bytes (values a mu-law round trip keeps).
* the app: one websocket server; each stream's socket echoes every inbound `media` back at once, as
  a real-time voice app would.

Measured per frame over --seconds (after --warmup):
* in: Asterisk's send -> the app's receipt of that frame (AudioSocket in, websocket out).
* out at its tick: how late the bridge wrote each frame to Asterisk against its 20 ms tick, as the
  bridge itself counts it (its log's "playout lateness" line per stream, whole milliseconds).
* out: the app's send of an echo -> its receipt by Asterisk. This includes the playout's jitter buffer
  (up to one frame by design), the wait for the next 20 ms tick, and any backlog: a playout stall of
  over 100 ms (docs/streams.md) keeps its delay until the queue runs dry, which for an app echoing
  in real time is never, so on a starved machine this figure grows over the run.
* pacing: how far apart consecutive echoed frames reached Asterisk, against 20 ms (the playout
  clock's jitter as the caller would hear it); a "late" frame came more than a frame late (a gap in
  the caller's audio), a "lost" one was echoed but never played.
* CPU: the bridge process's utime+stime over the run, per stream, as a share of one core.

`bench/media calls` is the other half, end to end: real calls through Asterisk and the ARI worker to
an echo app, caller to app to caller (bench/media_calls.py).

The harness runs on this machine too (it is Python: at 50 streams its own loop adds to the figures),
so the table also gives the machine's load. The bridge reports each stream's start to the platform's
Reporter (a stream it does not know: a no-op); nothing else touches the database.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
import uvloop
from websockets.asyncio.server import ServerConnection, serve

from bench import media_calls
from bench.processes import cpu_seconds, machine_busy_seconds, terminate
from streams.bridge import audiosocket
from streams.bridge.audiosocket import Kind
from streams.bridge.codec import slin_to_ulaw, ulaw_to_slin
from streams.contract import LEG_TTL_SECONDS, StreamLeg, leg_key

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
FRAME = 0.02
SID_PREFIX = "MZ" + "0" * 28  # plus four digits: a SID's 34 characters


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", default="1,50", help="concurrencies to run, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=REPO / ".data" / "bench-media", help="the bridge's logs")
    return parser.parse_args()


def _numbered(number: int) -> bytes:
    """A mu-law frame carrying `number` in its first two bytes, never 0x7f (which reads back as 0xff)."""
    return bytes([number // 127 % 127, number % 127]) + b"\x55" * 158


def _number(ulaw: bytes) -> int:
    return ulaw[0] * 127 + ulaw[1]


@dataclass
class Leg:
    """One stream, and when each of its frames (by number) crossed each point."""

    sid: str
    sent: dict[int, float] = field(default_factory=dict)  # Asterisk wrote it
    heard: dict[int, float] = field(default_factory=dict)  # the app read it
    echoed: dict[int, float] = field(default_factory=dict)  # the app wrote it back
    played: dict[int, float] = field(default_factory=dict)  # Asterisk read the echo


class Harness:
    """Asterisk's legs and the echo app, on this process's loop, kept light (one clock for every leg,
    no JSON parsing of media) so that the harness is rarely what is late."""

    def __init__(self, streams: int, bridge_port: int) -> None:
        self.legs = {sid: Leg(sid) for sid in (f"{SID_PREFIX}{i:04d}" for i in range(streams))}
        self.bridge_port = bridge_port
        self.writers: list[tuple[Leg, asyncio.StreamWriter]] = []
        self.lag_ms: list[tuple[float, float]] = []  # (when, how late) the harness's own clock ticked
        self.stopping = asyncio.Event()
        self._frames: dict[int, bytes] = {}

    async def app(self, socket: ServerConnection) -> None:
        leg: Leg | None = None
        async for message in socket:
            assert isinstance(message, str)
            if message.startswith('{"event":"media"') and leg is not None:
                now = time.monotonic()
                payload = message[
                    message.index('"payload":"') + 11 : message.index('"', message.index('"payload":"') + 11)
                ]
                number = _number(base64.b64decode(payload[:4]))
                leg.heard[number] = now
                leg.echoed[number] = time.monotonic()
                await socket.send(
                    f'{{"event":"media","streamSid":"{leg.sid}","media":{{"payload":"{payload}"}}}}'
                )
            elif message.startswith('{"event":"start"'):
                leg = self.legs[json.loads(message)["start"]["streamSid"]]

    async def connect(self, leg: Leg, connection_id: str) -> asyncio.Task[None]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.bridge_port)
        writer.write(audiosocket.frame(Kind.ID, uuid.UUID(connection_id).bytes))
        self.writers.append((leg, writer))
        return asyncio.create_task(self._hear(leg, reader))

    def _frame(self, number: int) -> bytes:
        if number not in self._frames:
            self._frames[number] = audiosocket.frame(Kind.AUDIO, ulaw_to_slin(_numbered(number)))
        return self._frames[number]

    async def clock(self) -> None:
        """Each leg's next frame every 20 ms on an absolute clock, the legs spread over the 20 ms as
        calls that began at different times are, until stopping."""
        origin, number, spacing = time.monotonic(), 0, FRAME / len(self.writers)
        while not self.stopping.is_set():
            frame = self._frame(number)
            for index, (leg, writer) in enumerate(self.writers):
                due = origin + number * FRAME + index * spacing
                await asyncio.sleep(max(due - time.monotonic(), 0))
                now = time.monotonic()
                self.lag_ms.append((now, (now - due) * 1000))
                leg.sent[number] = now
                writer.write(frame)
            number += 1
        for _, writer in self.writers:
            writer.write(audiosocket.frame(Kind.HANGUP))
            writer.close()

    @staticmethod
    async def _hear(leg: Leg, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                kind, data = await audiosocket.read_frame(reader)
                if kind == Kind.AUDIO:
                    leg.played[_number(slin_to_ulaw(data[:4]))] = time.monotonic()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass


@dataclass
class Row:
    streams: int
    seconds: float
    in_ms: list[float]
    out_ms: list[float]
    pacing_ms: list[float]
    at_tick: Counter[int]
    echoed: int
    lost: int
    late: int
    bridge_cpu_s: float
    machine_busy_s: float
    harness_cpu_s: float
    harness_lag_ms: list[float]


@dataclass(frozen=True)
class Meters:
    at: float
    bridge_cpu_s: float
    machine_busy_s: float
    harness_cpu_s: float


def _meters(bridge_pid: int) -> Meters:
    return Meters(time.monotonic(), cpu_seconds(bridge_pid), machine_busy_seconds(), cpu_seconds(os.getpid()))


def _counted(histogram: Counter[int], share: float) -> str:
    """The percentile of a {whole ms: count} histogram, as "<1" for its first bucket."""
    total, running = sum(histogram.values()), 0
    for ms in sorted(histogram):
        running += histogram[ms]
        if running >= share * total:
            return f"{ms}" if ms > 0 else "<1"
    return "n/a"


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def _bridge(out: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    """`manage.py media_bridge` on a free port, as the Procfile runs it; the process, its port, its log."""
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / f"bridge-{time.strftime('%H%M%S')}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(VENV_PYTHON), "manage.py", "media_bridge", "--port", "0"],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            # The echo app listens on loopback, which the destination policy admits only when told.
            env={**os.environ, "PYTHONUNBUFFERED": "1", "SWITCHBOARD_EGRESS_ALLOW": "127.0.0.1"},
        )
    deadline = time.monotonic() + 30
    while not (found := re.search(r"listening on [^ ]+:(\d+)", log_path.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the media bridge did not start; see {log_path}")
        time.sleep(0.05)
    return process, int(found.group(1)), log_path


async def run_level(streams: int, args: argparse.Namespace, redis_url: str) -> Row:
    process, port, log_path = _bridge(args.out)
    harness = Harness(streams, port)
    try:
        async with serve(harness.app, "127.0.0.1", 0, compression=None, max_size=None) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/echo"
            client = aioredis.from_url(redis_url)
            hearing = []
            for leg in harness.legs.values():
                connection_id = str(uuid.uuid4())
                stream_leg = StreamLeg(
                    stream_sid=leg.sid,
                    account_sid="AC" + "0" * 32,
                    call_sid="CA" + "0" * 32,
                    url=url,
                    name="bench",
                    track="inbound",
                    tracks=["inbound"],
                    legs=1,
                    bidirectional=True,
                    parameters={},
                )
                await client.set(leg_key(connection_id), json.dumps(stream_leg), ex=LEG_TTL_SECONDS)
                hearing.append(await harness.connect(leg, connection_id))
            await client.aclose()
            clock = asyncio.create_task(harness.clock())
            await asyncio.sleep(args.warmup)
            before = _meters(process.pid)
            await asyncio.sleep(args.seconds)
            after = _meters(process.pid)
            await asyncio.sleep(2.0)  # the last echoes play, even behind a backlog
            harness.stopping.set()
            await clock
            await asyncio.gather(*hearing)
    finally:
        terminate(process)
    at_tick: Counter[int] = Counter()  # the bridge's own count: frames by ms late against their tick
    for found in re.finditer(r"playout lateness (\{.*\})", log_path.read_text()):
        at_tick.update({int(ms): frames for ms, frames in json.loads(found.group(1)).items()})
    began, ended = before.at, after.at
    in_ms, out_ms, pacing_ms = [], [], []
    echoed = lost = late = 0
    for leg in harness.legs.values():
        window = [n for n, at in leg.sent.items() if began <= at < ended]
        in_ms += [(leg.heard[n] - leg.sent[n]) * 1000 for n in window if n in leg.heard]
        numbers = [n for n in window if n in leg.echoed]
        echoed += len(numbers)
        played = [n for n in numbers if n in leg.played]
        lost += len(numbers) - len(played)
        out_ms += [(leg.played[n] - leg.echoed[n]) * 1000 for n in played]
        # each frame's distance from 20 ms after the one before it: the playout clock's jitter
        gaps = [(leg.played[b] - leg.played[a]) * 1000 for a, b in zip(played, played[1:], strict=False)]
        pacing_ms += [abs(gap - FRAME * 1000) for gap in gaps]
        late += sum(1 for gap in gaps if gap > 2 * FRAME * 1000)
    lag_ms = [lag for at, lag in harness.lag_ms if began <= at < ended]
    return Row(
        streams=streams,
        seconds=ended - began,
        in_ms=in_ms,
        out_ms=out_ms,
        pacing_ms=pacing_ms,
        echoed=echoed,
        lost=lost,
        late=late,
        at_tick=at_tick,
        bridge_cpu_s=after.bridge_cpu_s - before.bridge_cpu_s,
        machine_busy_s=after.machine_busy_s - before.machine_busy_s,
        harness_cpu_s=after.harness_cpu_s - before.harness_cpu_s,
        harness_lag_ms=lag_ms,
    )


def report(rows: list[Row]) -> str:
    lines = [
        "| streams | in p50 / p99 ms | out at its tick p50 / p99 ms | out p50 / p99 ms "
        "| pacing jitter p50 / p99 ms | echoed | late | lost "
        "| bridge CPU per stream | machine busy (harness) | harness clock late p99 |",
        "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cpu_share = row.bridge_cpu_s / row.seconds / row.streams * 100
        lines.append(
            f"| {row.streams} "
            f"| {_percentile(row.in_ms, 0.5):.2f} / {_percentile(row.in_ms, 0.99):.2f} "
            f"| {_counted(row.at_tick, 0.5)} / {_counted(row.at_tick, 0.99)} "
            f"| {_percentile(row.out_ms, 0.5):.2f} / {_percentile(row.out_ms, 0.99):.2f} "
            f"| {_percentile(row.pacing_ms, 0.5):.2f} / {_percentile(row.pacing_ms, 0.99):.2f} "
            f"| {row.echoed} | {row.late} | {row.lost} "
            f"| {cpu_share:.2f} % of a core "
            f"| {row.machine_busy_s / row.seconds:.2f} ({row.harness_cpu_s / row.seconds:.2f}) cores "
            f"| {_percentile(row.harness_lag_ms, 0.99):.2f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["calls"]:  # the end-to-end part, through Asterisk
        media_calls.main(sys.argv[2:])
        return
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    rows = []
    for streams in (int(n) for n in args.streams.split(",")):
        print(f"bench/media: {streams} streams for {args.seconds:g} s ...", flush=True)
        rows.append(uvloop.run(run_level(streams, args, redis_url)))
    print(report(rows), flush=True)


if __name__ == "__main__":
    main()
