"""One Asterisk instance in the shared chroot: its folders, config files, process and ARI readiness.

An instance is a name plus ports. Its config lives in `<root>/etc/asterisk-<name>/`, and its spool, run,
log, database and cache folders carry the name too, so the dev platform and the test suite can each run
one from the same chroot at once. Sounds and modules are shared.
"""

import base64
import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediaserver.asterisk import config
from mediaserver.asterisk.certificate import ensure_dev_certificate
from mediaserver.asterisk.chroot import AsteriskSetupError, ensure_root, host_path

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# Characters that would end or break a value in Asterisk's config syntax (`;` starts a comment).
UNSAFE_VALUE_RE = re.compile(r"[;\s\"'\\]")
ASTERISK = "/usr/sbin/asterisk"
# Options that make an asterisk process a remote console, not a server.
REMOTE_FLAGS = frozenset({"-r", "-R", "-x", "-rx", "-Rx"})


class AsteriskError(RuntimeError):
    """An instance did not do what was asked (start, answer a CLI command)."""


@dataclass(frozen=True)
class AsteriskInstance:
    name: str
    root: Path
    sip_port: int = 5060
    ari_port: int = 8088
    tls_port: int = 8089  # HTTPS and WSS (browser softphones), served by the same HTTP server as ARI
    rtp_start: int = 10000
    rtp_end: int = 19999
    ari_username: str = "switchboard"
    ari_password: str = ""
    ari_app: str = "switchboard"
    worker_processes: int = 1  # one Stasis app each; see config.stasis_apps
    trunk_uri: str = "sip:127.0.0.1:5090"
    bind_host: str = "127.0.0.1"
    # The operator's certificate and key for WSS (host paths, PEM); empty: a development one is made.
    tls_cert_file: str = ""
    tls_key_file: str = ""

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise ValueError(f"instance name {self.name!r}: use 1-32 of a-z 0-9 _ -, starting alnum")
        for field in ("ari_username", "ari_password", "ari_app", "trunk_uri", "bind_host"):
            value = getattr(self, field)
            if not value or UNSAFE_VALUE_RE.search(value):
                raise ValueError(f"{field} must be non-empty, without spaces, quotes, backslashes or ';'")
        if not self.trunk_uri.startswith("sip:"):
            raise ValueError(f"trunk_uri {self.trunk_uri!r} must be a sip: URI")
        if not 1 <= self.worker_processes <= 32:
            raise ValueError("worker_processes must be 1 to 32")
        if not 0 < self.rtp_start < self.rtp_end < 65536:
            raise ValueError("RTP range must be 0 < rtp_start < rtp_end < 65536")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("tls_cert_file and tls_key_file go together")
        ports = (self.sip_port, self.ari_port, self.tls_port)
        if len(set(ports)) < len(ports) or any(self.rtp_start <= port <= self.rtp_end for port in ports):
            raise ValueError("SIP, ARI, TLS and RTP ports must not overlap")

    # --- paths as Asterisk sees them inside the chroot -------------------------------------------

    @property
    def etc_dir(self) -> str:
        return f"/etc/asterisk-{self.name}"

    @property
    def conf_path(self) -> str:
        return f"{self.etc_dir}/asterisk.conf"

    @property
    def spool_dir(self) -> str:
        return f"/var/spool/asterisk-{self.name}"

    @property
    def run_dir(self) -> str:
        # Not /var/run: in the chroot that is an absolute link to /run, which outside it is the host's.
        return f"/run/asterisk-{self.name}"

    @property
    def log_dir(self) -> str:
        return f"/var/log/asterisk-{self.name}"

    @property
    def db_dir(self) -> str:
        return f"/var/lib/asterisk-{self.name}"

    @property
    def cache_dir(self) -> str:
        return f"/var/cache/asterisk-{self.name}"

    @property
    def tls_cert_path(self) -> str:
        return f"{self.etc_dir}/keys/wss.crt"

    @property
    def tls_key_path(self) -> str:
        return f"{self.etc_dir}/keys/wss.key"

    def host(self, guest_path: str) -> Path:
        return host_path(self.root, guest_path)

    # --- what other processes need to reach it ---------------------------------------------------

    @property
    def ari_url(self) -> str:
        return f"http://{self.bind_host}:{self.ari_port}/ari"

    @property
    def events_url(self) -> str:
        """The app's event websocket, credentials in the query string (as Asterisk accepts them)."""
        return (
            f"ws://{self.bind_host}:{self.ari_port}/ari/events"
            f"?app={self.ari_app}&api_key={self.ari_username}:{self.ari_password}"
        )

    @property
    def wss_url(self) -> str:
        """Where a browser softphone's SIP over secure websocket connects."""
        return f"wss://{self.bind_host}:{self.tls_port}/ws"

    @property
    def sip_address(self) -> str:
        """host:port where calls from the trunk enter."""
        return f"{self.bind_host}:{self.sip_port}"

    @property
    def sounds_dir(self) -> Path:
        """Host folder Asterisk plays from as `sound:switchboard/<name>` (shared by all instances)."""
        path = self.root / "var/lib/asterisk/sounds/switchboard"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def recording_dir(self) -> Path:
        """Host folder where ARI recordings of this instance land (`<name>.<format>`)."""
        path = self.host(f"{self.spool_dir}/recording")
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def console_log(self) -> Path:
        return self.host(f"{self.log_dir}/console.log")

    @property
    def messages_log(self) -> Path:
        return self.host(f"{self.log_dir}/messages.log")

    # --- config -----------------------------------------------------------------------------------

    def write_config(self) -> Path:
        """Create the instance's folders and (re)write its config files; returns the host etc folder.

        Only files whose content changed are rewritten, and files no longer rendered are removed. A
        running Asterisk does not see the change until `reload` or a restart.
        """
        for guest in (
            self.etc_dir,
            self.run_dir,
            self.log_dir,
            self.db_dir,
            self.cache_dir,
            f"{self.spool_dir}/recording",
            f"{self.spool_dir}/tmp",  # noqa: S108  (inside the chroot, and per instance)
            f"{self.spool_dir}/outgoing",
        ):
            self.host(guest).mkdir(parents=True, exist_ok=True)
        etc = self.host(self.etc_dir)
        files = config.render(self)
        for filename, text in files.items():
            path = etc / filename
            if not path.is_file() or path.read_text() != text:
                path.write_text(text)
        for stale in etc.glob("*.conf"):
            if stale.name not in files:  # the folder is ours alone: what we no longer render goes
                stale.unlink()
        self._install_certificate()
        return etc

    def _install_certificate(self) -> None:
        """The WSS certificate where http.conf names it: the operator's files copied in (the chroot
        cannot see the host's), else a development one for the address browsers connect to."""
        cert, key = self.host(self.tls_cert_path), self.host(self.tls_key_path)
        if not self.tls_cert_file:
            ensure_dev_certificate(cert, key, [self.bind_host, "localhost"])
            return
        cert.parent.mkdir(parents=True, exist_ok=True)
        for source, target in ((self.tls_cert_file, cert), (self.tls_key_file, key)):
            content = Path(source).read_bytes()
            if not target.is_file() or target.read_bytes() != content:
                target.write_bytes(content)
        key.chmod(0o600)

    # --- process ----------------------------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        """argv that runs the chroot's asterisk binary against this instance's config."""
        return ["chroot", str(self.root), ASTERISK, "-C", self.conf_path, *args]

    def server_argv(self) -> list[str]:
        # -f: stay in the foreground; never -c, whose console spins at ~45 % CPU on a /dev/null stdin.
        return ["chroot", str(self.root), ASTERISK, "-f", "-C", self.conf_path]

    def pids(self) -> list[int]:
        """Server processes of this instance (remote consoles excluded), found through /proc."""
        found = []
        root = str(self.root)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    argv = handle.read().decode(errors="replace").split("\0")
                if not argv or not argv[0].endswith("asterisk"):
                    continue
                if os.readlink(f"/proc/{entry}/root") != root or _is_zombie(int(entry)):
                    continue
            except OSError:
                continue
            if self.conf_path in argv and not REMOTE_FLAGS.intersection(argv):
                found.append(int(entry))
        return found

    def is_running(self) -> bool:
        return bool(self.pids())

    def ari_info(self, *, timeout: float = 2.0) -> dict[str, Any]:
        """GET /ari/asterisk/info. Raises AsteriskError unless ARI answers 200 with JSON.

        Plain http.client: this is polled every 50 ms during start, and httpx would log each try.
        """
        credentials = base64.b64encode(f"{self.ari_username}:{self.ari_password}".encode()).decode()
        connection = http.client.HTTPConnection(self.bind_host, self.ari_port, timeout=timeout)
        try:
            connection.request("GET", "/ari/asterisk/info", headers={"Authorization": f"Basic {credentials}"})
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise AsteriskError(f"ARI {self.ari_url} unreachable: {exc}") from exc
        finally:
            connection.close()
        if response.status != 200:
            raise AsteriskError(f"ARI {self.ari_url} answered {response.status}")
        try:
            info: dict[str, Any] = json.loads(body)
        except ValueError as exc:
            raise AsteriskError(f"ARI {self.ari_url} answered no JSON") from exc
        return info

    def ari_ready(self, *, timeout: float = 1.0) -> bool:
        try:
            self.ari_info(timeout=timeout)
        except AsteriskError:
            return False
        return True

    def prepare(self) -> None:
        """Everything `start` and `run_foreground` need before Asterisk runs: chroot, folders, config."""
        ensure_root(self.root)
        self.write_config()

    def start(self, timeout: float = 30.0) -> float:
        """Start Asterisk detached and wait until ARI answers; returns the seconds that took.

        Idempotent: an instance already running with ARI up is left alone (it keeps its old config
        until restarted). Raises AsteriskError, with the end of its log, if it exits or ARI stays down.
        """
        started = time.monotonic()
        if self.is_running() and self.ari_ready():
            return 0.0
        self.prepare()
        if self.is_running():
            raise AsteriskError(
                f"instance {self.name} is running but its ARI ({self.ari_url}) does not answer with these "
                f"credentials; stop it first"
            )
        with open(self.console_log, "ab") as log:
            process = subprocess.Popen(  # noqa: S603
                self.server_argv(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives the command that started it, ignores its Ctrl-C
                close_fds=True,
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AsteriskError(f"asterisk exited with {process.returncode}\n{self.log_tail()}")
            if self.ari_ready():
                return time.monotonic() - started
            time.sleep(0.05)
        self.stop()
        raise AsteriskError(f"ARI did not answer on {self.ari_url} within {timeout:.0f} s\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the instance: `core stop now`, then SIGTERM, then SIGKILL. Idempotent."""
        pids = self.pids()
        if not pids:
            return
        # Its control socket may be gone already; the signals below still work then.
        with contextlib.suppress(AsteriskError):
            self.rx("core stop now", timeout=5.0)
        if self._wait_gone(pids, timeout / 2):
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            if self._wait_gone(pids, timeout / 4):
                return
        raise AsteriskError(f"asterisk {pids} of instance {self.name} did not stop")

    def _wait_gone(self, pids: list[int], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            for pid in pids:
                _reap(pid)
            if not any(os.path.exists(f"/proc/{pid}") and not _is_zombie(pid) for pid in pids):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def rx(self, command: str, *, timeout: float = 10.0) -> str:
        """Run one CLI command on the running instance (`asterisk -rx`) and return its output."""
        try:
            result = subprocess.run(  # noqa: S603
                self.command("-rx", command),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AsteriskError(f"`{command}` on instance {self.name} timed out") from exc
        output = result.stdout + result.stderr
        if result.returncode != 0 or "Unable to connect to remote asterisk" in output:
            raise AsteriskError(f"`{command}` on instance {self.name} failed: {output.strip()}")
        return result.stdout

    def run_foreground(self) -> None:
        """Prepare, then replace this process with Asterisk in the foreground (for a supervisor).

        SIGTERM from the supervisor then reaches Asterisk itself, which shuts down.
        """
        self.prepare()
        if self.is_running():
            raise AsteriskError(
                f"instance {self.name} is already running (pids {self.pids()}); stop it first"
            )
        argv = self.server_argv()
        os.execvp(argv[0], argv)  # noqa: S606

    def log_tail(self, lines: int = 30) -> str:
        parts = []
        for path in (self.console_log, self.messages_log):
            if path.is_file():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- end of {path}:\n" + "\n".join(tail))
        return "\n".join(parts) or "(no log written)"


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            # The state follows the parenthesised command name, which may itself contain spaces.
            return handle.read().rsplit(")", 1)[1].split()[0] in {"Z", "X"}
    except OSError:
        return False


def _reap(pid: int) -> None:
    """Collect an exited child started by this process, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


__all__ = ["AsteriskError", "AsteriskInstance", "AsteriskSetupError"]
