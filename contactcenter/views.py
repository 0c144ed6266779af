"""Portal pages for the contact center: the queues, each with its size, waits and waiting callers; a
number's routing settings."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from contactcenter.forms import NumberRoutingForm
from contactcenter.number_routing import number_routing_set
from contactcenter.queue_board import queues_fragment
from contactcenter.taskrouter.models import NumberRouting
from core.errors import TwilioError
from core.sids import sid_to_uuid
from numbering.models import IncomingPhoneNumber
from tenants.portal import portal_view
from tenants.roles import QUEUE_VIEWER_ROLES, ROLES_MANAGING_NUMBERS


@portal_view(roles=QUEUE_VIEWER_ROLES)
def queues_view(request: HttpRequest) -> HttpResponse:
    """The queues; the page's websocket (consumers.py) replaces them whenever a line changes, so a new
    caller appears by itself without the page polling (which would keep its session alive forever)."""
    account = request.tenant.account  # type: ignore[attr-defined]
    fragment = queues_fragment(account=account, request=request)
    return render(request, "contactcenter/queues.html", {"fragment": fragment})


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
