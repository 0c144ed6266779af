"""The board's monitoring endpoints (`/console/monitor/`): start, change mode, stop, answered in JSON,
errors in Twilio's format (a plain view, so a refusal's audit entry is kept)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from contactcenter.monitoring import board_monitor_start
from core.errors import TwilioError, error_response
from tenants.portal import portal_view
from tenants.roles import MONITOR_ROLES
from voice.models import CallMonitor
from voice.monitoring import monitor_change, monitor_get, monitor_stop


def _body(monitor: CallMonitor) -> dict[str, str]:
    return {"sid": monitor.sid, "call_sid": monitor.call.sid, "mode": monitor.mode, "status": monitor.status}


def _refused(error: TwilioError) -> HttpResponse:
    return error_response(error.twilio_code, error.message, error.status_code)


@require_POST
@portal_view(roles=MONITOR_ROLES)
def monitor_start_view(request: HttpRequest) -> HttpResponse:
    try:
        monitor = board_monitor_start(
            tenant=request.tenant,  # type: ignore[attr-defined]
            call_sid=request.POST.get("call", ""),
            mode=request.POST.get("mode", ""),
        )
    except TwilioError as error:
        return _refused(error)
    return JsonResponse(_body(monitor), status=201)


def _on_own(request: HttpRequest, sid: str, act: Callable[[CallMonitor, str], CallMonitor]) -> HttpResponse:
    """`act(monitor, actor)` on the signed-in supervisor's own monitor `sid`."""
    tenant = request.tenant  # type: ignore[attr-defined]
    try:
        own = monitor_get(account=tenant.account, supervisor=tenant.membership, sid=sid)
        monitor = act(own, tenant.actor)
    except TwilioError as error:
        return _refused(error)
    return JsonResponse(_body(monitor))


@require_POST
@portal_view(roles=MONITOR_ROLES)
def monitor_mode_view(request: HttpRequest, sid: str) -> HttpResponse:
    mode = request.POST.get("mode", "")
    return _on_own(
        request, sid, lambda monitor, actor: monitor_change(monitor=monitor, mode=mode, actor=actor)
    )


@require_POST
@portal_view(roles=MONITOR_ROLES)
def monitor_stop_view(request: HttpRequest, sid: str) -> HttpResponse:
    return _on_own(request, sid, lambda monitor, actor: monitor_stop(monitor=monitor, actor=actor))
