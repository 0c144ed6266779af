"""Instances side by side in one chroot, and the `asterisk` management command on a MediaServer row."""

import io
import secrets

import pytest
from django.core.management import call_command

from mediaserver.asterisk import AsteriskInstance
from mediaserver.asterisk.chroot import SOUNDS_SUBDIR
from voice.media_servers import media_server_ensure
from voice.models import MediaServer

pytestmark = pytest.mark.e2e


def test_a_second_instance_runs_beside_the_test_instance(asterisk: AsteriskInstance) -> None:
    other = AsteriskInstance(
        name="test-second",
        root=asterisk.root,
        sip_port=5072,
        ari_port=8097,
        tls_port=8096,
        rtp_start=31000,
        rtp_end=31099,
        ari_username="second",
        ari_password=secrets.token_urlsafe(12),
        ari_app="second",
        trunk_uri="sip:127.0.0.1:5093",
    )
    other.stop()
    try:
        other.start(timeout=30)
        assert other.ari_info()["system"]["version"] == asterisk.ari_info()["system"]["version"]
        assert "127.0.0.1:5072" in other.rx("pjsip show transports")
        assert set(other.pids()).isdisjoint(asterisk.pids())
    finally:
        other.stop()
    assert not other.is_running()
    assert other.pids() == []
    assert asterisk.ari_ready(timeout=5)  # stopping one leaves the other alone
    other.stop()  # idempotent


def test_media_server_ensure_creates_a_row_once(db: None) -> None:
    server = media_server_ensure(name="edge-test")
    again = media_server_ensure(name="edge-test")

    assert again.pk == server.pk
    assert len(server.ari_password) >= 24
    assert server.ari_password not in server.ari_password_encrypted
    assert again.ari_password == server.ari_password
    assert server.sounds_dir.endswith(SOUNDS_SUBDIR)
    assert (server.ari_url, server.sip_port) == ("http://127.0.0.1:8088/ari", 5060)


def test_status_command_reports_the_instance_and_marks_the_server_up(
    asterisk: AsteriskInstance, db: None
) -> None:
    server = MediaServer(
        name="status-test",
        ari_url=asterisk.ari_url,
        ari_username=asterisk.ari_username,
        ari_app=asterisk.ari_app,
        sip_port=asterisk.sip_port,
        trunk_uri=asterisk.trunk_uri,
    )
    server.set_ari_password(asterisk.ari_password)
    server.save()
    out = io.StringIO()

    call_command("asterisk", "status", "--server", "status-test", "--instance", asterisk.name, stdout=out)

    server.refresh_from_db()
    assert f"instance {asterisk.name}: running" in out.getvalue()
    assert f"ARI {asterisk.ari_url}: 22." in out.getvalue()
    assert f"SIP (inbound calls enter here): {asterisk.sip_address}" in out.getvalue()
    assert server.state == MediaServer.State.UP
    assert server.last_seen_at is not None


def test_status_command_marks_a_stopped_server_down(db: None) -> None:
    media_server_ensure(name="never-started")
    MediaServer.objects.filter(name="never-started").update(
        ari_url="http://127.0.0.1:8096/ari", sip_port=5074
    )
    out = io.StringIO()

    call_command("asterisk", "status", "--server", "never-started", stdout=out)

    assert "not running" in out.getvalue()
    assert "not answering" in out.getvalue()
    assert MediaServer.objects.get(name="never-started").state == MediaServer.State.DOWN
