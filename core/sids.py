"""Twilio-style SIDs: a two-letter prefix and the 32 hex digits of the row's UUID primary key.

Keeping the SID derivable from the primary key means no second unique column and no lookup table:
`sid_to_uuid` turns a SID from a URL into the key to query by.
"""

import re
import uuid
from typing import ClassVar, TypeVar

from django.db import models

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def sid_to_uuid(sid: str, prefix: str) -> uuid.UUID | None:
    """The UUID behind `sid`, or None when it is not a well-formed SID with that prefix."""
    if not SID_RE.match(sid) or sid[:2] != prefix:
        return None
    return uuid.UUID(hex=sid[2:])


def make_sid(prefix: str, value: uuid.UUID) -> str:
    return f"{prefix}{value.hex}"


class SidModel(models.Model):
    """Abstract base for every row that has a public SID."""

    SID_PREFIX: ClassVar[str]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True

    @property
    def sid(self) -> str:
        return make_sid(self.SID_PREFIX, self.id)


Row = TypeVar("Row", bound=SidModel)


def row_by_sid(rows: "models.QuerySet[Row]", sid: str) -> Row | None:
    """The row of `rows` whose SID is `sid`, or None when there is none or `sid` is not one of the
    model's SIDs (a malformed one never reaches the database)."""
    pk = sid_to_uuid(sid, rows.model.SID_PREFIX)
    return rows.filter(id=pk).first() if pk else None
