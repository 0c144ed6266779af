"""The native conversations API under /api/v1/: the inbox, a timeline, search, and adding notes.

Same credentials, tenancy, throttling and error bodies as the Twilio-compatible API (the views
derive from `TwilioView`); snake_case JSON in and out, and keyset paging by opaque `cursor`.
"""

from typing import Any
from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from conversations.api.serializers import (
    ContactInput,
    ContactOutput,
    ConversationOutput,
    ConversationPageOutput,
    ItemOutput,
    ItemPageOutput,
    NoteInput,
    SearchHitOutput,
    SearchPageOutput,
)
from conversations.models import Conversation, Item
from conversations.selectors import (
    Cursor,
    InvalidCursor,
    Page,
    contact_get,
    conversation_get,
    conversation_list,
    item_list,
    item_search,
)
from conversations.services import contact_update, note_add
from core.api import TwilioView
from core.errors import TwilioError, not_found
from core.parsers import StrictFormParser, natural_number

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_QUERY_LENGTH = 256
PAGING = [
    OpenApiParameter("cursor", str, description="`next_cursor` of the previous page."),
    OpenApiParameter("page_size", int, description=f"1 to {MAX_PAGE_SIZE}; {DEFAULT_PAGE_SIZE} by default."),
]
TAGS = ["Conversations"]


def invalid_cursor(token: str | None) -> TwilioError:
    return TwilioError(21481, f"Invalid cursor: {token}", 400)


class NativeView(TwilioView):
    """JSON or form bodies; errors name parameters as sent (snake_case), in Twilio's error body."""

    model = Conversation
    parser_classes = [JSONParser, StrictFormParser]

    def page_size(self) -> int:
        size = natural_number(self.request.query_params.get("page_size") or str(DEFAULT_PAGE_SIZE))
        if size is None or not 1 <= size <= MAX_PAGE_SIZE:
            raise TwilioError(20007, f"page_size must be between 1 and {MAX_PAGE_SIZE}", 400)
        return size

    def paging(self) -> tuple[Cursor | None, int]:
        token = self.request.query_params.get("cursor")
        size = self.page_size()
        try:
            return (Cursor.decode(token) if token else None), size
        except InvalidCursor as exc:
            raise invalid_cursor(token) from exc

    def render_keyset(self, key: str, page: Page, serializer: type[serializers.Serializer]) -> Response:
        return self.render_rows(
            key, page.rows, page.next_cursor.encode() if page.next_cursor else None, serializer
        )

    def render_rows(
        self, key: str, rows: Any, token: str | None, serializer: type[serializers.Serializer]
    ) -> Response:
        """A page of the native API: the rows, the next page's cursor and its URL (same query)."""
        kept = [(k, v) for k, v in self.request.query_params.items() if k != "cursor"]
        return Response(
            {
                key: serializer(rows, many=True).data,
                "next_cursor": token,
                "next_page_url": f"{self.request.path}?{urlencode([*kept, ('cursor', token)])}"
                if token
                else None,
            }
        )

    def conversation(self, sid: str) -> Conversation:
        found = conversation_get(account=self.tenant.account, sid=sid)
        if found is None:
            raise not_found(self.request.path)
        return found

    def validated_native(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        if not serializer.is_valid():
            field, [error, *_] = next(iter(serializer.errors.items()))
            if error.code == "required":
                raise TwilioError(20001, f"Missing required parameter {field}", 400)
            if field == "non_field_errors":  # the body is not an object at all
                raise TwilioError(20422, str(error), 400)
            raise TwilioError(20422, f"Invalid parameter {field}: {error}", 400)
        return dict(serializer.validated_data)


class ConversationListView(NativeView):
    """Each conversation is one of the account's numbers and one contact, with its newest item."""

    @extend_schema(
        operation_id="listConversations",
        tags=TAGS,
        summary="The inbox: conversations by latest activity, newest first",
        parameters=[
            *PAGING,
            OpenApiParameter("unread", bool, description="`true`: only those with unread calls or texts."),
        ],
        responses=ConversationPageOutput,
    )
    def get(self, request: Request) -> Response:
        cursor, size = self.paging()
        unread_only = request.query_params.get("unread") == "true"
        page = conversation_list(
            account=self.tenant.account, after=cursor, size=size, unread_only=unread_only
        )
        return self.render_keyset("conversations", page, ConversationOutput)


class ConversationDetailView(NativeView):
    """One conversation, with its contact and newest item."""

    @extend_schema(operation_id="fetchConversation", tags=TAGS, responses=ConversationOutput)
    def get(self, request: Request, sid: str) -> Response:
        return Response(ConversationOutput(self.conversation(sid)).data)


class ItemListView(NativeView):
    """Calls and texts (with their current status), recordings and notes in one timeline, newest first."""

    @extend_schema(
        operation_id="listConversationItems",
        tags=TAGS,
        summary="A conversation's timeline (calls, texts, recordings, notes), newest first",
        parameters=PAGING,
        responses=ItemPageOutput,
    )
    def get(self, request: Request, sid: str) -> Response:
        cursor, size = self.paging()
        page = item_list(conversation=self.conversation(sid), after=cursor, size=size)
        return self.render_keyset("items", page, ItemOutput)


class NoteListView(NativeView):
    """`text` as JSON or form field; the note appears in the timeline and the audit log."""

    @extend_schema(
        operation_id="createConversationNote",
        tags=TAGS,
        summary="Add a note to a conversation's timeline",
        request=NoteInput,
        responses={201: ItemOutput},
    )
    def post(self, request: Request, sid: str) -> Response:
        conversation = self.conversation(sid)
        text = self.validated_native(NoteInput)["text"]
        note = note_add(
            account=self.tenant.account,
            conversation=conversation,
            author=None,
            text=text,
            actor=self.tenant.actor,
        )
        item = Item.objects.select_related("note").get(note=note)
        return Response(ItemOutput(item).data, status=201)


class SearchView(NativeView):
    """Matches across the account's conversations, each with its contact, newest first."""

    @extend_schema(
        operation_id="searchConversations",
        tags=TAGS,
        summary="Full-text search of message bodies and notes, newest first",
        parameters=[
            OpenApiParameter(
                "q",
                str,
                required=True,
                description='Web-search syntax: words, "a phrase", -excluded, or.',
            ),
            *PAGING,
        ],
        responses=SearchPageOutput,
    )
    def get(self, request: Request) -> Response:
        text = request.query_params.get("q", "").strip()
        if not text:
            raise TwilioError(20001, "Missing required parameter q", 400)
        if len(text) > MAX_QUERY_LENGTH:
            raise TwilioError(20422, f"Invalid parameter q: longer than {MAX_QUERY_LENGTH} characters", 400)
        cursor, size = self.paging()
        page = item_search(account=self.tenant.account, text=text, after=cursor, size=size)
        return self.render_keyset("items", page, SearchHitOutput)


class ContactDetailView(NativeView):
    """A contact appears in every conversation with them; a blank `name` clears it."""

    @extend_schema(
        operation_id="updateContact",
        tags=TAGS,
        summary="Name a contact",
        request=ContactInput,
        responses=ContactOutput,
    )
    def post(self, request: Request, sid: str) -> Response:
        contact = contact_get(account=self.tenant.account, sid=sid)
        if contact is None:
            raise not_found(request.path)
        name = self.validated_native(ContactInput)["name"]
        updated = contact_update(
            account=self.tenant.account, contact=contact, name=name, actor=self.tenant.actor
        )
        return Response(ContactOutput(updated).data)
