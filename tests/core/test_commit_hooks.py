"""After-commit work that fails (a broker away) is logged, and neither reaches the caller nor keeps
the transaction's later hooks from running."""

import logging
from functools import partial

import pytest
from django.db import transaction

from core.commit_hooks import on_commit_robust


def _refused(queue: str) -> None:
    raise ConnectionError(f"{queue}: broker away")


def test_a_failing_hook_is_logged_and_the_next_still_runs(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    # Committed for real (not the test's transaction): the hooks run on leaving the atomic block.
    with django_db_blocker.unblock(), caplog.at_level(logging.ERROR), transaction.atomic():  # type: ignore[attr-defined]
        on_commit_robust(partial(_refused, "webhooks"))  # a partial, which has no __qualname__
        on_commit_robust(_refused, "texts")
        on_commit_robust(ran.append, "after")
    assert ran == ["after"]
    failures = [r.getMessage() for r in caplog.records if "in on_commit()" in r.getMessage()]
    assert len(failures) == 2 and "webhooks: broker away" in failures[0] and "_refused" in failures[1]
