"""The agent console's pages: the console itself (or a page saying the member works as no worker),
and the JSON endpoints its buttons and keys post to, each calling one service of console.py and
answering with the console's fresh state, or with the error in Twilio's format."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from contactcenter.console import (
    console_accept,
    console_activity_set,
    console_reject,
    console_reply,
    console_wrap_up,
)
from contactcenter.console_state import console_recording, console_state, console_worker, phone_elsewhere
from contactcenter.softphone_views import hosts_softphone
from contactcenter.taskrouter.models import Worker
from core.errors import TwilioError, error_response
from tenants.portal import portal_view
from tenants.roles import CONSOLE_ROLES
from voice.views import recording_response

Action = Callable[..., Any]


@hosts_softphone
@portal_view(roles=CONSOLE_ROLES)
def console_view(request: HttpRequest) -> HttpResponse:
    """The console, its state as the server has it now (the websocket keeps it current)."""
    worker = console_worker(membership=request.tenant.membership)  # type: ignore[attr-defined]
    if worker is None:
        return render(request, "contactcenter/console_unlinked.html", status=404)
    context = {
        "worker": worker,
        "state": console_state(worker=worker),
        "phone_elsewhere": phone_elsewhere(worker),
        "grace_seconds": settings.CONSOLE_OFFLINE_GRACE_SECONDS,
    }
    return render(request, "contactcenter/console.html", context)


def console_action(action: Action) -> Callable[..., HttpResponse]:
    """A POST acting as the session's worker: the action's refusal as Twilio's error, else the state."""

    @require_POST
    @portal_view(roles=CONSOLE_ROLES)
    @wraps(action)
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        worker = console_worker(membership=request.tenant.membership)  # type: ignore[attr-defined]
        if worker is None:
            return error_response(20404, "You do not work as a worker in any workspace", 404)
        try:
            action(request, worker, **kwargs)
        except TwilioError as refused:
            return error_response(refused.twilio_code, refused.message, refused.status_code)
        return JsonResponse(console_state(worker=worker))

    return view


def _actor(request: HttpRequest) -> str:
    return str(request.tenant.actor)  # type: ignore[attr-defined]


@console_action
def activity_view(request: HttpRequest, worker: Worker) -> None:
    console_activity_set(
        worker=worker, activity_sid=request.POST.get("activity_sid", ""), actor=_actor(request)
    )


@console_action
def accept_view(request: HttpRequest, worker: Worker, sid: str) -> None:
    console_accept(worker=worker, reservation_sid=sid, actor=_actor(request))


@console_action
def reject_view(request: HttpRequest, worker: Worker, sid: str) -> None:
    activity_sid = request.POST.get("activity_sid", "")
    console_reject(worker=worker, reservation_sid=sid, activity_sid=activity_sid, actor=_actor(request))


@console_action
def reply_view(request: HttpRequest, worker: Worker, sid: str) -> None:
    console_reply(
        worker=worker, reservation_sid=sid, body=request.POST.get("body", ""), actor=_actor(request)
    )


@console_action
def wrap_up_view(request: HttpRequest, worker: Worker, sid: str) -> None:
    console_wrap_up(
        worker=worker,
        reservation_sid=sid,
        disposition=request.POST.get("disposition", ""),
        notes=request.POST.get("notes", "").strip(),
        activity_sid=request.POST.get("activity_sid", ""),
        author=request.user,  # type: ignore[arg-type]
        actor=_actor(request),
    )


@require_GET
@never_cache
@portal_view(roles=CONSOLE_ROLES)
def recording_view(request: HttpRequest, sid: str) -> HttpResponse:
    """A recording in the screen pop, for the agent holding that customer's task (console_recording);
    the fetch is audited as any PHI read."""
    tenant = request.tenant  # type: ignore[attr-defined]
    worker = console_worker(membership=tenant.membership)
    recording = console_recording(worker=worker, sid=sid) if worker is not None else None
    if recording is None:
        raise Http404("No such recording")
    return recording_response(recording, actor=tenant.actor)
