"""The rate limiter on real Redis: a burst, then the sustained rate; buckets apart; the API's 429."""

import time
import uuid

from django.test import override_settings

from core.throttling import rate_limit_take_many
from tests.conftest import TwilioClient


def rate_limit_take(key: str, *, per_second: int, burst: int | None = None) -> float:
    """One request against `key`'s bucket."""
    (wait_s,) = rate_limit_take_many([key], per_second=per_second, burst=burst)
    return wait_s


def fresh_key() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_a_full_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    key = fresh_key()
    assert [rate_limit_take(key, per_second=5) for _ in range(5)] == [0.0] * 5
    wait = rate_limit_take(key, per_second=5)
    assert 0.0 < wait <= 0.2  # one request's worth of refill at 5/s


def test_it_refills_at_the_sustained_rate_and_refusals_are_not_counted() -> None:
    key = fresh_key()
    while rate_limit_take(key, per_second=20) == 0.0:
        pass
    for _ in range(10):  # refused requests do not push the next allowed one further away
        wait = rate_limit_take(key, per_second=20)
    assert 0.0 < wait <= 0.05
    time.sleep(wait + 0.01)
    assert rate_limit_take(key, per_second=20) == 0.0
    assert rate_limit_take(key, per_second=20) > 0.0


def test_a_smaller_burst_is_the_most_allowed_at_once() -> None:
    key = fresh_key()
    assert [rate_limit_take(key, per_second=100, burst=2) == 0.0 for _ in range(3)] == [True, True, False]


def test_many_requests_in_one_round_trip_count_one_by_one_in_order() -> None:
    first, second = fresh_key(), fresh_key()
    waits = rate_limit_take_many([first, second, first, first, second], per_second=100, burst=2)
    assert [wait == 0.0 for wait in waits] == [True, True, True, False, True]
    assert (
        rate_limit_take(first, per_second=100, burst=2) > 0.0
    )  # the refused one was not counted, the rest were


def test_buckets_are_separate_and_a_limit_of_zero_means_none() -> None:
    first, second = fresh_key(), fresh_key()
    assert rate_limit_take(first, per_second=1) == 0.0
    assert rate_limit_take(first, per_second=1) > 0.0
    assert rate_limit_take(second, per_second=1) == 0.0
    assert all(rate_limit_take(first, per_second=0) == 0.0 for _ in range(5))


@override_settings(API_RATE_PER_SECOND=3)
def test_an_account_over_its_rate_gets_20429_and_another_account_does_not(
    api_a: TwilioClient, api_b: TwilioClient
) -> None:
    responses = [api_a.get(api_a.url("Keys.json")) for _ in range(8)]
    statuses = [r.status_code for r in responses]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses  # a slow request lets a token back in
    limited = responses[statuses.index(429)]
    assert limited.json()["code"] == 20429
    assert api_b.get(api_b.url("Keys.json")).status_code == 200
