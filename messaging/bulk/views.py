"""Portal pages for bulk alerts: the list with the form for a new one, the confirmation that sends it,
and one bulk's page with its live progress (over the websocket of messaging/consumers.py) and each
recipient's status."""

from contextlib import suppress

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from core.errors import TwilioError
from core.paging import Page, page_or_first
from messaging.bulk.drafts import BulkDraft, bulk_draft_get, bulk_draft_save
from messaging.bulk.forms import BulkForm
from messaging.bulk.selectors import (
    bulk_get,
    bulk_list,
    bulk_progress,
    bulk_recipient_list,
)
from messaging.bulk.services import BulkPlan, bulk_cancel, bulk_create, bulk_preview
from messaging.models import Bulk, Message
from tenants.models import Account
from tenants.portal import Confirmation, confirmed, portal_view, render_page
from tenants.roles import BULK_SENDER_ROLES, BULK_VIEWER_ROLES

PAGE_SIZE = 50
# The statuses a bulk's recipients can be filtered by on its page.
RECIPIENT_FILTERS = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "canceled")


def _bulk(request: HttpRequest, sid: str) -> Bulk:
    found = bulk_get(account=request.tenant.account, sid=sid)  # type: ignore[attr-defined]
    if found is None:
        raise Http404("No such bulk alert")
    return found


def _can_send(request: HttpRequest) -> bool:
    return request.tenant.membership.role in BULK_SENDER_ROLES  # type: ignore[attr-defined,no-any-return]


@portal_view(roles=BULK_VIEWER_ROLES)
def bulks_view(request: HttpRequest) -> HttpResponse:
    """The bulks and the form; a valid form is answered with its confirmation (`bulk_confirm_view`)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    form = BulkForm(request.POST or None, request.FILES or None, account=tenant.account)
    if request.method == "POST":
        if not _can_send(request):
            return HttpResponseForbidden("Your role in this account does not allow sending alerts.")
        if form.is_valid():
            data = form.cleaned_data
            draft = BulkDraft(
                account_id=tenant.account.id,
                user_id=tenant.user.id,
                from_number=data["from_number"],
                body=data["body"],
                message_class=data["message_class"],
                threat_basis=data["threat_basis"],
                recipients=data["recipient_list"],
            )
            try:
                plan = _preview(tenant.account, draft)
            except TwilioError as error:  # refused as the API refuses it
                form.add_error(None, f"{error.message} ({error.twilio_code})")
            else:
                return _confirmation(bulk_draft_save(draft), draft, plan).render(request)
    return _bulks_page(request, form)


@portal_view(roles=BULK_SENDER_ROLES)
def bulk_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """A checked alert's confirmation page (what it sends, to how many, in which class); its
    confirming POST creates the bulk, once however often it is posted (the token is the bulk's
    idempotency key)."""
    tenant = request.tenant  # type: ignore[attr-defined]
    draft = bulk_draft_get(token=token, account_id=tenant.account.id, user_id=tenant.user.id)
    form = BulkForm(account=tenant.account)
    if draft is None:
        refusal = "This alert was not sent: its confirmation has expired. Fill in the form again."
        return _bulks_page(request, form, refusal=refusal)
    try:
        if not confirmed(request, token):
            return _confirmation(token, draft, _preview(tenant.account, draft)).render(request)
        bulk = bulk_create(
            account=tenant.account,
            from_=draft.from_number,
            body=draft.body,
            recipients=draft.recipients,
            message_class=draft.message_class,
            threat_basis=draft.threat_basis,
            actor=tenant.actor,
            idempotency_key=f"portal:{token}",
        )
    except TwilioError as error:  # changed since it was checked: the number released, say
        refusal = f"This alert was not sent: {error.message} ({error.twilio_code})"
        return _bulks_page(request, form, refusal=refusal)
    return redirect("bulk", sid=bulk.sid)


def _preview(account: Account, draft: BulkDraft) -> BulkPlan:
    return bulk_preview(
        account=account,
        from_=draft.from_number,
        body=draft.body,
        recipients=draft.recipients,
        message_class=draft.message_class,
        threat_basis=draft.threat_basis,
    )


def _confirmation(token: str, draft: BulkDraft, plan: BulkPlan) -> Confirmation:
    """What the sender confirms: the recipients kept and set aside, the segments, the class."""
    kept, per_text, normalized = len(plan.kept), plan.segmentation.num_segments, plan.recipients
    recipients = f"{kept:,} recipient{pluralize(kept)}"
    if draft.message_class == Bulk.MessageClass.EMERGENCY:
        class_line = (
            "Class: emergency. Sent without prior consent, for health or safety; the threat basis "
            f"goes in the audit log: {draft.threat_basis.strip()}"
        )
    else:
        class_line = f"Class: {Bulk.MessageClass(draft.message_class).label.lower()}."
    return Confirmation(
        title=f"Send this alert to {recipients}?",
        consequences=[
            f"From {plan.number.phone_number} to {recipients}. Of the {len(draft.recipients):,} numbers "
            f"given, {normalized.duplicates:,} duplicate{pluralize(normalized.duplicates)}, "
            f"{len(normalized.invalid):,} not valid and {len(plan.opted_out):,} opted out are not sent.",
            f"{per_text} segment{pluralize(per_text)} per text ({plan.segmentation.encoding}), "
            f"{plan.num_segments_total:,} in all.",
            class_line,
            f"Text: {draft.body}",
        ],
        button=f"Send to {recipients}",
        back_url=reverse("bulks"),
        token=token,
        action_url=reverse("bulk-confirm", args=[token]),
    )


def _bulks_page(request: HttpRequest, form: BulkForm, *, refusal: str = "") -> HttpResponse:
    """The bulks and the form, with why an alert confirmed was not sent (`refusal`), if it was not."""
    tenant = request.tenant  # type: ignore[attr-defined]
    page, _ = page_or_first(
        lambda cursor: bulk_list(account=tenant.account, after=cursor, size=PAGE_SIZE),
        request.GET.get("after"),
    )
    older = f"{request.path}?after={page.next_cursor}" if page.next_cursor else None
    context = {
        "form": form if _can_send(request) else None,
        "bulks": [(bulk, bulk_progress(bulk)) for bulk in page.rows],
        "older_url": older,
        "is_first": "after" not in request.GET,
        "refusal": refusal,
    }
    return render(request, "messaging/bulks.html", context)


def _recipients(request: HttpRequest, bulk: Bulk) -> tuple[Page[Message], str | None]:
    status = request.GET.get("status")
    status = status if status in RECIPIENT_FILTERS else None
    page, _ = page_or_first(
        lambda cursor: bulk_recipient_list(bulk=bulk, status=status, after=cursor, size=PAGE_SIZE),
        request.GET.get("after"),
    )
    return page, status


@portal_view(roles=BULK_VIEWER_ROLES)
def bulk_view(request: HttpRequest, sid: str) -> HttpResponse:
    """The whole page, or (for htmx: the pager, a filter, the refresh when the bulk completes) its
    recipients' table."""
    bulk = _bulk(request, sid)
    page, status = _recipients(request, bulk)
    base = reverse("bulk", args=[bulk.sid])
    query = f"status={status}&" if status else ""
    context = {
        "bulk": bulk,
        "progress": bulk_progress(bulk),
        "recipients": page.rows,
        "status": status,
        "filters": RECIPIENT_FILTERS,
        "next_url": f"{base}?{query}after={page.next_cursor}" if page.next_cursor else None,
        "first_url": f"{base}?{query}" if "after" in request.GET else None,
        "can_cancel": _can_send(request) and bulk.status == Bulk.Status.SENDING,
    }
    response = render_page(request, "messaging/bulk.html", "messaging/partials/bulk_recipients.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@portal_view(roles=BULK_SENDER_ROLES)
def bulk_cancel_view(request: HttpRequest, sid: str) -> HttpResponse:
    bulk = _bulk(request, sid)
    with suppress(TwilioError):  # completed meanwhile: the page shows it
        bulk_cancel(bulk=bulk, actor=request.tenant.actor)  # type: ignore[attr-defined]
    return redirect("bulk", sid=bulk.sid)
