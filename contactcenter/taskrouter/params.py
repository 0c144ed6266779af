"""Twilio's parameters describing a task, worker or reservation, as event and assignment callbacks
carry them (and as the event log keeps them in `Event.data`)."""

from django.utils import timezone

from contactcenter.taskrouter.models import Reservation, Task, TaskQueue, Worker


def task_age_seconds(task: Task) -> int:
    return max(0, int((timezone.now() - task.age_anchor_at).total_seconds()))


def task_params(task: Task) -> dict[str, str]:
    params = {
        "TaskSid": task.sid,
        "TaskAttributes": task.attributes,
        "TaskAge": str(task_age_seconds(task)),
        "TaskPriority": str(task.priority),
        "TaskAssignmentStatus": task.status,
        "TaskChannelSid": task.task_channel.sid,
        "TaskChannelUniqueName": task.task_channel.unique_name,
        "TaskTimeout": str(task.timeout),
    }
    if task.workflow is not None:
        params |= {"WorkflowSid": task.workflow.sid, "WorkflowName": task.workflow.friendly_name}
    if task.task_queue is not None:
        params |= task_queue_params(task.task_queue)
    if task.reason:
        params["TaskCanceledReason" if task.status == Task.Status.CANCELED else "TaskCompletedReason"] = (
            task.reason
        )
    return params


def task_queue_params(task_queue: TaskQueue) -> dict[str, str]:
    return {
        "TaskQueueSid": task_queue.sid,
        "TaskQueueName": task_queue.friendly_name,
        "TaskQueueTargetExpression": task_queue.target_workers,
    }


def worker_params(worker: Worker) -> dict[str, str]:
    return {
        "WorkerSid": worker.sid,
        "WorkerName": worker.friendly_name,
        "WorkerAttributes": worker.attributes,
        "WorkerActivitySid": worker.activity.sid,
        "WorkerActivityName": worker.activity.friendly_name,
        "WorkerAvailable": "true" if worker.available else "false",
    }


def reservation_params(reservation: Reservation) -> dict[str, str]:
    params = {"ReservationSid": reservation.sid, "ReservationStatus": reservation.status}
    params |= task_params(reservation.task)
    if reservation.task_queue is not None:
        params |= task_queue_params(reservation.task_queue)
    if reservation.worker is not None:
        params |= worker_params(reservation.worker)
    return params
