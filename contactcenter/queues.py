"""Every write to a tenant's queues through the API, each with its audit entry."""

from django.db import transaction

from compliance.services import audit_record
from contactcenter.models import DEFAULT_MAX_SIZE, Queue, QueueMember
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.models import save_unique
from tenants.models import Account


def _name_taken(queue: Queue) -> TwilioError:
    """A name the account already gave another queue is refused (`<Enqueue>` finds queues by it)."""
    return TwilioError(
        ErrorCode.INVALID_PARAMETER, f"A queue named {queue.friendly_name!r} already exists", 400
    )


def queue_create(*, account: Account, actor: str, friendly_name: str, max_size: int | None) -> Queue:
    with transaction.atomic():
        queue = Queue(account=account, friendly_name=friendly_name, max_size=max_size or DEFAULT_MAX_SIZE)
        save_unique(queue, _name_taken(queue), force_insert=True)
        audit_record(
            account_id=account.id,
            actor=actor,
            action="queue.create",
            object_sid=queue.sid,
            payload={"friendly_name": friendly_name, "max_size": queue.max_size},
        )
    return queue


def queue_update(*, queue: Queue, actor: str, friendly_name: str | None, max_size: int | None) -> Queue:
    """A smaller MaxSize turns no waiting caller away: it refuses the next ones (as Twilio does)."""
    changes = {
        field: value
        for field, value in (("friendly_name", friendly_name), ("max_size", max_size))
        if value is not None
    }
    if not changes:
        return queue
    with transaction.atomic():
        for field, value in changes.items():
            setattr(queue, field, value)
        save_unique(queue, _name_taken(queue), update_fields=[*changes, "date_updated"])
        audit_record(
            account_id=queue.account_id,
            actor=actor,
            action="queue.update",
            object_sid=queue.sid,
            payload=changes,
        )
    return queue


def queue_delete(*, queue: Queue, actor: str) -> None:
    """Refused while callers wait in it: they would be left holding in a queue no one can dequeue."""
    with transaction.atomic():
        locked = Queue.objects.select_for_update().get(id=queue.id)  # as `<Enqueue>` locks it to join
        if QueueMember.objects.filter(queue=locked).exclude(status=QueueMember.Status.LEFT).exists():
            raise TwilioError(
                ErrorCode.INVALID_PARAMETER, "Queue has members; dequeue them before deleting it", 400
            )
        audit_record(
            account_id=queue.account_id,
            actor=actor,
            action="queue.delete",
            object_sid=queue.sid,
            payload={"friendly_name": queue.friendly_name},
        )
        locked.delete()
