"""Real processes for end-to-end tests: the ASGI server and a Celery worker, on the test database."""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
from django.conf import settings

from core.processes import die_with_parent

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WEB_LOG = "test-uvicorn-{port}.log"  # under .data: a web server's output, by its port
# The servers, workers and gateways a test starts die with the test run, however it ends (an
# interrupted run once left a gateway reading the next run's streams into a stale SMSC).
DIE_WITH_PYTEST = die_with_parent(signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def http_process(
    argv: list[str],
    *,
    probe: str,
    log_name: str,
    what: str,
    start_seconds: float = 30,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen]:
    """A process serving HTTP on loopback, yielded once `probe` answers (any status) and stopped after."""
    log = open(ROOT / ".data" / log_name, "w")  # noqa: SIM115
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=process_env(**(env or {})),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                httpx.get(probe, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start; see {log.name}") from None
                time.sleep(0.1)
        yield process
    finally:
        _stop(process)
        log.close()


@contextmanager
def web_server(argv: list[str], port: int, **env: str) -> Iterator[str]:
    """An ASGI server command that listens on loopback `port`; yields its base URL once it answers."""
    base = f"http://127.0.0.1:{port}"
    probe = f"{base}/2010-04-01/Accounts.json"
    with http_process(argv, probe=probe, log_name=WEB_LOG.format(port=port), what="uvicorn", env=env):
        yield base


@contextmanager
def asgi_server(port: int | None = None, **env: str) -> Iterator[str]:
    """uvicorn serving config.asgi on loopback `port` (else a free one), as the Procfile runs it; its
    base URL. Started again on the same port, it is the same server to a page after a restart."""
    port = port or free_port()
    argv = [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    with web_server([*argv, "--no-server-header"], port, **env) as base:
        yield base


@contextmanager
def procfile_web() -> Iterator[tuple[str, Path]]:
    """The Procfile's web process, exactly as written there, on a free port: its base URL and its log."""
    line = next(row for row in (ROOT / "Procfile").read_text().splitlines() if row.startswith("web:"))
    port = free_port()
    program, *args = shlex.split(line.removeprefix("web:").replace("${PORT:-8000}", str(port)))
    with web_server([str(BIN / program), *args], port) as base:
        yield base, ROOT / ".data" / WEB_LOG.format(port=port)


@contextmanager
def celery_worker(*, pool: str = "solo", **env: str) -> Iterator[subprocess.Popen]:
    """A real Celery worker consuming the test queue; yields the process once it is ready. `prefork`
    runs one child process, as the Procfile's worker runs its tasks."""
    log_path = ROOT / ".data" / f"test-celery-{os.getpid()}-{time.monotonic_ns()}.log"
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-P",
            pool,
            *(["--concurrency", "1"] if pool == "prefork" else []),
            "-l",
            "info",
            "-Q",
            f"{settings.CELERY_TASK_DEFAULT_QUEUE},{settings.CELERY_BULK_QUEUE}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=process_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start; see {log_path}")
            time.sleep(0.2)
        yield process
    finally:
        _stop(process)
        log.close()


class MediaBridge:
    """`manage.py media_bridge` on a free port, as the Procfile runs it beside the ARI worker."""

    def __init__(self, **env: str) -> None:
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / ".data" / "test-media-bridge.log"
        self.port = 0

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.log_path = ROOT / ".data" / f"test-media-bridge-{os.getpid()}-{time.monotonic_ns()}.log"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "media_bridge", "--port", "0"],
                cwd=ROOT,
                env=process_env(**self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
            )
        deadline = time.monotonic() + 30
        while not (found := re.search(r"listening on [^ ]+:(\d+)", self.log_path.read_text())):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"media bridge did not start; see {self.log_path}")
            time.sleep(0.05)
        self.port = int(found.group(1))

    def crash(self) -> None:
        """SIGKILL: its streams' connections drop with it, nothing said to anyone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.is_running:
            assert self.process is not None
            _stop(self.process)


@contextmanager
def media_bridge(**env: str) -> Iterator[MediaBridge]:
    bridge = MediaBridge(**env)
    bridge.start()
    try:
        yield bridge
    finally:
        bridge.stop()


class AriWorker:
    """`manage.py ari_worker` for one media server, which a test may crash and start again, with a
    media bridge beside it for its calls' Media Streams (which outlives a crash of the worker)."""

    def __init__(self, server_name: str, *, connections: int = 1, **env: str) -> None:
        self.server_name = server_name
        self.connections = connections  # one per worker process when the server has several
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / ".data" / "test-ari-worker.log"
        self.bridge = MediaBridge(**env)

    def start(self) -> None:
        if not self.bridge.is_running:
            self.bridge.start()
        self.log_path = ROOT / ".data" / f"test-ari-worker-{os.getpid()}-{time.monotonic_ns()}.log"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "ari_worker", "--server", self.server_name],
                cwd=ROOT,
                env=process_env(**self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
            )
        deadline = time.monotonic() + 30
        while self.log_path.read_text().count("ARI events connected") < self.connections:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ARI worker did not connect; see {self.log_path}")
            time.sleep(0.1)
        time.sleep(0.3)  # let the first reconciliation finish

    def crash(self) -> None:
        """SIGKILL: no clean shutdown, as after a real crash."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM to the worker; its bridge runs on, as it would when the worker alone restarts."""
        if self.process is not None and self.process.poll() is None:
            _stop(self.process)

    def child_pid(self, app: str) -> int:
        """The pid of the supervised process that runs Stasis app `app`."""
        assert self.process is not None
        pid = self.process.pid
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if app.encode() in argv:
                return int(child)
        raise LookupError(f"no worker process runs app {app}")


@contextmanager
def ari_worker(server_name: str, *, connections: int = 1, **env: str) -> Iterator[AriWorker]:
    """A started AriWorker, stopped on exit."""
    worker = AriWorker(server_name, connections=connections, **env)
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        worker.bridge.stop()


@contextmanager
def manage_process(command: str, *args: str, ready: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`manage.py <command>` on the test database, yielded once its log says `ready`; stopped by
    SIGTERM after."""
    log_path = ROOT / ".data" / f"test-{command}-{os.getpid()}-{time.monotonic_ns()}.log"
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "manage.py", command, *args],
        cwd=ROOT,
        env=process_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 60
        while ready not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"manage.py {command} did not start; see {log_path}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            _stop(process)
        log.close()


def taskrouter_process(*args: str, **env: str) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """`manage.py taskrouter` (the routing process)."""
    return manage_process("taskrouter", *args, ready="routing process started", **env)


def carrier_gateway_process(*args: str, **env: str) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """`manage.py carrier_gateway`, whose sweeper also re-queues the webhook outbox."""
    return manage_process("carrier_gateway", *args, ready="ready with connectors", **env)


class RedisServer:
    """A redis-server of a test's own on a free loopback port, which the test may stop and start
    again on the same port (never the shared one other sessions use). Nothing is persisted: a
    restart comes back empty, as a crashed Redis without persistence does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def crash(self) -> None:
        """SIGKILL: every connection drops and what it held is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.crash()
