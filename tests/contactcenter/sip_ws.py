"""A SIP REGISTER over secure websocket (RFC 7118) with digest authentication, as a browser softphone
sends it: what the tests use to ask Asterisk whether a softphone's credentials are good, without a
browser.

It runs on websockets' asyncio client: the sync client reads the socket in a thread of its own while
the caller's thread writes and closes it, and OpenSSL's connection is not safe for that (a test worker
died of a segmentation fault in `ssl.read` on that thread)."""

import asyncio
import hashlib
import re
import secrets
import ssl

from websockets.asyncio.client import connect


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 (SIP digest is MD5)


def _status(message: str) -> int:
    return int(message.split(" ", 2)[1])


def register(ws_url: str, *, username: str, password: str, domain: str = "127.0.0.1") -> int:
    """REGISTER `username` and answer the challenge with `password`; the final status (200 or 401)."""
    return asyncio.run(_register(ws_url, username=username, password=password, domain=domain))


async def _register(ws_url: str, *, username: str, password: str, domain: str) -> int:
    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE  # the development certificate is self-signed
    host = f"{secrets.token_hex(4)}.invalid"
    call_id, tag = secrets.token_hex(8), secrets.token_hex(4)
    uri = f"sip:{domain}"

    def request(cseq: int, authorization: str = "") -> str:
        lines = [
            f"REGISTER {uri} SIP/2.0",
            f"Via: SIP/2.0/WSS {host};branch=z9hG4bK{secrets.token_hex(6)}",
            "Max-Forwards: 70",
            f"To: <sip:{username}@{domain}>",
            f"From: <sip:{username}@{domain}>;tag={tag}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} REGISTER",
            f"Contact: <sip:{username}@{host};transport=ws>;expires=60",
            "Expires: 60",
            *([f"Authorization: {authorization}"] if authorization else []),
            "Content-Length: 0",
        ]
        return "\r\n".join(lines) + "\r\n\r\n"

    async with connect(ws_url, subprotocols=["sip"], ssl=tls, open_timeout=5) as ws:  # type: ignore[list-item]

        async def final(message: str) -> str:
            await ws.send(message)
            while True:
                reply = str(await asyncio.wait_for(ws.recv(), timeout=5))
                if _status(reply) >= 200:
                    return reply

        challenge = await final(request(1))
        if _status(challenge) != 401:
            return _status(challenge)
        fields = dict(
            re.findall(
                r'(\w+)="?([^",]+)"?', challenge.split("WWW-Authenticate: Digest", 1)[1].split("\r\n")[0]
            )
        )
        cnonce, count = secrets.token_hex(8), "00000001"
        ha1 = _md5(f"{username}:{fields['realm']}:{password}")
        ha2 = _md5(f"REGISTER:{uri}")
        response = _md5(f"{ha1}:{fields['nonce']}:{count}:{cnonce}:auth:{ha2}")
        authorization = (
            f'Digest username="{username}", realm="{fields["realm"]}", nonce="{fields["nonce"]}", '
            f'uri="{uri}", response="{response}", algorithm=MD5, qop=auth, nc={count}, cnonce="{cnonce}"'
            + (f', opaque="{fields["opaque"]}"' if "opaque" in fields else "")
        )
        return _status(await final(request(2, authorization)))
