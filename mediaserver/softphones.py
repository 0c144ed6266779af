"""A browser softphone's PJSIP objects (auth, aor, endpoint), pushed into a running Asterisk over ARI.

ARI push configuration (`PUT /asterisk/config/dynamic/res_pjsip/<type>/<id>`) writes them through
sorcery into the instance's astdb (asterisk/config.py's sorcery.conf), so no config file is rewritten
and nothing reloads, and an Asterisk restart keeps them: a registered browser simply registers again.
Pushing an auth again replaces its password, which is how an old one is revoked.
"""

from dataclasses import dataclass
from typing import Any

import httpx

from mediaserver.asterisk.config import SOFTPHONE_CONTEXT

PUSH_TIMEOUT_S = 5.0
# On hold (inactive) no media flows by design: a browser is taken for gone only after 10 minutes.
RTP_TIMEOUT_HOLD_S = 600


class SoftphonePushError(RuntimeError):
    """Asterisk did not take the objects (unreachable, or refused them)."""


@dataclass(frozen=True)
class Ari:
    url: str  # http://host:port/ari
    username: str
    password: str


def softphone_objects(
    *, name: str, password: str, rtp_timeout_s: int
) -> list[tuple[str, dict[str, str]]]:
    """The (type, fields) to push for endpoint `name`, whose SIP username it also is, in the order
    Asterisk needs them (an endpoint names its auth and aor). `rtp_timeout_s` of no media ends a
    call: a browser that vanished mid-call (closed, crashed, lost its network) sends nothing more,
    and nothing else would end its channel."""
    auth = {"auth_type": "userpass", "username": name, "password": password}
    aor = {"max_contacts": "1", "remove_existing": "yes"}  # a second browser replaces the first
    endpoint = {
        # webrtc=yes: AVPF, DTLS-SRTP (fingerprint), ICE, rtcp-mux, bundle. No dtls_rekey: Chrome
        # breaks on it (asterisk#378).
        "webrtc": "yes",
        "dtls_auto_generate_cert": "yes",
        "transport": "transport-wss",
        "aors": name,
        "auth": name,
        "context": SOFTPHONE_CONTEXT,
        "disallow": "all",
        # μ-law first: callers come from the PSTN in μ-law, so the browser's leg needs no transcoding
        # (Chrome takes the offer's first codec it has); Opus stays allowed.
        "allow": "ulaw,opus",
        "direct_media": "no",  # media stays in Asterisk: recording and snoop see it
        "dtmf_mode": "rfc4733",
        "rtp_timeout": str(rtp_timeout_s),
        "rtp_timeout_hold": str(RTP_TIMEOUT_HOLD_S),
    }
    return [("auth", auth), ("aor", aor), ("endpoint", endpoint)]


def softphone_push(ari: Ari, *, name: str, password: str, rtp_timeout_s: int) -> None:
    """Create or replace the softphone's objects; raises SoftphonePushError."""
    with _client(ari) as client:
        for kind, fields in softphone_objects(name=name, password=password, rtp_timeout_s=rtp_timeout_s):
            body = {"fields": [{"attribute": key, "value": value} for key, value in fields.items()]}
            _check(client, "PUT", kind, name, body)


def softphone_remove(ari: Ari, *, name: str) -> None:
    """Delete the softphone's objects (already gone is fine); raises SoftphonePushError."""
    with _client(ari) as client:
        for kind, _ in reversed(softphone_objects(name=name, password="", rtp_timeout_s=0)):
            _check(client, "DELETE", kind, name, None, gone_ok=True)


def _client(ari: Ari) -> httpx.Client:
    return httpx.Client(
        base_url=ari.url.rstrip("/"), auth=(ari.username, ari.password), timeout=PUSH_TIMEOUT_S
    )


def _check(
    client: httpx.Client,
    method: str,
    kind: str,
    name: str,
    body: dict[str, Any] | None,
    *,
    gone_ok: bool = False,
) -> None:
    path = f"/asterisk/config/dynamic/res_pjsip/{kind}/{name}"
    try:
        response = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise SoftphonePushError(f"{method} {path}: {exc}") from exc
    if response.status_code >= 400 and not (gone_ok and response.status_code == 404):
        raise SoftphonePushError(f"{method} {path}: {response.status_code} {response.text[:200]}")
