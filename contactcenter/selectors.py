"""Reads of queues: sizes and waits derived from their waiting members when asked, members in order."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Extract
from django.utils import timezone

from contactcenter.models import Queue, QueueMember
from core.tenancy import tenant_scope

WAITING = QueueMember.Status.WAITING


def queues_with_stats(queues: QuerySet[Queue]) -> QuerySet[Queue]:
    """`queues` with `current_size`, `oldest_enqueued_at` and `mean_enqueued_epoch` of their waiting
    members (`wait_seconds` turns the last two into waits)."""
    waiting = Q(members__status=WAITING)
    return queues.annotate(
        current_size=Count("members", filter=waiting),
        oldest_enqueued_at=Min("members__date_created", filter=waiting),
        mean_enqueued_epoch=Avg(Extract("members__date_created", "epoch"), filter=waiting),
    )


def average_wait_seconds(queue: Queue, now: datetime | None = None) -> int:
    """Twilio's `average_wait_time`: of the members waiting now, at the time of the request."""
    mean = getattr(queue, "mean_enqueued_epoch", None)
    return max(0, round((now or timezone.now()).timestamp() - float(mean))) if mean is not None else 0


def waiting_members(queue: Queue) -> QuerySet[QueueMember]:
    """The queue's waiting members, each with its `position` (1 at the front), whatever page it is on."""
    ahead = (
        QueueMember.objects.filter(queue=OuterRef("queue"), status=WAITING)
        .filter(
            Q(date_created__lt=OuterRef("date_created"))
            | Q(date_created=OuterRef("date_created"), id__lte=OuterRef("id"))
        )
        .order_by()
        .values("queue")
        .annotate(count=Count("id"))
        .values("count")
    )
    return (
        QueueMember.objects.filter(queue=queue, status=WAITING)
        .annotate(position=Subquery(ahead))
        .select_related("call")
    )


def wait_seconds(member: QueueMember, now: datetime | None = None) -> int:
    end = member.bridged_at or member.left_at or now or timezone.now()
    return max(0, round((end - member.date_created).total_seconds()))


@dataclass(frozen=True)
class Standing:
    """Where a waiting caller stands: the parameters Twilio sends its waitUrl."""

    queue_sid: str
    position: int
    queue_time: int
    average_queue_time: int
    current_size: int
    max_size: int

    def params(self) -> dict[str, str]:
        return {
            "QueueSid": self.queue_sid,
            "QueuePosition": str(self.position),
            "QueueTime": str(self.queue_time),
            "AvgQueueTime": str(self.average_queue_time),
            "CurrentQueueSize": str(self.current_size),
            "MaxQueueSize": str(self.max_size),
        }


def queue_member_standing(*, account_id: uuid.UUID, member_id: uuid.UUID) -> Standing | None:
    """None once the member is no longer waiting (dequeued meanwhile)."""
    with tenant_scope(account_id):
        found = QueueMember.objects.filter(id=member_id, status=WAITING).select_related("queue").first()
        if found is None:
            return None
        queue = queues_with_stats(Queue.objects.filter(id=found.queue_id)).get()
        member = waiting_members(found.queue).get(id=member_id)
        now = timezone.now()
        return Standing(
            queue_sid=queue.sid,
            position=member.position,  # type: ignore[attr-defined]
            queue_time=wait_seconds(found, now),
            average_queue_time=average_wait_seconds(queue, now),
            current_size=queue.current_size,  # type: ignore[attr-defined]
            max_size=queue.max_size,
        )
