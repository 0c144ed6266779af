"""Fixtures for messaging tests: a tenant number to send from; and `Live`, committed data for tests
whose other half (the carrier gateway, Celery, the ASGI server) runs in other threads or processes.
The SMPP carrier sandbox fixtures `smsc` and `smsc_factory` (tests/messaging/smsc.py) are a plugin of
the root conftest, so voice tests can text through it too."""

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from core.tenancy import tenant_activate, tenant_scope
from messaging import streams
from messaging.create import MessageDraft, message_create
from messaging.gateway import CarrierGateway, connector_factory
from messaging.models import Connector, Message
from monitor.models import WebhookDelivery
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.conftest import Tenant, make_tenant
from tests.live import DIE_WITH_PYTEST, ROOT, process_env
from tests.messaging.smsc import Smsc
from tests.voice.twiml_app import TwimlApp

SENDER = "+15017122661"
RECIPIENT = "+14155550123"
_numbers = itertools.count(100)  # committed numbers are global: each live test takes new ones


@pytest.fixture
def sender(tenant_a: Tenant) -> IncomingPhoneNumber:
    """Tenant A's number, inside the test's transaction (which is scoped to tenant A)."""
    tenant_activate(tenant_a.account.id)
    return number_create(account=tenant_a.account, actor="test", phone_number=SENDER)


def new_number() -> str:
    return f"+1646555{next(_numbers):04d}"


@dataclass
class Live:
    """A committed tenant with a number of its own, and helpers to send and to look."""

    tenant: Tenant
    number: str

    @contextmanager
    def db(self) -> Iterator[None]:
        with tenant_scope(self.tenant.account.id):
            yield

    def give_number(self, **settings: Any) -> IncomingPhoneNumber:
        with self.db():
            return number_create(
                account=self.tenant.account, actor="test", phone_number=new_number(), **settings
            )

    def send(self, body: str = "Hello", to: str = RECIPIENT, **options: Any) -> Message:
        options.setdefault("from_", self.number)
        with self.db():
            return message_create(
                account=self.tenant.account, draft=MessageDraft(to=to, body=body, actor="test", **options)
            )

    def get(self, sid: str) -> Message:
        with self.db():
            return Message.objects.get(id=sid[2:])

    def messages(self, **filters: Any) -> list[Message]:
        with self.db():
            return list(Message.objects.filter(**filters).order_by("date_created"))

    def wait(self, sid: str, *statuses: str, timeout: float = 20) -> Message:
        deadline = time.monotonic() + timeout
        while (message := self.get(sid)).status not in statuses:
            if time.monotonic() > deadline:
                pytest.fail(f"{sid} is {message.status} ({message.error_code}), not {statuses}")
            time.sleep(0.05)
        return message

    def wait_for(self, predicate: Callable[[], Any], what: str, timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while not (found := predicate()):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.05)
        return found

    def callbacks(self, sid: str) -> list[dict[str, str]]:
        """The status callbacks queued for a message, in order."""
        with self.db():
            deliveries = WebhookDelivery.objects.order_by("date_created", "id")
            return [d.params for d in deliveries if d.params.get("MessageSid") == sid]


def finish_unfinished_work() -> None:
    """End every tenant's unfinished messages (through the admin connection, as only a test may), so a
    gateway's sweep never sends another test's leftovers to this test's carrier."""
    messages = Message.objects.using("admin")
    messages.exclude(status__in=Message.FINAL).update(status=Message.Status.FAILED)
    messages.filter(is_webhook_pending=True).update(is_webhook_pending=False)


@pytest.fixture
def app() -> Iterator[TwimlApp]:
    """The tenant's app: a real HTTP server on loopback (tests/voice/twiml_app.py)."""
    with TwimlApp() as running:
        yield running


@pytest.fixture
def live(django_db_setup: None, django_db_blocker: Any) -> Iterator[Live]:
    """Unblocks the database for the whole test (other threads use it too)."""
    with django_db_blocker.unblock():
        finish_unfinished_work()
        tenant = make_tenant("Texting clinic")
        found = Live(tenant, "")
        found.number = found.give_number().phone_number
        yield found
        finish_unfinished_work()


def smpp_connector(
    running: Smsc, name: str = "smsc", *, is_default: bool = True, **settings: Any
) -> Connector:
    """A committed Connector row for a running SMSC, with an empty stream. Every setting not given is
    the model's default, whatever an earlier test set on a row of that name (a rate of 10 a second
    left by one test once made the next one's 2,000-message alert outlast its timeout)."""
    if is_default:
        Connector.objects.filter(is_default=True).exclude(name=name).update(is_default=False)
    defaults = {
        f.name: f.get_default()
        for f in Connector._meta.concrete_fields
        if f.has_default() and not f.primary_key
    }
    row, _ = Connector.objects.update_or_create(
        name=name,
        defaults={
            **defaults,
            "kind": Connector.Kind.SMPP,
            "host": running.host,
            "port": running.port,
            "system_id": running.system_id,
            "is_default": is_default,
            "is_enabled": True,
            **settings,
        },
    )
    row.set_password(running.password)
    row.save()
    streams.client().delete(*(streams.stream_key(name, lane) for lane in streams.LANES))
    return row


@contextmanager
def running_gateway(*rows: Connector, name: str = "gw-test", **options: Any) -> Iterator[CarrierGateway]:
    """The carrier gateway in this process (its threads), started on `rows` and shut down after."""
    options.setdefault("stale_seconds", 30)
    options.setdefault("sweep_seconds", 0.2)
    gateway = CarrierGateway(
        name=name, connectors={row.name: connector_factory(row) for row in rows}, **options
    )
    gateway.start()
    try:
        deadline = time.monotonic() + 10
        while not all(c.is_connected for c in gateway.connectors.values()):
            assert time.monotonic() < deadline, "the gateway's connectors did not bind"
            time.sleep(0.05)
        yield gateway
    finally:
        gateway.shutdown()


class GatewayProcess:
    """`manage.py carrier_gateway` as its own process, which a test may stop, kill and start again."""

    def __init__(
        self,
        name: str = "gw-e2e",
        *,
        stale_seconds: float = 3,
        sweep_seconds: float = 0.5,
        max_unrecorded: int = 50,
    ) -> None:
        self.max_unrecorded = max_unrecorded
        self.args = [
            sys.executable, "manage.py", "carrier_gateway", "--name", name,
            "--stale-seconds", str(stale_seconds), "--sweep-seconds", str(sweep_seconds),
            "--max-unrecorded", str(max_unrecorded),
        ]  # fmt: skip
        self.process: subprocess.Popen | None = None
        self.log_path = ROOT / ".data" / "test-gateway.log"

    def start(self) -> None:
        self.log_path = ROOT / ".data" / f"test-gateway-{os.getpid()}-{time.monotonic_ns()}.log"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=process_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=DIE_WITH_PYTEST,  # noqa: PLW1509
            )
        deadline = time.monotonic() + 30
        while (
            "ready with connectors" not in self.log_path.read_text()
            or "bound to" not in self.log_path.read_text()
        ):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the carrier gateway did not start; see {self.log_path}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as after a real crash."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, as the process manager stops it; returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def gateway_process(**options: Any) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(**options)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
