"""The SMSC sandbox (scripts/smsc/smsc.js, on the npm `smpp` package) as a test fixture.

`smsc` (function scope, re-exported by tests/messaging/conftest.py) starts a fresh SMSC on free ports
with the defaults below and yields an `Smsc`: where to bind (`connector_settings()` fits
`SmppConnector(**…)`) and a client for its HTTP control port. A test that needs other SMSC flags
takes `smsc_factory` and calls it with `start_smsc`'s options, e.g.
`smsc_factory(throughput=20, refuse={"15550009999": "ESME_RINVDSTADR"})`; each SMSC it starts lives
until the end of the test. Outside pytest, `with start_smsc(...) as smsc:` does the same.

    def test_something(smsc):
        connector = SmppConnector(name="test", events=events, **smsc.connector_settings())
        ...
        smsc.wait_stats(lambda s: s["accepted"] >= 1)
        assert smsc.submissions()[0]["text"] == "Hello"

The SMSC's own log (one JSON line per PDU) is in .data/test-smsc-*.log. node_modules is installed
with `npm ci` first when the smpp package is missing, as scripts/lib.sh does.
"""

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import DIE_WITH_PYTEST

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "smsc" / "smsc.js"
HOST = "127.0.0.1"
SYSTEM_ID = "switchboard"
PASSWORD = "s3cret"  # at most 8 characters in SMPP 3.4
START_TIMEOUT_S = 15.0


@dataclass
class Smsc:
    """A running SMSC: its SMPP address and credentials, and its control port."""

    host: str
    port: int
    http_port: int
    system_id: str
    password: str
    log_path: Path
    process: subprocess.Popen

    def connector_settings(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "system_id": self.system_id, "password": self.password}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"http://{self.host}:{self.http_port}{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def submissions(self) -> list[dict[str, Any]]:
        """Every submit_sm received, in order: addresses, data_coding, esm_class, hex, text, udh
        ({ref, total, part}), message_id (None unless accepted), command_status."""
        return self._call("GET", "/submissions")

    def accepted(self) -> list[dict[str, Any]]:
        return [s for s in self.submissions() if s["command_status"] == 0]

    def stats(self) -> dict[str, int]:
        """Counters: submit_sm, accepted, throttled, refused, dlr_sent/acked, mo_sent/acked, binds,
        bind_failures, max_outstanding, enquire_link_*, sessions_bound, deliveries_waiting, …"""
        return self._call("GET", "/stats")

    def mo(self, *, from_: str, to: str, text: str, **options: Any) -> int:
        """Inject a mobile-originated message; options: coding (gsm|ucs2|latin1), concat (split as a
        handset does), part_octets (split into smaller parts), payload (in message_payload).
        Returns the number of deliver_sm it became."""
        return self._call("POST", "/mo", json={"from": from_, "to": to, "text": text, **options})["parts"]

    def reset(self) -> None:
        self._call("POST", "/reset")

    def drop(self, *, down_ms: int = 0) -> int:
        """Close every session; refuse new connections for `down_ms`. Returns how many were bound."""
        return self._call("POST", f"/drop?down_ms={down_ms}")["dropped"]

    def wait_stats(
        self, predicate: Callable[[dict[str, int]], bool], timeout: float = 10.0
    ) -> dict[str, int]:
        """Poll /stats until `predicate` holds; fails the test with the last stats otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if predicate(stats):
                return stats
            if time.monotonic() > deadline:
                pytest.fail(f"SMSC stats never matched within {timeout} s: {stats}")
            time.sleep(0.05)


def ensure_node_modules() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is missing: apt-get install nodejs npm (scripts/lib.sh installs them)")
    if not (ROOT / "node_modules" / "smpp" / "package.json").is_file():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True, timeout=300
        )


@contextmanager
def start_smsc(
    *,
    system_id: str = SYSTEM_ID,
    password: str = PASSWORD,
    submit_delay_ms: int = 0,
    dlr_delay_ms: int = 20,
    dlr_format: str = "both",
    dlr_status: dict[str, str] | None = None,
    refuse: dict[str, str] | None = None,
    throughput: int = 0,
    enquire_link_ms: int = 0,
    quiet: bool = False,
) -> Iterator[Smsc]:
    """A started SMSC on free loopback ports, killed on exit.

    dlr_status maps a destination (digits, no '+') to a receipt stat such as "UNDELIV" or
    "EXPIRED:005"; refuse maps one to the command_status its submit_sm gets ("ESME_RINVDSTADR" or a
    number); throughput caps accepted submit_sm per second (beyond: ESME_RTHROTTLED)."""
    ensure_node_modules()
    args = [
        "node", str(SCRIPT), "--host", HOST, "--port", "0", "--http-port", "0",
        "--system-id", system_id, "--password", password,
        "--submit-delay-ms", str(submit_delay_ms), "--dlr-delay-ms", str(dlr_delay_ms),
        "--dlr-format", dlr_format, "--throughput", str(throughput),
        "--enquire-link-ms", str(enquire_link_ms),
    ]  # fmt: skip
    for destination, stat in (dlr_status or {}).items():
        args += ["--dlr-status", f"{destination}={stat}"]
    for destination, status in (refuse or {}).items():
        args += ["--refuse", f"{destination}={status}"]
    if quiet:
        args.append("--quiet")
    (ROOT / ".data").mkdir(exist_ok=True)
    log_path = ROOT / ".data" / f"test-smsc-{time.time_ns()}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
        )
    try:
        first = _first_line(log_path, process)
        yield Smsc(HOST, first["smpp_port"], first["http_port"], system_id, password, log_path, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _first_line(log_path: Path, process: subprocess.Popen) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        text = log_path.read_text()
        if text.endswith("\n"):
            event = json.loads(text.splitlines()[0])
            if event.get("event") == "listening":
                return event
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the SMSC did not start; see {log_path}:\n{text[-2000:]}")
        time.sleep(0.05)


@pytest.fixture
def smsc() -> Iterator[Smsc]:
    """A fresh SMSC with the default settings (see the module docstring)."""
    with start_smsc() as running:
        yield running


@pytest.fixture
def smsc_factory() -> Iterator["SmscFactory"]:
    """Starts SMSCs with `start_smsc`'s options; all of them are stopped at the end of the test."""
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(start_smsc(**options))


SmscFactory = Callable[..., Smsc]
