"""The assignment callback: a new reservation POSTed with Twilio's parameters to the workflow's
`assignment_callback_url` (then its fallback when that is down, slow or answers 4xx/5xx), and the
JSON instruction in the answer applied to the reservation. When both fail, the reservation stays
pending until its timeout, and the failure is in the workspace's event log and the error log.

The HTTP requests run outside any transaction, so a slow application holds no locks.
"""

import json
import uuid

from contactcenter.taskrouter.events import event_record
from contactcenter.taskrouter.instructions import Instruction
from contactcenter.taskrouter.models import Reservation
from contactcenter.taskrouter.params import reservation_params
from contactcenter.taskrouter.reservations import reservation_update
from core import webhooks
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.tenancy import tenant_scope
from monitor.notifications import notification_record

# Twilio waits five seconds for an assignment callback's answer before trying the fallback.
TIMEOUT_SECONDS = 5.0


def _answer(url: str, params: dict[str, str], auth_token: str) -> webhooks.Answer | webhooks.NoAnswer:
    try:
        return webhooks.request(
            url=url, method="POST", params=params, auth_token=auth_token, timeout=TIMEOUT_SECONDS
        )
    except webhooks.NoAnswer as failed:
        return failed


def _instruction(content: bytes) -> Instruction | None:
    """The answer's instruction; an empty or non-JSON body means the app will answer through REST."""
    try:
        body = json.loads(content) if content.strip() else None
    except ValueError:
        return None
    return Instruction.from_json(body) if isinstance(body, dict) and "instruction" in body else None


def assignment_callback_run(*, account_id: uuid.UUID, reservation_id: uuid.UUID) -> None:
    """Deliver one reservation's assignment callback and apply its answer. Idempotent for a
    reservation no longer pending (nothing is sent)."""
    with tenant_scope(account_id):
        reservation = (
            Reservation.objects.select_related(
                "task__task_channel", "task__workflow", "task__task_queue", "worker__activity", "task_queue",
                "workspace__account",
            ).filter(id=reservation_id, status=Reservation.Status.PENDING).first()
        )  # fmt: skip
        if reservation is None or reservation.task.workflow is None:
            return
        workflow = reservation.task.workflow
        params = reservation_params(reservation) | {
            "AccountSid": reservation.workspace.account.sid,
            "WorkspaceSid": reservation.workspace.sid,
        }
        auth_token = reservation.workspace.account.auth_token
    urls = [
        url for url in (workflow.assignment_callback_url, workflow.fallback_assignment_callback_url) if url
    ]
    failures: list[tuple[str, webhooks.WebhookResponse]] = []
    for url in urls:
        answer = _answer(url, params, auth_token)
        if isinstance(answer, webhooks.Answer) and answer.response.is_success:
            _apply(account_id, reservation, url, _instruction(answer.content))
            return
        failures.append((url, answer.response))
    _record_failure(account_id, reservation, params, failures)


def _apply(
    account_id: uuid.UUID, reservation: Reservation, url: str, instruction: Instruction | None
) -> None:
    if instruction is None:
        return
    try:
        with tenant_scope(account_id):
            reservation_update(reservation=reservation, instruction=instruction)
    except TwilioError as refused:
        with tenant_scope(account_id):
            notification_record(
                account_id=account_id,
                error_code=refused.twilio_code,
                message=f"Assignment instruction from {url} for {reservation.sid} refused: {refused.message}",
                request_method="POST",
                request_url=url,
            )


def _record_failure(
    account_id: uuid.UUID,
    reservation: Reservation,
    params: dict[str, str],
    failures: list[tuple[str, webhooks.WebhookResponse]],
) -> None:
    with tenant_scope(account_id):
        for url, response in failures:
            notification_record(
                account_id=account_id,
                error_code=response.error_code or ErrorCode.HTTP_RETRIEVAL_FAILURE,
                message=f"Assignment callback to {url} for {reservation.sid} failed ({response.error})",
                request_method="POST",
                request_url=url,
                request_variables=json.dumps(params, sort_keys=True),
                response=response,
            )
        event_record(
            workspace=reservation.workspace,
            event_type="reservation.failed",
            resource=reservation,
            description=f"Assignment callback for reservation {reservation.sid} failed: "
            + "; ".join(f"{url}: {response.error}" for url, response in failures),
            data=reservation_params(reservation),
        )
