"""A chat-completions server of the tests' own, speaking OpenAI's documented streaming protocol.

It answers POST /v1/chat/completions with server-sent events, as
https://platform.openai.com/docs/api-reference/chat-streaming documents them: `data: {chunk}` events
whose `choices[0].delta` carries `content` or `tool_calls` fragments (by `index`; `id` and function
`name` on a call's first fragment, `arguments` in pieces, https://platform.openai.com/docs/guides/
function-calling), a `finish_reason` on the last chunk, then `data: [DONE]`. Each test scripts what
it answers: the events, a status, a pause before the first byte or between events, a cut-off stream.
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


def text_events(*pieces: str) -> list[bytes]:
    first = [chunk({"role": "assistant", "content": ""})]
    return first + [chunk({"content": p}) for p in pieces] + [chunk({}, "stop"), DONE]


def tool_fragment(index: int, *, id: str = "", name: str = "", arguments: str = "") -> bytes:
    fragment: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if id:
        fragment |= {"id": id, "type": "function"}
        fragment["function"]["name"] = name
    return chunk({"tool_calls": [fragment]})


@dataclass
class Answer:
    events: list[bytes]
    status: int = 200
    first_byte_delay_s: float = 0.0
    between_s: float = 0.0


@dataclass
class ChatServer:
    url: str
    answers: list[Answer]
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def chat_server(*answers: Answer) -> Iterator[ChatServer]:
    """Serves the answers in order, one a request; the base URL ends in /v1, as OpenAI's does."""
    state = ChatServer("", list(answers))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
            answer = state.answers.pop(0)
            time.sleep(answer.first_byte_delay_s)
            self.send_response(answer.status)
            kind = "text/event-stream" if answer.status < 400 else "application/json"
            self.send_header("Content-Type", kind)
            self.end_headers()  # HTTP/1.0: the body ends when the connection closes
            with suppress(BrokenPipeError, ConnectionResetError):  # a client that gave up
                for event in answer.events:
                    self.wfile.write(event)
                    self.wfile.flush()
                    time.sleep(answer.between_s)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
