"""Every write to conversation history: the hooks that log what other apps store, notes, replies,
contact names, and marking a thread read.

The `conversation_log_*` hooks run once a call, recording or message is stored (for messaging, from
the receivers of its signals in conversations/receivers.py). Each opens its own tenant-scoped
transaction, is idempotent (logging the same call twice leaves one item) and does nothing for a
party without an E.164 number (`anonymous`, a SIP URI, an alphanumeric sender).
"""

import re
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from compliance.services import audit_record
from conversations.models import AgentTurn, Contact, Conversation, Item, Note
from core.inserts import insert_sql
from core.tenancy import tenant_scope
from messaging.create import MessageDraft, message_create
from messaging.models import Message
from tenants.models import Account, User
from voice.models import Call, Recording

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


Thread = tuple[str, str]  # (the tenant's number, the contact's number)


def _thread_of(*, direction: str, from_number: str, to_number: str) -> Thread | None:
    """The numbers of the thread traffic belongs to, or None when either side has no E.164 number.

    The contact is the remote party: `From` for inbound traffic, `To` for outbound.
    """
    tenant_number, contact_number = (
        (to_number, from_number) if direction == "inbound" else (from_number, to_number)
    )
    if not (E164.match(tenant_number) and E164.match(contact_number)):
        return None
    return tenant_number, contact_number


def _conversations(account_id: uuid.UUID, first_seen: dict[Thread, datetime]) -> dict[Thread, uuid.UUID]:
    """The ids of these threads' conversations, each created (with its contact) the first time its
    two numbers talk, at `first_seen`; one query when they all exist. Rows are created in sorted
    order, so that two transactions creating overlapping threads wait for each other, never deadlock."""
    found = _conversations_between(account_id, first_seen)
    missing = sorted(first_seen.keys() - found.keys())
    if not missing:
        return found
    numbers = sorted({contact_number for _, contact_number in missing})
    Contact.objects.bulk_create(
        [Contact(account_id=account_id, phone_number=number) for number in numbers], ignore_conflicts=True
    )
    contacts = dict(
        Contact.objects.filter(account_id=account_id, phone_number__in=numbers).values_list(
            "phone_number", "id"
        )
    )
    Conversation.objects.bulk_create(
        [
            Conversation(
                account_id=account_id,
                tenant_number=tenant_number,
                contact_id=contacts[contact_number],
                last_activity_at=first_seen[(tenant_number, contact_number)],
            )
            for tenant_number, contact_number in missing
        ],
        ignore_conflicts=True,
    )
    return {**found, **_conversations_between(account_id, missing)}


def _conversations_between(account_id: uuid.UUID, threads: Collection[Thread]) -> dict[Thread, uuid.UUID]:
    """The ids of these threads' existing conversations, in SQL of our own (see `_append`).

    Each thread is looked up on its own through the two unique indexes, contact then conversation
    (LATERAL with LIMIT keeps the planner from joining them another way: with stale statistics it
    once scanned every thread of the tenant's number for each text; bench/RESULTS.md, `bench/messaging`).
    """
    tenant_numbers, contact_numbers = map(list, zip(*threads, strict=True)) if threads else ([], [])
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tenant_number, t.contact_number, c.id "
            "FROM unnest(%s::text[], %s::text[]) AS t(tenant_number, contact_number) "
            f"CROSS JOIN LATERAL (SELECT p.id FROM {quote(Contact._meta.db_table)} p "
            "WHERE p.account_id = %s AND p.phone_number = t.contact_number LIMIT 1) p "
            f"CROSS JOIN LATERAL (SELECT c.id FROM {quote(Conversation._meta.db_table)} c WHERE "
            "c.account_id = %s AND c.tenant_number = t.tenant_number AND c.contact_id = p.id LIMIT 1) c",
            [tenant_numbers, contact_numbers, account_id, account_id],
        )
        return {
            (tenant_number, contact_number): id_ for tenant_number, contact_number, id_ in cursor.fetchall()
        }


def _conversation_id(
    *, account_id: uuid.UUID, direction: str, from_number: str, to_number: str, at: datetime
) -> uuid.UUID | None:
    """The thread of one call or text, created the first time its two numbers talk."""
    thread = _thread_of(direction=direction, from_number=from_number, to_number=to_number)
    return _conversations(account_id, {thread: at})[thread] if thread else None


def _append(items: Sequence[tuple[Item, bool]]) -> None:
    """Insert the items (each with whether it is inbound) unless what one shows is already in a
    timeline (a unique index says so).

    A conversation's last activity, newest item and unread count move only for the items inserted,
    in the same statement, whose UPDATE reads the rows as they were before it; several conversations
    are locked in id order first, so that transactions appending to the same ones never deadlock. Written
    in SQL because every call, text and recording comes through here: the ORM spent several times as
    much CPU building these statements as running them took.
    """
    if not items:
        return
    insert, params = insert_sql(Item, [item for item, _ in items])
    conversations = connection.ops.quote_name(Conversation._meta.db_table)
    conversation_ids = sorted({item.conversation_id for item, _ in items})
    with connection.cursor() as cursor:
        if len(conversation_ids) > 1:
            cursor.execute(
                f"SELECT FROM {conversations} WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE",
                [conversation_ids],
            )
        cursor.execute(
            f"WITH inserted AS ({insert} ON CONFLICT DO NOTHING RETURNING id, conversation_id, occurred_at), "
            "newest AS (SELECT DISTINCT ON (conversation_id) conversation_id, id, occurred_at, "
            "count(*) FILTER (WHERE id = ANY(%s::uuid[])) OVER (PARTITION BY conversation_id) AS unread "
            "FROM inserted ORDER BY conversation_id, occurred_at DESC, id DESC) "
            f"UPDATE {conversations} c SET "
            "last_item_id = CASE WHEN c.last_item_id IS NULL OR c.last_activity_at <= n.occurred_at "
            "THEN n.id ELSE c.last_item_id END, "
            "last_activity_at = GREATEST(c.last_activity_at, n.occurred_at), "
            "unread_count = c.unread_count + n.unread, date_updated = %s "
            "FROM newest n WHERE c.id = n.conversation_id",
            [*params, [item.id for item, is_inbound in items if is_inbound], timezone.now()],
        )


def _call_conversation_id(call: Call) -> uuid.UUID | None:
    """A call's thread; a <Dial> leg (`outbound-dial`) has none, it is part of its parent call."""
    if call.direction == Call.Direction.OUTBOUND_DIAL:
        return None
    return _conversation_id(
        account_id=call.account_id,
        direction=call.direction,
        from_number=call.from_number,
        to_number=call.to_number,
        at=call.date_created,
    )


def conversation_log_call(*, call: Call) -> None:
    """Put a call in its conversation (once): inbound calls when opened, outbound ones when created."""
    with tenant_scope(call.account_id):
        conversation_id = _call_conversation_id(call)
        if conversation_id is None:
            return
        item = Item(
            account_id=call.account_id,
            conversation_id=conversation_id,
            kind=Item.Kind.CALL,
            call=call,
            occurred_at=call.date_created,
        )
        _append([(item, call.direction == Call.Direction.INBOUND)])


def conversation_log_message(*, message: Message) -> None:
    """Put a text in its conversation (once), inbound or outbound, whatever its status."""
    conversation_log_messages(account_id=message.account_id, messages=[message])


def conversation_log_messages(*, account_id: uuid.UUID, messages: Sequence[Message]) -> None:
    """Put texts of one account in their conversations, in one transaction (see the hooks above)."""
    with tenant_scope(account_id):
        timeline_add_messages(account_id=account_id, messages=messages)


def conversation_log_message_ids(*, account_id: uuid.UUID, message_ids: Sequence[uuid.UUID]) -> None:
    """`conversation_log_messages` for texts known by id (a bulk alert's, from a Celery task)."""
    with tenant_scope(account_id):
        fields = ("id", "account_id", "direction", "from_number", "to_number", "date_created")
        messages = list(Message.objects.filter(id__in=list(message_ids)).only(*fields))
        timeline_add_messages(account_id=account_id, messages=messages)


def timeline_add_messages(*, account_id: uuid.UUID, messages: Sequence[Message]) -> None:
    """`conversation_log_messages` in the caller's transaction, which must be scoped to the account:
    for a service that stores the messages in that transaction (one scope, not a savepoint more)."""
    threads = [
        (
            message,
            _thread_of(
                direction=message.direction, from_number=message.from_number, to_number=message.to_number
            ),
        )
        for message in messages
    ]
    first_seen = {thread: message.date_created for message, thread in reversed(threads) if thread}
    conversations = _conversations(account_id, first_seen) if first_seen else {}
    _append(
        [
            (
                Item(
                    account_id=account_id,
                    conversation_id=conversations[thread],
                    kind=Item.Kind.MESSAGE,
                    message=message,
                    occurred_at=message.date_created,
                ),
                message.direction == Message.Direction.INBOUND,
            )
            for message, thread in threads
            if thread
        ]
    )


def conversation_log_recording(*, recording: Recording) -> None:
    """Put a stored recording in its call's conversation (once)."""
    if recording.call_id is None:
        return
    with tenant_scope(recording.account_id):
        call = Call.objects.get(id=recording.call_id)
        conversation_id = _call_conversation_id(call)
        if conversation_id is None:
            return
        item = Item(
            account_id=recording.account_id,
            conversation_id=conversation_id,
            kind=Item.Kind.RECORDING,
            recording=recording,
            occurred_at=recording.date_created,
        )
        _append([(item, False)])


def note_add(
    *, account: Account, conversation: Conversation, author: User | None, text: str, actor: str
) -> Note:
    """An agent's note in the timeline; `author` is None for a note added with account credentials."""
    with transaction.atomic():
        note = Note.objects.create(account=account, conversation=conversation, author=author, text=text)
        item = Item(
            account=account,
            conversation=conversation,
            kind=Item.Kind.NOTE,
            note=note,
            occurred_at=note.date_created,
        )
        _append([(item, False)])
        audit_record(
            account_id=account.id,
            actor=actor,
            action="note.create",
            object_sid=note.sid,
            payload={"conversation": conversation.sid, "text": text},
        )
    return note


def conversation_reply(*, account: Account, conversation: Conversation, body: str, actor: str) -> Message:
    """Text the contact from the conversation's number, with every check the Messages API makes
    (opt-out, length); the text is in the timeline when this returns."""
    draft = MessageDraft(
        to=conversation.contact.phone_number,
        from_=conversation.tenant_number,
        body=body,
        direction=Message.Direction.OUTBOUND_API,
        actor=actor,
    )
    return message_create(account=account, draft=draft)  # which enters it in the timeline


def contact_update(*, account: Account, contact: Contact, name: str, actor: str) -> Contact:
    """Name a contact (blank clears it); the inbox and timelines show the name instead of the number."""
    with transaction.atomic():
        contact.name = name
        contact.save(update_fields=["name", "date_updated"])
        audit_record(
            account_id=account.id,
            actor=actor,
            action="contact.update",
            object_sid=contact.sid,
            payload={"name": name},
        )
    return contact


def agent_turn_log(
    *,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    agent_sid: str,
    caller_text: str,
    agent_text: str,
    tool_calls: Sequence[dict[str, object]],
    timings: dict[str, int],
) -> AgentTurn | None:
    """Put one exchange with a built-in agent in its call's conversation, right after the call; None
    when the call has no thread (a party without an E.164 number). Not counted as unread: the
    call already is."""
    with tenant_scope(account_id), transaction.atomic():
        call = Call.objects.get(id=call_id)
        conversation_id = _call_conversation_id(call)
        if conversation_id is None:
            return None
        turn = AgentTurn.objects.create(
            account_id=account_id,
            conversation_id=conversation_id,
            call=call,
            agent_sid=agent_sid,
            caller_text=caller_text,
            agent_text=agent_text,
            tool_calls=list(tool_calls),
            timings=timings,
        )
        item = Item(
            account_id=account_id,
            conversation_id=conversation_id,
            kind=Item.Kind.AGENT_TURN,
            agent_turn=turn,
            occurred_at=turn.date_created,
        )
        _append([(item, False)])
    return turn


def conversation_mark_read(*, conversation: Conversation) -> None:
    """Someone has seen the thread: its inbound calls and texts no longer count as unread."""
    Conversation.objects.filter(id=conversation.id, unread_count__gt=0).update(
        unread_count=0, date_updated=timezone.now()
    )
    conversation.unread_count = 0
