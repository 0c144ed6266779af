"""Database connections in long-running threads (the ARI worker, the carrier gateway, the Messages
lane's batch thread), which no request or task signal tidies: each unit of work starts and ends with
the connections a request gets."""

from collections.abc import Callable
from typing import TypeVar

from django.db import close_old_connections

T = TypeVar("T")


def db_work(work: Callable[[], T]) -> T:
    """Run one unit of database work in this thread between two `close_old_connections()`.

    Before, a connection that broke while idle (PostgreSQL restarted, the network dropped it) is
    replaced instead of failing the work; after, the connection goes back to the pool (CONN_MAX_AGE
    is 0) rather than staying held by a thread that may not need it again for hours.
    """
    close_old_connections()
    try:
        return work()
    finally:
        close_old_connections()
