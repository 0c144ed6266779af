"""The routing process's loop (`manage.py taskrouter`'s Router) when a pass fails: the workspaces it
was woken for are passed again after the pause, not forgotten until the next wake or sweep."""

import uuid

import pytest

from contactcenter.taskrouter.management.commands import taskrouter

FIRST = (uuid.uuid4(), uuid.uuid4())
SECOND = (uuid.uuid4(), uuid.uuid4())


def test_a_failed_pass_keeps_its_workspace_and_the_ones_after_it_for_the_next_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passes: list[uuid.UUID] = []
    failures = [RuntimeError("deadlock detected")]

    def workspace_route(*, workspace_id: uuid.UUID, account_id: uuid.UUID, hold_seconds: float) -> None:
        passes.append(workspace_id)
        if failures:
            raise failures.pop()

    monkeypatch.setattr(taskrouter, "workspace_route", workspace_route)
    monkeypatch.setattr(taskrouter, "db_work", lambda work, keep=False: work())  # no database here
    router = taskrouter.Router()
    monkeypatch.setattr(router, "listen", lambda: False)
    monkeypatch.setattr(router, "collect", lambda: None)
    monkeypatch.setattr(router, "due", lambda every: [])
    router.notified = dict.fromkeys([FIRST, SECOND])  # woken for both; the NOTIFYs are consumed

    with pytest.raises(RuntimeError):
        router.step()
    assert list(router.notified) == [FIRST, SECOND]

    assert router.step() == 2
    assert passes == [FIRST[0], FIRST[0], SECOND[0]]
    assert router.notified == {}
