"""Opening a stream's websocket to the tenant's app: through the destination policy, within a deadline.

The app's name is resolved and checked here, at connect time, and the TCP connection goes to the
address that was checked (a rebinding DNS answer cannot reach a private address); websockets then
speaks HTTP and TLS over that socket with the URL's own host, so the certificate is verified against
the name. Redirects are not followed, as Twilio does not: a 3xx is a failed handshake.
"""

import asyncio
import socket
import ssl
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import ClientConnection

from core import egress
from core.error_codes import ErrorCode

# An app sends audio in any size (Pipecat ends with 2 s in one message); more than this in one message
# closes its socket (1009). Playout keeps at most 60 s of it whatever the size.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class AppUnreachable(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


async def _open_tcp(addresses: list[str], port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    failure: OSError | None = None
    for address in addresses:
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        # Each message goes out as it is written: with Nagle, `start` waited 40 ms behind `connected`.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await loop.sock_connect(sock, (address, port))
            return sock
        except OSError as exc:
            sock.close()
            failure = exc
    assert failure is not None
    raise failure


async def connect_app(url: str, *, timeout: float, headers: dict[str, str] | None = None) -> ClientConnection:
    """The app's open websocket; AppUnreachable with Twilio's code when it cannot be had in `timeout`.
    `headers` go with the upgrade (ConversationRelay's X-Twilio-Signature)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "wss" else 80)
    except ValueError:
        raise AppUnreachable(ErrorCode.STREAM_HANDSHAKE_ERROR, f"{url} has no valid port") from None
    try:
        async with asyncio.timeout(timeout):
            addresses = await egress.resolve_async(host, port, is_platform=egress.platform_url(url))
            sock = await _open_tcp(addresses, port)
            return await websockets.connect(
                url,
                sock=sock,
                additional_headers=headers,
                proxy=None,
                open_timeout=None,  # the deadline above covers the whole of it
                max_size=MAX_MESSAGE_BYTES,
                compression=None,  # Twilio offers none; it would cost CPU on every frame
                close_timeout=2,
            )
    except TimeoutError:
        raise AppUnreachable(
            ErrorCode.STREAM_CONNECTION_TIMEOUT,
            f"{host} did not finish the websocket upgrade in {timeout:g} s",
        ) from None
    except egress.DestinationRefused as exc:
        raise AppUnreachable(ErrorCode.STREAM_CONNECTION_REFUSED, str(exc)) from None
    except ssl.SSLError as exc:
        raise AppUnreachable(ErrorCode.STREAM_SSL_ERROR, f"TLS with {host} failed: {exc.reason}") from None
    except websockets.InvalidStatus as exc:
        raise AppUnreachable(
            ErrorCode.STREAM_HANDSHAKE_ERROR,
            f"{host} answered the websocket upgrade with HTTP {exc.response.status_code}",
        ) from None
    except (websockets.InvalidHandshake, websockets.InvalidURI, ValueError):
        raise AppUnreachable(ErrorCode.STREAM_HANDSHAKE_ERROR, f"{host} did not speak websocket") from None
    except OSError:
        raise AppUnreachable(ErrorCode.STREAM_CONNECTION_REFUSED, f"no answer from {host}") from None
