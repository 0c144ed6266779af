"""The Redis streams that carry messages from the send task to the carrier gateway, one per connector.

Redis keeps nothing durable here: PostgreSQL is the record, the gateway claims each message there
before submitting it, and its sweep hands over again whatever stayed queued. So an entry lost, or
added twice, costs at most a delay. The key names the database too, so deployments (or test runs)
that share one Redis never read each other's streams.
"""

from collections.abc import Sequence
from functools import cache
from typing import TypedDict

import redis
from django.conf import settings

GROUP = "gateway"
# Each connector has two streams, read together by the gateway, its own traffic first: a message sent
# during a bulk alert then waits behind one batch of the alert at most, not behind all of it.
SINGLE = ""
BULK = "bulk"
LANES = (SINGLE, BULK)


class HandOver(TypedDict):
    sid: str
    account: str
    from_: str
    to: str
    body: str
    validity: int


def stream_key(connector: str, lane: str = SINGLE) -> str:
    key = f"sb:carrier:{settings.DATABASE_ROLES.name}:{connector}"
    return f"{key}:{lane}" if lane else key  # a connector's name is a slug: never a ':' in it


@cache
def client() -> redis.Redis:
    """One connection pool per process (redis-py's pool is thread-safe); strings in and out."""
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def hand_over(connector: str, entries: Sequence[HandOver], *, lane: str = SINGLE) -> None:
    """Append messages to one of the connector's streams in one round trip."""
    pipe = client().pipeline(transaction=False)
    for entry in entries:
        pipe.xadd(
            stream_key(connector, lane),
            {
                "sid": entry["sid"],
                "account": entry["account"],
                "from": entry["from_"],
                "to": entry["to"],
                "body": entry["body"],
                "validity": str(entry["validity"]),
            },
        )
    pipe.execute()
