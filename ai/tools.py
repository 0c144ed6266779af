"""The built-in tools an agent may be given, as the brain sees them (`ToolSpec`s) and as they run
during a call (`CallTools`) or in the portal's test console (`ConsoleTools`, which changes nothing).

`transfer_to_human` and `end_call` end the session and are the runtime's own (ai/runtime.py); the
tools here have effects under the call's tenant only: the account, the call and both numbers come
from the authenticated session, never from the arguments a model (or a caller's words) supplied.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from ai.brains.base import ToolSpec
from ai.runtime import ToolResult
from ai.webhook_tools import TIMEOUT_S as WEBHOOK_TIMEOUT_S
from ai.webhook_tools import WebhookTool, webhook_tool_call
from conversations.models import Conversation, Item
from core import egress
from core.errors import TwilioError
from core.tenancy import tenant_scope
from messaging.create import message_create_for_call

HISTORY_ITEMS = 5
MAX_TEXT_CHARS = 640  # four segments: a text, not a letter

BUILTIN_SPECS = {
    "transfer_to_human": ToolSpec(
        name="transfer_to_human",
        description="Hand the caller to a person in the team, with a short summary of what they need.",
        parameters={
            "type": "object",
            "properties": {
                "queue": {"type": "string", "description": "Which team, if the caller named one."},
                "summary": {"type": "string", "description": "What the caller needs, in a sentence or two."},
            },
            "required": ["summary"],
        },
    ),
    "send_text": ToolSpec(
        name="send_text",
        description="Send the caller a text message from this number; they can reply to it.",
        parameters={
            "type": "object",
            "properties": {"body": {"type": "string", "description": "The text to send."}},
            "required": ["body"],
        },
    ),
    "end_call": ToolSpec(
        name="end_call",
        description="End the call once the caller has what they need and has said goodbye.",
        parameters={"type": "object", "properties": {}},
    ),
    "lookup_history": ToolSpec(
        name="lookup_history",
        description="The caller's recent calls and texts with us (this business only).",
        parameters={"type": "object", "properties": {}},
    ),
}


def tool_specs(*, builtin: Sequence[str], webhook: Sequence[ToolSpec]) -> list[ToolSpec]:
    """What the brain is offered: the agent's built-ins, then its webhook tools."""
    return [BUILTIN_SPECS[name] for name in builtin if name in BUILTIN_SPECS] + list(webhook)


@dataclass(frozen=True)
class CallContext:
    """The authenticated session's call: whose it is, between which numbers, and what signs its
    webhook tools' requests (the account's auth token, as every webhook is signed)."""

    account_id: uuid.UUID
    call_id: uuid.UUID
    caller: str
    ours: str
    account_sid: str = ""
    call_sid: str = ""
    auth_token: str = field(default="", repr=False)
    webhook_tools: tuple[WebhookTool, ...] = ()


def _result(**content: Any) -> ToolResult:
    return ToolResult(json.dumps(content), is_error="error" in content)


def send_text(*, context: CallContext, body: str) -> ToolResult:
    """Text the caller from the number they called, linked to the call (so it joins their
    conversation, and their reply lands there); messaging's refusals come back as the tool's error."""
    body = body.strip()[:MAX_TEXT_CHARS]
    if not body:
        return _result(error="the text is empty")
    try:
        sid = message_create_for_call(
            account_id=context.account_id,
            call_id=context.call_id,
            to=context.caller,
            from_=context.ours,
            body=body,
            status_callback="",
        )
    except TwilioError as refused:
        return _result(error=refused.message)
    return _result(message_sid=sid, say="I have sent you a text. You can reply to it any time.")


def _describe(item: Item) -> dict[str, str]:
    """What the model may tell the caller of one earlier contact: its kind, date, direction or outcome,
    never a text's words. Caller ID proves nothing (anyone can present a patient's number), and the
    model may repeat what it is given to whoever is on the line."""
    described = {"kind": item.kind, "at": item.occurred_at.date().isoformat()}
    if item.message is not None:
        described["direction"] = item.message.direction
    elif item.call is not None:
        described["status"] = item.call.status
    return described


def lookup_history(*, context: CallContext) -> ToolResult:
    """The caller's latest calls and texts with this tenant's number, this call (and its texts) left out."""
    with tenant_scope(context.account_id):
        conversation = Conversation.objects.filter(
            account_id=context.account_id, tenant_number=context.ours, contact__phone_number=context.caller
        ).first()
        if conversation is None:
            return _result(items=[], say="I cannot see any earlier calls or texts from this number.")
        items = list(
            Item.objects.filter(conversation=conversation, kind__in=[Item.Kind.CALL, Item.Kind.MESSAGE])
            .exclude(call_id=context.call_id)
            .exclude(message__call_id=context.call_id)
            .select_related("call", "message")
            .order_by("-occurred_at", "-id")[:HISTORY_ITEMS]
        )
    if not items:
        return _result(items=[], say="I cannot see any earlier calls or texts from this number.")
    last = items[0]
    when = f"{last.occurred_at:%B %d}"
    say = f"I can see {len(items)} earlier contacts with us; the last was a {last.kind} on {when}."
    return _result(items=[_describe(item) for item in items], say=say)


class CallTools:
    """The tools with effects during a real call (a `runtime.ToolRunner`)."""

    def __init__(self, context: CallContext) -> None:
        self.context = context

    async def run(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        if name == "send_text":
            return await sync_to_async(send_text)(context=self.context, body=str(arguments.get("body", "")))
        if name == "lookup_history":
            return await sync_to_async(lookup_history)(context=self.context)
        tool = next((tool for tool in self.context.webhook_tools if tool.name == name), None)
        if tool is None:
            return _result(error=f"tool {name!r} cannot run here")
        async with egress.async_client(timeout=WEBHOOK_TIMEOUT_S) as http:
            answer = await webhook_tool_call(
                http,
                tool=tool,
                arguments=arguments,
                account_sid=self.context.account_sid,
                call_sid=self.context.call_sid,
                auth_token=self.context.auth_token,
            )
        return ToolResult(answer.content, is_error=answer.is_error)


class ConsoleTools:
    """The portal's test console: says what a tool would do and does nothing (no call, no texts)."""

    async def run(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        if name == "send_text":
            body = str(arguments.get("body", ""))
            return _result(say=f"(Test console: no text sent. It would say: {body})")
        return _result(say=f"(Test console: {name} is not run here.)")
