"""Deliver each ARI event to the call task that owns the channel, playback, recording or bridge it names.

Owners register every id they create (client-generated ids) before issuing the REST call, because ARI
often sends the resulting event before the REST reply; an event for an unknown channel's StasisStart
goes to `on_new_channel`, which starts a call task.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
Event = dict[str, Any]


def _target_id(uri: str) -> str:
    """`channel:abc` or `bridge:abc` -> `abc`."""
    return uri.partition(":")[2]


def event_ids(event: Event) -> list[str]:
    """The ids an event concerns, most specific first."""
    ids = []
    for key in ("channel", "peer", "caller"):
        if isinstance(event.get(key), dict):
            ids.append(event[key]["id"])
    for key in ("playback", "recording"):
        if isinstance(event.get(key), dict):
            ids.append(event[key].get("id") or event[key].get("name", ""))
            ids.append(_target_id(event[key].get("target_uri", "")))
    if isinstance(event.get("bridge"), dict):
        ids.append(event["bridge"]["id"])
    return [i for i in ids if i]


class EventRouter:
    def __init__(self, on_new_channel: Callable[[Event], None]) -> None:
        self._owners: dict[str, asyncio.Queue[Event]] = {}
        self._on_new_channel = on_new_channel

    def claim(self, resource_id: str, queue: "asyncio.Queue[Event]") -> None:
        self._owners[resource_id] = queue

    def release(self, *resource_ids: str) -> None:
        for resource_id in resource_ids:
            self._owners.pop(resource_id, None)

    def owns(self, resource_id: str) -> bool:
        return resource_id in self._owners

    def route(self, event: Event) -> None:
        for resource_id in event_ids(event):
            queue = self._owners.get(resource_id)
            if queue is not None:
                queue.put_nowait(event)
                return
        if event.get("type") == "StasisStart":
            self._on_new_channel(event)
        else:
            log.debug("unrouted ARI event %s", event.get("type"))
