"""The audit chain: written by every mutation, append-only in PostgreSQL, tampering detected."""

import io
from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from compliance.management.commands.verify_audit_chain import every_chain
from compliance.models import AuditEntry
from compliance.services import audit_chain_verify, audit_held_to_commit, audit_record
from core.tenancy import tenant_activate, tenant_scope, tenant_switch
from tests.conftest import Tenant, TwilioClient, make_tenant


def _actions(tenant: Tenant) -> list[str]:
    tenant_activate(tenant.account.id)
    return list(
        AuditEntry.objects.filter(account_id=tenant.account.id)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_every_api_mutation_writes_one_entry(api_a: TwilioClient) -> None:
    number = api_a.post(api_a.url("IncomingPhoneNumbers.json"), {"PhoneNumber": "+15017122661"}).json()
    api_a.post(api_a.url(f"IncomingPhoneNumbers/{number['sid']}.json"), {"VoiceUrl": "https://example.com/v"})
    api_a.delete(api_a.url(f"IncomingPhoneNumbers/{number['sid']}.json"))
    key = api_a.post(api_a.url("Keys.json")).json()
    api_a.delete(api_a.url(f"Keys/{key['sid']}.json"))
    api_a.get(api_a.url("IncomingPhoneNumbers.json"))  # reads write nothing
    assert _actions(api_a.tenant) == [
        "account.create",
        "incoming_phone_number.create",
        "incoming_phone_number.update",
        "incoming_phone_number.delete",
        "api_key.create",
        "api_key.delete",
    ]
    tenant_activate(api_a.tenant.account.id)
    entries = AuditEntry.objects.filter(account_id=api_a.tenant.account.id).order_by("seq")
    assert {e.actor for e in entries[1:]} == {f"account:{api_a.tenant.sid}"}
    assert entries[1].object_sid == number["sid"]
    assert audit_chain_verify(account_id=api_a.tenant.account.id).is_intact


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE compliance_auditentry SET actor = 'someone else'",
        "DELETE FROM compliance_auditentry",
        "TRUNCATE compliance_auditentry",
        "INSERT INTO compliance_auditentry (account_id, seq, created_at, actor, action, object_sid,"
        " payload_sha256, prev_hash, hash)"
        " SELECT account_id, 99, now(), 'x', 'x', 'x', 'x', 'x', 'x' FROM compliance_auditentry",
        "UPDATE compliance_auditchainhead SET seq = 0",
    ],
)
def test_application_role_cannot_rewrite_history(tenant_a: Tenant, statement: str) -> None:
    tenant_activate(tenant_a.account.id)
    with (
        pytest.raises(Exception, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)


def test_append_refuses_another_tenants_chain(tenant_a: Tenant, tenant_b: Tenant) -> None:
    tenant_activate(tenant_a.account.id)
    with pytest.raises(Exception, match="current tenant"), transaction.atomic():
        audit_record(account_id=tenant_b.account.id, actor="x", action="forged", object_sid="x")


@pytest.fixture
def committed_chain(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[Tenant]:
    """A tenant whose chain is committed, so a second (superuser) connection can see and edit it."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        tenant = make_tenant("Tamper target")
        with tenant_scope(tenant.account.id):
            for i in range(5):
                audit_record(account_id=tenant.account.id, actor="test", action=f"step.{i}", object_sid="x")
        yield tenant


def _as_superuser(*statements: str) -> None:
    roles = settings.DATABASE_ROLES
    with psycopg.connect(roles.url_for(None)) as conn:
        for statement in statements:
            conn.execute(statement)


def test_superuser_edit_is_detected_at_exactly_that_entry(
    committed_chain: Tenant, django_db_blocker: pytest.FixtureRequest
) -> None:
    account_id = committed_chain.account.id
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        # The triggers refuse even a superuser until they are switched off.
        _as_superuser(f"UPDATE compliance_auditentry SET actor = 'mallory' WHERE account_id = '{account_id}'")
    _as_superuser(
        "ALTER TABLE compliance_auditentry DISABLE TRIGGER audit_no_update_delete",
        f"UPDATE compliance_auditentry SET actor = 'mallory' WHERE account_id = '{account_id}' AND seq = 4",
        "ALTER TABLE compliance_auditentry ENABLE ALWAYS TRIGGER audit_no_update_delete",
    )
    out = io.StringIO()
    with django_db_blocker.unblock(), pytest.raises(CommandError):  # type: ignore[attr-defined]
        call_command("verify_audit_chain", committed_chain.sid, stdout=out)
    assert f"{committed_chain.sid}: BROKEN at entry 4" in out.getvalue()
    assert "does not match its hash" in out.getvalue()


def test_deleted_tail_and_removed_entry_are_detected(
    committed_chain: Tenant, django_db_blocker: pytest.FixtureRequest
) -> None:
    account_id = committed_chain.account.id
    _as_superuser(
        "ALTER TABLE compliance_auditentry DISABLE TRIGGER audit_no_update_delete",
        f"DELETE FROM compliance_auditentry WHERE account_id = '{account_id}' AND seq = 3",
        "ALTER TABLE compliance_auditentry ENABLE ALWAYS TRIGGER audit_no_update_delete",
    )
    with django_db_blocker.unblock(), tenant_scope(account_id):  # type: ignore[attr-defined]
        verdict = audit_chain_verify(account_id=account_id)
    assert verdict.first_broken_seq == 4
    assert "sequence gap" in verdict.reason


def test_verify_command_reports_an_intact_chain(
    committed_chain: Tenant, django_db_blocker: pytest.FixtureRequest
) -> None:
    out = io.StringIO()
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        call_command("verify_audit_chain", committed_chain.sid, stdout=out)
    assert f"{committed_chain.sid}: intact, 6 entries" in out.getvalue()


def test_verify_all_lists_every_chain_from_the_audit_tables(
    committed_chain: Tenant, django_db_blocker: pytest.FixtureRequest
) -> None:
    """`--all` finds the accounts in the audit tables themselves, a chain emptied by hand included."""
    account_id = committed_chain.account.id
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        assert account_id in every_chain()
        _as_superuser(
            "ALTER TABLE compliance_auditentry DISABLE TRIGGER audit_no_update_delete",
            f"DELETE FROM compliance_auditentry WHERE account_id = '{account_id}'",
            "ALTER TABLE compliance_auditentry ENABLE ALWAYS TRIGGER audit_no_update_delete",
        )
        assert account_id in every_chain()


def _head_locked(account_id: object) -> bool:
    """Whether another transaction holds the account's chain head (a second connection's NOWAIT)."""
    with psycopg.connect(settings.DATABASE_ROLES.url_for(None)) as conn:
        try:
            conn.execute(
                "SELECT seq FROM compliance_auditchainhead WHERE account_id = %s FOR UPDATE NOWAIT",
                [account_id],
            )
        except psycopg.errors.LockNotAvailable:
            return True
    return False


class _RolledBack(Exception):
    pass


def test_held_appends_lock_the_chain_only_at_the_blocks_end(
    committed_chain: Tenant, django_db_blocker: pytest.FixtureRequest
) -> None:
    """Inside a request (`audit_held_to_commit`) an append leaves the chain head unlocked until the
    request's end, so the account's other writers do not queue behind the rest of the request."""
    account_id = committed_chain.account.id
    with (
        django_db_blocker.unblock(),  # type: ignore[attr-defined]
        pytest.raises(_RolledBack),
        tenant_scope(account_id),
    ):
        with audit_held_to_commit():
            audit_record(account_id=account_id, actor="test", action="held", object_sid="x")
            assert not _head_locked(account_id)
            assert not AuditEntry.objects.filter(account_id=account_id, action="held").exists()
        assert _head_locked(account_id)
        assert AuditEntry.objects.filter(account_id=account_id, action="held").count() == 1
        raise _RolledBack


def test_held_appends_follow_their_savepoint_and_the_request(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """A rolled-back savepoint's entries and a failed block's entries are never appended; another
    account's entry (a parent creating a subaccount) goes to that account's chain."""
    account_id = tenant_a.account.id
    tenant_activate(account_id)
    with audit_held_to_commit():
        audit_record(account_id=account_id, actor="test", action="kept.1", object_sid="x")
        with pytest.raises(_RolledBack), transaction.atomic():
            audit_record(account_id=account_id, actor="test", action="undone", object_sid="x")
            raise _RolledBack
        with tenant_switch(tenant_b.account.id):
            audit_record(account_id=tenant_b.account.id, actor="test", action="other", object_sid="x")
        audit_record(account_id=account_id, actor="test", action="kept.2", object_sid="x")
    with pytest.raises(_RolledBack), transaction.atomic(), audit_held_to_commit():
        audit_record(account_id=account_id, actor="test", action="failed", object_sid="x")
        raise _RolledBack
    assert _actions(tenant_a)[-2:] == ["kept.1", "kept.2"]
    with tenant_switch(tenant_b.account.id):
        assert _actions(tenant_b)[-1] == "other"
    tenant_activate(account_id)
    assert audit_chain_verify(account_id=account_id).is_intact
