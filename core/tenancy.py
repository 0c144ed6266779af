"""The per-transaction tenant context that PostgreSQL row-level security policies read.

Policies compare each row's `account_id` with `app.account_id`; `app.user_id` lets a signed-in
user see their own memberships. Both are set with `set_config(..., true)`, which lasts until the
transaction ends, so a pooled connection can never carry one tenant into the next request.
A session-level `SET` would, which is why nothing here (or anywhere) uses it.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

ACCOUNT_SETTING = "app.account_id"
USER_SETTING = "app.user_id"


def tenant_activate(account_id: uuid.UUID | None, *, user_id: int | None = None) -> None:
    """Point the current transaction at one account (and optionally one portal user)."""
    if not connection.in_atomic_block:
        raise RuntimeError("tenant context must be set inside a transaction")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
            [ACCOUNT_SETTING, str(account_id) if account_id else "", USER_SETTING, str(user_id or "")],
        )


@contextmanager
def tenant_scope(account_id: uuid.UUID, *, user_id: int | None = None) -> Iterator[None]:
    """A transaction that sees one tenant's rows: what tasks, consumers and workers use."""
    with transaction.atomic():
        tenant_activate(account_id, user_id=user_id)
        yield


@contextmanager
def tenant_switch(account_id: uuid.UUID) -> Iterator[None]:
    """Briefly scope the current transaction to another account, then restore the previous scope.

    For a service that legitimately touches two accounts in one transaction, such as a parent
    creating a subaccount (whose own audit chain gets the first entry).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting(%s, true), current_setting(%s, true)", [ACCOUNT_SETTING, USER_SETTING]
        )
        previous_account, previous_user = cursor.fetchone()
    tenant_activate(account_id, user_id=int(previous_user) if previous_user else None)
    try:
        yield
    finally:
        restored = uuid.UUID(previous_account) if previous_account else None
        tenant_activate(restored, user_id=int(previous_user) if previous_user else None)
