"""MediaServer rows ↔ Asterisk instances: the row a local instance runs for, its health check, and
when an ARI worker last saw it."""

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mediaserver.asterisk.chroot import SOUNDS_SUBDIR, default_root
from mediaserver.asterisk.instance import AsteriskError, AsteriskInstance
from voice.models import MediaServer

DEFAULT_SERVER = "local"
DEFAULT_RTP_RANGE = (10000, 19999)


def instance_for(
    server: MediaServer,
    *,
    name: str | None = None,
    root: Path | None = None,
    rtp_range: tuple[int, int] = DEFAULT_RTP_RANGE,
) -> AsteriskInstance:
    """The local Asterisk instance that serves `server`: ports from its ari_url and sip_port.

    `name` (default: the server's name) picks the instance's folders in the chroot. Its WSS
    certificate is the one settings name (production), else a development one.
    """
    url = urlsplit(server.ari_url)
    if url.scheme != "http" or not url.hostname:
        raise ValueError(
            f"media server {server.name}: ari_url {server.ari_url!r} must be http://host:port/ari"
        )
    return AsteriskInstance(
        name=name or server.name,
        root=root or default_root(),
        sip_port=server.sip_port,
        ari_port=url.port or 80,
        tls_port=server.wss_port,
        tls_cert_file=settings.WEBRTC_CERT_FILE,
        tls_key_file=settings.WEBRTC_KEY_FILE,
        rtp_start=rtp_range[0],
        rtp_end=rtp_range[1],
        ari_username=server.ari_username,
        ari_password=server.ari_password,
        ari_app=server.ari_app,
        worker_processes=server.worker_processes,
        trunk_uri=server.trunk_uri,
    )


def media_server_ensure(*, name: str = DEFAULT_SERVER, root: Path | None = None) -> MediaServer:
    """The MediaServer row called `name`, created with the model's defaults if absent.

    A new row gets a random ARI password (stored encrypted), as its sounds_dir the chroot's shared
    sounds folder, and one worker process per core (at most four). An existing row is returned as it
    is, except an empty sounds_dir is filled.
    """
    sounds_dir = str((root or default_root()).absolute() / SOUNDS_SUBDIR)
    with transaction.atomic():
        server = MediaServer.objects.select_for_update().filter(name=name).first()
        if server is None:
            processes = max(1, min(os.cpu_count() or 1, 4))
            server = MediaServer(name=name, sounds_dir=sounds_dir, worker_processes=processes)
            server.set_ari_password(secrets.token_urlsafe(24))
            server.save()
        elif not server.sounds_dir:
            server.sounds_dir = sounds_dir
            server.save(update_fields=["sounds_dir"])
    return server


@dataclass(frozen=True)
class ServerStatus:
    is_running: bool
    ari_version: str | None  # None when ARI did not answer
    sip_address: str
    state: str


def media_server_check(*, server: MediaServer, instance: AsteriskInstance) -> ServerStatus:
    """Probe the instance's process and ARI, and record the result on the row (state, last_seen_at)."""
    is_running = instance.is_running()
    version = None
    with contextlib.suppress(AsteriskError, KeyError, TypeError):
        version = str(instance.ari_info(timeout=2.0)["system"]["version"])
    now = timezone.now()
    if version is not None:
        state = MediaServer.State.UP
        MediaServer.objects.filter(pk=server.pk).update(state=state, last_seen_at=now)
        server.last_seen_at = now
    else:
        state = MediaServer.State.DOWN
        MediaServer.objects.filter(pk=server.pk).update(state=state)
    server.state = state
    return ServerStatus(
        is_running=is_running, ari_version=version, sip_address=server.sip_address, state=state
    )


def media_server_seen(*, server_id: int) -> None:
    """Each time a worker has (re)connected to the server's ARI and reconciled."""
    MediaServer.objects.filter(id=server_id).update(state=MediaServer.State.UP, last_seen_at=timezone.now())
