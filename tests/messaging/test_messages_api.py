"""The Messages API: Twilio's shapes, errors, scheduling, cancel, redact, delete, filters, paging and
isolation (in-process), then the official `twilio` SDK against the live ASGI server."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from twilio.base.exceptions import TwilioRestException

from compliance.models import AuditEntry
from conversations.models import Item
from core.tenancy import tenant_activate, tenant_scope
from messaging.models import ConsentState, Media, Message
from monitor.models import WebhookDelivery
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.conftest import Tenant, TwilioClient, make_tenant
from tests.messaging.conftest import RECIPIENT, SENDER
from tests.numbering.test_twilio_sdk import sdk

MESSAGES = "Messages.json"
TWILIO_KEYS = {
    "account_sid",
    "api_version",
    "body",
    "date_created",
    "date_sent",
    "date_updated",
    "direction",
    "error_code",
    "error_message",
    "from",
    "messaging_service_sid",
    "num_media",
    "num_segments",
    "price",
    "price_unit",
    "sid",
    "status",
    "subresource_uris",
    "to",
    "uri",
}


def send_at(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def create(api: TwilioClient, **params: Any) -> Any:
    params.setdefault("To", RECIPIENT)
    params.setdefault("From", SENDER)
    params.setdefault("Body", "Hello from the clinic")
    return api.post(api.url(MESSAGES), params)


def audit_count(tenant: Tenant) -> int:
    return AuditEntry.objects.filter(account_id=tenant.account.id).count()


def test_create_queues_the_message_in_twilio_shape(
    api_a: TwilioClient, sender: IncomingPhoneNumber, django_capture_on_commit_callbacks: Any
) -> None:
    before = audit_count(api_a.tenant)
    with django_capture_on_commit_callbacks() as callbacks:
        response = create(
            api_a, Body="Your appointment is at 10:00 ✅", StatusCallback="https://example.com/s"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == TWILIO_KEYS
    sid = body["sid"]
    assert sid.startswith("SM") and len(sid) == 34
    assert body["status"] == "queued" and body["direction"] == "outbound-api"
    assert (body["to"], body["from"], body["body"]) == (RECIPIENT, SENDER, "Your appointment is at 10:00 ✅")
    assert (body["num_segments"], body["num_media"]) == ("1", "0")  # strings, as Twilio sends them
    assert body["error_code"] is None and body["price"] is None and body["date_sent"] is None
    assert body["account_sid"] == api_a.tenant.sid and body["api_version"] == "2010-04-01"
    assert body["uri"] == f"/2010-04-01/Accounts/{api_a.tenant.sid}/Messages/{sid}.json"
    assert body["subresource_uris"] == {
        "media": f"/2010-04-01/Accounts/{api_a.tenant.sid}/Messages/{sid}/Media.json",
        "feedback": f"/2010-04-01/Accounts/{api_a.tenant.sid}/Messages/{sid}/Feedback.json",
    }
    assert body["date_created"].endswith("+0000")
    message = Message.objects.get(id=sid[2:])
    assert (message.encoding, message.phone_number_id) == ("UCS-2", sender.id)
    assert audit_count(api_a.tenant) == before + 1
    # The queued callback is in the outbox and the message in its conversation; on commit the
    # callback's delivery and the send task go to Celery.
    delivery = WebhookDelivery.objects.get()
    assert delivery.url == "https://example.com/s" and delivery.params["MessageStatus"] == "queued"
    assert delivery.params["MessageSid"] == delivery.params["SmsSid"] == sid
    assert Item.objects.filter(message_id=message.id).exists()
    assert len(callbacks) == 2


def test_segments_are_counted_as_carriers_count_them(
    api_a: TwilioClient, sender: IncomingPhoneNumber
) -> None:
    assert create(api_a, Body="a" * 161).json()["num_segments"] == "2"
    assert create(api_a, Body="€" * 80).json()["num_segments"] == "1"
    assert create(api_a, Body="😀" * 36).json()["num_segments"] == "2"


def test_media_urls_are_kept_and_listed(api_a: TwilioClient, sender: IncomingPhoneNumber) -> None:
    response = create(api_a, Body="", MediaUrl=["https://example.com/a.jpg", "https://example.com/b.png?x=1"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["num_media"] == "2"
    media = api_a.get(body["subresource_uris"]["media"]).json()
    assert set(media) >= {"media_list", "next_page_uri", "uri"}
    listed = media["media_list"]
    assert [m["content_type"] for m in reversed(listed)] == ["image/jpeg", "image/png"]
    one = listed[0]
    assert one["sid"].startswith("ME") and one["parent_sid"] == body["sid"]
    assert api_a.get(one["uri"]).json() == one
    other = create(api_a).json()["sid"]
    assert api_a.get(one["uri"].replace(body["sid"], other)).status_code == 404


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"To": ""}, 21604),
        ({"To": "12"}, 21211),
        ({"To": "not a number"}, 21211),
        ({"From": ""}, 21603),
        ({"From": "+14155550199"}, 21606),
        ({"MessagingServiceSid": "MG123"}, 21705),
        ({"Body": ""}, 21602),
        ({"Body": None}, 21619),
        ({"Body": "x" * 1601}, 21617),
        ({"MediaUrl": [f"https://example.com/{i}.jpg" for i in range(11)]}, 21623),
        ({"MediaUrl": ["ftp://example.com/a.jpg"]}, 21620),
        ({"ValidityPeriod": "0"}, 21624),
        ({"ValidityPeriod": "36001"}, 21624),
        ({"ValidityPeriod": "soon"}, 21624),
        ({"ScheduleType": "fixed"}, 35111),
        ({"ScheduleType": "fixed", "SendAt": "tomorrow"}, 35114),
        ({"ScheduleType": "fixed", "SendAt": "in-2-minutes"}, 35114),
        ({"ScheduleType": "fixed", "SendAt": "in-36-days"}, 35114),
        ({"ScheduleType": "weekly", "SendAt": "in-1-hour"}, 35126),
        ({"SendAt": "in-1-hour"}, 20422),
        ({"StatusCallback": "not-a-url"}, 21205),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    api_a: TwilioClient, sender: IncomingPhoneNumber, params: dict[str, Any], code: int
) -> None:
    relative = {"in-2-minutes": send_at(2), "in-36-days": send_at(36 * 24 * 60), "in-1-hour": send_at(60)}
    params = {k: relative.get(v, v) if isinstance(v, str) else v for k, v in params.items()}
    data = {"To": RECIPIENT, "From": SENDER, "Body": "Hi", **params}
    data = {k: v for k, v in data.items() if v is not None}
    before = audit_count(api_a.tenant)
    response = api_a.post(api_a.url(MESSAGES), data)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code, response.json()
    assert response.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert not Message.objects.exists() and not Media.objects.exists()
    assert audit_count(api_a.tenant) == before


def test_opted_out_recipient_gets_21610_and_nothing_is_stored(
    api_a: TwilioClient, sender: IncomingPhoneNumber
) -> None:
    ConsentState.objects.create(
        account=api_a.tenant.account, sender=SENDER, recipient=RECIPIENT, is_opted_out=True
    )
    response = create(api_a)
    assert (response.status_code, response.json()["code"]) == (400, 21610)
    assert not Message.objects.exists()
    # Opting out of one number does not opt out of the tenant's others.
    number_create(account=api_a.tenant.account, actor="test", phone_number="+15017122662")
    assert create(api_a, From="+15017122662").status_code == 201


def test_a_scheduled_message_waits_and_can_be_canceled_once(
    api_a: TwilioClient, sender: IncomingPhoneNumber, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = create(api_a, SendAt=send_at(60), ScheduleType="fixed")
    assert response.status_code == 201, response.content
    scheduled = response.json()
    assert scheduled["status"] == "scheduled"
    # In its conversation already, and nothing to send yet (the gateway's sweep releases it when due).
    assert not callbacks
    assert Item.objects.filter(message_id=scheduled["sid"][2:]).exists()
    url = scheduled["uri"]
    canceled = api_a.post(url, {"Status": "canceled"})
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    again = api_a.post(url, {"Status": "canceled"})
    assert (again.status_code, again.json()["code"]) == (400, 30409)
    queued = create(api_a).json()
    assert api_a.post(queued["uri"], {"Status": "canceled"}).json()["code"] == 30409
    actions = list(
        AuditEntry.objects.filter(account_id=api_a.tenant.account.id)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[-3:] == ["message.create", "message.cancel", "message.create"]


@pytest.mark.parametrize(
    "params", [{}, {"Body": "new text"}, {"Status": "sent"}, {"Body": "", "Status": "canceled"}]
)
def test_updates_other_than_redact_or_cancel_get_30400(
    api_a: TwilioClient, sender: IncomingPhoneNumber, params: dict[str, str]
) -> None:
    uri = create(api_a).json()["uri"]
    response = api_a.post(uri, params)
    assert (response.status_code, response.json()["code"]) == (400, 30400)


def finish(sid: str, status: str = "delivered") -> None:
    Message.objects.filter(id=sid[2:]).update(status=status)


def test_redact_empties_a_finished_body(api_a: TwilioClient, sender: IncomingPhoneNumber) -> None:
    message = create(api_a, Body="Your code is 123456").json()
    early = api_a.post(message["uri"], {"Body": ""})
    assert (early.status_code, early.json()["code"]) == (409, 20009)
    finish(message["sid"])
    redacted = api_a.post(message["uri"], {"Body": ""})
    assert redacted.status_code == 200 and redacted.json()["body"] == ""
    assert Message.objects.get(id=message["sid"][2:]).body == ""
    assert AuditEntry.objects.filter(action="message.redact", object_sid=message["sid"]).count() == 1


def test_delete_only_once_finished(api_a: TwilioClient, sender: IncomingPhoneNumber) -> None:
    message = create(api_a, MediaUrl=["https://example.com/a.jpg"]).json()
    early = api_a.delete(message["uri"])
    assert (early.status_code, early.json()["code"]) == (409, 20009)
    finish(message["sid"], "undelivered")
    assert api_a.delete(message["uri"]).status_code == 204
    assert api_a.get(message["uri"]).status_code == 404
    assert not Media.objects.exists()
    assert AuditEntry.objects.filter(action="message.delete", object_sid=message["sid"]).count() == 1


def test_list_filters_and_keyset_paging(api_a: TwilioClient, sender: IncomingPhoneNumber) -> None:
    other = "+14155550124"
    sids = [create(api_a, To=RECIPIENT if i % 2 else other, Body=f"n{i}").json()["sid"] for i in range(7)]
    day = datetime(2031, 3, 4, 12, 0, tzinfo=UTC)
    for i, sid in enumerate(sids):
        Message.objects.filter(id=sid[2:]).update(date_sent=day + timedelta(days=i - 3))
    url = api_a.url(MESSAGES)
    everything = api_a.get(url).json()
    assert [m["sid"] for m in everything["messages"]] == list(reversed(sids))
    assert {m["to"] for m in api_a.get(url, To=other).json()["messages"]} == {other}
    assert len(api_a.get(url, To=other).json()["messages"]) == 4
    assert len(api_a.get(url, From=SENDER).json()["messages"]) == 7
    assert api_a.get(url, From="+15550000000").json()["messages"] == []
    on_day = api_a.get(url, DateSent="2031-03-04").json()["messages"]
    assert [m["sid"] for m in on_day] == [sids[3]]
    assert on_day[0]["date_sent"] == "Tue, 04 Mar 2031 12:00:00 +0000"
    after = api_a.get(url, **{"DateSent>": "2031-03-05"}).json()["messages"]
    assert {m["sid"] for m in after} == set(sids[4:])
    before = api_a.get(url, **{"DateSent<": "2031-03-04T11:00:00Z"}).json()["messages"]
    assert {m["sid"] for m in before} == set(sids[:3])
    assert api_a.get(url, DateSent="yesterday").json()["code"] == 20422
    # Pages follow next_page_uri (a keyset token), in order, with no row twice.
    seen: list[str] = []
    page = api_a.get(url, PageSize=3).json()
    while True:
        seen += [m["sid"] for m in page["messages"]]
        if not page["next_page_uri"]:
            break
        page = api_a.get(page["next_page_uri"]).json()
    assert seen == list(reversed(sids))
    assert api_a.get(url, PageSize=3, PageToken="PTnonsense").json()["code"] == 21481


def test_list_query_count_does_not_grow_with_data(
    api_a: TwilioClient, sender: IncomingPhoneNumber, django_assert_num_queries: Any
) -> None:
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_a.get(api_a.url(MESSAGES), PageSize=50).status_code == 200
        return len(captured.captured_queries)

    create(api_a)
    small = count_queries()
    for i in range(20):
        create(api_a, Body=f"m{i}", MediaUrl=["https://example.com/a.jpg"])
    with django_assert_num_queries(small):
        assert len(api_a.get(api_a.url(MESSAGES), PageSize=50).json()["messages"]) == 21


def test_message_is_invisible_to_other_tenant(
    api_a: TwilioClient, api_b: TwilioClient, sender: IncomingPhoneNumber
) -> None:
    message = create(api_a, MediaUrl=["https://example.com/a.jpg"]).json()
    ConsentState.objects.create(
        account=api_a.tenant.account, sender=SENDER, recipient="+14155550999", is_opted_out=True
    )
    path = message["uri"].replace(api_a.tenant.sid, api_b.tenant.sid)
    assert api_b.get(path).status_code == 404
    assert api_b.post(path, {"Body": ""}).status_code == 404
    assert api_b.delete(path).status_code == 404
    assert api_b.get(path.replace(".json", "/Media.json")).json()["media_list"] == []
    assert api_b.get(api_b.url(MESSAGES)).json()["messages"] == []
    # B's credentials on A's account path are refused outright.
    assert api_b.get(message["uri"]).status_code in (401, 403, 404)
    # Underneath the application: without a tenant, the app role's SQL sees no row at all.
    tenant_activate(None)
    with connection.cursor() as cursor:
        for table in ("messaging_message", "messaging_media", "messaging_consentstate"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            assert cursor.fetchone()[0] == 0, table
    tenant_activate(api_b.tenant.account.id)
    assert not Message.objects.exists() and not ConsentState.objects.exists()


# The official SDK against the live server ----------------------------------------------------------


@pytest.fixture
def sdk_tenant(django_db_blocker: Any) -> Tenant:
    with django_db_blocker.unblock():
        tenant = make_tenant("SDK texting clinic")
        with tenant_scope(tenant.account.id):
            number_create(account=tenant.account, actor="test", phone_number="+15017122670")
        return tenant


@pytest.mark.e2e
def test_messages_through_the_official_sdk(server: str, sdk_tenant: Tenant, django_db_blocker: Any) -> None:
    client = sdk(server, sdk_tenant.sid, sdk_tenant.token)
    sent = client.messages.create(
        to=RECIPIENT,
        from_="+15017122670",
        body="Hello there",
        status_callback="https://example.com/status",
        media_url=["https://example.com/a.jpg"],
    )
    assert sent.sid.startswith("SM") and sent.status == "queued" and sent.num_segments == "1"
    assert sent.num_media == "1" and sent.direction == "outbound-api" and sent.date_created.tzinfo is not None
    fetched = client.messages(sent.sid).fetch()
    assert (fetched.body, fetched.to, fetched.from_) == ("Hello there", RECIPIENT, "+15017122670")
    media = client.messages(sent.sid).media.list()
    assert [m.content_type for m in media] == ["image/jpeg"] and media[0].parent_sid == sent.sid

    later = datetime.now(UTC) + timedelta(hours=2)
    scheduled = client.messages.create(
        to=RECIPIENT, from_="+15017122670", body="Reminder", send_at=later, schedule_type="fixed"
    )
    assert scheduled.status == "scheduled"
    assert client.messages(scheduled.sid).update(status="canceled").status == "canceled"
    assert client.messages(scheduled.sid).update(body="").body == ""
    client.messages(scheduled.sid).delete()
    with pytest.raises(TwilioRestException) as gone:
        client.messages(scheduled.sid).fetch()
    assert (gone.value.status, gone.value.code) == (404, 20404)

    with pytest.raises(TwilioRestException) as bad:
        client.messages.create(to="12", from_="+15017122670", body="x")
    assert (bad.value.status, bad.value.code) == (400, 21211)
    with pytest.raises(TwilioRestException) as not_ours:
        client.messages.create(to=RECIPIENT, from_="+15017122671", body="x")
    assert not_ours.value.code == 21606

    for i in range(4):
        client.messages.create(to="+14155550177", from_="+15017122670", body=f"n{i}")
    listed = client.messages.list(to="+14155550177", page_size=3)
    assert len(listed) == 4 and {m.to for m in listed} == {"+14155550177"}
    assert client.messages.list(date_sent_after=datetime.now(UTC) + timedelta(days=1)) == []

    with django_db_blocker.unblock():
        other = make_tenant("SDK hotel")
    outsider = sdk(server, other.sid, other.token)
    with pytest.raises(TwilioRestException) as hidden:
        outsider.messages(sent.sid).fetch()
    assert hidden.value.status == 404
    assert outsider.messages.list() == []
