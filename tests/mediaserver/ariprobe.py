"""A minimal ARI client for tests: one app's event websocket plus REST calls, all synchronous.

Deliberately tiny and test-only; the platform's ARI client lives in mediaserver/ari/. Events are kept in
arrival order, so a test can wait for one and still inspect the ones that came before it.
"""

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from mediaserver.asterisk import AsteriskInstance

Event = dict[str, Any]


class AriProbe:
    def __init__(self, instance: AsteriskInstance) -> None:
        self.instance = instance
        self.rest = httpx.Client(
            base_url=instance.ari_url + "/",
            auth=(instance.ari_username, instance.ari_password),
            timeout=5.0,
        )
        self.events: list[Event] = []
        self._ws: ClientConnection | None = None
        self._stack = ExitStack()

    def connect(self) -> "AriProbe":
        """Register the app by opening its event websocket."""
        self._ws = self._stack.enter_context(connect(self.instance.events_url, open_timeout=5))
        return self

    def close(self) -> None:
        self._stack.close()  # closes the websocket, waiting for the closing handshake
        self._ws = None
        self.rest.close()

    def __enter__(self) -> "AriProbe":
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_for(
        self, event_type: str, *, timeout: float = 10.0, where: Callable[[Event], bool] | None = None
    ) -> Event:
        """The next event of that type (and matching `where`) not yet returned by an earlier wait."""
        assert self._ws is not None, "connect() first"
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [event["type"] for event in self.events[-20:]]
                raise TimeoutError(f"no {event_type} within {timeout} s; last events: {seen}")
            try:
                raw = self._ws.recv(timeout=remaining)
            except TimeoutError:
                continue
            event: Event = json.loads(raw)
            self.events.append(event)
            if event["type"] == event_type and (where is None or where(event)):
                return event

    def of_type(self, event_type: str) -> list[Event]:
        return [event for event in self.events if event["type"] == event_type]

    def post(self, path: str, **params: Any) -> httpx.Response:
        response = self.rest.post(path, params=params)
        response.raise_for_status()
        return response

    def delete(self, path: str, **params: Any) -> httpx.Response:
        return self.rest.delete(path, params=params)

    def get(self, path: str, **params: Any) -> Any:
        response = self.rest.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def app_registered(self) -> bool:
        return any(app["name"] == self.instance.ari_app for app in self.get("applications"))
