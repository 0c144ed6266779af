"""A workspace set up as Twilio's Console sets one up (activities Offline/Available/Unavailable,
channels default/voice/sms/chat/video), and the queues, workflows and workers tests route with."""

import json
from dataclasses import dataclass
from typing import Any

from contactcenter.taskrouter.engine import Pass, workspace_route
from contactcenter.taskrouter.membership import task_queue_membership_refresh
from contactcenter.taskrouter.models import (
    Activity,
    Reservation,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)
from contactcenter.taskrouter.workers import worker_create, worker_update
from core.tenancy import tenant_activate, tenant_scope
from tenants.models import Account, Membership, Role
from tenants.services import membership_add, user_create


@dataclass
class Setup:
    workspace: Workspace
    offline: Activity
    available: Activity
    unavailable: Activity

    def queue(self, name: str, target_workers: str = "1==1", **fields: Any) -> TaskQueue:
        queue = TaskQueue.objects.create(
            account_id=self.workspace.account_id, workspace=self.workspace, friendly_name=name,
            target_workers=target_workers, **fields,
        )  # fmt: skip
        task_queue_membership_refresh(task_queue=queue)
        return queue

    def workflow(self, routing: dict[str, Any], **fields: Any) -> Workflow:
        name = f"Workflow {Workflow.objects.count() + 1}"
        return Workflow.objects.create(
            account_id=self.workspace.account_id, workspace=self.workspace, friendly_name=name,
            configuration=json.dumps({"task_routing": routing}), **fields,
        )  # fmt: skip

    def worker(
        self, name: str, attributes: dict[str, Any] | None = None, *, available: bool = True
    ) -> Worker:
        activity = self.available if available else self.offline
        return worker_create(
            workspace=self.workspace, friendly_name=name, attributes=json.dumps(attributes or {}),
            activity_sid=activity.sid,
        )  # fmt: skip

    def sign_in(self, *workers: Worker) -> None:
        """Make offline workers available, as agents starting a shift: tasks created while nobody
        could take them wait for a routing pass (one made while a worker has room is offered as it
        is created, without one)."""
        for worker in workers:
            worker_update(worker=worker, activity_sid=self.available.sid)

    def capacity(self, worker: Worker, channel: str, capacity: int) -> None:
        WorkerChannel.objects.filter(worker=worker, task_channel__unique_name=channel).update(
            capacity=capacity
        )

    def route(self) -> Pass:
        return workspace_route(workspace_id=self.workspace.id, account_id=self.workspace.account_id)

    def offered(self) -> int:
        """The pending offers once the routing process has run its pass: a task is offered as it is
        created when a worker has room, else by that pass."""
        self.route()
        with tenant_scope(self.workspace.account_id):
            offers = Reservation.objects.filter(workspace=self.workspace, status=Reservation.Status.PENDING)
            return offers.count()


def make_workspace(account: Account, **fields: Any) -> Setup:
    """The caller's transaction is scoped to `account` from here on."""
    tenant_activate(account.id)
    workspace = Workspace.objects.create(account=account, friendly_name="Front desk", **fields)
    activities = {
        name: Activity.objects.create(
            account=account, workspace=workspace, friendly_name=name, available=available
        )
        for name, available in (("Offline", False), ("Available", True), ("Unavailable", False))
    }
    for name in ("default", "voice", "sms", "chat", "video"):
        TaskChannel.objects.create(account=account, workspace=workspace, unique_name=name, friendly_name=name)
    workspace.default_activity = activities["Offline"]
    workspace.timeout_activity = activities["Unavailable"]
    workspace.save()
    return Setup(workspace, activities["Offline"], activities["Available"], activities["Unavailable"])


def worker_member(worker: Worker, *, email: str, password: str, role: Role) -> Membership:
    """A new portal user, a member of the worker's account with `role`, who works as `worker` (the
    console signs in through `Worker.member`)."""
    member = membership_add(
        account=worker.workspace.account,
        user=user_create(email=email, password=password),
        role=role,
        actor="test",
    )
    Worker.objects.filter(id=worker.id).update(member=member)
    worker.member = member
    return member
