"""Bulk alerts end to end on real processes: `bulk_create` -> Celery (a real worker) -> the carrier
gateway (`manage.py carrier_gateway`) -> SMPP -> the SMSC sandbox, and back with delivery receipts;
a Celery worker killed with SIGKILL in the middle of a bulk; the connector's rate honoured."""

from collections import Counter
from datetime import datetime

import pytest

from config.celery import app as celery_app
from conversations.models import Item
from messaging.bulk import services as bulk_services
from messaging.bulk.services import bulk_create
from messaging.models import Bulk, ConsentState, Message
from tests.live import celery_worker
from tests.messaging.conftest import RECIPIENT, Live, gateway_process, smpp_connector
from tests.messaging.smsc import Smsc

pytestmark = pytest.mark.e2e

BODY = "Lincoln High: a water main broke, school closes at 11:00 today. Buses leave at 11:15."
PRESCRIPTION = "Your prescription is ready for pick-up"
THREAT = "Water main break flooding the ground floor; building unsafe after 11:00 (facilities, 08:40)"


@pytest.fixture
def purged_queue() -> None:
    """Earlier in-process tests queued tasks nobody ran: drop them."""
    celery_app.control.purge()


def families(n: int) -> list[str]:
    return [f"+1415555{i:04d}" for i in range(n)]


def send(live: Live, recipients: list[str]) -> Bulk:
    return bulk_create(
        account=live.tenant.account,
        from_=live.number,
        body=BODY,
        recipients=recipients,
        message_class="emergency",
        threat_basis=THREAT,
        actor="user:principal@lincoln.example",
    )


def current(live: Live, bulk: Bulk) -> Bulk:
    with live.db():
        return Bulk.objects.get(id=bulk.id)


def wait_completed(live: Live, bulk: Bulk, *, delivered: int, timeout: float = 180) -> Bulk:
    """The bulk completed and `delivered` receipts are in."""
    return live.wait_for(
        lambda: (b := current(live, bulk)).status == "completed" and b.num_delivered == delivered and b,
        f"bulk completed with {delivered} delivered (now {current(live, bulk).__dict__})",
        timeout=timeout,
    )


def in_threads(live: Live, bulk: Bulk) -> int:
    """How many of the bulk's texts are in their recipients' conversations (a Celery task's work)."""
    with live.db():
        return Item.objects.filter(message__bulk=bulk).count()


def destinations(smsc: Smsc) -> Counter[str]:
    return Counter("+" + s["destination_addr"] for s in smsc.accepted())


def test_an_alert_to_2000_families_reaches_each_once_and_skips_who_opted_out(
    live: Live, smsc: Smsc, purged_queue: None
) -> None:
    smpp_connector(smsc)
    unique = families(2000)
    opted_out = unique[1234]
    with live.db():
        ConsentState.objects.create(
            account=live.tenant.account, sender=live.number, recipient=opted_out, is_opted_out=True
        )
    # Both parents of 25 students gave the same number, one spelled another way; two entries are junk.
    given = [*unique, *unique[:20], *(f"+1 (415) 555-{n[-4:]}" for n in unique[20:25]), "911", "n/a"]

    bulk = send(live, given)
    with gateway_process(), celery_worker():
        done = wait_completed(live, bulk, delivered=1999)
        live.wait_for(
            lambda: in_threads(live, bulk) == 1999, "the alert in every family's thread", timeout=60
        )

    sent = destinations(smsc)
    assert set(sent) == set(unique) - {opted_out}
    assert set(sent.values()) == {1}, sent.most_common(3)  # nobody twice
    assert {s["text"] for s in smsc.accepted()} == {BODY}
    counts = (
        done.num_requested,
        done.num_messages,
        done.num_duplicates,
        done.num_invalid,
        done.num_opted_out,
    )
    assert counts == (2027, 1999, 25, 2, 1)
    assert (done.num_queued, done.num_sent, done.num_failed) == (0, 0, 0)
    assert smsc.stats()["dlr_acked"] == 1999
    with live.db():
        assert Counter(Message.objects.filter(bulk=bulk).values_list("status", flat=True)) == {
            "delivered": 1999
        }
        assert not Message.objects.filter(to_number=opted_out).exists()


def test_a_celery_worker_killed_mid_bulk_loses_and_repeats_nothing(
    live: Live, smsc: Smsc, purged_queue: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    smpp_connector(smsc)
    monkeypatch.setattr(bulk_services, "CHUNK_SIZE", 50)  # 40 send tasks wait in the Celery queue
    recipients = families(2000)
    bulk = send(live, recipients)

    def handed_over() -> int:
        with live.db():
            return Message.objects.filter(bulk=bulk, handed_over_at__isnull=False).count()

    # A long stale interval, so the gateway's sweep does not hand the bulk over before the workers do.
    with gateway_process(stale_seconds=20):
        with celery_worker() as worker:
            live.wait_for(lambda: handed_over() >= 300, "the first chunks handed over")
            worker.kill()  # SIGKILL, in the middle of the bulk
            worker.wait()
        at_kill = handed_over()
        assert at_kill < len(recipients), "the worker finished before it was killed: nothing was tested"
        with celery_worker():  # the rest of the queue; the chunk killed mid-run is the sweep's
            wait_completed(live, bulk, delivered=len(recipients))

    sent = destinations(smsc)
    assert set(sent) == set(recipients)  # none missing
    assert set(sent.values()) == {1}, sent.most_common(3)  # none twice
    assert smsc.stats()["accepted"] == len(recipients)


def test_a_bulk_goes_no_faster_than_its_connection_allows(live: Live, smsc: Smsc, purged_queue: None) -> None:
    smpp_connector(smsc, max_per_second=100)
    bulk = send(live, families(400))
    with gateway_process(), celery_worker():
        wait_completed(live, bulk, delivered=400)

    times = sorted(datetime.fromisoformat(s["received_at"].replace("Z", "+00:00")) for s in smsc.accepted())
    rate = (len(times) - 1) / (times[-1] - times[0]).total_seconds()
    # The connector's token bucket lets a tenth of a second's worth through at once, no more.
    assert rate <= 100 * 1.1, rate


def test_a_message_sent_during_a_bulk_does_not_wait_for_all_of_it(
    live: Live, smsc: Smsc, purged_queue: None
) -> None:
    smpp_connector(smsc, max_per_second=300)
    bulk = send(live, families(3000))
    with gateway_process(), celery_worker():
        live.wait_for(lambda: smsc.stats()["accepted"] >= 300, "the bulk under way")
        single = live.send(PRESCRIPTION, to=RECIPIENT)
        live.wait(single.sid, "sent", "delivered", timeout=60)
        wait_completed(live, bulk, delivered=3000)

    texts = [s["text"] for s in smsc.accepted()]
    after = len(texts) - 1 - texts.index(PRESCRIPTION)
    # It waited behind what the connector already held (its queue takes 1,000) and a batch of the
    # bulk, not behind the 2,700 bulk messages still waiting when it was sent (messaging/streams.py:
    # a bulk's messages have their own stream); with one stream it would be the last.
    assert after >= 300, after
