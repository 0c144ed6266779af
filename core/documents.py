"""An app's next TwiML document, fetched as Twilio fetches it: as a signed webhook (`core.webhooks`),
and when that fails, once more from the fallback URL, told `ErrorCode` and `ErrorUrl`.

Calls fetch theirs in their asyncio task (`fetch_async`), messages theirs in a Celery task (`fetch`);
the two differ only in the transport call. A caller's `check` turns an answer into its document and
may fail it too (a call's document that does not parse goes to the fallback as well); `failed` hears
each failure, told whether it is the last (no fallback follows).
"""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import httpx

from core import webhooks
from core.error_codes import ErrorCode

T = TypeVar("T")


@dataclass(frozen=True)
class Fetch:
    """Where a document comes from."""

    url: str
    method: str
    params: dict[str, str]


@dataclass(frozen=True)
class Fallback:
    """The URL tried once when a document cannot be had."""

    url: str
    method: str


class FetchFailed(Exception):
    """Twilio's code, what the error log says, why in a few words, and the answer if one came."""

    def __init__(
        self, code: int, message: str, *, reason: str = "", response: webhooks.WebhookResponse | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason or message
        self.response = response


def _attempts(
    source: Fetch, fallback: Fallback | None, failures: list[FetchFailed]
) -> Iterator[tuple[Fetch, bool]]:
    """`source`, then, once it has failed (the last of `failures`), the fallback; each with whether it
    is the last attempt."""
    yield source, fallback is None
    if fallback is not None:
        code = failures[-1].code
        params = {**source.params, "ErrorCode": str(code), "ErrorUrl": source.url}
        yield Fetch(fallback.url, fallback.method, params), True


@contextmanager
def _failure_raised(url: str) -> Iterator[None]:
    try:
        yield
    except webhooks.NoAnswer as exc:
        said = (
            exc.reason
            if exc.code == ErrorCode.INVALID_URL_FORMAT
            else f"HTTP connection failure to {url}: {exc}"
        )
        raise FetchFailed(exc.code, said, reason=exc.reason, response=exc.response) from exc


def _successful(answer: webhooks.Answer, url: str) -> webhooks.Answer:
    logged = answer.response
    if logged.error_code is not None:
        raise FetchFailed(
            logged.error_code,
            f"{url} returned HTTP {logged.status_code}",
            reason=logged.error,
            response=logged,
        )
    return answer


def fetch(
    source: Fetch,
    *,
    fallback: Fallback | None,
    auth_token: str,
    check: Callable[[Fetch, webhooks.Answer], T],
    failed: Callable[[FetchFailed, Fetch, bool], None],
) -> T | None:
    """The document at `source` (else at the fallback), as `check` makes it; None when neither came."""
    failures: list[FetchFailed] = []
    for attempt, is_last in _attempts(source, fallback, failures):
        try:
            with _failure_raised(attempt.url):
                answer = webhooks.request(
                    url=attempt.url, method=attempt.method, params=attempt.params, auth_token=auth_token
                )
            return check(attempt, _successful(answer, attempt.url))
        except FetchFailed as failure:
            failures.append(failure)
            failed(failure, attempt, is_last)
    return None


async def fetch_async(
    http: httpx.AsyncClient,
    source: Fetch,
    *,
    fallback: Fallback | None,
    auth_token: str,
    answered: Callable[[Fetch, webhooks.Answer], Awaitable[None]],
    check: Callable[[Fetch, webhooks.Answer], Awaitable[T]],
    failed: Callable[[FetchFailed, Fetch, bool], Awaitable[None]],
) -> T | None:
    """`fetch` for asyncio, through `http`; `answered` hears every HTTP answer, an error's included."""
    failures: list[FetchFailed] = []
    for attempt, is_last in _attempts(source, fallback, failures):
        try:
            with _failure_raised(attempt.url):
                answer = await webhooks.request_async(
                    http, url=attempt.url, method=attempt.method, params=attempt.params, auth_token=auth_token
                )
            await answered(attempt, answer)
            return await check(attempt, _successful(answer, attempt.url))
        except FetchFailed as failure:
            failures.append(failure)
            await failed(failure, attempt, is_last)
    return None
