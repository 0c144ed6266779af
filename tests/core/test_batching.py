"""ThreadBatcher: what arrives while a batch runs forms the next one; results and errors reach each
coroutine of their batch."""

import asyncio
import threading
from collections.abc import Sequence

import pytest

from core.batching import ThreadBatcher


def test_items_submitted_while_a_batch_runs_share_the_next_batch_and_results_keep_their_order() -> None:
    batches: list[list[int]] = []
    first_started, release = threading.Event(), threading.Event()

    def handle(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        if len(batches) == 1:
            first_started.set()
            release.wait(5)
        return [item * 10 for item in items]

    async def run() -> list[int]:
        batcher: ThreadBatcher[int, int] = ThreadBatcher(handle, max_batch=3, name="test-batcher")
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.get_running_loop().run_in_executor(None, first_started.wait, 5)
        rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(1, 6)]
        await asyncio.sleep(0)
        release.set()
        return list(await asyncio.gather(first, *rest))

    assert asyncio.run(run()) == [0, 10, 20, 30, 40, 50]
    assert batches == [[0], [1, 2, 3], [4, 5]]  # alone when idle; then at most max_batch


def test_a_failing_batch_raises_in_each_of_its_coroutines_and_the_next_batch_still_runs() -> None:
    def handle(items: Sequence[str]) -> list[str]:
        if "bad" in items:
            raise RuntimeError("batch failed")
        return [item.upper() for item in items]

    async def run() -> tuple[list[BaseException | str], str]:
        batcher: ThreadBatcher[str, str] = ThreadBatcher(handle, max_batch=10, name="test-batcher")
        failed = await asyncio.gather(batcher.submit("bad"), return_exceptions=True)
        return failed, await batcher.submit("good")

    failed, later = asyncio.run(run())
    assert isinstance(failed[0], RuntimeError) and later == "GOOD"


def test_a_handler_that_loses_results_is_an_error_not_a_hang() -> None:
    async def run() -> str:
        batcher: ThreadBatcher[int, str] = ThreadBatcher(lambda items: [], max_batch=10, name="test-batcher")
        return await asyncio.wait_for(batcher.submit(1), timeout=5)

    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        asyncio.run(run())
