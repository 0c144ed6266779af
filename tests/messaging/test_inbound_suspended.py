"""Inbound texts to a suspended or closed account's number: a suspended account's are kept with 30002
in its error log and never reach its webhook (nor later); a closed account's are dropped like those to
an unknown number. Then end to end: an MO message injected at the SMSC for a suspended account."""

import pytest

from config.celery import app as celery_app
from messaging.carriers.base import InboundSms
from messaging.inbound import message_receive
from messaging.models import ConsentState, Message, PendingMessage
from messaging.replies import message_webhook_run
from monitor.models import Notification
from tenants.models import Account
from tenants.services import account_update
from tests.conftest import make_subaccount
from tests.live import celery_worker
from tests.messaging.conftest import Live, gateway_process, smpp_connector
from tests.messaging.smsc import Smsc
from tests.voice.twiml_app import TwimlApp, twiml

CUSTOMER = "+14155550177"

pytestmark = pytest.mark.e2e


@pytest.fixture
def branch(live: Live, app: TwimlApp) -> Live:
    """A committed subaccount of the live tenant, whose number answers texts with the app's /branch."""
    with live.db():
        sub = make_subaccount(live.tenant, "Branch")
    found = Live(sub, "")
    found.number = found.give_number(sms_url=f"{app.url}/branch").phone_number
    app.routes["/branch"] = twiml("<Response><Message>Thanks</Message></Response>")
    return found


def set_status(live: Live, branch: Live, status: str) -> None:
    """What `POST /Accounts/{branch}.json Status=…` does with the parent's credentials."""
    with branch.db():
        account = Account.objects.get(id=branch.tenant.account.id)
        account_update(
            account=account, principal=live.tenant.account, actor="test", friendly_name=None, status=status
        )


def receive(branch: Live, body: str) -> Message | None:
    sms = InboundSms(from_number=CUSTOMER.lstrip("+"), to=branch.number, body=body, carrier_message_id="c1")
    return message_receive(sms=sms, connector="smsc")


def run_webhook(branch: Live, message: Message) -> None:
    message_webhook_run(account_id=branch.tenant.account.id, message_id=message.id)


def errors(branch: Live) -> list[tuple[int, str]]:
    with branch.db():
        return [(n.error_code, n.request_url) for n in Notification.objects.order_by("date_created")]


def test_a_suspended_accounts_text_is_kept_and_logged_never_sent_to_its_webhook(
    live: Live, branch: Live, app: TwimlApp
) -> None:
    set_status(live, branch, "suspended")
    message = receive(branch, "Are you open today?")
    assert message is not None
    stored = branch.get(message.sid)
    assert (stored.body, stored.status, stored.error_code) == ("Are you open today?", "received", 30002)
    assert not stored.is_webhook_pending
    assert not PendingMessage.objects.filter(message_id=message.id).exists()  # the sweep will not requeue it
    assert errors(branch) == [(30002, f"{app.url}/branch")]

    run_webhook(branch, message)
    set_status(live, branch, "active")
    run_webhook(branch, message)  # nor after reactivation
    assert app.requests_to("/branch") == []
    assert branch.messages(direction="outbound-reply") == []


def test_reactivating_restores_the_webhook_for_new_texts(live: Live, branch: Live, app: TwimlApp) -> None:
    set_status(live, branch, "suspended")
    withheld = receive(branch, "hello")
    set_status(live, branch, "active")
    message = receive(branch, "hello again")
    assert withheld is not None and message is not None and message.is_webhook_pending
    run_webhook(branch, withheld)
    run_webhook(branch, message)
    (hit,) = app.requests_to("/branch")
    assert hit.form["MessageSid"] == message.sid
    assert [code for code, _ in errors(branch)] == [30002]


def test_a_text_waiting_for_its_webhook_when_the_account_is_suspended_is_withheld(
    live: Live, branch: Live, app: TwimlApp
) -> None:
    message = receive(branch, "just before")
    assert message is not None and message.is_webhook_pending
    set_status(live, branch, "suspended")
    run_webhook(branch, message)
    assert app.requests_to("/branch") == []
    assert branch.get(message.sid).error_code == 30002
    assert errors(branch) == [(30002, f"{app.url}/branch")]


def test_a_suspended_parents_subaccount_keeps_its_texts_from_the_webhook(live: Live, branch: Live) -> None:
    with live.db():
        Account.objects.filter(id=live.tenant.account.id).update(status="suspended")  # the operator's doing
    try:
        message = receive(branch, "hello")
        assert message is not None and not message.is_webhook_pending
    finally:
        with live.db():
            Account.objects.filter(id=live.tenant.account.id).update(status="active")


def test_stop_to_a_suspended_account_holds_without_an_automatic_reply(live: Live, branch: Live) -> None:
    set_status(live, branch, "suspended")
    assert receive(branch, "STOP") is not None
    with branch.db():
        assert ConsentState.objects.get(recipient=CUSTOMER).is_opted_out
    assert branch.messages(direction="outbound-reply") == []


def test_a_closed_accounts_number_is_unknown(live: Live, branch: Live) -> None:
    set_status(live, branch, "closed")
    assert receive(branch, "anyone there?") is None
    assert branch.messages() == []


def test_an_mo_message_for_a_suspended_account_is_kept_from_its_webhook(
    live: Live, branch: Live, app: TwimlApp, smsc: Smsc
) -> None:
    """Through the carrier gateway and Celery; the live tenant's own text, sent after, shows the
    pipeline ran: its webhook task queues behind any the suspended account's text could have had."""
    smpp_connector(smsc)
    live.number = live.give_number(sms_url=f"{app.url}/clinic").phone_number
    app.routes["/clinic"] = twiml("<Response/>")
    set_status(live, branch, "suspended")
    celery_app.control.purge()
    with celery_worker(), gateway_process():
        smsc.mo(from_=CUSTOMER.lstrip("+"), to=branch.number.lstrip("+"), text="Suspended?")
        (kept,) = branch.wait_for(lambda: branch.messages(direction="inbound"), "the kept text", timeout=30)
        smsc.mo(from_=CUSTOMER.lstrip("+"), to=live.number.lstrip("+"), text="And here?")
        app.wait_for("/clinic", timeout=30)
    assert (kept.body, kept.error_code) == ("Suspended?", 30002)
    assert app.requests_to("/branch") == []
    assert errors(branch) == [(30002, f"{app.url}/branch")]
