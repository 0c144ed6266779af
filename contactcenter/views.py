"""Portal pages for the contact center: the queues, each with its size, waits and waiting callers."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from contactcenter.queue_board import queues_fragment
from tenants.portal import portal_view
from tenants.roles import QUEUE_VIEWER_ROLES


@portal_view(roles=QUEUE_VIEWER_ROLES)
def queues_view(request: HttpRequest) -> HttpResponse:
    """The queues; the page's websocket (consumers.py) replaces them whenever a line changes, so a new
    caller appears by itself without the page polling (which would keep its session alive forever)."""
    account = request.tenant.account  # type: ignore[attr-defined]
    fragment = queues_fragment(account=account, request=request)
    return render(request, "contactcenter/queues.html", {"fragment": fragment})
