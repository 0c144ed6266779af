"""The interpreter's CallStore over voice.services, for asyncio call tasks (ORM calls run in threads)."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async

from voice import services
from voice.services import CallSetup


def db(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a synchronous service from a call task: in a worker thread, with that thread's connection."""
    return sync_to_async(function, thread_sensitive=False)


class ServiceCallStore:
    def __init__(self, setup: CallSetup, *, media_server_id: int | None) -> None:
        self.setup = setup
        self.media_server_id = media_server_id
        self._ids = {"account_id": setup.account_id, "call_id": setup.call_id}

    async def event(self, kind: str, name: str, detail: dict[str, Any]) -> None:
        await db(services.call_event_add)(**self._ids, kind=kind, name=name, detail=detail)

    async def error(
        self, code: int, message: str, *, url: str = "", method: str = "", warning: bool = False
    ) -> None:
        await db(services.call_error)(
            **self._ids, code=code, message=message, url=url, method=method, warning=warning
        )

    async def answered(self) -> None:
        await db(services.call_status_set)(**self._ids, status="in-progress")

    async def recording(self, audio: bytes, duration_seconds: int, source: str) -> str:
        recording = await db(services.recording_store)(
            **self._ids, audio=audio, duration_seconds=duration_seconds, source=source
        )
        return str(recording.sid)

    async def child_call(self, to: str, from_: str) -> tuple[str, Callable[[str], Awaitable[None]]]:
        child_id: uuid.UUID = await db(services.child_call_open)(
            **self._ids, to_number=to, from_number=from_, media_server_id=self.media_server_id
        )

        async def finish(status: str) -> None:
            await db(services.call_finish)(account_id=self.setup.account_id, call_id=child_id, status=status)

        return "CA" + child_id.hex, finish

    async def callback(self, url: str, method: str, params: dict[str, str]) -> None:
        await db(services.callback_enqueue)(
            account_id=self.setup.account_id,
            url=url,
            method=method,
            params=params,
            call_sid=self.setup.call_sid,
        )

    async def finish(self, status: str | None = None, reason: str = "") -> None:
        await db(services.call_finish)(**self._ids, status=status, reason=reason)
