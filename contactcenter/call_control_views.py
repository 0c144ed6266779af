"""The agent console's call-control endpoints (`/console/calls/<CallSid>/<action>`): JSON for the
console's fetch calls, behind the portal's session sign-in; each parses, checks who asks, calls one
service of contactcenter/call_control.py and answers `{"status": …}`, or Twilio's error body."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from contactcenter.call_control import (
    AgentCall,
    agent_call_get,
    call_cancel,
    call_complete,
    call_hold,
    call_transfer,
    call_unhold,
)
from core.error_codes import ErrorCode
from core.errors import TwilioError, error_body
from tenants.portal import Refusal, portal_refusal
from tenants.roles import ROUTING_MANAGER_ROLES

# Supervisors act on any agent's call of the account: the roles that run its routing.
SUPERVISOR_ROLES = ROUTING_MANAGER_ROLES


def _transfer(agent_call: AgentCall, actor: str, form: Any) -> dict[str, str]:
    target = call_transfer(
        agent_call=agent_call, actor=actor, to=form.get("to", ""), mode=form.get("mode", "blind")
    )
    return {"to": target.to, "kind": target.kind.value}


ACTIONS: dict[str, Callable[[AgentCall, str, Any], dict[str, str] | None]] = {
    "hold": lambda call, actor, _: call_hold(agent_call=call, actor=actor),
    "unhold": lambda call, actor, _: call_unhold(agent_call=call, actor=actor),
    "transfer": _transfer,
    "complete": lambda call, actor, _: call_complete(agent_call=call, actor=actor),
    "cancel": lambda call, actor, _: call_cancel(agent_call=call, actor=actor),
}


def _error(code: int, message: str, status: int) -> JsonResponse:
    return JsonResponse(error_body(code, message, status), status=status)


@require_POST
def call_control_view(request: HttpRequest, call_sid: str, action: str) -> JsonResponse:
    tenant = getattr(request, "tenant", None)
    user = request.user
    refusal = portal_refusal(
        user=user,
        tenant=tenant,
        is_verified=lambda: user.is_verified(),  # type: ignore[union-attr]
        roles=None,
    )
    if refusal is Refusal.SIGNED_OUT:
        return _error(ErrorCode.PERMISSION_DENIED, "Sign in to the portal first", 401)
    if refusal is not None or tenant is None or tenant.membership is None:
        return _error(ErrorCode.PERMISSION_DENIED, "Your session may not control calls", 403)
    run = ACTIONS.get(action)
    if run is None:
        return _error(ErrorCode.NOT_FOUND, f"No call-control action {action}", 404)
    membership = tenant.membership
    try:
        agent_call = agent_call_get(
            account_id=tenant.account.id,
            call_sid=call_sid,
            member_id=membership.id,
            is_supervisor=membership.role in SUPERVISOR_ROLES,
        )
        detail = run(agent_call, tenant.actor, request.POST) or {}
    except TwilioError as error:
        return _error(error.twilio_code, error.message, error.status_code)
    return JsonResponse({"status": "sent", "action": action, "call_sid": call_sid, **detail}, status=202)
