"""Live progress over the websocket of a real uvicorn server (tests/live.py), on committed data and
real PostgreSQL NOTIFY: pushed on connect and as the messages move, a few times a second at most
with the last change never lost; who may subscribe (session, tenant, role, two-factor, origin);
closed when the session expires."""

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client
from django.utils import timezone
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from core.tenancy import tenant_activate
from messaging.bulk.events import UPDATES_PER_SECOND
from messaging.bulk.services import bulk_create
from messaging.handover import message_claim
from messaging.models import Bulk, Message
from messaging.receipts import SubmitOutcome, messages_submit_outcomes
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.conftest import make_tenant
from tests.messaging.conftest import Live
from tests.messaging.test_bulk import BODY, THREAT, students

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_stray_tasks")]

PASSWORD = "pw-123456789"


def session_of(live: Live, role: Role, email: str, account: Any = None) -> str:
    """A committed portal user of the account, signed in; their session cookie."""
    account = account or live.tenant.account
    with transaction.atomic():
        tenant_activate(account.id)
        membership_add(
            account=account, user=user_create(email=email, password=PASSWORD), role=role, actor="t"
        )
    client = Client()
    assert client.post("/login/", {"email": email, "password": PASSWORD}).status_code == 302
    return client.cookies["sessionid"].value


def make_bulk(live: Live, n: int) -> Bulk:
    return bulk_create(
        account=live.tenant.account,
        from_=live.number,
        body=BODY,
        recipients=students(n),
        message_class="emergency",
        threat_basis=THREAT,
        actor="test",
    )


def socket(server: str, sid: str, cookie: str | None, origin: str = "") -> ClientConnection:
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    return connect(
        f"{server.replace('http', 'ws')}/ws/bulks/{sid}/",
        origin=origin or server,  # type: ignore[arg-type]
        additional_headers=headers,
        open_timeout=10,
    )


def receive(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))  # type: ignore[no-any-return]


def receive_until(ws: ClientConnection, done: Any, timeout: float = 10) -> list[dict[str, Any]]:
    """Messages until one satisfies `done` (an update may repeat counts already shown: after the
    listener's LISTEN takes effect every watcher is sent the counts once more)."""
    seen = [receive(ws, timeout)]
    while not done(seen[-1]):
        seen.append(receive(ws, timeout))
    return seen


def move(live: Live, bulk: Bulk, count: int, *, answer: bool) -> None:
    """As a gateway would: claim `count` more of the bulk's messages (one transaction), then, with
    `answer`, record the carrier's acceptance of every message claimed so far (another)."""
    with live.db():
        queued = Message.objects.filter(bulk=bulk, status="queued").order_by("to_number")
        ids = list(queued.values_list("id", flat=True)[:count])
    message_claim(account_id=bulk.account_id, message_ids=ids, gateway="gw")
    if answer:
        with live.db():
            sids = [m.sid for m in Message.objects.filter(bulk=bulk, status="sending")]
        messages_submit_outcomes(
            account_id=bulk.account_id,
            connector="c",
            outcomes=[SubmitOutcome(sid, (f"id-{sid}",)) for sid in sids],
        )


def test_progress_is_pushed_on_connect_and_as_the_messages_move(server: str, live: Live) -> None:
    cookie = session_of(live, Role.SUPERVISOR, "supervisor@progress.example")
    bulk = make_bulk(live, 6)

    with socket(server, bulk.sid, cookie) as ws:
        first = receive(ws)
        move(live, bulk, 2, answer=True)
        answered = receive_until(ws, lambda p: p["num_sent"] == 2)
        move(live, bulk, 4, answer=True)
        done = receive_until(ws, lambda p: p["percent"] == 100)

    assert first == {
        "sid": bulk.sid,
        "status": "sending",
        "num_messages": 6,
        "num_queued": 6,
        "num_sent": 0,
        "num_delivered": 0,
        "num_undelivered": 0,
        "num_failed": 0,
        "num_canceled": 0,
        "num_done": 0,
        "percent": 0,
    }
    assert (answered[-1]["num_queued"], answered[-1]["num_done"], answered[-1]["percent"]) == (4, 2, 33)
    assert (done[-1]["status"], done[-1]["num_sent"], done[-1]["num_done"]) == ("completed", 6, 6)


def test_updates_come_a_few_times_a_second_and_the_last_change_is_never_lost(server: str, live: Live) -> None:
    cookie = session_of(live, Role.SUPERVISOR, "supervisor@throttle.example")
    bulk = make_bulk(live, 40)

    with socket(server, bulk.sid, cookie) as ws:
        receive(ws)
        time.sleep(1)  # the listener is listening
        started = time.monotonic()
        for _ in range(40):  # forty messages, each claimed and answered in transactions of its own
            move(live, bulk, 1, answer=True)
        elapsed = time.monotonic() - started
        seen = receive_until(ws, lambda p: p["num_sent"] == 40)

    assert len(seen) <= elapsed * UPDATES_PER_SECOND + 3, (len(seen), elapsed)
    assert [p["num_sent"] for p in seen] == sorted(p["num_sent"] for p in seen)


def test_only_members_who_may_see_the_bulk_subscribe(server: str, live: Live) -> None:
    bulk = make_bulk(live, 2)
    auditor = session_of(live, Role.AUDITOR, "auditor@subscribe.example")
    agent = session_of(live, Role.AGENT, "agent@subscribe.example")
    owner = session_of(
        live, Role.OWNER, "owner@subscribe.example"
    )  # no two-factor yet: the portal says enrol
    other = make_tenant("Other school")
    outsider = session_of(live, Role.SUPERVISOR, "supervisor@other.example", account=other.account)

    def connects(cookie: str | None, origin: str = "", sid: str = bulk.sid) -> bool:
        try:
            with socket(server, sid, cookie, origin) as ws:
                receive(ws)
                return True
        except (InvalidStatus, ConnectionClosed):
            return False

    assert connects(auditor)
    assert not connects(auditor, origin="https://evil.example")
    assert not connects(auditor, sid="BK" + "0" * 32)
    assert not connects(None)
    assert not connects(agent)
    assert not connects(owner)
    assert not connects(outsider)


def test_the_socket_closes_when_the_session_expires(server: str, live: Live) -> None:
    cookie = session_of(live, Role.SUPERVISOR, "supervisor@expiry.example")
    bulk = make_bulk(live, 1)
    Session.objects.filter(session_key=cookie).update(expire_date=timezone.now() + timedelta(seconds=2))

    with socket(server, bulk.sid, cookie) as ws:
        receive(ws)
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # the counts again once the listener listens, then the close
                receive(ws, timeout=6)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
