"""Counting attempts that should be rare (wrong passwords, refused API credentials, reset e-mails)
under lockouts that grow with each attempt over a free allowance, kept in Redis.

A key (say, one e-mail address or one client address) has a failure count that lives for
`window_s` after its latest attempt. The `free`-th attempt locks the key for `base_s`, each one
after it (once that lock has passed) for twice as long as the one before, up to `max_s`.
Callers check the lock before doing the expensive or guessable thing, so attempts refused while
locked are not counted: a client hammering a locked key only waits longer by coming back.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings

from core.throttling import redis_client


@dataclass(frozen=True)
class AttemptPolicy:
    """How many attempts one key gets before lockouts start, and how they grow."""

    free: int
    base_s: int
    max_s: int
    window_s: int


@dataclass(frozen=True)
class AttemptState:
    failures: int
    wait_s: float  # 0.0 when not locked

    @property
    def is_locked(self) -> bool:
        return self.wait_s > 0


# KEYS[1] the count, KEYS[2] the lock; ARGV free, base_ms, max_ms, window_ms. Returns the lock's
# length in ms (0 while still within the free allowance).
_COUNT = """
local failures = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local over = failures - tonumber(ARGV[1])
if over < 0 then return 0 end
local lock_ms = math.min(tonumber(ARGV[2]) * 2 ^ math.min(over, 30), tonumber(ARGV[3]))
redis.call('SET', KEYS[2], '1', 'PX', string.format('%d', lock_ms))
return lock_ms
"""


@cache
def _script() -> Any:
    return redis_client().register_script(_COUNT)


def attempt_key(scope: str, value: str) -> str:
    """A key for `value` within `scope` (say "signin-email"); hashed, so no address sits in Redis."""
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"sb:attempts:{settings.DATABASE_ROLES.name}:{scope}:{digest}"


def attempts_check(keys: Sequence[str]) -> list[AttemptState]:
    """Each key's failure count and how long it is still locked, in one round trip."""
    pipe = redis_client().pipeline(transaction=False)
    for key in keys:
        pipe.get(key)
        pipe.pttl(f"{key}:lock")
    replies = pipe.execute()
    return [
        AttemptState(failures=int(count or 0), wait_s=max(0, int(ttl_ms)) / 1000)
        for count, ttl_ms in zip(replies[::2], replies[1::2], strict=True)
    ]


def attempts_count(keys_and_policies: Sequence[tuple[str, AttemptPolicy]]) -> list[float]:
    """Count one attempt against each key under its policy; the lock each now has, in seconds."""
    pipe = redis_client().pipeline(transaction=False)
    for key, policy in keys_and_policies:
        _script()(
            keys=[key, f"{key}:lock"],
            args=[policy.free, policy.base_s * 1000, policy.max_s * 1000, policy.window_s * 1000],
            client=pipe,
        )
    return [int(lock_ms) / 1000 for lock_ms in pipe.execute()]


def attempts_clear(keys: Sequence[str]) -> None:
    """Forget the keys' failures and locks (after a success that proves who is asking)."""
    redis_client().delete(*keys, *(f"{key}:lock" for key in keys))
