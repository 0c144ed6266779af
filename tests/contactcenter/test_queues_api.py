"""Queues and their Members over the Twilio wire format: shapes, positions, a REST dequeue (its signal
to the caller's worker), bad input, and another tenant's queues out of sight."""

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.conf import settings

from contactcenter.members import queue_member_enqueue
from contactcenter.models import QueueMember
from core.tenancy import tenant_scope
from tests.conftest import TwilioClient
from voice import control_channel
from voice.models import Call

QUEUES = "Queues.json"


def _create(api: TwilioClient, name: str = "support", **params: object) -> dict[str, Any]:
    response = api.post(api.url(QUEUES), {"FriendlyName": name, **params})
    assert response.status_code == 201, response.content
    return dict(response.json())


@pytest.fixture
def caller(api_a: TwilioClient) -> Callable[[str], Call]:
    """A live inbound call of tenant A, enqueued in the named queue as `<Enqueue>` does."""

    def enqueue(queue_name: str) -> Call:
        account = api_a.tenant.account
        with tenant_scope(account.id):
            call = Call.objects.create(
                account=account,
                direction=Call.Direction.INBOUND,
                from_number=f"+1415555{uuid.uuid4().int % 10000:04d}",
                to_number="+12025550100",
                status=Call.Status.IN_PROGRESS,
                channel_id="CA" + uuid.uuid4().hex,
            )
        assert queue_member_enqueue(account_id=account.id, call_id=call.id, queue_name=queue_name)
        return call

    return enqueue


def test_create_fetch_update_list_delete(api_a: TwilioClient) -> None:
    body = _create(api_a, MaxSize=10)
    assert body["sid"].startswith("QU") and len(body["sid"]) == 34
    assert body["account_sid"] == api_a.tenant.sid and body["friendly_name"] == "support"
    assert (body["current_size"], body["max_size"], body["average_wait_time"]) == (0, 10, 0)
    assert body["uri"] == f"/2010-04-01/Accounts/{api_a.tenant.sid}/Queues/{body['sid']}.json"
    assert body["date_created"].endswith("+0000")
    assert _create(api_a, "sales")["max_size"] == 1000  # Twilio's default

    path = api_a.url(f"Queues/{body['sid']}.json")
    updated = api_a.post(path, {"FriendlyName": "help", "MaxSize": 5000})
    assert (updated.json()["friendly_name"], updated.json()["max_size"]) == ("help", 5000)
    listed = api_a.get(api_a.url(QUEUES)).json()
    assert [q["friendly_name"] for q in listed["queues"]] == ["sales", "help"]  # newest first

    assert api_a.delete(path).status_code == 204
    assert api_a.get(path).json()["code"] == 20404


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"FriendlyName": "x" * 65},
        {"FriendlyName": "a", "MaxSize": 5001},
        {"FriendlyName": "a", "MaxSize": 0},
    ],
)
def test_bad_queues_are_refused(api_a: TwilioClient, params: dict[str, object]) -> None:
    response = api_a.post(api_a.url(QUEUES), params)
    assert response.status_code == 400 and response.json()["code"] in (20001, 20422), response.content


def test_a_queue_name_is_one_queue_per_account(api_a: TwilioClient, api_b: TwilioClient) -> None:
    _create(api_a)
    taken = api_a.post(api_a.url(QUEUES), {"FriendlyName": "support"})
    assert taken.status_code == 400 and "already exists" in taken.json()["message"]
    _create(api_b)  # another account's name is its own


def test_members_in_line_with_positions_waits_and_front(
    api_a: TwilioClient, caller: Callable[[str], Call]
) -> None:
    first, second, third = caller("support"), caller("support"), caller("support")
    queue = api_a.get(api_a.url(QUEUES)).json()["queues"][0]
    assert queue["current_size"] == 3 and queue["friendly_name"] == "support"  # created at first use
    members_path = api_a.url(f"Queues/{queue['sid']}/Members.json")

    page = api_a.get(members_path, PageSize=2).json()
    assert [(m["call_sid"], m["position"]) for m in page["queue_members"]] == [
        (first.sid, 1),
        (second.sid, 2),
    ]
    following = api_a.client.get(page["next_page_uri"], **api_a.tenant.auth()).json()
    assert [(m["call_sid"], m["position"]) for m in following["queue_members"]] == [(third.sid, 3)]
    member = page["queue_members"][0]
    assert member["queue_sid"] == queue["sid"] and member["wait_time"] >= 0
    assert member["date_enqueued"].endswith("+0000")
    assert member["uri"] == members_path.replace(".json", f"/{first.sid}.json")

    front = api_a.get(api_a.url(f"Queues/{queue['sid']}/Members/Front.json")).json()
    assert (front["call_sid"], front["position"]) == (first.sid, 1)
    by_sid = api_a.get(api_a.url(f"Queues/{queue['sid']}/Members/{third.sid}.json")).json()
    assert by_sid["position"] == 3


def test_dequeue_takes_the_caller_out_and_signals_its_worker(
    api_a: TwilioClient,
    caller: Callable[[str], Call],
    django_capture_on_commit_callbacks: Any,
) -> None:
    first, second = caller("support"), caller("support")
    queue_sid = api_a.get(api_a.url(QUEUES)).json()["queues"][0]["sid"]
    listener = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    listener.subscribe(control_channel.server_channel(None))
    listener.get_message(timeout=1)  # the subscription's confirmation

    with django_capture_on_commit_callbacks(execute=True):
        dequeued = api_a.post(
            api_a.url(f"Queues/{queue_sid}/Members/Front.json"),
            {"Url": "https://example.com/agent", "Method": "GET"},
        )
    assert dequeued.status_code == 200, dequeued.content
    assert dequeued.json()["call_sid"] == first.sid

    message = listener.get_message(timeout=2)
    assert message is not None
    command = json.loads(message["data"])
    assert (command["action"], command["call_sid"], command["name"]) == ("signal", first.sid, "queue.dequeue")
    assert command["payload"] | {"member_id": ""} == {
        "member_id": "",
        "kind": "redirect",
        "url": "https://example.com/agent",
        "method": "GET",
    }
    with tenant_scope(api_a.tenant.account.id):
        left = QueueMember.objects.get(call=first)
    assert (left.status, left.result) == ("left", "redirected") and left.left_at is not None
    members = api_a.get(api_a.url(f"Queues/{queue_sid}/Members.json")).json()["queue_members"]
    assert [(m["call_sid"], m["position"]) for m in members] == [(second.sid, 1)]
    gone = api_a.post(
        api_a.url(f"Queues/{queue_sid}/Members/{first.sid}.json"), {"Url": "https://example.com/a"}
    )
    assert gone.status_code == 404 and gone.json()["code"] == 20404
    no_url = api_a.post(api_a.url(f"Queues/{queue_sid}/Members/Front.json"), {})
    assert no_url.status_code == 400


def test_a_queue_with_callers_is_not_deleted(api_a: TwilioClient, caller: Callable[[str], Call]) -> None:
    caller("support")
    queue_sid = api_a.get(api_a.url(QUEUES)).json()["queues"][0]["sid"]
    refused = api_a.delete(api_a.url(f"Queues/{queue_sid}.json"))
    assert refused.status_code == 400 and "has members" in refused.json()["message"]


def test_an_empty_queue_has_no_front(api_a: TwilioClient) -> None:
    queue = _create(api_a)
    missing = api_a.get(api_a.url(f"Queues/{queue['sid']}/Members/Front.json"))
    assert missing.status_code == 404 and missing.json()["code"] == 20404


def test_queues_are_invisible_to_other_tenant(
    api_a: TwilioClient, api_b: TwilioClient, caller: Callable[[str], Call]
) -> None:
    first = caller("support")
    queue_sid = api_a.get(api_a.url(QUEUES)).json()["queues"][0]["sid"]
    assert api_b.get(api_b.url(QUEUES)).json()["queues"] == []
    for path in (
        f"Queues/{queue_sid}.json",
        f"Queues/{queue_sid}/Members.json",
        f"Queues/{queue_sid}/Members/Front.json",
        f"Queues/{queue_sid}/Members/{first.sid}.json",
    ):
        assert api_b.get(api_b.url(path)).json()["code"] == 20404, path
    assert api_b.post(api_b.url(f"Queues/{queue_sid}.json"), {"MaxSize": 1}).json()["code"] == 20404
    dequeue = api_b.post(api_b.url(f"Queues/{queue_sid}/Members/Front.json"), {"Url": "https://e.com/x"})
    assert dequeue.json()["code"] == 20404
    assert api_b.delete(api_b.url(f"Queues/{queue_sid}.json")).json()["code"] == 20404
    # and with A's SID in B's own path: still B's scope
    assert api_b.get(api_a.url(f"Queues/{queue_sid}.json")).status_code in (401, 403, 404)


def test_the_members_list_takes_a_few_queries_however_long_the_line(
    api_a: TwilioClient, caller: Callable[[str], Call], django_assert_max_num_queries: Any
) -> None:
    for _ in range(5):
        caller("support")
    queue_sid = api_a.get(api_a.url(QUEUES)).json()["queues"][0]["sid"]
    with django_assert_max_num_queries(8):
        members = api_a.get(api_a.url(f"Queues/{queue_sid}/Members.json")).json()["queue_members"]
    assert [m["position"] for m in members] == [1, 2, 3, 4, 5]


def test_a_dequeue_redis_cannot_carry_changes_nothing(
    api_a: TwilioClient, caller: Callable[[str], Call], settings: Any
) -> None:
    """With the control channel down the caller would never hear of its dequeue: out of the queue yet
    still in its wait music, for ever. The client is told to retry and the caller keeps its place."""
    waiting = caller("support")
    queue_sid = api_a.get(api_a.url(QUEUES)).json()["queues"][0]["sid"]
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    control_channel._client.cache_clear()
    try:
        refused = api_a.post(
            api_a.url(f"Queues/{queue_sid}/Members/Front.json"), {"Url": "https://example.com/agent"}
        )
    finally:
        control_channel._client.cache_clear()
    assert refused.status_code == 503 and refused.json()["code"] == 20503, refused.content
    with tenant_scope(api_a.tenant.account.id):
        assert QueueMember.objects.get(call=waiting).status == "waiting"
