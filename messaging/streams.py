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


class HandOver(TypedDict):
    sid: str
    account: str
    from_: str
    to: str
    body: str
    validity: int


def stream_key(connector: str) -> str:
    return f"sb:carrier:{settings.DATABASE_ROLES.name}:{connector}"


@cache
def client() -> redis.Redis:
    """One connection pool per process (redis-py's pool is thread-safe); strings in and out."""
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def hand_over(connector: str, entries: Sequence[HandOver]) -> None:
    """Append messages to the connector's stream in one round trip."""
    pipe = client().pipeline(transaction=False)
    for entry in entries:
        pipe.xadd(
            stream_key(connector),
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
