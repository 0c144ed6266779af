"""Tenant-defined webhook tools: the spec checked on save, and calls to a real HTTP server on loopback,
signed as every webhook is (checked with the official Twilio SDK's RequestValidator)."""

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from ai.webhook_tools import (
    ToolResult,
    WebhookTool,
    webhook_tool_call,
    webhook_tool_check,
    webhook_tools_check,
)
from core import egress
from core.errors import TwilioError
from tests.core.test_webhooks import Receiver
from tests.live import free_port

SCHEMA = {
    "type": "object",
    "properties": {"patient": {"type": "string"}, "day": {"type": "string", "enum": ["mon", "tue"]}},
    "required": ["patient", "day"],
}
SPEC = {
    "name": "book_appointment",
    "description": "Book the caller an appointment",
    "parameters": SCHEMA,
    "url": "https://clinic.example.com/tools/book",
}
ACCOUNT, CALL = "AC" + "a" * 32, "CA" + "c" * 32
ARGUMENTS = '{"patient": "Ana Lima", "day": "tue"}'


def test_a_valid_spec_becomes_a_tool_posting_by_default() -> None:
    tool = webhook_tool_check(SPEC)
    assert tool == WebhookTool("book_appointment", SPEC["description"], SCHEMA, SPEC["url"], "POST")
    assert tool.spec.name == "book_appointment" and tool.spec.parameters == SCHEMA


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"name": "book appointment"}, 20422, "Tools[1].Name: must be 1 to 64 letters"),
        ({"name": "transfer_to_human"}, 20422, "Tools[1].Name: transfer_to_human is a built-in tool's name"),
        ({"description": " "}, 20422, "Tools[1].Description: must be text"),
        (
            {"parameters": {"type": "string"}},
            20422,
            'Tools[1].Parameters: must be a JSON schema object with "type"',
        ),
        (
            {"parameters": {"type": "object", "properties": {"x": {"type": "strin"}}}},
            20422,
            "is not a valid JSON schema",
        ),
        (
            {"parameters": {"type": "object", "properties": {"x": {"type": "string", "pattern": "(a+)+$"}}}},
            20422,
            "Tools[1].Parameters: may not use pattern",
        ),
        (
            {"parameters": {"type": "object", "$ref": "https://evil.example/s.json"}},
            20422,
            "only within itself",
        ),
        (
            {"url": "ftp://clinic.example.com/x"},
            21205,
            "Tools[1].Url: ftp://clinic.example.com/x is not a valid URL",
        ),
        ({"url": "https://clinic.example.com:99999/"}, 21205, "is not a valid URL"),
        ({"method": "DELETE"}, 20422, "Tools[1].Method: must be GET or POST"),
        ({"headers": {"X": "1"}}, 20001, "Tools[1].Headers: is not a webhook tool field"),
    ],
)
def test_a_bad_spec_is_a_twilio_error_naming_the_field(
    change: dict[str, Any], code: int, message: str
) -> None:
    with pytest.raises(TwilioError) as error:
        webhook_tool_check(SPEC | change, reserved={"transfer_to_human", "send_text"}, field="Tools[1]")
    assert error.value.twilio_code == code and message in error.value.message


def test_an_agents_list_of_tools_is_checked_tool_by_tool() -> None:
    second = SPEC | {"name": "cancel_appointment"}
    assert [t.name for t in webhook_tools_check([SPEC, second])] == ["book_appointment", "cancel_appointment"]
    with pytest.raises(TwilioError, match=r"WebhookTools\[1\].Url"):
        webhook_tools_check([SPEC, second | {"url": "mailto:x@example.com"}])
    with pytest.raises(TwilioError, match="book_appointment is named twice"):
        webhook_tools_check([SPEC, SPEC])
    with pytest.raises(TwilioError, match="must be a list of at most 16"):
        webhook_tools_check([SPEC] * 17)


def test_a_property_named_pattern_is_allowed() -> None:
    schema = {"type": "object", "properties": {"pattern": {"type": "string"}}}
    assert webhook_tool_check(SPEC | {"parameters": schema}).parameters == schema


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([200], answer=b'{"booked": true, "time": "09:30"}', content_type="application/json")
    yield r
    r.close()


def call(url: str, arguments: str = ARGUMENTS, *, method: str = "POST", timeout: float = 5) -> ToolResult:
    """The tool called with the model's `arguments` as JSON text."""
    tool = webhook_tool_check(SPEC | {"url": url, "method": method})

    async def run() -> ToolResult:
        async with egress.async_client(timeout=5) as http:
            return await webhook_tool_call(
                http,
                tool=tool,
                arguments=json.loads(arguments),
                account_sid=ACCOUNT,
                call_sid=CALL,
                auth_token="clinic-token",
                timeout=timeout,
            )

    return asyncio.run(run())


def test_a_call_posts_the_arguments_signed_and_returns_the_json_answer(receiver: Receiver) -> None:
    url = receiver.url + "/tools/book"
    assert call(url) == ToolResult('{"booked": true, "time": "09:30"}')
    (request,) = receiver.requests
    form = {name: values[0] for name, values in request["form"].items()}
    assert form == {
        "AccountSid": ACCOUNT,
        "CallSid": CALL,
        "ToolName": "book_appointment",
        "Arguments": '{"patient": "Ana Lima", "day": "tue"}',
    }
    signed = request["headers"]["X-Twilio-Signature"]
    assert RequestValidator("clinic-token").validate(url, form, signed)
    assert not RequestValidator("another-tenants-token").validate(url, form, signed)


def test_a_get_tool_sends_the_arguments_in_the_signed_query(receiver: Receiver) -> None:
    assert not call(receiver.url + "/tools/book", method="GET").is_error
    (request,) = receiver.requests
    assert request["method"] == "GET" and "ToolName=book_appointment" in request["path"]
    assert RequestValidator("clinic-token").validate(
        receiver.url + request["path"], {}, request["headers"]["X-Twilio-Signature"]
    )


def test_arguments_off_the_schema_are_refused_before_any_request(receiver: Receiver) -> None:
    result = call(receiver.url, '{"patient": "Ana", "day": "sun"}')
    assert result.is_error and json.loads(result.content) == {
        "error": "day: 'sun' is not one of ['mon', 'tue']"
    }
    assert receiver.requests == []


def error_of(result: ToolResult) -> str:
    assert result.is_error
    return str(json.loads(result.content)["error"])


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (500, b'{"ok": false}', "the tool's server answered HTTP 500"),
        (200, b"<html>booked</html>", "the tool's server answered something other than JSON"),
        (200, b'{"x": "' + b"y" * 9000 + b'"}', "the tool's answer is over 8192 bytes"),
    ],
)
def test_a_failing_tool_is_an_error_the_model_reads(status: int, answer: bytes, error: str) -> None:
    failing = Receiver([status], answer=answer)
    try:
        assert error_of(call(failing.url)) == error
    finally:
        failing.close()


def test_a_slow_or_absent_tool_server_is_an_error_within_the_timeout() -> None:
    slow = Receiver([200], delay=2, answer=b"{}")
    try:
        started = time.monotonic()
        assert (
            error_of(call(slow.url, timeout=0.4))
            == "the tool's server did not answer (no answer from 127.0.0.1)"
        )
        assert time.monotonic() - started < 1.5
    finally:
        slow.close()
    assert error_of(call(f"http://127.0.0.1:{free_port()}/")) == (
        "the tool's server did not answer (no answer from 127.0.0.1)"
    )


def test_a_tool_on_a_refused_address_is_never_called(receiver: Receiver, settings: Any) -> None:
    settings.EGRESS_ALLOW = []  # as in production: loopback is no tenant's
    assert "is not an allowed destination" in error_of(call(receiver.url))
    assert receiver.requests == []
