"""Handing a queued call to an ARI worker over the control channel (a worker places it for real in
test_call_flows): only an app whose worker is connected gets it, a call nobody takes fails, and a
worker listens on whatever one command did."""

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from core.tenancy import tenant_activate
from mediaserver.ari.client import AriError
from monitor.models import Notification
from tests.conftest import Tenant
from tests.conversations.factories import number, outbound_request
from voice import control_channel
from voice.call_state import call_update
from voice.models import Call, CallEvent, MediaServer
from voice.origination import call_originate, outbound_call_setup
from voice.outbound import call_create
from voice.worker import VoiceWorker

SERVER_ID = 10_007  # no row: the channel's name is all that matters here
COMMAND = control_channel.Originate(action="originate", call_sid="CA1", account_id="a", timeout=30)


@pytest.fixture
def connected_app() -> Iterator[redis.client.PubSub]:
    """The worker of app `sb-1` with its ARI events connected; `sb` has none."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub()
    pubsub.subscribe(control_channel.app_channel(SERVER_ID, "sb-1"))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
    yield pubsub
    pubsub.close()
    client.close()


def test_a_call_is_handed_to_a_connected_app_once(connected_app: redis.client.PubSub) -> None:
    for _ in range(4):
        assert control_channel.originate(media_server_id=SERVER_ID, apps=["sb", "sb-1"], command=COMMAND)
    received = [connected_app.get_message(timeout=2) for _ in range(4)]
    assert [m["channel"] for m in received] == [control_channel.app_channel(SERVER_ID, "sb-1").encode()] * 4  # type: ignore[index]
    assert connected_app.get_message(timeout=0.2) is None


def test_with_no_app_connected_nobody_gets_the_call() -> None:
    assert not control_channel.originate(media_server_id=SERVER_ID, apps=["sb", "sb-1"], command=COMMAND)


def test_a_call_no_worker_takes_fails_with_21214(tenant_a: Tenant) -> None:
    MediaServer.objects.update(is_enabled=False)  # in this test's transaction only
    MediaServer.objects.create(name="unattended", ari_password_encrypted="")
    caller_id = number(tenant_a, "+12025550100").phone_number
    request = outbound_request(caller_id, "+14155550123")
    call = call_create(account=tenant_a.account, actor="test", request=request)

    call_originate(account_id=tenant_a.account.id, call_id=call.id)

    tenant_activate(tenant_a.account.id)
    call.refresh_from_db()
    assert call.status == Call.Status.FAILED and call.end_time is not None
    [notification] = Notification.objects.all()
    assert notification.error_code == 21214 and "no ARI worker of unattended" in notification.message_text
    timeline = list(
        CallEvent.objects.filter(call=call).order_by("date_created").values_list("name", flat=True)
    )
    assert timeline == ["queued", "initiated", "21214"]

    call_originate(account_id=tenant_a.account.id, call_id=call.id)  # a redelivered task does nothing
    assert Notification.objects.count() == 1


def test_a_worker_keeps_listening_after_a_command_fails(tmp_path: Path) -> None:
    server = MediaServer(id=SERVER_ID, name="x", ari_url="http://127.0.0.1:9/ari", sounds_dir=str(tmp_path))
    server.set_ari_password("p")
    worker = VoiceWorker(server, app="sb")
    applied: list[str] = []

    async def apply(command: control_channel.Command) -> None:
        applied.append(command["call_sid"])
        if command["call_sid"] == "CA1":
            raise AriError(500, "Asterisk had a bad moment")

    worker._apply_control = apply  # type: ignore[method-assign]

    async def listen() -> None:
        listener = asyncio.create_task(worker._listen_for_control())
        await asyncio.to_thread(_publish_once_subscribed, ["CA1", "CA2"])
        for _ in range(100):
            if len(applied) == 2:
                break
            await asyncio.sleep(0.02)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await worker.control.close()
        await worker.http.aclose()
        await worker.client.close()

    asyncio.run(listen())
    assert applied == ["CA1", "CA2"]


def _publish_once_subscribed(call_sids: list[str]) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    channel = control_channel.server_channel(SERVER_ID)
    while not client.pubsub_numsub(channel)[0][1]:
        time.sleep(0.01)
    for sid in call_sids:
        client.publish(
            channel, json.dumps(control_channel.Hangup(action="hangup", call_sid=sid, channel_id=sid))
        )
    client.close()


@pytest.mark.parametrize("status", ["canceled", "completed"])
def test_a_call_canceled_before_its_channel_is_made_is_not_originated(tenant_a: Tenant, status: str) -> None:
    caller_id = number(tenant_a, "+12025550100").phone_number
    call = call_create(
        account=tenant_a.account, actor="test", request=outbound_request(caller_id, "+14155550123")
    )
    Call.objects.filter(id=call.id).update(status=Call.Status.INITIATED)  # handed to a worker

    call_update(call=call, actor="test", status=status)

    tenant_activate(tenant_a.account.id)
    call.refresh_from_db()
    assert call.status == Call.Status.CANCELED and call.end_time is not None
    assert outbound_call_setup(account_id=tenant_a.account.id, call_id=call.id) is None


def test_a_worker_that_left_its_app_while_redis_was_away_is_not_offered_calls_after() -> None:
    app = control_channel.app_channel(SERVER_ID, "sb")
    server = control_channel.server_channel(SERVER_ID)
    client = redis.Redis.from_url(settings.REDIS_URL)

    def subscribers(channel: str) -> int:
        return int(client.pubsub_numsub(channel)[0][1])

    async def until(condition: Callable[[], bool]) -> bool:
        for _ in range(100):
            if condition():
                return True
            await asyncio.sleep(0.02)
        return False

    async def unreachable(*channels: str) -> None:
        raise redis.ConnectionError("Redis went away")

    async def scenario() -> None:
        subscription = control_channel.Subscription(SERVER_ID, "sb")
        listener = asyncio.create_task(_listen(subscription))
        await subscription.taking_calls(True)
        assert await until(lambda: subscribers(app) == 1 and subscribers(server) == 1)

        # The worker's ARI events go while Redis is away: leaving the app's channel fails.
        subscription._pubsub.unsubscribe = unreachable  # type: ignore[method-assign]
        await subscription.taking_calls(False)
        del subscription._pubsub.unsubscribe
        host, port = subscription._pubsub.connection._writer.get_extra_info("sockname")  # type: ignore[union-attr]
        client.client_kill(f"{host}:{port}")
        assert await until(lambda: subscribers(server) == 0)
        assert await until(lambda: subscribers(server) == 1)  # listening again, on a new connection

        assert await until(lambda: subscribers(app) == 0)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await subscription.close()

    asyncio.run(scenario())
    client.close()


async def _listen(subscription: control_channel.Subscription) -> None:
    """As the worker listens (`VoiceWorker._listen_for_control`): again after a lost connection."""
    while True:
        try:
            async for _ in subscription.commands():
                pass
        except (redis.RedisError, OSError):
            await asyncio.sleep(0.05)
