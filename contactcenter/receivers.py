"""What the contact center does when the apps below it announce something: an inbound text enters
routing, or refreshes the consoles holding its open task (messaging's `message_received`); a task's
routing is noted in its conversation's timeline, an accepted callback task calls its caller back,
and a worker's consoles hear of its reservations and activity (the engine's `event_recorded`); a
callback call's end moves its task on, and a call that ended still queued leaves its queue (voice's
`call_ended`). Connected in `ContactcenterConfig.ready`."""

from typing import Any

from django.dispatch import receiver

from contactcenter.callbacks import callback_call_ended, callback_place
from contactcenter.console_live import console_event_publish, console_task_touched
from contactcenter.members import queue_call_ended
from contactcenter.taskrouter.models import Event, Reservation, Task
from contactcenter.taskrouter.signals import event_recorded
from contactcenter.text_routing import routing_note, text_route, worker_of
from contactcenter.voice_tasks import voice_task_call_ended
from messaging.models import Message
from messaging.signals import message_received
from voice.models import Call
from voice.signals import call_ended


@receiver(message_received)
def _message_received(*, message: Message, **_: Any) -> None:
    task = text_route(message=message)
    if task is not None:
        console_task_touched(account_id=message.account_id, task=task)


@receiver(event_recorded)
def _event_recorded(*, event: Event, resource: Any, **_: Any) -> None:
    console_event_publish(event=event, resource=resource)
    if event.event_type == "reservation.accepted" and isinstance(resource, Reservation):
        routing_note(task=resource.task, text=f"Routed to {resource.worker_name}")
        callback_place(reservation=resource)
    elif event.event_type == "task.completed" and isinstance(resource, Task):
        routing_note(task=resource, text=f"Completed by {worker_of(resource)}")


@receiver(call_ended)
def _call_ended(*, call: Call, **_: Any) -> None:
    callback_call_ended(call=call)
    if queue_call_ended(call=call):
        voice_task_call_ended(call=call)
