"""Consent as carriers require it: STOP/START/HELP keywords (whole message, any case, trimmed), one
confirmation per change, 21610 for opted-out recipients, an append-only log with the source message,
audited changes; then end to end through the SMSC."""

import time

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from twilio.base.exceptions import TwilioRestException

from compliance.models import AuditEntry
from core.errors import TwilioError
from core.tenancy import tenant_activate
from messaging.carriers.base import InboundSms
from messaging.consent import HELP_REPLY, OPT_IN_REPLY, OPT_OUT_REPLY, opted_out_among
from messaging.create import MessageDraft, message_create
from messaging.inbound import message_receive
from messaging.models import ConsentEvent, ConsentState, Message
from messaging.replies import sms_params
from messaging.updates import message_delete
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.conftest import Tenant, TwilioClient
from tests.live import celery_worker
from tests.messaging.conftest import SENDER, Live, gateway_process, smpp_connector
from tests.messaging.smsc import Smsc
from tests.numbering.test_twilio_sdk import sdk

CUSTOMER = "+14155550177"


def text_in(body: str, to: str = SENDER, from_: str = CUSTOMER) -> Message:
    message = message_receive(
        sms=InboundSms(from_number=from_, to=to, body=body, carrier_message_id=""), connector="smsc"
    )
    assert message is not None
    return message


def replies() -> list[str]:
    return list(
        Message.objects.filter(direction="outbound-reply")
        .order_by("date_created")
        .values_list("body", flat=True)
    )


def send(tenant: Tenant, from_: str = SENDER, to: str = CUSTOMER) -> Message:
    return message_create(
        account=tenant.account,
        draft=MessageDraft(to=to, from_=from_, body="Your order shipped", actor="test"),
    )


def opted_out(tenant: Tenant, sender: str = SENDER) -> bool:
    return CUSTOMER in opted_out_among(account_id=tenant.account.id, sender=sender, recipients=[CUSTOMER])


@pytest.mark.parametrize(
    "body",
    ["STOP", "stop", "  Stop \n", "STOPALL", "unsubscribe", "Cancel", "END", "quit", "REVOKE", "optout"],
)
def test_an_opt_out_keyword_opts_out_with_one_confirmation(
    tenant_a: Tenant, sender: IncomingPhoneNumber, body: str
) -> None:
    inbound = text_in(body)
    assert opted_out(tenant_a)
    assert replies() == [OPT_OUT_REPLY]
    reply = Message.objects.get(direction="outbound-reply")
    assert (reply.to_number, reply.from_number, reply.is_consent_reply) == (CUSTOMER, SENDER, True)
    event = ConsentEvent.objects.get()
    assert (event.keyword, event.action, event.is_change) == (body.strip().upper(), "opt-out", True)
    assert (event.sender, event.recipient, event.source_message_id) == (SENDER, CUSTOMER, inbound.id)
    audit = AuditEntry.objects.get(action="consent.opt-out")
    assert (audit.object_sid, audit.actor) == (event.sid, "worker:messaging")
    with pytest.raises(TwilioError) as refused:
        send(tenant_a)
    assert refused.value.twilio_code == 21610


@pytest.mark.parametrize("body", ["stop please", "STOP!", "Don't stop", "S T O P", "", "STOP STOP"])
def test_anything_but_the_whole_keyword_is_an_ordinary_message(
    tenant_a: Tenant, sender: IncomingPhoneNumber, body: str
) -> None:
    text_in(body)
    assert not opted_out(tenant_a) and replies() == [] and not ConsentEvent.objects.exists()
    send(tenant_a)


def test_a_second_stop_is_logged_but_not_confirmed_again(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    text_in("STOP")
    text_in("stop")
    assert replies() == [OPT_OUT_REPLY]
    assert list(ConsentEvent.objects.order_by("date_created").values_list("is_change", flat=True)) == [
        True,
        False,
    ]
    assert AuditEntry.objects.filter(action="consent.opt-out").count() == 1


@pytest.mark.parametrize("keyword", ["START", "yes", "Unstop"])
def test_an_opt_in_keyword_resubscribes(tenant_a: Tenant, sender: IncomingPhoneNumber, keyword: str) -> None:
    text_in("STOP")
    text_in(keyword)
    assert not opted_out(tenant_a)
    assert replies() == [OPT_OUT_REPLY, OPT_IN_REPLY]
    assert AuditEntry.objects.filter(action="consent.opt-in").count() == 1
    send(tenant_a)


def test_yes_from_someone_who_never_opted_out_changes_nothing(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    text_in("YES")  # most likely an answer to the tenant's own question
    assert replies() == [] and ConsentEvent.objects.get().is_change is False


@pytest.mark.parametrize("keyword", ["HELP", "info", " Help "])
def test_help_is_answered_every_time_even_when_opted_out(
    tenant_a: Tenant, sender: IncomingPhoneNumber, keyword: str
) -> None:
    help_text = HELP_REPLY.format(name=tenant_a.account.friendly_name)
    text_in(keyword)
    text_in("STOP")
    text_in(keyword)
    assert replies() == [help_text, OPT_OUT_REPLY, help_text]
    assert opted_out(tenant_a)
    assert not AuditEntry.objects.filter(action__startswith="consent.help").exists()


def test_opting_out_of_one_number_leaves_the_tenants_others(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    number_create(account=tenant_a.account, actor="test", phone_number="+15017122662")
    text_in("STOP")
    assert not opted_out(tenant_a, "+15017122662")
    send(tenant_a, from_="+15017122662")


def test_the_webhook_says_which_keyword_it_was(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    assert sms_params(text_in("stop"), tenant_a.sid, [])["OptOutType"] == "STOP"
    assert sms_params(text_in("Start"), tenant_a.sid, [])["OptOutType"] == "START"
    assert sms_params(text_in("info"), tenant_a.sid, [])["OptOutType"] == "HELP"
    assert "OptOutType" not in sms_params(text_in("hello"), tenant_a.sid, [])


def test_the_consent_log_is_append_only_and_outlives_its_source_message(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    inbound = text_in("STOP")
    inbound_id = inbound.id
    message_delete(message=inbound, actor="test")
    event = ConsentEvent.objects.get()
    assert event.source_message_id == inbound_id and event.keyword == "STOP"
    for statement in (
        "UPDATE messaging_consentevent SET keyword = 'START'",
        "DELETE FROM messaging_consentevent",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
            connection.cursor().execute(statement)
    assert ConsentEvent.objects.get().keyword == "STOP"


def test_consent_is_invisible_to_other_tenant(
    tenant_a: Tenant, tenant_b: Tenant, sender: IncomingPhoneNumber, api_b: TwilioClient
) -> None:
    text_in("STOP")
    tenant_activate(tenant_b.account.id)
    assert not ConsentState.objects.exists() and not ConsentEvent.objects.exists()
    number_create(account=tenant_b.account, actor="test", phone_number="+15017122690")
    # B's texts to the same person are B's business: A's opt-out does not block them.
    response = api_b.post(
        api_b.url("Messages.json"), {"To": CUSTOMER, "From": "+15017122690", "Body": "Your room is ready"}
    )
    assert response.status_code == 201, response.content
    tenant_activate(None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_consentevent")
        assert cursor.fetchone()[0] == 0


# End to end through the SMSC ----------------------------------------------------------------------


@pytest.mark.e2e
def test_stop_at_the_handset_is_confirmed_once_and_then_nothing_leaves(
    server: str, live: Live, smsc: Smsc
) -> None:
    smpp_connector(smsc)
    handset = CUSTOMER.lstrip("+")
    client = sdk(server, live.tenant.sid, live.tenant.token)
    with celery_worker(), gateway_process():
        smsc.mo(from_=handset, to=live.number.lstrip("+"), text="Stop")
        live.wait_for(lambda: len(smsc.accepted()) == 1, "the confirmation")
        smsc.mo(from_=handset, to=live.number.lstrip("+"), text="STOP")
        live.wait_for(lambda: len(live.messages(direction="inbound")) == 2, "the second STOP")
        with pytest.raises(TwilioRestException) as refused:
            client.messages.create(to=CUSTOMER, from_=live.number, body="Flash sale!")
        assert (refused.value.status, refused.value.code) == (400, 21610)
        time.sleep(2)  # anything that would have left has had time to
        assert [s["text"] for s in smsc.accepted()] == [OPT_OUT_REPLY]
        assert smsc.accepted()[0]["destination_addr"] == handset
        smsc.mo(from_=handset, to=live.number.lstrip("+"), text="start")
        live.wait_for(lambda: len(smsc.accepted()) == 2, "the opt-in confirmation")
        sent = client.messages.create(to=CUSTOMER, from_=live.number, body="Welcome back")
        live.wait(sent.sid, "delivered", timeout=30)
    assert [s["text"] for s in smsc.accepted()] == [OPT_OUT_REPLY, OPT_IN_REPLY, "Welcome back"]
    with live.db():
        events = list(ConsentEvent.objects.order_by("date_created").values_list("keyword", "is_change"))
    assert events == [("STOP", True), ("STOP", False), ("START", True)]
