"""A tenant's TwiML app for tests: a real HTTP server on loopback answering each path with a script.

Every request is kept with its form and headers, so a test can check what Switchboard sent and
whether it was signed.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

Reply = tuple[int, str, bytes]  # status, content type, body
Handler = Callable[[dict[str, str]], Reply]


def twiml(document: str) -> Handler:
    body = document.encode()
    return lambda form: (200, "text/xml", body)


@dataclass
class Hit:
    at: float
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class TwimlApp:
    routes: dict[str, Handler] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    host: str = "127.0.0.1"  # any 127.x address: a second "host" on loopback

    def __post_init__(self) -> None:
        app = self

        class RequestHandler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else parts.query
                form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                app.hits.append(Hit(time.monotonic(), self.command, parts.path, form, dict(self.headers)))
                handler = app.routes.get(parts.path)
                status, content_type, payload = handler(form) if handler else (404, "text/plain", b"no route")
                self.send_response(status)
                if 300 <= status < 400:  # a redirect's body is where it points
                    self.send_header("Location", payload.decode())
                    payload = b""
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, 0), RequestHandler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://{self.host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests_to(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 20) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.requests_to(path)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"{path} got {len(self.requests_to(path))} requests, wanted {count}: "
            f"{[(h.path, h.form) for h in self.hits]}"
        )

    def is_signed(self, hit: Hit, token: str) -> bool:
        url = self.url + hit.path
        return RequestValidator(token).validate(url, hit.form, hit.headers.get("X-Twilio-Signature", ""))

    def __enter__(self) -> "TwimlApp":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
