"""The long-running processes' unit of database work."""

from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from core import db
from core.db import db_work


def _one() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return int(cursor.fetchone()[0])


@pytest.fixture
def committed(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    """Database access outside a test transaction, as a long-running process has it (nothing written)."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        yield
        connection.close()


def test_a_connection_that_broke_while_idle_is_replaced_for_the_next_unit_of_work(committed: None) -> None:
    connection.ensure_connection()
    broken = connection.connection
    broken.close()  # as a restarted PostgreSQL leaves a connection an idle worker thread holds

    assert db_work(_one) == 1
    assert connection.connection is not broken


def test_a_unit_of_work_gives_its_connection_back_when_it_ends(committed: None) -> None:
    assert db_work(_one) == 1
    assert connection.connection is None


def test_a_kept_healthy_connection_serves_the_next_unit_of_work(committed: None) -> None:
    assert db_work(_one, keep=True) == 1
    kept = connection.connection
    assert db_work(_one, keep=True) == 1
    assert kept is not None and connection.connection is kept


def test_a_connection_idle_too_long_that_still_answers_is_kept(
    committed: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert db_work(_one, keep=True) == 1
    idle = connection.connection
    monkeypatch.setattr(db, "IDLE_SECONDS", -1.0)  # any idle time at all, however coarse the clock
    assert db_work(_one, keep=True) == 1
    assert connection.connection is idle
    assert "discarding" not in caplog.text


def test_a_connection_idle_too_long_that_postgresql_dropped_is_replaced(
    committed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert db_work(_one, keep=True) == 1
    idle = connection.connection
    admin = connections.create_connection(DEFAULT_DB_ALIAS)  # another session, from the same pool
    try:
        with admin.cursor() as cursor:  # as an idle timeout or a restart of PostgreSQL does
            cursor.execute("SELECT pg_terminate_backend(%s)", [idle.info.backend_pid])
    finally:
        admin.close()
    monkeypatch.setattr(db, "IDLE_SECONDS", -1.0)
    assert db_work(_one, keep=True) == 1
    assert connection.connection is not idle


def test_a_connection_left_in_a_transaction_is_replaced(committed: None) -> None:
    assert db_work(_one, keep=True) == 1
    connection.set_autocommit(False)
    left = connection.connection
    assert db_work(_one, keep=True) == 1
    assert connection.connection is not left and connection.get_autocommit()
