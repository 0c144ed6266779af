"""Benchmark sending texts on the real processes, with the SMSC's own receive rate as the baseline.

1. accept: wrk POSTs Messages.json (form-encoded, Basic auth, a recipient from a pool per request) to
   uvicorn started as the Procfile starts it (its --workers); accepted (201) per second, latency, and
   the CPU per request of the server, PostgreSQL and Redis. No Celery worker runs meanwhile: the send
   tasks wait in the bench's queue and are dropped afterwards. Baseline, on the same server, half
   just before and half just after, with the same wrk and connections: empty POSTs that the request
   guard refuses before any view, session or database (400), i.e. what this machine's uvicorn, ASGI
   app and Django's first middleware answer a second; accepted/s over that rate compares across
   machines.
2. end to end: the bench creates N messages through `messaging.create.message_create` (so the API is
   not what is measured), their send tasks waiting in the bench's Celery queue, with
   `manage.py carrier_gateway` bound to the SMSC sandbox (scripts/smsc/smsc.js). Then it starts a
   Celery worker as the Procfile does; the clock runs from the worker's "ready" to the last message
   `delivered` (receipts back). Baseline, on the same SMSC just before: an `SmppConnector` alone, with
   the same window and rate, submitting N messages (what the SMSC can receive from one bind).
3. alert: one message to 40,000 recipients through `messaging.bulk.services.bulk_create`, timed from the call
   until the SMSC has accepted 40,000 submissions; the SMSC's receive rate meanwhile is the baseline.

Each part reports the CPU of every process it started and of everything else on the machine (from
/proc/stat); a part where other work took over 10 % of a core is marked DISTURBED: repeat it. The bench
has its own database (`switchboard_bench_msg`), Celery queue (bench/settings.py) and Redis streams.
Figures and what they say: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.api import WRK_SCRIPT, LoadResult, Server, load_wrk, machine
from bench.processes import (
    command_cpu_seconds,
    cpu_seconds,
    machine_busy_seconds,
    postgres_cpu_seconds,
    terminate,
    tree_cpu_seconds,
)

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
SETTINGS = "bench.settings"
ACCOUNT_NAME = "bench-msg"
SENDER = "+12125550100"
RECIPIENT_BASE = 14155550000  # recipients +14155550000 … (the pool), all valid NANP numbers
BODY = "Alert: school is closed today. Reply STOP to opt out."
CONNECTOR = "bench-smsc"
GATEWAY_NAME = "bench-gw"
ALERT_RECIPIENTS = 40_000
DISTURBED_SHARE = 0.10  # of one core
GOAL_ACCEPTED_PER_S = 1000
GOAL_ALERT_S = 60.0
# The baseline's request: an empty POST to the same path with a query value no database can hold,
# which the request guard (core/middleware.py) answers 400 before any view.
BASELINE_QUERY = "?To=%00"
BASELINE_STATUS = 400

# Form POSTs: bench/api's script (auth header, status check, summary) with a method, a body per request.
POST_SCRIPT = (
    """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local from = os.getenv("BENCH_FROM")
local body = os.getenv("BENCH_BODY")
local pool = tonumber(os.getenv("BENCH_RECIPIENTS"))
local base = tonumber(os.getenv("BENCH_RECIPIENT_BASE"))
local sent = 0
function request()
  sent = sent + 1
  return wrk.format(nil, nil, nil, string.format("To=%%2B%d&From=%s&Body=%s", base + sent % pool, from, body))
end
"""
    + WRK_SCRIPT
)
EMPTY_POST_SCRIPT = 'wrk.method = "POST"\n' + WRK_SCRIPT


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--parts", default="accept,e2e,alert", help="which parts to run (default accept,e2e,alert)")
    add("--duration", type=float, default=10.0, help="seconds of measured load for accept (default 10)")
    add("--warmup", type=float, default=3.0, help="seconds of discarded load before it (default 3)")
    add(
        "--concurrency",
        type=int,
        default=64,
        help="wrk's keep-alive connections (default 64: a create waits for its batch's commit, so the rate "
        "is the connections over the latency, as for any client with many sends in flight)",
    )
    add("--workers", type=int, help="uvicorn --workers (default: the Procfile's web line)")
    add("--recipients", type=int, default=1000, help="recipient pool of the accept part (default 1000)")
    add("--messages", type=int, default=2000, help="messages of the end-to-end part (default 2000)")
    add("--alert", type=int, default=ALERT_RECIPIENTS, help="recipients of the alert (default 40,000)")
    add("--window", type=int, default=10, help="the SMPP connector's window (default 10, as shipped)")
    add(
        "--max-per-second",
        type=int,
        default=5000,
        help="the SMPP connector's rate limit (default 5000: out of the way; shipped: 500)",
    )
    add("--timeout", type=float, default=300.0, help="longest wait for a part to finish (default 300 s)")
    add("--db-name", default=os.environ.get("BENCH_DB_NAME", "switchboard_bench_msg"))
    add("--out", type=Path, help="folder for the processes' logs (default .data/bench-messaging/<UTC time>)")
    add("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args()
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not args.parts or not set(args.parts) <= {"accept", "e2e", "alert"}:
        parser.error("--parts takes accept, e2e and/or alert")
    if not 0 < args.duration <= 120 or not 1 <= args.concurrency <= 64:
        parser.error("keep the load bounded: 0 < --duration <= 120, 1 <= --concurrency <= 64")
    if (
        not 1 <= args.recipients <= 10_000
        or not 1 <= args.messages <= 20_000
        or not 1 <= args.alert <= 100_000
    ):
        parser.error("--recipients 1..10,000, --messages 1..20,000, --alert 1..100,000")
    args.workers = args.workers or procfile_workers()
    if args.out is None:
        args.out = REPO / ".data" / "bench-messaging" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return args


def procfile_workers() -> int:
    """uvicorn's --workers on the Procfile's web line (1 when it names none)."""
    web = next(ln for ln in (REPO / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    found = re.search(r"--workers[ =](\d+)", web)
    return int(found.group(1)) if found else 1


def python_speed_us() -> float:
    """Microseconds for sum(range(10000)), best of five: a yardstick for comparing machines' CPUs."""
    import timeit

    return min(timeit.repeat("sum(range(10000))", number=200, repeat=5)) / 200 * 1e6


def setup_django(db_name: str) -> None:
    os.environ["SWITCHBOARD_DB_NAME"] = db_name
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    logging.getLogger("smpp").setLevel(logging.WARNING)  # smpplib's connect and bind lines
    logging.getLogger("messaging").setLevel(logging.WARNING)


# ---------------------------------------------------------------- data


@dataclass
class Tenant:
    account_id: Any
    sid: str
    auth: str  # the Authorization header value


def ensure_tenant() -> Tenant:
    """The `bench-msg` account with its sending number."""
    import base64

    from django.db import transaction

    from core.tenancy import tenant_scope
    from numbering.models import IncomingPhoneNumber
    from numbering.services import number_create
    from tenants.models import Account
    from tenants.services import account_create

    account = Account.objects.using("admin").filter(friendly_name=ACCOUNT_NAME, status="active").first()
    if account is None:
        with transaction.atomic():
            account = account_create(friendly_name=ACCOUNT_NAME, actor="bench:messaging")
    with tenant_scope(account.id):
        if not IncomingPhoneNumber.objects.filter(phone_number=SENDER).exists():
            number_create(account=account, actor="bench:messaging", phone_number=SENDER)
    creds = base64.b64encode(f"{account.sid}:{account.auth_token}".encode()).decode()
    return Tenant(account.id, account.sid, f"Basic {creds}")


def account_of(tenant: Tenant) -> Any:
    """The tenant's Account as the app role reads it (what the services are given)."""
    from core.tenancy import tenant_scope
    from tenants.models import Account

    with tenant_scope(tenant.account_id):
        return Account.objects.get(id=tenant.account_id)


def recipient(index: int) -> str:
    return f"+{RECIPIENT_BASE + index}"


def retire_leftovers() -> int:
    """Fail every unfinished message of the bench database and drop the bench's queued tasks, so no
    earlier part's message reaches the carrier during a later one (the gateway's sweep is global).
    Then vacuum the messaging tables: every message is updated three times on its way, and where the
    server runs no autovacuum (these machines' PostgreSQL) the dead rows of earlier runs slowed each
    alert down (46 s on a fresh table, 58 s with 1.2 million dead rows)."""
    from django.db import connections

    from config.celery import app as celery_app
    from core.error_codes import ErrorCode
    from messaging.models import Message

    celery_app.control.purge()
    retired = (
        Message.objects.using("admin")
        .exclude(status__in=Message.FINAL)
        .update(status=Message.Status.FAILED, error_code=ErrorCode.QUEUE_OVERFLOW)
    )
    with connections["admin"].cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) messaging_message, messaging_pendingmessage, messaging_carrierroute, "
            "messaging_bulk"
        )
    return int(retired)


def messages_since(account_id: Any, since: Any, **filters: Any) -> int:
    from messaging.models import Message

    return int(
        Message.objects.using("admin")
        .filter(account_id=account_id, date_created__gte=since, **filters)
        .count()
    )


def close_connections() -> None:
    from django.db import connections

    for alias in connections:
        connections[alias].close()


# ---------------------------------------------------------------- processes and CPU


class Process:
    """A platform process (`celery …`, `manage.py carrier_gateway …`) on the bench database, its output
    in a log file; ready once `ready_marker` appears there."""

    def __init__(
        self, name: str, command: list[str], log_path: Path, ready_marker: str, db_name: str
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "SWITCHBOARD_DB_NAME": db_name,
            "PYTHONUNBUFFERED": "1",
        }
        self.started = time.monotonic()
        self.proc = subprocess.Popen(  # noqa: S603
            command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while ready_marker not in log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start; see {log_path}")
            time.sleep(0.02)
        self.ready = time.monotonic()

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.proc.pid)

    def problems(self) -> list[str]:
        text = self.log_path.read_text(errors="replace")
        return [ln for ln in text.splitlines() if re.search(r"ERROR|Traceback|CRITICAL", ln)][:5]

    def stop(self) -> None:
        terminate(self.proc)
        self.log.close()


def children_cpu_seconds() -> float:
    """CPU of the bench's finished children (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Cpu:
    """CPU seconds per process between the two ends of `measure()`, and what everything else used.

    `readers` names the processes the bench started (name -> CPU seconds so far); one started inside
    a measurement counts from zero. PostgreSQL (the bench database's backends), Redis and the bench
    itself (with wrk) are always counted.
    """

    def __init__(self, db_name: str, **readers: Callable[[], float]) -> None:
        self.db_name = db_name
        self.readers = readers

    def snapshot(self) -> dict[str, float]:
        values = {name: read() for name, read in self.readers.items()}
        values["postgres"] = postgres_cpu_seconds(self.db_name)
        values["redis"] = command_cpu_seconds("redis-server")
        values["bench"] = time.process_time() + children_cpu_seconds()
        values["machine"] = machine_busy_seconds()
        return values

    @contextmanager
    def measure(self, into: dict[str, float]) -> Iterator[None]:
        before, started = self.snapshot(), time.monotonic()
        yield
        after, wall = self.snapshot(), time.monotonic() - started
        into.update({name: value - before.get(name, 0.0) for name, value in after.items()})
        into["other"] = into["machine"] - sum(v for k, v in into.items() if k != "machine" and v == v)
        into["wall"] = wall


def disturbed(cpu: dict[str, float]) -> str:
    other, wall = cpu.get("other", 0.0), cpu.get("wall", 0.0)
    if wall and other > DISTURBED_SHARE * wall:
        return f"DISTURBED: other processes used {other:.1f} CPU-s ({other / wall:.0%} of a core)"
    return ""


# ---------------------------------------------------------------- results


@dataclass
class Row:
    part: str
    what: str
    messages: int = 0
    seconds: float = float("nan")
    latency_ms: tuple[float, float, float] | None = None
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    cpu_of: tuple[str, ...] = ()  # the processes whose CPU per message the table shows
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return (
            self.messages / self.seconds
            if self.seconds == self.seconds and self.seconds > 0
            else float("nan")
        )


# ---------------------------------------------------------------- 1. accept


def part_accept(args: argparse.Namespace, tenant: Tenant) -> list[Row]:
    """The creates, then the baseline on the same server: the accept row and the baseline row."""
    from django.utils import timezone

    script = Path(tempfile.mkstemp(prefix="bench-msg-wrk-", suffix=".lua")[1])
    script.write_text(POST_SCRIPT)
    empty_script = Path(tempfile.mkstemp(prefix="bench-msg-wrk-", suffix=".lua")[1])
    empty_script.write_text(EMPTY_POST_SCRIPT)
    os.environ.update(
        BENCH_FROM=quote(SENDER, safe=""),
        BENCH_BODY=quote(BODY, safe=""),
        BENCH_RECIPIENTS=str(args.recipients),
        BENCH_RECIPIENT_BASE=str(RECIPIENT_BASE),
    )
    server = Server(args.db_name, "settings", workers=args.workers, settings=SETTINGS)
    path = f"/2010-04-01/Accounts/{tenant.sid}/Messages.json"
    row = Row(
        "accept", f"POST Messages.json, uvicorn --workers {args.workers}, {args.concurrency} connections"
    )
    baseline = Row(
        "accept",
        f"baseline: empty POST Messages.json{BASELINE_QUERY}, refused {BASELINE_STATUS} by the request "
        "guard before any view, same server and connections, half before and half after the creates",
        seconds=0.0,
    )
    try:
        server.wait_ready()
        time.sleep(1.0)  # the workers finish starting after the first answers
        run = (server.base, path, tenant.auth, 201, args.concurrency)
        cpu = Cpu(args.db_name, server=server.cpu_seconds)
        print(f"accept: warm-up {args.warmup:g} s ...", flush=True)
        load_wrk(*run, args.warmup, script, lambda: False)
        # The baseline's two halves bracket the creates: other work on the machine that comes or goes
        # meanwhile weighs on both alike.
        empty = (server.base, path + BASELINE_QUERY, tenant.auth, BASELINE_STATUS, args.concurrency)
        halves: list[tuple[LoadResult, dict[str, float]]] = []
        print(f"accept: baseline, {args.duration / 2:g} s of empty POSTs ...", flush=True)
        halves.append(empty_posts(empty, args.duration / 2, empty_script, cpu))
        print(f"accept: {args.duration:g} s of load ...", flush=True)
        since = timezone.now()
        with cpu.measure(row.cpu):
            result: LoadResult = load_wrk(*run, args.duration, script, lambda: False)
        time.sleep(0.5)
        stored = messages_since(tenant.account_id, since)
        print(f"accept: baseline, {args.duration / 2:g} s more of empty POSTs ...", flush=True)
        halves.append(empty_posts(empty, args.duration / 2, empty_script, cpu))
    finally:
        server.stop()
        script.unlink(missing_ok=True)
        empty_script.unlink(missing_ok=True)
    row.messages, row.seconds = result.requests - result.errors, result.seconds
    row.latency_ms = (result.p50_ms, result.p95_ms, result.p99_ms)
    row.errors = result.errors
    for load, used in halves:
        baseline.messages += load.requests - load.errors
        baseline.seconds += load.seconds
        baseline.errors += load.errors
        for name, value in used.items():
            baseline.cpu[name] = baseline.cpu.get(name, 0.0) + value
    row.cpu_of = ("server", "postgres", "redis")
    baseline.cpu_of = ("server",)
    row.notes.append(f"{stored:,} messages stored for {result.requests:,} responses")
    return [row, baseline]


def empty_posts(
    run: tuple[str, str, str, int, int], duration: float, script: Path, cpu: Cpu
) -> tuple[LoadResult, dict[str, float]]:
    """One stretch of the baseline's empty POSTs: wrk's result and the CPU it cost."""
    used: dict[str, float] = {}
    with cpu.measure(used):
        result = load_wrk(*run, duration, script, lambda: False)
    return result, used


def per_baseline(accept: Row, baseline: Row) -> str:
    """Accepted/s as a share of the same run's baseline rate, and the server's CPU per create as a
    multiple of its CPU per baseline request: figures that compare across machines."""
    server_ms = [
        r.cpu.get("server", float("nan")) * 1000 / r.messages if r.messages else float("nan")
        for r in (accept, baseline)
    ]
    return (
        f"{fmt(accept.rate)} accepted/s beside {fmt(baseline.rate)} baseline requests/s: "
        f"{fmt(accept.rate / baseline.rate if baseline.rate else float('nan'), 3)} of the baseline; "
        f"server CPU {fmt(server_ms[0], 2)} ms per create, {fmt(server_ms[1], 2)} ms per baseline request "
        f"({fmt(server_ms[0] / server_ms[1] if server_ms[1] else float('nan'), 1)}×)"
    )


# ---------------------------------------------------------------- the SMSC, the connector, the gateway


@contextmanager
def smsc_running() -> Iterator[Any]:
    from tests.messaging.smsc import start_smsc

    with start_smsc(quiet=True) as smsc:
        yield smsc


def connector_row(smsc: Any, args: argparse.Namespace) -> None:
    from messaging import streams
    from messaging.models import Connector

    Connector.objects.filter(is_default=True).exclude(name=CONNECTOR).update(is_default=False)
    row, _ = Connector.objects.update_or_create(
        name=CONNECTOR,
        defaults={
            "kind": Connector.Kind.SMPP,
            "host": smsc.host,
            "port": smsc.port,
            "system_id": smsc.system_id,
            "window": args.window,
            "max_per_second": args.max_per_second,
            "is_default": True,
            "is_enabled": True,
        },
    )
    row.set_password(smsc.password)
    row.save()
    streams.client().delete(streams.stream_key(CONNECTOR))


def part_baseline(args: argparse.Namespace, smsc: Any, cpu: Cpu) -> Row:
    """An SmppConnector alone (no database, no Celery) submitting to the same SMSC."""
    from messaging.carriers.base import OutboundSms
    from messaging.carriers.smpp import SmppConnector
    from tests.messaging.smpp_throughput import Counter

    n = args.messages
    counter = Counter(n)
    connector = SmppConnector(
        name="bench-baseline",
        events=counter,
        window=args.window,
        max_per_second=args.max_per_second,
        queue_limit=n,
        **smsc.connector_settings(),
    )
    connector.start()
    row = Row("e2e", f"baseline: SmppConnector alone → SMSC (window {args.window}), receipts back", n)
    try:
        while not connector.is_connected:
            time.sleep(0.01)
        with cpu.measure(row.cpu):
            started = time.monotonic()
            for i in range(n):
                connector.send(OutboundSms(f"SM{i:032x}", SENDER, recipient(i % 10_000), BODY))
            counter.all_receipts.wait(args.timeout)
            row.seconds = time.monotonic() - started
    finally:
        connector.stop()
    accepted = smsc.stats()["accepted"]
    row.notes.append(f"SMSC accepted {accepted:,}; receipts back {counter.receipts:,}")
    row.cpu_of = ("smsc", "bench")
    smsc.reset()
    return row


def gateway_process(args: argparse.Namespace) -> Process:
    """`manage.py carrier_gateway` as the Procfile runs it; a long stale interval, so the sweep (the
    recovery path) does not hand over what the Celery tasks are about to."""
    return Process(
        "gateway",
        [
            str(VENV_BIN / "python"),
            "manage.py",
            "carrier_gateway",
            "--name",
            GATEWAY_NAME,
            "--stale-seconds",
            "600",
        ],
        args.out / "gateway.log",
        f"carrier gateway {GATEWAY_NAME} ready",
        args.db_name,
    )


def celery_process(args: argparse.Namespace) -> Process:
    """The Procfile's worker line (prefork, --concurrency 2, -l info), on the bench's queue."""
    return Process(
        "celery",
        [str(VENV_BIN / "celery"), "-A", "config", "worker", "-l", "info", "--concurrency", "2"],
        args.out / "celery.log",
        "ready.",
        args.db_name,
    )


@dataclass
class Progress:
    """What a poll loop saw: when the SMSC's accepted count first moved and last reached its total, when
    the messages were all sent and all delivered, and the fastest second of SMSC intake."""

    first_accept: float = float("nan")
    all_accepted: float = float("nan")
    all_sent: float = float("nan")
    all_delivered: float = float("nan")
    peak_accept_per_s: float = 0.0


def follow(
    smsc: Any,
    expected: int,
    t0: float,
    timeout: float,
    counts: Callable[[], tuple[int, int]] | None,
    *,
    base: int,
) -> Progress:
    """Poll the SMSC (and `counts`: messages sent or later, delivered) until everything is through.

    `base`: the SMSC's accepted count before the work started (read once the work runs, it missed the
    first submissions, and the wait never ended)."""
    progress = Progress()
    window: list[tuple[float, int]] = []
    while time.monotonic() - t0 < timeout:
        now = time.monotonic()
        accepted = smsc.stats()["accepted"] - base
        window = [(t, a) for t, a in window if now - t <= 1.0] + [(now, accepted)]
        if len(window) > 1 and window[-1][0] - window[0][0] >= 0.5:
            rate = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])
            progress.peak_accept_per_s = max(progress.peak_accept_per_s, rate)
        if accepted and progress.first_accept != progress.first_accept:
            progress.first_accept = now - t0
        if accepted >= expected and progress.all_accepted != progress.all_accepted:
            progress.all_accepted = now - t0
        if counts is None:
            if accepted >= expected:
                break
        else:
            sent, delivered = counts()
            if sent >= expected and progress.all_sent != progress.all_sent:
                progress.all_sent = now - t0
            if delivered >= expected:
                progress.all_delivered = now - t0
                break
        time.sleep(0.1)
    return progress


# ---------------------------------------------------------------- 2. end to end


def part_e2e(args: argparse.Namespace, tenant: Tenant, smsc: Any, cpu: Cpu, gateway: Process) -> list[Row]:
    from django.utils import timezone

    from messaging.create import MessageDraft, message_create
    from messaging.models import Message

    account = account_of(tenant)
    n = args.messages
    since = timezone.now()
    create = Row("e2e", "create through messaging.create.message_create (bench process, one by one)", n)
    print(f"e2e: creating {n:,} messages through the service ...", flush=True)
    with cpu.measure(create.cpu):
        for i in range(n):
            message_create(
                account=account,
                draft=MessageDraft(to=recipient(i % 10_000), from_=SENDER, body=BODY, actor="bench"),
            )
    create.seconds = create.cpu["wall"]
    create.cpu_of = ("bench", "postgres", "redis")
    close_connections()

    final = [Message.Status.DELIVERED, Message.Status.UNDELIVERED, Message.Status.FAILED]
    later_than_sending = [Message.Status.SENT, *final]

    def counts() -> tuple[int, int]:
        return (
            messages_since(tenant.account_id, since, status__in=later_than_sending),
            messages_since(tenant.account_id, since, status=Message.Status.DELIVERED),
        )

    row = Row("e2e", "end to end: queued → Celery → gateway → SMPP → SMSC → receipt → delivered", n)
    print("e2e: starting the Celery worker; the clock starts at its ready ...", flush=True)
    base = smsc.stats()["accepted"]
    celery = celery_process(args)
    cpu.readers["celery"] = celery.cpu_seconds
    try:
        with cpu.measure(row.cpu):
            progress = follow(smsc, n, celery.ready, args.timeout, counts, base=base)
    finally:
        del cpu.readers["celery"]
        celery.stop()
    row.seconds = progress.all_delivered
    row.cpu_of = ("celery", "gateway", "postgres", "redis", "smsc")
    sent, delivered = counts()
    row.notes.append(
        f"first submission at {progress.first_accept:.2f} s, all sent at {progress.all_sent:.2f} s, "
        f"all delivered at {progress.all_delivered:.2f} s; delivered {delivered:,}/{n:,}; "
        f"SMSC accepted {smsc.stats()['accepted']:,} (each message once: "
        f"{'yes' if smsc.stats()['accepted'] == n else 'NO'})"
    )
    row.notes += [f"{p.name}: {line}" for p in (celery, gateway) for line in p.problems()]
    intake = Row("e2e", "SMSC intake during the end-to-end run (first → last submission)", n)
    intake.seconds = progress.all_accepted - progress.first_accept
    intake.notes.append(f"fastest second: {progress.peak_accept_per_s:,.0f}/s")
    smsc.reset()
    return [create, row, intake]


# ---------------------------------------------------------------- 3. alert


def part_alert(args: argparse.Namespace, tenant: Tenant, smsc: Any, cpu: Cpu) -> list[Row]:
    row = Row(
        "alert",
        f"{args.alert:,}-recipient alert: from the call to {args.alert:,} SMSC submissions",
        args.alert,
    )
    from messaging.bulk.services import bulk_create

    account = account_of(tenant)
    recipients = [recipient(i) for i in range(args.alert)]
    base = smsc.stats()["accepted"]
    celery = celery_process(args)
    cpu.readers["celery"] = celery.cpu_seconds
    try:
        print(f"alert: {args.alert:,} recipients ...", flush=True)
        with cpu.measure(row.cpu):
            t0 = time.monotonic()
            bulk = bulk_create(
                account=account,
                from_=SENDER,
                recipients=recipients,
                body=BODY,
                message_class="emergency",
                threat_basis="bench: a school closure alert",
                actor="bench",
            )
            returned = time.monotonic() - t0
            close_connections()
            progress = follow(smsc, bulk.num_messages, t0, args.timeout, None, base=base)
    finally:
        del cpu.readers["celery"]
        celery.stop()
    row.seconds = progress.all_accepted
    row.cpu_of = ("celery", "gateway", "postgres", "redis", "smsc", "bench")
    row.notes.append(
        f"bulk_create returned after {returned:.2f} s with {bulk.num_messages:,} messages "
        f"({bulk.num_invalid} invalid, {bulk.num_duplicates} duplicates, {bulk.num_opted_out} opted out); "
        f"first submission at {progress.first_accept:.2f} s; SMSC accepted {smsc.stats()['accepted']:,}"
    )
    intake = Row("alert", "SMSC intake during the alert (first → last submission)", args.alert)
    intake.seconds = progress.all_accepted - progress.first_accept
    intake.notes.append(f"fastest second: {progress.peak_accept_per_s:,.0f}/s")
    smsc.reset()
    return [row, intake]


# ---------------------------------------------------------------- report


def fmt(value: float, digits: int = 0) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"


def report(args: argparse.Namespace, info: dict[str, str], rows: list[Row]) -> None:
    lines = [
        "",
        f"Machine: {info['cpu']}, {info['nproc']} cores, {info['ram']} RAM; {info.get('postgres', '?')}; "
        f"Python {info['python']} ({info['speed']}); {info['date']}; load average {info.get('loadavg', '?')}",
        f"accept: wrk, {args.concurrency} connections, {args.duration:g} s after {args.warmup:g} s warm-up, "
        f"uvicorn --workers {args.workers}, {args.recipients:,} recipients; e2e: {args.messages:,} messages; "
        f"SMPP window {args.window}, max {args.max_per_second:,}/s",
        "",
        "| part | measure | messages | seconds | messages/s | p50 / p95 / p99 ms | errors "
        "| CPU ms per message (by process) | other CPU-s |",
        "|---|---|---:|---:|---:|---|---:|---|---:|",
    ]
    for r in rows:
        latency = " / ".join(fmt(v, 1) for v in r.latency_ms) if r.latency_ms else "-"
        per = ", ".join(
            f"{name} {fmt(r.cpu.get(name, float('nan')) * 1000 / r.messages, 2)}" for name in r.cpu_of
        )
        lines.append(
            f"| {r.part} | {r.what} | {r.messages:,} | {fmt(r.seconds, 2)} | {fmt(r.rate)} | {latency} "
            f"| {r.errors:,} | {per or '-'} | {fmt(r.cpu.get('other', float('nan')), 1)} |"
        )
    lines.append("")
    for r in rows:
        notes = [*r.notes]
        if mark := disturbed(r.cpu):
            notes.insert(0, mark)
        if notes:
            lines.append(f"- {r.part}, {r.what.split(':')[0]}: " + "; ".join(notes))
    accept = next((r for r in rows if r.part == "accept"), None)
    baseline = next((r for r in rows if r.part == "accept" and r.what.startswith("baseline")), None)
    alert = next((r for r in rows if r.part == "alert" and r.messages == args.alert and r.cpu), None)
    lines += ["", "Goals:"]
    if accept:
        met = accept.rate >= GOAL_ACCEPTED_PER_S and accept.errors == 0
        lines.append(
            f"- {'MET' if met else 'NOT MET'}: ≥ {GOAL_ACCEPTED_PER_S:,} accepted/s: {fmt(accept.rate)}/s"
        )
        if baseline:
            lines.append(f"- against the same run's baseline: {per_baseline(accept, baseline)}")
    if alert:
        met = alert.seconds <= GOAL_ALERT_S
        lines.append(
            f"- {'MET' if met else 'NOT MET'}: {args.alert:,} handed over in ≤ {GOAL_ALERT_S:g} s: "
            f"{fmt(alert.seconds, 1)} s"
        )
    print("\n".join(lines), flush=True)
    if args.json:
        payload = {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "machine": info,
            "rows": [{**asdict(r), "rate": r.rate} for r in rows],
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))


# ---------------------------------------------------------------- main


def main() -> None:
    args = parse_args()
    setup_django(args.db_name)
    from django.db import connections

    from core.provisioning import migrate, provision_database

    args.out.mkdir(parents=True, exist_ok=True)
    info = machine()
    info["speed"] = f"sum(range(10000)) in {python_speed_us():.0f} µs"
    load_before = os.getloadavg()
    print(
        f"bench/messaging: db={args.db_name} parts={args.parts} workers={args.workers} out={args.out}",
        flush=True,
    )
    provision_database()
    migrate()
    with connections["admin"].cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('autovacuum')")
        version, autovacuum = cursor.fetchone()
        info["postgres"] = f"{version.split(' on ')[0]}, autovacuum {autovacuum}"
    tenant = ensure_tenant()
    retire_leftovers()
    close_connections()
    rows: list[Row] = []

    if "accept" in args.parts:
        rows += part_accept(args, tenant)
        retire_leftovers()
        close_connections()

    if {"e2e", "alert"} & set(args.parts):
        with smsc_running() as smsc:
            cpu = Cpu(args.db_name, smsc=lambda: cpu_seconds(smsc.process.pid))
            if "e2e" in args.parts:  # before the gateway binds: the SMSC sends receipts to any bound session
                rows.append(part_baseline(args, smsc, cpu))
            connector_row(smsc, args)
            close_connections()
            gateway = gateway_process(args)
            cpu.readers["gateway"] = gateway.cpu_seconds
            try:
                if "e2e" in args.parts:
                    rows += part_e2e(args, tenant, smsc, cpu, gateway)
                    retire_leftovers()
                    close_connections()
                if "alert" in args.parts:
                    rows += part_alert(args, tenant, smsc, cpu)
                    retire_leftovers()
                    close_connections()
            finally:
                gateway.stop()
    info["loadavg"] = f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (1-minute)"
    report(args, info, rows)
    print(f"\nlogs: {args.out}", flush=True)


if __name__ == "__main__":
    main()
