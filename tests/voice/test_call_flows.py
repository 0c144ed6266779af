"""Calls end to end: sipp places real SIP calls through Asterisk into our ARI worker, which runs the
tenant's TwiML fetched from a real HTTP app; outbound calls go from the official SDK through Celery."""

import io
import math
import os
import signal
import socket
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db.models import Q

from conversations.models import Item
from core.sids import sid_to_uuid
from core.tenancy import tenant_scope
from mediaserver.asterisk import AsteriskInstance
from mediaserver.asterisk.config import stasis_apps
from messaging.models import Message
from monitor.models import Notification
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.asterisk import TRUNK_UAS_PORT
from tests.conftest import Tenant, TwilioClient, make_tenant
from tests.live import AriWorker, ari_worker, asgi_server, celery_worker
from tests.messaging.conftest import finish_unfinished_work, gateway_process, smpp_connector
from tests.messaging.smsc import Smsc
from tests.numbering.test_twilio_sdk import sdk
from tests.voice import sipp
from tests.voice.dtmf import dtmf_pcap, tone_pcap
from tests.voice.twiml_app import TwimlApp, twiml
from voice.models import Call, CallEvent, MediaServer, Recording

pytestmark = pytest.mark.e2e

NUMBER = "+12065550142"  # used only here: committed numbers are global across tests
FAR_END = "+14155550123"


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
                "wss_port": asterisk.tls_port,
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


@dataclass
class Lab:
    """One test's world: Asterisk, the tenant's TwiML app, the tenant, and helpers to call and look."""

    asterisk: AsteriskInstance
    app: TwimlApp
    tenant: Tenant
    workdir: Path
    blocker: Any
    _runs: Any = None

    def __post_init__(self) -> None:
        self._runs = count()

    @contextmanager
    def db(self) -> Iterator[None]:
        """Committed reads and writes in the tenant's scope (the worker runs in another process)."""
        with self.blocker.unblock(), tenant_scope(self.tenant.account.id):
            yield

    def serve(self, **documents: str) -> None:
        """TwiML for each path of the app: serve(voice="<Response>…")."""
        for path, document in documents.items():
            self.app.routes[f"/{path}"] = twiml(document)

    def give_number(self, **settings: str) -> None:
        settings.setdefault("voice_url", self.app.url + "/voice")
        with self.db():
            number_create(account=self.tenant.account, actor="test", phone_number=NUMBER, **settings)

    def start_call(self, number: str = NUMBER, **options: Any) -> sipp.SippRun:
        workdir = self.workdir / f"uac-{next(self._runs)}"
        return sipp.start_uac(self.asterisk.sip_address, number, workdir=workdir, **options)

    def call(self, number: str = NUMBER, **options: Any) -> sipp.SippResult:
        return self.start_call(number, **options).wait()

    def far_end(self, **options: Any) -> sipp.SippRun:
        """A sipp UAS where the trunk sends outbound legs."""
        return sipp.start_uas(TRUNK_UAS_PORT, workdir=self.workdir / f"uas-{next(self._runs)}", **options)

    def calls(self) -> list[Call]:
        """The tenant's calls, once every one of them has ended (or after 15 s)."""
        deadline = time.monotonic() + 15
        while True:
            with self.db():
                calls = list(Call.objects.order_by("date_created"))
            if (calls and all(c.status in Call.ENDED for c in calls)) or time.monotonic() > deadline:
                return calls
            time.sleep(0.1)

    def notifications(self) -> list[tuple[int, int]]:
        with self.db():
            return list(Notification.objects.order_by("date_created").values_list("error_code", "log"))

    def app_channels(self, app: str | None = None) -> list[str]:
        """Channels still in a Stasis app (by default the first), as Asterisk sees it."""
        a = self.asterisk
        response = httpx.get(
            f"{a.ari_url}/applications/{app or a.ari_app}", auth=(a.ari_username, a.ari_password)
        )
        return list(response.json().get("channel_ids", []))


@pytest.fixture
def lab(
    worker: AriWorker, asterisk: AsteriskInstance, tmp_path: Path, django_db_blocker: pytest.FixtureRequest
) -> Iterator[Lab]:
    with TwimlApp() as app, django_db_blocker.unblock():  # type: ignore[attr-defined]
        tenant = make_tenant("Voice clinic")
        yield Lab(asterisk, app, tenant, tmp_path, django_db_blocker)
        with tenant_scope(tenant.account.id):  # numbers are global: free it for the next test
            IncomingPhoneNumber.objects.filter(phone_number=NUMBER).delete()


def test_gather_collects_rfc4733_digits_and_posts_them_to_the_action(lab: Lab) -> None:
    lab.serve(
        voice='<Response><Gather numDigits="4" action="/gathered" timeout="5">'
        '<Say bogus="1">Please enter your four digit code.</Say></Gather><Say>No input.</Say></Response>',
        gathered="<Response><Say>Thank you.</Say><Hangup/></Response>",
    )
    lab.give_number()

    result = lab.call(pcap=dtmf_pcap("1234", lead_in_ms=500))

    assert result.ok, result.explain()
    first = lab.app.wait_for("/voice")[0]
    assert first.form["CallStatus"] == "ringing" and first.form["To"] == NUMBER
    assert first.form["AccountSid"] == lab.tenant.sid and first.form["Direction"] == "inbound"
    gathered = lab.app.wait_for("/gathered")[0]
    assert gathered.form["Digits"] == "1234" and gathered.form["CallStatus"] == "in-progress"
    assert lab.app.is_signed(first, lab.tenant.token) and lab.app.is_signed(gathered, lab.tenant.token)
    [call] = lab.calls()
    assert call.sid == first.form["CallSid"] and call.status == "completed"
    assert call.answered_at is not None and call.duration_seconds is not None
    assert lab.notifications() == [
        (12200, Notification.Log.WARNING)
    ]  # the unknown attribute, as Twilio logs it


def _tone_wav(seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(
            b"".join(
                int(8000 * math.sin(2 * math.pi * 440 * i / 8000)).to_bytes(2, "little", signed=True)
                for i in range(int(8000 * seconds))
            )
        )
    return buffer.getvalue()


def test_say_play_record_hangup_and_the_recording_through_the_api(lab: Lab, celery: None) -> None:
    tone = _tone_wav()
    lab.app.routes["/tone.wav"] = lambda form: (200, "audio/wav", tone)
    lab.serve(
        voice=f"<Response><Say>Leave a message.</Say><Play>{lab.app.url}/tone.wav</Play>"
        '<Record maxLength="2" timeout="5" action="/recorded" playBeep="false"'
        ' recordingStatusCallback="/recording-status"/></Response>',
        recorded="<Response><Hangup/></Response>",
    )
    lab.serve(**{"recording-status": "<Response/>"})
    lab.give_number()

    result = lab.call(pcap=tone_pcap(9000))

    assert result.ok, result.explain()
    recorded = lab.app.wait_for("/recorded")[0].form
    assert recorded["RecordingSid"].startswith("RE") and int(recorded["RecordingDuration"]) >= 1
    assert lab.app.requests_to("/tone.wav"), "Play fetched the media URL"
    status = lab.app.wait_for("/recording-status")[0].form
    assert status["RecordingStatus"] == "completed" and status["RecordingSid"] == recorded["RecordingSid"]
    with lab.db():
        api = TwilioClient(lab.tenant)
        listed = api.get(api.url("Recordings.json"), CallSid=recorded["CallSid"]).json()["recordings"]
        assert [r["sid"] for r in listed] == [recorded["RecordingSid"]]
        audio = api.get(api.url(f"Recordings/{recorded['RecordingSid']}"))
        stored = Recording.objects.get(id=recorded["RecordingSid"][2:])
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/x-wav"
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert wav.getframerate() == 8000 and wav.getnframes() >= 8000
    assert audio.content not in Path(stored.media_path).read_bytes()  # sealed at rest


def test_malformed_twiml_ends_with_the_application_error_and_a_12100_entry(lab: Lab) -> None:
    lab.serve(voice="<Response><Say>unclosed")
    lab.give_number()

    assert lab.call().ok

    [call] = lab.calls()
    assert call.status == "completed"
    with lab.db():
        assert CallEvent.objects.filter(call=call, kind="error", name="12100").exists()
        assert list(Notification.objects.values_list("error_code", "call_sid")) == [(12100, call.sid)]


def test_failing_app_falls_back_to_the_fallback_url(lab: Lab) -> None:
    lab.app.routes["/voice"] = lambda form: (500, "text/plain", b"boom")
    lab.serve(fallback="<Response><Say>Backup line.</Say><Hangup/></Response>")
    lab.give_number(voice_fallback_url=lab.app.url + "/fallback")

    assert lab.call().ok

    fallback = lab.app.wait_for("/fallback")[0].form
    assert fallback["ErrorCode"] == "11200" and fallback["ErrorUrl"] == lab.app.url + "/voice"
    assert lab.notifications() == [(11200, Notification.Log.WARNING)]


def test_unknown_number_is_rejected(lab: Lab) -> None:
    result = lab.call("+15559990000", timeout_s=10)
    assert result.successful_calls == 0 and result.failed_calls == 1
    assert lab.calls() == []


def test_caller_hanging_up_mid_gather_ends_the_call_once(lab: Lab, celery: None) -> None:
    lab.serve(
        voice='<Response><Gather action="/never"><Say loop="5">Long menu.</Say></Gather></Response>',
        status="<Response/>",
    )
    lab.give_number(status_callback=lab.app.url + "/status")

    assert lab.call(hangup_after_ms=1500).ok

    [call] = lab.calls()
    assert call.status == "completed"
    status = lab.app.wait_for("/status", timeout=20)
    time.sleep(1)
    assert [h.form["CallStatus"] for h in lab.app.requests_to("/status")] == ["completed"]
    assert status[0].form["CallbackSource"] == "call-progress-events"
    assert not lab.app.requests_to("/never")


def test_outbound_call_from_the_official_sdk_with_status_callbacks(lab: Lab, celery: None) -> None:
    lab.serve(
        outbound="<Response><Say>This is your appointment reminder.</Say><Hangup/></Response>",
        status="<Response/>",
    )
    lab.give_number()
    with lab.far_end() as far_end, asgi_server() as server:
        client = sdk(server, lab.tenant.sid, lab.tenant.token)
        call = client.calls.create(
            to=FAR_END,
            from_=NUMBER,
            url=lab.app.url + "/outbound",
            status_callback=lab.app.url + "/status",
            status_callback_event=["initiated", "ringing", "answered", "completed"],
        )
        assert call.sid.startswith("CA") and call.status == "queued"
        callbacks = lab.app.wait_for("/status", count=4, timeout=30)
        assert far_end.wait().ok
        fetched = client.calls(call.sid).fetch()
    assert [h.form["CallStatus"] for h in callbacks] == ["initiated", "ringing", "in-progress", "completed"]
    assert [h.form["SequenceNumber"] for h in callbacks] == ["0", "1", "2", "3"]
    assert all(lab.app.is_signed(hit, lab.tenant.token) for hit in callbacks)
    assert lab.app.wait_for("/outbound")[0].form["CallStatus"] == "in-progress"
    assert fetched.status == "completed" and fetched.direction == "outbound-api"
    assert int(fetched.duration) >= 1 and fetched.to == FAR_END


def test_worker_crash_mid_call_leaves_no_call_stuck(lab: Lab, worker: AriWorker) -> None:
    lab.serve(voice='<Response><Pause length="60"/></Response>')
    lab.give_number()
    caller = lab.start_call(calls=3, rate_per_s=10, timeout_s=60)
    lab.app.wait_for("/voice", count=3)
    time.sleep(1)

    worker.crash()
    worker.start()

    result = caller.wait(30)
    assert result.successful_calls == 3, result.explain()
    calls = lab.calls()
    assert len(calls) == 3 and all(c.status in Call.ENDED and c.end_time for c in calls)
    assert lab.app_channels() == []


def test_a_call_arriving_while_the_worker_is_stuck_is_run_once_it_is_back(
    lab: Lab, worker: AriWorker
) -> None:
    """The call reaches Stasis, its StasisStart is lost with the stuck worker; the next worker finds a
    channel no call record knows and runs it, rather than hanging up on the caller."""
    lab.serve(voice="<Response><Say>Thank you for waiting.</Say><Hangup/></Response>")
    lab.give_number()
    assert worker.process is not None
    os.kill(worker.process.pid, signal.SIGSTOP)
    try:
        caller = lab.start_call(timeout_s=40)
        time.sleep(2)  # in Stasis, its StasisStart in a socket nobody reads
        assert lab.app.requests_to("/voice") == []
    finally:
        worker.crash()  # SIGKILL reaches a stopped process too
    worker.start()
    assert caller.wait().ok
    assert len(lab.app.wait_for("/voice")) == 1
    [call] = lab.calls()
    assert call.status == "completed"


def test_asterisk_restart_mid_call_is_reconciled(lab: Lab) -> None:
    lab.serve(voice='<Response><Pause length="60"/></Response>')
    lab.give_number()
    caller = lab.start_call(calls=2, rate_per_s=10, timeout_s=30)
    lab.app.wait_for("/voice", count=2)
    time.sleep(1)

    lab.asterisk.stop()
    lab.asterisk.start(timeout=30)
    caller.stop()

    calls = lab.calls()
    assert len(calls) == 2 and all(c.status in Call.ENDED and c.end_time for c in calls)
    lab.serve(voice="<Response><Say>Back.</Say><Hangup/></Response>")
    assert lab.call().ok  # the worker reconnected and takes new calls


def test_dial_bridges_the_caller_to_a_number_through_the_trunk(lab: Lab, celery: None) -> None:
    lab.serve(
        voice=f'<Response><Dial action="/dialled" timeout="10">{FAR_END}</Dial></Response>',
        dialled="<Response/>",
    )
    lab.give_number()
    with lab.far_end() as far_end:
        caller = lab.call(hangup_after_ms=4000)
        callee = far_end.wait()
    assert caller.ok, caller.explain()
    assert callee.ok, callee.explain()
    dialled = lab.app.wait_for("/dialled")[0].form
    assert dialled["DialCallStatus"] == "completed" and dialled["DialCallSid"].startswith("CA")
    calls = {c.direction: c for c in lab.calls()}
    leg = calls["outbound-dial"]
    assert leg.sid == dialled["DialCallSid"] and leg.parent_call_id == calls["inbound"].id
    assert leg.to_number == FAR_END and leg.status == "completed"
    # The leg was bridged for most of the caller's four seconds: its duration says so.
    assert leg.answered_at is not None and 2 <= leg.duration_seconds <= 5


def test_dial_to_a_busy_number_reports_busy_and_continues(lab: Lab) -> None:
    lab.serve(
        voice=f'<Response><Dial action="/dialled">{FAR_END}</Dial></Response>',
        dialled="<Response><Say>The line is busy.</Say><Hangup/></Response>",
    )
    lab.give_number()
    with lab.far_end(busy=True):
        caller = lab.call()
    assert caller.ok, caller.explain()
    assert lab.app.wait_for("/dialled")[0].form["DialCallStatus"] == "busy"


def test_play_of_an_unreachable_url_is_logged_and_the_call_goes_on(lab: Lab) -> None:
    lab.serve(
        voice="<Response><Play>http://127.0.0.1:9/missing.wav</Play><Redirect>/after</Redirect></Response>",
        after="<Response><Hangup/></Response>",
    )
    lab.give_number()
    assert lab.call().ok
    lab.app.wait_for("/after")
    lab.calls()  # ended: the worker has written everything the call noted
    assert lab.notifications() == [(11205, Notification.Log.WARNING)]


def test_a_calls_twiml_cannot_reach_the_platforms_own_services(lab: Lab, worker: AriWorker) -> None:
    """SSRF through a live call: Play, Dial Sip and Redirect aimed at loopback never leave the worker,
    which admits only the tenant's app (as production admits no private address at all)."""
    with TwimlApp() as internal, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sip_sensor:
        sip_sensor.bind(("127.0.0.1", 0))
        sip_sensor.setblocking(False)
        internal.routes["/secret.wav"] = internal.routes["/ari"] = twiml("<Response/>")
        lab.serve(
            voice=f'<Response><Play>{internal.url}/secret.wav</Play><Dial action="/dialled" timeout="5">'
            f"<Sip>sip:probe@127.0.0.1:{sip_sensor.getsockname()[1]}</Sip></Dial></Response>",
            dialled=f"<Response><Redirect>{internal.url}/ari</Redirect></Response>",
        )
        lab.give_number()
        worker.stop()
        try:
            with ari_worker(worker.server_name, SWITCHBOARD_EGRESS_ALLOW=f"127.0.0.1:{lab.app.port}"):
                caller = lab.call()
                dialled = lab.app.wait_for("/dialled")[0].form
                lab.calls()
        finally:
            worker.start()
        assert caller.ok, caller.explain()
        assert dialled["DialCallStatus"] == "failed" and internal.hits == []
        with pytest.raises(BlockingIOError):
            sip_sensor.recv(4096)  # no INVITE ever reached the address the TwiML named
    assert [code for code, _ in lab.notifications()] == [11205, 11205, 11205]


def test_live_call_is_redirected_then_ended_through_the_api(lab: Lab) -> None:
    lab.serve(
        voice='<Response><Pause length="60"/></Response>',
        redirected='<Response><Say>New instructions.</Say><Pause length="60"/></Response>',
    )
    lab.give_number()
    caller = lab.start_call(timeout_s=40)
    sid = lab.app.wait_for("/voice")[0].form["CallSid"]
    time.sleep(0.5)
    with lab.blocker.unblock():  # autocommit, like a real API client: the command is sent on commit
        api = TwilioClient(lab.tenant)
        redirected = api.post(api.url(f"Calls/{sid}.json"), {"Url": lab.app.url + "/redirected"})
        assert redirected.status_code == 200, redirected.content
        assert lab.app.wait_for("/redirected")[0].form["CallSid"] == sid
        assert api.post(api.url(f"Calls/{sid}.json"), {"Status": "completed"}).status_code == 200
    assert caller.wait(15).ok
    [call] = lab.calls()
    assert call.status == "completed" and call.end_time is not None


def test_a_worker_at_its_limit_refuses_new_calls_with_503(lab: Lab, worker: AriWorker) -> None:
    lab.serve(voice='<Response><Pause length="4"/><Hangup/></Response>')
    lab.give_number()
    worker.stop()
    try:
        with ari_worker(worker.server_name, SWITCHBOARD_MAX_INBOUND_CALLS="1"):
            first = lab.start_call(timeout_s=20)
            lab.app.wait_for("/voice")
            refused = lab.call(timeout_s=10)
            assert first.wait().ok
    finally:
        worker.start()
    assert refused.successful_calls == 0 and "503" in refused.messages
    assert len(lab.calls()) == 1


def test_stopping_the_worker_ends_its_calls_cleanly(lab: Lab, worker: AriWorker) -> None:
    lab.serve(voice='<Response><Pause length="60"/></Response>')
    lab.give_number()
    caller = lab.start_call(timeout_s=30)
    lab.app.wait_for("/voice")
    time.sleep(0.5)
    worker.stop()  # SIGTERM, as honcho or systemd would send
    try:
        assert caller.wait(10).ok  # the caller got a BYE, not minutes of silence
        [call] = lab.calls()
        assert call.status == "completed" and call.end_time is not None
        assert lab.app_channels() == []
    finally:
        worker.start()


@contextmanager
def worker_processes(lab: Lab, server: MediaServer, worker: AriWorker, count: int) -> Iterator[AriWorker]:
    """The module's one-process worker replaced by `count` supervised processes, then put back."""
    worker.stop()
    with lab.blocker.unblock():
        MediaServer.objects.filter(id=server.id).update(worker_processes=count)
    spread = replace(lab.asterisk, worker_processes=count)
    spread.write_config()
    spread.rx("dialplan reload")
    try:
        with ari_worker(worker.server_name, connections=count) as supervised:
            yield supervised
    finally:
        lab.asterisk.write_config()
        lab.asterisk.rx("dialplan reload")
        with lab.blocker.unblock():
            MediaServer.objects.filter(id=server.id).update(worker_processes=1)
        worker.start()


def test_worker_processes_share_calls_and_each_reconciles_only_its_own(
    lab: Lab, worker: AriWorker, media_server: MediaServer
) -> None:
    lab.serve(voice='<Response><Pause length="60"/></Response>')
    lab.give_number()
    first, second = stasis_apps(lab.asterisk.ari_app, 2)
    with worker_processes(lab, media_server, worker, 2) as supervised:
        caller = lab.start_call(calls=6, rate_per_s=20, timeout_s=60)
        lab.app.wait_for("/voice", count=6)
        kept, lost = lab.app_channels(first), lab.app_channels(second)
        assert len(kept) == len(lost) == 3  # dealt round robin

        os.kill(supervised.child_pid(second), signal.SIGKILL)
        deadline = time.monotonic() + 15  # the supervisor restarts it; it reconciles its own calls
        while time.monotonic() < deadline:
            with lab.db():
                by_channel = {c.channel_id: c for c in Call.objects.all()}
            if all(by_channel[c].end_time for c in lost):
                break
            time.sleep(0.2)
        assert lab.app_channels(second) == []
        assert all(by_channel[c].status in Call.ENDED and by_channel[c].end_time for c in lost)
        # The other process's calls were not touched by the restarted one's reconciliation.
        assert sorted(lab.app_channels(first)) == sorted(kept)
        assert all(by_channel[c].status == "in-progress" for c in kept)
    caller.wait(15)  # stopping the supervisor ended the remaining calls
    assert all(c.status in Call.ENDED and c.end_time for c in lab.calls())


def test_worker_processes_each_place_the_outbound_calls_handed_to_them_once(
    lab: Lab, worker: AriWorker, media_server: MediaServer, celery: None
) -> None:
    lab.serve(outbound="<Response><Say>Your table is ready.</Say><Hangup/></Response>")
    lab.give_number()
    with worker_processes(lab, media_server, worker, 2), lab.far_end(calls=4, timeout_s=40) as far_end:
        with lab.blocker.unblock():  # autocommit: the originate task runs on commit
            api = TwilioClient(lab.tenant)
            created = [
                api.post(
                    api.url("Calls.json"), {"To": FAR_END, "From": NUMBER, "Url": lab.app.url + "/outbound"}
                )
                for _ in range(4)
            ]
        assert all(response.status_code == 201 for response in created)
        answered = lab.app.wait_for("/outbound", count=4, timeout=30)
        assert far_end.wait().ok
    assert sorted(hit.form["CallSid"] for hit in answered) == sorted(r.json()["sid"] for r in created)
    calls = lab.calls()
    assert [c.status for c in calls] == ["completed"] * 4
    with lab.db():
        assert not Notification.objects.exists()


def test_sms_verb_texts_the_caller_and_the_text_joins_the_calls_conversation(
    lab: Lab, celery: None, smsc: Smsc
) -> None:
    caller = "+14155550199"
    lab.serve(
        voice='<Response><Sms action="/texted">Your code is 4321</Sms><Say>Never heard.</Say></Response>',
        texted='<Response><Sms to="+1555">bad number</Sms><Say>Sent.</Say><Hangup/></Response>',
    )
    lab.give_number()
    with lab.blocker.unblock():
        finish_unfinished_work()
        smpp_connector(smsc, name="voice-sms")
    with gateway_process():
        assert lab.call(caller=caller).ok
        texted = lab.app.wait_for("/texted")[0].form
        smsc.wait_stats(lambda stats: stats["accepted"] >= 1)
    assert texted["SmsStatus"] == "sending" and texted["CallStatus"] == "in-progress"
    [submitted] = smsc.submissions()  # the second <Sms> was refused: nothing left for the carrier
    assert submitted["destination_addr"] == caller.lstrip("+")
    assert submitted["source_addr"] == NUMBER.lstrip("+")
    assert submitted["text"] == "Your code is 4321"
    [call] = lab.calls()
    with lab.db():
        message = Message.objects.get(id=sid_to_uuid(texted["SmsSid"], "SM"))
        items = Item.objects.filter(Q(call=call) | Q(message=message))
        conversations = {item.conversation_id for item in items}
        timeline = list(
            CallEvent.objects.filter(call=call).order_by("date_created").values_list("name", flat=True)
        )
    assert (message.direction, message.call_id, message.to_number, message.from_number) == (
        "outbound-call",
        call.id,
        caller,
        NUMBER,
    )
    assert len(conversations) == 1  # the call and its text: one thread with the caller
    # The refused <Sms> is in the call's timeline, in the order things happened.
    assert timeline[-6:] == ["POST", "Sms", "21211", "Say", "Hangup", "completed"]
