"""Inbound messages: Twilio's SMS webhook to the tenant's real HTTP app (signed, with fallback), the
MessagingResponse it returns carried out (Message replies, Redirect), errors in the account's error
log; then end to end: an MO message injected at the SMSC is answered through the SMSC."""

import json
from typing import Any

import pytest

from config.celery import app as celery_app
from conversations.models import Item
from messaging.carriers.base import InboundSms
from messaging.inbound import message_receive
from messaging.models import Message
from messaging.replies import message_webhook_run
from messaging.sweep import messages_sweep
from monitor.models import Notification
from tests.live import celery_worker
from tests.messaging.conftest import Live, gateway_process, smpp_connector
from tests.messaging.smsc import Smsc
from tests.voice.twiml_app import TwimlApp, twiml

CUSTOMER = "+14155550188"

pytestmark = pytest.mark.e2e


@pytest.fixture
def texting(live: Live, app: TwimlApp) -> Live:
    """The live tenant's number answers texts with the app's /sms (falling back to /fallback)."""
    live.number = live.give_number(
        sms_url=f"{app.url}/sms", sms_fallback_url=f"{app.url}/fallback"
    ).phone_number
    return live


def receive(live: Live, body: str, **extra: Any) -> Message:
    sms = InboundSms(
        from_number=CUSTOMER.lstrip("+"), to=live.number, body=body, carrier_message_id="c1", **extra
    )
    message = message_receive(sms=sms, connector="smsc")
    assert message is not None
    return message


def run_webhook(live: Live, message: Message) -> None:
    message_webhook_run(account_id=live.tenant.account.id, message_id=message.id)


def replies(live: Live) -> list[Message]:
    return live.messages(direction="outbound-reply")


def notifications(live: Live) -> list[Notification]:
    with live.db():
        return list(Notification.objects.order_by("date_created"))


def test_the_webhook_gets_twilios_parameters_signed_and_only_once(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = twiml("<Response/>")
    message = receive(
        texting,
        "Can I move my appointment?",
        media_urls=("https://cdn.example.com/a.jpg", "https://cdn.example.com/b.png"),
    )
    assert message.is_webhook_pending
    run_webhook(texting, message)
    run_webhook(texting, message)  # a redelivered task finds the webhook already claimed
    (hit,) = app.requests_to("/sms")
    assert app.is_signed(hit, texting.tenant.token)
    assert hit.form == {
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "SmsMessageSid": message.sid,
        "AccountSid": texting.tenant.sid,
        "From": CUSTOMER,
        "To": texting.number,
        "Body": "Can I move my appointment?",
        "NumSegments": "1",
        "NumMedia": "2",
        "MediaUrl0": "https://cdn.example.com/a.jpg",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "https://cdn.example.com/b.png",
        "MediaContentType1": "image/png",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "FromCountry": "US",
        "ToCountry": "US",
    }
    assert replies(texting) == [] and notifications(texting) == []


def test_message_verbs_become_outbound_replies(texting: Live, app: TwimlApp) -> None:
    other = texting.give_number().phone_number
    app.routes["/sms"] = twiml(
        "<Response><Message action='/status'>Thanks, we will call you.</Message>"
        f"<Message to='+14155550199' from='{other}'><Body>New request</Body>"
        "<Media>https://example.com/card.png</Media></Message></Response>"
    )
    run_webhook(texting, receive(texting, "Call me"))
    first, second = replies(texting)
    assert (first.to_number, first.from_number, first.body) == (
        CUSTOMER,
        texting.number,
        "Thanks, we will call you.",
    )
    assert first.status_callback == f"{app.url}/status" and first.status == "queued"
    assert (second.to_number, second.from_number, second.body, second.num_media) == (
        "+14155550199",
        other,
        "New request",
        1,
    )


def test_redirect_fetches_the_next_document(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = twiml(
        "<Response><Redirect method='GET'>next</Redirect><Message>never</Message></Response>"
    )
    app.routes["/next"] = twiml("<Response><Message>After the redirect</Message></Response>")
    message = receive(texting, "hello")
    run_webhook(texting, message)
    (hit,) = app.requests_to("/next")
    assert hit.method == "GET" and hit.form["MessageSid"] == message.sid
    assert [r.body for r in replies(texting)] == ["After the redirect"]


def test_a_redirect_loop_ends_in_the_error_log(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = twiml("<Response><Redirect>/sms</Redirect></Response>")
    run_webhook(texting, receive(texting, "loop"))
    assert len(app.requests_to("/sms")) == 10
    assert [n.error_code for n in notifications(texting)] == [12400]


def test_a_failing_sms_url_falls_back(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = lambda form: (500, "text/plain", b"boom")
    app.routes["/fallback"] = twiml("<Response><Message>Sorry, try again later</Message></Response>")
    run_webhook(texting, receive(texting, "hello"))
    (fallback,) = app.requests_to("/fallback")
    assert (fallback.form["ErrorCode"], fallback.form["ErrorUrl"]) == ("11200", f"{app.url}/sms")
    assert app.is_signed(fallback, texting.tenant.token)
    assert [r.body for r in replies(texting)] == ["Sorry, try again later"]
    (warning,) = notifications(texting)
    assert (warning.error_code, warning.log, warning.request_url) == (11200, 1, f"{app.url}/sms")
    assert warning.response_body == "boom"


def test_when_both_urls_fail_the_error_is_logged_without_the_body(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = lambda form: (404, "text/plain", b"")  # and /fallback has no route: 404 too
    run_webhook(texting, receive(texting, "my date of birth is 1 April 1980"))
    assert replies(texting) == []
    codes = [(n.error_code, n.log) for n in notifications(texting)]
    assert codes == [(11200, 1), (11200, 0)]
    for notification in notifications(texting):
        variables = json.loads(notification.request_variables)
        assert "Body" not in variables and variables["From"] == CUSTOMER
        assert "1980" not in notification.message_text


def test_an_sms_url_and_fallback_on_internal_addresses_are_never_fetched(
    texting: Live, app: TwimlApp, settings: Any
) -> None:
    """SSRF through the SMS webhook: neither URL is fetched, and the log says why."""
    settings.EGRESS_ALLOW = []  # as in production: loopback is no tenant's
    app.routes["/sms"] = app.routes["/fallback"] = twiml("<Response><Message>leak</Message></Response>")
    run_webhook(texting, receive(texting, "hello"))
    assert app.hits == [] and replies(texting) == []
    logged = notifications(texting)
    assert [(n.error_code, n.log) for n in logged] == [(11205, 1), (11205, 0)]
    assert all("not an allowed destination" in n.message_text and n.response_body == "" for n in logged)


def test_an_unreachable_app_is_11205(live: Live) -> None:
    number = live.give_number(sms_url="http://127.0.0.1:9/sms")
    live.number = number.phone_number
    run_webhook(live, receive(live, "anyone there?"))
    assert [n.error_code for n in notifications(live)] == [11205]


def test_bad_documents_and_foreign_verbs(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = twiml("<Response><Message>unclosed</Response>")
    run_webhook(texting, receive(texting, "one"))
    assert [n.error_code for n in notifications(texting)] == [12100]
    app.routes["/sms"] = twiml("<Response><Say>Hello</Say><Message>Still sent</Message></Response>")
    run_webhook(texting, receive(texting, "two"))
    assert [r.body for r in replies(texting)] == ["Still sent"]
    assert [n.error_code for n in notifications(texting)][1:] == [14110]


def test_an_empty_answer_means_no_reply(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = lambda form: (200, "text/html", b"")
    run_webhook(texting, receive(texting, "ok"))
    assert replies(texting) == [] and notifications(texting) == []


def test_a_reply_that_cannot_be_sent_is_logged(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = twiml(
        "<Response><Message from='+15005550006'>from a number we do not own</Message></Response>"
    )
    run_webhook(texting, receive(texting, "hi"))
    assert replies(texting) == []
    assert [n.error_code for n in notifications(texting)] == [21606]


def test_a_message_for_an_unknown_number_is_dropped(live: Live) -> None:
    sms = InboundSms(from_number=CUSTOMER, to="+19995550100", body="wrong number", carrier_message_id="x")
    assert message_receive(sms=sms, connector="smsc") is None


def test_the_sweep_requeues_a_webhook_whose_task_was_lost(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = twiml("<Response><Message>Got it</Message></Response>")
    celery_app.control.purge()
    message = receive(texting, "are you there?")
    celery_app.control.purge()  # the task is lost (as with a Redis restart)
    with celery_worker():
        assert messages_sweep(stale_seconds=0) == {"received": 1}
        app.wait_for("/sms")
        texting.wait_for(lambda: replies(texting), "the reply")
    assert not texting.get(message.sid).is_webhook_pending


def test_an_mo_message_is_answered_through_the_carrier(texting: Live, app: TwimlApp, smsc: Smsc) -> None:
    smpp_connector(smsc)
    app.routes["/sms"] = twiml("<Response><Message>See you at 10:00 ✅</Message></Response>")
    celery_app.control.purge()
    with celery_worker(), gateway_process():
        smsc.mo(from_=CUSTOMER.lstrip("+"), to=texting.number.lstrip("+"), text="Is 10:00 fine?")
        hit = app.wait_for("/sms", timeout=30)[0]
        assert hit.form["Body"] == "Is 10:00 fine?" and app.is_signed(hit, texting.tenant.token)
        reply = texting.wait_for(lambda: replies(texting), "the reply")[0]
        texting.wait(reply.sid, "delivered", timeout=30)
    (submission,) = smsc.accepted()
    assert (submission["text"], submission["destination_addr"]) == (
        "See you at 10:00 ✅",
        CUSTOMER.lstrip("+"),
    )
    (inbound,) = texting.messages(direction="inbound")
    assert (inbound.body, inbound.status, inbound.from_number) == ("Is 10:00 fine?", "received", CUSTOMER)


def test_texts_both_ways_land_in_one_conversation(texting: Live, app: TwimlApp) -> None:
    app.routes["/sms"] = twiml("<Response><Message>Hello back</Message></Response>")
    inbound = receive(texting, "Hello")
    run_webhook(texting, inbound)
    (reply,) = replies(texting)
    with texting.db():
        items = list(Item.objects.filter(message_id__in=[inbound.id, reply.id]).order_by("occurred_at"))
    assert [i.message_id for i in items] == [inbound.id, reply.id]
    assert items[0].conversation_id == items[1].conversation_id
