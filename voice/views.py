"""Portal pages for calls: the log, one call's timeline and legs, and its recordings' audio."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Count, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.paging import Keyset
from core.sids import make_sid, sid_to_uuid
from monitor.models import Notification
from tenants.models import Account
from tenants.portal import portal_view, render_page
from tenants.roles import CALL_VIEWER_ROLES
from voice.forms import CallFilterForm
from voice.models import Call, CallEvent, Recording
from voice.recordings import recording_audio

PAGE_SIZE = 50
CALLS = Keyset(Call)
PAGING_PARAMS = ("before", "after")


@dataclass(frozen=True)
class CallPage:
    calls: Sequence[Call]
    older_url: str | None
    newer_url: str | None


@dataclass(frozen=True)
class TimelineEntry:
    """A CallEvent, a Notification, or an error event with the Notification it wrote (shown once)."""

    at: datetime
    kind: str  # a CallEvent.Kind, or "notification" for an error-log entry with no event of its own
    event: CallEvent | None = None
    notification: Notification | None = None


def _call(account: Account, sid: str) -> Call:
    call_id = sid_to_uuid(sid, Call.SID_PREFIX)
    call = Call.objects.for_account(account).filter(id=call_id).first() if call_id else None
    if call is None:
        raise Http404("No such call")
    return call


def _page(request: HttpRequest, calls: QuerySet[Call], account: Account) -> CallPage:
    """Newest first, PAGE_SIZE at a time; `before=<CallSid>` pages older, `after=<CallSid>` newer.

    A cursor naming a call the account cannot see is ignored (first page), never an error.
    """
    recording_count = (
        Recording.objects.filter(call_id=OuterRef("pk"))
        .order_by()
        .values("call_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    calls = calls.annotate(recording_count=Coalesce(Subquery(recording_count), Value(0)))
    older_sid, newer_sid = request.GET.get("before", ""), request.GET.get("after", "")
    cursor_id = sid_to_uuid(older_sid or newer_sid, Call.SID_PREFIX)
    cursor = Call.objects.for_account(account).filter(id=cursor_id).first() if cursor_id else None

    if cursor is not None and not older_sid:
        rows, more = CALLS.read(calls, size=PAGE_SIZE, before=CALLS.key(cursor))
        if more:
            return _links(request, rows, has_older=True, has_newer=True)
        cursor = None  # back at the top: show a full first page rather than a short one
    rows, more = CALLS.read(calls, size=PAGE_SIZE, after=CALLS.key(cursor) if cursor is not None else None)
    return _links(request, rows, has_older=more, has_newer=cursor is not None)


def _links(request: HttpRequest, rows: Sequence[Call], *, has_older: bool, has_newer: bool) -> CallPage:
    """The page with Older/Newer links that keep the filters and replace the cursor."""
    kept = [(k, v) for k, v in request.GET.items() if k not in PAGING_PARAMS and v]

    def link(param: str, call: Call) -> str:
        return f"{request.path}?{urlencode([*kept, (param, call.sid)])}"

    return CallPage(
        calls=rows,
        older_url=link("before", rows[-1]) if has_older and rows else None,
        newer_url=link("after", rows[0]) if has_newer and rows else None,
    )


def _timeline(events: list[CallEvent], notifications: list[Notification]) -> list[TimelineEntry]:
    """Events and error-log entries in time order.

    An error event and the Notification written with it (same code and message) become one entry;
    Notifications with no event (a status callback that failed to deliver, say) stand alone.
    """
    unpaired = list(notifications)
    entries = []
    for event in events:
        paired = None
        if event.kind == CallEvent.Kind.ERROR:
            message = event.detail.get("message") if isinstance(event.detail, dict) else None
            paired = next(
                (n for n in unpaired if str(n.error_code) == event.name and n.message_text == message), None
            )
            if paired is not None:
                unpaired.remove(paired)
        entry = TimelineEntry(at=event.date_created, kind=event.kind, event=event, notification=paired)
        entries.append(entry)
    entries += [TimelineEntry(at=n.date_created, kind="notification", notification=n) for n in unpaired]
    return sorted(entries, key=lambda entry: entry.at)


@portal_view(roles=CALL_VIEWER_ROLES)
def calls_view(request: HttpRequest) -> HttpResponse:
    account = request.tenant.account  # type: ignore[attr-defined]
    form = CallFilterForm(request.GET)
    page = _page(request, form.filter(Call.objects.for_account(account)), account)
    response = render_page(
        request, "voice/calls.html", "voice/partials/calls.html", {"form": form, "page": page}
    )
    # The same URL answers with a page or a fragment: caches and the back button must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@portal_view(roles=CALL_VIEWER_ROLES)
def call_detail_view(request: HttpRequest, sid: str) -> HttpResponse:
    account = request.tenant.account  # type: ignore[attr-defined]
    call = _call(account, sid)
    events = list(CallEvent.objects.for_account(account).filter(call=call).order_by("date_created", "id"))
    notifications = list(
        Notification.objects.for_account(account).filter(call_sid=call.sid).order_by("date_created", "id")
    )
    children = Call.objects.for_account(account).filter(parent_call=call).order_by("date_created", "id")
    recordings = Recording.objects.for_account(account).filter(call=call).order_by("date_created", "id")
    context = {
        "call": call,
        "parent_sid": make_sid(Call.SID_PREFIX, call.parent_call_id) if call.parent_call_id else None,
        "timeline": _timeline(events, notifications),
        "children": list(children),
        "recordings": list(recordings),
    }
    return render(request, "voice/call_detail.html", context)


@require_GET
@never_cache
@portal_view(roles=CALL_VIEWER_ROLES)
def recording_audio_view(request: HttpRequest, sid: str) -> HttpResponse:
    """The decrypted WAV, for the owning account only; every fetch is a PHI read in the audit chain."""
    tenant = request.tenant  # type: ignore[attr-defined]
    recording_id = sid_to_uuid(sid, Recording.SID_PREFIX)
    recording = (
        Recording.objects.for_account(tenant.account)
        .filter(id=recording_id, status=Recording.Status.COMPLETED)
        .exclude(media_path="")
        .first()
        if recording_id
        else None
    )
    if recording is None:
        raise Http404("No such recording")
    return recording_response(recording, actor=tenant.actor)


def recording_response(recording: Recording, *, actor: str) -> HttpResponse:
    """A completed recording's decrypted WAV, its fetch audited as a PHI read by `actor`."""
    try:
        audio = recording_audio(recording=recording, actor=actor, action="recording.listen")
    except FileNotFoundError as exc:
        raise Http404("This recording's audio is missing") from exc
    response = HttpResponse(audio, content_type="audio/x-wav")
    response["Content-Disposition"] = f'inline; filename="{recording.sid}.wav"'
    return response
