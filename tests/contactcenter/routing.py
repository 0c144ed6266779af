"""A TaskRouter workspace for tests of calls and texts entering routing: the default activities and
task channels, one queue for everyone, one workflow into it; and one routing pass, as the routing
process (`manage.py taskrouter`) runs it."""

import json
from dataclasses import dataclass

from django.db import transaction

from contactcenter.taskrouter.engine import Pass, workspace_route
from contactcenter.taskrouter.membership import task_queue_membership_refresh
from contactcenter.taskrouter.models import Activity, TaskChannel, TaskQueue, Worker, Workflow, Workspace
from contactcenter.taskrouter.workers import worker_create
from tenants.models import Account

CHANNELS = ("default", "voice", "sms", "chat", "video")


@dataclass
class Routing:
    workspace: Workspace
    offline: Activity
    available: Activity
    queue: TaskQueue
    workflow: Workflow

    def worker(self, name: str, **attributes: object) -> Worker:
        return worker_create(
            workspace=self.workspace,
            friendly_name=name,
            attributes=json.dumps(attributes),
            activity_sid=self.available.sid,
        )

    def route(self) -> Pass:
        """One routing pass over the workspace (its own transaction, committed)."""
        return workspace_route(workspace_id=self.workspace.id, account_id=self.workspace.account_id)


def routing_create(
    account: Account, *, assignment_callback_url: str = "", reservation_timeout: int = 120
) -> Routing:
    """Inside the caller's transaction, scoped to `account`."""
    with transaction.atomic():
        workspace = Workspace.objects.create(account=account, friendly_name="Front desk")
        offline, available = (
            Activity.objects.create(account=account, workspace=workspace, friendly_name=name, available=is_on)
            for name, is_on in (("Offline", False), ("Available", True))
        )
        Activity.objects.create(account=account, workspace=workspace, friendly_name="Unavailable")
        workspace.default_activity = offline
        workspace.save(update_fields=["default_activity"])
        TaskChannel.objects.bulk_create(
            TaskChannel(account=account, workspace=workspace, unique_name=name, friendly_name=name)
            for name in CHANNELS
        )
        queue = TaskQueue.objects.create(account=account, workspace=workspace, friendly_name="Everyone")
        task_queue_membership_refresh(task_queue=queue)
        configuration = {"task_routing": {"filters": [], "default_filter": {"queue": queue.sid}}}
        workflow = Workflow.objects.create(
            account=account,
            workspace=workspace,
            friendly_name="Reception",
            configuration=json.dumps(configuration),
            assignment_callback_url=assignment_callback_url,
            task_reservation_timeout=reservation_timeout,
        )
    return Routing(workspace, offline, available, queue, workflow)
