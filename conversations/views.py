"""Portal pages: the inbox of conversations and one conversation's timeline, with note and reply boxes."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from conversations.forms import ContactForm, NoteForm, ReplyForm
from conversations.models import Conversation, Item
from conversations.selectors import conversation_get, conversation_list, item_list
from conversations.services import contact_update, conversation_mark_read, conversation_reply, note_add
from core.errors import TwilioError
from core.paging import page_or_first
from tenants.context import TenantContext
from tenants.portal import portal_view, render_page
from tenants.roles import INBOX_VIEWER_ROLES, INBOX_WRITER_ROLES

PAGE_SIZE = 50


def _conversation(request: HttpRequest, sid: str) -> Conversation:
    found = conversation_get(account=request.tenant.account, sid=sid)  # type: ignore[attr-defined]
    if found is None:
        raise Http404("No such conversation")
    return found


@dataclass(frozen=True)
class Timeline:
    items: Sequence[Item]  # oldest first, as a conversation reads
    earlier_url: str | None
    is_latest: bool


def _timeline(request: HttpRequest, conversation: Conversation) -> Timeline:
    page, is_latest = page_or_first(
        lambda cursor: item_list(conversation=conversation, after=cursor, size=PAGE_SIZE),
        request.GET.get("before"),
    )
    base = reverse("conversation", args=[conversation.sid])  # also after a POST to the note box
    earlier = f"{base}?before={page.next_cursor}" if page.next_cursor else None
    return Timeline(items=page.rows[::-1], earlier_url=earlier, is_latest=is_latest)


@portal_view(roles=INBOX_VIEWER_ROLES)
def inbox_view(request: HttpRequest) -> HttpResponse:
    account = request.tenant.account  # type: ignore[attr-defined]
    unread_only = request.GET.get("show") == "unread"
    page, _ = page_or_first(
        lambda cursor: conversation_list(
            account=account, after=cursor, size=PAGE_SIZE, unread_only=unread_only
        ),
        request.GET.get("before"),
    )
    shown = "show=unread&" if unread_only else ""
    older = f"{request.path}?{shown}before={page.next_cursor}" if page.next_cursor else None
    context = {
        "conversations": page.rows,
        "older_url": older,
        "newest_url": f"{request.path}?show=unread" if unread_only else request.path,
        "is_first": "before" not in request.GET,
        "unread_only": unread_only,
    }
    response = render_page(request, "conversations/inbox.html", "conversations/partials/inbox.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _thread_context(request: HttpRequest, conversation: Conversation, **boxes: forms.Form) -> dict[str, Any]:
    role = request.tenant.membership.role  # type: ignore[attr-defined]
    return {
        "conversation": conversation,
        "timeline": _timeline(request, conversation),
        "can_write": role in INBOX_WRITER_ROLES,
        "note_form": boxes.get("note_form") or NoteForm(),
        "reply_form": boxes.get("reply_form") or ReplyForm(),
        "contact_form": ContactForm(initial={"name": conversation.contact.name}),
    }


@portal_view(roles=INBOX_VIEWER_ROLES)
def thread_view(request: HttpRequest, sid: str) -> HttpResponse:
    conversation = _conversation(request, sid)
    conversation_mark_read(conversation=conversation)
    context = _thread_context(request, conversation)
    response = render_page(
        request, "conversations/thread.html", "conversations/partials/thread.html", context
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


def _thread_post(
    request: HttpRequest,
    sid: str,
    form_class: type[forms.Form],
    context_name: str,
    act: Callable[[TenantContext, Conversation, dict[str, Any]], object],
) -> HttpResponse:
    """A box on the thread page: valid input is acted on, then the page is shown again (the thread
    fragment with an empty box for htmx, a redirect otherwise); errors are shown in the box."""
    tenant = request.tenant  # type: ignore[attr-defined]
    conversation = _conversation(request, sid)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            act(tenant, conversation, form.cleaned_data)
        except TwilioError as error:  # refused as the API would refuse it: an opted-out contact, say
            form.add_error(None, f"{error.message} ({error.twilio_code})")
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                return redirect("conversation", sid=conversation.sid)
            form = form_class()
    context = _thread_context(request, conversation, **{context_name: form})
    return render_page(request, "conversations/thread.html", "conversations/partials/thread.html", context)


@require_POST
@portal_view(roles=INBOX_WRITER_ROLES)
def note_add_view(request: HttpRequest, sid: str) -> HttpResponse:
    def add(tenant: TenantContext, conversation: Conversation, data: dict[str, Any]) -> object:
        return note_add(
            account=tenant.account,
            conversation=conversation,
            author=tenant.user,
            text=data["text"],
            actor=tenant.actor,
        )

    return _thread_post(request, sid, NoteForm, "note_form", add)


@require_POST
@portal_view(roles=INBOX_WRITER_ROLES)
def reply_view(request: HttpRequest, sid: str) -> HttpResponse:
    def send(tenant: TenantContext, conversation: Conversation, data: dict[str, Any]) -> object:
        return conversation_reply(
            account=tenant.account, conversation=conversation, body=data["body"], actor=tenant.actor
        )

    return _thread_post(request, sid, ReplyForm, "reply_form", send)


@require_POST
@portal_view(roles=INBOX_WRITER_ROLES)
def contact_update_view(request: HttpRequest, sid: str) -> HttpResponse:
    """Name the conversation's contact; a name over 64 characters (the field's maxlength) changes nothing."""
    tenant = request.tenant  # type: ignore[attr-defined]
    conversation = _conversation(request, sid)
    form = ContactForm(request.POST)
    if form.is_valid():
        contact_update(
            account=tenant.account,
            contact=conversation.contact,
            name=form.cleaned_data["name"],
            actor=tenant.actor,
        )
    return redirect("conversation", sid=conversation.sid)
