"""Gather items that many threads produce and hand them on in batches, from one thread per process.

For side effects that cost about as much per call as per item, such as publishing a Celery task: a
request thread adds its item and goes on; the flushing thread waits `window` seconds after the first
item of a batch so that others can join it, then calls `flush(key, items)` once per key with at most
`batch_size` items a call. Items live in memory only, so whoever uses this must be able to lose some
(the process may die before a flush, a flush may fail) and recover them another way. A forked child
starts with nothing pending and its own thread; at a normal exit what is pending is flushed.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    def __init__(
        self, flush: Callable[[K, list[V]], None], *, window: float, batch_size: int, name: str
    ) -> None:
        self.name = name
        self.window = window
        self.batch_size = batch_size
        self._flush = flush
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.flush_now)

    def _reset(self) -> None:
        """A fresh state: nothing pending and no thread yet (the parent's is not in a forked child)."""
        self._lock = threading.Lock()
        self._pending: dict[K, list[V]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, key: K, item: V) -> None:
        """Queue `item` under `key`; it is flushed within about `window` seconds."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._pending.setdefault(key, []).append(item)
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.window)
            self._wake.clear()  # before taking the batch: an item added after it wakes the next round
            self.flush_now()

    def flush_now(self) -> int:
        """Flush everything pending, in this thread; returns how many items were handed on."""
        with self._lock:
            pending, self._pending = self._pending, {}
        done = 0
        for key, items in pending.items():
            for start in range(0, len(items), self.batch_size):
                batch = items[start : start + self.batch_size]
                try:
                    self._flush(key, batch)
                    done += len(batch)
                except Exception:
                    log.exception("%s: a batch of %d item(s) was not handed on", self.name, len(batch))
        return done
