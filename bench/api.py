"""Benchmark listing IncomingPhoneNumbers on the real ASGI server: req/s, latency, SQL queries per request."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import terminate, tree_cpu_seconds

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
PAGE_SIZE = 50
# One area code per tenant keeps every number globally unique and valid (NXX 200-999, line 0000-9999).
AREA_CODES = ("212", "646", "917", "718", "347", "929", "332", "516")
# Stop a load run if the server holds more PostgreSQL connections than this: the server is shared.
MAX_SERVER_CONNECTIONS = 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    add = parser.add_argument
    add("--duration", type=float, default=10.0, help="seconds of measured load per scenario (default 10)")
    add(
        "--warmup", type=float, default=2.0, help="seconds of discarded load before each scenario (default 2)"
    )
    add("--concurrency", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    add("--sizes", default="1000,100000", help="numbers per tenant, comma-separated (default 1000,100000)")
    add(
        "--walk",
        type=int,
        default=300,
        help="pages to follow by next_page_uri on the largest tenant (0: skip)",
    )
    add(
        "--tool",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator: wrk when on PATH (preferred), else the pure-Python httpx fallback",
    )
    add(
        "--conn-max-age",
        default="0",
        help="DB_CONN_MAX_AGE for the server (default 0); 'settings' keeps the settings' default (60), which "
        "under ASGI leaves one idle PostgreSQL connection per request until garbage collection",
    )
    add("--db-name", default=os.environ.get("BENCH_DB_NAME", "switchboard_bench"))
    add("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not args.sizes or len(args.sizes) > len(AREA_CODES) or min(args.sizes) < 2 * PAGE_SIZE:
        parser.error(f"1 to {len(AREA_CODES)} sizes, each at least {2 * PAGE_SIZE}")
    if max(args.sizes) > 800 * 10_000:
        parser.error("at most 8,000,000 numbers per tenant")
    if not 0 < args.duration <= 120 or not 1 <= args.concurrency <= 64:
        parser.error("keep the load bounded: 0 < --duration <= 120, 1 <= --concurrency <= 64")
    if args.tool == "auto":
        args.tool = "wrk" if shutil.which("wrk") else "httpx"
    elif args.tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on PATH (apt-get install wrk)")
    return args


def setup_django(db_name: str) -> None:
    os.environ["SWITCHBOARD_DB_NAME"] = db_name
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["SWITCHBOARD_API_RATE_PER_SECOND"] = "1000000"
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("django.request").setLevel(logging.ERROR)  # the 401 baseline would log every request


# ---------------------------------------------------------------- data


@dataclass
class Tenant:
    size: int
    account_id: Any
    sid: str
    auth: str  # the Authorization header value
    first_url: str = ""
    deep_url: str = ""
    offset_url: str = ""
    one_url: str = ""


def ensure_tenant(size: int, area_code: str) -> Tenant:
    """The tenant named `bench-<size>` with exactly `size` numbers, created or topped up as needed."""
    from django.db import connections, transaction

    from core.phone import friendly
    from core.tenancy import tenant_scope
    from numbering.models import IncomingPhoneNumber
    from tenants.models import Account
    from tenants.services import account_create

    name = f"bench-{size}"
    account = Account.objects.using("admin").filter(friendly_name=name, status="active").first()
    if account is None:
        with transaction.atomic():
            account = account_create(friendly_name=name, actor="bench:api")
    have = IncomingPhoneNumber.objects.using("admin").filter(account_id=account.id).count()
    if have > size:
        raise SystemExit(f"{name} has {have} numbers, more than {size}; drop the bench database")
    if have < size:
        started = time.perf_counter()
        with tenant_scope(account.id):
            taken = set(IncomingPhoneNumber.objects.values_list("phone_number", flat=True))
            batch: list[IncomingPhoneNumber] = []
            for k in range(size):
                e164 = f"+1{area_code}{200 + k // 10_000}{k % 10_000:04d}"
                if e164 in taken:
                    continue
                batch.append(
                    IncomingPhoneNumber(account=account, phone_number=e164, friendly_name=friendly(e164))
                )
                if len(batch) + have >= size:
                    break
            IncomingPhoneNumber.objects.bulk_create(batch, batch_size=5000)
        took = time.perf_counter() - started
        print(f"  seeded {len(batch):,} numbers into {name} in {took:.1f}s", flush=True)
        with connections["admin"].cursor() as cursor:
            cursor.execute("VACUUM ANALYZE numbering_incomingphonenumber")
    creds = base64.b64encode(f"{account.sid}:{account.auth_token}".encode()).decode()
    return Tenant(size=size, account_id=account.id, sid=account.sid, auth=f"Basic {creds}")


def build_urls(tenant: Tenant) -> None:
    """First page, the last full page by PageToken (keyset), the deepest page Page=N alone may reach
    (offset; deeper ones are refused), and one number."""
    from core.paging import MAX_OFFSET, _encode_token
    from core.tenancy import tenant_scope
    from numbering.models import IncomingPhoneNumber

    base = f"/2010-04-01/Accounts/{tenant.sid}/IncomingPhoneNumbers"
    last_page = tenant.size // PAGE_SIZE - 1
    with tenant_scope(tenant.account_id):
        numbers = IncomingPhoneNumber.objects.filter(account_id=tenant.account_id)
        newest_first = numbers.order_by("-date_created", "-id")
        before_last_page = newest_first[last_page * PAGE_SIZE - 1]
        one = newest_first[tenant.size // 2]
    token = _encode_token("after", before_last_page)
    tenant.first_url = f"{base}.json?PageSize={PAGE_SIZE}"
    tenant.deep_url = f"{base}.json?PageSize={PAGE_SIZE}&Page={last_page}&PageToken={token}"
    tenant.offset_url = f"{base}.json?PageSize={PAGE_SIZE}&Page={min(last_page, MAX_OFFSET // PAGE_SIZE)}"
    tenant.one_url = f"{base}/{one.sid}.json"


# ---------------------------------------------------------------- SQL per request (in-process)


@dataclass
class QueryCount:
    count: int
    status: int
    rows: int
    sql: list[str]


def count_queries(url: str, auth: str | None) -> QueryCount:
    """Run one request through django.test.Client (the same middleware and view) and count its SQL."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    extra: dict[str, Any] = {"HTTP_HOST": "127.0.0.1"}
    if auth:
        extra["HTTP_AUTHORIZATION"] = auth
    client = Client(**extra)
    client.get(url)  # connects and warms caches outside the count
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    body = response.json() if is_json else {}
    rows = len(body.get("incoming_phone_numbers", [])) if isinstance(body, dict) else 0
    return QueryCount(len(captured), response.status_code, rows, [q["sql"] for q in captured])


def app_url() -> str:
    from django.conf import settings

    return settings.DATABASE_ROLES.url_for(settings.DATABASE_ROLES.app)


def raw_sql_timing(tenant: Tenant, sql: str, iterations: int = 200) -> dict[str, float]:
    """The page's own SQL as the app role on one open psycopg connection: the database's share."""
    import psycopg

    samples = []
    with psycopg.connect(app_url()) as conn:
        for i in range(iterations + 20):
            started = time.perf_counter()
            with conn.transaction():
                conn.execute("SELECT set_config('app.account_id', %s, true)", [str(tenant.account_id)])
                conn.execute(sql).fetchall()  # type: ignore[arg-type]
            if i >= 20:
                samples.append(time.perf_counter() - started)
    return summarize(samples)


def raw_connect_timing(iterations: int = 50) -> dict[str, float]:
    """A new connection as the app role plus one trivial query: what a request pays without reuse."""
    import psycopg

    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        with psycopg.connect(app_url()) as conn:
            conn.execute("SELECT 1").fetchall()
        samples.append(time.perf_counter() - started)
    return summarize(samples)


def explain(tenant: Tenant, sql: str) -> tuple[list[str], int]:
    """The plan as text, and how many rows its leaf scans read (returned plus filtered out)."""
    from django.db import connection

    from core.tenancy import tenant_scope

    with tenant_scope(tenant.account_id), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")
        text = [row[0] for row in cursor.fetchall()]

    def scanned(node: dict[str, Any]) -> int:
        own = 0
        if node.get("Node Type") in ("Index Scan", "Index Only Scan", "Bitmap Index Scan", "Seq Scan"):
            own = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        return own + sum(scanned(child) for child in node.get("Plans", []))

    return text, scanned(plan[0]["Plan"])


# ---------------------------------------------------------------- load


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-p * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def summarize(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "p50_ms": percentile(ordered, 50) * 1000,
        "p95_ms": percentile(ordered, 95) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000 if ordered else float("nan"),
    }


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int  # socket errors, timeouts, and responses whose status was not the expected one
    aborted: bool = False

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# Counts responses whose status is not BENCH_EXPECT in each thread, then prints one JSON line.
WRK_SCRIPT = """
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then wrk.headers["Authorization"] = auth end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) expected = tonumber(os.getenv("BENCH_EXPECT")); unexpected = 0 end
function response(status, headers, body) if status ~= expected then unexpected = unexpected + 1 end end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH_JSON {"requests": %d, "duration_us": %d, "p50": %d, "p95": %d, "p99": %d, "errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), bad + e.connect + e.read + e.write + e.timeout))
end
"""


def load_wrk(
    base: str,
    path: str,
    auth: str | None,
    expect: int,
    concurrency: int,
    duration: float,
    script: Path,
    should_abort: Callable[[], bool],
) -> LoadResult:
    seconds = max(1, round(duration))
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    env = {**os.environ, "BENCH_AUTH": auth or "", "BENCH_EXPECT": str(expect)}
    proc = subprocess.Popen([*command, base + path], env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603
    deadline = time.monotonic() + seconds + 30
    aborted = False
    while proc.poll() is None:
        if should_abort() or time.monotonic() > deadline:
            proc.send_signal(signal.SIGINT)  # wrk prints its summary on SIGINT
            aborted = True
            break
        time.sleep(0.05)
    out, _ = proc.communicate(timeout=30)
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return LoadResult(
        data["requests"],
        data["duration_us"] / 1e6,
        data["p50"] / 1000,
        data["p95"] / 1000,
        data["p99"] / 1000,
        data["errors"],
        aborted,
    )


async def load_httpx(
    base: str,
    path: str,
    auth: str | None,
    expect: int,
    concurrency: int,
    duration: float,
    should_abort: Callable[[], bool],
) -> LoadResult:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": auth} if auth else {}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10.0) as client:
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline and not should_abort():
                started = time.perf_counter()
                try:
                    ok = (await client.get(path)).status_code == expect
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    s = summarize(latencies)
    return LoadResult(len(latencies), elapsed, s["p50_ms"], s["p95_ms"], s["p99_ms"], errors, should_abort())


class ConnectionSampler(threading.Thread):
    """Polls how many PostgreSQL connections the app role holds on the bench database."""

    def __init__(self, db_name: str) -> None:
        super().__init__(daemon=True)
        from django.conf import settings

        self.url = settings.DATABASE_ROLES.url_for(None, database="postgres")
        self.db_name, self.role = db_name, settings.DATABASE_ROLES.app
        self.peak = 0
        self.current = 0
        self.done = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.done.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = %s",
                    [self.db_name, self.role],
                ).fetchone()
                self.current = row[0] if row else 0
                self.peak = max(self.peak, self.current)
                self.done.wait(0.1)

    def reset(self) -> None:
        self.peak = self.current

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5)


# ---------------------------------------------------------------- server


class Server:
    """uvicorn serving config.asgi on a free loopback port, as the platform runs it."""

    def __init__(
        self, db_name: str, conn_max_age: str, *, workers: int = 1, settings: str = "config.settings"
    ) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-uvicorn-", suffix=".log", delete=False)  # noqa: SIM115
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "SWITCHBOARD_DB_NAME": db_name,
            "SWITCHBOARD_API_RATE_PER_SECOND": "1000000",
        }
        env.pop("DB_CONN_MAX_AGE", None)
        if conn_max_age != "settings":
            env["DB_CONN_MAX_AGE"] = conn_max_age
        command = [
            str(VENV_BIN / "uvicorn"),
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)  # noqa: S603

    def wait_ready(self, timeout: float = 30.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"uvicorn exited with {self.proc.returncode}; see {self.log.name}")
            try:
                httpx.get(self.base + "/2010-04-01/Accounts.json", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit(f"uvicorn did not answer within {timeout}s; see {self.log.name}")

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the server so far (its worker processes included)."""
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        terminate(self.proc)
        self.log.close()


def db_sessions(db_name: str) -> int:
    """Connections ever opened to the bench database (pg_stat_database.sessions, PostgreSQL 14+)."""
    from django.db import connections

    with connections["admin"].cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [db_name])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------- main


@dataclass
class Scenario:
    name: str
    size: int | None
    path: str
    auth: str | None
    expect: int = 200
    queries: QueryCount | None = None
    load: LoadResult | None = None
    cpu_ms: float = float("nan")
    conns_per_request: float = float("nan")
    peak_conns: int = 0


def machine() -> dict[str, str]:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout  # noqa: S603
        except OSError:
            return ""

    lscpu = run("lscpu").splitlines()
    model = next((ln.split(":", 1)[1].strip() for ln in lscpu if ln.startswith("Model name")), "?")
    mem = next((ln.split()[1] for ln in run("free", "-h").splitlines() if ln.startswith("Mem:")), "?")
    return {
        "cpu": model,
        "nproc": run("nproc").strip(),
        "ram": mem,
        "python": platform.python_version(),
        "date": run("date", "-u").strip(),
    }


def main() -> None:
    args = parse_args()
    setup_django(args.db_name)
    from django.db import connections

    from core.provisioning import migrate, provision_database

    info = machine()
    load_before = os.getloadavg()
    print(
        f"bench/api: db={args.db_name} tool={args.tool} concurrency={args.concurrency} "
        f"duration={args.duration}s warmup={args.warmup}s sizes={args.sizes} "
        f"DB_CONN_MAX_AGE={args.conn_max_age}",
        flush=True,
    )
    print("provisioning and seeding ...", flush=True)
    provision_database()
    migrate()
    tenants = [ensure_tenant(size, AREA_CODES[i]) for i, size in enumerate(args.sizes)]
    for tenant in tenants:
        build_urls(tenant)
    with connections["admin"].cursor() as cursor:
        cursor.execute("SELECT version()")
        info["postgres"] = cursor.fetchone()[0].split(" on ")[0]

    largest = max(tenants, key=lambda t: t.size)
    scenarios = [
        Scenario("baseline: no credentials (401)", None, largest.first_url, None, expect=401),
        Scenario("baseline: fetch one number", largest.size, largest.one_url, largest.auth),
    ]
    for tenant in tenants:
        scenarios += [
            Scenario("list first page", tenant.size, tenant.first_url, tenant.auth),
            Scenario("list last page (PageToken)", tenant.size, tenant.deep_url, tenant.auth),
            Scenario("list deepest Page=N (offset)", tenant.size, tenant.offset_url, tenant.auth),
        ]

    print("counting SQL per request in-process ...", flush=True)
    for scenario in scenarios:
        q = scenario.queries = count_queries(scenario.path, scenario.auth)
        if q.status != scenario.expect or (scenario.name.startswith("list") and q.rows != PAGE_SIZE):
            raise SystemExit(
                f"{scenario.name} ({scenario.size}): status {q.status} with {q.rows} rows; expected "
                f"{scenario.expect} with {PAGE_SIZE} rows"
            )

    print("timing the page SQL directly and explaining it ...", flush=True)
    raw: list[dict[str, Any]] = []
    for scenario in scenarios:
        if scenario.name.startswith("list") and scenario.queries:
            tenant = next(t for t in tenants if t.size == scenario.size)
            sql = next(s for s in scenario.queries.sql if "numbering_incomingphonenumber" in s)
            plan, scanned = explain(tenant, sql)
            timing = raw_sql_timing(tenant, sql)
            raw.append(
                {
                    "name": scenario.name,
                    "size": scenario.size,
                    "sql": sql,
                    "index_rows_read": scanned,
                    "plan": plan,
                    **timing,
                }
            )
    connect_cost = raw_connect_timing()
    for alias in connections:
        connections[alias].close()

    script = Path(tempfile.mkstemp(prefix="bench-wrk-", suffix=".lua")[1])
    script.write_text(WRK_SCRIPT)
    sampler = ConnectionSampler(args.db_name)
    sampler.start()
    server = Server(args.db_name, args.conn_max_age)
    walk: dict[str, Any] = {}
    try:
        server.wait_ready()

        def too_many_connections() -> bool:
            return sampler.current > MAX_SERVER_CONNECTIONS

        def load(scenario: Scenario, duration: float) -> LoadResult:
            run = (scenario.path, scenario.auth, scenario.expect, args.concurrency, duration)
            if args.tool == "wrk":
                return load_wrk(server.base, *run, script, too_many_connections)
            return asyncio.run(load_httpx(server.base, *run, too_many_connections))

        for scenario in scenarios:
            print(f"load: {scenario.name} [{scenario.size or '-'}] ...", flush=True)
            if args.warmup > 0:
                load(scenario, args.warmup)
            sessions_before, cpu_before = db_sessions(args.db_name), server.cpu_seconds()
            sampler.reset()
            scenario.load = load(scenario, args.duration)
            cpu_after = server.cpu_seconds()
            scenario.peak_conns = sampler.peak
            time.sleep(1.2)  # let the server's backends report their disconnections
            sessions_after = db_sessions(args.db_name)
            n = max(scenario.load.requests, 1)
            scenario.cpu_ms = (cpu_after - cpu_before) * 1000 / n
            scenario.conns_per_request = (sessions_after - sessions_before) / n
            if scenario.load.aborted:
                print(
                    f"  ABORTED: the server held over {MAX_SERVER_CONNECTIONS} PostgreSQL connections",
                    flush=True,
                )

        if args.walk > 0:
            print(f"walk: following next_page_uri for {args.walk} pages of {largest.size:,} ...", flush=True)
            walk = follow_pages(server.base, largest, args.walk)
    finally:
        server.stop()
        sampler.stop()
        script.unlink(missing_ok=True)
        connections["admin"].close()

    info["loadavg"] = f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (1-minute)"
    report(args, info, scenarios, raw, connect_cost, walk)


def follow_pages(base: str, tenant: Tenant, pages: int) -> dict[str, Any]:
    """One client walking next_page_uri sequentially; latency of the first and the last 20 pages."""
    import httpx

    latencies: list[float] = []
    path: str | None = tenant.first_url
    with httpx.Client(base_url=base, headers={"Authorization": tenant.auth}, timeout=10.0) as client:
        for _ in range(20):  # warm this connection
            client.get(tenant.first_url)
        while path and len(latencies) < pages:
            started = time.perf_counter()
            response = client.get(path)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            path = response.json()["next_page_uri"]
    head, tail = latencies[:20], latencies[-20:]
    return {
        "pages": len(latencies),
        "rows_deep": len(latencies) * PAGE_SIZE,
        "first20_p50_ms": statistics.median(head) * 1000,
        "last20_p50_ms": statistics.median(tail) * 1000,
    }


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"  # NaN check


def report(
    args: argparse.Namespace,
    info: dict[str, str],
    scenarios: list[Scenario],
    raw: list[dict[str, Any]],
    connect_cost: dict[str, float],
    walk: dict[str, Any],
) -> None:
    lines = [
        "",
        f"Machine: {info['cpu']}, {info['nproc']} cores, {info['ram']} RAM; {info['postgres']}; "
        f"Python {info['python']}; {info['date']}; load average {info['loadavg']}",
        f"Load: {args.tool}, closed loop, {args.concurrency} connections, {args.duration:g}s per scenario "
        f"after {args.warmup:g}s warm-up; uvicorn --workers 1 on loopback; "
        f"DB_CONN_MAX_AGE={args.conn_max_age}; PageSize={PAGE_SIZE}",
        "",
        "| scenario | numbers | SQL/req | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/req "
        "| DB conns opened/req | peak DB conns |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scenarios:
        assert s.load is not None and s.queries is not None
        lines.append(
            f"| {s.name}{' (ABORTED)' if s.load.aborted else ''} | {f'{s.size:,}' if s.size else '-'} "
            f"| {s.queries.count} | {fmt(s.load.rps, 0)} | {fmt(s.load.p50_ms)} | {fmt(s.load.p95_ms)} "
            f"| {fmt(s.load.p99_ms)} | {s.load.errors:,} | {fmt(s.cpu_ms, 1)} "
            f"| {fmt(s.conns_per_request, 2)} | {s.peak_conns} |"
        )
    lines += [
        "",
        "The page's SQL alone (psycopg as the app role on one open connection: BEGIN, set_config, SELECT, "
        "COMMIT; 200 runs):",
        "",
        "| query | numbers | rows read by the scan | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in raw:
        lines.append(
            f"| {r['name']} | {r['size']:,} | {r['index_rows_read']:,} | {fmt(r['p50_ms'], 2)} "
            f"| {fmt(r['p95_ms'], 2)} |"
        )
    lines.append(
        f"| new connection as the app role + SELECT 1 | - | - | {fmt(connect_cost['p50_ms'], 2)} "
        f"| {fmt(connect_cost['p95_ms'], 2)} |"
    )
    counts = {s.queries.count for s in scenarios if s.name.startswith("list") and s.queries}
    verdict = "constant across sizes and depths" if len(counts) == 1 else "NOT constant"
    lines += ["", f"SQL statements per list request: {sorted(counts)}: {verdict}"]
    listing = next((s for s in scenarios if s.name.startswith("list") and s.queries), None)
    if listing and listing.queries:
        lines += ["", "Statements of one list request:", ""]
        lines += [
            f"    {i + 1}. {sql[:140]}{'...' if len(sql) > 140 else ''}"
            for i, sql in enumerate(listing.queries.sql)
        ]
    if walk:
        lines.append(
            f"\nWalk of next_page_uri on {max(args.sizes):,} numbers, one client: {walk['pages']} pages "
            f"({walk['rows_deep']:,} rows deep); p50 of pages 1-20 {walk['first20_p50_ms']:.1f} ms, "
            f"of the last 20 {walk['last20_p50_ms']:.1f} ms"
        )
    deep = next((r for r in raw if r["size"] == max(args.sizes) and "PageToken)" in r["name"]), None)
    if deep:
        lines += [
            "",
            f"EXPLAIN ANALYZE, last page by PageToken, {deep['size']:,} numbers:",
            "",
            "```",
            *deep["plan"],
            "```",
        ]
    print("\n".join(lines), flush=True)
    if args.json:
        payload = {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "machine": info,
            "scenarios": [
                {
                    "name": s.name,
                    "size": s.size,
                    "path": s.path,
                    "expect": s.expect,
                    "sql_per_request": s.queries.count if s.queries else None,
                    "sql": s.queries.sql if s.queries else None,
                    "load": vars(s.load) if s.load else None,
                    "rps": s.load.rps if s.load else None,
                    "server_cpu_ms_per_request": s.cpu_ms,
                    "db_connections_opened_per_request": s.conns_per_request,
                    "peak_db_connections": s.peak_conns,
                }
                for s in scenarios
            ],
            "raw_sql": raw,
            "raw_connect": connect_cost,
            "walk": walk,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    main()
