"""sipp as a subprocess against an Asterisk instance: a calling UAC or an answering UAS, one run each.

Every run gets its own working folder holding media.pcap (what the UAC plays after the ACK) and
sipp's trace files, which `SippResult` reads back. Scenarios are the XML files in tests/voice/sipp/.
A run never outlives its timeout: sipp's own `-timeout`, and a kill after a grace period.
"""

import csv
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.voice.dtmf import silence_pcap

SCENARIOS = Path(__file__).resolve().parent / "sipp"
SIPP = "sipp"
HOST = "127.0.0.1"
KILL_GRACE_S = 5.0


def sipp_path() -> str | None:
    return shutil.which(SIPP)


def free_udp_port(*, pair: bool = False) -> int:
    """A free loopback UDP port; with pair, an even one whose next port is free too (RTP + RTCP)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((HOST, 0))
            port = int(probe.getsockname()[1])
        if not pair:
            return port
        port -= port % 2
        try:
            with (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
            ):
                a.bind((HOST, port))
                b.bind((HOST, port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free UDP port pair on loopback")


@dataclass
class SippResult:
    returncode: int
    workdir: Path
    stats: dict[str, str] = field(default_factory=dict)  # last row of the -trace_stat CSV

    def _count(self, column: str) -> int:
        value = self.stats.get(column, "")
        return int(value) if value.isdigit() else 0

    @property
    def successful_calls(self) -> int:
        return self._count("SuccessfulCall(C)")

    @property
    def failed_calls(self) -> int:
        return self._count("FailedCall(C)")

    @property
    def ok(self) -> bool:
        """sipp exits 0 only when every call it made or took succeeded."""
        return self.returncode == 0 and self.failed_calls == 0

    def text(self, name: str) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace") if path.is_file() else ""

    @property
    def messages(self) -> str:
        return self.text("messages.log")

    @property
    def errors(self) -> str:
        return self.text("errors.log")

    def explain(self) -> str:
        """What to print when a test fails: exit code, counts, errors and the last SIP messages."""
        return (
            f"sipp exit {self.returncode}, {self.successful_calls} ok / {self.failed_calls} failed "
            f"(in {self.workdir})\n--- errors:\n{self.errors[-3000:]}"
            f"\n--- screen:\n{self.text('screen.log')[-2000:]}\n--- messages:\n{self.messages[-4000:]}"
        )


class SippRun:
    """One sipp process running in the background; `wait()` gives its result."""

    def __init__(self, argv: list[str], workdir: Path, timeout_s: float) -> None:
        self.argv = argv
        self.workdir = workdir
        self.timeout_s = timeout_s
        self.started_at = time.monotonic()
        self._output = open(workdir / "sipp.out", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT
        )

    def wait(self, timeout_s: float | None = None) -> SippResult:
        """Wait for sipp to finish (it quits by itself at its -timeout); kill it if it does not."""
        limit = self.timeout_s + KILL_GRACE_S if timeout_s is None else timeout_s
        remaining = max(0.0, self.started_at + limit - time.monotonic())
        try:
            returncode = self.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            self.stop()
            returncode = self.process.returncode
        self._output.close()
        return SippResult(returncode=returncode, workdir=self.workdir, stats=_read_stats(self.workdir))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._output.closed:
            self._output.close()

    def __enter__(self) -> "SippRun":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_stats(workdir: Path) -> dict[str, str]:
    path = workdir / "stats.csv"
    if not path.is_file():
        return {}
    rows = list(csv.reader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


def _common_args(workdir: Path, *, local_port: int, timeout_s: float) -> list[str]:
    return [
        "-i",
        HOST,
        "-p",
        str(local_port),
        "-nostdin",
        "-timeout",
        f"{int(timeout_s)}s",
        "-timeout_error",
        "-trace_stat",
        "-stf",
        str(workdir / "stats.csv"),
        "-trace_err",
        "-error_file",
        str(workdir / "errors.log"),
        "-trace_msg",
        "-message_file",
        str(workdir / "messages.log"),
        "-trace_screen",
        "-screen_file",
        str(workdir / "screen.log"),
    ]


def start_uac(
    target: str,
    number: str,
    *,
    workdir: Path,
    pcap: bytes | None = None,
    hangup_after_ms: int | None = None,
    caller: str = "+15557654321",
    calls: int = 1,
    rate_per_s: float = 100.0,
    timeout_s: float = 20.0,
) -> SippRun:
    """Call `number` at `target` (host:port of the instance's SIP) without waiting for the result.

    All `calls` may be up at once (sipp's own default limit is three times the rate).

    After the 200 OK and ACK the UAC plays `pcap` (RTP capture bytes, e.g. from dtmf.dtmf_pcap;
    200 ms of silence when None). With `hangup_after_ms` it hangs up itself after that long,
    otherwise it waits for the far end's BYE.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "media.pcap").write_bytes(pcap if pcap is not None else silence_pcap())
    scenario = "uac_wait_bye.xml" if hangup_after_ms is None else "uac_hangup.xml"
    argv = [
        SIPP,
        target,
        "-sf",
        str(SCENARIOS / scenario),
        "-s",
        number,
        "-key",
        "caller",
        caller,
        "-m",
        str(calls),
        "-l",
        str(calls),
        "-r",
        str(rate_per_s),
        "-mi",
        HOST,
        "-mp",
        str(free_udp_port(pair=True)),
        *_common_args(workdir, local_port=free_udp_port(), timeout_s=timeout_s),
    ]
    if hangup_after_ms is not None:
        argv += ["-d", str(hangup_after_ms)]
    return SippRun(argv, workdir, timeout_s)


def run_uac(target: str, number: str, *, workdir: Path, **options: object) -> SippResult:
    """`start_uac` and wait for it."""
    return start_uac(target, number, workdir=workdir, **options).wait()  # type: ignore[arg-type]


def start_uas(
    port: int,
    *,
    workdir: Path,
    busy: bool = False,
    calls: int = 1,
    timeout_s: float = 20.0,
    pcap: bytes | None = None,
) -> SippRun:
    """Answer `calls` calls on 127.0.0.1:`port` (the trunk's far end): ring then 200, or 486 if busy.
    With `pcap` (RTP capture bytes, e.g. from dtmf.script_pcap) it is played once the call is up.

    Returns once sipp is listening.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = "uas_busy.xml" if busy else "uas.xml"
    if pcap is not None:
        (workdir / "media.pcap").write_bytes(pcap)
        scenario = "uas_media.xml"
    argv = [
        SIPP,
        "-sf",
        str(SCENARIOS / scenario),
        "-m",
        str(calls),
        "-mi",
        HOST,
        "-mp",
        str(free_udp_port(pair=True)),
        *_common_args(workdir, local_port=port, timeout_s=timeout_s),
    ]
    run = SippRun(argv, workdir, timeout_s)
    _wait_bound(run, port)
    return run


def start_scenario(
    scenario: Path,
    *,
    workdir: Path,
    local_port: int,
    target: str | None = None,
    service: str | None = None,
    keys: dict[str, str] | None = None,
    calls: int = 1,
    timeout_s: float = 20.0,
) -> SippRun:
    """Run any scenario file (other test packages keep their own) for `calls` calls, without media.

    With a `target` (host:port) sipp is a client; without one it serves on `local_port` and this
    returns once it is listening. `keys` fill the scenario's [key] placeholders.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [SIPP, *([target] if target else []), "-sf", str(scenario), "-m", str(calls)]
    if service is not None:
        argv += ["-s", service]
    for key, value in (keys or {}).items():
        argv += ["-key", key, value]
    run = SippRun(
        [*argv, *_common_args(workdir, local_port=local_port, timeout_s=timeout_s)], workdir, timeout_s
    )
    if target is None:
        _wait_bound(run, local_port)
    return run


def _wait_bound(run: SippRun, port: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if run.process.poll() is not None:
            raise RuntimeError(f"sipp UAS exited at once:\n{(run.workdir / 'sipp.out').read_text()}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                return  # taken: sipp has bound it
        time.sleep(0.02)
    run.stop()
    raise RuntimeError(f"sipp UAS did not bind {HOST}:{port}")
