"""Where a task waits: its workflow's first matching filter and the target it is on now, entered
when the task is created or its attributes change, and left for the next target when the current
one's `timeout` passes (escalation), with Twilio's workflow and task-queue events."""

from datetime import datetime, timedelta
from functools import lru_cache

from contactcenter.taskrouter import workflow_config
from contactcenter.taskrouter.events import event_record
from contactcenter.taskrouter.models import Task, TaskQueue, TaskQueueWorker
from contactcenter.taskrouter.params import task_params
from contactcenter.taskrouter.reservations import task_event
from core.sids import sid_to_uuid


@lru_cache(maxsize=512)
def _config(text: str) -> workflow_config.WorkflowConfig:
    return workflow_config.parse(text)


def task_route_target(task: Task) -> workflow_config.Route | None:
    if task.workflow is None:
        return None
    return workflow_config.route(_config(task.workflow.configuration), task.attributes_json)


def _available_workers(queue: TaskQueue) -> int:
    return TaskQueueWorker.objects.filter(task_queue=queue, worker__available=True).count()


def task_enter(task: Task, route: workflow_config.Route, index: int, *, now: datetime) -> bool:
    """Put the task on `route`'s target `index` or, past those whose `skip_if` holds, a later one;
    False when no target is left. The caller saves nothing: this saves the task."""
    targets = route.targets
    while index < len(targets):
        target = targets[index]
        queue = TaskQueue.objects.filter(
            id=sid_to_uuid(target.queue_sid, "WQ"), workspace_id=task.workspace_id
        ).first()
        skip = (
            target.skip_if is not None
            and queue is not None
            and target.skip_if.evaluate({"workers": {"available": _available_workers(queue)}})
        )
        if queue is None or (skip and index + 1 < len(targets)):
            index += 1
            continue
        task.task_queue = queue
        task.routing_filter = route.filter_name
        task.target_index = index
        task.queue_entered_at = now
        task.escalates_at = now + timedelta(seconds=target.timeout) if target.timeout else None
        if target.priority is not None:
            task.priority = target.priority
        task.save()
        description = f"Task {task.sid} matched filter {route.filter_name} target {index}"
        matched = {"WorkflowFilterName": route.filter_name, "WorkflowFilterTarget": str(index)}
        event_record(
            workspace=task.workspace, event_type="workflow.target-matched", resource=task,
            description=description, data=task_params(task) | matched,
        )  # fmt: skip
        task_event(task, "task-queue.entered", f"Task {task.sid} entered TaskQueue {queue.friendly_name}")
        return True
    return False


def task_escalate(task: Task, *, now: datetime) -> None:
    """The current target's timeout passed: on to the filter's next target, or the workflow timed out."""
    left = task.task_queue
    if left is not None:
        task_event(task, "task-queue.timeout", f"Task {task.sid} timed out of TaskQueue {left.friendly_name}")
    route = task_route_target(task)
    if (
        route is not None
        and route.filter_name == task.routing_filter
        and task_enter(task, route, task.target_index + 1, now=now)
    ):
        return
    task.escalates_at = None
    task.save(update_fields=["escalates_at", "date_updated"])
    task_event(task, "workflow.timeout", f"Task {task.sid} timed out of its workflow's targets")
