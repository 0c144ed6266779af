"""Per-account request rate limit; over it, clients get 429 with Twilio's 20429 (safe to retry).

Each principal has a token bucket in Redis holding `API_RATE_PER_SECOND` requests and refilled at that
rate. The bucket is a single number, its "theoretical arrival time" (GCRA), which one Lua script
reads, checks and moves: one round trip per request whatever the rate, on one connection pool per
process. DRF's SimpleRateThrottle, used before, kept the time of every request of the last second in
Django's cache (a list of thousands, read and written whole on each request, at a high limit), and
Django's cache client lives per request under ASGI, so each request also opened a Redis connection.
"""

import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

# KEYS the buckets, one per request (a bucket may repeat); ARGV[1] microseconds between requests at
# the sustained rate; ARGV[2] the burst (requests allowed at once). Returns, for each request in order,
# 0 when it is allowed (and counted), else the microseconds until it would be. Redis's clock, so every
# process agrees.
_TAKE = """
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local waits = {}
for index, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  if tat - tolerance > now then
    waits[index] = tat - tolerance - now
  else
    tat = tat + interval
    redis.call('SET', key, string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 1)
    waits[index] = 0
  end
end
return waits
"""


@cache
def redis_client() -> redis.Redis:
    """This process's Redis pool (redis-py's pool is thread-safe), for counters that must be cheap."""
    return redis.Redis.from_url(settings.REDIS_URL)


@cache
def _script() -> Any:
    return redis_client().register_script(_TAKE)


def rate_limit_take_many(keys: Sequence[str], *, per_second: int, burst: int | None = None) -> list[float]:
    """Count one request against each key's bucket (a key may repeat), in one round trip; 0.0 for
    each request allowed, else the seconds it would have to wait.

    The bucket holds `burst` requests (default: one second's worth) and refills at `per_second`; a
    refused request is not counted. Buckets are shared by every process using the same Redis and
    database, since the key is namespaced by the database's name.
    """
    if per_second <= 0 or not keys:
        return [0.0] * len(keys)
    interval_us = max(1, 1_000_000 // per_second)
    buckets = [f"sb:rate:{settings.DATABASE_ROLES.name}:{key}" for key in keys]
    # One script call, not a pipeline of one per key: a pipeline with scripts asks Redis whether they
    # are loaded first (SCRIPT EXISTS), a second round trip; the call loads its script only if missing.
    waits = _script()(keys=buckets, args=[interval_us, max(1, burst or per_second)])
    return [int(wait_us) / 1_000_000 for wait_us in waits]


def principal_rate_take(principal_ids: Sequence[uuid.UUID]) -> list[float]:
    """Count one API request for each principal listed (the account whose credentials were used)
    against `API_RATE_PER_SECOND`; 0.0 for each allowed, else the seconds to wait."""
    keys = [f"account:{principal_id.hex}" for principal_id in principal_ids]
    return rate_limit_take_many(keys, per_second=settings.API_RATE_PER_SECOND)


class AccountRateThrottle(BaseThrottle):
    """`API_RATE_PER_SECOND` requests per second for each principal (the account whose credentials)."""

    def __init__(self) -> None:
        self.wait_s: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            return True
        (self.wait_s,) = principal_rate_take([tenant.principal.id])
        return self.wait_s == 0.0

    def wait(self) -> float | None:
        return self.wait_s
