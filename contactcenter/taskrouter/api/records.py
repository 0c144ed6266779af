"""What TaskRouter's resources look like on the wire: each record's fields as Twilio's SDKs read them.

The declared fields describe a shape for the OpenAPI schema; `to_representation` builds it directly,
as the 2010 API's outputs do, since a list page of 50 goes through it. Views select the related rows
a record names (a worker's activity, a task's queue, workflow and channel) with the page's rows.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

from contactcenter.taskrouter.models import (
    Activity,
    Event,
    Reservation,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)
from core.dates import iso8601
from core.parsers import snake_case
from core.sids import make_sid
from core.v1 import ISO8601Field, absolute_url

WORKSPACES_PATH = "/taskrouter/v1/Workspaces"


def workspace_url(workspace_id: uuid.UUID, *parts: str) -> str:
    """The absolute URL of a workspace, or of `parts` (say "Workers", a worker's SID) inside it."""
    return absolute_url("/".join([WORKSPACES_PATH, make_sid("WS", workspace_id), *parts]))


def _sid(prefix: str, value: uuid.UUID | None) -> str | None:
    return make_sid(prefix, value) if value is not None else None


def _base(row: Any) -> dict[str, Any]:
    return {
        "account_sid": make_sid("AC", row.account_id),
        "sid": row.sid,
        "date_created": iso8601(row.date_created),
        "date_updated": iso8601(row.date_updated),
    }


def _owned(row: Any) -> dict[str, Any]:
    return {**_base(row), "workspace_sid": make_sid("WS", row.workspace_id)}


def _statistics_links(url: str) -> dict[str, str]:
    """The statistics subresources of the record at `url` (a task queue, a workflow)."""
    return {
        "statistics": f"{url}/Statistics",
        "real_time_statistics": f"{url}/RealTimeStatistics",
        "cumulative_statistics": f"{url}/CumulativeStatistics",
    }


def _linked_to_workspace(row: Any, collection: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A record in `collection` whose only link is its workspace (an activity, a task channel)."""
    return {
        **_owned(row),
        **fields,
        "url": workspace_url(row.workspace_id, collection, row.sid),
        "links": {"workspace": workspace_url(row.workspace_id)},
    }


class Common(serializers.Serializer):
    account_sid = serializers.CharField()
    sid = serializers.CharField()
    date_created = ISO8601Field()
    date_updated = ISO8601Field()
    url = serializers.CharField()


class Owned(Common):
    workspace_sid = serializers.CharField()


class Linked(serializers.Serializer):
    links = serializers.DictField(child=serializers.CharField())


WORKSPACE_LINKS = {
    "activities": "Activities",
    "task_channels": "TaskChannels",
    "task_queues": "TaskQueues",
    "tasks": "Tasks",
    "workers": "Workers",
    "workflows": "Workflows",
    "events": "Events",
    "statistics": "Statistics",
    "real_time_statistics": "RealTimeStatistics",
    "cumulative_statistics": "CumulativeStatistics",
}


class WorkspaceOutput(Common, Linked):
    friendly_name = serializers.CharField()
    event_callback_url = serializers.CharField(allow_null=True)
    events_filter = serializers.CharField(allow_null=True)
    multi_task_enabled = serializers.BooleanField()
    default_activity_sid = serializers.CharField(allow_null=True)
    default_activity_name = serializers.CharField(allow_null=True)
    timeout_activity_sid = serializers.CharField(allow_null=True)
    timeout_activity_name = serializers.CharField(allow_null=True)
    prioritize_queue_order = serializers.ChoiceField(choices=Workspace.QueueOrder.choices)
    agent_lost_action = serializers.ChoiceField(choices=Workspace.AgentLostAction.choices)

    def to_representation(self, row: Workspace) -> dict[str, Any]:
        default, timeout = row.default_activity, row.timeout_activity
        return {
            **_base(row),
            "friendly_name": row.friendly_name,
            "event_callback_url": row.event_callback_url or None,
            "events_filter": row.events_filter or None,
            "multi_task_enabled": row.multi_task_enabled,
            "default_activity_sid": default.sid if default else None,
            "default_activity_name": default.friendly_name if default else None,
            "timeout_activity_sid": timeout.sid if timeout else None,
            "timeout_activity_name": timeout.friendly_name if timeout else None,
            "prioritize_queue_order": row.prioritize_queue_order,
            "agent_lost_action": row.agent_lost_action,
            "url": workspace_url(row.id),
            "links": {name: workspace_url(row.id, part) for name, part in WORKSPACE_LINKS.items()},
        }


class ActivityOutput(Owned, Linked):
    friendly_name = serializers.CharField()
    available = serializers.BooleanField()

    def to_representation(self, row: Activity) -> dict[str, Any]:
        fields = {"friendly_name": row.friendly_name, "available": row.available}
        return _linked_to_workspace(row, "Activities", fields)


class TaskChannelOutput(Owned, Linked):
    unique_name = serializers.CharField()
    friendly_name = serializers.CharField()
    channel_optimized_routing = serializers.BooleanField(allow_null=True)

    def to_representation(self, row: TaskChannel) -> dict[str, Any]:
        fields = {
            "unique_name": row.unique_name,
            "friendly_name": row.friendly_name,
            "channel_optimized_routing": row.channel_optimized_routing,
        }
        return _linked_to_workspace(row, "TaskChannels", fields)


class TaskQueueOutput(Owned, Linked):
    friendly_name = serializers.CharField()
    target_workers = serializers.CharField()
    max_reserved_workers = serializers.IntegerField()
    task_order = serializers.ChoiceField(choices=TaskQueue.Order.choices)
    reservation_activity_sid = serializers.CharField(allow_null=True)
    reservation_activity_name = serializers.CharField(allow_null=True)
    assignment_activity_sid = serializers.CharField(allow_null=True)
    assignment_activity_name = serializers.CharField(allow_null=True)

    def to_representation(self, row: TaskQueue) -> dict[str, Any]:
        reservation, assignment = row.reservation_activity, row.assignment_activity
        url = workspace_url(row.workspace_id, "TaskQueues", row.sid)
        return {
            **_owned(row),
            "friendly_name": row.friendly_name,
            "target_workers": row.target_workers,
            "max_reserved_workers": row.max_reserved_workers,
            "task_order": row.task_order,
            "reservation_activity_sid": reservation.sid if reservation else None,
            "reservation_activity_name": reservation.friendly_name if reservation else None,
            "assignment_activity_sid": assignment.sid if assignment else None,
            "assignment_activity_name": assignment.friendly_name if assignment else None,
            "url": url,
            "links": {
                "workspace": workspace_url(row.workspace_id),
                **_statistics_links(url),
                "list_statistics": workspace_url(row.workspace_id, "TaskQueues", "Statistics"),
                "assignment_activity": workspace_url(row.workspace_id, "Activities", assignment.sid)
                if assignment
                else None,
                "reservation_activity": workspace_url(row.workspace_id, "Activities", reservation.sid)
                if reservation
                else None,
            },
        }


class WorkflowOutput(Owned, Linked):
    friendly_name = serializers.CharField()
    configuration = serializers.CharField()
    document_content_type = serializers.CharField()
    assignment_callback_url = serializers.CharField(allow_null=True)
    fallback_assignment_callback_url = serializers.CharField(allow_null=True)
    task_reservation_timeout = serializers.IntegerField()

    def to_representation(self, row: Workflow) -> dict[str, Any]:
        url = workspace_url(row.workspace_id, "Workflows", row.sid)
        return {
            **_owned(row),
            "friendly_name": row.friendly_name,
            "configuration": row.configuration,
            "document_content_type": "application/json",
            "assignment_callback_url": row.assignment_callback_url or None,
            "fallback_assignment_callback_url": row.fallback_assignment_callback_url or None,
            "task_reservation_timeout": row.task_reservation_timeout,
            "url": url,
            "links": {
                "workspace": workspace_url(row.workspace_id),
                **_statistics_links(url),
            },
        }


class WorkerOutput(Owned, Linked):
    friendly_name = serializers.CharField()
    attributes = serializers.CharField()
    activity_sid = serializers.CharField()
    activity_name = serializers.CharField()
    available = serializers.BooleanField()
    date_status_changed = ISO8601Field()

    def to_representation(self, row: Worker) -> dict[str, Any]:
        url = workspace_url(row.workspace_id, "Workers", row.sid)
        return {
            **_owned(row),
            "friendly_name": row.friendly_name,
            "attributes": row.attributes,
            "activity_sid": make_sid("WA", row.activity_id),
            "activity_name": row.activity.friendly_name,
            "available": row.available,
            "date_status_changed": iso8601(row.date_status_changed),
            "url": url,
            "links": {
                "workspace": workspace_url(row.workspace_id),
                "activity": workspace_url(row.workspace_id, "Activities", make_sid("WA", row.activity_id)),
                "channels": f"{url}/Channels",
                "reservations": f"{url}/Reservations",
                "statistics": f"{url}/Statistics",
                "worker_statistics": f"{url}/Statistics",
            },
        }


class WorkerChannelOutput(Owned):
    worker_sid = serializers.CharField()
    task_channel_sid = serializers.CharField()
    task_channel_unique_name = serializers.CharField()
    configured_capacity = serializers.IntegerField()
    assigned_tasks = serializers.IntegerField()
    available = serializers.BooleanField()
    available_capacity_percentage = serializers.IntegerField()

    def to_representation(self, row: WorkerChannel) -> dict[str, Any]:
        free = max(row.capacity - row.assigned_tasks, 0)
        return {
            **_owned(row),
            "worker_sid": make_sid("WK", row.worker_id),
            "task_channel_sid": make_sid("TC", row.task_channel_id),
            "task_channel_unique_name": row.task_channel.unique_name,
            "configured_capacity": row.capacity,
            "assigned_tasks": row.assigned_tasks,
            "available": row.available,
            "available_capacity_percentage": free * 100 // row.capacity if row.capacity else 0,
            "url": workspace_url(
                row.workspace_id, "Workers", make_sid("WK", row.worker_id), "Channels", row.sid
            ),
        }


class TaskOutput(Owned, Linked):
    attributes = serializers.CharField()
    assignment_status = serializers.ChoiceField(choices=Task.Status.choices)
    age = serializers.IntegerField(
        help_text="Seconds since the task was created (or its place was kept from)."
    )
    priority = serializers.IntegerField()
    reason = serializers.CharField(allow_null=True)
    timeout = serializers.IntegerField()
    task_queue_sid = serializers.CharField(allow_null=True)
    task_queue_friendly_name = serializers.CharField(allow_null=True)
    task_queue_entered_date = ISO8601Field()
    task_channel_sid = serializers.CharField()
    task_channel_unique_name = serializers.CharField()
    workflow_sid = serializers.CharField(allow_null=True)
    workflow_friendly_name = serializers.CharField(allow_null=True)
    virtual_start_time = ISO8601Field()
    addons = serializers.CharField()
    ignore_capacity = serializers.BooleanField()
    routing_target = serializers.CharField(allow_null=True)

    def to_representation(self, row: Task) -> dict[str, Any]:
        url = workspace_url(row.workspace_id, "Tasks", row.sid)
        queue, workflow = row.task_queue, row.workflow
        links = {"workspace": workspace_url(row.workspace_id), "reservations": f"{url}/Reservations"}
        if queue is not None:
            links["task_queue"] = workspace_url(row.workspace_id, "TaskQueues", queue.sid)
        if workflow is not None:
            links["workflow"] = workspace_url(row.workspace_id, "Workflows", workflow.sid)
        return {
            **_owned(row),
            "attributes": row.attributes,
            "assignment_status": row.status,
            "age": max(int((datetime.now(UTC) - row.age_anchor_at).total_seconds()), 0),
            "priority": row.priority,
            "reason": row.reason or None,
            "timeout": row.timeout,
            "task_queue_sid": queue.sid if queue else None,
            "task_queue_friendly_name": queue.friendly_name if queue else None,
            "task_queue_entered_date": iso8601(row.queue_entered_at),
            "task_channel_sid": make_sid("TC", row.task_channel_id),
            "task_channel_unique_name": row.task_channel.unique_name,
            "workflow_sid": workflow.sid if workflow else None,
            "workflow_friendly_name": workflow.friendly_name if workflow else None,
            "virtual_start_time": iso8601(row.age_anchor_at),
            "addons": "{}",
            "ignore_capacity": False,
            "routing_target": None,
            "url": url,
            "links": links,
        }


class ReservationOutput(Owned, Linked):
    reservation_status = serializers.ChoiceField(choices=Reservation.Status.choices)
    task_sid = serializers.CharField()
    worker_sid = serializers.CharField(allow_null=True)
    worker_name = serializers.CharField()

    def to_representation(self, row: Reservation) -> dict[str, Any]:
        task_sid = make_sid("WT", row.task_id)
        worker_sid = _sid("WK", row.worker_id)
        links = {
            "workspace": workspace_url(row.workspace_id),
            "task": workspace_url(row.workspace_id, "Tasks", task_sid),
        }
        if worker_sid is not None:
            links["worker"] = workspace_url(row.workspace_id, "Workers", worker_sid)
        return {
            **_owned(row),
            "reservation_status": row.status,
            "task_sid": task_sid,
            "worker_sid": worker_sid,
            "worker_name": row.worker_name,
            "url": workspace_url(row.workspace_id, "Tasks", task_sid, "Reservations", row.sid),
            "links": links,
        }


class EventOutput(serializers.Serializer):
    account_sid = serializers.CharField()
    workspace_sid = serializers.CharField()
    sid = serializers.CharField()
    event_type = serializers.CharField()
    event_date = ISO8601Field()
    event_date_ms = serializers.IntegerField()
    description = serializers.CharField()
    resource_type = serializers.CharField()
    resource_sid = serializers.CharField()
    resource_url = serializers.CharField()
    actor_type = serializers.CharField()
    actor_sid = serializers.CharField()
    actor_url = serializers.CharField()
    event_data = serializers.DictField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field, not DRF's `source`
    source_ip_address = serializers.CharField(allow_null=True)
    url = serializers.CharField()

    def to_representation(self, row: Event) -> dict[str, Any]:
        collection = RESOURCE_COLLECTIONS.get(row.resource_type)
        resource_url = (
            workspace_url(row.workspace_id, collection, row.resource_sid)
            if collection
            else workspace_url(row.workspace_id)
        )
        return {
            "account_sid": make_sid("AC", row.account_id),
            "workspace_sid": make_sid("WS", row.workspace_id),
            "sid": row.sid,
            "event_type": row.event_type,
            "event_date": iso8601(row.date_created),
            "event_date_ms": int(row.date_created.timestamp() * 1000),
            "description": row.description,
            "resource_type": row.resource_type,
            "resource_sid": row.resource_sid,
            "resource_url": resource_url,
            "actor_type": "workspace",
            "actor_sid": make_sid("WS", row.workspace_id),
            "actor_url": workspace_url(row.workspace_id),
            "event_data": {snake_case(name): value for name, value in row.data.items()},
            "source": "Switchboard",
            "source_ip_address": None,
            "url": workspace_url(row.workspace_id, "Events", row.sid),
        }


RESOURCE_COLLECTIONS = {
    "task": "Tasks",
    "worker": "Workers",
    "taskqueue": "TaskQueues",
    "workflow": "Workflows",
}
