"""Expressions evaluated against workers and tasks: each text parsed once per process and cached,
since the same few queue and target expressions are evaluated for every worker and task."""

from functools import lru_cache
from typing import Any

from contactcenter.taskrouter.expressions import BARE, Expression, parse


@lru_cache(maxsize=2048)
def compiled(text: str) -> Expression:
    return parse(text)


def worker_matches(target_workers: str, worker_attributes: dict[str, Any]) -> bool:
    """A queue's `target_workers`: bare names are the worker's attributes, as Twilio reads them."""
    return compiled(target_workers).evaluate({BARE: worker_attributes})


def task_matches_worker(
    expression: Expression, task_attributes: dict[str, Any], worker_attributes: dict[str, Any]
) -> bool:
    """A workflow target's `expression`, which compares `worker.` with `task.` (Twilio prefixes both)."""
    return expression.evaluate({"worker": worker_attributes, "task": task_attributes})
