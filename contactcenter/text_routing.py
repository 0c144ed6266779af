"""Inbound texts entering TaskRouter: a text to a number with routing settings (`NumberRouting`) whose
conversation has no open task (pending, reserved, assigned or wrapping) creates one on the setting's
channel; later texts of that conversation join the open task rather than make another. Routing is
then recorded in the conversation's timeline as notes ("Routed to…", "Completed by…").
"""

import json

from contactcenter.taskrouter.models import NumberRouting, Reservation, Task
from contactcenter.taskrouter.task_lifecycle import task_create
from conversations.models import Conversation
from conversations.services import note_add
from core.sids import sid_to_uuid
from core.tenancy import tenant_scope
from messaging.models import Message

ACTOR = "taskrouter"
HELD = (Reservation.Status.ACCEPTED, Reservation.Status.WRAPPING, Reservation.Status.COMPLETED)


def conversation_open_task(*, conversation: Conversation) -> Task | None:
    """The task that owns the conversation now, if any."""
    return (
        Task.objects.filter(
            account_id=conversation.account_id,
            status__in=Task.LIVE,
            attributes_json__conversation_sid=conversation.sid,
        )
        .order_by("date_created")
        .first()
    )


def text_route(*, message: Message) -> Task | None:
    """Route an inbound text stored (and put in its conversation) already: the open task it joins, the
    task it creates, or None when its number has no routing settings. The conversation's row is
    locked while its open task is looked for, so two texts arriving at once make one task."""
    with tenant_scope(message.account_id):
        routing = (
            NumberRouting.objects.filter(phone_number__phone_number=message.to_number)
            .select_related("workflow__workspace", "task_channel")
            .first()
        )
        if routing is None:
            return None
        conversation = (
            Conversation.objects.select_for_update()
            .filter(tenant_number=message.to_number, contact__phone_number=message.from_number)
            .first()
        )
        if conversation is None:  # a sender without an E.164 number has no thread to own
            return None
        if (open_task := conversation_open_task(conversation=conversation)) is not None:
            return open_task
        attributes = {
            "channel": "sms",
            "from": message.from_number,
            "to": message.to_number,
            "body": message.body,
            "message_sid": message.sid,
            "conversation_sid": conversation.sid,
        }
        return task_create(
            workspace=routing.workflow.workspace,
            workflow_sid=routing.workflow.sid,
            attributes=json.dumps(attributes),
            priority=None,
            timeout=None,
            task_channel=routing.task_channel.unique_name,
        )


def routing_note(*, task: Task, text: str) -> None:
    """A note in the timeline of the task's conversation, in the caller's (tenant-scoped) transaction."""
    conversation_id = sid_to_uuid(str(task.attributes_json.get("conversation_sid", "")), "CV")
    conversation = (
        Conversation.objects.filter(id=conversation_id).select_related("account").first()
        if conversation_id
        else None
    )
    if conversation is not None:
        note_add(account=conversation.account, conversation=conversation, author=None, text=text, actor=ACTOR)


def worker_of(task: Task) -> str:
    """The name of the worker who holds (or held) the task."""
    reservation = task.reservations.filter(status__in=HELD).order_by("-date_updated").first()
    return reservation.worker_name if reservation else "nobody"
