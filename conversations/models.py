"""Contacts, conversations (one per tenant number and contact) and their timelines.

A timeline item points at the call, recording, message or note it shows and copies nothing from
it: the call's status, a message's body and a recording's state are read through the join, so a
redacted body or a deleted recording leaves no trace here. A page of a timeline is one query on
the `item_timeline` index, newest first by (`occurred_at`, `id`).
"""

import operator
from functools import reduce

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import Q

from core.models import TenantModel

# One text-search configuration for every indexed column and every query: PostgreSQL uses an
# expression index only when the query's expression is the same, configuration included.
SEARCH_CONFIG = "english"


def search_vector(column: str) -> SearchVector:
    return SearchVector(column, config=SEARCH_CONFIG)


class Contact(TenantModel):
    """Someone a tenant talks to, known by their E.164 number."""

    SID_PREFIX = "CT"

    phone_number = models.CharField(max_length=16)
    name = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "phone_number"], name="contact_unique_number")
        ]


class Conversation(TenantModel):
    """Everything between one of the tenant's numbers and one contact, across calls and texts."""

    SID_PREFIX = "CV"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    tenant_number = models.CharField(max_length=16)
    last_activity_at = models.DateTimeField()
    # The inbox's preview is the newest item itself, read through the join (never a copied body).
    last_item = models.ForeignKey("Item", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    unread_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "tenant_number", "contact"], name="conversation_unique_thread"
            )
        ]
        indexes = [
            models.Index(fields=["account", "-last_activity_at", "-id"], name="conversation_inbox"),
            models.Index(
                fields=["account", "-last_activity_at", "-id"],
                condition=Q(unread_count__gt=0),
                name="conversation_inbox_unread",
            ),
        ]


class Note(TenantModel):
    """An agent's note on a conversation; searchable like message bodies."""

    SID_PREFIX = "NT"
    MAX_LENGTH = 4000

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey("tenants.User", null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()

    class Meta:
        indexes = [GinIndex(search_vector("text"), name="note_text_search")]


class AgentTurn(TenantModel):
    """One exchange between a caller and a built-in AI agent (ai/): what the caller said (or pressed),
    what the agent answered, the tools it called, and how long each step took (milliseconds by name:
    `first_token_ms`, `reply_ms`). Written by ai's runtime; conversations knows nothing of agents."""

    SID_PREFIX = "AT"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="agent_turns")
    call = models.ForeignKey("voice.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent_sid = models.CharField(max_length=34)
    caller_text = models.TextField(blank=True)
    agent_text = models.TextField(blank=True)
    tool_calls = models.JSONField(default=list)  # [{"name", "arguments", "result"}]
    timings = models.JSONField(default=dict)


class ItemKind(models.TextChoices):
    """What a timeline item shows; each value is also the name of the reference field it sets."""

    CALL = "call"
    MESSAGE = "message"
    RECORDING = "recording"
    NOTE = "note"
    AGENT_TURN = "agent_turn"


def _only_reference(kind: str) -> Q:
    return Q(kind=kind, **{f"{other}__isnull": other != kind for other in ItemKind.values})


class Item(TenantModel):
    """One entry in a conversation's timeline; exactly the reference named by `kind` is set."""

    SID_PREFIX = "TI"

    Kind = ItemKind

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    # No plain indexes on the references: the partial unique indexes below serve every lookup.
    call = models.ForeignKey(
        "voice.Call", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    recording = models.ForeignKey(
        "voice.Recording", null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    note = models.OneToOneField(Note, null=True, blank=True, on_delete=models.CASCADE, related_name="item")
    agent_turn = models.OneToOneField(
        AgentTurn, null=True, blank=True, on_delete=models.CASCADE, related_name="item"
    )

    class Meta:
        indexes = [models.Index(fields=["conversation", "-occurred_at", "-id"], name="item_timeline")]
        constraints = [
            # One item per call, message or recording: logging the same thing twice changes nothing.
            *(
                models.UniqueConstraint(
                    fields=[kind], condition=Q(**{f"{kind}__isnull": False}), name=f"item_unique_{kind}"
                )
                for kind in ("call", "message", "recording")
            ),
            models.CheckConstraint(
                condition=reduce(operator.or_, map(_only_reference, ItemKind.values)),
                name="item_one_reference",
            ),
        ]
