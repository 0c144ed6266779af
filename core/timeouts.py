"""`within`: asyncio.wait_for without Python 3.11's lost cancellation.

On 3.11, a task cancelled in the same loop turn as the future it waits on through `wait_for` completes
gets the future's result instead of the CancelledError (fixed in 3.12, whose `wait_for` is
`asyncio.timeout`). The canceller then waits on a task that goes on: a queued caller's hold music,
cancelled as its dequeue came while its ARI playback request was answered, kept playing and the
caller was never bridged (tests/core/test_timeouts.py, issue 13's second bridge). mediaserver, the
layer below core, writes `asyncio.timeout` out itself.
"""

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float | None) -> T:
    """`awaitable`'s result, or TimeoutError after `seconds` (None: no limit), cancelling it then; a
    cancellation of the caller always propagates."""
    async with asyncio.timeout(seconds):
        return await awaitable
