"""Benchmark Media Streams end to end: N concurrent calls through a real Asterisk, each streaming both
ways to a local echo app, beside Asterisk's own echo as the baseline.

* dialplan: extension `dialplan-echo-bench` (Answer, Echo): Asterisk returns each frame itself. No ARI,
  no bridge: what the caller's round trip costs before any of ours.
* stream: a tenant's number whose TwiML is `<Connect><Stream url="ws://…/echo"/></Connect>`: the ARI
  worker opens the stream, Asterisk's AudioSocket carries the call's audio to the media bridge, which
  speaks Twilio's protocol to the echo app (a websocket server in a process of its own that sends each
  `media` payload straight back); the bridge plays it back to the caller.

Each caller (sipp, tests/voice/sipp/uac_hangup.xml) plays silence with a 200 ms 1 kHz burst every
second and hangs up after `--seconds`. The RTP both ways is captured on loopback with kernel times
(tests/voice/rtp_capture.py), so per burst: round trip = when the echoed burst's first sample reached
the caller minus when the caller sent it. Per call, over its steady part (first to last packet it
received): late = arrivals more than 20 ms behind the previous one plus 20 ms (a whole frame late;
the caller's own sending is counted the same way, since sipp is no steadier than the machine lets it
be), missing = 20 ms frames that never arrived. CPU per stream is each process's CPU over the run divided
by calls x seconds. The highest concurrency held is the largest N whose calls all succeeded with no
missing frame and no more late frames than the callers sent late (counting only up to the first N
that failed). The bench recreates its own database (--db-name) each run and runs its own Asterisk
instance (`bench-media`), so it never touches the platform's.

Run: bench/media calls [--concurrency 1,5,10,20] [--seconds 10] [--paths dialplan,stream]
(as root: the capture's packet socket). `bench/media` alone measures the bridge by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.processes import cpu_seconds, machine_busy_seconds, terminate, tree_cpu_seconds
from bench.voice import (
    REPO,
    VENV_PYTHON,
    BenchAsterisk,
    Worker,
    media_server_row,
    setup_django,
    spread,
    tenant_with_number,
)

# Ports apart from dev, the tests' slots, bench/voice, bench/routing and bench/chaos's instances.
INSTANCE = "bench-media"
SIP_PORT = 5088
ARI_PORT = 8120
RTP_RANGE = (44000, 45999)
TRUNK_URI = "sip:127.0.0.1:5098"  # never dialled
ARI_APP = "switchboard-bench-media"
NUMBER = "+12065550181"
ACCOUNT_NAME = "bench-media"
ECHO_EXTEN = "dialplan-echo-bench"
BURST_HZ = 1000
BURST_MS = 200
PERIOD_MS = 1000
LEAD_MS = 1000  # silence before the first burst: the stream connects meanwhile
LOUD = 2000  # a sample this loud is the burst (the echo of silence is 0)
GOAL_RTT_BEYOND_APP_MS = 100
MAX_CONCURRENCY = 100
FRAME_S = 0.02
STRAY_PACKETS = 25  # a "call" that sent fewer RTP packets than this (half a second) is not one of the run's


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/media calls", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--concurrency", default="1,5,10,20", help="concurrent calls per run, comma-separated")
    add("--seconds", type=float, default=10.0, help="length of each call (default 10)")
    add("--paths", default="dialplan,stream", help="dialplan and/or stream (default both)")
    add("--db-name", default=os.environ.get("BENCH_DB_NAME", "switchboard_bench_media"))
    add("--out", type=Path, help="folder for sipp traces and logs (default .data/bench-media/<UTC time>)")
    add("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args(argv)
    args.concurrency = [int(n) for n in args.concurrency.split(",") if n.strip()]
    args.paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    if not args.concurrency or min(args.concurrency) < 1 or max(args.concurrency) > MAX_CONCURRENCY:
        parser.error(f"concurrency must be within 1..{MAX_CONCURRENCY}")
    if not 3 <= args.seconds <= 60:
        parser.error("keep the load bounded: 3 <= --seconds <= 60")
    if not args.paths or not set(args.paths) <= {"dialplan", "stream"}:
        parser.error("--paths takes dialplan and/or stream")
    if os.geteuid() != 0:
        parser.error("run as root: the RTP capture listens on loopback with a packet socket")
    if args.out is None:
        args.out = REPO / ".data" / "bench-media" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return args


# ---------------------------------------------------------------- the echo app and its TwiML


def _echo_main(port: int, ready: Any, times: Any) -> None:
    """The echo app's process: a websocket server sending every `media` payload straight back.

    Each stream's own handling times (message in to echo written, s) go to `times` when it ends.
    """
    import uvloop
    from websockets.asyncio.server import ServerConnection, serve

    async def session(websocket: ServerConnection) -> None:
        stream_sid = ""
        spent: list[float] = []
        async for raw in websocket:
            began = time.perf_counter()
            message = json.loads(raw)
            event = message.get("event")
            if event == "start":
                stream_sid = message["start"]["streamSid"]
            elif event == "media":
                payload = message["media"]["payload"]
                await websocket.send(
                    json.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})
                )
                spent.append(time.perf_counter() - began)
        times.put(spent)

    async def main() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        async with serve(session, "127.0.0.1", port, compression=None):
            ready.set()
            await asyncio.Future()

    uvloop.run(main())


class EchoApp:
    """The echo app in its own process (so it never competes with the capture for a GIL), and the
    TwiML that points a call at it, served from this process."""

    def __init__(self) -> None:
        from tests.live import free_port

        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/echo"
        self.times: Any = multiprocessing.Queue()
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(
            target=_echo_main, args=(self.port, ready, self.times), daemon=True
        )
        self.process.start()
        if not ready.wait(30):
            raise SystemExit("the echo app did not start")
        document = f'<Response><Connect><Stream url="{self.url}"/></Connect></Response>'.encode()

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                self.wfile.write(document)

            do_GET = do_POST = _reply

            def log_message(self, *args: object) -> None:
                pass

        self.twiml = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.twiml_url = f"http://127.0.0.1:{self.twiml.server_address[1]}"
        threading.Thread(target=self.twiml.serve_forever, daemon=True).start()

    def take_times(self) -> list[float]:
        spent: list[float] = []
        with contextlib.suppress(queue.Empty):
            while True:
                spent += self.times.get(timeout=0.2)
        return spent

    def close(self) -> None:
        self.twiml.shutdown()
        self.process.terminate()
        self.process.join(10)


# ---------------------------------------------------------------- platform pieces


def media_instance(password: str) -> Any:
    return BenchAsterisk(INSTANCE, SIP_PORT, ARI_PORT, RTP_RANGE, TRUNK_URI, ARI_APP).instance(password)


class MediaBridge:
    """`manage.py media_bridge` on the bench database and Redis, as the Procfile runs it; `allow` is
    the echo app's host:port, which it must be admitted to reach (it checks the policy as it connects)."""

    def __init__(self, db_name: str, log_path: Path, allow: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SWITCHBOARD_DB_NAME": db_name,
            "PYTHONUNBUFFERED": "1",
            "SWITCHBOARD_EGRESS_ALLOW": allow,
        }
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603
            [str(VENV_PYTHON), "manage.py", "media_bridge"],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while "listening on" not in log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the media bridge did not start; see {log_path}")
            time.sleep(0.1)

    def stop(self) -> None:
        terminate(self.proc)
        self.log.close()


# ---------------------------------------------------------------- one run


@dataclass
class CallMeasure:
    rtt_ms: list[float]
    late: int
    missing: int
    received: int
    max_gap_ms: float
    sent_late: int  # the caller's own: sipp's sending is no steadier than the machine lets it be


def caller_pcap(seconds: float) -> bytes:
    from tests.voice.dtmf import script_pcap

    steps: list[tuple[str, int | str]] = [("wait", LEAD_MS)]
    while sum(int(v) for _, v in steps) + PERIOD_MS <= seconds * 1000:
        steps += [("talk", BURST_MS), ("wait", PERIOD_MS - BURST_MS)]
    return script_pcap(*steps, tone_hz=BURST_HZ)


def _onsets(packets: list[Any], *, first_sample: bool) -> list[float]:
    """Times the bursts begin: the first loud sample after a quiet stretch (a whole quiet frame)."""
    from tests.voice.audio import ulaw_decode

    found: list[float] = []
    quiet = True
    for packet in packets:
        if packet.payload_type != 0:
            continue
        samples = ulaw_decode(packet.payload)
        loud = [i for i, s in enumerate(samples) if abs(s) > LOUD]
        if loud and quiet:
            found.append(packet.at_s + (loud[0] / 8000 if first_sample else 0.0))
        quiet = not loud
    return found


def measure_call(sent: list[Any], received: list[Any]) -> CallMeasure:
    """Round trip per burst, and the received stream's regularity (see the module's docstring)."""
    spoken = _onsets(sent, first_sample=False)
    heard = _onsets(received, first_sample=True)
    rtt = []
    for index, at in enumerate(spoken):
        until = spoken[index + 1] if index + 1 < len(spoken) else float("inf")
        echo = next((h for h in heard if at <= h < until), None)
        if echo is not None:
            rtt.append((echo - at) * 1000)
    audio = [p for p in received if p.payload_type == 0]
    gaps = _gaps(audio)
    span = audio[-1].at_s - audio[0].at_s if audio else 0.0
    frames_due = round(span / FRAME_S) + 1 if audio else 0
    return CallMeasure(
        rtt_ms=rtt,
        late=sum(1 for gap in gaps if gap > 2 * FRAME_S),
        missing=max(0, frames_due - len(audio)),
        received=len(audio),
        max_gap_ms=max(gaps, default=0.0) * 1000,
        sent_late=sum(1 for gap in _gaps([p for p in sent if p.payload_type == 0]) if gap > 2 * FRAME_S),
    )


def _gaps(packets: list[Any]) -> list[float]:
    return [b.at_s - a.at_s for a, b in zip(packets, packets[1:], strict=False)]


@dataclass
class Run:
    path: str
    concurrency: int
    seconds: float
    ok: int = 0
    failed: int = 0
    streams_measured: int = 0
    rtt_ms: dict[str, float] = field(default_factory=dict)
    app_ms: dict[str, float] = field(default_factory=dict)
    late: int = 0
    missing: int = 0
    sent_late: int = 0
    max_gap_ms: float = 0.0
    bursts_lost: int = 0
    cpu_per_stream_pct: dict[str, float] = field(default_factory=dict)
    machine_busy_pct: float = 0.0


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.instance: Any = None
        self.app: EchoApp | None = None
        self.worker: Worker | None = None
        self.bridge: MediaBridge | None = None

    def cpu(self) -> dict[str, float]:
        pids = self.instance.pids()
        return {
            "asterisk": cpu_seconds(pids[0]) if pids else float("nan"),
            "ari worker": tree_cpu_seconds(self.worker.proc.pid) if self.worker else 0.0,
            "bridge": tree_cpu_seconds(self.bridge.proc.pid) if self.bridge else 0.0,
            "echo app": cpu_seconds(self.app.process.pid or 0) if self.app else 0.0,
            "machine": machine_busy_seconds(),
        }

    def run(self, path: str, concurrency: int, workdir: Path) -> Run:
        from tests.voice import sipp
        from tests.voice.rtp_capture import RtpCapture

        seconds = self.args.seconds
        dialled = ECHO_EXTEN if path == "dialplan" else NUMBER
        before = self.cpu()
        started = time.monotonic()
        with RtpCapture(*RTP_RANGE) as capture:
            call = sipp.start_uac(
                self.instance.sip_address,
                dialled,
                workdir=workdir,
                pcap=caller_pcap(seconds),
                hangup_after_ms=int(seconds * 1000),
                calls=concurrency,
                rate_per_s=float(concurrency),
                timeout_s=seconds + 30,
            )
            result = call.wait()
        wall = time.monotonic() - started
        after = self.cpu()
        run = Run(path, concurrency, seconds, ok=result.successful_calls, failed=result.failed_calls)
        sent_by_call = capture.from_callers()
        received_by_call = capture.to_callers()
        rtts: list[float] = []
        per_call = {}
        for port, sent in sent_by_call.items():
            if len(sent) < STRAY_PACKETS:
                continue  # the tail of an earlier run's call, not one of this run's
            measured = measure_call(sent, received_by_call.get(port, []))
            per_call[port] = asdict(measured)
            run.streams_measured += 1
            rtts += measured.rtt_ms
            run.late += measured.late
            run.missing += measured.missing
            run.sent_late += measured.sent_late
            run.max_gap_ms = max(run.max_gap_ms, measured.max_gap_ms)
            run.bursts_lost += max(0, len(_onsets(sent, first_sample=False)) - len(measured.rtt_ms))
        run.rtt_ms = spread(rtts)
        (workdir / "calls.json").write_text(json.dumps(per_call, indent=1))  # each call's bursts, in order
        if path == "stream" and self.app is not None:
            run.app_ms = spread([t * 1000 for t in self.app.take_times()])
        stream_seconds = concurrency * seconds
        run.cpu_per_stream_pct = {
            name: (after[name] - before[name]) / stream_seconds * 100 for name in after if name != "machine"
        }
        run.machine_busy_pct = (after["machine"] - before["machine"]) / wall * 100
        return run


# ---------------------------------------------------------------- report


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"


def held(runs: list[Run], path: str) -> int:
    best = 0
    for run in sorted((r for r in runs if r.path == path), key=lambda r: r.concurrency):
        late_of_ours = run.late - run.sent_late  # a frame the caller sent late comes back late
        if run.failed or run.ok != run.concurrency or late_of_ours > 0 or run.missing or run.bursts_lost:
            break
        best = run.concurrency
    return best


def report(runs: list[Run]) -> list[str]:
    baseline = {r.concurrency: r.rtt_ms.get("p50", float("nan")) for r in runs if r.path == "dialplan"}
    lines = [
        "",
        "| path | calls | ok | round trip p50 / p95 / p99 / max (ms) | beyond Asterisk's echo p50 (ms) | "
        "app's own p50 / p99 (ms) | late (caller's own) | missing | longest gap (ms) | CPU per stream: "
        "asterisk / worker / bridge / app (% of a core) | machine busy |",
        "|---|---:|---:|---|---:|---|---:|---:|---:|---|---:|",
    ]
    for run in runs:
        r, c = run.rtt_ms, run.cpu_per_stream_pct
        beyond = r.get("p50", float("nan")) - baseline.get(run.concurrency, float("nan"))
        app = f"{fmt(run.app_ms['p50'], 2)} / {fmt(run.app_ms['p99'], 2)}" if run.app_ms else "-"
        lines.append(
            f"| {run.path} | {run.concurrency} | {run.ok} | {fmt(r['p50'])} / {fmt(r['p95'])} / "
            f"{fmt(r['p99'])} / {fmt(r['max'])} | {fmt(beyond) if run.path == 'stream' else '-'} | {app} | "
            f"{run.late} ({run.sent_late}) | {run.missing} | {fmt(run.max_gap_ms, 0)} | "
            f"{fmt(c['asterisk'], 2)} / {fmt(c['ari worker'], 2)} / "
            f"{fmt(c['bridge'], 2)} / {fmt(c['echo app'], 2)} | "
            f"{fmt(run.machine_busy_pct, 0)}% |"
        )
    lines.append("")
    for path in sorted({r.path for r in runs}):
        lines.append(f"highest concurrency held with no late or missing frame ({path}): {held(runs, path)}")
    stream = [r for r in runs if r.path == "stream" and r.rtt_ms.get("n")]
    if stream:
        worst = max(r.rtt_ms["p99"] - r.app_ms.get("p99", 0.0) for r in stream)
        verdict = "met" if worst <= GOAL_RTT_BEYOND_APP_MS else "MISSED"
        lines.append(
            f"goal: caller-to-app-to-caller round trip <= {GOAL_RTT_BEYOND_APP_MS} ms beyond the app's own "
            f"time: worst p99 {worst:.1f} ms ({verdict})"
        )
    return lines


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    setup_django(args.db_name)
    from django.db import connections

    from core.provisioning import migrate, provision_database
    from mediaserver.asterisk import ensure_root

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"bench/media calls: concurrency={args.concurrency} seconds={args.seconds:g} paths={args.paths}")

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    bench = Bench(args)
    runs: list[Run] = []
    try:
        print("provisioning a fresh bench database ...", flush=True)
        provision_database(recreate=True)  # a database another checkout made has other secrets
        migrate()
        bench.instance = media_instance(secrets.token_urlsafe(16))
        ensure_root(bench.instance.root)
        bench.instance.stop()  # one left from an interrupted run has another password
        bench.instance.start(timeout=30)
        print(f"asterisk instance {INSTANCE} up (SIP {bench.instance.sip_address})", flush=True)
        if "stream" in args.paths:
            media_server_row(bench.instance)
            bench.app = EchoApp()
            tenant_with_number(bench.app.twiml_url + "/voice", account_name=ACCOUNT_NAME, phone_number=NUMBER)
            for alias in connections:
                connections[alias].close()
            app_address = f"127.0.0.1:{bench.app.port}"
            bench.bridge = MediaBridge(args.db_name, args.out / "media-bridge.log", app_address)
            bench.worker = Worker(
                args.db_name,
                args.out / "ari-worker.log",
                1,
                bench.app.twiml_url,
                server=INSTANCE,
                also_allow=(app_address,),
            )
            print(f"bridge, ARI worker and echo app up; the app at {bench.app.url}", flush=True)
            warm = bench.run("stream", 1, args.out / "warmup")
            if warm.ok != 1 or not warm.rtt_ms["n"]:
                raise SystemExit(f"the warm-up call did not stream; see the logs in {args.out}")
            print(f"warm-up call: round trip p50 {fmt(warm.rtt_ms['p50'])} ms", flush=True)
        for concurrency in args.concurrency:
            for path in args.paths:
                print(f"run: {path}, {concurrency} concurrent calls of {args.seconds:g} s ...", flush=True)
                run = bench.run(path, concurrency, args.out / f"{path}-{concurrency}")
                runs.append(run)
                print(
                    f"  {run.ok}/{concurrency} ok, round trip p50 {fmt(run.rtt_ms['p50'])} "
                    f"p99 {fmt(run.rtt_ms['p99'])} ms, late {run.late}, missing {run.missing}",
                    flush=True,
                )
                time.sleep(1.0)
    except KeyboardInterrupt:
        print("\ninterrupted: the report covers the runs that finished", flush=True)
    finally:
        for stop in (bench.worker, bench.bridge):
            if stop is not None:
                with contextlib.suppress(Exception):
                    stop.stop()
        if bench.app is not None:
            bench.app.close()
        if bench.instance is not None:
            with contextlib.suppress(Exception):
                bench.instance.stop()
    lines = report(runs)
    print("\n".join(lines), flush=True)
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    print(f"\ntraces and logs: {args.out}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
