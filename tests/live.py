"""Real processes for end-to-end tests: the ASGI server and a Celery worker, on the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.conf import settings

from core.processes import die_with_parent

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
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
def web_server(argv: list[str], port: int, **env: str) -> Iterator[str]:
    """An ASGI server command that listens on loopback `port`; yields its base URL once it answers."""
    log = open(ROOT / ".data" / f"test-uvicorn-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=process_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/2010-04-01/Accounts.json", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not start; see {log.name}") from None
                time.sleep(0.1)
        yield base
    finally:
        _stop(process)
        log.close()


@contextmanager
def asgi_server(**env: str) -> Iterator[str]:
    """uvicorn serving config.asgi on a free loopback port, as the Procfile runs it; its base URL."""
    port = free_port()
    argv = [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    with web_server([*argv, "--no-server-header"], port, **env) as base:
        yield base


@contextmanager
def celery_worker(**env: str) -> Iterator[subprocess.Popen]:
    """A real Celery worker consuming the test queue; yields the process once it is ready."""
    log_path = ROOT / ".data" / f"test-celery-{os.getpid()}.log"
    log = open(log_path, "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-l",
            "info",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
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


class AriWorker:
    """`manage.py ari_worker` for one media server, which a test may crash and start again."""

    def __init__(self, server_name: str, *, connections: int = 1, **env: str) -> None:
        self.server_name = server_name
        self.connections = connections  # one per worker process when the server has several
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / ".data" / "test-ari-worker.log"

    def start(self) -> None:
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
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@contextmanager
def taskrouter_process(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`manage.py taskrouter` (the routing process) on the test database; stopped by SIGTERM after."""
    log = open(ROOT / ".data" / f"test-taskrouter-{os.getpid()}-{time.monotonic_ns()}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "manage.py", "taskrouter", *args],
        cwd=ROOT,
        env=process_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            _stop(process)
        log.close()
