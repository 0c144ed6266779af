"""bench/chaos's voice cases: live calls through an Asterisk restart, and through 30 s in which the
ARI worker's connection to Asterisk carries nothing.

Its own Asterisk instance (`chaos`, SIP 5086, ARI 8116), one ARI worker process as the Procfile runs
it, and the tenant's app in this process answering every call with a long `<Pause>`. sipp places
the calls (tests/voice/sipp.py) and waits for Asterisk's BYE. The ARI connection runs through a TCP
gate in this process, which can stop carrying bytes both ways while keeping every socket open: what a
stuck network or a full socket buffer looks like to both ends.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.chaos import VENV_BIN, Process, Row, Tenant

INSTANCE = "chaos"
SIP_PORT = 5086
ARI_PORT = 8116
RTP_RANGE = (34000, 34999)
NUMBER = "+12065550190"
ASTERISK_CALLS = 50
SETTLE_S = 60.0  # the bound: no call may still be live this long after the fault
BLOCKED_CALLS, NEW_CALLS, BLOCK_S = 30, 20, 30.0


class App:
    """The tenant's voice app: each call pauses for two minutes; every /voice request is kept."""

    def __init__(self) -> None:
        self.call_sids: list[str] = []
        self.hit_at: list[float] = []  # monotonic time of each call's first request
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                form = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                sid = next((p[8:] for p in form.split("&") if p.startswith("CallSid=")), "")
                app.call_sids.append(sid)
                app.hit_at.append(time.monotonic())
                body = b'<Response><Pause length="120"/></Response>'
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_calls(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.call_sids) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"the app saw {len(self.call_sids)} calls, not {count}")
            time.sleep(0.1)


class Gate:
    """A TCP relay to `target` that `block()` stops: no byte moves either way and new connections
    wait, until `unblock()`; sockets stay open meanwhile."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.open = threading.Event()
        self.open.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def block(self) -> None:
        self.open.clear()

    def unblock(self) -> None:
        self.open.set()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        self.open.wait()
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                self.open.wait()
                data = source.recv(65536)
                self.open.wait()
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def instance() -> Any:
    from mediaserver.asterisk import AsteriskInstance, default_root, ensure_root

    asterisk = AsteriskInstance(
        name=INSTANCE, root=default_root(), sip_port=SIP_PORT, ari_port=ARI_PORT,
        rtp_start=RTP_RANGE[0], rtp_end=RTP_RANGE[1], ari_username="switchboard-chaos",
        ari_password=secrets.token_urlsafe(16), ari_app="switchboard-chaos",
        trunk_uri="sip:127.0.0.1:5098",
    )  # fmt: skip
    ensure_root(asterisk.root)
    asterisk.stop()  # one left by an interrupted run has another password
    asterisk.start(timeout=60)
    return asterisk


def media_server(asterisk: Any, ari_port: int) -> None:
    from voice.models import MediaServer

    server, _ = MediaServer.objects.update_or_create(
        name=INSTANCE,
        defaults={
            "ari_url": f"http://127.0.0.1:{ari_port}/ari", "ari_username": asterisk.ari_username,
            "ari_app": asterisk.ari_app, "worker_processes": 1, "sip_host": "127.0.0.1",
            "sip_port": asterisk.sip_port, "trunk_uri": asterisk.trunk_uri,
            "sounds_dir": str(asterisk.sounds_dir), "is_enabled": True, "ari_password_encrypted": "",
        },
    )  # fmt: skip
    server.set_ari_password(asterisk.ari_password)
    server.save()


def give_number(tenant: Tenant, app: App) -> None:
    from core.tenancy import tenant_scope
    from numbering.services import number_create

    with tenant_scope(tenant.account.id):
        number_create(
            account=tenant.account, actor="bench:chaos", phone_number=NUMBER,
            voice_url=f"http://127.0.0.1:{app.port}/voice",
        )  # fmt: skip


def ari_worker(out: Path, app: App) -> Process:
    import os

    os.environ["SWITCHBOARD_EGRESS_ALLOW"] = f"127.0.0.1:{app.port}"  # the app, and nothing else local
    command = [str(VENV_BIN / "python"), "manage.py", "ari_worker", "--server", INSTANCE]
    return Process("ari", command, "ARI events connected", out)


def calls(tenant: Tenant) -> list[Any]:
    from core.tenancy import tenant_scope
    from voice.models import Call

    with tenant_scope(tenant.account.id):
        return list(Call.objects.filter(direction=Call.Direction.INBOUND))


def live_calls(tenant: Tenant) -> int:
    from voice.models import Call

    return sum(call.status not in Call.ENDED for call in calls(tenant))


def place(asterisk: Any, out: Path, count: int, rate: float, name: str) -> Any:
    from tests.voice import sipp

    return sipp.start_uac(
        asterisk.sip_address, NUMBER, workdir=out / name, calls=count, rate_per_s=rate, timeout_s=180
    )


def wait_until(predicate: Any, timeout: float) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            return float("nan")
        time.sleep(0.2)
    return time.monotonic() - started


@contextmanager
def voice_lab(out: Path, tenant: Tenant, *, gated: bool) -> Iterator[tuple[Any, App, Gate | None, Process]]:
    from bench.messaging import close_connections

    out.mkdir(parents=True, exist_ok=True)
    asterisk = instance()
    app = App()
    gate = Gate(("127.0.0.1", ARI_PORT)) if gated else None
    media_server(asterisk, gate.port if gate else ARI_PORT)
    give_number(tenant, app)
    close_connections()
    worker = ari_worker(out, app)
    worker.start()
    try:
        yield asterisk, app, gate, worker
    finally:
        if gate is not None:
            gate.unblock()
        worker.stop()
        asterisk.stop()
        app.server.shutdown()
        _release_number(tenant)


def _release_number(tenant: Tenant) -> None:
    from core.tenancy import tenant_scope
    from numbering.models import IncomingPhoneNumber

    with tenant_scope(tenant.account.id):
        IncomingPhoneNumber.objects.filter(phone_number=NUMBER).delete()


def case_asterisk(args: Any, tenant: Tenant) -> Row:
    out = args.out / "asterisk"
    with voice_lab(out, tenant, gated=False) as (asterisk, app, _, _worker):
        print(f"asterisk: {ASTERISK_CALLS} calls up, then Asterisk restarts", flush=True)
        caller = place(asterisk, out, ASTERISK_CALLS, 10, "uac")
        app.wait_calls(ASTERISK_CALLS)
        time.sleep(1)
        stopped = time.monotonic()
        asterisk.stop()
        asterisk.start(timeout=60)
        back = time.monotonic() - stopped
        wait_until(lambda: live_calls(tenant) == 0, SETTLE_S - back)
        settled = time.monotonic() - stopped
        caller.stop()
    recorded = calls(tenant)
    row = Row("asterisk", "Asterisk restarted", f"{ASTERISK_CALLS} live calls")
    row.lost = ASTERISK_CALLS - len(recorded)
    left = sum(call.status not in type(call).ENDED for call in recorded)
    row.recovery = f"{left} left active after {SETTLE_S:.0f} s (all ended {settled:.1f} s after the stop)"
    row.notes.append(f"ARI answered again {back:.1f} s after the stop; {len(recorded)} calls recorded")
    return row


def case_ari(args: Any, tenant: Tenant) -> Row:
    out = args.out / "ari"
    with voice_lab(out, tenant, gated=True) as (asterisk, app, gate, _worker):
        assert gate is not None
        what = f"{BLOCKED_CALLS} calls up; ARI blocked {BLOCK_S:g} s; {NEW_CALLS} calls meanwhile"
        print(f"ari: {what}", flush=True)
        up = place(asterisk, out, BLOCKED_CALLS, 10, "up")
        app.wait_calls(BLOCKED_CALLS)
        first = set(app.call_sids)
        gate.block()
        blocked_at = time.monotonic()
        new = place(asterisk, out, NEW_CALLS, 1, "new")
        time.sleep(max(0.0, blocked_at + BLOCK_S - time.monotonic()))
        gate.unblock()
        unblocked_at = time.monotonic()
        time.sleep(10)
        still_up = live_calls(tenant)
        answered_new = len(set(app.call_sids) - first)
        reached = [at - unblocked_at for at in app.hit_at[len(first) :]]
        new.stop()
        up.stop()
    work = f"{BLOCKED_CALLS} calls up + {NEW_CALLS} arriving"
    row = Row("ari", f"ARI connection blocked {BLOCK_S:g} s", work)
    row.recovery = (
        f"{still_up} of the calls live 10 s after; {answered_new}/{NEW_CALLS} new calls reached the app"
    )
    row.notes.append(
        "the new callers rang while the connection was stuck; their calls reached the app "
        + (f"{min(reached):.1f}-{max(reached):.1f} s after it moved again" if reached else "never")
    )
    return row
