"""Gather what concurrent coroutines submit into batches that one thread handles, and give each
coroutine its own result.

For work whose cost is mostly per batch, such as a database transaction and its commit: the first
item after a quiet spell is handled at once, alone, and every item submitted while a batch runs
joins the next one. Batches therefore grow with the load by themselves, with no timer to tune and
no wait added when idle (what databases call group commit).
"""

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Entry(Generic[T, R]):
    item: T
    future: "asyncio.Future[R]"


class ThreadBatcher(Generic[T, R]):
    """`handle(items)` runs on one thread of its own and returns one result per item, in order.

    If it raises, every coroutine of that batch gets the exception. Use one instance per event loop
    (an ASGI server process has one).
    """

    def __init__(self, handle: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int, name: str) -> None:
        self.handle = handle
        self.max_batch = max_batch
        self.name = name
        self._pending: list[_Entry[T, R]] = []
        self._draining = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        entry: _Entry[T, R] = _Entry(item, loop.create_future())
        self._pending.append(entry)
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await entry.future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                try:
                    results = await loop.run_in_executor(
                        self._executor, self.handle, [entry.item for entry in batch]
                    )
                    if len(results) != len(batch):
                        raise RuntimeError(f"{self.name}: {len(results)} results for {len(batch)} items")
                except Exception as error:  # noqa: BLE001  (every waiting coroutine gets it)
                    for entry in batch:
                        if not entry.future.done():
                            entry.future.set_exception(error)
                    continue
                for entry, result in zip(batch, results, strict=True):
                    if not entry.future.done():  # a cancelled request: its item was handled anyway
                        entry.future.set_result(result)
        finally:
            self._draining = False
