"""A small asyncio ARI client on httpx and websockets.

Why our own: the PyPI clients either spin or exit when Asterisk restarts (see docs/asterisk.md). This
one reconnects with back-off, tells its owner each time it is connected again (so the owner can
reconcile calls), and leaves event dispatch to the owner, which registers waiters before it issues the
REST call that causes an event (ARI often delivers the event before the REST reply).
"""

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import websockets

log = logging.getLogger(__name__)

Event = dict[str, Any]


class AriError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"ARI {status}: {message}")
        self.status = status


class AriClient:
    def __init__(
        self, base_url: str, username: str, password: str, app: str, *, max_connections: int = 50
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._auth = (username, password)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=self._auth,
            timeout=httpx.Timeout(10.0),
            # Asterisk's http.conf sessionlimit caps concurrent HTTP + websocket sessions; stay well under it.
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )
        self.connected = asyncio.Event()

    async def close(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        gone_ok: bool = False,
    ) -> Any:
        """One REST call; with `gone_ok`, a 404 (the thing is already gone) is success, not an error."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response = await self._http.request(method, path, params=clean, json=body)
        if response.status_code == 404 and gone_ok:
            return None
        if response.status_code >= 400:
            raise AriError(response.status_code, response.text[:300])
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def _events_url(self) -> str:
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit(
            (scheme, parts.netloc, f"{parts.path}/events", f"app={self.app}&subscribeAll=false", "")
        )

    async def run_events(
        self,
        on_event: Callable[[Event], None],
        on_connected: Callable[[], Awaitable[None]],
        *,
        stop: asyncio.Event,
        max_backoff: float = 5.0,
    ) -> None:
        """Hold the events websocket until `stop` is set, reconnecting with back-off after any loss.

        `on_event` runs inline for each event and must not block; `on_connected` runs after every
        (re)connection, before further events are read, so the owner can reconcile its state.
        """
        token = base64.b64encode(":".join(self._auth).encode()).decode()
        backoff = 0.2
        while not stop.is_set():
            try:
                async with websockets.connect(
                    self._events_url(),
                    additional_headers={"Authorization": f"Basic {token}"},
                    open_timeout=5,
                    ping_interval=10,
                    ping_timeout=10,
                    max_size=2**22,
                ) as ws:
                    self.connected.set()
                    backoff = 0.2
                    log.info("ARI events connected: %s app=%s", self.base_url, self.app)
                    await on_connected()
                    stop_wait = asyncio.ensure_future(stop.wait())
                    try:
                        while True:
                            receive = asyncio.ensure_future(ws.recv())
                            done, _ = await asyncio.wait(
                                {receive, stop_wait}, return_when=asyncio.FIRST_COMPLETED
                            )
                            if stop_wait in done:
                                receive.cancel()
                                return
                            on_event(json.loads(receive.result()))
                    finally:
                        stop_wait.cancel()
            except (TimeoutError, OSError, websockets.WebSocketException) as exc:
                log.warning("ARI events lost (%s); reconnecting in %.1f s", exc, backoff)
            finally:
                self.connected.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(max_backoff, backoff * 2)

    # The REST calls the platform uses, named for what they do.

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        await self.request("DELETE", f"/channels/{channel_id}", params={"reason": reason}, gone_ok=True)

    async def play(self, channel_id: str, media: str, playback_id: str) -> None:
        await self.request(
            "POST", f"/channels/{channel_id}/play", params={"media": media, "playbackId": playback_id}
        )

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{playback_id}", gone_ok=True)

    async def record(
        self, channel_id: str, *, name: str, max_duration: int, max_silence: int, beep: bool
    ) -> None:
        await self.request(
            "POST",
            f"/channels/{channel_id}/record",
            params={
                "name": name,
                "format": "wav",
                "maxDurationSeconds": max_duration,
                "maxSilenceSeconds": max_silence,
                "terminateOn": "none",
                "beep": "true" if beep else "false",
                "ifExists": "overwrite",
            },
        )

    async def stop_recording(self, name: str) -> None:
        await self.request("POST", f"/recordings/live/{name}/stop", gone_ok=True)

    async def stored_recording(self, name: str) -> bytes:
        return bytes(await self.request("GET", f"/recordings/stored/{name}/file"))

    async def delete_stored_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/stored/{name}", gone_ok=True)

    async def create_channel(
        self,
        *,
        endpoint: str,
        channel_id: str,
        app_args: str,
        caller_id: str = "",
        originator: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> Event:
        return dict(
            await self.request(
                "POST",
                "/channels/create",
                params={
                    "endpoint": endpoint,
                    "app": self.app,
                    "appArgs": app_args,
                    "channelId": channel_id,
                    "originator": originator,
                    "callerId": caller_id or None,
                },
                body={"variables": variables} if variables else None,
            )
        )

    async def dial(self, channel_id: str, *, timeout: int, caller: str | None = None) -> None:
        await self.request(
            "POST", f"/channels/{channel_id}/dial", params={"timeout": timeout, "caller": caller}
        )

    async def send_dtmf(self, channel_id: str, digits: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/dtmf", params={"dtmf": digits, "between": 100})

    async def create_bridge(self, bridge_id: str) -> None:
        await self.request("POST", "/bridges", params={"type": "mixing", "bridgeId": bridge_id})

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self.request(
            "POST", f"/bridges/{bridge_id}/addChannel", params={"channel": ",".join(channel_ids)}
        )

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{bridge_id}", gone_ok=True)

    async def record_bridge(self, bridge_id: str, *, name: str) -> None:
        await self.request(
            "POST",
            f"/bridges/{bridge_id}/record",
            params={"name": name, "format": "wav", "ifExists": "overwrite", "terminateOn": "none"},
        )

    async def ignore_events(self, *types: str) -> None:
        """Ask Asterisk not to send event types we never use (each costs a websocket frame and a parse)."""
        await self.request(
            "PUT",
            f"/applications/{self.app}/eventFilter",
            body={"disallowed": [{"type": kind} for kind in types]},
        )

    async def allow_events(self, *types: str) -> None:
        """Let only these event types reach the app (the other way round from `ignore_events`)."""
        await self.request(
            "PUT",
            f"/applications/{self.app}/eventFilter",
            body={"allowed": [{"type": kind} for kind in types]},
        )

    async def subscribe(self, event_source: str) -> None:
        """Send the app the events of `event_source` (e.g. `endpoint:PJSIP/trunk`); Asterisk forgets
        this when it restarts."""
        await self.request(
            "POST", f"/applications/{self.app}/subscription", params={"eventSource": event_source}
        )

    async def unsubscribe(self, event_source: str) -> None:
        await self.request(
            "DELETE",
            f"/applications/{self.app}/subscription",
            params={"eventSource": event_source},
            gone_ok=True,
        )

    async def send_message(self, *, to: str, from_: str, body: str, headers: dict[str, str]) -> None:
        """Send a text (SIP MESSAGE for a `pjsip:` destination), each of `headers` as a header of it.

        202 means Asterisk queued it, not that the far end took it. The parameters travel in the JSON
        body: a long text in the query string makes Asterisk answer 400.
        """
        await self.request(
            "PUT",
            "/endpoints/sendMessage",
            body={"to": to, "from": from_, "body": body, "variables": headers},
        )

    async def app_channel_ids(self) -> list[str]:
        app = await self.request("GET", f"/applications/{self.app}")
        return list(app.get("channel_ids", []))
