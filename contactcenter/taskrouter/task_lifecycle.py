"""Tasks through the API: created (routed by their workflow into a queue), updated (attributes,
priority, canceled, wrapping, completed) and deleted. A new task at its queue's head is offered as it
is created; the rest of assignment is the routing process's."""

import json
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from contactcenter.taskrouter.assignment import assign_arrival
from contactcenter.taskrouter.audit import taskrouter_audit
from contactcenter.taskrouter.models import (
    DEFAULT_TASK_TIMEOUT_SECONDS,
    Task,
    TaskChannel,
    Workflow,
    Workspace,
)
from contactcenter.taskrouter.reservations import task_cancel, task_event, task_finish, task_locked
from contactcenter.taskrouter.routing import routing_wake
from contactcenter.taskrouter.targets import task_route
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import row_by_sid, sid_to_uuid

MAX_TASK_TIMEOUT_SECONDS = 2592000  # Twilio's ceiling: 30 days
REASON_TTL = "Task TTL Exceeded"


def _invalid(message: str) -> TwilioError:
    return TwilioError(ErrorCode.UNKNOWN_PARAMETERS, message, 400)


def attributes_parse(text: str) -> dict[str, Any]:
    """JSON attributes as a client sent them: an object, else 20001."""
    try:
        value = json.loads(text)
    except ValueError:
        raise _invalid("Attributes must be valid JSON") from None
    if not isinstance(value, dict):
        raise _invalid("Attributes must be a JSON object")
    return value


def _workflow(workspace: Workspace, workflow_sid: str | None) -> Workflow:
    workflows = Workflow.objects.filter(workspace=workspace)
    if workflow_sid:
        found = row_by_sid(workflows, workflow_sid)
        if found is None:
            raise _invalid(f"Workflow {workflow_sid} is not in this workspace")
        return found
    only = list(workflows[:2])
    if len(only) != 1:
        raise _invalid("WorkflowSid is required when the workspace has other than one workflow")
    return only[0]


def _task_channel(workspace: Workspace, task_channel: str | None) -> TaskChannel:
    channels = TaskChannel.objects.filter(workspace=workspace)
    name = task_channel or "default"
    channel_id = sid_to_uuid(name, "TC")
    found = (
        channels.filter(id=channel_id).first() if channel_id else channels.filter(unique_name=name).first()
    )
    if found is None:
        raise _invalid(f"TaskChannel {name} is not in this workspace")
    return found


def task_create(
    *,
    workspace: Workspace,
    workflow_sid: str | None,
    attributes: str,
    priority: int | None,
    timeout: int | None,
    task_channel: str | None,
    actor: str | None = None,
    age_anchor_at: datetime | None = None,
) -> Task:
    """A new task, placed on its workflow's matching target and offered at once when it heads its
    queue and a worker has room (else by the routing process once this commits). Audited when an
    `actor` asks (audit.py). With `age_anchor_at` it is as old as another task was (a caller
    re-queued at their place when their agent was lost)."""
    parsed = attributes_parse(attributes)
    if timeout is not None and not 1 <= timeout <= MAX_TASK_TIMEOUT_SECONDS:
        raise _invalid(f"Timeout must be between 1 and {MAX_TASK_TIMEOUT_SECONDS} seconds")
    with transaction.atomic():
        now = timezone.now()
        ttl = timeout or DEFAULT_TASK_TIMEOUT_SECONDS
        task = Task(
            account_id=workspace.account_id,
            workspace=workspace,
            workflow=_workflow(workspace, workflow_sid),
            task_channel=_task_channel(workspace, task_channel),
            attributes=attributes,
            attributes_json=parsed,
            priority=priority or 0,
            timeout=ttl,
            age_anchor_at=age_anchor_at or now,
            expires_at=now + timedelta(seconds=ttl),
        )
        # Not saved yet: routing it stores it once, with its queue (an insert, not an insert and an
        # update); its events keep their order, since they name the task by its sid alone.
        task_event(task, "task.created", f"Task {task.sid} created")
        if actor is not None:
            payload = {
                "workflow_sid": workflow_sid,
                "attributes": attributes,
                "priority": priority,
                "timeout": timeout,
                "task_channel": task_channel,
            }
            taskrouter_audit(task, actor=actor, action="task.create", payload=payload)
        task_route(task, now=now)
        assign_arrival(task, now=now)
        # Also when offered: the pass it wakes keeps the timers' schedule, this offer's timeout too.
        routing_wake(workspace_id=workspace.id)
    return task


def task_update(
    *,
    task: Task,
    attributes: str | None = None,
    priority: int | None = None,
    assignment_status: str | None = None,
    reason: str | None = None,
    actor: str | None = None,
) -> Task:
    """Twilio's Task update. New attributes on a pending task route it again from its workflow's
    first target; `assignment_status` moves it: canceled (pending or reserved), wrapping
    (assigned), completed (assigned or wrapping); anything else is 20001 and changes nothing.
    Audited when an `actor` asks."""
    parsed = attributes_parse(attributes) if attributes is not None else None
    with transaction.atomic():
        task = task_locked(task.id)
        if parsed is not None:
            task.attributes, task.attributes_json = attributes or "{}", parsed
            task.save(update_fields=["attributes", "attributes_json", "date_updated"])
        if priority is not None:
            task.priority = priority
            task.save(update_fields=["priority", "date_updated"])
        if parsed is not None or priority is not None:
            task_event(task, "task.updated", f"Task {task.sid} updated")
        if parsed is not None and task.status == Task.Status.PENDING:
            task_route(task, now=timezone.now())
        if assignment_status == Task.Status.CANCELED:
            if task.status not in Task.OPEN:
                raise _invalid(f"Task {task.sid} cannot be canceled because it is {task.status}")
            task_cancel(task, reason or "")
        elif assignment_status in (Task.Status.WRAPPING, Task.Status.COMPLETED):
            task_finish(task, assignment_status, reason or "")
        elif assignment_status is not None:
            raise _invalid(f"AssignmentStatus {assignment_status} cannot be set")
        if actor is not None:
            payload = {
                "attributes": attributes,
                "priority": priority,
                "assignment_status": assignment_status,
                "reason": reason,
            }
            taskrouter_audit(task, actor=actor, action="task.update", payload=payload)
        routing_wake(workspace_id=task.workspace_id)
    return task


def task_delete(*, task: Task, actor: str | None = None) -> None:
    """Delete a task, canceling it first when still routed so its workers are freed. Audited when an
    `actor` asks."""
    with transaction.atomic():
        task = task_locked(task.id)
        if task.status in Task.OPEN:
            task_cancel(task, "Task deleted")
        elif task.status in Task.LIVE:
            task_finish(task, Task.Status.COMPLETED, "Task deleted")
        task_event(task, "task.deleted", f"Task {task.sid} deleted")
        if actor is not None:
            taskrouter_audit(task, actor=actor, action="task.delete")
        task.delete()
