"""The append-only, hash-chained audit log: one chain per account, and the platform's own.

Rows are written only by the `audit_append` SQL function (see the 0001 migration), which locks the
account's chain head, so sequence numbers are gapless and each entry hashes its predecessor. The
application role may read both tables and call the function; PostgreSQL refuses it everything else.
"""

import uuid

from django.db import models

# The chain of what belongs to no account (carrier connectors, an operator's settings): the nil UUID,
# which no account's id can be.
PLATFORM_CHAIN_ID = uuid.UUID(int=0)


class AuditEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    account_id = models.UUIDField()
    seq = models.BigIntegerField()
    created_at = models.DateTimeField()
    actor = models.TextField()
    action = models.TextField()
    object_sid = models.TextField()
    payload_sha256 = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_id", "seq"], name="audit_entry_unique_seq")]

    def __str__(self) -> str:
        return f"{self.account_id}#{self.seq} {self.action}"


class AuditChainHead(models.Model):
    account_id = models.UUIDField(primary_key=True)
    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.account_id} head #{self.seq}"
