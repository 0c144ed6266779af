"""Database connections in long-running threads (the ARI worker's, the carrier gateway's, the Messages
lane's batch thread), which no request or task signal tidies.

Before each unit, a connection that is closed or broken, or left in a transaction, is replaced
rather than failing the work; one that failed, or sat idle long enough for PostgreSQL or the network
to have dropped it, is asked `SELECT 1` first and replaced only if it no longer answers (replacing
every idle one made the pool warn "discarding closed connection" every 30 s in each quiet process).
After it, the connection goes back to the pool, unless the caller keeps it for its next unit: giving
it back and taking it again after every unit cost the ARI worker a tenth of its CPU per call
(bench/RESULTS.md), and its executor's few threads fit in the pool, where the gateway's many would
not.
"""

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import close_old_connections, connections

T = TypeVar("T")

# Longer than a busy thread waits between units, shorter than a restart of PostgreSQL goes unnoticed.
IDLE_SECONDS = 30.0

_used_at = threading.local()


def _stale_closed(now: float) -> None:
    last = vars(_used_at)
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is None:
            continue
        idle = now - last.get(conn.alias, now) > IDLE_SECONDS
        if (
            raw.closed
            or raw.broken
            or not conn.get_autocommit()
            or ((conn.errors_occurred or idle) and not conn.is_usable())
        ):
            raw.close()  # never back to a pool, which would hand the same suspect connection out again
            conn.close()
        conn.errors_occurred = False


def db_work(work: Callable[[], T], *, keep: bool = False) -> T:
    """Run one unit of database work in this thread, on a connection fit for it; with `keep`, the
    connection stays with the thread for its next unit."""
    _stale_closed(time.monotonic())
    try:
        return work()
    finally:
        if keep:
            for conn in connections.all(initialized_only=True):
                setattr(_used_at, conn.alias, time.monotonic())
        else:
            close_old_connections()
