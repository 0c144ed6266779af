"""Benchmark contact-center routing (issue 11): TaskRouter's decision and callers waiting in a queue.

1. latency: one workspace with --workers workers (1,000) and a backlog of --backlog pending tasks
   (10,000). New tasks are POSTed to the REST API (`/taskrouter/v1/Workspaces/WS…/Tasks`, uvicorn as
   the Procfile starts it) at --rate a second (100) for --seconds, open loop, with --routers
   `manage.py taskrouter` processes running. Per task: reservation created minus task created, both
   the rows' own `date_created`. A task at its queue's head while a worker has room is offered in its
   create's own transaction; one behind others waits for a routing pass (the create's commit, its
   NOTIFY and the pass are then inside the figure). The figure holds only for a run that kept the
   rate: the report says the goal is met only when the client also sent 99 % of its requests within
   --keep-ms (100) of its schedule, since a machine that cannot keep up delays the creates instead.
   The backlog is real: one worker in ten serves the backlog's queue ("Claims", voice), each already
   holding an accepted claim it never finishes, so the claims wait behind busy workers while
   every routing pass still reads that queue's head; the streamed tasks go to the other queue
   ("Support"), whose workers accept each offer at once and complete it --handle-seconds later (the
   bench's agents, through the service layer, in this process), so capacity frees up as it would.
2. sql: the SQL of one decision (the create of a task, offered to a free worker in its create's
   transaction, which is where a new task heading its queue is decided), counted at backlog 0, 1,000
   and 10,000 with 10 and with 1,000 workers, and the shared buffers each statement touched (EXPLAIN
   (ANALYZE, BUFFERS) replaying the create's statements in a transaction rolled back).
3. hold: --hold-calls sipp callers (200) into a number whose TwiML is `<Enqueue>` without a waitUrl
   (the platform's hold music, looped inside Asterisk), every one held --hold-seconds (60) and then
   hung up by the caller. Counted: calls up at once (Asterisk channels and queue members), calls
   dropped (sipp's failed calls: a call Asterisk ended first, or one never answered), webhook
   requests (one per caller: the document with the `<Enqueue>`), and the CPU of Asterisk and the ARI
   worker while all wait. Baseline in the same run: the same calls into the native dialplan
   (`dialplan-hold-bench`: Answer, then Playback of the same hold music file in a loop).

4. cpu: what one task costs, step by step, with nothing else running in the bench: on a workspace of
   --cpu-workers workers (200) and 1,000 claims waiting, --cpu-tasks times (100) one Support task is
   POSTed to the REST API (Django's test client, through the whole middleware stack, in this
   process) and offered as it is created, the routing pass its commit wakes runs (finding nothing to
   offer), its agent accepts it and completes it (the services). Per
   step: the statements (savepoints aside), this process's CPU and its PostgreSQL backend's CPU
   (/proc), which is what the latency part's 100 tasks a second multiply.

The bench recreates its own database (--db-name) each run, runs its own Asterisk instance
(`bench-routing`, SIP 5084, ARI 8112) and starts every process it measures. No Celery worker runs:
these workflows have no assignment callback and the workspace no event callback. Figures and what
they say: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import re
import secrets
import signal
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.api import Server
from bench.messaging import Cpu, Process, procfile_workers
from bench.processes import cpu_seconds, tree_cpu_seconds
from bench.voice import (
    REPO,
    VENV_PYTHON,
    SippOutcome,
    TwimlApp,
    Worker,
    caller_pcap,
    fmt,
    machine,
    media_server_row,
    run_sipp,
    spread,
    tenant_with_number,
)

SETTINGS = "bench.settings"
ACCOUNT_NAME = "bench-routing"
ACTOR = "bench:routing"
CLAIMS_EVERY = 10  # one worker in ten serves the backlog's queue
AGENT_THREADS = 8
# How long an agents thread with nothing to do waits before looking again: at 5 ms the eight threads
# read the offers 1,600 times a second while idle, CPU the bench took from what it measures.
AGENT_POLL_SECONDS = 0.05
CREATE_CONNECTIONS = 16  # the API client's keep-alive connections: more than rate x create latency
GOAL_P95_MS = 50.0
BUILD_BATCH = 250  # services called per transaction while building a workspace
SQL_BACKLOGS = (0, 1_000, 10_000)
SQL_WORKERS = (10, 1_000)

# The bench's Asterisk: ports apart from dev (5060/8088), tests (5070 + 200 x slot), bench/voice (5080)
# and bench/chaos (5086); RTP above the test slots' ranges.
INSTANCE = "bench-routing"
SIP_PORT = 5084
ARI_PORT = 8112
RTP_RANGE = (48000, 48999)
TRUNK_URI = "sip:127.0.0.1:5096"  # never dialled
HOLD_NUMBER = "+12065550181"
HOLD_QUEUE = "bench-hold"
HOLD_EXTENSION = "dialplan-hold-bench"
HOLD_SCENARIO = REPO / "tests" / "voice" / "sipp" / "uac_hangup.xml"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--parts", default="latency,sql,hold", help="which parts to run: latency, sql, hold, cpu")
    add("--workers", type=int, default=1000, help="workers in the latency part's workspace (default 1000)")
    add("--backlog", type=int, default=10_000, help="pending tasks left waiting (default 10,000)")
    add("--rate", type=float, default=100.0, help="tasks created a second (default 100)")
    add("--seconds", type=float, default=60.0, help="seconds of measured creates (default 60)")
    add("--warmup", type=float, default=5.0, help="seconds of creates before measuring (default 5)")
    add("--routers", type=int, default=2, help="`manage.py taskrouter` processes (default 2)")
    add("--keep-ms", type=float, default=100.0, help="how late the client may send (p99) for a valid run")
    add(
        "--handle-seconds",
        type=float,
        default=3.0,
        help="how long a bench agent keeps a task before completing it (default 3)",
    )
    add("--cpu-workers", type=int, default=200, help="workers in the cpu part's workspace (default 200)")
    add("--cpu-tasks", type=int, default=100, help="tasks the cpu part measures (default 100)")
    add("--hold-calls", type=int, default=200, help="callers waiting at once (default 200)")
    add("--hold-seconds", type=float, default=60.0, help="how long each caller waits (default 60)")
    add("--hold-rate", type=float, default=20.0, help="calls placed a second (default 20)")
    add("--worker-processes", type=int, default=2, help="ARI worker processes (default 2)")
    add("--db-name", default=os.environ.get("BENCH_DB_NAME", "switchboard_bench_routing"))
    add("--out", type=Path, help="folder for logs and sipp traces (default .data/bench-routing/<UTC time>)")
    add("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args()
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not args.parts or not set(args.parts) <= {"latency", "sql", "hold", "cpu"}:
        parser.error("--parts takes latency, sql, hold and/or cpu")
    if not CLAIMS_EVERY <= args.cpu_workers <= 1000 or not 1 <= args.cpu_tasks <= 1000:
        parser.error(f"{CLAIMS_EVERY} <= --cpu-workers <= 1000 and 1 <= --cpu-tasks <= 1000")
    if not 0 < args.rate <= 500 or not 0 < args.seconds <= 300 or not 1 <= args.routers <= 4:
        parser.error("keep the load bounded: 0 < --rate <= 500, 0 < --seconds <= 300, 1 <= --routers <= 4")
    if not CLAIMS_EVERY <= args.workers <= 5000 or not 0 <= args.backlog <= 50_000:
        parser.error(f"{CLAIMS_EVERY} <= --workers <= 5000 and 0 <= --backlog <= 50,000")
    if not 1 <= args.hold_calls <= 500 or args.hold_seconds < args.hold_calls / args.hold_rate + 10:
        parser.error("1 <= --hold-calls <= 500, and --hold-seconds must outlast placing them by 10 s")
    if args.out is None:
        args.out = REPO / ".data" / "bench-routing" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return args


def setup_django(db_name: str) -> None:
    import sys

    os.environ["SWITCHBOARD_DB_NAME"] = db_name
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    sys.path.insert(0, str(REPO))
    import django

    django.setup()


def close_connections() -> None:
    from django.db import connections

    for alias in connections:
        connections[alias].close()


def fresh_account() -> Any:
    """The bench's database made anew (recreated, migrated) and the bench's account in it."""
    from core.provisioning import migrate, provision_database

    print("provisioning a fresh bench database ...", flush=True)
    close_connections()
    provision_database(recreate=True)
    migrate()
    return account_ensure()


def account_ensure() -> Any:
    from django.db import transaction

    from tenants.models import Account
    from tenants.services import account_create

    account = Account.objects.using("admin").filter(friendly_name=ACCOUNT_NAME, status="active").first()
    if account is None:
        with transaction.atomic():
            account = account_create(friendly_name=ACCOUNT_NAME, actor=ACTOR)
    return account


# ---------------------------------------------------------------- the contact center's floor


@dataclass
class Floor:
    """A workspace built for the bench: the Claims queue (the backlog, its workers all busy) and the
    Support queue (where new tasks go, its workers free)."""

    account: Any
    workspace: Any
    workflow_sid: str
    claims_queue_id: Any
    support_queue_id: Any
    workers: int
    backlog: int = 0


def _batched(total: int, each: Callable[[int], object], account_id: Any) -> None:
    from core.tenancy import tenant_scope

    for start in range(0, total, BUILD_BATCH):
        with tenant_scope(account_id):
            for index in range(start, min(total, start + BUILD_BATCH)):
                each(index)


def floor_build(account: Any, *, workers: int, label: str) -> Floor:
    """A workspace with `workers` available workers, one in ten serving Claims and already busy with a
    claim each (offered as created, as a task is when a worker has room, and accepted), the rest
    serving Support."""
    from contactcenter.taskrouter.models import Activity
    from contactcenter.taskrouter.workers import worker_create
    from contactcenter.taskrouter.workspaces import task_queue_create, workflow_create, workspace_create
    from core.tenancy import tenant_scope

    with tenant_scope(account.id):
        workspace = workspace_create(account=account, actor=ACTOR, friendly_name=label)
        claims = task_queue_create(
            workspace=workspace, actor=ACTOR, friendly_name="Claims", target_workers='skills HAS "claims"'
        )
        support = task_queue_create(
            workspace=workspace, actor=ACTOR, friendly_name="Support", target_workers='skills HAS "support"'
        )
        configuration = {
            "task_routing": {
                "filters": [
                    {
                        "filter_friendly_name": "Claims",
                        "expression": 'type == "claim"',
                        "targets": [{"queue": claims.sid}],
                    }
                ],
                "default_filter": {"queue": support.sid},
            }
        }
        workflow = workflow_create(
            workspace=workspace, actor=ACTOR, friendly_name="Bench", configuration=json.dumps(configuration)
        )
        available = Activity.objects.get(workspace=workspace, friendly_name="Available")

    def hire(index: int) -> None:
        skill = "claims" if index % CLAIMS_EVERY == 0 else "support"
        worker_create(
            workspace=workspace,
            friendly_name=f"agent-{index:04d}",
            attributes=json.dumps({"skills": [skill], "languages": ["en"]}),
            activity_sid=available.sid,
        )

    _batched(workers, hire, account.id)
    floor = Floor(account, workspace, workflow.sid, claims.id, support.id, workers)
    busy = len(range(0, workers, CLAIMS_EVERY))
    backlog_add(floor, busy)
    route_until_idle(floor)
    accepted = reservations_accept(floor)
    floor.backlog -= accepted
    if accepted != busy:
        raise SystemExit(f"{label}: {accepted} claims accepted, expected one per Claims worker ({busy})")
    return floor


def backlog_add(floor: Floor, count: int) -> None:
    """`count` more claims, created through the service as the API would."""
    from contactcenter.taskrouter.task_lifecycle import task_create

    start = floor.backlog

    def claim(index: int) -> None:
        task_create(
            workspace=floor.workspace,
            workflow_sid=floor.workflow_sid,
            attributes=json.dumps({"type": "claim", "claim": start + index, "customer": f"C{index:05d}"}),
            priority=None,
            timeout=None,
            task_channel="voice",
        )

    _batched(count, claim, floor.account.id)
    floor.backlog += count


def route_until_idle(floor: Floor) -> int:
    """Routing passes in this process until one reserves nothing and asks for no other."""
    from contactcenter.taskrouter.engine import workspace_route

    made = 0
    while True:
        done = workspace_route(workspace_id=floor.workspace.id, account_id=floor.account.id)
        made += done.reservations
        if not done.reservations and not done.again:
            return made


def reservations_accept(floor: Floor) -> int:
    from contactcenter.taskrouter.models import Reservation
    from contactcenter.taskrouter.reservations import reservation_update
    from core.tenancy import tenant_scope

    with tenant_scope(floor.account.id):
        pending = list(
            Reservation.objects.filter(workspace=floor.workspace, status=Reservation.Status.PENDING)
        )
        for reservation in pending:
            reservation_update(reservation=reservation, status=Reservation.Status.ACCEPTED)
    return len(pending)


def tables_analyze() -> None:
    """What autovacuum would have done after the build (this machine's PostgreSQL runs none)."""
    from django.db import connections

    with connections["admin"].cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) taskrouter_task, taskrouter_reservation, taskrouter_worker, "
            "taskrouter_workerchannel, taskrouter_taskqueueworker, taskrouter_event, taskrouter_routingdue"
        )


# ---------------------------------------------------------------- part 1: latency


class Agents(threading.Thread):
    """The workers' side, for the bench: accept every pending offer at once, complete each Support
    task `handle_s` after accepting it (Claims are kept: those workers stay busy). Through the
    service layer, in this process."""

    def __init__(self, floor: Floor, handle_s: float, share: tuple[int, int] = (0, 1)) -> None:
        super().__init__(name=f"agents-{share[0]}", daemon=True)
        self.floor = floor
        self.handle_s = handle_s
        # This thread's share of the offers (by reservation id): one offer waiting on a lock must not
        # hold up the others, or their reservations time out and move their workers offline.
        self.share = share
        self.stopping = threading.Event()
        self.due: list[tuple[float, Any]] = []  # (monotonic time to complete, task id), in order
        self.accepted = 0
        self.completed = 0
        self.refused = 0  # offers gone before the agent answered (none expected)
        self.busy_max = 0
        self.error = ""

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                if not self.step():
                    time.sleep(AGENT_POLL_SECONDS)
        except Exception as exc:  # the report says so; the run's figures would be wrong
            self.error = repr(exc)
        finally:
            close_connections()

    def step(self) -> int:
        from contactcenter.taskrouter.models import Reservation, Task
        from contactcenter.taskrouter.reservations import reservation_update
        from contactcenter.taskrouter.task_lifecycle import task_update
        from core.errors import TwilioError
        from core.tenancy import tenant_scope

        account_id = self.floor.account.id
        with tenant_scope(account_id):
            offers = list(
                Reservation.objects.filter(
                    workspace=self.floor.workspace, status=Reservation.Status.PENDING
                ).order_by("date_created")[:200]
            )
        # One transaction each, as a worker's client would: a batch would hold the workspace's
        # routing-due row (every freed unit wakes routing) and stall every create behind it.
        offers = [offer for offer in offers if offer.id.int % self.share[1] == self.share[0]]
        for offer in offers:
            try:
                with tenant_scope(account_id):
                    reservation_update(reservation=offer, status=Reservation.Status.ACCEPTED)
            except TwilioError:
                self.refused += 1
                continue
            self.accepted += 1
            if offer.task_queue_id == self.floor.support_queue_id:
                self.due.append((time.monotonic() + self.handle_s, offer.task_id))
        self.busy_max = max(self.busy_max, len(self.due))
        now = time.monotonic()
        ready = [task_id for at, task_id in self.due if at <= now]
        for task_id in ready:
            with tenant_scope(account_id):
                task_update(task=Task(id=task_id), assignment_status=Task.Status.COMPLETED)
        self.due = self.due[len(ready) :]
        self.completed += len(ready)
        return len(offers) + len(ready)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


@dataclass
class Created:
    index: int
    late_ms: float  # how late the request left against the open-loop schedule
    latency_ms: float  # the API's answer time
    status: int


class Creator:
    """POSTs tasks at `rate` a second on a schedule (open loop) over keep-alive connections."""

    def __init__(self, base: str, path: str, auth: str, workflow_sid: str) -> None:
        self.host, self.port = base.removeprefix("http://").split(":")
        self.path = path
        self.headers = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
        self.workflow_sid = workflow_sid
        self.results: list[Created] = []
        self.errors: list[str] = []

    def run(self, *, rate: float, seconds: float, phase: str, first_index: int) -> int:
        """Create rate x seconds tasks marked `phase`; the index after the last."""
        jobs: queue.Queue[tuple[int, float] | None] = queue.Queue()
        threads = [
            threading.Thread(target=self._connection, args=(jobs, phase), daemon=True)
            for _ in range(CREATE_CONNECTIONS)
        ]
        for thread in threads:
            thread.start()
        count = round(rate * seconds)
        started = time.monotonic()
        for n in range(count):
            at = started + n / rate
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            jobs.put((first_index + n, at))
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()
        return first_index + count

    def _connection(self, jobs: queue.Queue[tuple[int, float] | None], phase: str) -> None:
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
        while (job := jobs.get()) is not None:
            index, scheduled = job
            body = urlencode(
                {
                    "WorkflowSid": self.workflow_sid,
                    "TaskChannel": "voice",
                    "Attributes": json.dumps(
                        {"type": "support", "bench": phase, "n": index, "language": "en"}
                    ),
                }
            )
            sent = time.monotonic()
            try:
                conn.request("POST", self.path, body=body, headers=self.headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
                status, payload = 0, repr(exc).encode()
            done = time.monotonic()
            if status != 201 and len(self.errors) < 5:
                self.errors.append(f"{status}: {payload[:200]!r}")
            if phase == "measured":
                self.results.append(Created(index, (sent - scheduled) * 1000, (done - sent) * 1000, status))
        conn.close()


@dataclass
class LatencyRun:
    workers: int
    backlog: int
    routers: int
    rate: float
    seconds: float
    created: int = 0
    created_ok: int = 0
    reserved: int = 0
    unreserved: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)  # task created -> reservation created
    api_ms: dict[str, float] = field(default_factory=dict)
    late_ms: dict[str, float] = field(default_factory=dict)
    backlog_before: int = 0
    backlog_after: int = 0
    backlog_reserved: int = 0  # claims reserved during the run: none, their workers are busy
    agents: dict[str, Any] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    build_s: float = 0.0
    problems: list[str] = field(default_factory=list)


def pending_claims(floor: Floor) -> int:
    from contactcenter.taskrouter.models import Task

    return (
        Task.objects.using("admin")
        .filter(task_queue_id=floor.claims_queue_id, status=Task.Status.PENDING)
        .count()
    )


def timed_out(floor: Floor) -> int:
    """Offers that timed out: the agents fell behind (and each moved its worker offline)."""
    from contactcenter.taskrouter.models import Reservation

    return (
        Reservation.objects.using("admin")
        .filter(workspace=floor.workspace, status=Reservation.Status.TIMEOUT)
        .count()
    )


def measured_latencies(floor: Floor) -> tuple[list[float], int]:
    """ms from each measured task's creation to its first reservation's; and how many have none."""
    from django.db.models import Min

    from contactcenter.taskrouter.models import Task

    rows = (
        Task.objects.using("admin")
        .filter(workspace=floor.workspace, attributes_json__bench="measured")
        .annotate(reserved_at=Min("reservations__date_created"))
        .values_list("date_created", "reserved_at")
    )
    latencies, unreserved = [], 0
    for created, reserved in rows:
        if reserved is None:
            unreserved += 1
        else:
            latencies.append((reserved - created).total_seconds() * 1000)
    return latencies, unreserved


def latency_part(args: argparse.Namespace, account: Any) -> LatencyRun:
    from django.utils import timezone

    from contactcenter.taskrouter.models import Reservation

    run = LatencyRun(args.workers, args.backlog, args.routers, args.rate, args.seconds)
    started = time.monotonic()
    print(f"latency: building the workspace ({args.workers} workers, {args.backlog} claims) ...", flush=True)
    floor = floor_build(account, workers=args.workers, label="latency")
    backlog_add(floor, args.backlog)
    tables_analyze()
    run.build_s = time.monotonic() - started
    run.backlog_before = pending_claims(floor)
    print(f"latency: built in {run.build_s:.0f} s; {run.backlog_before} claims pending", flush=True)
    close_connections()
    routers: list[Process] = []
    server = None
    agents = [Agents(floor, args.handle_seconds, (n, AGENT_THREADS)) for n in range(AGENT_THREADS)]
    try:
        for n in range(args.routers):
            routers.append(
                Process(
                    f"router-{n}",
                    [str(VENV_PYTHON), "manage.py", "taskrouter"],
                    args.out / f"router-{n}.log",
                    "taskrouter routing process started",
                    args.db_name,
                )
            )
        server = Server(args.db_name, "settings", workers=procfile_workers(), settings=SETTINGS)
        server.wait_ready()
        for agent in agents:
            agent.start()
        auth = "Basic " + b64encode(f"{account.sid}:{account.auth_token}".encode()).decode()
        creator = Creator(
            server.base, f"/taskrouter/v1/Workspaces/{floor.workspace.sid}/Tasks", auth, floor.workflow_sid
        )
        print(f"latency: warm-up, {args.warmup:g} s at {args.rate:g}/s ...", flush=True)
        after_warmup = creator.run(rate=args.rate, seconds=args.warmup, phase="warmup", first_index=0)
        time.sleep(1.0)
        since = timezone.now()
        cpu = Cpu(
            args.db_name,
            server=server.cpu_seconds,
            **{r.name: r.cpu_seconds for r in routers},
        )
        print(f"latency: {args.seconds:g} s at {args.rate:g}/s ...", flush=True)
        with cpu.measure(run.cpu):
            creator.run(rate=args.rate, seconds=args.seconds, phase="measured", first_index=after_warmup)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and measured_latencies(floor)[1]:
                time.sleep(0.2)
        run.backlog_reserved = (
            Reservation.objects.using("admin")
            .filter(task_queue_id=floor.claims_queue_id, date_created__gte=since)
            .count()
        )
        for router in routers:
            run.problems += [f"{router.name}: {line}" for line in router.problems()]
    finally:
        for agent in agents:
            agent.stop()
        for router in routers:
            router.stop()
        if server is not None:
            server.stop()
    latencies, run.unreserved = measured_latencies(floor)
    run.reserved = len(latencies)
    run.latency_ms = spread(latencies)
    results = creator.results
    run.created = len(results)
    run.created_ok = sum(1 for r in results if r.status == 201)
    run.api_ms = spread([r.latency_ms for r in results])
    run.late_ms = spread([r.late_ms for r in results])
    run.backlog_after = pending_claims(floor)
    run.agents = {
        "accepted": sum(a.accepted for a in agents),
        "completed": sum(a.completed for a in agents),
        "refused": sum(a.refused for a in agents),
        "busy_max": sum(a.busy_max for a in agents),
        "error": "; ".join(a.error for a in agents if a.error),
        "timed_out": timed_out(floor),
    }
    run.problems += creator.errors
    return run


# ---------------------------------------------------------------- part 2: the decision's SQL


@dataclass
class Decision:
    workers: int
    backlog: int
    queries: int = 0
    statements: int = 0  # replayed under EXPLAIN (savepoints aside)
    buffers: int = 0  # shared buffers hit + read, summed over the statements
    rows: int = 0  # rows the statements' top plan nodes returned or changed
    create_ms: float = 0.0
    heaviest: str = ""  # the statement touching the most buffers, and how many


SKIPPED = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)", re.IGNORECASE)


def _one_pass(floor: Floor) -> Any:
    from contactcenter.taskrouter.engine import workspace_route

    return workspace_route(workspace_id=floor.workspace.id, account_id=floor.account.id)


def _support_task(floor: Floor, index: int) -> Any:
    from contactcenter.taskrouter.task_lifecycle import task_create
    from core.tenancy import tenant_scope

    with tenant_scope(floor.account.id):
        return task_create(
            workspace=floor.workspace,
            workflow_sid=floor.workflow_sid,
            attributes=json.dumps({"type": "support", "bench": "sql", "n": index}),
            priority=None,
            timeout=None,
            task_channel="voice",
        )


def decision_measure(floor: Floor, index: int) -> Decision:
    """Capture the create of one Support task, offered to a free worker as it is created (rolled
    back), replay its statements under EXPLAIN (ANALYZE, BUFFERS) (rolled back too), then create it
    for real, timed."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    found = Decision(floor.workers, floor.backlog)
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        _support_task(floor, index)
        transaction.set_rollback(True)
    statements = [q["sql"] for q in captured.captured_queries if not SKIPPED.match(q["sql"])]
    heaviest = (0, "")
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            plan = _plan_json(cursor.fetchone()[0])[0]["Plan"]
            touched = int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))
            found.buffers += touched
            found.rows += int(plan.get("Actual Rows", 0))
            heaviest = max(heaviest, (touched, sql[:90]))
        transaction.set_rollback(True)
    found.statements = len(statements)
    found.heaviest = f"{heaviest[0]} buffers: {heaviest[1]}"
    with CaptureQueriesContext(connection) as real:
        started = time.perf_counter()
        task = _support_task(floor, index)
        found.create_ms = (time.perf_counter() - started) * 1000
    found.queries = sum(1 for q in real.captured_queries if not SKIPPED.match(q["sql"]))
    if task.status != "reserved":  # its figures would be a create's without the decision
        raise SystemExit(f"sql: the new task was not offered as created: {task.status}")
    reservations_accept(floor)  # the worker takes it, as in the latency part
    return found


def _plan_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def sql_part(account: Any) -> list[Decision]:
    found: list[Decision] = []
    for workers in SQL_WORKERS:
        print(f"sql: building a workspace with {workers} workers ...", flush=True)
        floor = floor_build(account, workers=workers, label=f"sql-{workers}")
        for backlog in SQL_BACKLOGS:
            backlog_add(floor, backlog - floor.backlog)
            tables_analyze()
            decision_measure(floor, -1)  # warm: caches, plans
            decision = decision_measure(floor, backlog)
            print(
                f"  workers {workers}, backlog {floor.backlog}: {decision.queries} queries, "
                f"{decision.buffers} buffers, create {decision.create_ms:.1f} ms",
                flush=True,
            )
            found.append(decision)
    return found


# ---------------------------------------------------------------- part 3: callers on hold


@dataclass
class HoldRun:
    path: str
    calls: int
    hold_s: float
    rate: float
    ok: int = 0
    failed: int = 0
    up_min: int = 0  # the fewest channels up while every caller should have been waiting
    up_samples: int = 0
    members_min: int = -1  # the fewest queue members waiting meanwhile (TwiML)
    webhooks: dict[str, int] = field(default_factory=dict)  # the app's requests by path
    webhooks_while_waiting: int = 0
    cpu_all: dict[str, float] = field(default_factory=dict)  # CPU s over the whole run
    cpu_hold: dict[str, float] = field(default_factory=dict)  # CPU s while everyone waited
    hold_window_s: float = 0.0
    answer_ms: dict[str, float] = field(default_factory=dict)
    calls_db: dict[str, int] = field(default_factory=dict)
    failures: str = ""
    worker_log: list[str] = field(default_factory=list)


class Hold:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.instance: Any = None
        self.app: TwimlApp | None = None
        self.worker: Worker | None = None
        self.account: Any = None

    def start(self) -> None:
        from contactcenter.models import Queue
        from contactcenter.queues import queue_create
        from core.tenancy import tenant_scope
        from mediaserver.asterisk import AsteriskInstance, default_root, ensure_root

        args = self.args
        self.instance = AsteriskInstance(
            name=INSTANCE,
            root=default_root(),
            sip_port=SIP_PORT,
            ari_port=ARI_PORT,
            rtp_start=RTP_RANGE[0],
            rtp_end=RTP_RANGE[1],
            ari_username="switchboard-bench-routing",
            ari_password=secrets.token_urlsafe(16),
            ari_app="switchboard-bench-routing",
            worker_processes=args.worker_processes,
            trunk_uri=TRUNK_URI,
        )
        ensure_root(self.instance.root)
        self.instance.stop()  # one left from an interrupted run has another password
        self.instance.start(timeout=30)
        media_server_row(self.instance)
        self.app = TwimlApp()
        self.app.voice_twiml = f"<Response><Enqueue>{HOLD_QUEUE}</Enqueue></Response>"
        self.account = tenant_with_number(
            self.app.url + "/voice", account_name=ACCOUNT_NAME, phone_number=HOLD_NUMBER
        )
        with tenant_scope(self.account.id):
            if not Queue.objects.filter(friendly_name=HOLD_QUEUE).exists():
                # Twilio's default max_size is 100 callers; this queue takes them all.
                queue_create(
                    account=self.account, actor=ACTOR, friendly_name=HOLD_QUEUE, max_size=args.hold_calls
                )
        close_connections()
        self.worker = Worker(
            args.db_name,
            args.out / "ari-worker.log",
            args.worker_processes,
            self.app.url,
            server=INSTANCE,
        )

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.instance is not None:
            with contextlib.suppress(Exception):
                self.instance.stop()
        if self.app is not None:
            self.app.close()

    def channels(self) -> int:
        from mediaserver.asterisk.instance import AsteriskError

        try:
            out = self.instance.rx("core show channels count", timeout=5)
        except AsteriskError:
            return -1
        match = re.search(r"(\d+) active channels?", out)
        return int(match.group(1)) if match else -1

    def members_waiting(self) -> int:
        from contactcenter.models import QueueMember

        return (
            QueueMember.objects.using("admin")
            .filter(account_id=self.account.id, status=QueueMember.Status.WAITING)
            .count()
        )

    def cpu(self) -> dict[str, float]:
        assert self.worker is not None
        pids = self.instance.pids()
        return {
            "asterisk": cpu_seconds(pids[0]) if pids else float("nan"),
            "worker": tree_cpu_seconds(self.worker.pid),
        }

    def drain(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.channels() > 0 or self.members_waiting() > 0):
            time.sleep(0.3)

    def run(self, path: str, calls: int, hold_s: float, rate: float, workdir: Path) -> HoldRun:
        from django.db.models import Count
        from django.utils import timezone

        from voice.models import Call

        assert self.app is not None and self.worker is not None
        result = HoldRun(path, calls, hold_s, rate)
        dialled = HOLD_EXTENSION if path == "dialplan" else HOLD_NUMBER
        self.app.take()
        since = timezone.now()
        offset = self.worker.log_size()
        outcome: list[SippOutcome] = []
        placing = threading.Thread(
            target=lambda: outcome.append(
                run_sipp(
                    self.instance.sip_address,
                    dialled,
                    rate=rate,
                    calls=calls,
                    workdir=workdir,
                    pcap=caller_pcap(),
                    scenario=HOLD_SCENARIO,
                    hold_s=hold_s,
                )
            ),
            daemon=True,
        )
        before = self.cpu()
        started = time.monotonic()
        placing.start()
        # Every caller is placed by calls / rate; the first hangs up at hold_s. Between: all wait.
        window_start, window_end = started + calls / rate + 3, started + hold_s - 1
        while time.monotonic() < window_start:
            time.sleep(0.2)
        hold_before = self.cpu()
        hooks_before = len(self.app.hits)
        up, members = [], []
        while time.monotonic() < window_end - 1.5:
            up.append(self.channels())
            if path == "twiml":
                members.append(self.members_waiting())
            time.sleep(1.0)
        hold_after = self.cpu()
        result.hold_window_s = time.monotonic() - window_start
        result.webhooks_while_waiting = len(self.app.hits) - hooks_before
        placing.join(timeout=calls / rate + hold_s + 60)
        self.drain()
        after = self.cpu()
        result.cpu_all = {k: after[k] - before[k] for k in after}
        result.cpu_hold = {k: hold_after[k] - hold_before[k] for k in hold_after}
        result.up_min, result.up_samples = min(up, default=0), len(up)
        result.members_min = min(members, default=-1)
        hits = self.app.take()
        for hit in hits:
            result.webhooks[hit.path] = result.webhooks.get(hit.path, 0) + 1
        if outcome:
            stats = outcome[0].stats
            result.ok = int(stats.get("SuccessfulCall(C)", "0") or 0)
            result.failed = calls - result.ok
            result.answer_ms = spread(outcome[0].answer_ms)
            result.failures = outcome[0].errors_tail if result.failed else ""
        else:
            result.failed = calls
            result.failures = "sipp did not finish"
        if path == "twiml":
            rows = (
                Call.objects.using("admin")
                .filter(account_id=self.account.id, date_created__gte=since)
                .values("status")
                .annotate(n=Count("id"))
            )
            result.calls_db = {row["status"]: row["n"] for row in rows}
        text = self.worker.log_since(offset)
        result.worker_log = [ln for ln in text.splitlines() if re.search(r"WARNING|ERROR|Traceback", ln)][:5]
        return result


def hold_part(args: argparse.Namespace) -> list[HoldRun]:
    hold = Hold(args)
    runs: list[HoldRun] = []
    try:
        print("hold: starting Asterisk and the ARI worker ...", flush=True)
        hold.start()
        # Warm-up: the first TwiML call writes the hold music file that the dialplan baseline plays.
        for path in ("twiml", "dialplan"):
            warm = hold.run(path, 2, 4, 2, args.out / f"hold-warmup-{path}")
            if warm.ok != 2:
                raise SystemExit(f"hold warm-up on the {path} path: {warm.ok}/2 calls ok\n{warm.failures}")
        for path in ("dialplan", "twiml"):
            print(
                f"hold: {path}, {args.hold_calls} callers at {args.hold_rate:g}/s, each holding "
                f"{args.hold_seconds:g} s ...",
                flush=True,
            )
            run = hold.run(
                path, args.hold_calls, args.hold_seconds, args.hold_rate, args.out / f"hold-{path}"
            )
            print(
                f"  {run.ok}/{run.calls} ok, at least {run.up_min} channels up while waiting, CPU meanwhile: "
                f"Asterisk {run.cpu_hold['asterisk']:.2f} s, worker {run.cpu_hold['worker']:.2f} s",
                flush=True,
            )
            runs.append(run)
    finally:
        hold.stop()
    return runs


# ---------------------------------------------------------------- part 4: CPU per task

CPU_STEPS = ("create", "pass", "accept", "complete")
CPU_WARMUP = 10  # tasks run first, unmeasured: caches, plans, the connection's first statements
CPU_BACKLOG = 1_000


@dataclass
class StepCost:
    step: str
    statements: float = 0.0  # per task, savepoints aside
    cpu_ms: float = 0.0  # this process's CPU per task, median
    postgres_ms: float = 0.0  # its PostgreSQL backend's CPU per task, mean (the kernel counts in ticks)


def _backend_cpu_s() -> float:
    """CPU seconds of this process's PostgreSQL backend (the database runs on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cpu_seconds(cursor.fetchone()[0])


class TaskSteps:
    """One task's steps, as the latency part's client, router and agents take them."""

    def __init__(self, floor: Floor) -> None:
        from django.test import Client

        auth = "Basic " + b64encode(f"{floor.account.sid}:{floor.account.auth_token}".encode()).decode()
        self.client = Client(HTTP_AUTHORIZATION=auth, SERVER_NAME="localhost")
        self.path = f"/taskrouter/v1/Workspaces/{floor.workspace.sid}/Tasks"
        self.floor = floor
        self.task_id: Any = None

    def create(self, index: int) -> None:
        from core.sids import sid_to_uuid

        attributes = json.dumps({"type": "support", "bench": "cpu", "n": index, "language": "en"})
        fields = {"WorkflowSid": self.floor.workflow_sid, "TaskChannel": "voice", "Attributes": attributes}
        body = urlencode(fields)
        response = self.client.post(self.path, data=body, content_type="application/x-www-form-urlencoded")
        if response.status_code != 201:
            raise SystemExit(f"cpu: create answered {response.status_code}: {response.content[:200]!r}")
        created = json.loads(response.content)
        if created["assignment_status"] != "reserved":
            raise SystemExit(f"cpu: the new task was not offered as created: {created['assignment_status']}")
        self.task_id = sid_to_uuid(created["sid"], "WT")

    def route(self) -> None:
        """The pass the create's commit wakes: the task is offered already, so it reserves nothing."""
        if _one_pass(self.floor).reservations != 0:
            raise SystemExit("cpu: the pass found a task to reserve")

    def accept(self) -> None:
        from contactcenter.taskrouter.models import Reservation
        from contactcenter.taskrouter.reservations import reservation_update
        from core.tenancy import tenant_scope

        with tenant_scope(self.floor.account.id):
            offer = Reservation.objects.get(task_id=self.task_id, status=Reservation.Status.PENDING)
            reservation_update(reservation=offer, status=Reservation.Status.ACCEPTED)

    def complete(self) -> None:
        from contactcenter.taskrouter.models import Task
        from contactcenter.taskrouter.task_lifecycle import task_update
        from core.tenancy import tenant_scope

        with tenant_scope(self.floor.account.id):
            task_update(task=Task(id=self.task_id), assignment_status=Task.Status.COMPLETED)


def cpu_part(args: argparse.Namespace, account: Any) -> list[StepCost]:
    import statistics

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print(f"cpu: building a workspace ({args.cpu_workers} workers, {CPU_BACKLOG} claims) ...", flush=True)
    floor = floor_build(account, workers=args.cpu_workers, label="cpu")
    backlog_add(floor, CPU_BACKLOG)
    tables_analyze()
    steps = TaskSteps(floor)
    runs: dict[str, Callable[[int], None]] = {
        "create": steps.create,
        "pass": lambda _: steps.route(),
        "accept": lambda _: steps.accept(),
        "complete": lambda _: steps.complete(),
    }
    statements = dict.fromkeys(CPU_STEPS, 0)
    cpu: dict[str, list[float]] = {step: [] for step in CPU_STEPS}
    backend = dict.fromkeys(CPU_STEPS, 0.0)
    print(f"cpu: {args.cpu_tasks} tasks, one step at a time ...", flush=True)
    for index in range(CPU_WARMUP + args.cpu_tasks):
        for step in CPU_STEPS:
            backend_before = _backend_cpu_s()
            with CaptureQueriesContext(connection) as captured:
                started = time.process_time()
                runs[step](index)
                used = time.process_time() - started
            if index >= CPU_WARMUP:
                statements[step] += sum(1 for q in captured.captured_queries if not SKIPPED.match(q["sql"]))
                cpu[step].append(used)
                backend[step] += _backend_cpu_s() - backend_before
    n = args.cpu_tasks
    return [
        StepCost(step, statements[step] / n, statistics.median(cpu[step]) * 1000, backend[step] / n * 1000)
        for step in CPU_STEPS
    ]


# ---------------------------------------------------------------- report


def _verdict(args: argparse.Namespace, run: LatencyRun) -> str:
    """Met only by a run that kept the rate: a machine that cannot keep up keeps the creates waiting
    instead, which the figure (from the task's creation) does not see."""
    p95 = run.latency_ms.get("p95", float("inf"))
    late = run.late_ms.get("p99", float("inf"))
    if late > args.keep_ms:
        return f"NOT MET: the client fell behind ({fmt(late, 1)} ms at p99); p95 {fmt(p95, 1)} ms"
    return ("MET" if p95 <= GOAL_P95_MS else "NOT MET") + f" ({fmt(p95, 1)} ms)"


def report(
    args: argparse.Namespace,
    info: dict[str, str],
    latency: LatencyRun | None,
    decisions: list[Decision],
    holds: list[HoldRun],
    costs: list[StepCost],
) -> None:
    lines = [
        "",
        f"Machine: {info['cpu']}, {info['nproc']} cores, {info['ram']} RAM; Python {info['python']}; "
        f"{info['sipp']}; {info['date']}; load average {info.get('loadavg', '?')}",
    ]
    if latency is not None:
        r = latency
        lat, api, late = r.latency_ms, r.api_ms, r.late_ms
        cpu = r.cpu
        wall = cpu.get("wall", float("nan"))
        routers = sum(v for k, v in cpu.items() if k.startswith("router-"))
        lines += [
            "",
            f"Routing latency: {r.workers:,} workers, {r.backlog_before:,} claims waiting for busy workers; "
            f"Support tasks POSTed to the REST API at {r.rate:g}/s for {r.seconds:g} s (uvicorn --workers "
            f"{procfile_workers()}), {r.routers} `manage.py taskrouter` process(es); agents complete each "
            f"task {args.handle_seconds:g} s after accepting it.",
            "",
            "| tasks created (201) | reserved | task created → reservation created p50 / p95 / p99 / max ms "
            "| API create p50 / p95 ms | claims pending before → after (reserved meanwhile) "
            "| CPU s: uvicorn / routers / PostgreSQL / bench (client + agents) / other | wall s |",
            "|---:|---:|---|---|---|---|---:|",
            f"| {r.created_ok:,} of {r.created:,} | {r.reserved:,} ({r.unreserved} not) "
            f"| {fmt(lat.get('p50', float('nan')), 1)} / {fmt(lat.get('p95', float('nan')), 1)} / "
            f"{fmt(lat.get('p99', float('nan')), 1)} / {fmt(lat.get('max', float('nan')), 1)} "
            f"| {fmt(api.get('p50', float('nan')), 1)} / {fmt(api.get('p95', float('nan')), 1)} "
            f"| {r.backlog_before:,} → {r.backlog_after:,} ({r.backlog_reserved}) "
            f"| {fmt(cpu.get('server', float('nan')), 1)} / {fmt(routers, 1)} / "
            f"{fmt(cpu.get('postgres', float('nan')), 1)} / {fmt(cpu.get('bench', float('nan')), 1)} / "
            f"{fmt(cpu.get('other', float('nan')), 1)} | {fmt(wall, 1)} |",
            "",
            f"- The client sent requests up to {fmt(late.get('p99', float('nan')), 1)} ms (p99) behind its "
            f"schedule; agents accepted {r.agents.get('accepted')}, completed {r.agents.get('completed')}, "
            f"found {r.agents.get('refused')} offers gone, held up to {r.agents.get('busy_max')} at once, "
            f"let {r.agents.get('timed_out')} offers time out"
            + (f"; agent error: {r.agents['error']}" if r.agents.get("error") else "")
            + f"; workspace built in {r.build_s:.0f} s.",
            f"- Goal p95 ≤ {GOAL_P95_MS:g} ms at {args.rate:g}/s: {_verdict(args, r)}.",
        ]
        lines += [f"- problem: {p}" for p in r.problems]
    if decisions:
        lines += [
            "",
            "One decision's SQL (the create of one Support task, offered to a free worker as it is created):",
            "",
            "| workers | claims pending | queries | statements replayed | shared buffers | rows | create ms "
            "| heaviest statement |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for d in decisions:
            lines.append(
                f"| {d.workers:,} | {d.backlog:,} | {d.queries} | {d.statements} | {d.buffers:,} "
                f"| {d.rows:,} | {d.create_ms:.1f} | {d.heaviest} |"
            )
    if costs:
        lines += [
            "",
            f"One task's cost, step by step ({args.cpu_tasks} tasks, {args.cpu_workers} workers, "
            f"{CPU_BACKLOG:,} claims waiting; this process and its PostgreSQL backend):",
            "",
            "| step | statements | CPU ms (median) | PostgreSQL CPU ms (mean) |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| {c.step} | {c.statements:.1f} | {c.cpu_ms:.1f} | {c.postgres_ms:.1f} |" for c in costs]
        lines.append(
            f"| all | {sum(c.statements for c in costs):.1f} | {sum(c.cpu_ms for c in costs):.1f} "
            f"| {sum(c.postgres_ms for c in costs):.1f} |"
        )
    if holds:
        lines += [
            "",
            f"Callers on hold: {args.hold_calls} calls placed at {args.hold_rate:g}/s, each hanging up after "
            f"{args.hold_seconds:g} s; ARI worker processes: {args.worker_processes}.",
            "",
            "| path | calls ok | dropped | fewest channels up while all waited "
            "| fewest queue members waiting | webhook requests (while all waited) "
            "| CPU % of a core while all waited: Asterisk / worker "
            "| CPU s whole run: Asterisk / worker |",
            "|---|---:|---:|---:|---:|---|---|---|",
        ]
        for h in holds:
            hooks = ", ".join(f"{k} {v}" for k, v in sorted(h.webhooks.items())) or "none"
            window = h.hold_window_s or float("nan")
            busy = {name: fmt(100 * used / window, 1) for name, used in h.cpu_hold.items()}
            lines.append(
                f"| {h.path} | {h.ok} of {h.calls} | {h.failed} | {h.up_min} ({h.up_samples} samples) "
                f"| {h.members_min if h.members_min >= 0 else '-'} | {hooks} ({h.webhooks_while_waiting}) "
                f"| {busy['asterisk']} / {busy['worker']} "
                f"| {fmt(h.cpu_all['asterisk'], 1)} / {fmt(h.cpu_all['worker'], 1)} |"
            )
        for h in holds:
            notes = []
            if h.failures:
                notes.append("sipp: " + h.failures.strip().splitlines()[-1][:200])
            if h.calls_db:
                notes.append(f"Call rows {h.calls_db}")
            notes += [f"worker log: {ln[:200]}" for ln in h.worker_log]
            if notes:
                lines.append(f"- {h.path}: " + "; ".join(notes))
    print("\n".join(lines), flush=True)
    if args.json:
        payload = {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "machine": info,
            "latency": asdict(latency) if latency else None,
            "sql": [asdict(d) for d in decisions],
            "hold": [asdict(h) for h in holds],
            "cpu": [asdict(c) for c in costs],
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))


# ---------------------------------------------------------------- main


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


def main() -> None:
    args = parse_args()
    setup_django(args.db_name)
    info = machine()
    load_before = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"bench/routing: db={args.db_name} parts={args.parts} out={args.out}", flush=True)
    latency: LatencyRun | None = None
    decisions: list[Decision] = []
    holds: list[HoldRun] = []
    costs: list[StepCost] = []
    with interruptible():
        try:
            account = fresh_account()
            if "sql" in args.parts:
                decisions = sql_part(account)
            if "latency" in args.parts:
                latency = latency_part(args, account)
            if "hold" in args.parts:
                holds = hold_part(args)
            if "cpu" in args.parts:
                costs = cpu_part(args, account)
        except KeyboardInterrupt:
            print("\ninterrupted: the report covers the parts that finished", flush=True)
    info["loadavg"] = f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (1-minute)"
    report(args, info, latency, decisions, holds, costs)
    print(f"\nlogs: {args.out}", flush=True)


if __name__ == "__main__":
    main()
