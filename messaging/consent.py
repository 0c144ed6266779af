"""Consent as carriers require it: opt-out, opt-in and help keywords, the state per recipient, the log.

A keyword counts only as the whole message (case-insensitive, surrounding whitespace trimmed), and
applies to the tenant number it was sent to. Every keyword received is appended to the consent log
with its source message; a change of state is also audited. The confirmation text goes out only when
the state changes, so a second STOP gets no second reply, while HELP is answered every time.
Functions here run inside a transaction already scoped to the tenant.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from compliance.services import audit_record
from messaging.models import ConsentEvent, ConsentState, Message

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

OPT_OUT_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more messages from this number. "
    "Reply START to resubscribe."
)
OPT_IN_REPLY = (
    "You have successfully been re-subscribed to messages from this number. Reply HELP for help. "
    "Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
HELP_REPLY = "{name}: Reply STOP to unsubscribe. Msg&Data Rates May Apply."

# Recipients per opt-out query: PostgreSQL takes at most 65,535 parameters in one statement.
QUERY_SIZE = 20_000

# What Twilio's OptOutType webhook parameter says for each action.
OPT_OUT_TYPE: dict[str, str] = {
    ConsentEvent.Action.OPT_OUT: "STOP",
    ConsentEvent.Action.OPT_IN: "START",
    ConsentEvent.Action.HELP: "HELP",
}


@dataclass(frozen=True)
class Keyword:
    word: str
    action: str


def keyword_of(body: str) -> Keyword | None:
    word = body.strip().upper()
    for words, action in (
        (OPT_OUT_KEYWORDS, ConsentEvent.Action.OPT_OUT),
        (OPT_IN_KEYWORDS, ConsentEvent.Action.OPT_IN),
        (HELP_KEYWORDS, ConsentEvent.Action.HELP),
    ):
        if word in words:
            return Keyword(word, action)
    return None


def opted_out_among(*, account_id: uuid.UUID, sender: str, recipients: Iterable[str]) -> set[str]:
    """The recipients who opted out of `sender`: the one opt-out filter of every send (a bulk alert's
    list, the pairs of `opted_out_pairs`), a query per `QUERY_SIZE` recipients.

    Each batch goes as one array parameter: an IN list takes a parameter per recipient, which costs
    seconds for a 40,000-recipient alert and cannot pass 65,535.
    """
    listed = list(recipients)
    found: set[str] = set()
    for start in range(0, len(listed), QUERY_SIZE):
        among = RawSQL(
            "recipient = ANY(%s::text[])", [listed[start : start + QUERY_SIZE]], output_field=BooleanField()
        )
        found.update(
            ConsentState.objects.filter(account_id=account_id, sender=sender, is_opted_out=True)
            .filter(among)
            .values_list("recipient", flat=True)
        )
    return found


def opted_out_pairs(*, account_id: uuid.UUID, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (sender, recipient) pairs among `pairs` whose recipient opted out of that sender, with
    `opted_out_among` once per sender: messages being created (21610) or handed over."""
    by_sender: defaultdict[str, set[str]] = defaultdict(set)
    for sender, recipient in pairs:
        by_sender[sender].add(recipient)
    return {
        (sender, recipient)
        for sender, recipients in by_sender.items()
        for recipient in opted_out_among(account_id=account_id, sender=sender, recipients=recipients)
    }


def consent_record(*, message: Message, keyword: Keyword, account_name: str) -> str | None:
    """Apply an inbound keyword; returns the reply to send, if any.

    The state row is locked, so two STOPs arriving together still produce one change and one reply.
    """
    sender, recipient = message.to_number, message.from_number
    state, _ = ConsentState.objects.select_for_update().get_or_create(
        account_id=message.account_id, sender=sender, recipient=recipient
    )
    is_change = False
    if keyword.action != ConsentEvent.Action.HELP:
        opted_out = keyword.action == ConsentEvent.Action.OPT_OUT
        is_change = state.is_opted_out != opted_out
        if is_change:
            state.is_opted_out = opted_out
            state.save(update_fields=["is_opted_out", "date_updated"])
    event = ConsentEvent.objects.create(
        account_id=message.account_id,
        sender=sender,
        recipient=recipient,
        keyword=keyword.word,
        action=keyword.action,
        is_change=is_change,
        source_message=message,
    )
    if is_change:
        audit_record(
            account_id=message.account_id,
            actor="worker:messaging",
            action=f"consent.{keyword.action}",
            object_sid=event.sid,
            payload={
                "sender": sender,
                "recipient": recipient,
                "keyword": keyword.word,
                "message": message.sid,
            },
        )
    if keyword.action == ConsentEvent.Action.HELP:
        return HELP_REPLY.format(name=account_name)
    if not is_change:
        return None
    return OPT_OUT_REPLY if keyword.action == ConsentEvent.Action.OPT_OUT else OPT_IN_REPLY
