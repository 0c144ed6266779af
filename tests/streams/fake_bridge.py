"""A stand-in media bridge for the call side's tests: an asyncio AudioSocket server in a thread that
reads each connection's id, looks up its leg's key as the real bridge does (`streams.contract`), and
echoes the audio back; it closes a connection when told to, as a bridge does when its app leaves."""

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from streams import bridges, contract

KIND_HANGUP, KIND_ID, KIND_AUDIO = 0x00, 0x01, 0x10


@dataclass
class Connection:
    connection_id: str
    leg: contract.StreamLeg | None  # its key, read as it connected
    frames: int = 0
    is_closed: bool = False


class FakeBridge:
    def __init__(self, *, close_after_s: float | None = None) -> None:
        self.close_after_s = close_after_s  # each connection closed by us this long after it opened
        self.connections: list[Connection] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._stopping = asyncio.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "FakeBridge":
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(5)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        """Serve until told to stop, then end every connection here: a connection's coroutine left
        pending when the loop went away was finalised later by the garbage collector, at any moment
        of another test (once in the middle of pytest formatting a failure, which Python 3.11's
        parser does not survive: "AST constructor recursion depth mismatch", a crashed run)."""
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        server.close()
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection: Connection | None = None
        opened = time.monotonic()
        try:
            while True:
                timeout = None
                if self.close_after_s is not None:
                    timeout = max(0.0, opened + self.close_after_s - time.monotonic())
                header = await asyncio.wait_for(reader.readexactly(3), timeout)
                kind, length = header[0], int.from_bytes(header[1:3], "big")
                payload = await reader.readexactly(length)
                if kind == KIND_ID:
                    connection_id = str(uuid.UUID(bytes=payload))
                    raw = bridges._redis().get(contract.leg_key(connection_id))
                    connection = Connection(connection_id, json.loads(raw) if raw else None)
                    self.connections.append(connection)
                elif kind == KIND_AUDIO and connection is not None:
                    connection.frames += 1
                    writer.write(header + payload)  # the echo
                elif kind == KIND_HANGUP:
                    break
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if connection is not None:
                connection.is_closed = True
            writer.close()

    def wait(self, count: int = 1, timeout: float = 10, **condition: Any) -> list[Connection]:
        """The connections, once `count` have opened (and, with `closed=True`, all closed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = list(self.connections)
            if len(found) >= count and all(c.is_closed for c in found) >= condition.get("closed", False):
                return found
            time.sleep(0.05)
        raise AssertionError(f"bridge connections: {self.connections}, wanted {count} {condition}")
