"""A bridge process's core: the AudioSocket listener, its heartbeat in the bridges hash, the worker's commands
on its pub/sub channel, and the streams it carries (streams/contract.py says what each side owes).

Asterisk connects once per leg and names it with the connection id; the leg's `StreamLeg` is read from
Redis then (once per connection, never per frame). The first leg of a stream starts it; the second leg
of a both_tracks stream joins it, on the same websocket.
"""

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from core.timeouts import within
from streams.bridge import audiosocket
from streams.bridge.stream import End, Leg, Stream
from streams.contract import (
    HEARTBEAT_SECONDS,
    STALE_SECONDS,
    BridgeInfo,
    Reporter,
    StreamLeg,
    bridges_key,
    commands_channel,
    leg_key,
)

log = logging.getLogger(__name__)

ID_SECONDS = 5.0  # for Asterisk's first frame, the connection id
STOP_SECONDS = 5.0  # for every stream to say `stop` at shutdown
RETRY_SECONDS = 1.0  # after Redis failed us


@dataclass(frozen=True)
class Config:
    host: str  # where Asterisk reaches the listener: announced as is
    port: int  # 0: any free port, announced
    redis_url: str
    connect_timeout: float  # for the app's websocket upgrade


class Bridge:
    def __init__(self, config: Config, reporter: Reporter) -> None:
        self.config = config
        self.id = secrets.token_hex(6)
        self.port = config.port
        self.streams: dict[str, Stream] = {}
        self._reporter = reporter
        self._redis = aioredis.from_url(config.redis_url)
        self._server: asyncio.Server | None = None
        self._runs: set[asyncio.Task[None]] = set()  # each connection's handler, a stream's run among them
        self._background: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Listen, announce ourselves, and follow commands; returns once Asterisk may connect."""
        self._server = await asyncio.start_server(self._accept, self.config.host, self.config.port)
        self.port = self._server.sockets[0].getsockname()[1]
        await self._forget_dead_bridges()
        commands = await self._listen()  # before the first heartbeat: the worker takes us for live then
        await self._beat()
        self._background = [
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._follow_commands(commands)),
        ]
        log.info("media bridge %s listening on %s:%d", self.id, self.config.host, self.port)

    async def stop(self) -> None:
        """Take no more legs, end every stream cleanly (`stop` to each app), withdraw from `bridges_key()`."""
        if self._server is not None:
            self._server.close()
        for stream in list(self.streams.values()):
            stream.finish(End.STOPPED)
        if self._runs:
            await asyncio.wait(self._runs, timeout=STOP_SECONDS)
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self._redis.hdel(bridges_key(), self.id)
        await self._redis.aclose()
        log.info("media bridge %s stopped", self.id)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._runs.add(task)
        try:
            leg = await self._identify(reader)
            if leg is None:
                writer.close()
                return
            connection = Leg(leg["track"], reader, writer)
            stream = self.streams.get(leg["stream_sid"])
            if stream is not None:
                stream.add_leg(connection)
                return
            stream = Stream(
                leg, connection, reporter=self._reporter, connect_timeout=self.config.connect_timeout
            )
            self.streams[stream.sid] = stream
            try:
                await stream.run()
            finally:
                del self.streams[stream.sid]
        finally:
            self._runs.discard(task)

    async def _identify(self, reader: asyncio.StreamReader) -> StreamLeg | None:
        """The leg Asterisk's connection carries, from the id it sends first; None for a stranger."""
        try:
            kind, payload = await within(audiosocket.read_frame(reader), ID_SECONDS)
            if kind != audiosocket.Kind.ID or len(payload) != 16:
                log.warning("an AudioSocket connection did not begin with its id")
                return None
            connection_id = str(uuid.UUID(bytes=payload))
            raw = await self._redis.get(leg_key(connection_id))
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            return None
        except RedisError:
            log.exception("could not read the leg of AudioSocket connection %s", connection_id)
            return None
        if raw is None:
            log.warning("AudioSocket connection %s has no leg (expired, or not ours)", connection_id)
            return None
        leg: StreamLeg = json.loads(raw)
        return leg

    async def _beat(self) -> None:
        info = BridgeInfo(host=self.config.host, port=self.port, streams=len(self.streams), seen=time.time())
        await self._redis.hset(bridges_key(), self.id, json.dumps(info))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._beat()
            except (RedisError, OSError):
                log.exception("media bridge %s: heartbeat failed", self.id)

    async def _forget_dead_bridges(self) -> None:
        """Drop the fields of bridges long dead, so restarts do not grow the hash forever."""
        now = time.time()
        for field, raw in (await self._redis.hgetall(bridges_key())).items():
            if json.loads(raw)["seen"] < now - 10 * STALE_SECONDS:
                await self._redis.hdel(bridges_key(), field)

    async def _listen(self) -> PubSub:
        """Subscribed to our command channel: while the subscription lasts, the worker counts us live."""
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(commands_channel(self.id))
        return pubsub

    async def _follow_commands(self, pubsub: PubSub | None) -> None:
        while True:
            try:
                pubsub = pubsub or await self._listen()
                async with pubsub:
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._command(json.loads(message["data"]))
            except (RedisError, OSError):
                log.exception("media bridge %s: lost its command channel; listening again", self.id)
                pubsub = None
                await asyncio.sleep(RETRY_SECONDS)

    def _command(self, command: dict[str, str]) -> None:
        stream = self.streams.get(command.get("stream_sid", ""))
        if stream is None:
            return  # ended already, or never ours
        if command.get("op") == "dtmf":
            stream.dtmf(command["digit"])
        elif command.get("op") == "stop":
            stream.finish(End.STOPPED)
