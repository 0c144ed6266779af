"""What TaskRouter's create and update requests carry, as the SDK sends it (form-encoded, PascalCase
names that the parser turns into these snake_case fields). Unknown parameters are ignored, as Twilio
ignores them; what the services check against the workspace (expressions, SIDs) is theirs to refuse."""

from typing import Any

from rest_framework import serializers

from contactcenter.taskrouter.models import Reservation, Task, TaskQueue, Workspace
from core.api import TwilioBoolean
from core.fields import CallbackUrlField, JsonTextField


def name(*, required: bool = True) -> serializers.CharField:
    """A FriendlyName or UniqueName: Twilio's 64 characters."""
    return serializers.CharField(required=required, max_length=64)


class JsonObjectText(JsonTextField):
    """A JSON object as text, kept as sent (Twilio echoes the string)."""

    def to_internal_value(self, data: Any) -> str:
        return self.parse(data)[0]


class WorkspaceUpdateInput(serializers.Serializer):
    friendly_name = name(required=False)
    event_callback_url = CallbackUrlField()
    events_filter = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    multi_task_enabled = TwilioBoolean(required=False)
    prioritize_queue_order = serializers.ChoiceField(choices=Workspace.QueueOrder.choices, required=False)
    agent_lost_action = serializers.ChoiceField(choices=Workspace.AgentLostAction.choices, required=False)
    default_activity_sid = serializers.CharField(required=False, max_length=34)
    timeout_activity_sid = serializers.CharField(required=False, max_length=34)


class WorkspaceCreateInput(serializers.Serializer):
    friendly_name = name()
    event_callback_url = CallbackUrlField()
    events_filter = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    multi_task_enabled = TwilioBoolean(required=False)
    prioritize_queue_order = serializers.ChoiceField(choices=Workspace.QueueOrder.choices, required=False)
    agent_lost_action = serializers.ChoiceField(choices=Workspace.AgentLostAction.choices, required=False)
    template = serializers.CharField(required=False, max_length=16)


class ActivityCreateInput(serializers.Serializer):
    friendly_name = name()
    available = TwilioBoolean(required=False, default=False)


class ActivityUpdateInput(serializers.Serializer):
    friendly_name = name()


class TaskChannelCreateInput(serializers.Serializer):
    friendly_name = name()
    unique_name = name()
    channel_optimized_routing = TwilioBoolean(required=False)


class TaskChannelUpdateInput(serializers.Serializer):
    friendly_name = name(required=False)
    channel_optimized_routing = TwilioBoolean(required=False)


class TaskQueueUpdateInput(serializers.Serializer):
    friendly_name = name(required=False)
    target_workers = serializers.CharField(required=False, max_length=4096)
    max_reserved_workers = serializers.IntegerField(required=False, min_value=1, max_value=50)
    task_order = serializers.ChoiceField(choices=TaskQueue.Order.choices, required=False)
    reservation_activity_sid = serializers.CharField(required=False, max_length=34)
    assignment_activity_sid = serializers.CharField(required=False, max_length=34)


class TaskQueueCreateInput(TaskQueueUpdateInput):
    friendly_name = name()


class WorkflowUpdateInput(serializers.Serializer):
    friendly_name = name(required=False)
    configuration = serializers.CharField(required=False, max_length=65536)
    assignment_callback_url = CallbackUrlField()
    fallback_assignment_callback_url = CallbackUrlField()
    task_reservation_timeout = serializers.IntegerField(required=False, min_value=1, max_value=86400)
    re_evaluate_tasks = TwilioBoolean(required=False)


class WorkflowCreateInput(WorkflowUpdateInput):
    friendly_name = name()
    configuration = serializers.CharField(max_length=65536)


class WorkerCreateInput(serializers.Serializer):
    friendly_name = name()
    attributes = JsonObjectText(required=False, default="{}", max_length=4096)
    activity_sid = serializers.CharField(required=False, max_length=34)


class WorkerUpdateInput(serializers.Serializer):
    friendly_name = name(required=False)
    attributes = JsonObjectText(required=False, max_length=4096)
    activity_sid = serializers.CharField(required=False, max_length=34)
    reject_pending_reservations = TwilioBoolean(required=False, default=False)


class WorkerChannelUpdateInput(serializers.Serializer):
    capacity = serializers.IntegerField(required=False, min_value=0, max_value=50)
    available = TwilioBoolean(required=False)


class TaskCreateInput(serializers.Serializer):
    workflow_sid = serializers.CharField(required=False, max_length=34)
    attributes = JsonObjectText(required=False, default="{}", max_length=65536)
    priority = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    timeout = serializers.IntegerField(required=False, min_value=1, max_value=1_209_600)
    task_channel = serializers.CharField(required=False, max_length=64)


class TaskUpdateInput(serializers.Serializer):
    attributes = JsonObjectText(required=False, max_length=65536)
    priority = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    assignment_status = serializers.ChoiceField(
        choices=[Task.Status.CANCELED, Task.Status.WRAPPING, Task.Status.COMPLETED], required=False
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1024)


class ReservationUpdateInput(serializers.Serializer):
    """ReservationStatus, or an Instruction given through the REST API as Twilio's SDK sends it."""

    reservation_status = serializers.ChoiceField(choices=Reservation.Status.choices, required=False)
    worker_activity_sid = serializers.CharField(required=False, max_length=34)
    instruction = serializers.ChoiceField(
        choices=["accept", "reject", "dequeue", "call", "redirect", "conference"], required=False
    )
    dequeue_from = serializers.CharField(required=False, max_length=128)
    dequeue_to = serializers.CharField(required=False, max_length=256)
    dequeue_post_work_activity_sid = serializers.CharField(required=False, max_length=34)
    dequeue_timeout = serializers.IntegerField(required=False, min_value=1, max_value=600)
    dequeue_status_callback_url = CallbackUrlField()
    call_from = serializers.CharField(required=False, max_length=128)
    call_to = serializers.CharField(required=False, max_length=256)
    call_url = CallbackUrlField()
    call_accept = TwilioBoolean(required=False)
    call_timeout = serializers.IntegerField(required=False, min_value=1, max_value=600)
    call_status_callback_url = CallbackUrlField()
    redirect_call_sid = serializers.CharField(required=False, max_length=34)
    redirect_url = CallbackUrlField()
    redirect_accept = TwilioBoolean(required=False)
    post_work_activity_sid = serializers.CharField(required=False, max_length=34)
