"""Every write to conversation history: the hooks other apps call, notes, replies, contact names,
and marking a thread read.

The `conversation_log_*` hooks are what voice and messaging call once a call, recording or
message is stored. Each opens its own tenant-scoped transaction, is idempotent (logging the same
call twice leaves one item) and does nothing for a party without an E.164 number (`anonymous`, a
SIP URI, an alphanumeric sender).
"""

import re
import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from compliance.services import audit_record
from conversations.models import Contact, Conversation, Item, Note
from core.tenancy import tenant_scope
from messaging.models import Message
from tenants.models import Account, User
from voice.models import Call, Recording

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


def _conversation(
    *, account_id: uuid.UUID, direction: str, from_number: str, to_number: str, at: datetime
) -> Conversation | None:
    """The thread of the tenant's number and the remote party, created the first time they talk.

    The contact is the remote party: `From` for inbound traffic, `To` for outbound. None when
    either side has no E.164 number.
    """
    tenant_number, contact_number = (
        (to_number, from_number) if direction == "inbound" else (from_number, to_number)
    )
    if not (E164.match(tenant_number) and E164.match(contact_number)):
        return None
    found = _conversation_between(account_id, tenant_number, contact_number)
    if found is not None:
        return found
    contact, _ = Contact.objects.get_or_create(account_id=account_id, phone_number=contact_number)
    conversation, _ = Conversation.objects.get_or_create(
        account_id=account_id, tenant_number=tenant_number, contact=contact, defaults={"last_activity_at": at}
    )
    return conversation


def _conversation_between(
    account_id: uuid.UUID, tenant_number: str, contact_number: str
) -> Conversation | None:
    """The existing thread of a tenant number and a contact's number, in SQL of our own (see `_append`)."""
    fields = Conversation._meta.concrete_fields
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(f'c.{quote(str(f.column))}' for f in fields)} "
            f"FROM {quote(Conversation._meta.db_table)} c JOIN {quote(Contact._meta.db_table)} p "
            "ON p.id = c.contact_id WHERE c.account_id = %s AND c.tenant_number = %s AND p.phone_number = %s",
            [account_id, tenant_number, contact_number],
        )
        row = cursor.fetchone()
    return Conversation.from_db(connection.alias, [f.attname for f in fields], row) if row else None


def _append(conversation: Conversation, item: Item, *, is_inbound: bool) -> None:
    """Insert `item` unless what it shows is already in a timeline (a unique index says so).

    The conversation's last activity, newest item and unread count move only when the insert
    happened, in the same statement, whose UPDATE reads the row as it was before it. Written in SQL
    because every call, text and recording comes through here: the ORM spent several times as much
    CPU building these statements as running them took.
    """
    fields = Item._meta.concrete_fields
    values = [f.get_db_prep_save(f.pre_save(item, True), connection) for f in fields]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH inserted AS (INSERT INTO {quote(Item._meta.db_table)} "
            f"({', '.join(quote(str(f.column)) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))}) "
            "ON CONFLICT DO NOTHING RETURNING id) "
            f"UPDATE {quote(Conversation._meta.db_table)} SET "
            "last_item_id = CASE WHEN last_item_id IS NULL OR last_activity_at <= %s THEN %s "
            "ELSE last_item_id END, last_activity_at = GREATEST(last_activity_at, %s), "
            "unread_count = unread_count + %s, date_updated = %s "
            "WHERE id = %s AND EXISTS (SELECT FROM inserted)",
            [
                *values,
                item.occurred_at,
                item.id,
                item.occurred_at,
                int(is_inbound),
                timezone.now(),
                conversation.id,
            ],
        )


def _call_conversation(call: Call) -> Conversation | None:
    """A call's thread; a <Dial> leg (`outbound-dial`) has none, it is part of its parent call."""
    if call.direction == Call.Direction.OUTBOUND_DIAL:
        return None
    return _conversation(
        account_id=call.account_id,
        direction=call.direction,
        from_number=call.from_number,
        to_number=call.to_number,
        at=call.date_created,
    )


def conversation_log_call(*, call: Call) -> None:
    """Put a call in its conversation (once): inbound calls when opened, outbound ones when created."""
    with tenant_scope(call.account_id):
        conversation = _call_conversation(call)
        if conversation is None:
            return
        item = Item(
            account_id=call.account_id,
            conversation=conversation,
            kind=Item.Kind.CALL,
            call=call,
            occurred_at=call.date_created,
        )
        _append(conversation, item, is_inbound=call.direction == Call.Direction.INBOUND)


def conversation_log_message(*, message: Message) -> None:
    """Put a text in its conversation (once), inbound or outbound, whatever its status."""
    conversation_log_messages(account_id=message.account_id, messages=[message])


def conversation_log_messages(*, account_id: uuid.UUID, messages: Sequence[Message]) -> None:
    """Put texts of one account in their conversations, in one transaction (see the hooks above)."""
    with tenant_scope(account_id):
        for message in messages:
            conversation = _conversation(
                account_id=account_id,
                direction=message.direction,
                from_number=message.from_number,
                to_number=message.to_number,
                at=message.date_created,
            )
            if conversation is None:
                continue
            item = Item(
                account_id=account_id,
                conversation=conversation,
                kind=Item.Kind.MESSAGE,
                message=message,
                occurred_at=message.date_created,
            )
            _append(conversation, item, is_inbound=message.direction == Message.Direction.INBOUND)


def conversation_log_recording(*, recording: Recording) -> None:
    """Put a stored recording in its call's conversation (once)."""
    if recording.call_id is None:
        return
    with tenant_scope(recording.account_id):
        call = Call.objects.get(id=recording.call_id)
        conversation = _call_conversation(call)
        if conversation is None:
            return
        item = Item(
            account_id=recording.account_id,
            conversation=conversation,
            kind=Item.Kind.RECORDING,
            recording=recording,
            occurred_at=recording.date_created,
        )
        _append(conversation, item, is_inbound=False)


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
        _append(conversation, item, is_inbound=False)
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
    # Imported here: messaging.services calls this module's hooks.
    from messaging.services import MessageDraft, message_create

    with transaction.atomic():
        draft = MessageDraft(
            to=conversation.contact.phone_number,
            from_=conversation.tenant_number,
            body=body,
            direction=Message.Direction.OUTBOUND_API,
            actor=actor,
        )
        message = message_create(account=account, draft=draft)
        conversation_log_message(message=message)
    return message


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


def conversation_mark_read(*, conversation: Conversation) -> None:
    """Someone has seen the thread: its inbound calls and texts no longer count as unread."""
    Conversation.objects.filter(id=conversation.id, unread_count__gt=0).update(
        unread_count=0, date_updated=timezone.now()
    )
    conversation.unread_count = 0
