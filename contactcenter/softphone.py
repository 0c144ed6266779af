"""A worker's browser softphone: its address (`client:<worker SID>`), the PJSIP endpoint that rings
it, and the SIP credentials a signed-in member's console registers with.

One endpoint per worker, named by the worker's SID (unique across tenants, so names never collide).
Credentials are issued per portal page load: each issue pushes a fresh random password into Asterisk,
which revokes the one before (a second browser signing in takes the phone over; the first one's next
REGISTER is refused). The password is never stored by the platform: Asterisk holds it in its astdb,
so a restarted Asterisk still knows it and a browser re-registers by itself (mediaserver/softphones.py).
"""

import logging
import secrets
import uuid
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from compliance.services import audit_record
from contactcenter.taskrouter.models import Worker
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import row_by_sid, sid_to_uuid
from core.tenancy import tenant_scope
from mediaserver import endpoints
from mediaserver.softphones import Ari, SoftphonePushError, softphone_push, softphone_remove
from tenants.models import Membership
from voice.clients import client_identity, client_resolver, is_client
from voice.models import MediaServer

log = logging.getLogger(__name__)

# On the INVITE that rings a softphone for a reservation, so the console can answer at once the call
# its agent already accepted.
RESERVATION_HEADER = "X-Switchboard-Reservation"


class NotAWorker(Exception):
    """The member works as no worker (of that SID) in this account."""


class SoftphoneUnavailable(Exception):
    """The media server softphones register with is missing or did not take the credentials."""


@dataclass(frozen=True)
class SoftphoneCredentials:
    ws_url: str
    sip_uri: str
    username: str
    password: str
    address: str  # client:WK…, what instructions and <Dial><Client> ring
    worker_sid: str
    display_name: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def softphone_address(worker: Worker) -> str:
    """What rings the worker's browser: `client:<worker SID>`."""
    return f"client:{worker.sid}"


def softphone_endpoint_name(worker_sid: str) -> str:
    """The PJSIP endpoint, aor and auth of a worker's softphone, and its SIP user name."""
    return worker_sid


def member_worker(*, membership: Membership, worker_sid: str = "") -> Worker | None:
    """The member's worker (in the workspace of `worker_sid` when they work in several; else the
    oldest); None when they have none."""
    workers = Worker.objects.for_account(membership.account).filter(member=membership)
    if worker_sid:
        return row_by_sid(workers, worker_sid)
    return workers.order_by("date_created").first()


def softphone_server() -> MediaServer:
    server = MediaServer.objects.filter(name=settings.SOFTPHONE_MEDIA_SERVER, is_enabled=True).first()
    if server is None:
        raise SoftphoneUnavailable(
            f"no enabled media server {settings.SOFTPHONE_MEDIA_SERVER!r} for softphones"
        )
    return server


def _ari(server: MediaServer) -> Ari:
    return Ari(server.ari_url, server.ari_username, server.ari_password)


def softphone_ws_url(server: MediaServer) -> str:
    return settings.WEBRTC_WS_URL or f"wss://{server.sip_host}:{server.wss_port}/ws"


def softphone_credentials_issue(
    *, membership: Membership, actor: str, worker_sid: str = ""
) -> SoftphoneCredentials:
    """Fresh credentials for the member's worker's softphone, the previous password revoked.

    Raises NotAWorker, or SoftphoneUnavailable when Asterisk does not take them.
    """
    worker = member_worker(membership=membership, worker_sid=worker_sid)
    if worker is None:
        raise NotAWorker("You work as no worker in this account's contact center, so you have no phone.")
    server = softphone_server()
    name = softphone_endpoint_name(worker.sid)
    password = secrets.token_urlsafe(24)
    try:
        softphone_push(
            _ari(server), name=name, password=password, rtp_timeout_s=settings.SOFTPHONE_RTP_TIMEOUT_SECONDS
        )
    except SoftphonePushError as exc:
        raise SoftphoneUnavailable(f"the media server did not take the softphone: {exc}") from exc
    audit_record(
        account_id=membership.account_id,
        actor=actor,
        action="softphone.credentials.issue",
        object_sid=worker.sid,
        payload={"media_server": server.name},
    )
    ws_url = softphone_ws_url(server)
    return SoftphoneCredentials(
        ws_url=ws_url,
        sip_uri=f"sip:{name}@{urlsplit(ws_url).hostname}",
        username=name,
        password=password,
        address=softphone_address(worker),
        worker_sid=worker.sid,
        display_name=worker.friendly_name,
    )


def softphone_revoke(worker_sid: str) -> None:
    """Take the worker's softphone out of Asterisk, so no browser holding its credentials registers
    again: for a deleted worker, or one whose member changes (the next member's page issues anew).
    Logged, not raised, when Asterisk cannot be reached: the worker's change stands regardless."""
    try:
        server = softphone_server()
        softphone_remove(_ari(server), name=softphone_endpoint_name(worker_sid))
    except (SoftphoneUnavailable, SoftphonePushError) as exc:
        log.warning("softphone of %s not removed: %s", worker_sid, exc)


def account_worker(*, account_id: uuid.UUID, sid: str) -> Worker | None:
    return row_by_sid(Worker.objects.filter(account_id=account_id), sid)


@client_resolver
def worker_softphone_endpoint(account_id: uuid.UUID, identity: str) -> str | None:
    """The endpoint of a worker of `account_id` whose SID is `identity`; None for any other. Called
    by the ARI worker for a call's dial, outside any tenant's transaction."""
    if sid_to_uuid(identity, Worker.SID_PREFIX) is None:  # not a worker's SID: no query
        return None
    with tenant_scope(account_id):
        worker = account_worker(account_id=account_id, sid=identity)
    return endpoints.dial_softphone(softphone_endpoint_name(worker.sid)) if worker else None


def client_address_check(*, account_id: uuid.UUID, address: str, code: ErrorCode) -> None:
    """Refuse, before anything rings, an instruction's `client:` that is no worker of the account."""
    if is_client(address) and account_worker(account_id=account_id, sid=client_identity(address)) is None:
        raise TwilioError(
            code, f"{address} is not a worker of this account: only client:<worker SID> may be dialled", 400
        )
