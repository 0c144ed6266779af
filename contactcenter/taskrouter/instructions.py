"""What an assignment instruction does beyond the reservation itself: the voice side of `call`,
`redirect` and `dequeue`. The reservation's own change (accepting it) is `reservations`' job; these
functions run inside that transaction, so a refusal here leaves the reservation pending.

Instructions come from an assignment callback's JSON answer or the REST API's `Instruction`
parameter, in Twilio's names (`from`, `to`, `url`, `post_work_activity_sid`, ...).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contactcenter.softphone import client_address_check
from contactcenter.taskrouter.models import Reservation, Task, Worker
from contactcenter.waiting_calls import waiting_call_dequeue, waiting_member, wants_callback
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import sid_to_uuid
from voice.call_state import call_update
from voice.models import Call
from voice.outbound import OutboundRequest, call_create

ACTOR = "taskrouter"


@dataclass(frozen=True)
class Instruction:
    """One instruction, its parameters as Twilio names them (REST: `DequeueFrom` → `from`, ...)."""

    name: str  # accept, reject, call, redirect, dequeue
    to: str = ""
    from_: str = ""
    url: str = ""
    method: str = "POST"
    call_sid: str = ""
    accept: bool = False
    timeout_seconds: int = 60
    status_callback_url: str = ""
    record: bool = False
    post_work_activity_sid: str = ""
    activity_sid: str = ""  # reject's: where the worker goes

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> "Instruction":
        """An assignment callback's answer, e.g. `{"instruction": "dequeue", "from": "+1…"}`."""
        timeout = body.get("timeout", 60)
        return cls(
            name=str(body.get("instruction", "")),
            to=str(body.get("to", "")),
            from_=str(body.get("from", "")),
            url=str(body.get("url", "")),
            method=str(body.get("method", "POST")),
            call_sid=str(body.get("call_sid", "")),
            accept=str(body.get("accept", "false")).lower() == "true",
            timeout_seconds=timeout if isinstance(timeout, int) and timeout > 0 else 60,
            status_callback_url=str(body.get("status_callback_url", "")),
            record=str(body.get("record", "")).lower() in ("true", "record-from-answer"),
            post_work_activity_sid=str(body.get("post_work_activity_sid", "")),
            activity_sid=str(body.get("activity_sid", "")),
        )


# The REST API's prefix for each instruction's parameters (`DequeueFrom`, `CallUrl`, `RedirectCallSid`).
REST_PREFIXES = {"dequeue": "Dequeue", "call": "Call", "redirect": "Redirect"}


def instruction_from_rest(name: str, params: Mapping[str, str]) -> Instruction:
    """The Reservation update's `Instruction` and its prefixed parameters, as an `Instruction`."""
    prefix = REST_PREFIXES.get(name, "")
    body: dict[str, Any] = {"instruction": name}
    for field in (
        "From",
        "To",
        "Url",
        "Method",
        "CallSid",
        "Accept",
        "StatusCallbackUrl",
        "Record",
        "PostWorkActivitySid",
    ):
        if f"{prefix}{field}" in params:
            body[re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()] = params[f"{prefix}{field}"]
    if f"{prefix}Timeout" in params and params[f"{prefix}Timeout"].isdigit():
        body["timeout"] = int(params[f"{prefix}Timeout"])
    if "WorkerActivitySid" in params:
        body["activity_sid"] = params["WorkerActivitySid"]
    return Instruction.from_json(body)


def _waiting_call_sid(task: Task, instruction: Instruction) -> str:
    return instruction.call_sid or str(task.attributes_json.get("call_sid", ""))


def _contact(worker: Worker | None, instruction: Instruction) -> str:
    return instruction.to or (str(worker.attributes_json.get("contact_uri", "")) if worker else "")


def call(*, reservation: Reservation, instruction: Instruction) -> Call:
    """`call`: place a new call to the worker (`to`, else its `contact_uri`) that runs `url`."""
    to = _contact(reservation.worker, instruction)
    if not to or not instruction.url or not instruction.from_:
        raise TwilioError(ErrorCode.TASKROUTER_CALL, "A call instruction needs to, from and url", 400)
    client_address_check(account_id=reservation.account_id, address=to, code=ErrorCode.TASKROUTER_CALL)
    request = OutboundRequest(
        to_number=to,
        from_number=instruction.from_,
        url=instruction.url,
        method=instruction.method,
        fallback_url="",
        fallback_method="POST",
        twiml="",
        status_callback=instruction.status_callback_url,
        status_callback_method="POST",
        status_callback_events=["completed"] if instruction.status_callback_url else [],
        timeout_seconds=instruction.timeout_seconds,
        is_recorded=instruction.record,
    )
    return call_create(account=reservation.workspace.account, actor=ACTOR, request=request)


def redirect(*, reservation: Reservation, instruction: Instruction) -> None:
    """`redirect`: move the task's live call (`call_sid`, else the task's) to new TwiML at `url`."""
    call_sid = _waiting_call_sid(reservation.task, instruction)
    call_id = sid_to_uuid(call_sid, "CA")
    live = Call.objects.filter(id=call_id).first() if call_id else None
    if live is None or not instruction.url:
        raise TwilioError(
            ErrorCode.TASKROUTER_REDIRECT, "A redirect instruction needs a live call_sid and url", 400
        )
    call_update(call=live, actor=ACTOR, url=instruction.url, method=instruction.method)


def dequeue(*, reservation: Reservation, instruction: Instruction) -> None:
    """`dequeue`: bridge the task's waiting call to the worker (`to`, else its `contact_uri`), from
    `from` (else the number the caller called). The caller's `<Enqueue>` dials the worker and accepts
    the reservation when the worker answers (contactcenter/voice_tasks.py). A caller who hung up
    after asking to be called back is not waiting: the reservation is accepted now, which calls
    them back (contactcenter/callbacks.py)."""
    task = reservation.task
    if wants_callback(task) and waiting_member(task) is None:
        return
    to = _contact(reservation.worker, instruction)
    if not to:
        raise TwilioError(ErrorCode.TASKROUTER_DEQUEUE, "The worker has no contact_uri to dequeue to", 400)
    client_address_check(account_id=reservation.account_id, address=to, code=ErrorCode.TASKROUTER_DEQUEUE)
    dialled = waiting_call_dequeue(
        reservation=reservation,
        to=to,
        from_=instruction.from_ or str(task.attributes_json.get("to", "")),
        timeout_seconds=instruction.timeout_seconds,
        post_work_activity_sid=instruction.post_work_activity_sid,
    )
    if not dialled:
        raise TwilioError(ErrorCode.TASKROUTER_DEQUEUE, "The task's caller is no longer waiting", 400)


def accepts_at_once(reservation: Reservation, instruction: Instruction) -> bool:
    """Whether an instruction accepts the reservation when given: `accept: true`, or a `dequeue` of a
    caller who is not waiting but asked to be called back (a waiting caller's is accepted when the
    worker answers)."""
    if instruction.name == "dequeue":
        return wants_callback(reservation.task) and waiting_member(reservation.task) is None
    return instruction.accept
