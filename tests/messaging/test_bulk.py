"""Bulk alerts in-process (rolled back): what `bulk_create` keeps and sets aside, its one audit entry,
the class rules, refused input, the chunked hand-over, the counts the trigger keeps as the carrier
gateway moves the messages, cancel, idempotency and tenant isolation. The real processes and the
SMSC are in test_bulk_e2e.py."""

from collections import Counter
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from compliance.chain import payload_digest
from compliance.models import AuditEntry
from conversations.models import Item
from conversations.tasks import conversation_log_messages_task
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.tenancy import tenant_activate
from messaging import streams
from messaging.bulk import services as bulk_services
from messaging.bulk.queueing import bulk_task
from messaging.bulk.services import bulk_cancel, bulk_create, recipients_normalize
from messaging.carriers.base import DeliveryReceipt
from messaging.handover import message_claim, message_send
from messaging.models import Bulk, Connector, ConsentState, Message
from messaging.receipts import SubmitOutcome, messages_receipts, messages_submit_outcomes
from messaging.tasks import message_send_task
from numbering.models import IncomingPhoneNumber
from tests.conftest import Tenant
from tests.messaging.conftest import SENDER

BODY = "Lincoln High is closed today: snow. Buses are not running. Stay safe."
THREAT = "National Weather Service blizzard warning for the district, 06:10"
STUDENT = "+14155550{:03d}"


def students(n: int, start: int = 100) -> list[str]:
    return [STUDENT.format(i) for i in range(start, start + n)]


def create(tenant: Tenant, recipients: list[str], **options: Any) -> Bulk:
    options.setdefault("message_class", Bulk.MessageClass.EMERGENCY)
    options.setdefault("threat_basis", THREAT)
    options.setdefault("body", BODY)
    options.setdefault("from_", SENDER)
    return bulk_create(
        account=tenant.account, recipients=recipients, actor="user:principal@school.example", **options
    )


def messages(bulk: Bulk) -> list[Message]:
    return list(Message.objects.filter(bulk=bulk).order_by("to_number"))


@pytest.fixture
def connector(db: None) -> Connector:
    Connector.objects.filter(is_default=True).update(is_default=False)
    row = Connector.objects.create(name="bulk-unit", kind=Connector.Kind.SMPP, is_default=True)
    keys = [streams.stream_key(row.name, lane) for lane in streams.LANES]
    streams.client().delete(*keys)
    yield row
    streams.client().delete(*keys)


def test_recipients_become_e164_once_each_in_the_order_given() -> None:
    found = recipients_normalize(
        [
            "+1 (415) 555-0101",
            "+14155550102",
            "+1 415.555.0101",
            "not a number",
            "",
            "+1415555010",
            "+14155550102",
        ]
    )
    assert found.valid == ["+14155550101", "+14155550102"]
    assert found.duplicates == 2
    assert found.invalid == ["not a number", "", "+1415555010"]


def test_a_bulk_keeps_one_queued_message_per_recipient_and_sets_the_rest_aside(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    ConsentState.objects.create(
        account=tenant_a.account, sender=SENDER, recipient=STUDENT.format(103), is_opted_out=True
    )
    # Someone who opted out of another number of the tenant still gets this one's alert.
    ConsentState.objects.create(
        account=tenant_a.account, sender="+15017122699", recipient=STUDENT.format(104), is_opted_out=True
    )
    given = [*students(5), STUDENT.format(101), "+1 415 555 0102", "12345", "call me"]

    bulk = create(tenant_a, given)

    assert (bulk.status, bulk.num_requested, bulk.num_messages, bulk.num_queued) == ("sending", 9, 4, 4)
    assert (bulk.num_duplicates, bulk.num_invalid, bulk.num_opted_out) == (2, 2, 1)
    assert bulk.invalid_recipients == ["12345", "call me"]
    assert bulk.opted_out_recipients == [STUDENT.format(103)]
    assert (
        bulk.num_requested == bulk.num_messages + bulk.num_duplicates + bulk.num_invalid + bulk.num_opted_out
    )
    sent = messages(bulk)
    assert [m.to_number for m in sent] == [STUDENT.format(i) for i in (100, 101, 102, 104)]
    assert {
        (m.status, m.direction, m.from_number, m.body, m.phone_number_id, m.account_id) for m in sent
    } == {("queued", "outbound-api", SENDER, BODY, sender.id, tenant_a.account.id)}
    assert {(m.encoding, m.num_segments, m.validity_period, tuple(m.carrier_message_ids)) for m in sent} == {
        ("GSM-7", 1, 36000, ())
    }
    assert len({m.id for m in sent}) == 4
    # The Messages API shows them like any other message.
    assert Message.objects.filter(to_number=STUDENT.format(100), bulk=bulk).count() == 1


def test_one_audit_entry_holds_the_class_and_the_threat_basis(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    before = AuditEntry.objects.filter(account_id=tenant_a.account.id).count()

    bulk = create(tenant_a, students(300))

    entries = list(AuditEntry.objects.filter(account_id=tenant_a.account.id).order_by("seq"))[before:]
    assert [(e.action, e.object_sid, e.actor) for e in entries] == [
        ("bulk.create", bulk.sid, "user:principal@school.example")
    ]
    assert entries[0].payload_sha256 == payload_digest(
        {
            "from": SENDER,
            "message_class": "emergency",
            "threat_basis": THREAT,
            "num_segments": 1,
            "num_requested": 300,
            "num_messages": 300,
            "num_duplicates": 0,
            "num_invalid": 0,
            "num_opted_out": 0,
        }
    )
    assert bulk.threat_basis == THREAT and bulk.created_by == "user:principal@school.example"


@pytest.mark.parametrize("threat_basis", ["", "   "])
def test_an_emergency_alert_needs_a_threat_basis(
    tenant_a: Tenant, sender: IncomingPhoneNumber, threat_basis: str
) -> None:
    with pytest.raises(TwilioError) as refused:
        create(tenant_a, students(3), threat_basis=threat_basis)
    assert refused.value.twilio_code == 20001 and "threat_basis" in refused.value.message
    assert not Bulk.objects.exists() and not Message.objects.exists()
    # Other classes need none.
    school = create(tenant_a, students(3), message_class="school-mission", threat_basis="")
    assert (school.message_class, school.threat_basis, school.num_messages) == ("school-mission", "", 3)


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"from_": "+15005550006"}, 21606),
        ({"body": ""}, 21602),
        ({"body": "x" * 1601}, 21617),
        ({"message_class": "promotion"}, 20422),
        ({"threat_basis": "x" * 2001}, 20422),
        ({"recipients": []}, 20001),
        ({"recipients": students(1) * (Bulk.MAX_RECIPIENTS + 1)}, 20422),
    ],
)
def test_refused_input_stores_nothing(
    tenant_a: Tenant, sender: IncomingPhoneNumber, options: dict[str, Any], code: int
) -> None:
    recipients = options.pop("recipients", students(3))
    audited = AuditEntry.objects.filter(account_id=tenant_a.account.id).count()
    with pytest.raises(TwilioError) as refused:
        create(tenant_a, recipients, **options)
    assert refused.value.twilio_code == code
    assert not Bulk.objects.exists() and not Message.objects.exists()
    assert AuditEntry.objects.filter(account_id=tenant_a.account.id).count() == audited


def test_nothing_left_to_send_is_completed_at_once(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    ConsentState.objects.create(
        account=tenant_a.account, sender=SENDER, recipient=STUDENT.format(100), is_opted_out=True
    )
    bulk = create(tenant_a, [STUDENT.format(100), "nonsense"])
    assert (bulk.status, bulk.num_messages, bulk.completed_at is not None) == ("completed", 0, True)


def test_the_messages_are_handed_over_in_chunks_after_commit(
    tenant_a: Tenant,
    sender: IncomingPhoneNumber,
    connector: Connector,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk_services, "CHUNK_SIZE", 40)
    with django_capture_on_commit_callbacks() as queued:
        bulk = create(tenant_a, students(100))
    # 40 + 40 + 20: one send task each, then one timeline task each, behind every send, in the bulk queue
    assert [c.func for c in queued] == [bulk_task] * 6
    assert [c.args[0] for c in queued] == [message_send_task] * 3 + [conversation_log_messages_task] * 3
    assert [len(c.args[2]) for c in queued] == [40, 40, 20] * 2
    bulk_lane = streams.stream_key(connector.name, streams.BULK)
    assert streams.client().xlen(bulk_lane) == 0  # nothing before commit

    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued[:3]:
            message_send_task(*callback.args[1:])  # what the worker runs
    entries = streams.client().xrange(bulk_lane)  # the connector's stream for bulk alerts
    assert streams.client().xlen(streams.stream_key(connector.name)) == 0
    assert Counter(e[1]["to"] for e in entries) == Counter(students(100))
    assert {e[1]["sid"] for e in entries} == {m.sid for m in messages(bulk)}
    assert all(m.connector == connector.name and m.handed_over_at for m in messages(bulk))

    assert not Item.objects.exists()
    for callback in queued[3:]:
        conversation_log_messages_task(*callback.args[1:])
        conversation_log_messages_task(*callback.args[1:])  # run again (late acknowledgement): no second item
    items = Item.objects.filter(kind="message").select_related("conversation__contact", "message")
    assert Counter(i.conversation.contact.phone_number for i in items) == Counter(students(100))
    assert all(i.conversation.tenant_number == SENDER and i.message.bulk_id == bulk.id for i in items)
    assert all(i.conversation.last_item_id == i.id and i.conversation.unread_count == 0 for i in items)


def test_a_chunk_run_again_hands_over_only_what_is_still_queued(
    tenant_a: Tenant,
    sender: IncomingPhoneNumber,
    connector: Connector,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bulk = create(tenant_a, students(10))
    ids = [m.id for m in messages(bulk)]
    message_claim(account_id=tenant_a.account.id, message_ids=ids[:4], gateway="gw")
    ConsentState.objects.create(
        account=tenant_a.account, sender=SENDER, recipient=STUDENT.format(109), is_opted_out=True
    )

    with django_capture_on_commit_callbacks(execute=True):
        message_send(account_id=tenant_a.account.id, message_ids=ids)  # what a send task runs
    handed = [e[1]["to"] for e in streams.client().xrange(streams.stream_key(connector.name, streams.BULK))]
    assert sorted(handed) == [
        STUDENT.format(i) for i in range(104, 109)
    ]  # not the claimed, not the opted out
    stopped = Message.objects.get(bulk=bulk, to_number=STUDENT.format(109))
    assert (stopped.status, stopped.error_code) == ("failed", 21610)


def _counts(bulk: Bulk) -> dict[str, Any]:
    bulk.refresh_from_db()
    names = ["queued", "sent", "delivered", "undelivered", "failed", "canceled"]
    return {
        "status": bulk.status,
        **{n: getattr(bulk, f"num_{n}") for n in names if getattr(bulk, f"num_{n}")},
    }


def test_the_counts_follow_the_messages_to_completion(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    bulk = create(tenant_a, students(6))
    account_id = tenant_a.account.id
    sids = [m.sid for m in messages(bulk)]
    ids = [m.id for m in messages(bulk)]

    message_claim(account_id=account_id, message_ids=ids[:5], gateway="gw")
    # A claim moves no count: "queued" is everything the carrier has not answered yet.
    assert _counts(bulk) == {"status": "sending", "queued": 6}
    messages_submit_outcomes(
        account_id=account_id,
        connector="c",
        outcomes=[
            *(SubmitOutcome(sid, (f"carrier-{i}",)) for i, sid in enumerate(sids[:4])),
            SubmitOutcome(sids[4], error_code=ErrorCode.UNKNOWN_DESTINATION_HANDSET),
        ],
    )
    assert _counts(bulk) == {"status": "sending", "queued": 1, "sent": 4, "failed": 1}
    messages_receipts(
        receipts=[
            ("c", DeliveryReceipt(carrier_message_id="carrier-0", status="delivered")),
            (
                "c",
                DeliveryReceipt(
                    carrier_message_id="carrier-1",
                    status="undelivered",
                    error_code=ErrorCode.UNREACHABLE_DESTINATION_HANDSET,
                ),
            ),
        ]
    )
    assert _counts(bulk) == {
        "status": "sending",
        "queued": 1,
        "sent": 2,
        "delivered": 1,
        "undelivered": 1,
        "failed": 1,
    }

    message_claim(account_id=account_id, message_ids=ids[5:], gateway="gw")
    assert _counts(bulk)["status"] == "sending"  # claimed is not answered
    messages_submit_outcomes(
        account_id=account_id, connector="c", outcomes=[SubmitOutcome(sids[5], ("carrier-5",))]
    )
    counts = _counts(bulk)
    assert counts == {"status": "completed", "sent": 3, "delivered": 1, "undelivered": 1, "failed": 1}
    assert bulk.completed_at is not None
    # Receipts keep coming after completion; the counts still follow.
    messages_receipts(receipts=[("c", DeliveryReceipt(carrier_message_id="carrier-5", status="delivered"))])
    assert _counts(bulk) == {"status": "completed", "sent": 2, "delivered": 2, "undelivered": 1, "failed": 1}


def test_cancel_stops_what_no_gateway_claimed(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    bulk = create(tenant_a, students(5))
    ids = [m.id for m in messages(bulk)]
    claimed = message_claim(account_id=tenant_a.account.id, message_ids=ids[:2], gateway="gw")

    canceled = bulk_cancel(bulk=bulk, actor="user:principal@school.example")

    counts = (canceled.status, canceled.num_queued, canceled.num_canceled)
    assert counts == ("canceled", 2, 3)  # the two claimed are still to be answered
    assert canceled.canceled_at is not None
    assert Counter(m.status for m in messages(bulk)) == {"sending": 2, "canceled": 3}
    # A hand-over that comes after cancel claims nothing more.
    assert message_claim(account_id=tenant_a.account.id, message_ids=ids, gateway="gw") == []
    # The claimed ones finish; the bulk stays canceled.
    messages_submit_outcomes(
        account_id=tenant_a.account.id,
        connector="c",
        outcomes=[SubmitOutcome(c.sms.message_sid, ("x",)) for c in claimed],
    )
    assert _counts(bulk) == {"status": "canceled", "sent": 2, "canceled": 3}
    assert bulk_cancel(bulk=bulk, actor="t").status == "canceled"  # again: nothing changes
    assert AuditEntry.objects.filter(action="bulk.cancel", object_sid=bulk.sid).count() == 1


def test_a_completed_bulk_cannot_be_canceled(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    bulk = create(tenant_a, ["nonsense"])
    with pytest.raises(TwilioError) as refused:
        bulk_cancel(bulk=bulk, actor="t")
    assert refused.value.twilio_code == 30409


def test_the_same_idempotency_key_gives_back_the_same_bulk(
    tenant_a: Tenant, tenant_b: Tenant, sender: IncomingPhoneNumber, django_capture_on_commit_callbacks: Any
) -> None:
    first = create(tenant_a, students(5), idempotency_key="snow-day-2026-01-12")
    with django_capture_on_commit_callbacks() as queued:
        again = create(tenant_a, students(50), idempotency_key="snow-day-2026-01-12")
    assert again.id == first.id and not queued
    assert Message.objects.filter(bulk__isnull=False).count() == 5
    assert AuditEntry.objects.filter(action="bulk.create").count() == 1


def test_bulk_is_invisible_to_other_tenant(
    tenant_a: Tenant, tenant_b: Tenant, sender: IncomingPhoneNumber
) -> None:
    bulk = create(tenant_a, students(3))
    tenant_activate(tenant_b.account.id)
    assert not Bulk.objects.exists() and not Message.objects.filter(bulk_id=bulk.id).exists()
    tenant_activate(None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_bulk")
        assert cursor.fetchone()[0] == 0
    # Nor can the app role write one for another tenant.
    tenant_activate(tenant_b.account.id)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE messaging_bulk SET body = 'changed' WHERE id = %s", [bulk.id])
        assert cursor.rowcount == 0
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        Bulk.objects.create(
            account=tenant_a.account,
            from_number=SENDER,
            body="x",
            message_class="emergency",
            status="sending",
        )
