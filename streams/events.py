"""What a media bridge reports about its streams (`contract.Reporter`), turned into the stream's
writes: each call is one stream event, from a bridge thread, as one unit of database work.

A report names the stream only; its account is read through the admin connection (the bridge serves
every tenant), then everything else happens in that account's scope.
"""

import uuid

from core.db import db_work
from core.sids import sid_to_uuid
from streams import contract, services
from streams.models import Stream


def _account_of(stream_id: uuid.UUID) -> uuid.UUID | None:
    return Stream.objects.using("admin").filter(id=stream_id).values_list("account_id", flat=True).first()


class StreamEvents(contract.Reporter):
    def _ids(self, stream_sid: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        stream_id = sid_to_uuid(stream_sid, Stream.SID_PREFIX)
        account_id = _account_of(stream_id) if stream_id else None
        return (account_id, stream_id) if account_id and stream_id else None

    def app_connected(self, stream_sid: str) -> None:
        db_work(lambda: self._connected(stream_sid))

    def _connected(self, stream_sid: str) -> None:
        if ids := self._ids(stream_sid):
            services.stream_started(account_id=ids[0], stream_id=ids[1])

    def app_closed(self, stream_sid: str) -> None:
        db_work(lambda: self._stop(stream_sid, Stream.Ending.APP_CLOSED))

    def _stop(self, stream_sid: str, ending: str) -> None:
        if ids := self._ids(stream_sid):
            services.stream_stop(account_id=ids[0], stream_id=ids[1], ending=ending)

    def app_failed(self, stream_sid: str, code: int, message: str) -> None:
        db_work(lambda: self._failed(stream_sid, code, message))

    def _failed(self, stream_sid: str, code: int, message: str) -> None:
        if ids := self._ids(stream_sid):
            services.stream_fail(account_id=ids[0], stream_id=ids[1], code=code, message=message)
            services.stream_stop(account_id=ids[0], stream_id=ids[1], ending=Stream.Ending.FAILED)

    def app_warning(self, stream_sid: str, code: int, message: str) -> None:
        db_work(lambda: self._warning(stream_sid, code, message))

    def _warning(self, stream_sid: str, code: int, message: str) -> None:
        if ids := self._ids(stream_sid):
            services.stream_warn(account_id=ids[0], stream_id=ids[1], code=code, message=message)


reporter = StreamEvents()
