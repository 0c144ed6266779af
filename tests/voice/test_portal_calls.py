"""Portal calls pages: the log and its filters and paging, a call's timeline, recordings' audio, isolation."""

import io
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from compliance.models import AuditEntry
from core.tenancy import tenant_activate
from monitor.models import Notification
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant
from voice import views
from voice.models import Call, CallEvent, Recording
from voice.recordings import recording_store

BASE = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def _signed_in(tenant: Tenant, role: Role, email: str = "") -> Client:
    email = email or f"{role}@{tenant.account.friendly_name.split()[-1].lower()}.example"
    tenant_activate(tenant.account.id)
    user = user_create(email=email, password="pw-123456789")
    membership_add(account=tenant.account, user=user, role=role, actor="test")
    client = Client()
    assert client.post("/login/", {"email": email, "password": "pw-123456789"}).status_code == 302
    return client


def _call(tenant: Tenant, *, at: datetime = BASE, **fields: Any) -> Call:
    """A call created at `at` (auto_now_add is overwritten so tests control the order)."""
    tenant_activate(tenant.account.id)
    values = {
        "direction": Call.Direction.INBOUND,
        "from_number": "+15017122661",
        "to_number": "+15558675310",
        "status": Call.Status.COMPLETED,
    }
    call = Call.objects.create(account=tenant.account, **(values | fields))
    Call.objects.filter(id=call.id).update(date_created=at)
    call.date_created = at
    return call


def _event(call: Call, at: datetime, kind: str, name: str, detail: dict[str, Any] | None = None) -> None:
    event = CallEvent.objects.create(
        account_id=call.account_id, call=call, kind=kind, name=name, detail=detail or {}
    )
    CallEvent.objects.filter(id=event.id).update(date_created=at)


def _notification(call: Call, at: datetime, **fields: Any) -> None:
    notification = Notification.objects.create(account_id=call.account_id, call_sid=call.sid, **fields)
    Notification.objects.filter(id=notification.id).update(date_created=at)


def _wav() -> bytes:
    """A quarter second of 8 kHz 16-bit mono: a small but valid WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(range(256)) * 16)
    return buffer.getvalue()


def _recording(tenant: Tenant, call: Call, audio: bytes) -> Recording:
    return recording_store(
        account_id=tenant.account.id, call_id=call.id, audio=audio, duration_seconds=1, source="RecordVerb"
    )


@pytest.fixture(autouse=True)
def _recordings_dir(settings: Any, tmp_path: Path) -> None:
    settings.RECORDINGS_DIR = tmp_path / "recordings"


def _listens(tenant: Tenant) -> list[AuditEntry]:
    tenant_activate(tenant.account.id)
    return list(AuditEntry.objects.filter(account_id=tenant.account.id, action="recording.listen"))


def test_calls_pages_need_sign_in(db: None) -> None:
    response = Client().get("/calls/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/calls/"


def test_log_lists_the_accounts_calls_newest_first(tenant_a: Tenant, tenant_b: Tenant) -> None:
    older = _call(tenant_a, at=BASE, from_number="+15550000001")
    newer = _call(tenant_a, at=BASE + timedelta(minutes=5), from_number="+15550000002")
    _recording(tenant_a, newer, _wav())
    theirs = _call(tenant_b, at=BASE + timedelta(minutes=1), from_number="+15559999999")
    client = _signed_in(tenant_a, Role.DEVELOPER)

    page = client.get("/calls/").content.decode()

    assert page.index(newer.sid) < page.index(older.sid)
    assert theirs.sid not in page and "+15559999999" not in page
    assert 'href="/calls/"' in page  # the nav link
    newer_row = page[page.index(newer.sid) : page.index(older.sid)]
    assert "<td>1</td>" in newer_row  # its recordings count


def test_call_detail_and_audio_are_invisible_to_other_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    theirs = _call(tenant_b)
    recording = _recording(tenant_b, theirs, _wav())
    client = _signed_in(tenant_a, Role.SUPERVISOR)

    assert client.get(f"/calls/{theirs.sid}/").status_code == 404
    assert client.get(f"/calls/recordings/{recording.sid}.wav").status_code == 404
    assert client.get("/calls/CAnot-a-sid/").status_code == 404
    assert client.get(f"/calls/?before={theirs.sid}").status_code == 200  # a foreign cursor is ignored
    assert _listens(tenant_a) == [] and _listens(tenant_b) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "busy"}, {"busy"}),
        ({"direction": "outbound-api"}, {"outbound"}),
        ({"number": "867"}, {"busy", "outbound"}),  # matches To as well as From
        ({"number": "+1202"}, {"early"}),
        ({"date_from": "2025-03-15"}, {"busy", "outbound"}),
        ({"date_to": "2025-03-14"}, {"early"}),
        ({"date_from": "2025-03-15", "date_to": "2025-03-15", "status": "completed"}, {"outbound"}),
        ({"status": "no-such-status"}, {"early", "busy", "outbound"}),  # invalid fields are ignored
    ],
)
def test_filters_narrow_the_log(tenant_a: Tenant, query: dict[str, str], expected: set[str]) -> None:
    calls = {
        "early": _call(tenant_a, at=BASE, from_number="+12025550100", to_number="+15550001111"),
        "busy": _call(tenant_a, at=BASE + timedelta(days=1), status=Call.Status.BUSY),
        "outbound": _call(
            tenant_a,
            at=BASE + timedelta(days=1, hours=14, minutes=59),
            direction=Call.Direction.OUTBOUND_API,
            from_number="+15550002222",
            to_number="+15558675399",
        ),
    }
    client = _signed_in(tenant_a, Role.AUDITOR)

    page = client.get("/calls/", query).content.decode()

    assert {name for name, call in calls.items() if call.sid in page} == expected


def test_older_and_newer_links_page_by_keyset_and_keep_filters(
    tenant_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    calls = [_call(tenant_a, at=BASE + timedelta(minutes=n)) for n in range(5)]
    _call(tenant_a, at=BASE + timedelta(minutes=10), status=Call.Status.FAILED)  # filtered out throughout
    client = _signed_in(tenant_a, Role.DEVELOPER)

    def visit(url: str) -> tuple[list[str], dict[str, str]]:
        response = client.get(url, HTTP_HX_REQUEST="true")
        shown = [c.sid for c in reversed(calls) if c.sid in response.content.decode()]
        page = response.context["page"]
        links = {"older": page.older_url, "newer": page.newer_url}
        return shown, {name: url for name, url in links.items() if url}

    first, links = visit("/calls/?status=completed")
    assert first == [calls[4].sid, calls[3].sid] and set(links) == {"older"}
    second, links = visit(links["older"])
    assert second == [calls[2].sid, calls[1].sid] and set(links) == {"older", "newer"}
    assert "status=completed" in links["older"]
    last, links = visit(links["older"])
    assert last == [calls[0].sid] and set(links) == {"newer"}
    back, links = visit(links["newer"])
    assert back == second
    top, links = visit(links["newer"])
    assert top == first and set(links) == {"older"}


def test_detail_shows_the_timeline_in_order_with_errors_legs_and_recordings(tenant_a: Tenant) -> None:
    call = _call(tenant_a, url="https://clinic.example/voice", answered_at=BASE, end_time=BASE)
    _event(call, BASE, "status", "ringing", {"from": "+15017122661"})
    second = timedelta(seconds=1)
    _event(call, BASE + second, "webhook", "POST", {"url": "https://clinic.example/voice", "status": 200})
    _event(call, BASE + 2 * second, "verb", "Say")
    _event(call, BASE + 3 * second, "webhook", "POST", {"url": "https://clinic.example/menu", "status": 502})
    error = {"url": "https://clinic.example/menu", "message": "https://clinic.example/menu returned HTTP 502"}
    _event(call, BASE + timedelta(seconds=3, milliseconds=1), "error", "11200", error)
    _notification(
        call,
        BASE + timedelta(seconds=3, milliseconds=2),
        error_code=11200,
        message_text=error["message"],
        request_method="POST",
        request_url=error["url"],
        response_body="Bad gateway from upstream",
    )
    _event(call, BASE + timedelta(seconds=4), "status", "completed")
    _notification(
        call,
        BASE + timedelta(seconds=5),
        error_code=11205,
        message_text="Status callback could not be delivered",
        log=Notification.Log.WARNING,
    )
    leg = _call(
        tenant_a, at=BASE + timedelta(seconds=2), parent_call=call, direction=Call.Direction.OUTBOUND_DIAL
    )
    recording = _recording(tenant_a, call, _wav())
    client = _signed_in(tenant_a, Role.SUPERVISOR)

    page = client.get(f"/calls/{call.sid}/").content.decode()

    timeline = page[page.index('id="timeline"') :]
    steps = [
        "ringing",
        "https://clinic.example/voice → ",
        "&lt;Say&gt;",
        "HTTP 502",
        "returned HTTP 502",
        "Bad gateway from upstream",
        "completed",
        "Status callback could not be delivered",
    ]
    positions = [timeline.index(step) for step in steps]
    assert positions == sorted(positions)
    assert timeline.count("returned HTTP 502") == 1  # the error event and its notification are one entry
    assert 'class="timeline-error"' in timeline and "warning" in timeline
    assert f'href="/calls/{leg.sid}/"' in page
    assert f'<audio controls preload="none" src="/calls/recordings/{recording.sid}.wav">' in page
    assert _listens(tenant_a) == []  # showing the player is not listening
    assert f'href="/calls/{call.sid}/"' in client.get(f"/calls/{leg.sid}/").content.decode()  # parent link


def test_audio_is_the_exact_wav_and_each_fetch_is_audited(tenant_a: Tenant) -> None:
    audio = _wav()
    recording = _recording(tenant_a, _call(tenant_a), audio)
    client = _signed_in(tenant_a, Role.AUDITOR, "auditor@a.example")

    response = client.get(f"/calls/recordings/{recording.sid}.wav")

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/x-wav"
    assert response.content == audio
    assert "no-store" in response["Cache-Control"]
    [entry] = _listens(tenant_a)
    assert (entry.actor, entry.object_sid) == ("user:auditor@a.example", recording.sid)
    assert client.post(f"/calls/recordings/{recording.sid}.wav").status_code == 405
    assert len(_listens(tenant_a)) == 1


@pytest.mark.parametrize("role", [Role.DEVELOPER, Role.SUPERVISOR, Role.AUDITOR])
def test_reviewing_roles_may_see_calls(tenant_a: Tenant, role: Role) -> None:
    call = _call(tenant_a)
    client = _signed_in(tenant_a, role)
    assert client.get("/calls/").status_code == 200
    assert client.get(f"/calls/{call.sid}/").status_code == 200


def test_agents_may_not_see_calls_or_hear_recordings(tenant_a: Tenant) -> None:
    call = _call(tenant_a)
    recording = _recording(tenant_a, call, _wav())
    client = _signed_in(tenant_a, Role.AGENT)

    assert client.get("/calls/").status_code == 403
    assert client.get(f"/calls/{call.sid}/").status_code == 403
    assert client.get(f"/calls/recordings/{recording.sid}.wav").status_code == 403
    assert _listens(tenant_a) == []


def test_htmx_requests_get_only_the_fragment(tenant_a: Tenant) -> None:
    call = _call(tenant_a)
    client = _signed_in(tenant_a, Role.DEVELOPER)

    response = client.get("/calls/", {"status": "completed"}, HTTP_HX_REQUEST="true")

    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="calls">')
    assert "<html" not in fragment and "<form" not in fragment and call.sid in fragment
    assert "HX-Request" in response["Vary"]
    full = client.get("/calls/").content.decode()
    assert "<html" in full and 'hx-target="#calls"' in full and 'hx-push-url="true"' in full


def test_log_query_count_does_not_grow_with_calls(tenant_a: Tenant) -> None:
    client = _signed_in(tenant_a, Role.DEVELOPER)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/calls/").status_code == 200
        return len(captured)

    first = _call(tenant_a)
    _recording(tenant_a, first, _wav())
    one = queries()
    for n in range(1, 8):
        call = _call(tenant_a, at=BASE + timedelta(minutes=n))
        _recording(tenant_a, call, _wav())
    assert queries() == one
