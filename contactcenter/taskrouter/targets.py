"""Where a task waits: the workflow filter routing it and the target it is on now, entered when the
task is created or its attributes change, and left for the next target when that target's timeout
passes (counted on the task's age, as Twilio does), with Twilio's workflow and task-queue events.
The routing rules themselves are `workflow_config`'s; this applies them to the task's row."""

from datetime import datetime, timedelta
from functools import lru_cache

from django.db.models import Count, Q

from contactcenter.taskrouter import workflow_config
from contactcenter.taskrouter.events import event_record
from contactcenter.taskrouter.expressions import Expression
from contactcenter.taskrouter.models import Task, TaskQueue, TaskQueueWorker
from contactcenter.taskrouter.params import task_params
from contactcenter.taskrouter.reservations import task_cancel, task_event
from core.sids import sid_to_uuid

REASON_WORKFLOW_TIMEOUT = "Workflow Timeout"


@lru_cache(maxsize=512)
def _config(text: str) -> workflow_config.WorkflowConfig:
    return workflow_config.parse_workflow_config(text)


def task_config(task: Task) -> workflow_config.WorkflowConfig | None:
    return _config(task.workflow.configuration) if task.workflow is not None else None


def task_current_route(task: Task) -> workflow_config.Route | None:
    """The route the task is on now, from its stored filter index."""
    config = task_config(task)
    if config is None or not task.routing_filter:
        return None
    if task.filter_index is None:
        return workflow_config.Route(None, task.routing_filter, (config.default,)) if config.default else None
    if task.filter_index >= len(config.filters):
        return None
    chosen = config.filters[task.filter_index]
    return workflow_config.Route(task.filter_index, chosen.name, chosen.targets)


def task_target_expression(task: Task) -> Expression | None:
    """The worker-vs-task expression of the target the task is on, if it has one."""
    route = task_current_route(task)
    if route is None or task.target_index >= len(route.targets):
        return None
    return route.targets[task.target_index].expression


def _skip(expression: Expression, queue: TaskQueue) -> bool:
    counts = TaskQueueWorker.objects.filter(task_queue=queue).aggregate(
        available=Count("id", filter=Q(worker__available=True)),
        unavailable=Count("id", filter=Q(worker__available=False)),
    )
    return expression.evaluate({"workers": counts})


def _enter(task: Task, route: workflow_config.Route, index: int, *, now: datetime) -> bool | None:
    """Put the task on `route`'s target `index` or a later one whose `skip_if` does not hold: True
    when it entered one, None when every remaining target was skipped, False when none is left."""
    skipped = False
    while index < len(route.targets):
        target = route.targets[index]
        queue_id = sid_to_uuid(target.queue_sid, "WQ")
        queues = TaskQueue.objects.filter(workspace_id=task.workspace_id)
        queue = queues.filter(id=queue_id).first() if queue_id else None
        # The default filter is the end of the road: nothing after it to skip to.
        skip_if = target.skip_if if route.filter_index is not None else None
        if queue is None or (skip_if is not None and _skip(skip_if, queue)):
            skipped = True
            index += 1
            continue
        ends_after = route.ends_after(index)
        task.task_queue = queue
        task.filter_index = route.filter_index
        task.routing_filter = route.name
        task.target_index = index
        task.queue_entered_at = now
        task.escalates_at = (
            task.age_anchor_at + timedelta(seconds=ends_after) if ends_after is not None else None
        )
        if target.priority is not None:
            task.priority = target.priority
        task.save()
        matched = {"WorkflowFilterName": route.name, "WorkflowFilterTarget": str(index)}
        event_record(
            workspace=task.workspace, event_type="workflow.target-matched", resource=task,
            description=f"Task {task.sid} matched filter {route.name} target {index}",
            data=task_params(task) | matched,
        )  # fmt: skip
        task_event(task, "task-queue.entered", f"Task {task.sid} entered TaskQueue {queue.friendly_name}")
        return True
    return None if skipped else False


def task_route(task: Task, *, now: datetime) -> None:
    """Route a new task (or one whose attributes changed) from its workflow's first matching filter;
    a task no filter takes is canceled, as Twilio's falls out of its workflow."""
    config = task_config(task)
    route = workflow_config.route(config, task.attributes_json) if config is not None else None
    _follow(task, config, route, 0, now=now)


def _follow(
    task: Task,
    config: workflow_config.WorkflowConfig | None,
    route: workflow_config.Route | None,
    index: int,
    *,
    now: datetime,
) -> None:
    while route is not None and config is not None:
        entered = _enter(task, route, index, now=now)
        if entered or route.filter_index is None and entered is not None:
            return
        onward = workflow_config.route_onward(config, task.attributes_json, route, skipped=entered is None)
        route, index = (None if onward is route else onward), 0
    if task._state.adding:  # a new task no filter takes is stored, then canceled
        task.save()
    task_event(task, "workflow.timeout", f"Task {task.sid} left its workflow")
    task_cancel(task, REASON_WORKFLOW_TIMEOUT)


def task_escalate(task: Task, *, now: datetime) -> None:
    """The current target's timeout passed: on to the next target, or the next filter that matches."""
    left = task.task_queue
    if left is not None:
        task_event(task, "task-queue.timeout", f"Task {task.sid} timed out of TaskQueue {left.friendly_name}")
    route = task_current_route(task)
    if route is None:
        _follow(task, None, None, 0, now=now)
    elif task.target_index + 1 < len(route.targets):
        _follow(task, task_config(task), route, task.target_index + 1, now=now)
    else:
        config = task_config(task)
        onward = (
            workflow_config.route_onward(config, task.attributes_json, route, skipped=False)
            if config
            else None
        )
        if onward is route:  # the default filter: the end of the road, no more escalation
            task.escalates_at = None
            task.save(update_fields=["escalates_at", "date_updated"])
            return
        _follow(task, config, onward, 0, now=now)
