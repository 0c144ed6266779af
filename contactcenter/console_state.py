"""What an agent's console shows, read from the database (never kept in the browser): the worker
and its activity, the reservations it holds (offered, accepted, wrapping) each with the customer's
screen pop, the wrap-up form's saved draft, and the agent's recent tasks. The page and its websocket
(contactcenter/consumers.py) render the same `console_state`, so a page that reconnects, or a second
browser, shows exactly what the server knows.

Wrap-up drafts live in the cache (Redis) for a day: typing is not a database write, and a draft only
matters until the task is completed.
"""

import uuid
from typing import Any, TypedDict

from django.core.cache import cache
from django.db.models import Q
from django.template.loader import render_to_string

from contactcenter.taskrouter.models import Activity, Reservation, Task, Worker
from conversations.models import Conversation, Item
from conversations.selectors import ITEM_RELATED
from core.sids import sid_to_uuid
from tenants.models import Membership
from voice.clients import is_client
from voice.models import Recording

HISTORY_ITEMS = 30  # the newest of the customer's calls, texts, recordings and notes the pop shows
RECENT_TASKS = 10
DRAFT_SECONDS = 24 * 3600
HISTORY = "contactcenter/partials/console_history.html"


class ReservationState(TypedDict):
    sid: str
    status: str  # pending (ringing), accepted, wrapping
    channel: str  # the task channel's unique name: voice, sms, ...
    task_sid: str
    task_status: str
    customer: str  # the caller's or texter's number, or the contact's name
    call_sid: str  # a voice task's waiting call ("" otherwise)
    conversation_sid: str  # the customer's thread ("" when there is none)
    summary: str  # an AI agent's hand-off summary (task attribute `summary`)
    timeout_at: float  # when an offer lapses (epoch seconds)
    history_html: str  # the screen pop: hand-off summary and transcript first, then the timeline


class ConsoleState(TypedDict):
    type: str  # "state"
    worker: dict[str, Any]
    activities: list[dict[str, Any]]
    dispositions: list[str]
    reservations: list[ReservationState]
    drafts: dict[str, dict[str, str]]  # reservation sid → {"disposition", "notes", "activity_sid"}
    recent: list[dict[str, Any]]


def console_worker(*, membership: Membership) -> Worker | None:
    """The worker the member works as (the oldest workspace's, should they be linked in several)."""
    return (
        Worker.objects.filter(account_id=membership.account_id, member=membership)
        .select_related("workspace", "activity")
        .order_by("workspace__date_created", "workspace_id")
        .first()
    )


def phone_elsewhere(worker: Worker) -> str:
    """Where the worker's calls ring besides a console: its `contact_uri` when that is a SIP address
    or a number (a desk phone), '' when it is a softphone's `client:` address or unset, i.e. when
    the console is the worker's only phone."""
    contact = str(worker.attributes_json.get("contact_uri", "")).strip()
    return "" if not contact or is_client(contact) else contact


def offline_activity(worker: Worker) -> Activity | None:
    """The workspace's activity for an agent who has gone: the one named Offline, else its first
    unavailable one."""
    unavailable = Activity.objects.filter(workspace_id=worker.workspace_id, available=False)
    return (
        unavailable.filter(friendly_name__iexact="offline").first()
        or unavailable.order_by("date_created", "id").first()
    )


def task_conversation(task: Task) -> Conversation | None:
    """The customer's thread: a text task names it; a call task's is the thread of its two numbers."""
    attributes = task.attributes_json
    pk = sid_to_uuid(str(attributes.get("conversation_sid", "")), Conversation.SID_PREFIX)
    threads = Conversation.objects.filter(account_id=task.account_id).select_related("contact")
    if pk is not None:
        return threads.filter(id=pk).first()
    tenant_number, contact_number = str(attributes.get("to", "")), str(attributes.get("from", ""))
    if not (tenant_number and contact_number):
        return None
    return threads.filter(tenant_number=tenant_number, contact__phone_number=contact_number).first()


def customer_history(conversation: Conversation | None) -> list[Item]:
    """The customer's newest items across every thread of theirs (any of the tenant's numbers),
    newest first: the pop is read from its top, where what just happened matters most (oldest first,
    the newest sat below the fold of a long history)."""
    if conversation is None:
        return []
    items = Item.objects.filter(
        account_id=conversation.account_id, conversation__contact_id=conversation.contact_id
    )
    return list(items.select_related(*ITEM_RELATED).order_by("-occurred_at", "-id")[:HISTORY_ITEMS])


def console_recording(*, worker: Worker, sid: str) -> Recording | None:
    """A completed recording of a customer whose task the worker holds now (offered, accepted or in
    wrap-up): what the screen pop lets the agent play. Recordings are PHI and agents lack the call
    log's roles, so the reservation is the agent's need to hear them; nothing else is."""
    recording_id = sid_to_uuid(sid, Recording.SID_PREFIX)
    if recording_id is None:
        return None
    held = Reservation.objects.filter(worker=worker, status__in=Reservation.HOLDING).select_related("task")
    contacts = {c.contact_id for r in held if (c := task_conversation(r.task)) is not None}
    in_their_history = Item.objects.filter(
        account_id=worker.account_id, recording_id=recording_id, conversation__contact_id__in=contacts
    )
    if not contacts or not in_their_history.exists():
        return None
    return (
        Recording.objects.filter(
            account_id=worker.account_id, id=recording_id, status=Recording.Status.COMPLETED
        )
        .exclude(media_path="")
        .first()
    )


def _transcript(attributes: dict[str, Any]) -> list[str]:
    """An AI hand-off's transcript: a list of turns (strings, or {"role", "text"}), or one text."""
    found = attributes.get("transcript")
    if isinstance(found, str):
        return [line for line in found.splitlines() if line.strip()]
    if not isinstance(found, list):
        return []
    turns = []
    for turn in found:
        if isinstance(turn, dict):
            turns.append(f"{turn.get('role', '')}: {turn.get('text', turn.get('content', ''))}".strip(": "))
        else:
            turns.append(str(turn))
    return turns


def _reservation_state(reservation: Reservation) -> ReservationState:
    task = reservation.task
    attributes = task.attributes_json
    conversation = task_conversation(task)
    summary = str(attributes.get("summary", ""))
    customer = (conversation.contact.name if conversation else "") or str(attributes.get("from", ""))
    history_html = render_to_string(
        HISTORY,
        {
            "summary": summary,
            "transcript": _transcript(attributes),
            "items": customer_history(conversation),
            "conversation": conversation,
            "recording_url": "console-recording",  # the agent hears them through the console's check
        },
    )
    return ReservationState(
        sid=reservation.sid,
        status=reservation.status,
        channel=task.task_channel.unique_name,
        task_sid=task.sid,
        task_status=task.status,
        customer=customer,
        call_sid=str(attributes.get("call_sid", "")),
        conversation_sid=conversation.sid if conversation else "",
        summary=summary,
        timeout_at=reservation.timeout_at.timestamp(),
        history_html=history_html,
    )


def draft_key(reservation_id: uuid.UUID) -> str:
    return f"console-draft:{reservation_id}"


def draft_save(*, reservation_id: uuid.UUID, draft: dict[str, str]) -> None:
    cache.set(draft_key(reservation_id), draft, DRAFT_SECONDS)


def console_state(*, worker: Worker) -> ConsoleState:
    """Everything the console shows, in the worker's account scope (the caller's transaction)."""
    worker = Worker.objects.select_related("workspace", "activity").get(id=worker.id)
    held = list(
        Reservation.objects.filter(worker=worker, status__in=Reservation.HOLDING)
        .select_related("task__task_channel")
        .order_by("date_created", "id")
    )
    drafts = cache.get_many([draft_key(r.id) for r in held]) if held else {}
    recent = (
        Reservation.objects.filter(worker=worker)
        .filter(~Q(status__in=Reservation.HOLDING))
        .select_related("task__task_channel")
        .order_by("-date_updated", "-id")[:RECENT_TASKS]
    )
    activities = Activity.objects.filter(workspace_id=worker.workspace_id).order_by("date_created", "id")
    return ConsoleState(
        type="state",
        worker={
            "sid": worker.sid,
            "name": worker.friendly_name,
            "workspace_sid": worker.workspace.sid,
            "activity_sid": worker.activity.sid,
            "activity_name": worker.activity.friendly_name,
            "available": worker.available,
            "since": worker.date_status_changed.timestamp(),
        },
        activities=[{"sid": a.sid, "name": a.friendly_name, "available": a.available} for a in activities],
        dispositions=[str(code) for code in worker.workspace.disposition_codes],
        reservations=[_reservation_state(reservation) for reservation in held],
        drafts={r.sid: drafts[draft_key(r.id)] for r in held if draft_key(r.id) in drafts},
        recent=[
            {
                "reservation_sid": r.sid,
                "task_sid": r.task.sid,
                "channel": r.task.task_channel.unique_name,
                "status": r.status,
                "task_status": r.task.status,
                "customer": str(r.task.attributes_json.get("from", "")),
                "at": r.date_updated.timestamp(),
            }
            for r in recent
        ],
    )
