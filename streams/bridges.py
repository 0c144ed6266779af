"""The worker's side of `streams.contract` in Redis: which bridge takes a stream, its legs' keys, and
commands to a bridge. Synchronous (redis-py's pool is thread-safe): the worker calls these in a thread."""

import json
import time
from collections.abc import Collection, Sequence
from functools import cache

import redis
from django.conf import settings

from streams import contract


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def bridge_pick(skip: Collection[str] = ()) -> tuple[str, contract.BridgeInfo] | None:
    """The live bridge carrying the fewest streams, but those in `skip` (its id and where Asterisk
    reaches it); None when none is. Live: announced within `STALE_SECONDS` and listening on its
    command channel, so a bridge killed outright, whose Redis connection dropped with it, is passed
    over at once."""
    client = _redis()
    fresh_since = time.time() - contract.STALE_SECONDS
    fresh: list[tuple[str, contract.BridgeInfo]] = []
    for bridge_id, raw in client.hgetall(contract.bridges_key()).items():
        try:
            info: contract.BridgeInfo = json.loads(raw)
            name = bridge_id.decode() if isinstance(bridge_id, bytes) else bridge_id
            if float(info["seen"]) >= fresh_since and name not in skip:
                fresh.append((name, info))
        except (ValueError, KeyError, TypeError):
            continue  # a malformed announcement is no bridge to send a caller to
    if not fresh:
        return None
    listeners = client.pubsub_numsub(*(contract.commands_channel(bridge_id) for bridge_id, _ in fresh))
    live = [bridge for bridge, (_, count) in zip(fresh, listeners, strict=True) if count]
    return min(live, key=lambda bridge: bridge[1]["streams"], default=None)


def legs_write(legs: Sequence[tuple[str, contract.StreamLeg]]) -> None:
    """Each leg under its connection id's key, before Asterisk connects with that id."""
    with _redis().pipeline() as pipe:
        for connection_id, leg in legs:
            pipe.set(contract.leg_key(connection_id), json.dumps(leg), ex=contract.LEG_TTL_SECONDS)
        pipe.execute()


def bridge_command(bridge_id: str, command: contract.Dtmf | contract.Stop) -> None:
    _redis().publish(contract.commands_channel(bridge_id), json.dumps(command))
