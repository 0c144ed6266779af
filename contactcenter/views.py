"""Portal pages for the contact center: the queues, each with its size, waits and waiting callers; a
number's routing settings."""

from collections import defaultdict
from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from contactcenter.forms import NumberRoutingForm
from contactcenter.models import Queue, QueueMember
from contactcenter.number_routing import number_routing_set
from contactcenter.selectors import (
    average_wait_seconds,
    longest_wait_seconds,
    queues_with_stats,
    wait_seconds,
)
from contactcenter.taskrouter.models import NumberRouting
from core.errors import TwilioError
from core.sids import sid_to_uuid
from numbering.models import IncomingPhoneNumber
from tenants.portal import portal_view, render_page
from tenants.roles import QUEUE_VIEWER_ROLES, ROLES_MANAGING_NUMBERS

CALLERS_SHOWN = 50  # per queue: the front of the line is what a supervisor acts on


@dataclass(frozen=True)
class Caller:
    position: int
    call_sid: str
    from_number: str
    wait_seconds: int


@dataclass(frozen=True)
class QueueRow:
    queue: Queue
    current_size: int
    longest_wait_seconds: int
    average_wait_seconds: int
    callers: list[Caller]


@portal_view(roles=QUEUE_VIEWER_ROLES)
def queues_view(request: HttpRequest) -> HttpResponse:
    """The page refreshes its table every few seconds (htmx), so a new caller appears by itself."""
    account = request.tenant.account  # type: ignore[attr-defined]
    now = timezone.now()
    queues = list(queues_with_stats(Queue.objects.for_account(account)).order_by("friendly_name"))
    waiting = (
        QueueMember.objects.for_account(account)
        .filter(status=QueueMember.Status.WAITING)
        .select_related("call")
        .order_by("queue_id", "date_created", "id")
    )
    callers: defaultdict[object, list[Caller]] = defaultdict(list)
    for member in waiting:
        line = callers[member.queue_id]
        if len(line) < CALLERS_SHOWN:
            line.append(
                Caller(len(line) + 1, member.call.sid, member.call.from_number, wait_seconds(member, now))
            )
    rows = [
        QueueRow(
            queue=queue,
            current_size=queue.current_size,  # type: ignore[attr-defined]
            longest_wait_seconds=longest_wait_seconds(queue, now),
            average_wait_seconds=average_wait_seconds(queue, now),
            callers=callers[queue.id],
        )
        for queue in queues
    ]
    return render_page(
        request, "contactcenter/queues.html", "contactcenter/partials/queues.html", {"rows": rows}
    )


@portal_view(roles=ROLES_MANAGING_NUMBERS)
def number_routing_view(request: HttpRequest, sid: str) -> HttpResponse:
    """Who may change a number may choose the workflow its inbound texts enter (numbering's page links
    here: numbering cannot import the contact center)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    number_id = sid_to_uuid(sid, IncomingPhoneNumber.SID_PREFIX)
    numbers = IncomingPhoneNumber.objects.for_account(tenant.account)
    number = numbers.filter(id=number_id).first() if number_id else None
    if number is None:
        raise Http404("No such number")
    current = (
        NumberRouting.objects.for_account(tenant.account)
        .filter(phone_number=number)
        .select_related("workflow", "task_channel")
        .first()
    )
    form = NumberRoutingForm(request.POST or None, account=tenant.account, current=current)
    saved = False
    if request.method == "POST" and form.is_valid():
        try:
            number_routing_set(
                account=tenant.account,
                actor=tenant.actor,
                number=number,
                workflow=form.cleaned_data["workflow"],
                task_channel=form.cleaned_data["task_channel"],
            )
            saved = True
        except TwilioError as error:
            form.add_error(None, error.message)
    context = {"number": number, "form": form, "saved": saved}
    return render(request, "contactcenter/number_routing.html", context)
