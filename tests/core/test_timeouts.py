"""`within` keeps a cancellation that lands as the awaited future completes, which 3.11's
`asyncio.wait_for` turns into the future's result (the caller's hold music that played on)."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvloop

from core.timeouts import within

Waiter = Callable[[Awaitable[Any], float], Awaitable[Any]]


async def _cancelled_as_it_completes(wait: Waiter) -> str:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(wait(future, 10))
    await asyncio.sleep(0)  # the task waits on the future
    future.set_result("the reply")  # as an ARI reply arrives...
    task.cancel()  # ...in the same loop turn as the dequeue that cancels the music
    try:
        return await task
    except asyncio.CancelledError:
        return "cancelled"


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_a_cancel_in_the_same_turn_as_the_result_is_kept(run: Callable[[Any], Any]) -> None:
    assert run(_cancelled_as_it_completes(within)) == "cancelled"
    # What this replaces loses it on this Python (3.12 fixed it); if this fails, 3.11 is gone.
    assert run(_cancelled_as_it_completes(asyncio.wait_for)) == "the reply"


def test_the_result_or_a_timeout() -> None:
    async def scenario() -> None:
        assert await within(asyncio.sleep(0, "done"), 1) == "done"
        assert await within(asyncio.sleep(0, "no limit"), None) == "no limit"
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with pytest.raises(TimeoutError):
            await within(never, 0.01)
        assert never.cancelled()  # what timed out is cancelled, as wait_for's was

    asyncio.run(scenario())
