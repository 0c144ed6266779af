"""After-commit work that must never fail the caller whose transaction committed."""

from collections.abc import Callable
from functools import partial

from django.db import transaction


def on_commit_robust(func: Callable[..., object], *args: object) -> None:
    """Call `func(*args)` once the current transaction commits; what it raises is logged, never
    raised into the caller, and the transaction's later hooks still run (a broker away costs only
    the queueing it refused, which a sweep does again).

    Django's `robust=True` alone names a failing hook by its `__qualname__`, which a
    `functools.partial` lacks: its log line then raised AttributeError into the caller and dropped
    the hooks after it. The hook here is a partial given one: the function's own (and, a partial,
    it still shows tests what it calls with what).
    """
    hook = partial(func, *args)
    hook.__qualname__ = getattr(func, "__qualname__", repr(func))  # type: ignore[attr-defined]
    transaction.on_commit(hook, robust=True)
