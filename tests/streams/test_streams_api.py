"""A call's Streams resource over the Twilio wire format: a fork created on a live call (its start
command to the call's worker), stopped by SID or name once, bad URLs refused with Twilio's codes, and
another tenant's calls and streams out of sight; then through the official SDK."""

import json
import uuid
from typing import Any

import pytest
import redis
from django.conf import settings

from core.tenancy import tenant_scope
from monitor.models import WebhookDelivery
from streams.models import Stream
from tests.conftest import TwilioClient, make_tenant
from tests.numbering.test_twilio_sdk import sdk
from voice import control_channel
from voice.models import Call

APP = "wss://127.0.0.1:9/media"  # loopback, which the tests' operator allowlist admits


def live_call(tenant_account: Any) -> Call:
    with tenant_scope(tenant_account.id):
        return Call.objects.create(
            account=tenant_account,
            direction=Call.Direction.INBOUND,
            from_number="+14155550100",
            to_number="+12025550100",
            status=Call.Status.IN_PROGRESS,
            channel_id="CA" + uuid.uuid4().hex,
        )


def streams_url(api: TwilioClient, call: Call, rest: str = "") -> str:
    return api.url(f"Calls/{call.sid}/Streams{rest}.json")


@pytest.fixture
def listener() -> Any:
    """The control channel the call's worker hears (no media server here: None's)."""
    pubsub = redis.Redis.from_url(settings.REDIS_URL).pubsub()
    pubsub.subscribe(control_channel.server_channel(None))
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    yield pubsub
    pubsub.close()


def commands(pubsub: Any) -> list[dict[str, Any]]:
    found = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        if message["type"] == "message":
            found.append(json.loads(message["data"]))
    return found


def test_create_signals_the_worker_and_stop_sends_stream_stopped_once(
    api_a: TwilioClient, listener: Any, django_capture_on_commit_callbacks: Any
) -> None:
    call = live_call(api_a.tenant.account)
    with django_capture_on_commit_callbacks(execute=True):
        created = api_a.post(
            streams_url(api_a, call),
            {
                "Url": APP,
                "Name": "transcriber",
                "Track": "both_tracks",
                "StatusCallback": "https://example.com/streams",
                "Parameter1.Name": "from_number",
                "Parameter1.Value": "+14155550100",
                "Parameter2.Name": "lang",
                "Parameter2.Value": "en",
            },
        )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["sid"].startswith("MZ") and len(body["sid"]) == 34
    assert (body["account_sid"], body["call_sid"], body["name"], body["status"]) == (
        api_a.tenant.sid,
        call.sid,
        "transcriber",
        "in-progress",
    )
    assert (
        body["uri"] == f"/2010-04-01/Accounts/{api_a.tenant.sid}/Calls/{call.sid}/Streams/{body['sid']}.json"
    )
    assert body["date_updated"].endswith("+0000")
    (command,) = commands(listener)
    assert (command["action"], command["call_sid"], command["name"]) == ("signal", call.sid, "streams.start")
    with tenant_scope(api_a.tenant.account.id):
        stream = Stream.objects.get(id=command["payload"]["stream_id"])
    assert stream.sid == body["sid"] and stream.track == "both_tracks" and not stream.is_bidirectional
    assert stream.parameters == {"from_number": "+14155550100", "lang": "en"}

    with django_capture_on_commit_callbacks(execute=True):
        stopped = api_a.post(streams_url(api_a, call, "/transcriber"), {"Status": "stopped"})
    assert stopped.status_code == 200, stopped.content
    assert (stopped.json()["sid"], stopped.json()["status"]) == (body["sid"], "stopped")
    again = api_a.post(streams_url(api_a, call, f"/{body['sid']}"), {"Status": "stopped"})
    assert again.status_code == 200 and again.json()["status"] == "stopped"

    with tenant_scope(api_a.tenant.account.id):
        callbacks = [d.params for d in WebhookDelivery.objects.filter(url="https://example.com/streams")]
        assert Stream.objects.get(id=stream.id).ended_by == Stream.Ending.STOPPED
    assert [c["StreamEvent"] for c in callbacks] == ["stream-stopped"]  # once, though stopped twice
    assert callbacks[0]["StreamSid"] == body["sid"] and callbacks[0]["StreamName"] == "transcriber"
    assert callbacks[0]["CallSid"] == call.sid and callbacks[0]["AccountSid"] == api_a.tenant.sid
    assert callbacks[0]["Timestamp"]
    stream_stopped = commands(listener)  # stream not yet given media: nothing to hang up
    assert stream_stopped == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("wss://127.0.0.1:9/media?token=secret", 31920),
        ("https://127.0.0.1:9/media", 31922),
        ("ws://169.254.169.254/latest", 11205),  # the policy refuses what the operator did not admit
        ("wss://", 31923),
    ],
)
def test_a_url_twilio_cannot_stream_to_is_refused(api_a: TwilioClient, url: str, code: int) -> None:
    call = live_call(api_a.tenant.account)
    refused = api_a.post(streams_url(api_a, call), {"Url": url})
    assert refused.status_code == 400, refused.content
    assert refused.json()["code"] == code
    with tenant_scope(api_a.tenant.account.id):
        assert not Stream.objects.exists()


def test_ws_scheme_and_an_unnamed_stream_are_accepted(api_a: TwilioClient) -> None:
    call = live_call(api_a.tenant.account)
    created = api_a.post(streams_url(api_a, call), {"Url": "ws://127.0.0.1:9/media"})
    assert created.status_code == 201, created.content
    assert created.json()["name"] == created.json()["sid"]  # named by its SID, so it can be stopped


def test_a_live_name_is_unique_per_call_and_an_ended_call_takes_no_stream(api_a: TwilioClient) -> None:
    call = live_call(api_a.tenant.account)
    assert api_a.post(streams_url(api_a, call), {"Url": APP, "Name": "a"}).status_code == 201
    taken = api_a.post(streams_url(api_a, call), {"Url": APP, "Name": "a"})
    assert taken.status_code == 400 and taken.json()["code"] == 20422
    api_a.post(streams_url(api_a, call, "/a"), {"Status": "stopped"})
    assert api_a.post(streams_url(api_a, call), {"Url": APP, "Name": "a"}).status_code == 201

    with tenant_scope(api_a.tenant.account.id):
        Call.objects.filter(id=call.id).update(status=Call.Status.COMPLETED)
    ended = api_a.post(streams_url(api_a, call), {"Url": APP})
    assert ended.status_code == 400 and ended.json()["code"] == 21220


def test_a_call_has_at_most_four_live_streams(api_a: TwilioClient) -> None:
    """Each stream is a channel on the media server and a websocket from the shared bridge: without
    Twilio's limit, one document of a thousand <Stream>s (or as many creates) would take them all."""
    call = live_call(api_a.tenant.account)
    for n in range(4):
        assert api_a.post(streams_url(api_a, call), {"Url": APP, "Name": str(n)}).status_code == 201
    fifth = api_a.post(streams_url(api_a, call), {"Url": APP, "Name": "4"})
    assert fifth.status_code == 400 and fifth.json()["code"] == 20422
    assert "4 live streams" in fifth.json()["message"]
    api_a.post(streams_url(api_a, call, "/0"), {"Status": "stopped"})
    assert api_a.post(streams_url(api_a, call), {"Url": APP, "Name": "4"}).status_code == 201


def test_status_other_than_stopped_and_a_missing_url_are_refused(api_a: TwilioClient) -> None:
    call = live_call(api_a.tenant.account)
    assert api_a.post(streams_url(api_a, call), {}).json()["code"] == 20001
    api_a.post(streams_url(api_a, call), {"Url": APP, "Name": "a"})
    bad = api_a.post(streams_url(api_a, call, "/a"), {"Status": "in-progress"})
    assert bad.status_code == 400
    missing = api_a.post(streams_url(api_a, call, "/nobody"), {"Status": "stopped"})
    assert missing.status_code == 404 and missing.json()["code"] == 20404


def test_stream_is_invisible_to_other_tenant(api_a: TwilioClient, tenant_b: Any) -> None:
    call = live_call(api_a.tenant.account)
    sid = api_a.post(streams_url(api_a, call), {"Url": APP, "Name": "a"}).json()["sid"]
    api_b = TwilioClient(tenant_b)
    for path in (
        api_b.url(f"Calls/{call.sid}/Streams.json"),
        api_b.url(f"Calls/{call.sid}/Streams/{sid}.json"),
        api_a.url(f"Calls/{call.sid}/Streams/{sid}.json", account_sid=tenant_b.sid),
    ):
        response = api_b.post(path, {"Url": APP, "Status": "stopped"})
        assert response.status_code == 404 and response.json()["code"] == 20404, path
    with tenant_scope(api_a.tenant.account.id):
        assert Stream.objects.get().status == "in-progress"


@pytest.mark.e2e
def test_streams_through_the_official_sdk(server: str, django_db_blocker: pytest.FixtureRequest) -> None:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        tenant = make_tenant("SDK streams")
        call = live_call(tenant.account)
    client = sdk(server, tenant.sid, tenant.token)
    stream = client.calls(call.sid).streams.create(
        url=APP, name="bot", track="inbound_track", parameter1_name="lang", parameter1_value="en"
    )
    assert stream.sid.startswith("MZ") and (stream.name, stream.status, stream.call_sid) == (
        "bot",
        "in-progress",
        call.sid,
    )
    stopped = client.calls(call.sid).streams("bot").update(status="stopped")
    assert (stopped.sid, stopped.status) == (stream.sid, "stopped")
    with django_db_blocker.unblock(), tenant_scope(tenant.account.id):  # type: ignore[attr-defined]
        assert Stream.objects.get().parameters == {"lang": "en"}
