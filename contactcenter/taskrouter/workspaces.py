"""Writes to a workspace's configuration: the workspace (with the activities and task channels Twilio
makes with it), its activities, task channels, task queues and workflows. Each service owns its
transaction and audit entry. Workers, tasks and reservations are the engine's (`workers.py`,
`tasks.py`, `reservations.py`).

Validation happens before anything is written, so a bad expression or configuration saves nothing.
TaskRouter answers invalid input with HTTP 400 and code 20001, and refuses to delete what is still in
use with 400 and 20001 too (its messages say why); we do the same.
"""

import json
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from contactcenter.taskrouter import expressions, workflow_config
from contactcenter.taskrouter.audit import taskrouter_audit
from contactcenter.taskrouter.membership import task_queue_membership_refresh
from contactcenter.taskrouter.models import (
    DEFAULT_SERVICE_LEVEL_SECONDS,
    Activity,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    Workflow,
    Workspace,
)
from contactcenter.taskrouter.workers import task_channel_workers_attach
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.models import TenantModel, save_unique
from core.sids import make_sid, row_by_sid, sid_to_uuid
from tenants.models import Account

# What Twilio makes with every workspace: the activities (Offline is where new workers start and where
# a worker whose reservation timed out goes) and the task channels.
DEFAULT_ACTIVITIES = (("Offline", False), ("Available", True), ("Unavailable", False))
DEFAULT_TASK_CHANNELS = (
    ("default", "Default"),
    ("voice", "Voice"),
    ("sms", "SMS"),
    ("chat", "Chat"),
    ("video", "Video"),
)
FIFO_TEMPLATE = "FIFO"
WORKSPACE_SETTINGS = ("friendly_name", "event_callback_url", "events_filter", "multi_task_enabled")
TASK_QUEUE_SETTINGS = (
    "friendly_name",
    "target_workers",
    "max_reserved_workers",
    "task_order",
    "service_level_seconds",
)
WORKFLOW_SETTINGS = (
    "friendly_name",
    "configuration",
    "assignment_callback_url",
    "fallback_assignment_callback_url",
    "task_reservation_timeout",
)


def invalid(message: str) -> TwilioError:
    return TwilioError(ErrorCode.UNKNOWN_PARAMETERS, message, 400)


def _unique(row: TenantModel, what: str, **save: Any) -> None:
    """Save `row`; a name its workspace already has is Twilio's 20001 rather than an IntegrityError."""
    save_unique(row, invalid(f"{what} already exists in this Workspace"), **save)


def _change(
    row: TenantModel,
    *,
    actor: str,
    action: str,
    changes: dict[str, Any],
    fields: dict[str, Any] | None = None,
    unique: str = "",
) -> None:
    """Set `fields` (by default `changes`, as the client gave them) on `row` and save it, its name
    checked when `unique` says what it is; the audit entry records `changes`. In the caller's
    transaction."""
    for name, value in (changes if fields is None else fields).items():
        setattr(row, name, value)
    if unique:
        _unique(row, unique)
    else:
        row.save()
    taskrouter_audit(row, actor=actor, action=action, payload=changes)


def _remove(row: TenantModel, *, actor: str, action: str) -> None:
    taskrouter_audit(row, actor=actor, action=action)
    row.delete()


def _activity(workspace: Workspace, sid: str, parameter: str) -> Activity:
    found = row_by_sid(Activity.objects.filter(workspace=workspace), sid)
    if found is None:
        raise invalid(f"{parameter} {sid} is not an Activity of this Workspace")
    return found


def _activities(workspace: Workspace, changes: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """`changes` with each `<name>_activity_sid` given replaced by that activity (`<name>_activity`)."""
    resolved = dict(changes)
    for field in fields:
        sid = resolved.pop(f"{field}_sid", None)
        if sid is not None:
            resolved[field] = _activity(workspace, sid, "".join(p.title() for p in f"{field}_sid".split("_")))
    return resolved


# Workspaces


def workspace_create(
    *, account: Account, actor: str, friendly_name: str, template: str | None = None, **settings: Any
) -> Workspace:
    """A workspace with Twilio's default activities and task channels; with `template="FIFO"` also a
    queue every worker serves and a workflow routing every task to it, as Twilio's template makes."""
    with transaction.atomic():
        workspace = Workspace(account=account, friendly_name=friendly_name)
        settable = ("multi_task_enabled", "event_callback_url", "events_filter", "prioritize_queue_order")
        for name in (*settable, "agent_lost_action"):
            if name in settings:
                setattr(workspace, name, settings[name])
        workspace.save(force_insert=True)
        activities = {
            name: Activity.objects.create(
                account=account, workspace=workspace, friendly_name=name, available=available
            )
            for name, available in DEFAULT_ACTIVITIES
        }
        TaskChannel.objects.bulk_create(
            TaskChannel(account=account, workspace=workspace, unique_name=unique, friendly_name=friendly)
            for unique, friendly in DEFAULT_TASK_CHANNELS
        )
        workspace.default_activity = activities["Offline"]
        workspace.timeout_activity = activities["Offline"]
        workspace.save(update_fields=["default_activity", "timeout_activity"])
        taskrouter_audit(workspace, actor=actor, action="workspace.create", payload=settings)
        if template == FIFO_TEMPLATE:
            queue = task_queue_create(workspace=workspace, actor=actor, friendly_name="Sample Queue")
            workflow_create(
                workspace=workspace,
                actor=actor,
                friendly_name="Default Fifo Workflow",
                configuration=json.dumps({"task_routing": {"default_filter": {"queue": queue.sid}}}),
            )
        elif template:
            raise invalid(f"Template {template} is not a known template (FIFO)")
    return workspace


def workspace_update(*, workspace: Workspace, actor: str, **changes: Any) -> Workspace:
    """`changes` from WORKSPACE_SETTINGS, `prioritize_queue_order`, `agent_lost_action`,
    `default_activity_sid`, `timeout_activity_sid`."""
    with transaction.atomic():
        resolved = _activities(workspace, changes, ("default_activity", "timeout_activity"))
        _change(workspace, actor=actor, action="workspace.update", changes=changes, fields=resolved)
    return workspace


def workspace_delete(*, workspace: Workspace, actor: str) -> None:
    """Deletes everything in it; its tasks and workers first, since their activity and channel are
    kept from deletion while anything else refers to them."""
    with transaction.atomic():
        Task.objects.filter(workspace=workspace).delete()
        Worker.objects.filter(workspace=workspace).delete()
        _remove(workspace, actor=actor, action="workspace.delete")


# Activities


def activity_create(
    *, workspace: Workspace, actor: str, friendly_name: str, available: bool = False
) -> Activity:
    with transaction.atomic():
        activity = Activity(
            account=workspace.account, workspace=workspace, friendly_name=friendly_name, available=available
        )
        _unique(activity, f"Activity {friendly_name}", force_insert=True)
        taskrouter_audit(
            activity,
            actor=actor,
            action="activity.create",
            payload={"friendly_name": friendly_name, "available": available},
        )
    return activity


def activity_update(*, activity: Activity, actor: str, friendly_name: str) -> Activity:
    """Only the name changes: an activity's availability is fixed once workers may be in it."""
    with transaction.atomic():
        _change(
            activity,
            actor=actor,
            action="activity.update",
            changes={"friendly_name": friendly_name},
            unique=f"Activity {friendly_name}",
        )
    return activity


def activity_delete(*, activity: Activity, actor: str) -> None:
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(id=activity.workspace_id)
        if activity.id in (workspace.default_activity_id, workspace.timeout_activity_id):
            raise invalid(f"Activity {activity.sid} is the Workspace's default or timeout Activity")
        if Worker.objects.filter(activity=activity).exists():
            raise invalid(f"Activity {activity.sid} cannot be deleted while Workers are in it")
        _remove(activity, actor=actor, action="activity.delete")


# Task channels


def task_channel_create(
    *,
    workspace: Workspace,
    actor: str,
    unique_name: str,
    friendly_name: str,
    channel_optimized_routing: bool | None = None,
) -> TaskChannel:
    """Every worker gets the channel with a capacity of one, as with the default channels."""
    with transaction.atomic():
        channel = TaskChannel(
            account=workspace.account,
            workspace=workspace,
            unique_name=unique_name,
            friendly_name=friendly_name,
            channel_optimized_routing=channel_optimized_routing,
        )
        _unique(channel, f"TaskChannel {unique_name}", force_insert=True)
        task_channel_workers_attach(task_channel=channel)
        taskrouter_audit(
            channel,
            actor=actor,
            action="task_channel.create",
            payload={"unique_name": unique_name, "friendly_name": friendly_name},
        )
    return channel


def task_channel_update(*, channel: TaskChannel, actor: str, **changes: Any) -> TaskChannel:
    """`changes`: `friendly_name`, `channel_optimized_routing` (the unique name is what tasks name)."""
    with transaction.atomic():
        _change(channel, actor=actor, action="task_channel.update", changes=changes)
    return channel


def task_channel_delete(*, channel: TaskChannel, actor: str) -> None:
    with transaction.atomic():
        if Task.objects.filter(task_channel=channel).exists():
            raise invalid(f"TaskChannel {channel.unique_name} cannot be deleted while Tasks use it")
        _remove(channel, actor=actor, action="task_channel.delete")


# Task queues


def _check_expression(text: str, parameter: str) -> None:
    try:
        expressions.parse(text)
    except expressions.ExpressionError as exc:
        raise invalid(f"Invalid {parameter} expression '{text}': {exc}") from exc


def task_queue_create(
    *,
    workspace: Workspace,
    actor: str,
    friendly_name: str,
    target_workers: str = "1==1",
    max_reserved_workers: int = 1,
    task_order: str = TaskQueue.Order.FIFO,
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS,
    reservation_activity_sid: str | None = None,
    assignment_activity_sid: str | None = None,
) -> TaskQueue:
    _check_expression(target_workers, "TargetWorkers")
    with transaction.atomic():
        activities = _activities(
            workspace,
            {
                "reservation_activity_sid": reservation_activity_sid,
                "assignment_activity_sid": assignment_activity_sid,
            },
            ("reservation_activity", "assignment_activity"),
        )
        queue = TaskQueue(
            account=workspace.account,
            workspace=workspace,
            friendly_name=friendly_name,
            target_workers=target_workers,
            max_reserved_workers=max_reserved_workers,
            task_order=task_order,
            service_level_seconds=service_level_seconds,
            **activities,
        )
        _unique(queue, f"TaskQueue {friendly_name}", force_insert=True)
        task_queue_membership_refresh(task_queue=queue)
        taskrouter_audit(
            queue,
            actor=actor,
            action="task_queue.create",
            payload={"friendly_name": friendly_name, "target_workers": target_workers},
        )
    return queue


def task_queue_update(*, queue: TaskQueue, actor: str, **changes: Any) -> TaskQueue:
    """`changes` from TASK_QUEUE_SETTINGS, `reservation_activity_sid`, `assignment_activity_sid`;
    the queue's members are worked out again when `target_workers` changes."""
    if "target_workers" in changes:
        _check_expression(changes["target_workers"], "TargetWorkers")
    with transaction.atomic():
        resolved = _activities(queue.workspace, changes, ("reservation_activity", "assignment_activity"))
        name = resolved.get("friendly_name", queue.friendly_name)
        _change(
            queue,
            actor=actor,
            action="task_queue.update",
            changes=changes,
            fields=resolved,
            unique=f"TaskQueue {name}",
        )
        if "target_workers" in changes:
            task_queue_membership_refresh(task_queue=queue)
    return queue


def task_queue_delete(*, queue: TaskQueue, actor: str) -> None:
    """Refused while tasks wait or are handled in it, or while a workflow routes to it."""
    with transaction.atomic():
        if Task.objects.filter(task_queue=queue, status__in=Task.LIVE).exists():
            raise invalid(f"TaskQueue {queue.sid} cannot be deleted while it has Tasks")
        for workflow in Workflow.objects.filter(workspace_id=queue.workspace_id):
            if queue.sid in workflow_config.parse_workflow_config(workflow.configuration).queue_sids:
                raise invalid(
                    f"TaskQueue {queue.sid} cannot be deleted: Workflow {workflow.sid} routes to it"
                )
        _remove(queue, actor=actor, action="task_queue.delete")


# Workflows


def _check_configuration(workspace: Workspace, configuration: str) -> None:
    """Well-formed, every expression parses, and every queue it names is one of this workspace's."""
    try:
        config = workflow_config.parse_workflow_config(configuration)
    except workflow_config.WorkflowConfigError as exc:
        raise invalid(f"Invalid Configuration: {exc}") from exc
    named = config.queue_sids
    ids = {sid_to_uuid(sid, "WQ") for sid in named}
    known = {
        make_sid("WQ", pk)
        for pk in TaskQueue.objects.filter(workspace=workspace, id__in=[i for i in ids if i]).values_list(
            "id", flat=True
        )
    }
    missing = sorted(named - known)
    if missing:
        raise invalid(f"Invalid Configuration: TaskQueue {missing[0]} is not a TaskQueue of this Workspace")


def workflow_create(
    *,
    workspace: Workspace,
    actor: str,
    friendly_name: str,
    configuration: str,
    assignment_callback_url: str = "",
    fallback_assignment_callback_url: str = "",
    task_reservation_timeout: int | None = None,
) -> Workflow:
    _check_configuration(workspace, configuration)
    with transaction.atomic():
        workflow = Workflow(
            account=workspace.account,
            workspace=workspace,
            friendly_name=friendly_name,
            configuration=configuration,
            assignment_callback_url=assignment_callback_url,
            fallback_assignment_callback_url=fallback_assignment_callback_url,
        )
        if task_reservation_timeout is not None:
            workflow.task_reservation_timeout = task_reservation_timeout
        workflow.save(force_insert=True)
        taskrouter_audit(
            workflow,
            actor=actor,
            action="workflow.create",
            payload={"friendly_name": friendly_name, "configuration": configuration},
        )
    return workflow


def workflow_update(*, workflow: Workflow, actor: str, **changes: Any) -> Workflow:
    """`changes` from WORKFLOW_SETTINGS. Tasks already routed keep their queue; new tasks, and the
    pending tasks' next escalation, follow the new configuration."""
    if "configuration" in changes:
        _check_configuration(workflow.workspace, changes["configuration"])
    with transaction.atomic():
        _change(workflow, actor=actor, action="workflow.update", changes=changes)
    return workflow


def workflow_delete(*, workflow: Workflow, actor: str) -> None:
    """Refused while tasks it routes are still pending or reserved."""
    with transaction.atomic():
        if Task.objects.filter(workflow=workflow, status__in=Task.OPEN).exists():
            raise invalid(f"Workflow {workflow.sid} cannot be deleted while it has pending Tasks")
        _remove(workflow, actor=actor, action="workflow.delete")
