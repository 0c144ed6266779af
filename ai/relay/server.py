"""The speech relay process's core: a websocket server the media bridge connects to as it would to
any Media Streams app; each connection whose `start` names a session the worker recorded becomes a
`RelaySession`, and its outcome is left for the worker before the connection closes."""

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
import websockets
from websockets.asyncio.server import Server, ServerConnection, serve

from ai.relay import contract
from ai.relay.session import Engines, RelaySession
from core.error_codes import ErrorCode
from streams.bridge.app_socket import MAX_MESSAGE_BYTES
from voice.media import MediaCache

log = logging.getLogger(__name__)

START_SECONDS = 5.0  # for the bridge's `connected` and `start`


class RelayServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        redis_url: str,
        engines: Callable[[contract.Session], Engines],
        media: MediaCache,
        connect_timeout: float,
    ) -> None:
        self.host, self.port = host, port
        self.engines = engines
        self.media = media
        self.connect_timeout = connect_timeout
        self.sessions: set[RelaySession] = set()
        self._redis = aioredis.from_url(redis_url)
        self._server: Server | None = None

    async def start(self) -> None:
        # reuse_port: several relay processes (one a core) share SPEECH_RELAY_URL's port; the kernel
        # spreads the bridge's connections over them.
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            reuse_port=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]  # the one taken, when 0 asked for any
        log.info("speech relay listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._redis.aclose()

    async def _handle(self, bridge: ServerConnection) -> None:
        stream_sid = await self._stream_sid(bridge)
        raw = await self._redis.getdel(contract.session_key(stream_sid)) if stream_sid else None
        if raw is None:
            log.warning("speech relay: a stream with no session (%s) was refused", stream_sid or "no start")
            await bridge.close(1008, "no ConversationRelay session for this stream")
            return
        session_record: contract.Session = json.loads(raw)
        session = RelaySession(
            session_record,
            stream_sid=stream_sid,
            bridge=bridge,
            engines=self.engines(session_record),
            media=self.media,
            connect_timeout=self.connect_timeout,
        )
        self.sessions.add(session)
        try:
            outcome = await session.run()
        except Exception:
            log.exception("relay session %s failed", session_record["session_id"])
            outcome = contract.failure(ErrorCode.INTERNAL_FAILURE, contract.RELAY_FAILED)
        finally:
            self.sessions.discard(session)
        await self._redis.set(
            contract.outcome_key(stream_sid), json.dumps(outcome), ex=contract.OUTCOME_TTL_SECONDS
        )
        log.info("relay session %s ended: %s", session_record["session_id"], outcome["status"])
        await bridge.close()  # the bridge reports the app closed: the worker's <Connect> ends

    @staticmethod
    async def _stream_sid(bridge: ServerConnection) -> str:
        """The stream's SID from the bridge's first two frames (`connected`, `start`); "" if not so."""
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed, ValueError, KeyError, TypeError):
            async with asyncio.timeout(START_SECONDS):
                for _ in range(2):
                    message = json.loads(await bridge.recv())
                    if message.get("event") == "start":
                        return str(message["start"]["streamSid"])
        return ""
