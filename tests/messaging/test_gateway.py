"""The carrier gateway on real parts: its threads in this process, the real SMPP connector bound to the
SMSC sandbox (scripts/smsc/smsc.js), Redis streams and PostgreSQL. Celery is left out here: the send
task is `message_send`, called directly (test_send_pipeline.py runs the real worker)."""

import time
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import OperationalError, ProgrammingError
from django.utils import timezone

from core.error_codes import ErrorCode
from messaging import streams
from messaging.carriers.base import DeliveryReceipt
from messaging.carriers.sip import SipMessageConnector
from messaging.carriers.smpp import SmppConnector
from messaging.gateway import RECEIPT_RETRY_SECONDS, CarrierGateway, GatewayEvents, Report, connector_factory
from messaging.handover import message_claim, message_send
from messaging.journal import OutcomeJournal
from messaging.models import Connector, ConsentState, Message, PendingMessage
from messaging.receipts import SubmitOutcome, messages_receipts, messages_submit_outcomes
from tests.messaging.conftest import RECIPIENT, Live, running_gateway, smpp_connector
from tests.messaging.smsc import Smsc, SmscFactory

pytestmark = pytest.mark.e2e


def accepted_texts(smsc: Smsc) -> list[str]:
    return [s["text"] for s in smsc.accepted()]


def hand_over(live: Live, message: Message) -> None:
    message_send(account_id=live.tenant.account.id, message_ids=[message.id])


def test_a_message_handed_over_many_times_is_submitted_once(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    message = live.send("Your table is ready", status_callback="https://example.com/status")
    for _ in range(3):
        hand_over(live, message)  # a redelivered task, a sweep: each appends to the stream again
    with running_gateway(row):
        done = live.wait(message.sid, "delivered")
    assert accepted_texts(smsc) == ["Your table is ready"]
    assert done.connector == "smsc" and len(done.carrier_message_ids) == 1 and done.date_sent is not None
    assert done.carrier_message_ids[0] == smsc.accepted()[0]["message_id"]
    statuses = [c["MessageStatus"] for c in live.callbacks(message.sid)]
    assert statuses == ["queued", "sending", "sent", "delivered"]
    # Entries are acknowledged and deleted; nothing is left pending for the message.
    key = streams.stream_key("smsc")
    assert streams.client().xlen(key) == 0
    assert streams.client().xpending(key, streams.GROUP)["pending"] == 0
    assert not PendingMessage.objects.filter(message_id=message.id).exists()


def test_two_gateways_on_one_stream_never_submit_a_message_twice(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    messages = [live.send(f"burst {i}") for i in range(40)]
    with running_gateway(row, name="gw-a"), running_gateway(row, name="gw-b"):
        for message in messages:
            hand_over(live, message)
            hand_over(live, message)
        for message in messages:
            live.wait(message.sid, "delivered")
    texts = accepted_texts(smsc)
    assert sorted(texts) == sorted(f"burst {i}" for i in range(40))
    assert smsc.stats()["binds"] == 2


def test_refusals_and_failed_receipts_carry_twilio_codes(live: Live, smsc_factory: SmscFactory) -> None:
    smsc = smsc_factory(refuse={"14155550111": "ESME_RINVDSTADR"}, dlr_status={"14155550122": "UNDELIV"})
    row = smpp_connector(smsc)
    refused = live.send("refused", to="+14155550111", status_callback="https://example.com/s")
    undelivered = live.send("undelivered", to="+14155550122", status_callback="https://example.com/s")
    with running_gateway(row):
        hand_over(live, refused)
        hand_over(live, undelivered)
        failed = live.wait(refused.sid, "failed")
        lost = live.wait(undelivered.sid, "undelivered")
    assert (failed.error_code, lost.error_code) == (30005, 30008)
    assert failed.error_message and lost.error_message
    last = live.callbacks(refused.sid)[-1]
    assert (last["MessageStatus"], last["ErrorCode"]) == ("failed", "30005")
    assert live.callbacks(undelivered.sid)[-1]["ErrorCode"] == "30008"


def test_a_long_message_is_delivered_once_every_segment_is(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    body = "".join(f"line {i:03d} of the school newsletter. " for i in range(12))  # 432 characters
    message = live.send(body)
    assert message.num_segments == 3
    with running_gateway(row):
        hand_over(live, message)
        done = live.wait(message.sid, "delivered")
    parts = smsc.accepted()
    assert len(parts) == 3 and "".join(p["text"] for p in parts) == body
    assert done.carrier_message_ids == [p["message_id"] for p in parts]
    assert set(done.segment_receipts.values()) == {"delivered"}


def test_the_sweep_hands_over_a_message_whose_task_was_lost(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    message = live.send("nobody ran my task")  # its Celery task goes to a queue no worker reads here
    with running_gateway(row, stale_seconds=0.5):
        live.wait(message.sid, "delivered")
    assert accepted_texts(smsc) == ["nobody ran my task"]


def test_the_gateway_reads_on_after_redis_comes_back_empty(live: Live, smsc: Smsc) -> None:
    """A Redis restart without persistence takes the streams and their consumer group with it."""
    row = smpp_connector(smsc)
    with running_gateway(row, stale_seconds=0.5):
        live.wait(live.send("before").sid, "delivered")
        streams.client().delete(*(streams.stream_key("smsc", lane) for lane in streams.LANES))
        live.wait(live.send("after").sid, "delivered")
    assert accepted_texts(smsc) == ["before", "after"]


def test_a_scheduled_message_is_released_when_due_and_not_before(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    later = timezone.now() + timedelta(minutes=10)
    due = live.send("due now", send_at=later, status_callback="https://example.com/s")
    waiting = live.send("due later", send_at=later)
    with live.db():
        Message.objects.filter(id=due.id).update(send_at=timezone.now() - timedelta(seconds=1))
    with running_gateway(row):
        live.wait(due.sid, "delivered")
        time.sleep(0.5)
    assert live.get(waiting.sid).status == "scheduled"
    assert accepted_texts(smsc) == ["due now"]
    statuses = [c["MessageStatus"] for c in live.callbacks(due.sid)]
    assert statuses == ["scheduled", "queued", "sending", "sent", "delivered"]


def test_an_expired_message_fails_with_30001_and_never_leaves(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    message = live.send("too late", validity_period=1)
    time.sleep(1.2)
    hand_over(live, message)
    assert live.get(message.sid).status == "failed" and live.get(message.sid).error_code == 30001
    with running_gateway(row):
        time.sleep(0.5)
    assert smsc.stats()["submit_sm"] == 0


def test_a_message_expiring_in_the_stream_is_not_claimed(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    message = live.send("stale in redis", validity_period=1)
    hand_over(live, message)  # in the stream, valid now
    time.sleep(1.2)  # ... expired by the time a gateway reads it
    with running_gateway(row, stale_seconds=0.3):
        live.wait(message.sid, "failed")  # the sweep fails it (30001)
    assert live.get(message.sid).error_code == 30001 and smsc.stats()["submit_sm"] == 0


def test_an_opt_out_after_queueing_fails_the_send_with_21610(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    message = live.send("promo")
    with live.db():
        ConsentState.objects.create(
            account=live.tenant.account, sender=live.number, recipient=RECIPIENT, is_opted_out=True
        )
    hand_over(live, message)
    assert (live.get(message.sid).status, live.get(message.sid).error_code) == ("failed", 21610)
    with running_gateway(row):
        time.sleep(0.5)
    assert smsc.stats()["submit_sm"] == 0


def test_a_restarted_gateway_resubmits_only_what_it_left_in_sending(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    message = live.send("claimed, then the gateway died")
    hand_over(live, message)
    claimed = message_claim(account_id=live.tenant.account.id, message_ids=[message.id], gateway="gw-dead")
    assert [c.sms.message_sid for c in claimed] == [message.sid]
    assert message_claim(account_id=live.tenant.account.id, message_ids=[message.id], gateway="gw-x") == []
    with running_gateway(row, name="gw-other"):
        time.sleep(0.5)
        assert live.get(message.sid).status == "sending" and smsc.stats()["submit_sm"] == 0
    with running_gateway(row, name="gw-dead"):
        live.wait(message.sid, "delivered")
    assert accepted_texts(smsc) == ["claimed, then the gateway died"]


def test_a_restarted_gateway_records_the_answers_it_journaled_instead_of_resubmitting(
    live: Live, smsc: Smsc
) -> None:
    """Killed after the carrier answered but before the writer's transaction, a gateway has the
    answer in its journal: started again, it records it and submits nothing twice."""
    row = smpp_connector(smsc)
    answered, unanswered = live.send("answered, then the gateway died"), live.send("never answered")
    for message in (answered, unanswered):
        hand_over(live, message)
    ids = [answered.id, unanswered.id]
    message_claim(account_id=live.tenant.account.id, message_ids=ids, gateway="gw-journal")
    journal = OutcomeJournal.of_gateway("gw-journal")
    journal.append("smsc", SubmitOutcome(answered.sid, ("carrier-77",)))
    journal.close()
    with running_gateway(row, name="gw-journal"):
        live.wait(unanswered.sid, "delivered")
    assert accepted_texts(smsc) == ["never answered"]
    recorded = live.get(answered.sid)
    assert recorded.status == "sent" and recorded.carrier_message_ids == ["carrier-77"]
    assert OutcomeJournal.of_gateway("gw-journal").read() == []


def test_answers_the_database_refused_stay_journaled_for_the_next_start(
    live: Live, smsc: Smsc, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = smpp_connector(smsc)

    def refuse(**kwargs: Any) -> None:
        raise OperationalError("the database refuses writes")

    monkeypatch.setattr("messaging.gateway.WRITE_ATTEMPTS", 1)
    monkeypatch.setattr("messaging.gateway.messages_submit_outcomes", refuse)
    message = live.send("answered while the database refused writes")
    hand_over(live, message)
    with running_gateway(row, name="gw-dropped"):
        live.wait_for(lambda: OutcomeJournal.of_gateway("gw-dropped").read(), "the answer journaled")
        time.sleep(0.5)  # the writer tried and dropped the batch
    assert [o.message_sid for _, o in OutcomeJournal.of_gateway("gw-dropped").read()] == [message.sid]
    monkeypatch.setattr("messaging.gateway.messages_submit_outcomes", messages_submit_outcomes)
    with running_gateway(row, name="gw-dropped"):
        live.wait(message.sid, "sent", "delivered")
    assert accepted_texts(smsc) == ["answered while the database refused writes"]


def test_the_journal_passes_over_a_line_torn_by_a_crash(tmp_path: Any) -> None:
    journal = OutcomeJournal(tmp_path / "gw.journal")
    journal.append("smsc", SubmitOutcome("SM" + "1" * 32, ("c1",)))
    journal.append(
        "smsc", SubmitOutcome("SM" + "2" * 32, error_code=ErrorCode.MESSAGE_FILTERED, detail="filtered")
    )
    with open(journal.path, "a") as torn:
        torn.write('{"connector":"smsc","sid":"SM3')
    assert [outcome for _, outcome in journal.read()] == [
        SubmitOutcome("SM" + "1" * 32, ("c1",)),
        SubmitOutcome("SM" + "2" * 32, (), 30007, "filtered"),
    ]
    journal.clear()
    assert journal.read() == [] and journal.path.stat().st_size == 0


def test_a_receipt_is_answered_once_written_and_an_unknown_one_only_when_given_up(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = live.send("results are in")
    hand_over(live, message)
    account = live.tenant.account.id
    message_claim(account_id=account, message_ids=[message.id], gateway="gw-answers")
    messages_submit_outcomes(
        account_id=account, connector="smsc", outcomes=[SubmitOutcome(message.sid, ("c-known",))]
    )
    gateway = CarrierGateway(name="gw-answers", connectors={})
    answers: dict[str, list[bool]] = {"c-known": [], "c-unknown": [], "c-old": []}

    def report(carrier_id: str, **options: Any) -> Report:
        receipt = DeliveryReceipt(carrier_id, "delivered")
        return Report("smsc", receipt, answers[carrier_id].append, **options)

    def refuse(**_: Any) -> None:
        raise OperationalError("the database is away")

    with monkeypatch.context() as database_away:
        database_away.setattr("messaging.gateway.messages_receipts", refuse)
        with pytest.raises(OperationalError):
            gateway.write([report("c-known")])
    assert answers["c-known"] == []  # not written, not answered: the writer's retry (or the carrier) has it

    gateway.write([report("c-known"), report("c-unknown")])
    assert live.get(message.sid).status == "delivered"
    assert answers == {"c-known": [True], "c-unknown": [], "c-old": []}  # the unknown one is held, unanswered
    assert [r.item.carrier_message_id for r in gateway.deferred] == ["c-unknown"]

    gateway.deferred_tried_at = 0
    with monkeypatch.context() as database_away:
        database_away.setattr("messaging.gateway.messages_receipts", refuse)
        with pytest.raises(OperationalError):
            gateway.write([])
    assert [r.item.carrier_message_id for r in gateway.deferred] == ["c-unknown"]  # a failed try keeps it

    gateway.write([report("c-old", at=time.monotonic() - RECEIPT_RETRY_SECONDS)])
    assert answers["c-old"] == [True]  # given up on: answered, so the carrier stops sending it
    assert answers["c-unknown"] == [] and len(gateway.deferred) == 1


def test_messages_follow_their_numbers_connector(live: Live, smsc_factory: SmscFactory) -> None:
    default, dedicated = smsc_factory(), smsc_factory()
    default_row = smpp_connector(default, "carrier-a")
    dedicated_row = smpp_connector(dedicated, "carrier-b", is_default=False)
    other = live.give_number(sms_connector=dedicated_row)
    first = live.send("via the default")
    second = live.send("via the number's connector", from_=other.phone_number)
    with running_gateway(default_row, dedicated_row):
        hand_over(live, first)
        hand_over(live, second)
        live.wait(first.sid, "delivered")
        live.wait(second.sid, "delivered")
    assert accepted_texts(default) == ["via the default"]
    assert accepted_texts(dedicated) == ["via the number's connector"]
    # A disabled connector holds its numbers' messages (no detour through another carrier).
    dedicated_row.is_enabled = False
    dedicated_row.save()
    held = live.send("held", from_=other.phone_number)
    hand_over(live, held)
    assert live.get(held.sid).status == "queued" and live.get(held.sid).connector == ""


def test_statuses_never_move_backwards(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    message = live.send("ordered", status_callback="https://example.com/s")
    with running_gateway(row):
        hand_over(live, message)
        done = live.wait(message.sid, "delivered")
    account = live.tenant.account.id
    callbacks = len(live.callbacks(message.sid))
    messages_submit_outcomes(
        account_id=account, connector="smsc", outcomes=[SubmitOutcome(message.sid, ("late",))]
    )
    messages_submit_outcomes(
        account_id=account,
        connector="smsc",
        outcomes=[SubmitOutcome(message.sid, error_code=ErrorCode.MESSAGE_FILTERED, detail="late")],
    )
    messages_receipts(
        receipts=[
            (
                "smsc",
                DeliveryReceipt(
                    done.carrier_message_ids[0], "undelivered", ErrorCode.UNREACHABLE_DESTINATION_HANDSET
                ),
            )
        ]
    )
    after = live.get(message.sid)
    assert (after.status, after.error_code) == ("delivered", None)
    assert len(live.callbacks(message.sid)) == callbacks


def test_inbound_messages_reach_the_numbers_tenant(live: Live, smsc: Smsc) -> None:
    row = smpp_connector(smsc)
    with running_gateway(row):
        smsc.mo(from_="14155550188", to=live.number.lstrip("+"), text="Running 10 minutes late")
        smsc.mo(from_="14155550188", to="19995550100", text="for nobody")
        smsc.wait_stats(lambda s: s["mo_acked"] >= 2)
        inbound = live.wait_for(lambda: live.messages(direction="inbound"), "the inbound message")
    assert len(inbound) == 1
    message = inbound[0]
    assert (message.from_number, message.to_number, message.body) == (
        "+14155550188",
        live.number,
        "Running 10 minutes late",
    )
    assert (message.status, message.connector, message.num_segments) == ("received", "smsc", 1)
    assert message.date_sent is not None and not message.is_webhook_pending  # the number has no sms_url


def test_the_global_work_tables_hold_no_content_and_are_read_only_to_the_app(live: Live) -> None:
    message = live.send("private words")
    columns = {f.name for f in PendingMessage._meta.get_fields()}
    assert columns == {"message_id", "account_id", "status", "gateway", "since"}
    assert PendingMessage.objects.get(message_id=message.id).status == "queued"
    for statement in (
        "INSERT INTO messaging_pendingmessage "
        "VALUES (gen_random_uuid(), gen_random_uuid(), 'queued', '', now())",
        "DELETE FROM messaging_pendingmessage",
        "UPDATE messaging_carrierroute SET message_id = gen_random_uuid()",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
            connection.cursor().execute(statement)


def test_the_connector_command_configures_what_the_gateway_runs(live: Live, smsc: Smsc) -> None:
    out = StringIO()
    args = ["--kind", "smpp", "--host", smsc.host, "--port", str(smsc.port), "--system-id", smsc.system_id]
    call_command(
        "carrier_connector", "from-command", *args, "--password", smsc.password, "--default", stdout=out
    )
    assert out.getvalue().strip() == "connector from-command (smpp, enabled, default) saved"
    call_command("carrier_connector", "from-command", "--window", "5", stdout=out)  # the password is kept
    row = Connector.objects.get(name="from-command")
    assert (row.window, row.password, row.is_default) == (5, smsc.password, True)
    assert row.password_encrypted != smsc.password
    assert Connector.objects.filter(is_default=True).count() == 1
    streams.client().delete(streams.stream_key(row.name))
    message = live.send("configured from the command line")
    with running_gateway(row):
        hand_over(live, message)
        live.wait(message.sid, "delivered")
    assert accepted_texts(smsc) == ["configured from the command line"]


def test_connectors_are_built_by_kind() -> None:
    sip = Connector(
        name="trunk",
        kind=Connector.Kind.SIP,
        ari_url="http://127.0.0.1:8098/ari",
        ari_username="switchboard",
        ari_app="switchboard-messages",
        endpoint="trunk",
        trunk_uri="sip:127.0.0.1:5092",
        window=4,
    )
    sip.set_password("ari-secret")
    built = connector_factory(sip)(GatewayEvents(None, "trunk"))  # type: ignore[arg-type]
    assert isinstance(built, SipMessageConnector)
    assert (built.name, built.endpoint, built._window_size, built.is_connected) == (
        "trunk",
        "trunk",
        4,
        False,
    )
    smpp = Connector(
        name="bind", kind=Connector.Kind.SMPP, host="127.0.0.1", port=2775, system_id="sb", window=3
    )
    smpp.set_password("pw")
    bind = connector_factory(smpp)(GatewayEvents(None, "bind"))  # type: ignore[arg-type]
    assert isinstance(bind, SmppConnector)
    assert (bind.host, bind.port, bind.system_id, bind.password, bind.window) == (
        "127.0.0.1",
        2775,
        "sb",
        "pw",
        3,
    )
