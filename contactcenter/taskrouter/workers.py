"""Workers and their channels: created with a channel per task channel, updated (activity,
attributes, which refresh their queue memberships), given capacity, and deleted (their pending
reservations canceled so the tasks are offered to someone else)."""

import uuid

from django.db import transaction

from contactcenter.softphone import softphone_revoke
from contactcenter.taskrouter.audit import taskrouter_audit
from contactcenter.taskrouter.events import event_record
from contactcenter.taskrouter.membership import worker_membership_refresh
from contactcenter.taskrouter.models import (
    Activity,
    Reservation,
    TaskChannel,
    Worker,
    WorkerChannel,
    Workspace,
)
from contactcenter.taskrouter.params import worker_params
from contactcenter.taskrouter.presence import worker_activity_move
from contactcenter.taskrouter.reservations import reservation_pending_end
from contactcenter.taskrouter.routing import routing_wake
from contactcenter.taskrouter.task_lifecycle import attributes_parse
from core.commit_hooks import on_commit_robust
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import row_by_sid
from tenants.models import Membership


def _invalid(message: str) -> TwilioError:
    return TwilioError(ErrorCode.UNKNOWN_PARAMETERS, message, 400)


def _activity(workspace_id: uuid.UUID, activity_sid: str) -> Activity:
    activity = row_by_sid(Activity.objects.filter(workspace_id=workspace_id), activity_sid)
    if activity is None:
        raise _invalid(f"Activity {activity_sid} is not in this workspace")
    return activity


def _worker_event(worker: Worker, event_type: str, description: str) -> None:
    event_record(
        workspace=worker.workspace, event_type=event_type, resource=worker, description=description,
        data=worker_params(worker),
    )  # fmt: skip


def worker_create(
    *,
    workspace: Workspace,
    friendly_name: str,
    attributes: str,
    activity_sid: str | None,
    actor: str | None = None,
) -> Worker:
    """A worker in `activity_sid` (else the workspace's default activity), with capacity 1 on every
    task channel, a member of each queue whose `target_workers` it matches. Audited when an `actor`
    asks (audit.py)."""
    parsed = attributes_parse(attributes)
    with transaction.atomic():
        if activity_sid:
            activity = _activity(workspace.id, activity_sid)
        elif workspace.default_activity_id is not None:
            activity = Activity.objects.get(id=workspace.default_activity_id)
        else:
            first = Activity.objects.filter(workspace=workspace).order_by("available", "date_created").first()
            if first is None:
                raise _invalid("The workspace has no activities")
            activity = first
        if Worker.objects.filter(workspace=workspace, friendly_name=friendly_name).exists():
            raise _invalid(f"A worker named {friendly_name} already exists in this workspace")
        worker = Worker.objects.create(
            account_id=workspace.account_id,
            workspace=workspace,
            friendly_name=friendly_name,
            attributes=attributes,
            attributes_json=parsed,
            activity=activity,
            available=activity.available,
        )
        WorkerChannel.objects.bulk_create(
            WorkerChannel(
                account_id=workspace.account_id, workspace=workspace, worker=worker, task_channel=channel
            )
            for channel in TaskChannel.objects.filter(workspace=workspace)
        )
        worker_membership_refresh(worker)
        _worker_event(worker, "worker.created", f"Worker {friendly_name} created")
        if actor is not None:
            payload = {"friendly_name": friendly_name, "attributes": attributes, "activity_sid": activity.sid}
            taskrouter_audit(worker, actor=actor, action="worker.create", payload=payload)
        if worker.available:
            routing_wake(workspace_id=workspace.id)
    return worker


def task_channel_workers_attach(*, task_channel: TaskChannel) -> None:
    """Give every worker of the workspace a channel (capacity 1) on a newly created task channel."""
    workers = Worker.objects.filter(workspace_id=task_channel.workspace_id).values_list("id", flat=True)
    WorkerChannel.objects.bulk_create(
        (
            WorkerChannel(
                account_id=task_channel.account_id,
                workspace_id=task_channel.workspace_id,
                worker_id=worker_id,
                task_channel=task_channel,
            )  # fmt: skip
            for worker_id in workers
        ),
        ignore_conflicts=True,
    )


def _pending_reservations_end(worker: Worker, status: str) -> None:
    """End the worker's pending reservations, each task locked before the worker (the lock order),
    and offer those tasks again."""
    pending = Reservation.objects.filter(worker=worker, status=Reservation.Status.PENDING)
    for reservation in pending.order_by("task_id"):
        reservation_pending_end(reservation, status)


def worker_update(
    *,
    worker: Worker,
    friendly_name: str | None = None,
    attributes: str | None = None,
    activity_sid: str | None = None,
    reject_pending_reservations: bool = False,
    actor: str | None = None,
) -> Worker:
    """Twilio's Worker update; a new activity with `reject_pending_reservations` rejects the
    worker's pending offers first (they go to other workers). Audited when an `actor` asks."""
    parsed = attributes_parse(attributes) if attributes is not None else None
    with transaction.atomic():
        activity = _activity(worker.workspace_id, activity_sid) if activity_sid else None
        if activity is not None and reject_pending_reservations and not activity.available:
            _pending_reservations_end(worker, Reservation.Status.REJECTED)
        worker = (
            Worker.objects.select_for_update(of=("self",))
            .select_related("workspace", "activity")
            .get(id=worker.id)
        )
        if friendly_name is not None and friendly_name != worker.friendly_name:
            if Worker.objects.filter(workspace_id=worker.workspace_id, friendly_name=friendly_name).exists():
                raise _invalid(f"A worker named {friendly_name} already exists in this workspace")
            worker.friendly_name = friendly_name
            worker.save(update_fields=["friendly_name", "date_updated"])
        if parsed is not None:
            worker.attributes, worker.attributes_json = attributes or "{}", parsed
            worker.save(update_fields=["attributes", "attributes_json", "date_updated"])
            worker_membership_refresh(worker)
            _worker_event(
                worker, "worker.attributes.update", f"Worker {worker.friendly_name} attributes updated"
            )
            routing_wake(workspace_id=worker.workspace_id)
        if activity is not None:
            worker_activity_move(worker, activity)
        if actor is not None:
            payload = {
                "friendly_name": friendly_name,
                "attributes": attributes,
                "activity_sid": activity_sid,
                "reject_pending_reservations": reject_pending_reservations or None,
            }
            taskrouter_audit(worker, actor=actor, action="worker.update", payload=payload)
    return worker


def worker_member_set(*, worker: Worker, member: Membership | None, actor: str) -> Worker:
    """Link a portal member to the worker, whose agent console they then sign in to (None unlinks);
    a member already working as another worker of the workspace is refused (20001). Audited."""
    if member is not None and member.account_id != worker.account_id:
        raise _invalid("That member is not in this account")
    with transaction.atomic():
        worker = Worker.objects.select_for_update(of=("self",)).get(id=worker.id)
        if (
            member is not None
            and Worker.objects.filter(workspace_id=worker.workspace_id, member=member)
            .exclude(id=worker.id)
            .exists()
        ):
            raise _invalid(f"{member.user.email} already works as another worker of this workspace")
        if worker.member_id != (member.id if member else None):
            previous_member_id = worker.member_id
            worker.member = member
            worker.save(update_fields=["member", "date_updated"])
            payload = {"member_sid": member.sid if member else ""}
            taskrouter_audit(worker, actor=actor, action="worker.member.set", payload=payload)
            if previous_member_id is not None:  # a worker nobody worked as has no softphone to take away
                on_commit_robust(softphone_revoke, worker.sid)  # the previous member's browser rings no more
    return worker


def worker_delete(*, worker: Worker, actor: str | None = None) -> None:
    """Delete a worker: its pending reservations are canceled and their tasks offered again.
    A worker with an accepted task is refused (20001) until that task is completed. Audited when an
    `actor` asks."""
    with transaction.atomic():
        busy = Reservation.objects.filter(
            worker=worker, status__in=[Reservation.Status.ACCEPTED, Reservation.Status.WRAPPING]
        )
        if busy.exists():
            raise _invalid(f"Worker {worker.sid} has assigned tasks; complete them before deleting it")
        _pending_reservations_end(worker, Reservation.Status.CANCELED)
        worker = (
            Worker.objects.select_for_update(of=("self",))
            .select_related("workspace", "activity")
            .get(id=worker.id)
        )
        _worker_event(worker, "worker.deleted", f"Worker {worker.friendly_name} deleted")
        if actor is not None:
            taskrouter_audit(worker, actor=actor, action="worker.delete")
        sid = worker.sid
        worker.delete()
        on_commit_robust(softphone_revoke, sid)  # its browser, if any, registers no more


def worker_channel_update(
    *,
    worker_channel: WorkerChannel,
    capacity: int | None = None,
    available: bool | None = None,
    actor: str | None = None,
) -> WorkerChannel:
    """A worker's capacity or availability on one channel; more room wakes routing. Audited when an
    `actor` asks."""
    if capacity is not None and not 0 <= capacity <= 50:
        raise _invalid("Capacity must be between 0 and 50")
    with transaction.atomic():
        worker = (
            Worker.objects.select_for_update(of=("self",))
            .select_related("workspace", "activity")
            .get(id=worker_channel.worker_id)
        )
        channel = WorkerChannel.objects.select_for_update().get(id=worker_channel.id)
        if capacity is not None and capacity != channel.capacity:
            channel.capacity = capacity
            _worker_event(worker, "worker.capacity.update", f"Worker {worker.friendly_name} capacity updated")
        if available is not None and available != channel.available:
            channel.available = available
            _worker_event(
                worker, "worker.channel.availability.update",
                f"Worker {worker.friendly_name} channel availability updated",
            )  # fmt: skip
        channel.save()
        if actor is not None:
            payload = {"capacity": capacity, "available": available}
            taskrouter_audit(channel, actor=actor, action="worker_channel.update", payload=payload)
        routing_wake(workspace_id=worker.workspace_id)
    return channel
