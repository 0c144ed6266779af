"""Reads of streams."""

import uuid

from core.errors import not_found
from core.sids import sid_to_uuid
from core.tenancy import tenant_scope
from streams.models import Stream
from voice.models import Call


def stream_get(*, account_id: uuid.UUID, stream_id: uuid.UUID) -> Stream:
    """In its own tenant scope (the worker's)."""
    with tenant_scope(account_id):
        return Stream.objects.get(id=stream_id)


def stream_of_call(*, call: Call, sid_or_name: str, path: str) -> Stream:
    """A call's stream by SID or by name (the live one of that name first, else the latest); 20404
    when the call has none so called."""
    streams = Stream.objects.filter(call=call)
    stream_id = sid_to_uuid(sid_or_name, Stream.SID_PREFIX)
    chosen = streams.filter(id=stream_id) if stream_id else streams.filter(name=sid_or_name)
    found = chosen.order_by("status", "-date_created").first()  # in-progress sorts before stopped
    if found is None:
        raise not_found(path)
    return found
