"""Writing to and verifying the per-account audit chain."""

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from compliance.chain import GENESIS_HASH, canonical, entry_hash, payload_digest
from compliance.models import AuditChainHead, AuditEntry
from core.tenancy import ACCOUNT_SETTING, tenant_switch


@dataclass(frozen=True)
class AuditDraft:
    """One entry to append: who did what to which object; only the payload's digest is kept."""

    actor: str
    action: str
    object_sid: str
    payload: dict[str, Any] = field(default_factory=dict)


class _Kept:
    """Registered with `on_commit` beside held entries: Django drops it when the savepoint the
    entries were recorded in rolls back, and so the entries are dropped with it."""

    def __call__(self) -> None:
        pass


Held = list[tuple[uuid.UUID, Sequence[AuditDraft], _Kept]]

_held: ContextVar[Held | None] = ContextVar("audit_held", default=None)


def audit_record_many(*, account_id: uuid.UUID, entries: Sequence[AuditDraft]) -> None:
    """Append entries, in order, to the account's chain in the caller's transaction (at the end of
    an `audit_held_to_commit` block when one is open).

    The caller's transaction must already be scoped to `account_id` (the SQL function checks);
    the function takes the chain head's row lock, so appends for one account are serialised.
    """
    held = _held.get()
    if held is not None and connection.in_atomic_block:
        kept = _Kept()
        transaction.on_commit(kept)
        held.append((account_id, tuple(entries), kept))
        return
    _append(account_id, entries)


def _append(account_id: uuid.UUID, entries: Sequence[AuditDraft]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT audit_append_many(%s, %s::text[], %s::text[], %s::text[], %s::text[])",
            [
                account_id,
                [entry.actor for entry in entries],
                [entry.action for entry in entries],
                [entry.object_sid for entry in entries],
                [payload_digest(entry.payload) for entry in entries],
            ],
        )


def audit_record(
    *, account_id: uuid.UUID, actor: str, action: str, object_sid: str, payload: dict[str, Any] | None = None
) -> None:
    """Append one entry; see `audit_record_many`."""
    entry = AuditDraft(actor=actor, action=action, object_sid=object_sid, payload=payload or {})
    audit_record_many(account_id=account_id, entries=[entry])


@contextmanager
def audit_held_to_commit() -> Iterator[None]:
    """Make the block's appends at its end, still in its transaction, just before that commits.

    An append holds its account's chain head locked until the commit, so one account's writes
    queue on it for as long as each transaction runs on after appending; made last, the lock is
    held for little more than the commit (bench/routing: task creates queued behind one another
    for the rest of each request). Nothing is appended when the block raises or its transaction
    is marked for rollback (an error answer), since nothing it did is kept, nor the entries recorded
    in a savepoint that rolled back.
    """
    held: Held = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
        # The markers have told what they could; the commit runs only the callbacks that matter.
        still_kept = {id(pending[1]) for pending in connection.run_on_commit}
        connection.run_on_commit = [
            pending for pending in connection.run_on_commit if not isinstance(pending[1], _Kept)
        ]
    if held and not connection.needs_rollback:
        _append_held([entry for entry in held if id(entry[2]) in still_kept])


def _append_held(held: Held) -> None:
    """Each account's entries in one call, in order; an account other than the transaction's
    current tenant (a parent creating a subaccount) is switched to for its own."""
    by_account: dict[uuid.UUID, list[AuditDraft]] = {}
    for account_id, entries, _ in held:
        by_account.setdefault(account_id, []).extend(entries)
    if not by_account:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [ACCOUNT_SETTING])
        current = cursor.fetchone()[0]
    for account_id, entries in by_account.items():
        if str(account_id) == current:
            _append(account_id, entries)
        else:
            with tenant_switch(account_id):
                _append(account_id, entries)


@dataclass(frozen=True)
class ChainVerdict:
    entries: int
    first_broken_seq: int | None
    reason: str = ""

    @property
    def is_intact(self) -> bool:
        return self.first_broken_seq is None


def audit_chain_verify(*, account_id: uuid.UUID, using: str = "default") -> ChainVerdict:
    """Recompute the chain from its first entry; name the first entry whose hash or link is wrong.

    Runs in the caller's transaction, which must see the account's rows.
    """
    expected_prev, count = GENESIS_HASH, 0
    entries = AuditEntry.objects.using(using).filter(account_id=account_id).order_by("seq")
    for entry in entries.iterator(chunk_size=5000):
        count += 1
        form = canonical(
            account_id=str(entry.account_id),
            seq=entry.seq,
            created_at=entry.created_at,
            actor=entry.actor,
            action=entry.action,
            object_sid=entry.object_sid,
            payload_sha256=entry.payload_sha256,
        )
        if entry.seq != count:
            return ChainVerdict(count, entry.seq, f"sequence gap: expected {count}")
        if entry.prev_hash != expected_prev:
            return ChainVerdict(count, entry.seq, "link to the previous entry is broken")
        if entry.hash != entry_hash(entry.prev_hash, form):
            return ChainVerdict(count, entry.seq, "entry content does not match its hash")
        expected_prev = entry.hash
    head = AuditChainHead.objects.using(using).filter(account_id=account_id).first()
    if head is not None and (head.seq != count or head.head_hash != expected_prev):
        return ChainVerdict(count, count + 1, "entries after the last one were removed or the head was moved")
    return ChainVerdict(count, None)
