"""Callback that keeps the caller's place: a voice task whose caller chose a callback (its `callback`
attribute, `{"to": "+1…", "via": "voice" | "sms"}`, written by the app through the Tasks API while
the caller waits) survives the caller's hangup with its age and priority, so it is offered before
later callers. When a worker's reservation for it is accepted (accept or dequeue), the platform calls
the caller back from the number they called and bridges them to the worker's `contact_uri`, or texts
them. The callback call not answered puts the task back to pending once; the second time it is
canceled. When the callback call ends after an answer, the task wraps up.
"""

import json
import re
from typing import Any

from contactcenter.taskrouter.models import Reservation, Task
from contactcenter.taskrouter.reservations import reservation_end, task_event, task_locked, task_status_set
from contactcenter.taskrouter.routing import routing_wake
from contactcenter.taskrouter.task_lifecycle import task_update
from contactcenter.waiting_calls import CALLBACK, waiting_member, wants_callback
from core.error_codes import ErrorCode
from core.errors import TwilioError
from messaging.create import MessageDraft, message_create
from twiml import Dial, Number, Response, Sip, to_xml
from voice.models import Call
from voice.outbound import OutboundRequest, call_create

ACTOR = "taskrouter"
ATTEMPTS = 2  # a callback not answered is tried once more, then the task is canceled
RING_SECONDS = 30
E164_FORM = re.compile(r"\+[1-9][0-9]{1,14}")  # what a callback's `to` may be
TEXT = "Thanks for waiting: we are ready for you now. Reply to this message to talk to us."


def _callback_save(task: Task, **changes: Any) -> None:
    """Note the callback's progress in the task's attributes, where the app sees it."""
    task.attributes_json[CALLBACK] = {**task.attributes_json[CALLBACK], **changes}
    task.attributes = json.dumps(task.attributes_json)
    task.save(update_fields=["attributes", "attributes_json", "date_updated"])


def _worker_noun(contact: str) -> Number | Sip:
    return Sip(contact) if contact.lower().startswith(("sip:", "sips:")) else Number(contact)


def _callback_number(to: str) -> str:
    """The callback's `to`: a number in E.164's form (21211 otherwise). The Tasks API takes any JSON in
    a task's attributes, and the number goes into the trunk's dial string as is. Its form only, not
    libphonenumber's validity: the caller's own number is whatever their network presented."""
    if not E164_FORM.fullmatch(to):
        raise TwilioError(
            ErrorCode.INVALID_TO_NUMBER, f"The callback's to is not a phone number: {to!r}", 400
        )
    return to


def callback_place(*, reservation: Reservation) -> None:
    """In the transaction accepting `reservation` (its task locked): call the caller back, bridged to
    the worker, or text them. Does nothing for a caller still waiting in the queue."""
    task = reservation.task
    if not wants_callback(task) or waiting_member(task) is not None:
        return
    callback = task.attributes_json[CALLBACK]
    account = task.workspace.account
    to, from_ = _callback_number(str(callback.get("to", ""))), str(task.attributes_json.get("to", ""))
    if callback.get("via") == "sms":
        draft = MessageDraft(to=to, from_=from_, body=str(callback.get("body") or TEXT), actor=ACTOR)
        _callback_save(task, message_sid=message_create(account=account, draft=draft).sid)
        return
    contact = str(reservation.worker.attributes_json.get("contact_uri", "")) if reservation.worker else ""
    twiml = to_xml(Response.of(Dial((_worker_noun(contact),), timeout=RING_SECONDS)))
    request = OutboundRequest(
        to_number=to,
        from_number=from_,
        url="",
        method="POST",
        fallback_url="",
        fallback_method="POST",
        twiml=twiml,
        status_callback="",
        status_callback_method="POST",
        status_callback_events=[],
        timeout_seconds=RING_SECONDS,
        is_recorded=False,
    )
    call = call_create(account=account, actor=ACTOR, request=request)
    _callback_save(task, call_sid=call.sid, attempts=int(callback.get("attempts", 0)) + 1)


def callback_call_ended(*, call: Call) -> None:
    """In the transaction ending `call`: if it was a task's callback, the task wraps up (answered),
    goes back to pending (not answered, the first time) or is canceled. Only a call the API placed
    can be one: every other call's end (the many) costs no query here."""
    if call.direction != Call.Direction.OUTBOUND_API:
        return
    found = Task.objects.filter(
        account_id=call.account_id, status=Task.Status.ASSIGNED, attributes_json__callback__call_sid=call.sid
    ).first()
    if found is None:
        return
    task = task_locked(found.id)
    if call.answered_at is not None:
        task_update(task=task, assignment_status=Task.Status.WRAPPING)
        return
    held = task.reservations.select_for_update(of=("self",)).filter(status=Reservation.Status.ACCEPTED)
    for reservation in held.select_related("worker__activity", "task_queue"):
        reservation.task = task
        reservation_end(reservation, Reservation.Status.CANCELED)
    callback = task.attributes_json[CALLBACK]
    if int(callback.get("attempts", 1)) < ATTEMPTS:
        task_status_set(task, Task.Status.PENDING)
        routing_wake(workspace_id=task.workspace_id)
    else:
        reason = f"The callback to {callback.get('to')} was not answered ({call.status})"
        task_status_set(task, Task.Status.CANCELED, reason)
        task_event(task, "task.canceled", f"Task {task.sid} canceled: {reason}")
