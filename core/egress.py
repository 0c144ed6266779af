"""The outbound-destination policy: every URL or SIP address a tenant chooses is reached through it.

Tenants pick where the platform connects: webhooks, status callbacks, fallback URLs, `<Play>`,
`<Redirect>`, `<Dial><Sip>`, and the stream and relay URLs to come. Left alone, that lets a tenant
reach what only the platform can: Asterisk's ARI on loopback, a database on the private network, a
cloud's metadata service. So a destination's name is resolved here, every address is checked
(loopback, private, shared, link-local, multicast, reserved and unspecified ranges are refused,
IPv4 carried inside IPv6 is unwrapped first), and the connection goes to the address that was
checked, so a second DNS answer cannot swap it (rebinding). A redirect opens a new connection and is
checked anew. An operator admits exceptions with `SWITCHBOARD_EGRESS_ALLOW`: networks (`10.1.0.0/16`,
`::1`) or one address and port (`127.0.0.1:8000`, `[::1]:8000`). The platform's own websocket
services (the speech relay, the built-in agents: `platform_url`) are not tenants' destinations and
are reached wherever their settings say.

What a failure says is the same whatever lies behind the address: a refused destination says it is
not allowed, and a closed, reset or silent port all read "connection failure".
"""

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from core.error_codes import ErrorCode

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_REDIRECTS = 5
# IPv6 prefixes whose last 32 bits are an IPv4 address: NAT64 (well-known and local-use, RFC 6052
# and 8215), IPv4-translated (RFC 2765) and the deprecated IPv4-compatible form.
_IPV4_CARRYING = tuple(
    ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::ffff:0:0:0/96", "::/96")
)
# Special-purpose ranges (IANA's registries) refused whatever this Python's `is_global` says of them;
# its answers changed across 3.11 and 3.12 patch releases.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",
        "::/127",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )  # fmt: skip
)


class DestinationRefused(httpcore.ConnectError):
    """No address of the destination may be reached; an httpcore error, so httpx reports it as one."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Admitted:
    network: Network
    port: int | None  # None: every port


def _parse_allowed(entry: str) -> _Admitted:
    """`10.0.0.0/8`, `::1`, `127.0.0.1:8000` or `[::1]:8000`."""
    host, port = entry, None
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = int(rest.removeprefix(":")) if rest else None
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
        port = int(port_text)
    return _Admitted(ipaddress.ip_network(host, strict=False), port)


@cache
def _allowlist(entries: tuple[str, ...]) -> tuple[_Admitted, ...]:
    return tuple(_parse_allowed(entry) for entry in entries)


def _unwrapped(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, Teredo, NAT64), else itself."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if int(address) > 1 and any(address in prefix for prefix in _IPV4_CARRYING):  # not :: nor ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: Address) -> bool:
    """Globally routable unicast: what a tenant may reach without an operator's say-so."""
    inner = _unwrapped(address)
    if inner is not address:
        return is_public(inner)
    is_special = any(address in network for network in _NOT_PUBLIC if network.version == address.version)
    return address.is_global and not address.is_multicast and not is_special


def is_allowed(address: Address, port: int) -> bool:
    address = _unwrapped(address)
    return is_public(address) or any(
        address in allowed.network and allowed.port in (None, port)
        for allowed in _allowlist(tuple(settings.EGRESS_ALLOW))
    )


def _admitted(host: str, port: int, infos: Iterable[tuple[Any, ...]]) -> list[str]:
    """The resolved addresses the policy admits, in resolver order; refuses when there are none."""
    addresses = dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos)
    admitted = [a for a in addresses if is_allowed(ipaddress.ip_address(a), port)]
    if not admitted:
        raise _refused(host)
    return admitted


def _refused(host: str) -> DestinationRefused:
    return DestinationRefused(
        ErrorCode.HTTP_CONNECTION_FAILURE,
        f"{host} is not an allowed destination: no public address (private, loopback and other "
        "non-public addresses are reached only where the platform's operator admits them: "
        "SWITCHBOARD_EGRESS_ALLOW)",
    )


def resolve(host: str, port: int, *, is_platform: bool = False) -> list[str]:
    """The addresses of `host` the platform may connect to on `port`; DestinationRefused if none.
    `is_platform`: the platform's own service (`platform_url`), every address it has."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        # Said as a refused address is: told apart, the two would tell a tenant which internal names exist.
        raise _refused(host) from exc
    if is_platform:
        return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    return _admitted(host, port, infos)


async def resolve_async(host: str, port: int, *, is_platform: bool = False) -> list[str]:
    """`resolve` off the event loop (the loop's own getaddrinfo runs in a thread too)."""
    return await asyncio.to_thread(resolve, host, port, is_platform=is_platform)


def platform_url(url: str) -> bool:
    """Whether `url` is under one of the platform's own websocket services (SPEECH_RELAY_URL,
    AGENTS_WS_URL): same scheme and host, a path below theirs, no dot segments to climb out of it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if any(segment in (".", "..") or "%2e" in segment.lower() for segment in parts.path.split("/")):
        return False
    for base_url in (settings.SPEECH_RELAY_URL, settings.AGENTS_WS_URL):
        base = urlsplit(base_url)
        if (
            base_url
            and (parts.scheme, parts.hostname, port) == (base.scheme, base.hostname, base.port)
            and parts.path.startswith(base.path)
        ):
            return True
    return False


# HTTP: the policy sits where httpcore opens a TCP connection, so the first request, every redirect
# and every new pooled connection pass through it, and TLS still verifies the name, not the address.


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in resolve(host, port):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise DestinationRefused(
            ErrorCode.HTTP_CONNECTION_FAILURE, "unix sockets are not an allowed destination"
        )


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await resolve_async(host, port):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> Any:
        raise DestinationRefused(
            ErrorCode.HTTP_CONNECTION_FAILURE, "unix sockets are not an allowed destination"
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@cache
def _ssl_context() -> ssl.SSLContext:
    """One for every client: building one reads the CA bundle (30 to 60 ms, twice per client before,
    on every webhook and every turn of an agent's model), and a configured context is safe to share."""
    return httpx.create_ssl_context()


def _pool_options(limits: httpx.Limits) -> dict[str, Any]:
    return {
        "ssl_context": _ssl_context(),
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


class _Transport(httpx.HTTPTransport):
    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, verify=_ssl_context())
        # httpx takes no network backend; its transport is a thin wrapper over this pool.
        self._pool = httpcore.ConnectionPool(**_pool_options(limits), network_backend=_Backend())


class _AsyncTransport(httpx.AsyncHTTPTransport):
    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, verify=_ssl_context())
        self._pool = httpcore.AsyncConnectionPool(**_pool_options(limits), network_backend=_AsyncBackend())


def client(*, timeout: float, limits: httpx.Limits | None = None) -> httpx.Client:
    """An HTTP client for tenant-chosen URLs. Proxies from the environment are ignored on purpose:
    through a proxy, the connection the policy checks would be the proxy's, not the destination's."""
    transport = _Transport(limits or httpx.Limits())
    return httpx.Client(transport=transport, timeout=timeout, trust_env=False, max_redirects=MAX_REDIRECTS)


def async_client(*, timeout: float, limits: httpx.Limits | None = None) -> httpx.AsyncClient:
    transport = _AsyncTransport(limits or httpx.Limits())
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, trust_env=False, max_redirects=MAX_REDIRECTS
    )


# A tenant's server must not hold a worker for longer than one fetch may take, by answering slowly or
# endlessly: each request has a deadline for the whole of it, and its body is read up to a cap.


@dataclass(frozen=True)
class Fetched:
    response: httpx.Response  # status and headers; its body is `body`
    body: bytes  # at most the cap plus one byte, so a caller can tell "too large"


def fetch(
    client: httpx.Client, method: str, url: str, *, deadline_s: float, max_bytes: int, **options: Any
) -> Fetched:
    """One request through `client`, its body read until `max_bytes` + 1; httpx.TimeoutException
    once `deadline_s` has passed (checked as each piece arrives: a silent server is cut off by the
    client's own read timeout)."""
    deadline = time.monotonic() + deadline_s
    with client.stream(method, url, **options) as response:
        body = bytearray()
        for piece in response.iter_bytes():
            body += piece
            if len(body) > max_bytes:
                break
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("the whole request took too long")
        return Fetched(response, bytes(body[: max_bytes + 1]))


async def fetch_async(
    client: httpx.AsyncClient, method: str, url: str, *, deadline_s: float, max_bytes: int, **options: Any
) -> Fetched:
    """`fetch` for asyncio, where the deadline cuts off a silent server too."""
    try:
        async with asyncio.timeout(deadline_s), client.stream(method, url, **options) as response:
            body = bytearray()
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) > max_bytes:
                    break
            return Fetched(response, bytes(body[: max_bytes + 1]))
    except TimeoutError as exc:
        raise httpx.ReadTimeout("the whole request took too long") from exc


def failure(exc: httpx.HTTPError, url: str) -> tuple[int, str]:
    """Twilio's code and why a request to `url` got no answer, in words that reveal nothing of the
    port: refused, reset, timed out and closed all read the same."""
    if isinstance(exc.__cause__, DestinationRefused):
        return exc.__cause__.code, str(exc.__cause__)
    return ErrorCode.HTTP_CONNECTION_FAILURE, f"no answer from {urlsplit(url).hostname or url}"


# SIP: Asterisk dials what we hand it, so the URI is handed over with its host already checked and
# replaced by the address, as a URL is connected to the address that was checked.


# Of a SIP URI's parameters only these reach Asterisk: `maddr` would send the request elsewhere than
# the host checked (RFC 3261 19.1.1), and `lr` or a `Route` header would pick another next hop.
SIP_PARAMETERS = frozenset({"transport", "user"})


def _sip_refused(uri: str, why: str) -> DestinationRefused:
    return DestinationRefused(
        ErrorCode.HTTP_CONNECTION_FAILURE, f"{uri} is not a SIP address the platform dials: {why}"
    )


async def sip_destination(uri: str) -> str:
    """`uri` with its host replaced by an address the policy admits; DestinationRefused otherwise.

    Resolution is by A/AAAA records (not SIP's NAPTR/SRV), so the INVITE goes where was checked. The
    URI may carry `transport` and `user` parameters and Twilio's custom `X-` headers, nothing that
    could route the request anywhere else.
    """
    if any(c.isspace() or not c.isprintable() for c in uri):
        raise _sip_refused(uri, "white space or control characters")
    scheme, _, rest = uri.partition(":")
    address_part, _, headers = rest.partition("?")
    if address_part.count("@") > 1:
        raise _sip_refused(uri, "more than one @")
    user, at, hostpart = address_part.rpartition("@")
    hostport, _, params = hostpart.partition(";")
    names = [p.partition("=")[0].strip().lower() for p in params.split(";") if p]
    if not set(names) <= SIP_PARAMETERS:
        raise _sip_refused(uri, f"parameters other than {', '.join(sorted(SIP_PARAMETERS))}")
    header_names = [h.partition("=")[0].strip().lower() for h in headers.split("&") if h]
    if not all(name.startswith("x-") for name in header_names):
        raise _sip_refused(uri, "headers other than custom X- headers")
    if hostport.startswith("["):
        host, _, port_text = hostport[1:].partition("]")
        port_text = port_text.removeprefix(":")
    else:
        host, _, port_text = hostport.partition(":")
    port = 5061 if scheme.lower() == "sips" or "transport=tls" in params.lower() else 5060
    if port_text:
        port = int(port_text) if port_text.isascii() and port_text.isdigit() else 0
    if not host or not 0 < port < 65536:
        raise _sip_refused(uri, "no host, or a port out of range")
    address = (await resolve_async(host, port))[0]
    shown = f"[{address}]" if ":" in address else address
    tail = (f";{params}" if params else "") + (f"?{headers}" if headers else "")
    return f"{scheme}:{user}{at}{shown}:{port}{tail}"
