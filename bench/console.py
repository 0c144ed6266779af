"""Benchmark the contact center's live pages (issue 13): the supervisor's wallboard and the agent's ring.

1. wallboard: one workspace with --agents workers (100), each busy with an accepted task, and
   --waiting more tasks (500) waiting in its queue. A supervisor signs in through the login form (the
   session cookie the portal gets) and opens the board's websocket (`/ws/routing/<WS…>/`, uvicorn as
   the Procfile starts it). The bench then makes --changes state changes (40), --gap apart (0.5 s),
   alternately a new task (the queue's waiting count goes up) and a worker's activity changed
   (Available ↔ Unavailable), each through the service its page or the API calls and committed in the
   bench's process, as another process's change would be. Per change: from just before the service
   is called to the socket receiving a fragment that shows it (goal ≤ 1 s). Beside it, in the same
   run, the fragment's own cost, read --reads times in the bench's process: milliseconds and queries,
   of which the wallboard's part (the event log's hour and the charts, wallboard.py) — the routing
   board as it was before the wallboard is the rest, the baseline.
2. ring: --agents portal members (agents) each linked to a worker, each with the agent console's
   websocket open (`/ws/console/`, Part B's console: its protocol is docs/console.md), all
   available, the routing process (`manage.py taskrouter`) running. --rings tasks (100), --ring-gap
   apart (0.2 s), each created through `voice_task_create`, the service `<Enqueue workflowSid>` calls
   for a call entering a queue (a call row made first, as the ARI worker has one). Per task: from just
   before its creation to its agent's socket receiving the `ring` (goal p95 ≤ 300 ms); the task is
   then canceled (its caller hung up), which frees the agent. Baseline in the same run: the same with
   1 agent signed in.

The bench recreates its own database (--db-name) each run and starts every process it measures; no
Celery worker runs (no callbacks are configured). Figures and what they say: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.api import Server
from bench.messaging import Process, procfile_workers
from bench.routing import (
    SETTINGS,
    Floor,
    close_connections,
    fresh_account,
    interruptible,
    reservations_accept,
    route_until_idle,
    setup_django,
)
from bench.voice import REPO, VENV_PYTHON, fmt, machine, spread

ACTOR = "bench:console"
PASSWORD = "bench-console-pw-1"  # noqa: S105 (the bench's own throwaway users)
GOAL_RING_P95_MS = 300.0
GOAL_WALLBOARD_S = 1.0
BUILD_BATCH = 250
SIGN_IN_THREADS = 4
WAIT_S = 10.0  # for one ring or one fragment; past it the change counts as missed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--parts", default="wallboard,ring", help="which parts to run (default wallboard,ring)")
    add("--agents", type=int, default=100, help="agents signed in / workers on the floor (default 100)")
    add("--waiting", type=int, default=500, help="tasks waiting while the wallboard is watched (default 500)")
    add("--changes", type=int, default=40, help="state changes timed on the wallboard (default 40)")
    add("--gap", type=float, default=0.5, help="seconds between wallboard changes (default 0.5)")
    add("--reads", type=int, default=20, help="fragment reads timed in-process (default 20)")
    add("--rings", type=int, default=100, help="tasks rung (default 100)")
    add("--ring-gap", type=float, default=0.2, help="seconds between tasks rung (default 0.2)")
    add("--db-name", default=os.environ.get("BENCH_DB_NAME", "switchboard_bench_console"))
    add("--out", type=Path, help="folder for logs (default .data/bench-console/<UTC time>)")
    add("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args()
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not args.parts or not set(args.parts) <= {"wallboard", "ring"}:
        parser.error("--parts takes wallboard and/or ring")
    if not 1 <= args.agents <= 500 or not 0 <= args.waiting <= 5000:
        parser.error("keep it bounded: 1 <= --agents <= 500, 0 <= --waiting <= 5000")
    if not 1 <= args.changes <= 500 or not 1 <= args.rings <= 1000 or args.gap < 0.05 or args.ring_gap < 0:
        parser.error("1 <= --changes <= 500, 1 <= --rings <= 1000, --gap >= 0.05, --ring-gap >= 0")
    if args.out is None:
        args.out = REPO / ".data" / "bench-console" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return args


# ---------------------------------------------------------------- the floor and its people


@dataclass
class Desk:
    """A workspace built by the bench: the FIFO template's queue and workflow, its workers."""

    floor: Floor
    queue_sid: str
    workers: list[Any]  # Worker rows, by name
    available_sid: str
    unavailable_sid: str


def _batched(items: range, each: Any, account_id: Any) -> None:
    from core.tenancy import tenant_scope

    for start in range(0, len(items), BUILD_BATCH):
        with tenant_scope(account_id):
            for index in items[start : start + BUILD_BATCH]:
                each(index)


def desk_build(account: Any, *, agents: int, label: str, available: bool) -> Desk:
    from contactcenter.taskrouter.models import Activity, TaskQueue, Worker, Workflow
    from contactcenter.taskrouter.workers import worker_create
    from contactcenter.taskrouter.workspaces import FIFO_TEMPLATE, workspace_create
    from core.tenancy import tenant_scope

    with tenant_scope(account.id):
        workspace = workspace_create(
            account=account, actor=ACTOR, friendly_name=label, template=FIFO_TEMPLATE
        )
        queue = TaskQueue.objects.get(workspace=workspace)
        workflow = Workflow.objects.get(workspace=workspace)
        activities = {a.friendly_name: a.sid for a in Activity.objects.filter(workspace=workspace)}

    def hire(index: int) -> None:
        worker_create(
            workspace=workspace,
            friendly_name=f"agent-{index:03d}",
            attributes=json.dumps({"skills": ["support"]}),
            activity_sid=activities["Available" if available else "Offline"],
        )

    _batched(range(agents), hire, account.id)
    with tenant_scope(account.id):
        workers = list(Worker.objects.filter(workspace=workspace).order_by("friendly_name"))
    floor = Floor(account, workspace, workflow.sid, queue.id, queue.id, agents)
    return Desk(floor, queue.sid, workers, activities["Available"], activities["Unavailable"])


def tasks_add(desk: Desk, count: int) -> None:
    from contactcenter.taskrouter.task_lifecycle import task_create

    def one(index: int) -> None:
        task_create(
            workspace=desk.floor.workspace,
            workflow_sid=desk.floor.workflow_sid,
            attributes=json.dumps({"from": f"+1415555{index % 10000:04d}", "type": "support"}),
            priority=None,
            timeout=None,
            task_channel="voice",
        )

    _batched(range(count), one, desk.floor.account.id)


def members_link(desk: Desk, role: str, emails: list[str]) -> None:
    """A portal user per e-mail (one password hash for all: hashing is not what is measured), each a
    member of the account with `role`, linked to the desk's workers in order when there are workers."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from contactcenter.taskrouter.models import Worker
    from core.tenancy import tenant_activate
    from tenants.models import Role, User
    from tenants.services import membership_add

    hashed = make_password(PASSWORD)
    account = desk.floor.account
    for index, email in enumerate(emails):
        with transaction.atomic():
            tenant_activate(account.id)
            user = User.objects.create(email=email, password=hashed)
            membership = membership_add(account=account, user=user, role=Role(role), actor=ACTOR)
            if role == Role.AGENT:
                Worker.objects.filter(id=desk.workers[index].id).update(member=membership)


def session_cookie(base: str, email: str) -> str:
    """Sign in as the portal does (the login form, its CSRF token): the session cookie."""
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if token is None:
            raise SystemExit("the login page has no CSRF token")
        signed = client.post(
            "/login/",
            data={"email": email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": base + "/login/"},
        )
        if signed.status_code != 302 or "sessionid" not in client.cookies:
            raise SystemExit(f"signing in as {email} failed: {signed.status_code}")
        return str(client.cookies["sessionid"])


def sessions(base: str, emails: list[str]) -> list[str]:
    with ThreadPoolExecutor(SIGN_IN_THREADS) as pool:
        return list(pool.map(lambda email: session_cookie(base, email), emails))


# ---------------------------------------------------------------- the websockets


class Sockets(threading.Thread):
    """Websocket clients in one event loop, as browsers would hold them: each message is kept with
    the moment it arrived (the wall clock, which the bench's own process also stamps changes with)."""

    def __init__(self, base: str, path: str, cookies: list[str]) -> None:
        super().__init__(name="sockets", daemon=True)
        self.url = base.replace("http", "ws", 1) + path
        self.origin = base
        self.cookies = cookies
        self.loop = asyncio.new_event_loop()
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.messages: list[tuple[float, int, dict[str, Any]]] = []  # (time, socket index, message)
        self.opened = 0
        self.errors: list[str] = []

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._all())

    async def _all(self) -> None:
        self.stopping = asyncio.Event()
        tasks = [asyncio.create_task(self._one(index, cookie)) for index, cookie in enumerate(self.cookies)]
        await self.stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, index: int, cookie: str) -> None:
        from websockets.asyncio.client import connect

        try:
            async with connect(
                self.url, origin=self.origin, additional_headers={"Cookie": f"sessionid={cookie}"},  # type: ignore[arg-type]
                max_size=None, open_timeout=60,
            ) as ws:  # fmt: skip
                with self.lock:
                    self.opened += 1
                async for raw in ws:
                    received = time.time()
                    with self.arrived:
                        self.messages.append((received, index, json.loads(raw)))
                        self.arrived.notify_all()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            with self.lock:
                self.errors.append(f"socket {index}: {exc!r}")

    def wait_for(
        self, test: Any, *, after: float, timeout: float = WAIT_S
    ) -> tuple[float, dict[str, Any]] | None:
        """The first message arrived after `after` (wall clock) for which `test(index, message)`."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for received, index, message in self.messages:
                    if received >= after and test(index, message):
                        return received, message
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.arrived.wait(left)

    def wait_open(self, count: int, kind: str, timeout: float = 120.0) -> None:
        """Until `count` sockets have each sent a first message of `kind`."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len({i for _, i, m in self.messages if m.get("type", kind) == kind}) < count:
                if time.monotonic() > deadline or self.errors:
                    raise SystemExit(f"sockets did not all open: {self.errors[:3]}")
                self.arrived.wait(0.5)

    def stop(self) -> None:
        if self.is_alive():
            self.loop.call_soon_threadsafe(self.stopping.set)
            self.join(timeout=10)


# ---------------------------------------------------------------- 1. the wallboard


@dataclass
class WallboardRun:
    agents: int
    waiting: int
    changes: int
    latency_s: list[float] = field(default_factory=list)
    missed: int = 0
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    read_ms: dict[str, float] = field(default_factory=dict)
    wallboard_ms: dict[str, float] = field(default_factory=dict)
    queries: int = 0
    wallboard_queries: int = 0
    fragment_kb: float = 0.0
    server_cpu_s: float = 0.0
    wall_s: float = 0.0


def _read_cost(desk: Desk, reads: int, run: WallboardRun) -> None:
    """The fragment's read in this process: all of it, and the wallboard's part alone."""
    from datetime import UTC, datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from contactcenter.taskrouter.board import board_fragment, board_read
    from contactcenter.taskrouter.wallboard import wallboard_read
    from core.tenancy import tenant_scope

    whole, part = [], []
    with tenant_scope(desk.floor.account.id):
        board = board_read(workspace=desk.floor.workspace)
        queues = [row.queue for row in board.queues]
        waiting = {row.queue.id: row.waiting for row in board.queues}
        for _ in range(reads):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as all_queries:
                html = board_fragment(workspace=desk.floor.workspace, can_manage=True)
            whole.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as wall_queries:
                wallboard_read(
                    workspace=desk.floor.workspace, queues=queues, waiting=waiting, now=datetime.now(UTC)
                )
            part.append((time.perf_counter() - started) * 1000)
    run.read_ms, run.wallboard_ms = spread(sorted(whole)), spread(sorted(part))
    run.queries, run.wallboard_queries = len(all_queries), len(wall_queries)
    run.fragment_kb = len(html.encode()) / 1024


def wallboard_part(args: argparse.Namespace, account: Any) -> WallboardRun:
    from contactcenter.taskrouter.workers import worker_update
    from core.tenancy import tenant_scope

    run = WallboardRun(args.agents, args.waiting, args.changes)
    print(f"wallboard: building ({args.agents} agents busy, {args.waiting} tasks waiting) ...", flush=True)
    desk = desk_build(account, agents=args.agents, label="wallboard", available=True)
    tasks_add(desk, args.agents)
    route_until_idle(desk.floor)
    busy = reservations_accept(desk.floor)
    tasks_add(desk, args.waiting)
    members_link(desk, "supervisor", ["supervisor@bench-console.example"])
    _read_cost(desk, args.reads, run)
    print(f"wallboard: {busy} agents busy; the fragment reads in {fmt(run.read_ms['p50'], 1)} ms", flush=True)
    close_connections()
    server = Server(args.db_name, "settings", workers=procfile_workers(), settings=SETTINGS)
    sockets = None
    try:
        server.wait_ready()
        [cookie] = sessions(server.base, ["supervisor@bench-console.example"])
        sockets = Sockets(server.base, f"/ws/routing/{desk.floor.workspace.sid}/", [cookie])
        sockets.start()
        sockets.wait_open(1, "fragment")
        waiting = args.waiting
        worker = desk.workers[0]
        is_available = True
        cpu_before, started = server.cpu_seconds(), time.monotonic()
        for n in range(args.changes):
            time.sleep(args.gap)
            before = time.time()
            if n % 2 == 0:
                kind = "task created"
                tasks_add(desk, 1)
                waiting += 1
                shows = f'<td data-count="waiting"><strong>{waiting}</strong>'
            else:
                kind = "activity changed"
                is_available = not is_available
                with tenant_scope(account.id):
                    worker_update(
                        worker=worker,
                        activity_sid=desk.available_sid if is_available else desk.unavailable_sid,
                        actor=ACTOR,
                    )
                state = "available" if is_available else "unavailable"
                shows = f'<tr data-worker="{worker.sid}" class="{state}">'
            seen = sockets.wait_for(
                lambda _, message, shows=shows: shows in message.get("fragment", ""), after=before
            )
            if seen is None:
                run.missed += 1
                continue
            run.latency_s.append(seen[0] - before)
            run.by_kind.setdefault(kind, []).append(seen[0] - before)
        run.server_cpu_s = server.cpu_seconds() - cpu_before
        run.wall_s = time.monotonic() - started
    finally:
        if sockets is not None:
            sockets.stop()
        server.stop()
    return run


# ---------------------------------------------------------------- 2. the ring


@dataclass
class RingRun:
    agents: int
    rings: int
    ring_ms: dict[str, float] = field(default_factory=dict)
    publish_ms: dict[str, float] = field(default_factory=dict)
    missed: int = 0
    sign_in_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)


def ring_run(args: argparse.Namespace, account: Any, agents: int) -> RingRun:
    from contactcenter.taskrouter.models import Task
    from contactcenter.taskrouter.task_lifecycle import task_update
    from contactcenter.taskrouter.workers import worker_update
    from contactcenter.voice_tasks import voice_task_create
    from core.sids import row_by_sid
    from core.tenancy import tenant_scope
    from voice.models import Call

    run = RingRun(agents, args.rings)
    label = f"ring-{agents}"
    print(f"ring: {agents} agent(s) signing in ...", flush=True)
    desk = desk_build(account, agents=agents, label=label, available=False)
    emails = [f"{label}-{index:03d}@bench-console.example" for index in range(agents)]
    members_link(desk, "agent", emails)
    close_connections()
    server = Server(args.db_name, "settings", workers=procfile_workers(), settings=SETTINGS)
    router = sockets = None
    try:
        server.wait_ready()
        started = time.monotonic()
        cookies = sessions(server.base, emails)
        sockets = Sockets(server.base, "/ws/console/", cookies)
        sockets.start()
        sockets.wait_open(agents, "state")
        run.sign_in_s = time.monotonic() - started
        router = Process(
            f"router-{label}",
            [str(VENV_PYTHON), "manage.py", "taskrouter"],
            args.out / f"router-{label}.log",
            "taskrouter routing process started",
            args.db_name,
        )
        with tenant_scope(account.id):
            for worker in desk.workers:
                worker_update(worker=worker, activity_sid=desk.available_sid, actor=ACTOR)
        time.sleep(1.0)  # the consoles' state after going available, out of the way
        to_ring, publish = [], []
        cpu_before = {"server": server.cpu_seconds(), "router": router.cpu_seconds()}
        for n in range(args.rings):
            with tenant_scope(account.id):
                call = Call.objects.create(
                    account=account, direction=Call.Direction.INBOUND, status=Call.Status.IN_PROGRESS,
                    from_number=f"+1415555{n % 10000:04d}", to_number="+14155550100",
                )  # fmt: skip
            before = time.time()
            sid = voice_task_create(
                account_id=account.id, call_id=call.id, workflow_sid=desk.floor.workflow_sid, task=None
            )
            seen = sockets.wait_for(
                lambda _, message, sid=sid: message.get("type") == "ring" and message.get("task_sid") == sid,
                after=before,
            )
            if seen is None:
                run.missed += 1
            else:
                to_ring.append((seen[0] - before) * 1000)
                publish.append((seen[0] - float(seen[1]["created_at"])) * 1000)
            with tenant_scope(account.id):  # the caller hangs up: the agent is free again
                task = row_by_sid(Task.objects.all(), sid)
                assert task is not None
                task_update(task=task, assignment_status="canceled", reason="The caller hung up")
            time.sleep(args.ring_gap)
        run.cpu = {
            "server": server.cpu_seconds() - cpu_before["server"],
            "router": router.cpu_seconds() - cpu_before["router"],
        }
        run.ring_ms, run.publish_ms = spread(sorted(to_ring)), spread(sorted(publish))
    finally:
        if sockets is not None:
            sockets.stop()
        if router is not None:
            router.stop()
        server.stop()
    return run


# ---------------------------------------------------------------- report


def report(info: dict[str, str], wallboard: WallboardRun | None, rings: list[RingRun]) -> list[str]:
    lines = [
        "",
        f"Machine: {info['cpu']}, {info['nproc']} cores, {info['ram']} RAM; Python {info['python']}; "
        f"{info['date']}; load average {info.get('loadavg', '?')}",
    ]
    if wallboard is not None:
        w = wallboard
        lat = spread(sorted(w.latency_s))
        lines += [
            "",
            f"Wallboard: {w.agents} agents busy, {w.waiting} tasks waiting; {w.changes} changes committed by "
            f"the bench's process, one supervisor's socket (uvicorn --workers {procfile_workers()}).",
            "",
            "| change → fragment on the socket p50 / p95 / max s | missed | by kind p95 s "
            f"| goal p95 ≤ {GOAL_WALLBOARD_S:g} s | server CPU s over {fmt(w.wall_s, 1)} s |",
            "|---|---:|---|---|---:|",
            f"| {fmt(lat['p50'], 3)} / {fmt(lat['p95'], 3)} / {fmt(lat['max'], 3)} | {w.missed} | "
            + "; ".join(f"{k} {fmt(spread(sorted(v))['p95'], 3)}" for k, v in w.by_kind.items())
            + f" | {'met' if lat['p95'] <= GOAL_WALLBOARD_S else 'NOT met'} | {fmt(w.server_cpu_s, 1)} |",
            "",
            "| the fragment's read (in-process) | p50 ms | p95 ms | queries | KiB |",
            "|---|---:|---:|---:|---:|",
            f"| the whole board (wallboard included) | {fmt(w.read_ms['p50'], 1)} "
            f"| {fmt(w.read_ms['p95'], 1)} "
            f"| {w.queries} | {fmt(w.fragment_kb, 1)} |",
            f"| of which the wallboard (hour, charts) | {fmt(w.wallboard_ms['p50'], 1)} "
            f"| {fmt(w.wallboard_ms['p95'], 1)} | {w.wallboard_queries} | |",
            f"| baseline: the routing board without it | {fmt(w.read_ms['p50'] - w.wallboard_ms['p50'], 1)} "
            f"| | {w.queries - w.wallboard_queries} | |",
        ]
    if rings:
        lines += [
            "",
            "Ring: tasks created through `voice_task_create` (the `<Enqueue workflowSid>` path), the routing "
            "process running; agents' consoles on `/ws/console/`.",
            "",
            "| agents signed in | tasks | task created → ring p50 / p95 / p99 / max ms "
            f"| reservation created → ring p95 ms | missed | goal p95 ≤ {GOAL_RING_P95_MS:g} ms "
            "| CPU s: server / router | sign-in s |",
            "|---:|---:|---|---:|---:|---|---|---:|",
        ]
        for r in rings:
            m = r.ring_ms
            lines.append(
                f"| {r.agents} | {r.rings} | {fmt(m['p50'], 1)} / {fmt(m['p95'], 1)} / {fmt(m['p99'], 1)} / "
                f"{fmt(m['max'], 1)} | {fmt(r.publish_ms['p95'], 1)} | {r.missed} "
                f"| {'met' if m['p95'] <= GOAL_RING_P95_MS else 'NOT met'} "
                f"| {fmt(r.cpu.get('server', float('nan')), 1)} "
                f"/ {fmt(r.cpu.get('router', float('nan')), 1)} "
                f"| {fmt(r.sign_in_s, 1)} |"
            )
    return lines


def main() -> None:
    args = parse_args()
    setup_django(args.db_name)
    info = machine()
    load_before = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"bench/console: db={args.db_name} parts={args.parts} out={args.out}", flush=True)
    wallboard: WallboardRun | None = None
    rings: list[RingRun] = []
    with interruptible():
        try:
            account = fresh_account()
            if "wallboard" in args.parts:
                wallboard = wallboard_part(args, account)
            if "ring" in args.parts and importlib.util.find_spec("contactcenter.console") is None:
                print("ring: skipped: this tree has no agent console (/ws/console/, the console branch)")
            elif "ring" in args.parts:
                for agents in sorted({1, args.agents}):
                    rings.append(ring_run(args, account, agents))
        except KeyboardInterrupt:
            print("\ninterrupted: the report covers the parts that finished", flush=True)
    info["loadavg"] = f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (1-minute)"
    print("\n".join(report(info, wallboard, rings)), flush=True)
    if args.json:
        found = {
            "machine": info,
            "wallboard": asdict(wallboard) if wallboard else None,
            "ring": [asdict(r) for r in rings],
        }
        args.json.write_text(json.dumps(found, indent=2, default=str))
    print(f"\nlogs: {args.out}", flush=True)


if __name__ == "__main__":
    main()
