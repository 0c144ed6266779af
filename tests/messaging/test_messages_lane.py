"""The Messages create lane (messaging/api/lane.py) in process, in front of a stand-in for Django and in
front of Django itself: what it answers, what it leaves to Django (body intact, nothing written),
and many creates at once sharing batches."""

import asyncio
import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from django.conf import settings
from django.test import override_settings

from compliance.models import AuditEntry
from compliance.services import audit_chain_verify
from config.asgi import application, django_application
from conversations.models import Conversation
from core.attempts import attempt_key, attempts_check
from core.tenancy import tenant_scope
from messaging import accept
from messaging.accept import CreateRequest
from messaging.api import lane
from messaging.models import ConsentState, Message
from numbering.services import number_create
from tenants.authentication import API_FAILURES_PER_ADDRESS
from tenants.services import api_key_create, auth_token_secondary_create
from tests.conftest import Tenant, make_subaccount, make_tenant
from tests.messaging.conftest import RECIPIENT, new_number
from tests.messaging.test_messages_api import TWILIO_KEYS

FORM = {"content-type": "application/x-www-form-urlencoded"}
SECURITY_HEADERS = (
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "content-security-policy",
)
TOO_MANY_BODY = {
    "code": 20429,
    "message": "Too Many Requests",
    "more_info": "https://www.twilio.com/docs/errors/20429",
    "status": 429,
}


class Django:
    """Stands in for Django behind the lane: answers 299 and keeps what reached it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        self.seen.append((scope["method"], scope["path"], message.get("body", b"")))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"django"})


@pytest.fixture(autouse=True)
def committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Real transactions: the lane's thread has a connection of its own and must see what tests write
    (each test makes its own tenants, so nothing needs cleaning up)."""
    with django_db_blocker.unblock():
        yield


@dataclass
class Texting(Tenant):
    """A committed tenant and its number (numbers are unique across tenants, and these tests commit)."""

    number: str = ""


def texting(name: str) -> Texting:
    tenant = make_tenant(name)
    number = new_number()
    with tenant_scope(tenant.account.id):
        number_create(account=tenant.account, actor="test", phone_number=number)
    return Texting(account=tenant.account, token=tenant.token, number=number)


@pytest.fixture
def clinic() -> Texting:
    return texting("Lane clinic")


def headers(tenant: Tenant, password: str | None = None) -> dict[str, str]:
    raw = base64.b64encode(f"{tenant.sid}:{password or tenant.token}".encode()).decode()
    return {**FORM, "authorization": f"Basic {raw}"}


def url(tenant: Tenant) -> str:
    return f"/2010-04-01/Accounts/{tenant.sid}/Messages.json"


def form(tenant: Texting, **params: str) -> str:
    return urlencode({"To": RECIPIENT, "From": tenant.number, "Body": "Your results are ready", **params})


async def post_all(app: Any, requests: Sequence[tuple[str, dict[str, str], str]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return list(
            await asyncio.gather(
                *(client.post(path, headers=head, content=body) for path, head, body in requests)
            )
        )


def post(app: Any, tenant: Tenant, body: str, head: dict[str, str] | None = None) -> httpx.Response:
    (response,) = asyncio.run(post_all(app, [(url(tenant), head or headers(tenant), body)]))
    return response


def stored(tenant: Tenant) -> list[Message]:
    with tenant_scope(tenant.account.id):
        return list(Message.objects.filter(account=tenant.account).order_by("date_created"))


def test_a_valid_create_is_answered_by_the_lane_in_twilio_shape(clinic: Texting) -> None:
    django = Django()
    response = post(lane.MessagesCreateLane(django), clinic, form(clinic))
    assert response.status_code == 201 and django.seen == []
    body = response.json()
    assert set(body) == TWILIO_KEYS and body["status"] == "queued" and body["to"] == RECIPIENT
    assert all(name in response.headers for name in SECURITY_HEADERS)
    (message,) = stored(clinic)
    assert message.sid == body["sid"] and message.body == "Your results are ready"
    with tenant_scope(clinic.account.id):
        conversation = Conversation.objects.get(account=clinic.account)
        assert conversation.last_item is not None and conversation.last_item.message_id == message.id
        verdict = audit_chain_verify(account_id=clinic.account.id)
    assert verdict.is_intact


def test_api_keys_and_a_parent_acting_for_its_subaccount_are_answered_by_the_lane(clinic: Texting) -> None:
    with tenant_scope(clinic.account.id):
        issued = api_key_create(account=clinic.account, friendly_name="lane", actor="test")
        branch = make_subaccount(clinic, "Lane branch")
    branch_number = new_number()
    with tenant_scope(branch.account.id):
        number_create(account=branch.account, actor="test", phone_number=branch_number)
    key_auth = base64.b64encode(f"{issued.key.sid}:{issued.secret}".encode()).decode()
    django = Django()
    app = lane.MessagesCreateLane(django)
    by_key, by_parent = asyncio.run(
        post_all(
            app,
            [
                (url(clinic), {**FORM, "authorization": f"Basic {key_auth}"}, form(clinic, Body="by key")),
                (url(branch), headers(clinic), form(clinic, From=branch_number, Body="for the branch")),
            ],
        )
    )
    assert (by_key.status_code, by_parent.status_code) == (201, 201) and django.seen == []
    assert by_parent.json()["account_sid"] == branch.sid
    with tenant_scope(clinic.account.id):
        actor = AuditEntry.objects.get(account_id=clinic.account.id, object_sid=by_key.json()["sid"]).actor
    with tenant_scope(branch.account.id):
        (message,) = Message.objects.filter(account=branch.account)
        parent_actor = AuditEntry.objects.get(account_id=branch.account.id, object_sid=message.sid).actor
    assert actor == f"api-key:{issued.key.sid}" and parent_actor == f"account:{clinic.sid}"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"password": "wrong"}, "credentials refused"),
        ({"To": "12"}, "the service refuses the recipient"),
        ({"From": "+15017122999"}, "not the account's number"),
        ({"Body": ""}, "the service refuses an empty body"),
        ({"ScheduleType": "weekly"}, "the serializer refuses the input"),
        ({"content-type": "application/json"}, "not a form"),
        ({"query": "?x=1"}, "a query string"),
    ],
)
def test_what_the_lane_cannot_answer_reaches_django_with_its_body(
    clinic: Texting, change: dict[str, str], why: str
) -> None:
    django = Django()
    head = headers(clinic, change.pop("password", None))
    head["content-type"] = change.pop("content-type", head["content-type"])
    path = url(clinic) + change.pop("query", "")
    body = form(clinic, **change)
    (response,) = asyncio.run(post_all(lane.MessagesCreateLane(django), [(path, head, body)]))
    assert response.status_code == 299, why
    assert django.seen == [("POST", url(clinic), body.encode())], why
    assert stored(clinic) == [], why


def test_opted_out_recipients_reach_django_and_nothing_is_stored(clinic: Texting) -> None:
    with tenant_scope(clinic.account.id):
        ConsentState.objects.create(
            account=clinic.account, sender=clinic.number, recipient=RECIPIENT, is_opted_out=True
        )
    django = Django()
    assert post(lane.MessagesCreateLane(django), clinic, form(clinic)).status_code == 299
    assert len(django.seen) == 1 and stored(clinic) == []


def test_many_creates_at_once_share_batches_and_each_gets_its_own_message(
    clinic: Texting, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = texting("Lane hotel")
    app = lane.MessagesCreateLane(Django())
    sizes: list[int] = []
    handle = app.batches.handle

    def counted(requests: Sequence[CreateRequest]) -> Sequence[accept.Outcome]:
        sizes.append(len(requests))
        return handle(requests)

    monkeypatch.setattr(app.batches, "handle", counted)
    recipients = [f"+1415555{i % 7:04d}" for i in range(40)]  # threads of several texts each
    requests = [
        (url(clinic), headers(clinic), form(clinic, To=to, Body=f"n{i}")) for i, to in enumerate(recipients)
    ]
    requests += [(url(other), headers(other), form(other, Body="hotel")) for _ in range(5)]
    responses = asyncio.run(post_all(app, requests))

    assert [r.status_code for r in responses] == [201] * 45
    assert len({r.json()["sid"] for r in responses}) == 45
    assert max(sizes) > 1 and sum(sizes) == 45  # batched, and every create handled once
    assert sorted(m.body for m in stored(clinic)) == sorted(f"n{i}" for i in range(40))
    assert [m.body for m in stored(other)] == ["hotel"] * 5
    for tenant, entries in ((clinic, 40), (other, 5)):
        with tenant_scope(tenant.account.id):
            verdict = audit_chain_verify(account_id=tenant.account.id)
        assert verdict.is_intact and verdict.entries >= entries
    with tenant_scope(clinic.account.id):
        threads = Conversation.objects.filter(account=clinic.account, tenant_number=clinic.number)
        assert threads.count() == 7
        for thread in threads:
            newest = Message.objects.filter(to_number=thread.contact.phone_number).latest("date_created")
            assert thread.last_item is not None and thread.last_item.message_id == newest.id


def test_a_failed_batch_leaves_every_create_to_django(
    clinic: Texting, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(accept, "messages_create", broken)
    django = Django()
    requests = [(url(clinic), headers(clinic), form(clinic, Body=f"n{i}")) for i in range(3)]
    responses = asyncio.run(post_all(lane.MessagesCreateLane(django), requests))
    assert [r.status_code for r in responses] == [299] * 3 and len(django.seen) == 3
    assert stored(clinic) == []


@override_settings(API_RATE_PER_SECOND=2)
def test_creates_over_the_rate_limit_get_20429_from_the_lane_itself(clinic: Texting) -> None:
    django = Django()
    app = lane.MessagesCreateLane(django)
    responses = [post(app, clinic, form(clinic, Body=f"n{i}")) for i in range(3)]
    assert [r.status_code for r in responses] == [201, 201, 429]
    assert responses[2].json() == TOO_MANY_BODY
    assert all(name in responses[2].headers for name in SECURITY_HEADERS)
    assert django.seen == [] and len(stored(clinic)) == 2  # a refused create costs no Django request


def test_in_front_of_django_errors_keep_djangos_answer_and_the_same_headers(clinic: Texting) -> None:
    created, refused, unauthenticated = (
        post(application, clinic, form(clinic)),
        post(application, clinic, form(clinic, To="12")),
        post(application, clinic, form(clinic), headers(clinic, "wrong")),
    )
    assert created.status_code == 201 and set(created.json()) == TWILIO_KEYS
    assert (refused.status_code, refused.json()["code"]) == (400, 21211)
    assert (unauthenticated.status_code, unauthenticated.json()["code"]) == (401, 20003)
    assert unauthenticated.headers["www-authenticate"] == 'Basic realm="Twilio API"'
    for name in SECURITY_HEADERS:
        assert created.headers[name] == refused.headers[name], name
    assert len(stored(clinic)) == 1


def test_the_lane_and_django_answer_the_same_create_with_the_same_headers(clinic: Texting) -> None:
    by_lane, by_django = (
        asyncio.run(post_all(app, [(url(clinic), headers(clinic), form(clinic))]))[0]
        for app in (lane.MessagesCreateLane(Django()), django_application)
    )
    assert by_lane.status_code == by_django.status_code == 201  # the stand-in for Django answers 299
    assert by_lane.json().keys() == by_django.json().keys()
    assert {**by_lane.headers, "content-length": ""} == {**by_django.headers, "content-length": ""}
    assert len(stored(clinic)) == 2


@pytest.mark.parametrize(
    ("host", "padding", "why"),
    [
        ("evil.example", 0, "a host not allowed"),
        ("localhost", settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "a body too large"),
    ],
)
def test_the_lane_refuses_what_django_refuses_as_django_does(
    clinic: Texting, host: str, padding: int, why: str
) -> None:
    body = form(clinic, Padding="x" * padding)
    head = {**headers(clinic), "host": host}
    by_lane, by_django = (
        asyncio.run(post_all(app, [(url(clinic), head, body)]))[0]
        for app in (application, django_application)
    )
    assert by_lane.status_code == by_django.status_code >= 400, why
    assert by_lane.content == by_django.content, why
    assert stored(clinic) == [], why


def test_the_lane_leaves_refused_credentials_to_django_which_counts_them_once(clinic: Texting) -> None:
    response = post(application, clinic, form(clinic), headers(clinic, "wrong"))
    assert (response.status_code, response.json()["code"]) == (401, 20003)
    by_address, by_credential = attempts_check(
        [attempt_key("api-address", "127.0.0.1"), attempt_key("api-credential", clinic.sid)]
    )
    assert (by_address.failures, by_credential.failures) == (1, 1)


def test_the_lane_answers_20429_itself_once_an_address_failed_too_often(clinic: Texting) -> None:
    for _ in range(API_FAILURES_PER_ADDRESS.free):
        post(application, clinic, form(clinic), headers(clinic, "wrong"))
    django = Django()
    (response,) = asyncio.run(
        post_all(lane.MessagesCreateLane(django), [(url(clinic), headers(clinic), form(clinic))])
    )
    assert response.status_code == 429 and response.json() == TOO_MANY_BODY
    assert django.seen == []


def test_the_lane_accepts_a_secondary_auth_token(clinic: Texting) -> None:
    with tenant_scope(clinic.account.id):
        secondary = auth_token_secondary_create(account=clinic.account, actor="test")
    django = Django()
    response = post(lane.MessagesCreateLane(django), clinic, form(clinic), headers(clinic, secondary))
    assert response.status_code == 201 and django.seen == []
