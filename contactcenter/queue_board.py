"""The Queues page's fragment: each queue with its size, waits and the callers in line, rendered for
the page and again for its websocket (consumers.py). Waits are given as instants (since when), never
as ages, so the fragment stays the same until someone joins or leaves a line; the browser ticks them.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from django.http import HttpRequest
from django.template.loader import render_to_string

from contactcenter.models import Queue, QueueMember
from contactcenter.selectors import queues_with_stats
from core.tenancy import tenant_scope
from tenants.models import Account

CALLERS_SHOWN = 50  # per queue: the front of the line is what a supervisor acts on
FRAGMENT = "contactcenter/partials/queues.html"


@dataclass(frozen=True)
class Caller:
    position: int
    call_sid: str
    from_number: str
    waiting_since: datetime


@dataclass(frozen=True)
class QueueRow:
    queue: Queue
    current_size: int
    longest_waiting_since: datetime | None
    # The mean of the waiting callers' join times: the average wait is the time since it.
    average_waiting_since: datetime | None
    callers: list[Caller]


def queue_rows(account: Account) -> list[QueueRow]:
    """The account's queues by name, each with the first CALLERS_SHOWN callers in line, in two queries."""
    queues = list(queues_with_stats(Queue.objects.for_account(account)).order_by("friendly_name"))
    waiting = (
        QueueMember.objects.for_account(account)
        .filter(status=QueueMember.Status.WAITING)
        .select_related("call")
        .order_by("queue_id", "date_created", "id")
    )
    callers: defaultdict[uuid.UUID, list[Caller]] = defaultdict(list)
    for member in waiting:
        line = callers[member.queue_id]
        if len(line) < CALLERS_SHOWN:
            line.append(Caller(len(line) + 1, member.call.sid, member.call.from_number, member.date_created))
    return [
        QueueRow(
            queue=queue,
            current_size=queue.current_size,  # type: ignore[attr-defined]
            longest_waiting_since=queue.oldest_enqueued_at,  # type: ignore[attr-defined]
            average_waiting_since=_instant(queue.mean_enqueued_epoch),  # type: ignore[attr-defined]
            callers=callers[queue.id],
        )
        for queue in queues
    ]


def _instant(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(float(epoch), UTC) if epoch is not None else None


def queues_fragment(*, account: Account, request: HttpRequest | None = None) -> str:
    return render_to_string(FRAGMENT, {"rows": queue_rows(account)}, request=request)


def queues_fragment_get(*, account_id: uuid.UUID) -> str | None:
    """The fragment read in the account's scope (for the websocket, which has no request)."""
    with tenant_scope(account_id):
        account = Account.objects.filter(id=account_id).first()
        return None if account is None else queues_fragment(account=account)
