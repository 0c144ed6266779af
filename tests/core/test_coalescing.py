"""Coalescer: items from many threads handed on in batches per key, none lost or repeated."""

import os
import threading
import time
from collections import Counter

from core.coalescing import Coalescer


class Sink:
    def __init__(self, *, fail_first: bool = False) -> None:
        self.calls: list[tuple[str, list[int]]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self, key: str, items: list[int]) -> None:
        with self.lock:
            if self.fail_first:
                self.fail_first = False
                raise RuntimeError("broker away")
            self.calls.append((key, items))

    def items(self) -> Counter[tuple[str, int]]:
        return Counter((key, item) for key, items in self.calls for item in items)

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(self.items().values()) < count:
            assert time.monotonic() < deadline, f"only {self.calls} after {timeout} s"
            time.sleep(0.005)


def test_items_from_many_threads_arrive_once_in_few_batches_per_key() -> None:
    sink = Sink()
    coalescer: Coalescer[str, int] = Coalescer(sink, window=0.05, batch_size=1000, name="test")

    def produce(key: str) -> None:
        for i in range(100):
            coalescer.add(key, i)

    threads = [threading.Thread(target=produce, args=(key,)) for key in ("a", "b", "a", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sink.wait_for(400)
    expected = Counter({("a", i): 2 for i in range(100)})
    expected.update((key, i) for key in "bc" for i in range(100))
    assert sink.items() == expected
    assert len(sink.calls) < 20  # 400 adds, a handful of flushes


def test_a_batch_never_holds_more_than_batch_size() -> None:
    sink = Sink()
    coalescer: Coalescer[str, int] = Coalescer(sink, window=60, batch_size=7, name="test")
    for i in range(20):
        coalescer.add("k", i)
    assert coalescer.flush_now() == 20
    assert [len(items) for _, items in sink.calls] == [7, 7, 6]
    assert [i for _, items in sink.calls for i in items] == list(range(20))  # in the order added


def test_a_failed_flush_loses_its_batch_only() -> None:
    sink = Sink(fail_first=True)
    coalescer: Coalescer[str, int] = Coalescer(sink, window=0.01, batch_size=10, name="test")
    coalescer.add("k", 1)
    time.sleep(0.2)
    coalescer.add("k", 2)
    sink.wait_for(1)
    assert sink.calls == [("k", [2])]  # the user recovers item 1 some other way


def test_a_forked_child_starts_empty_with_its_own_thread() -> None:
    sink = Sink()
    coalescer: Coalescer[str, int] = Coalescer(sink, window=60, batch_size=10, name="test")
    coalescer.add("parent", 1)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's item is not its to flush; its own are
        coalescer.add("child", 2)
        flushed = coalescer.flush_now()
        os.write(write, f"{flushed} {sink.calls}".encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 1000).decode() == "1 [('child', [2])]"
    assert coalescer.flush_now() == 1 and sink.calls == [("parent", [1])]
