"""Webhook signatures match Twilio's algorithm, checked with the official SDK's RequestValidator."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.http import QueryDict
from twilio.request_validator import RequestValidator

from core import webhooks


def test_reference_worked_example() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert webhooks.signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_repeated_parameters_sign_like_the_sdk() -> None:
    params = {"B": ["2", "1"], "A": ["x"]}
    signed = webhooks.signature("https://example.com/cb", params, "token")
    as_querydict = QueryDict(mutable=True)
    for name, values in params.items():
        as_querydict.setlist(name, values)
    assert RequestValidator("token").validate("https://example.com/cb", as_querydict, signed)


class Receiver:
    """A real HTTP server on loopback that records requests and answers with scripted statuses."""

    def __init__(
        self,
        statuses: list[int],
        delay: float = 0.0,
        answer: bytes = b"<Response/>",
        content_type: str = "text/xml",
    ) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = statuses
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.requests.append(
                    {
                        "at": time.monotonic(),
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "form": {k: v for k, v in parse_qs(body, keep_blank_values=True).items()},
                    }
                )
                time.sleep(delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([200])
    yield r
    r.close()


def _validate(request: dict[str, Any], url: str, token: str, params: dict[str, Any]) -> bool:
    return RequestValidator(token).validate(url, params, request["headers"]["X-Twilio-Signature"])


def test_signed_post_validates_with_the_official_sdk(receiver: Receiver) -> None:
    params = {"CallSid": "CA" + "1" * 32, "Body": "héllo wörld", "To": "+15017122661"}
    url = receiver.url + "/status?x=1"
    result = webhooks.send(url=url, method="POST", params=params, auth_token="tok")
    assert result.is_success and result.status_code == 200
    request = receiver.requests[0]
    assert request["form"]["Body"] == ["héllo wörld"]
    assert _validate(request, url, "tok", params)
    assert not _validate(request, url, "other-token", params)


def test_signed_get_puts_params_in_the_signed_url(receiver: Receiver) -> None:
    params = {"CallSid": "CA" + "1" * 32, "Digits": "12#"}
    result = webhooks.send(url=receiver.url + "/ivr", method="GET", params=params, auth_token="tok")
    assert result.is_success
    request = receiver.requests[0]
    assert request["method"] == "GET" and "Digits=12%23" in request["path"]
    assert _validate(request, receiver.url + request["path"], "tok", {})


def test_http_error_and_connection_failure_are_reported_not_raised() -> None:
    failing = Receiver([500])
    try:
        result = webhooks.send(url=failing.url, method="POST", params={}, auth_token="t")
        assert (result.error_code, result.status_code) == (11200, 500)
    finally:
        failing.close()
    refused = webhooks.send(url="http://127.0.0.1:9/", method="POST", params={}, auth_token="t")
    assert refused.error_code == 11205 and refused.status_code is None


def test_slow_receiver_times_out() -> None:
    """Reported as a refused port is (core/egress.py): the error log is no port scanner."""
    slow = Receiver([200], delay=1.0)
    try:
        started = time.monotonic()
        result = webhooks.send(url=slow.url, method="POST", params={}, auth_token="t", timeout=0.2)
        assert time.monotonic() - started < 0.9
        assert (result.error_code, result.error) == (11205, "no answer from 127.0.0.1")
    finally:
        slow.close()


def _dripping_server(body_bytes: int, every_s: float) -> tuple[socket.socket, str]:
    """An HTTP server that answers 200 and then sends its body a byte at a time, `every_s` apart."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % body_bytes)
            for _ in range(body_bytes):
                time.sleep(every_s)
                try:
                    connection.sendall(b"x")
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}/"


def test_a_server_that_answers_slowly_is_cut_off_at_the_deadline() -> None:
    """A byte every 0.2 s never trips a read timeout; the whole request's deadline stops it."""
    listener, url = _dripping_server(body_bytes=1000, every_s=0.2)
    with listener:
        started = time.monotonic()
        result = webhooks.send(url=url, method="POST", params={}, auth_token="t", timeout=1.0)
    assert time.monotonic() - started < 2.0
    assert (result.error_code, result.error) == (11205, "no answer from 127.0.0.1")


def test_an_endless_answer_is_read_up_to_the_cap() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
            with contextlib.suppress(OSError):
                while True:
                    connection.sendall(b"<" * 65536)

    threading.Thread(target=serve, daemon=True).start()
    with listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        result = webhooks.send(url=url, method="GET", params={}, auth_token="t")
    assert result.is_success and len(result.body) == webhooks.MAX_BODY_BYTES


def test_a_url_no_host_can_have_is_reported_not_raised() -> None:
    result = webhooks.send(url="http://xn--/hook", method="POST", params={}, auth_token="t")
    assert (result.error_code, result.status_code) == (11100, None)
