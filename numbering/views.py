"""Portal page for a tenant's phone numbers: list, add, release."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from core.errors import TwilioError
from core.sids import sid_to_uuid
from numbering.forms import NumberForm
from numbering.links import NUMBER_LINKS
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create, number_delete
from tenants.portal import Confirmation, confirmed, portal_view, render_page
from tenants.roles import ROLES_MANAGING_NUMBERS

PAGE_SIZE = 50


@portal_view(roles=ROLES_MANAGING_NUMBERS)
def numbers_view(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    form = NumberForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = number_create(account=tenant.account, actor=tenant.actor, **form.cleaned_data)
            form = NumberForm()
        except TwilioError as error:
            form.add_error("phone_number", error.message)
    numbers = IncomingPhoneNumber.objects.for_account(tenant.account).order_by("-date_created")[:PAGE_SIZE]
    return render_page(
        request,
        "numbering/numbers.html",
        "numbering/partials/numbers.html",
        {"form": form, "numbers": numbers, "created": created, "links": NUMBER_LINKS},
    )


@portal_view(roles=ROLES_MANAGING_NUMBERS)
def number_release_view(request: HttpRequest, sid: str) -> HttpResponse:
    """Release a number, once the page saying what that stops has been confirmed."""
    tenant = request.tenant  # type: ignore[attr-defined]
    number_id = sid_to_uuid(sid, IncomingPhoneNumber.SID_PREFIX)
    number = (
        IncomingPhoneNumber.objects.for_account(tenant.account).filter(id=number_id).first()
        if number_id
        else None
    )
    if number is None:
        raise Http404("No such number")
    if not confirmed(request, number.sid):
        named = number.phone_number + (f" ({number.friendly_name})" if number.friendly_name else "")
        return Confirmation(
            title=f"Release {number.phone_number}?",
            consequences=[
                f"Calls and texts to {named} stop reaching this account at once.",
                "Its voice and messaging settings are removed, and another account may take the number.",
                "Calls, texts and conversations already kept stay in their logs.",
            ],
            button=f"Release {number.phone_number}",
            back_url=reverse("numbers"),
            token=number.sid,
        ).render(request)
    number_delete(number=number, actor=tenant.actor)
    return redirect("numbers")
