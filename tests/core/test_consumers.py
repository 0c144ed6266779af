"""A websocket to a path no route serves is refused at the handshake, through the whole ASGI stack;
Channels' router used to raise for it, which the server logs as a crash and answers with a 500."""

import asyncio
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from config.asgi import application
from core.consumers import NOT_FOUND


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/ws/bulks/", "/2010-04-01/Accounts.json", "/"])
def test_an_unrouted_websocket_path_is_refused_cleanly(path: str) -> None:
    async def handshake() -> Any:
        socket = ApplicationCommunicator(
            application, {"type": "websocket", "path": path, "headers": [(b"origin", b"http://127.0.0.1")]}
        )
        await socket.send_input({"type": "websocket.connect"})
        answer = await socket.receive_output(timeout=5)
        await socket.send_input({"type": "websocket.disconnect", "code": NOT_FOUND})
        await socket.wait(timeout=5)
        return answer

    assert asyncio.run(handshake()) == {"type": "websocket.close", "code": NOT_FOUND}
