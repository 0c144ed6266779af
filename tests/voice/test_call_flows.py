"""Calls end to end: sipp places real SIP calls through Asterisk into our ARI worker, which runs the
tenant's TwiML fetched from a real HTTP app; outbound calls go from the official SDK through Celery."""

import io
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from core.tenancy import tenant_scope
from monitor.models import Notification
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.conftest import Tenant, TwilioClient, make_tenant
from tests.live import AriWorker, ari_worker, celery_worker
from tests.voice import sipp
from tests.voice.dtmf import dtmf_pcap, tone_pcap
from tests.voice.twiml_app import TwimlApp, twiml
from voice.asterisk import AsteriskInstance
from voice.models import Call, CallEvent, MediaServer, Recording

pytestmark = pytest.mark.e2e

NUMBER = "+12065550142"  # used only here: committed numbers are global across tests


@pytest.fixture(scope="module")
def media_server(
    asterisk: AsteriskInstance, django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> MediaServer:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        server, _ = MediaServer.objects.update_or_create(
            name="test",
            defaults={
                "ari_url": asterisk.ari_url,
                "ari_username": asterisk.ari_username,
                "ari_app": asterisk.ari_app,
                "sip_host": "127.0.0.1",
                "sip_port": asterisk.sip_port,
                "trunk_uri": asterisk.trunk_uri,
                "sounds_dir": str(asterisk.sounds_dir),
                "ari_password_encrypted": "",
            },
        )
        server.set_ari_password(asterisk.ari_password)
        server.save()
    return server


@pytest.fixture(scope="module")
def worker(media_server: MediaServer) -> Iterator[AriWorker]:
    with ari_worker(media_server.name) as running:
        yield running


@pytest.fixture(scope="module")
def celery(django_db_setup: None) -> Iterator[None]:
    with celery_worker():
        yield


@pytest.fixture
def app() -> Iterator[TwimlApp]:
    with TwimlApp() as twiml_app:
        yield twiml_app


@pytest.fixture
def tenant(django_db_blocker: pytest.FixtureRequest, app: TwimlApp) -> Iterator[Tenant]:
    """A tenant owning NUMBER, whose voice URL is the test app's /voice."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        tenant = make_tenant("Voice clinic")
        yield tenant
        with tenant_scope(tenant.account.id):  # numbers are global: free it for the next test
            IncomingPhoneNumber.objects.filter(phone_number=NUMBER).delete()


def _give_number(tenant: Tenant, django_db_blocker: pytest.FixtureRequest, **settings: str) -> None:
    with django_db_blocker.unblock(), tenant_scope(tenant.account.id):  # type: ignore[attr-defined]
        number_create(account=tenant.account, actor="test", phone_number=NUMBER, **settings)


def _calls(
    tenant: Tenant, django_db_blocker: pytest.FixtureRequest, *, wait_ended: bool = True
) -> list[Call]:
    deadline = time.monotonic() + 15
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        while True:
            with tenant_scope(tenant.account.id):
                calls = list(Call.objects.order_by("date_created"))
            if (
                not wait_ended
                or (calls and all(c.status in Call.ENDED for c in calls))
                or time.monotonic() > deadline
            ):
                return calls
            time.sleep(0.1)


def test_gather_collects_rfc4733_digits_and_posts_them_to_the_action(
    worker: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    app.routes["/voice"] = twiml(
        '<Response><Gather numDigits="4" action="/gathered" timeout="5">'
        "<Say>Please enter your four digit code.</Say></Gather>"
        "<Say>No input.</Say></Response>"
    )
    app.routes["/gathered"] = twiml("<Response><Say>Thank you.</Say><Hangup/></Response>")
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice")

    result = sipp.run_uac(
        asterisk.sip_address, NUMBER, workdir=tmp_path, pcap=dtmf_pcap("1234", lead_in_ms=500)
    )

    assert result.ok, result.explain()
    first = app.wait_for("/voice")[0]
    assert first.form["CallStatus"] == "ringing" and first.form["To"] == NUMBER
    assert first.form["AccountSid"] == tenant.sid and first.form["Direction"] == "inbound"
    gathered = app.wait_for("/gathered")[0]
    assert gathered.form["Digits"] == "1234"
    assert gathered.form["CallStatus"] == "in-progress"
    assert app.is_signed(first, tenant.token) and app.is_signed(gathered, tenant.token)
    [call] = _calls(tenant, django_db_blocker)
    assert call.sid == first.form["CallSid"] and call.status == "completed"
    assert call.answered_at is not None and call.duration_seconds is not None


def _tone_wav(seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        import math

        frames = b"".join(
            int(8000 * math.sin(2 * math.pi * 440 * i / 8000)).to_bytes(2, "little", signed=True)
            for i in range(int(8000 * seconds))
        )
        out.writeframes(frames)
    return buffer.getvalue()


def test_say_play_record_hangup_and_the_recording_through_the_api(
    worker: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    tone = _tone_wav()
    app.routes["/tone.wav"] = lambda form: (200, "audio/wav", tone)
    app.routes["/voice"] = twiml(
        f"<Response><Say>Leave a message.</Say><Play>{app.url}/tone.wav</Play>"
        '<Record maxLength="2" timeout="5" action="/recorded" playBeep="false"/></Response>'
    )
    app.routes["/recorded"] = twiml("<Response><Hangup/></Response>")
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice")

    result = sipp.run_uac(asterisk.sip_address, NUMBER, workdir=tmp_path, pcap=tone_pcap(9000))

    assert result.ok, result.explain()
    recorded = app.wait_for("/recorded")[0].form
    assert recorded["RecordingSid"].startswith("RE") and int(recorded["RecordingDuration"]) >= 1
    assert app.requests_to("/tone.wav"), "Play fetched the media URL"
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        client = Client()
        base = f"/2010-04-01/Accounts/{tenant.sid}"
        listed = client.get(
            f"{base}/Recordings.json", {"CallSid": recorded["CallSid"]}, **tenant.auth()
        ).json()
        assert [r["sid"] for r in listed["recordings"]] == [recorded["RecordingSid"]]
        audio = client.get(f"{base}/Recordings/{recorded['RecordingSid']}", **tenant.auth())
        assert audio.status_code == 200 and audio["Content-Type"] == "audio/x-wav"
        with wave.open(io.BytesIO(audio.content)) as wav:
            assert wav.getframerate() == 8000 and wav.getnframes() >= 8000
        with tenant_scope(tenant.account.id):
            stored = Recording.objects.get(id=recorded["RecordingSid"][2:])
        assert audio.content[:4] == b"RIFF" and audio.content not in Path(stored.media_path).read_bytes()


def test_malformed_twiml_ends_with_the_application_error_and_a_12100_entry(
    worker: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    app.routes["/voice"] = twiml("<Response><Say>unclosed")
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice")

    result = sipp.run_uac(asterisk.sip_address, NUMBER, workdir=tmp_path)

    assert result.ok, result.explain()
    [call] = _calls(tenant, django_db_blocker)
    assert call.status == "completed"
    with django_db_blocker.unblock(), tenant_scope(tenant.account.id):  # type: ignore[attr-defined]
        errors = list(Notification.objects.values_list("error_code", "call_sid"))
        spoken = CallEvent.objects.filter(call=call, kind="error", name="12100").exists()
    assert errors == [(12100, call.sid)] and spoken


def test_failing_app_falls_back_to_the_fallback_url(
    worker: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    app.routes["/voice"] = lambda form: (500, "text/plain", b"boom")
    app.routes["/fallback"] = twiml("<Response><Say>Backup line.</Say><Hangup/></Response>")
    _give_number(
        tenant, django_db_blocker, voice_url=app.url + "/voice", voice_fallback_url=app.url + "/fallback"
    )

    assert sipp.run_uac(asterisk.sip_address, NUMBER, workdir=tmp_path).ok
    fallback = app.wait_for("/fallback")[0].form
    assert fallback["ErrorCode"] == "11200" and fallback["ErrorUrl"] == app.url + "/voice"
    with django_db_blocker.unblock(), tenant_scope(tenant.account.id):  # type: ignore[attr-defined]
        assert list(Notification.objects.values_list("error_code", "log")) == [
            (11200, Notification.Log.WARNING)
        ]


def test_unknown_number_is_rejected(worker: None, asterisk: AsteriskInstance, tmp_path: Path) -> None:
    result = sipp.run_uac(asterisk.sip_address, "+15559990000", workdir=tmp_path, timeout_s=10)
    assert result.successful_calls == 0 and result.failed_calls == 1


def test_caller_hanging_up_mid_gather_ends_the_call_once(
    worker: None,
    celery: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    app.routes["/voice"] = twiml(
        '<Response><Gather action="/never"><Say loop="5">Long menu.</Say></Gather></Response>'
    )
    app.routes["/status"] = twiml("<Response/>")
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice", status_callback=app.url + "/status")

    result = sipp.run_uac(asterisk.sip_address, NUMBER, workdir=tmp_path, hangup_after_ms=1500)

    assert result.ok, result.explain()
    [call] = _calls(tenant, django_db_blocker)
    assert call.status == "completed"
    status = app.wait_for("/status", timeout=20)
    time.sleep(1)
    assert [h.form["CallStatus"] for h in app.requests_to("/status")] == ["completed"]
    assert status[0].form["CallbackSource"] == "call-progress-events"
    assert not app.requests_to("/never")


def test_outbound_call_from_the_official_sdk_with_status_callbacks(
    worker: None,
    celery: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    from tests.live import asgi_server
    from tests.numbering.test_twilio_sdk import sdk
    from tests.voice.conftest import TRUNK_UAS_PORT

    app.routes["/outbound"] = twiml(
        "<Response><Say>This is your appointment reminder.</Say><Hangup/></Response>"
    )
    app.routes["/status"] = twiml("<Response/>")
    _give_number(tenant, django_db_blocker)
    with sipp.start_uas(TRUNK_UAS_PORT, workdir=tmp_path / "uas") as far_end, asgi_server() as server:
        call = sdk(server, tenant.sid, tenant.token).calls.create(
            to="+14155550123",
            from_=NUMBER,
            url=app.url + "/outbound",
            status_callback=app.url + "/status",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
        )
        assert call.sid.startswith("CA") and call.status == "queued"
        callbacks = app.wait_for("/status", count=4, timeout=30)
        assert far_end.wait().ok
        fetched = sdk(server, tenant.sid, tenant.token).calls(call.sid).fetch()
    assert [h.form["CallStatus"] for h in callbacks] == ["initiated", "ringing", "in-progress", "completed"]
    assert [h.form["SequenceNumber"] for h in callbacks] == ["0", "1", "2", "3"]
    assert all(app.is_signed(hit, tenant.token) for hit in callbacks)
    assert app.wait_for("/outbound")[0].form["CallStatus"] == "in-progress"
    assert fetched.status == "completed" and fetched.direction == "outbound-api"
    assert int(fetched.duration) >= 1 and fetched.to == "+14155550123"


def test_worker_restart_mid_call_leaves_no_call_stuck(
    worker: AriWorker,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    app.routes["/voice"] = twiml('<Response><Pause length="60"/></Response>')
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice")
    caller = sipp.start_uac(
        asterisk.sip_address, NUMBER, workdir=tmp_path, calls=3, rate_per_s=10, timeout_s=60
    )
    app.wait_for("/voice", count=3)
    time.sleep(1)
    worker.crash()
    worker.start()
    result = caller.wait(30)
    calls = _calls(tenant, django_db_blocker)
    assert result.successful_calls == 3, result.explain()
    assert len(calls) == 3 and all(c.status in Call.ENDED and c.end_time for c in calls)
    assert _app_channels(asterisk) == []


def _app_channels(asterisk: AsteriskInstance) -> list[str]:
    import httpx

    response = httpx.get(
        f"{asterisk.ari_url}/applications/{asterisk.ari_app}",
        auth=(asterisk.ari_username, asterisk.ari_password),
    )
    return list(response.json().get("channel_ids", []))


def test_dial_bridges_the_caller_to_a_number_through_the_trunk(
    worker: None,
    celery: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    from tests.voice.conftest import TRUNK_UAS_PORT

    app.routes["/voice"] = twiml(
        '<Response><Dial action="/dialled" timeout="10">+14155550123</Dial></Response>'
    )
    app.routes["/dialled"] = twiml("<Response/>")
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice")
    with sipp.start_uas(TRUNK_UAS_PORT, workdir=tmp_path / "uas") as far_end:
        caller = sipp.run_uac(asterisk.sip_address, NUMBER, workdir=tmp_path / "uac", hangup_after_ms=4000)
        callee = far_end.wait()
    assert caller.ok, caller.explain()
    assert callee.ok, callee.explain()
    dialled = app.wait_for("/dialled")[0].form
    assert dialled["DialCallStatus"] == "completed" and dialled["DialCallSid"].startswith("CA")
    calls = {c.direction: c for c in _calls(tenant, django_db_blocker)}
    leg = calls["outbound-dial"]
    assert leg.sid == dialled["DialCallSid"] and leg.parent_call_id == calls["inbound"].id
    assert leg.to_number == "+14155550123" and leg.status == "completed"


def test_dial_to_a_busy_number_reports_busy_and_continues(
    worker: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    from tests.voice.conftest import TRUNK_UAS_PORT

    app.routes["/voice"] = twiml('<Response><Dial action="/dialled">+14155550123</Dial></Response>')
    app.routes["/dialled"] = twiml("<Response><Say>The line is busy.</Say><Hangup/></Response>")
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice")
    with sipp.start_uas(TRUNK_UAS_PORT, workdir=tmp_path / "uas", busy=True):
        caller = sipp.run_uac(asterisk.sip_address, NUMBER, workdir=tmp_path / "uac")
    assert caller.ok, caller.explain()
    assert app.wait_for("/dialled")[0].form["DialCallStatus"] == "busy"


def test_play_of_an_unreachable_url_is_logged_and_the_call_goes_on(
    worker: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    app.routes["/voice"] = twiml(
        "<Response><Play>http://127.0.0.1:9/missing.wav</Play><Redirect>/after</Redirect></Response>"
    )
    app.routes["/after"] = twiml("<Response><Hangup/></Response>")
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice")
    assert sipp.run_uac(asterisk.sip_address, NUMBER, workdir=tmp_path).ok
    app.wait_for("/after")
    with django_db_blocker.unblock(), tenant_scope(tenant.account.id):  # type: ignore[attr-defined]
        assert list(Notification.objects.values_list("error_code", "log")) == [
            (11205, Notification.Log.WARNING)
        ]


def test_asterisk_restart_mid_call_is_reconciled(
    worker: None,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    app.routes["/voice"] = twiml('<Response><Pause length="60"/></Response>')
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice")
    caller = sipp.start_uac(
        asterisk.sip_address, NUMBER, workdir=tmp_path, calls=2, rate_per_s=10, timeout_s=30
    )
    app.wait_for("/voice", count=2)
    time.sleep(1)
    asterisk.stop()
    asterisk.start(timeout=30)
    caller.stop()
    calls = _calls(tenant, django_db_blocker)
    assert len(calls) == 2 and all(c.status in Call.ENDED and c.end_time for c in calls)
    # The worker is connected again and takes new calls.
    app.routes["/voice"] = twiml("<Response><Say>Back.</Say><Hangup/></Response>")
    assert sipp.run_uac(asterisk.sip_address, NUMBER, workdir=tmp_path / "after").ok


def test_live_call_is_redirected_then_ended_through_the_api(
    worker: AriWorker,
    asterisk: AsteriskInstance,
    app: TwimlApp,
    tenant: Tenant,
    tmp_path: Path,
    django_db_blocker: pytest.FixtureRequest,
) -> None:
    app.routes["/voice"] = twiml('<Response><Pause length="60"/></Response>')
    app.routes["/redirected"] = twiml('<Response><Say>New instructions.</Say><Pause length="60"/></Response>')
    _give_number(tenant, django_db_blocker, voice_url=app.url + "/voice")
    caller = sipp.start_uac(asterisk.sip_address, NUMBER, workdir=tmp_path, timeout_s=40)
    sid = app.wait_for("/voice")[0].form["CallSid"]
    time.sleep(0.5)
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        api = TwilioClient(tenant)
        redirected = api.post(api.url(f"Calls/{sid}.json"), {"Url": app.url + "/redirected"})
        assert redirected.status_code == 200, redirected.content
        assert app.wait_for("/redirected")[0].form["CallSid"] == sid
        ended = api.post(api.url(f"Calls/{sid}.json"), {"Status": "completed"})
        assert ended.status_code == 200
    assert caller.wait(15).ok
    [call] = _calls(tenant, django_db_blocker)
    assert call.status == "completed" and call.end_time is not None
