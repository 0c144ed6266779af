"""Writing to and verifying the per-account audit chain."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from compliance.chain import GENESIS_HASH, canonical, entry_hash, payload_digest
from compliance.models import AuditChainHead, AuditEntry


@dataclass(frozen=True)
class AuditDraft:
    """One entry to append: who did what to which object; only the payload's digest is kept."""

    actor: str
    action: str
    object_sid: str
    payload: dict[str, Any] = field(default_factory=dict)


def audit_record_many(*, account_id: uuid.UUID, entries: Sequence[AuditDraft]) -> int:
    """Append entries, in order, to the account's chain in the caller's transaction; returns the last
    one's sequence number.

    The caller's transaction must already be scoped to `account_id` (the SQL function checks);
    the function takes the chain head's row lock, so appends for one account are serialised.
    """
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
        return int(cursor.fetchone()[0])


def audit_record(
    *, account_id: uuid.UUID, actor: str, action: str, object_sid: str, payload: dict[str, Any] | None = None
) -> int:
    """Append one entry; see `audit_record_many`."""
    entry = AuditDraft(actor=actor, action=action, object_sid=object_sid, payload=payload or {})
    return audit_record_many(account_id=account_id, entries=[entry])


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
