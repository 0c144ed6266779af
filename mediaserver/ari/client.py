"""A small asyncio ARI client on httpx and websockets.

Why our own: the PyPI clients either spin or exit when Asterisk restarts (see docs/asterisk.md). This
one reconnects with back-off, tells its owner each time it is connected again (so the owner can
reconcile calls), and leaves event dispatch to the owner, which registers waiters before it issues the
REST call that causes an event (ARI often delivers the event before the REST reply).
"""

import asyncio
import base64
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

log = logging.getLogger(__name__)

Event = dict[str, Any]
REQUEST_TIMEOUT_SECONDS = 10.0


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
        self._ws: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[Event]] = {}
        self._request_ids = itertools.count(1)

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
        binary: bool = False,
    ) -> Any:
        """One REST call; with `gone_ok`, a 404 (the thing is already gone) is success, not an error.

        While the events websocket is up, requests travel over it (Asterisk 22.5+ "REST over
        WebSocket"): a frame each way instead of an HTTP exchange, far less CPU on our side
        (bench/RESULTS.md). Binary bodies (recording files) and requests made while reconnecting
        use HTTP.
        """
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        if self._ws is not None and not binary:
            status, content_type, content = await self._request_over_ws(self._ws, method, path, clean, body)
        else:
            response = await self._http.request(method, path, params=clean, json=body)
            status = response.status_code
            content_type = response.headers.get("content-type", "")
            content = response.content
        if status == 404 and gone_ok:
            return None
        if status >= 400:
            raise AriError(status, content[:300].decode(errors="replace"))
        if status == 204 or not content:
            return None
        if content_type.startswith("application/json"):
            return json.loads(content)
        return content

    async def _request_over_ws(
        self,
        ws: ClientConnection,
        method: str,
        path: str,
        params: dict[str, Any],
        body: dict[str, Any] | None,
    ) -> tuple[int, str, bytes]:
        request_id = str(next(self._request_ids))
        frame: dict[str, Any] = {
            "type": "RESTRequest",
            "request_id": request_id,
            "transaction_id": request_id,
            "method": method,
            "uri": path.lstrip("/"),
            "query_strings": [{"name": k, "value": str(v)} for k, v in params.items()],
        }
        if body is not None:
            frame |= {"content_type": "application/json", "message_body": json.dumps(body)}
        reply: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = reply
        try:
            await ws.send(json.dumps(frame))
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):  # not wait_for: 3.11's loses a cancel
                response = await reply
        except (TimeoutError, websockets.WebSocketException) as exc:
            raise AriError(0, f"{method} {path}: no reply over the websocket ({exc!r})") from exc
        finally:
            self._pending.pop(request_id, None)
        return (
            int(response.get("status_code", 0)),
            response.get("content_type") or "",
            (response.get("message_body") or "").encode(),
        )

    def _fail_pending(self, reason: str) -> None:
        for reply in self._pending.values():
            if not reply.done():
                reply.set_exception(AriError(0, reason))
        self._pending.clear()

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
        on_lost: Callable[[], Awaitable[None]] | None = None,
        max_backoff: float = 5.0,
    ) -> None:
        """Hold the events websocket until `stop` is set, reconnecting with back-off after any loss.

        `on_event` runs inline for each event and must not block; `on_connected` runs after every
        (re)connection, before further events are read, so the owner can reconcile its state;
        `on_lost` runs each time a connection ends, the last one included.
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
                    # Reconciling makes REST calls whose replies would queue behind unread events on
                    # this socket, so those go over HTTP; the websocket carries requests only after.
                    await on_connected()
                    self._ws = ws
                    closer = asyncio.create_task(self._close_when(stop, ws))
                    try:
                        async for raw in ws:
                            message = json.loads(raw)
                            if message.get("type") == "RESTResponse":
                                reply = self._pending.get(message.get("request_id", ""))
                                if reply is not None and not reply.done():
                                    reply.set_result(message)
                            else:
                                on_event(message)
                        if stop.is_set():
                            return
                    finally:
                        closer.cancel()
            except (TimeoutError, OSError, websockets.WebSocketException) as exc:
                log.warning("ARI events lost (%s); reconnecting in %.1f s", exc, backoff)
            finally:
                was_connected = self.connected.is_set()
                self.connected.clear()
                self._ws = None
                self._fail_pending("ARI websocket lost")
                if was_connected and on_lost is not None:
                    await on_lost()
            with contextlib.suppress(asyncio.TimeoutError):
                async with asyncio.timeout(backoff):
                    await stop.wait()
            backoff = min(max_backoff, backoff * 2)

    @staticmethod
    async def _close_when(stop: asyncio.Event, ws: ClientConnection) -> None:
        await stop.wait()
        await ws.close()

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
        return bytes(await self.request("GET", f"/recordings/stored/{name}/file", binary=True))

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

    async def external_media(self, *, channel_id: str, external_host: str, data: str) -> None:
        """An AudioSocket channel Asterisk connects to `external_host` (host:port) over TCP, sending
        `data` (a UUID) first; it enters this app's Stasis (signed linear 8 kHz, 20 ms frames)."""
        await self.request(
            "POST",
            "/channels/externalMedia",
            params={
                "app": self.app,
                "channelId": channel_id,
                "external_host": external_host,
                "encapsulation": "audiosocket",
                "transport": "tcp",
                "format": "slin",
                "data": data,
            },
        )

    async def snoop(
        self, channel_id: str, *, snoop_id: str, spy: str, whisper: str = "none", app_args: str = "media-leg"
    ) -> None:
        """A channel in this app's Stasis that hears `channel_id`'s audio: `spy=in` what it sends,
        `out` what it is sent; what it is given it speaks into the channel as `whisper` says (`out`:
        to the channel's device only, `both`: into its call too). Asterisk hangs it up when the
        spied channel goes."""
        await self.request(
            "POST",
            f"/channels/{channel_id}/snoop",
            params={
                "spy": spy,
                "whisper": whisper,
                "app": self.app,
                "appArgs": app_args,
                "snoopId": snoop_id,
            },
        )

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        await self.request(
            "POST", f"/channels/{channel_id}/variable", params={"variable": name, "value": value}
        )

    async def create_bridge(self, bridge_id: str, *, name: str | None = None) -> None:
        await self.request("POST", "/bridges", params={"type": "mixing", "bridgeId": bridge_id, "name": name})

    async def add_to_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self.request(
            "POST", f"/bridges/{bridge_id}/addChannel", params={"channel": ",".join(channel_ids)}
        )

    async def remove_from_bridge(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self.request(
            "POST", f"/bridges/{bridge_id}/removeChannel", params={"channel": ",".join(channel_ids)}
        )

    async def destroy_bridge(self, bridge_id: str) -> None:
        """Both calls of a bridge destroy it as they end; the second, while Asterisk is still tearing
        it down, gets 409 "Bridge not in Stasis application": it is going, as a 404 says it is gone."""
        try:
            await self.request("DELETE", f"/bridges/{bridge_id}", gone_ok=True)
        except AriError as exc:
            if exc.status != 409:
                raise

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
        """Let only these event types reach the app (the other way round from `ignore_events`).

        Asterisk filters the replies to REST-over-websocket requests like events, so those stay allowed.
        """
        await self.request(
            "PUT",
            f"/applications/{self.app}/eventFilter",
            body={"allowed": [{"type": kind} for kind in (*types, "RESTResponse")]},
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

    async def channel(self, channel_id: str) -> Event:
        return dict(await self.request("GET", f"/channels/{channel_id}"))

    async def bridges(self) -> list[Event]:
        """Every bridge on the server, with the ids of the channels in it."""
        return list(await self.request("GET", "/bridges"))

    async def channel_ids(self) -> list[str]:
        """Every channel on the server, whatever app (or dialplan) holds it."""
        return [channel["id"] for channel in await self.request("GET", "/channels")]

    async def app_channel_ids(self) -> list[str]:
        app = await self.request("GET", f"/applications/{self.app}")
        return list(app.get("channel_ids", []))
