"""Sending end to end on real processes: the official SDK -> the ASGI server -> Celery (a real worker)
-> the carrier gateway (`manage.py carrier_gateway`) -> SMPP -> the SMSC sandbox, and back with
delivery receipts and signed status callbacks; then crashes: a Celery worker killed mid-burst, the
gateway stopped and killed mid-burst. First, the hand-over itself in-process."""

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings

from config.celery import app as celery_app
from messaging import streams
from messaging.create import MessageDraft, message_create
from messaging.handover import message_claim, message_send
from messaging.models import Connector, Message
from tests.conftest import TwilioClient
from tests.live import celery_worker
from tests.messaging.conftest import RECIPIENT, SENDER, GatewayProcess, Live, gateway_process, smpp_connector
from tests.messaging.smsc import Smsc, SmscFactory
from tests.numbering.test_twilio_sdk import sdk
from tests.voice.twiml_app import TwimlApp
from voice.models import Call

# The hand-over (in-process, rolled back) --------------------------------------------------------


@pytest.fixture
def default_connector(db: None) -> Connector:
    Connector.objects.filter(is_default=True).update(is_default=False)
    return Connector.objects.create(name="pipeline-default", kind=Connector.Kind.SMPP, is_default=True)


def test_the_send_task_hands_the_message_to_its_connectors_stream(
    api_a: TwilioClient, sender: Any, default_connector: Connector, django_capture_on_commit_callbacks: Any
) -> None:
    key = streams.stream_key(default_connector.name)
    streams.client().delete(key)
    message = message_create(
        account=api_a.tenant.account,
        draft=MessageDraft(to=RECIPIENT, from_=SENDER, body="Hi there", actor="test"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        message_send(account_id=message.account_id, message_ids=[message.id])
        message_send(account_id=message.account_id, message_ids=[message.id])  # redelivered
    entries = streams.client().xrange(key)
    assert len(entries) == 2  # handing over twice is harmless: the gateway claims once
    assert entries[0][1] == {
        "sid": message.sid,
        "account": str(message.account_id),
        "from": SENDER,
        "to": RECIPIENT,
        "body": "Hi there",
        "validity": entries[0][1]["validity"],
    }
    assert 35990 <= int(entries[0][1]["validity"]) <= 36000
    refreshed = Message.objects.get(id=message.id)
    assert (refreshed.status, refreshed.connector) == ("queued", default_connector.name)
    assert refreshed.handed_over_at is not None
    streams.client().delete(key)


def test_without_an_enabled_connector_a_message_waits_queued(
    api_a: TwilioClient, sender: Any, default_connector: Connector, django_capture_on_commit_callbacks: Any
) -> None:
    default_connector.is_enabled = False
    default_connector.save()
    message = message_create(
        account=api_a.tenant.account,
        draft=MessageDraft(to=RECIPIENT, from_=SENDER, body="later", actor="test"),
    )
    with django_capture_on_commit_callbacks(execute=True) as published:
        message_send(account_id=message.account_id, message_ids=[message.id])
    refreshed = Message.objects.get(id=message.id)
    assert (refreshed.status, refreshed.connector) == ("queued", "")
    assert refreshed.handed_over_at is not None  # the sweep's clock: tried again once stale
    assert len(published) == 1 and streams.client().xlen(streams.stream_key(default_connector.name)) == 0


def test_media_travel_as_links_after_the_body(
    api_a: TwilioClient, sender: Any, default_connector: Connector
) -> None:
    message = message_create(
        account=api_a.tenant.account,
        draft=MessageDraft(
            to=RECIPIENT,
            from_=SENDER,
            body="Your report",
            media_urls=["https://example.com/r.pdf"],
            actor="test",
        ),
    )
    message_send(account_id=message.account_id, message_ids=[message.id])
    Message.objects.filter(id=message.id).update(connector=default_connector.name)
    claimed = message_claim(account_id=message.account_id, message_ids=[message.id], gateway="gw")
    assert [c.sms.body for c in claimed] == ["Your report\nhttps://example.com/r.pdf"]
    assert Message.objects.get(id=message.id).num_segments == 1


def queued_send_tasks() -> list[list[Any]]:
    """The arguments of every `messaging.message_send` task waiting in the test queue (Celery's
    message protocol 2 on Redis: a JSON envelope whose body is base64 of [args, kwargs, embed])."""
    found = []
    for raw in streams.client().lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1):
        envelope = json.loads(raw)
        if envelope["headers"]["task"] == "messaging.message_send":
            found.append(json.loads(base64.b64decode(envelope["body"]))[0])
    return found


def test_messages_created_together_share_one_send_task(
    api_a: TwilioClient, sender: Any, django_capture_on_commit_callbacks: Any
) -> None:
    celery_app.control.purge()
    account = api_a.tenant.account
    with django_capture_on_commit_callbacks(execute=True):  # one commit for all of them
        created = [
            message_create(
                account=account,
                draft=MessageDraft(to=RECIPIENT, from_=SENDER, body=f"m{i}", actor="test"),
            )
            for i in range(12)
        ]
    wanted = sorted(str(m.id) for m in created)
    deadline = time.monotonic() + 5
    while sorted(i for _, ids in queued_send_tasks() for i in ids) != wanted:
        assert time.monotonic() < deadline, queued_send_tasks()
        time.sleep(0.01)
    tasks = queued_send_tasks()
    assert {account_id for account_id, _ in tasks} == {str(account.id)}
    assert len(tasks) < len(created)  # one, unless this process was held up for longer than the window
    celery_app.control.purge()


# End to end on real processes --------------------------------------------------------------------


@pytest.fixture
def purged_queue() -> None:
    """Earlier in-process tests queued tasks nobody ran (status callbacks to nowhere): drop them."""
    celery_app.control.purge()


@pytest.fixture
def app() -> Iterator[TwimlApp]:
    with TwimlApp() as running:
        running.routes["/status"] = lambda form: (200, "text/plain", b"")
        yield running


def create_many(server: str, live: Live, bodies: list[str]) -> list[str]:
    """POST Messages.json once per body (plain HTTP: faster than the SDK for a burst)."""
    url = f"{server}/2010-04-01/Accounts/{live.tenant.sid}/Messages.json"
    with httpx.Client(auth=(live.tenant.sid, live.tenant.token), timeout=10) as client:
        sids = []
        for body in bodies:
            response = client.post(url, data={"To": RECIPIENT, "From": live.number, "Body": body})
            assert response.status_code == 201, response.text
            sids.append(response.json()["sid"])
    return sids


def wait_all(live: Live, sids: list[str], status: str = "delivered", timeout: float = 60) -> None:
    live.wait_for(
        lambda: len(live.messages(status=status, id__in=[s[2:] for s in sids])) == len(sids),
        f"{len(sids)} messages {status}: have {Counter(m.status for m in live.messages())}",
        timeout=timeout,
    )


@pytest.mark.e2e
def test_an_api_message_reaches_the_carrier_once_with_signed_callbacks_in_order(
    server: str, live: Live, smsc: Smsc, app: TwimlApp, purged_queue: None
) -> None:
    smpp_connector(smsc)
    with celery_worker(), gateway_process():
        client = sdk(server, live.tenant.sid, live.tenant.token)
        sent = client.messages.create(
            to=RECIPIENT,
            from_=live.number,
            body="Your appointment is confirmed",
            status_callback=f"{app.url}/status",
        )
        hits = app.wait_for("/status", 4, timeout=30)
        assert client.messages(sent.sid).fetch().status == "delivered"
    assert [h.form["MessageStatus"] for h in hits] == ["queued", "sending", "sent", "delivered"]
    assert all(h.form["MessageSid"] == h.form["SmsSid"] == sent.sid for h in hits)
    assert all(app.is_signed(h, live.tenant.token) for h in hits)
    assert {h.form["AccountSid"] for h in hits} == {live.tenant.sid}
    (submission,) = smsc.accepted()
    assert submission["text"] == "Your appointment is confirmed"
    assert submission["destination_addr"] == RECIPIENT.lstrip("+")
    assert smsc.stats()["dlr_acked"] == 1


@pytest.mark.e2e
def test_a_celery_worker_killed_mid_burst_loses_and_duplicates_nothing(
    server: str, live: Live, smsc: Smsc, purged_queue: None
) -> None:
    smpp_connector(smsc)
    bodies = [f"alert {i:03d}" for i in range(150)]
    sids = create_many(server, live, bodies)  # 150 send tasks wait in the Celery queue
    # A long stale interval, so the sweep does not hand the burst over before the worker does.
    with gateway_process(stale_seconds=20):
        with celery_worker() as worker:
            live.wait_for(lambda: smsc.stats()["accepted"] >= 10, "the first sends")
            worker.kill()  # SIGKILL in the middle of the burst
            worker.wait()
        assert smsc.stats()["accepted"] < len(bodies)
        with celery_worker():  # the rest of the queue; the task killed mid-run is the sweep's
            wait_all(live, sids)
    counts = Counter(s["text"] for s in smsc.accepted())
    assert set(counts) == set(bodies) and set(counts.values()) == {1}, counts.most_common(3)


def restart_mid_burst(
    server: str, live: Live, smsc: Smsc, bodies: list[str], *, crash: bool
) -> GatewayProcess:
    """Queue `bodies`, let a gateway submit some, stop it (SIGTERM) or kill it, start it again."""
    sids = create_many(server, live, bodies)
    gateway = GatewayProcess(max_unrecorded=10)
    with celery_worker():
        live.wait_for(
            lambda: len(live.messages(connector="smsc")) == len(bodies), "every message handed over"
        )
        gateway.start()
        try:
            live.wait_for(lambda: smsc.stats()["accepted"] >= 20, "the first sends")
            if crash:
                gateway.kill()
            else:
                assert gateway.terminate() == 0
            assert smsc.stats()["accepted"] < len(bodies)
            gateway.start()  # the same name: it resubmits what it left in sending
            wait_all(live, sids, timeout=120)  # a loaded 2-core CI box writes the outcomes slowly
        finally:
            gateway.stop()
    assert "resubmitting" in gateway.log_path.read_text()
    return gateway


@pytest.mark.e2e
def test_a_gateway_stopped_mid_burst_loses_and_duplicates_nothing(
    server: str, live: Live, smsc_factory: SmscFactory, purged_queue: None
) -> None:
    smsc = smsc_factory(submit_delay_ms=200)  # with a window of 10: 50 messages a second
    smpp_connector(smsc)
    bodies = [f"newsletter {i:03d}" for i in range(150)]
    restart_mid_burst(server, live, smsc, bodies, crash=False)
    counts = Counter(s["text"] for s in smsc.accepted())
    assert set(counts) == set(bodies) and set(counts.values()) == {1}, counts.most_common(3)


@pytest.mark.e2e
def test_a_gateway_killed_mid_burst_loses_nothing_and_repeats_a_bounded_few(
    server: str, live: Live, smsc_factory: SmscFactory, purged_queue: None
) -> None:
    smsc = smsc_factory(submit_delay_ms=200)
    row = smpp_connector(smsc)
    bodies = [f"reminder {i:03d}" for i in range(150)]
    restart_mid_burst(server, live, smsc, bodies, crash=True)  # SIGKILL: the at-least-once window
    counts = Counter(s["text"] for s in smsc.accepted())
    assert set(counts) == set(bodies)
    # Repeated at most: what was in flight (the window). What was answered but not yet written when
    # the gateway died is in its journal, and recorded rather than submitted again.
    assert sum(n - 1 for n in counts.values()) <= row.window


def test_a_text_sent_from_a_call_keeps_its_call(api_a: TwilioClient, sender: Any) -> None:
    """What the <Sms> verb does: the caller gets a text from the number they called."""
    call = Call.objects.create(
        account=api_a.tenant.account, direction="inbound", from_number=RECIPIENT, to_number=SENDER
    )
    message = message_create(
        account=api_a.tenant.account,
        draft=MessageDraft(
            to=call.from_number,
            from_=call.to_number,
            body="Here is the link we talked about",
            direction=Message.Direction.OUTBOUND_CALL,
            call=call,
            actor=f"call:{call.sid}",
        ),
    )
    assert (message.call_id, message.phone_number_id) == (call.id, sender.id)
    shown = api_a.get(f"/2010-04-01/Accounts/{api_a.tenant.sid}/Messages/{message.sid}.json").json()
    assert (shown["direction"], shown["to"], shown["from"]) == ("outbound-call", RECIPIENT, SENDER)
