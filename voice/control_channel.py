"""The Redis control channel from the API and Celery to the ARI workers: commands for their calls.

A media server's channel reaches every worker process of the server: redirect, hang up, signal and
monitor, which the process running the call applies (the others ignore them; hanging up a channel
another process runs is harmless). A Stasis app's channel reaches the one process running that app,
and only while its ARI events are connected: originate, so that a call is started once, by a process
able to follow it.
Both are named by database too, so two deployments (or test runs) sharing one Redis never cross.
"""

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Sequence
from functools import cache
from typing import Any, Literal, TypedDict

import redis
import redis.asyncio as aioredis
from django.conf import settings

log = logging.getLogger(__name__)


class Redirect(TypedDict):
    """Replace the TwiML a live call runs: from `url` (with `method`) or the inline `twiml`."""

    action: Literal["redirect"]
    call_sid: str
    channel_id: str
    url: str
    method: str
    twiml: str


class Hangup(TypedDict):
    action: Literal["hangup"]
    call_sid: str
    channel_id: str


class Originate(TypedDict):
    """Create a queued call's channel (its id is the CallSid), dial it for `timeout` seconds, run it."""

    action: Literal["originate"]
    call_sid: str
    account_id: str
    timeout: int


class Signal(TypedDict):
    """Hand `payload` to the verb now running on a live call, under `name` (`Interpreter.signal`): how
    apps above voice reach a call some worker process runs, e.g. a queued caller being dequeued."""

    action: Literal["signal"]
    call_sid: str
    channel_id: str
    name: str
    payload: dict[str, Any]


class Monitor(TypedDict):
    """Start, change or stop a supervisor's monitor (`voice/monitoring.py`) of the leg `channel_id`,
    applied by the process running `call_sid` (the call that leg belongs to). `whisper` is ARI's
    snoop direction for the mode; `target` and `caller_id` are for starting: whom to ring, as whom."""

    action: Literal["monitor"]
    call_sid: str
    channel_id: str
    monitor_id: str
    account_id: str
    op: Literal["start", "change", "stop"]
    whisper: str
    target: str
    caller_id: str


Command = Redirect | Hangup | Originate | Signal | Monitor


def server_channel(media_server_id: int | None) -> str:
    """The Redis channel a media server's workers hear commands on, apart for each database (the tests'
    platforms share one Redis)."""
    return f"switchboard:{settings.DATABASE_ROLES.name}:call-control:{media_server_id}"


def app_channel(media_server_id: int | None, app: str) -> str:
    return f"{server_channel(media_server_id)}:{app}"


@cache
def _client() -> redis.Redis:
    """One connection pool per process (redis-py's is thread-safe), not a connection per command."""
    return redis.Redis.from_url(settings.REDIS_URL)


def publish(media_server_id: int | None, command: Redirect | Hangup | Signal | Monitor) -> None:
    """Send a command to every worker of a media server (on commit of what it follows from)."""
    _client().publish(server_channel(media_server_id), json.dumps(command))


def originate(*, media_server_id: int, apps: Sequence[str], command: Originate) -> bool:
    """Hand a call to one of the apps whose worker is connected now, at random, to spread the load.

    False when none took it (no worker connected, or Redis unreachable): the call was not started.
    """
    client = _client()
    try:
        channels = [app_channel(media_server_id, app) for app in apps]
        connected = [channel for channel, count in client.pubsub_numsub(*channels) if count]
        random.shuffle(connected)
        payload = json.dumps(command)
        # A worker that went away since it was counted receives nothing: the next one is tried.
        return any(client.publish(channel, payload) for channel in connected)
    except redis.RedisError:
        log.exception("could not hand call %s to a worker", command["call_sid"])
        return False


class Subscription:
    """A worker's end: its server's commands while `commands()` is read, its app's only while
    `taking_calls`."""

    def __init__(self, media_server_id: int | None, app: str) -> None:
        self._redis = aioredis.from_url(settings.REDIS_URL)
        self._pubsub = self._redis.pubsub()
        self._server_channel = server_channel(media_server_id)
        self._app_channel = app_channel(media_server_id, app)
        self._subscribing = asyncio.Lock()  # one connection: the first (un)subscribe opens it
        self._is_taking = False  # the last `taking_calls`, which the app's subscription follows

    async def commands(self) -> AsyncIterator[Command]:
        """Until the connection fails (redis.RedisError, OSError); reading again reconnects."""
        async with self._subscribing:
            await self._pubsub.subscribe(self._server_channel)
        server_channel = self._server_channel.encode()
        async for message in self._pubsub.listen():
            if message.get("type") == "message":
                yield json.loads(message["data"])
            elif message.get("type") == "subscribe" and message.get("channel") == server_channel:
                # (Re)connected: a new connection renews what the old one had, the app's channel too
                # when leaving it failed while Redis was away (or not it, when joining it failed), so
                # the app's subscription is set again from the last `taking_calls`.
                await self._follow_taking()

    async def taking_calls(self, is_taking: bool) -> None:
        """Be offered calls to originate, or no longer (the worker's ARI events came or went)."""
        self._is_taking = is_taking
        await self._follow_taking()

    async def _follow_taking(self) -> None:
        """Subscribe to the app's channel or leave it, as the last `taking_calls` asked."""
        try:
            async with self._subscribing:
                if self._is_taking:
                    await self._pubsub.subscribe(self._app_channel)
                else:
                    await self._pubsub.unsubscribe(self._app_channel)
        except (redis.RedisError, OSError):
            action = "subscribe to" if self._is_taking else "leave"
            log.exception("could not %s %s", action, self._app_channel)

    async def close(self) -> None:
        await self._pubsub.aclose()
        await self._redis.aclose()
