"""The native conversations API under /api/v1/: the inbox, a timeline, search, and adding notes
(the views derive from core/native.py's `NativeView`)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
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
    contact_get,
    conversation_get,
    conversation_list,
    item_list,
    item_search,
)
from conversations.services import contact_update, note_add
from core.error_codes import ErrorCode
from core.errors import TwilioError, not_found
from core.native import PAGING, NativeView

MAX_QUERY_LENGTH = 256
TAGS = ["Conversations"]


class ConversationsView(NativeView):
    model = Conversation

    def conversation(self, sid: str) -> Conversation:
        found = conversation_get(account=self.tenant.account, sid=sid)
        if found is None:
            raise not_found(self.request.path)
        return found


class ConversationListView(ConversationsView):
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
        unread_only = request.query_params.get("unread") == "true"
        return self.render_cursor_page(
            "conversations",
            lambda cursor, size: conversation_list(
                account=self.tenant.account, after=cursor, size=size, unread_only=unread_only
            ),
            ConversationOutput,
        )


class ConversationDetailView(ConversationsView):
    """One conversation, with its contact and newest item."""

    @extend_schema(operation_id="fetchConversation", tags=TAGS, responses=ConversationOutput)
    def get(self, request: Request, sid: str) -> Response:
        return Response(ConversationOutput(self.conversation(sid)).data)


class ItemListView(ConversationsView):
    """Calls and texts (with their current status), recordings and notes in one timeline, newest first."""

    @extend_schema(
        operation_id="listConversationItems",
        tags=TAGS,
        summary="A conversation's timeline (calls, texts, recordings, notes), newest first",
        parameters=PAGING,
        responses=ItemPageOutput,
    )
    def get(self, request: Request, sid: str) -> Response:
        conversation = self.conversation(sid)
        return self.render_cursor_page(
            "items",
            lambda cursor, size: item_list(conversation=conversation, after=cursor, size=size),
            ItemOutput,
        )


class NoteListView(ConversationsView):
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


class SearchView(ConversationsView):
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
            raise TwilioError(ErrorCode.UNKNOWN_PARAMETERS, "Missing required parameter q", 400)
        if len(text) > MAX_QUERY_LENGTH:
            raise TwilioError(
                ErrorCode.INVALID_PARAMETER,
                f"Invalid parameter q: longer than {MAX_QUERY_LENGTH} characters",
                400,
            )
        return self.render_cursor_page(
            "items",
            lambda cursor, size: item_search(account=self.tenant.account, text=text, after=cursor, size=size),
            SearchHitOutput,
        )


class ContactDetailView(ConversationsView):
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
