"""The outbound-destination policy: which addresses it refuses, that a connection goes to the address it
checked, that redirects are checked again, and that failures read alike whatever is behind a port.
Real sockets on loopback throughout; `settings.EGRESS_ALLOW` narrows what the tests' default admits."""

import asyncio
import http.server
import ipaddress
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core import egress, webhooks
from core.tenancy import tenant_scope
from monitor.deliveries import webhook_attempt
from monitor.models import Notification, WebhookDelivery
from monitor.outbox import webhook_enqueue
from tests.conftest import Tenant
from tests.voice.twiml_app import TwimlApp
from voice.media import MediaCache, MediaError

REFUSED = [
    "127.0.0.1", "127.8.9.10", "0.0.0.0", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1",  # noqa: S104
    "169.254.169.254", "224.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "fc00::1", "fd00:ec2::254",
    "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "2002:7f00:1::1", "64:ff9b::a00:1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo whose client is 127.0.0.1
    # admitted by some Pythons' is_global: the policy's own table refuses them
    "::ffff:0:7f00:1", "64:ff9b:1::7f00:1", "fec0::1", "5f00::1", "192.0.0.8", "192.88.99.1",
    "198.18.0.1", "240.0.0.1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.fixture
def no_exceptions(settings: Any) -> Any:
    settings.EGRESS_ALLOW = []
    return settings


@pytest.fixture
def app() -> Iterator[TwimlApp]:
    with TwimlApp() as running:
        running.routes["/hook"] = lambda form: (200, "text/xml", b"<Response/>")
        yield running


@pytest.mark.parametrize("address", REFUSED)
def test_private_loopback_metadata_and_wrapped_addresses_are_refused(address: str) -> None:
    assert not egress.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_admitted(address: str) -> None:
    assert egress.is_public(ipaddress.ip_address(address))


def test_an_operator_admits_a_network_or_one_port(settings: Any) -> None:
    settings.EGRESS_ALLOW = ["10.1.0.0/16", "127.0.0.1:8000", "[::1]:9000"]
    loopback, v6_loopback = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    assert egress.is_allowed(ipaddress.ip_address("10.1.200.3"), 443)
    assert not egress.is_allowed(ipaddress.ip_address("10.2.0.1"), 443)
    assert egress.is_allowed(loopback, 8000) and not egress.is_allowed(loopback, 8088)
    assert egress.is_allowed(ipaddress.ip_address("::ffff:127.0.0.1"), 8000)  # mapped: the same host
    assert egress.is_allowed(v6_loopback, 9000) and not egress.is_allowed(v6_loopback, 8000)


def test_a_name_that_does_not_resolve_reads_as_a_refused_one(no_exceptions: Any) -> None:
    """Told apart, the two answers would tell a tenant which internal names exist."""
    unknown = webhooks.send(url="http://no-such-host.invalid/", method="GET", params={}, auth_token="t")
    internal = webhooks.send(url="http://localhost/", method="GET", params={}, auth_token="t")
    assert unknown.error_code == internal.error_code == 11205
    assert unknown.error.replace("no-such-host.invalid", "H") == internal.error.replace("localhost", "H")


def test_a_webhook_to_loopback_never_connects(no_exceptions: Any, app: TwimlApp) -> None:
    hosts = ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1")
    for url in (f"http://{host}:{app.port}/hook" for host in hosts):
        result = webhooks.send(url=url, method="POST", params={"A": "1"}, auth_token="t")
        assert (result.error_code, result.status_code) == (11205, None), url
        assert "not an allowed destination" in result.error
    assert app.hits == []


def test_an_admitted_port_is_reached_and_its_neighbours_are_not(no_exceptions: Any) -> None:
    with TwimlApp() as admitted, TwimlApp() as neighbour:
        admitted.routes["/hook"] = neighbour.routes["/hook"] = lambda form: (200, "text/xml", b"")
        no_exceptions.EGRESS_ALLOW = [f"127.0.0.1:{admitted.port}"]
        assert webhooks.send(url=f"{admitted.url}/hook", method="POST", params={}, auth_token="t").is_success
        refused = webhooks.send(url=f"{neighbour.url}/hook", method="GET", params={}, auth_token="t")
        assert refused.error_code == 11205
        assert len(admitted.hits) == 1 and neighbour.hits == []


def test_the_connection_goes_to_the_address_that_was_checked(
    no_exceptions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name that answers an admitted address, then a forbidden one, gets one lookup."""
    with TwimlApp(host="127.0.0.2") as admitted, TwimlApp() as forbidden:
        admitted.routes["/hook"] = forbidden.routes["/hook"] = lambda form: (200, "text/xml", b"")
        no_exceptions.EGRESS_ALLOW = ["127.0.0.2/32"]
        answers = iter(["127.0.0.2", "127.0.0.1", "127.0.0.1"])
        lookups: list[str] = []
        real_getaddrinfo = socket.getaddrinfo

        def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host != "rebind.test":
                return real_getaddrinfo(host, port, *args, **kwargs)
            lookups.append(host)
            return real_getaddrinfo(next(answers), port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        url = f"http://rebind.test:{admitted.port}/hook"
        assert webhooks.send(url=url, method="POST", params={}, auth_token="t").is_success
        assert lookups == ["rebind.test"]
        assert [h.headers["Host"] for h in admitted.hits] == [f"rebind.test:{admitted.port}"]
        assert forbidden.hits == []


def test_failures_read_alike_whether_the_port_is_closed_or_resets(settings: Any) -> None:
    """A port scanner learns nothing from the error text: refused and reset read the same."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    resetting = socket.socket()
    resetting.bind(("127.0.0.1", 0))
    resetting.listen()

    def reset_each() -> None:
        connection, _ = resetting.accept()
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        connection.close()

    threading.Thread(target=reset_each, daemon=True).start()
    settings.EGRESS_ALLOW = ["127.0.0.1/32"]
    errors = {
        webhooks.send(url=f"http://127.0.0.1:{port}/", method="POST", params={}, auth_token="t").error
        for port in (closed_port, resetting.getsockname()[1])
    }
    resetting.close()
    assert errors == {"no answer from 127.0.0.1"}


def test_media_redirected_to_a_forbidden_address_is_not_fetched(
    no_exceptions: Any, tmp_path: Any
) -> None:
    """<Play> follows redirects; each one is checked as the first request was."""
    with TwimlApp() as forbidden, TwimlApp(host="127.0.0.2") as admitted:
        forbidden.routes["/secret.wav"] = lambda form: (200, "audio/wav", b"RIFF")
        moved = f"{forbidden.url}/secret.wav".encode()
        admitted.routes["/moved.wav"] = lambda form: (302, "text/plain", moved)
        no_exceptions.EGRESS_ALLOW = ["127.0.0.2/32"]

        async def play() -> str:
            async with egress.async_client(timeout=5) as http:
                return await MediaCache(str(tmp_path), http).play(f"{admitted.url}/moved.wav")

        with pytest.raises(MediaError) as refused:
            asyncio.run(play())
    assert refused.value.code == 11205 and "not an allowed destination" in str(refused.value)
    assert len(admitted.hits) == 1 and forbidden.hits == []


@pytest.mark.django_db
def test_a_status_callback_to_loopback_leaves_nothing_to_read(
    no_exceptions: Any, tenant_a: Tenant
) -> None:
    """The attack: a StatusCallback at ARI on loopback, read back through the Notifications API."""
    no_exceptions.WEBHOOK_MAX_ATTEMPTS = 1
    with TwimlApp() as ari:
        ari.routes["/ari/asterisk/info"] = lambda form: (200, "application/json", b'{"build": "secret"}')
        with tenant_scope(tenant_a.account.id):
            url = f"{ari.url}/ari/asterisk/info"
            delivery = webhook_enqueue(account=tenant_a.account, url=url, params={})
        ids = {"account_id": tenant_a.account.id, "delivery_id": delivery.id}
        assert webhook_attempt(**ids) is None  # given up: nothing more owed
        with tenant_scope(tenant_a.account.id):
            [notification] = Notification.objects.all()
            assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.FAILED
        assert ari.hits == []
        assert notification.error_code == 11205 and "not an allowed destination" in notification.message_text
        assert (notification.response_body, notification.response_headers) == ("", "")


@pytest.mark.django_db
def test_a_failed_response_is_kept_as_a_short_excerpt(tenant_a: Tenant) -> None:
    with TwimlApp() as failing:
        failing.routes["/hook"] = lambda form: (500, "text/html", b"\x00secret " * 2000)
        with tenant_scope(tenant_a.account.id):
            delivery = webhook_enqueue(account=tenant_a.account, url=f"{failing.url}/hook", params={})
        webhook_attempt(account_id=tenant_a.account.id, delivery_id=delivery.id)
        with tenant_scope(tenant_a.account.id):
            [notification] = Notification.objects.all()
    assert len(notification.response_body) == 512 and "\x00" not in notification.response_body
    kept = ["content-type: text/html", "content-length: 16000"]
    assert notification.response_headers.lower().splitlines() == kept


def test_every_client_verifies_certificates_with_the_one_shared_context(tmp_path: Any) -> None:
    """Clients share one TLS context (building one cost 30 to 60 ms a client): each still refuses a
    certificate no authority signed, and each new client is built in well under that."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"https://localhost:{server.server_address[1]}/"
    try:
        egress.client(timeout=2).close()  # the shared context built once
        started = time.perf_counter()
        clients = [egress.client(timeout=2) for _ in range(10)]
        assert time.perf_counter() - started < 0.25  # each built its own two: 0.6 s and more
        for client in clients[:2]:
            with client, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.get(url)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("url", "is_platform"),
    [
        ("ws://127.0.0.1:8000/ws/agents/AG0123", True),
        ("ws://127.0.0.1:8765/relay", True),
        ("wss://127.0.0.1:8000/ws/agents/AG0123", False),  # another scheme
        ("ws://127.0.0.1:8001/ws/agents/AG0123", False),  # another port
        ("ws://localhost:8000/ws/agents/AG0123", False),  # another name, though the same host
        ("ws://127.0.0.1:8000/admin/", False),  # not under the agents' path
        ("ws://127.0.0.1:8000/ws/agents/../../admin/", False),
        ("ws://127.0.0.1:8000/ws/agents/%2E%2E/admin/", False),
        ("ws://127.0.0.1:99999/ws/agents/", False),  # no valid port
    ],
)
def test_the_platforms_own_websocket_services_pass_and_nothing_beside_them(
    settings: Any, url: str, is_platform: bool
) -> None:
    settings.AGENTS_WS_URL = "ws://127.0.0.1:8000/ws/agents/"
    settings.SPEECH_RELAY_URL = "ws://127.0.0.1:8765/relay"
    settings.EGRESS_ALLOW = []
    assert egress.platform_url(url) is is_platform
    assert egress.resolve("127.0.0.1", 8000, is_platform=True) == ["127.0.0.1"]
    with pytest.raises(egress.DestinationRefused):
        egress.resolve("127.0.0.1", 8000)
