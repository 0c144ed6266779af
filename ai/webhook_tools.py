"""Tenant-defined webhook tools: a spec checked when an agent is saved, and a call made when its model asks.

A webhook tool is a function the tenant's own server performs: the model sees its name, description
and JSON-schema parameters; the platform checks the model's arguments against that schema and POSTs
them (or GETs them) to the tenant's URL, signed with the account's auth token as every webhook is
(`core.webhooks`: X-Twilio-Signature over the form parameters, the destination policy, a deadline and a
body cap). The tool runs under the call's tenant only: the signing token and the spec are the caller's
agent's, never anything a model or a caller said. Whatever goes wrong reaches the model as a JSON
`{"error": ...}` it can read and tell the caller about; a failing tool never ends the call.
"""

import json
import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ai import tool_arguments
from ai.brains.base import ToolSpec
from core import webhooks
from core.error_codes import ErrorCode
from core.errors import TwilioError

logger = logging.getLogger(__name__)

TIMEOUT_S = 8.0  # the whole request: a caller waits on it, with the agent saying so
MAX_RESULT_BYTES = 8 * 1024  # a result is read into the model's context, at the tenant's token cost
MAX_DESCRIPTION_CHARS = 1024
MAX_URL_CHARS = 1024
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what OpenAI's function names allow
MAX_TOOLS = 16
FIELDS = frozenset({"name", "description", "parameters", "url", "method"})


@dataclass(frozen=True)
class WebhookTool:
    name: str
    description: str
    parameters: dict[str, Any]
    url: str
    method: str  # GET or POST

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)


@dataclass(frozen=True)
class ToolResult:
    content: str  # JSON text: the tool's answer, or {"error": why}; what the model reads
    is_error: bool = False


def _invalid(field: str, key: str, why: str, code: int = ErrorCode.INVALID_PARAMETER) -> TwilioError:
    return TwilioError(code, f"Invalid parameter {field}.{key.capitalize()}: {why}")


def _url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        return f"must be an http(s) URL of at most {MAX_URL_CHARS} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port out of range raises here)
    except ValueError:
        return f"{url} is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url} is not a valid URL"
    return None


def webhook_tool_check(
    spec: Mapping[str, Any], *, reserved: Collection[str] = (), field: str = "WebhookTools"
) -> WebhookTool:
    """The tool `spec` describes ({name, description, parameters, url, method}), or TwilioError naming
    the field (`field` is where the spec sits in the request, e.g. "WebhookTools[2]") and what is wrong.
    `reserved` are the names the agent's built-in tools take."""
    if not isinstance(spec, Mapping):
        raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid parameter {field}: must be a JSON object")
    if unknown := sorted(set(spec) - FIELDS):
        raise _invalid(field, unknown[0], "is not a webhook tool field", ErrorCode.UNKNOWN_PARAMETERS)
    name, description = spec.get("name"), spec.get("description")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise _invalid(field, "name", "must be 1 to 64 letters, digits, _ or -")
    if name in reserved:
        raise _invalid(field, "name", f"{name} is a built-in tool's name")
    if not isinstance(description, str) or not 0 < len(description.strip()) <= MAX_DESCRIPTION_CHARS:
        raise _invalid(field, "description", f"must be text of 1 to {MAX_DESCRIPTION_CHARS} characters")
    parameters = spec.get("parameters", {"type": "object", "properties": {}})
    if problem := tool_arguments.schema_problem(parameters):
        raise _invalid(field, "parameters", problem)
    if problem := _url_problem(spec.get("url")):
        raise _invalid(field, "url", problem, ErrorCode.INVALID_URL)
    method = spec.get("method", "POST")
    if not isinstance(method, str) or method.upper() not in ("GET", "POST"):
        raise _invalid(field, "method", "must be GET or POST")
    return WebhookTool(name, description.strip(), dict(parameters), spec["url"], method.upper())


def webhook_tools_check(
    specs: Any, *, reserved: Collection[str] = (), field: str = "WebhookTools"
) -> list[WebhookTool]:
    """An agent's list of webhook tools, each `webhook_tool_check`ed, their names distinct."""
    if not isinstance(specs, list) or len(specs) > MAX_TOOLS:
        raise TwilioError(
            ErrorCode.INVALID_PARAMETER, f"Invalid parameter {field}: must be a list of at most {MAX_TOOLS}"
        )
    tools = [
        webhook_tool_check(spec, reserved=reserved, field=f"{field}[{i}]") for i, spec in enumerate(specs)
    ]
    names = [tool.name for tool in tools]
    if duplicate := next((name for name in names if names.count(name) > 1), None):
        raise TwilioError(
            ErrorCode.INVALID_PARAMETER, f"Invalid parameter {field}: {duplicate} is named twice"
        )
    return tools


def _error(why: str) -> ToolResult:
    return ToolResult(json.dumps({"error": why}), is_error=True)


def _result(answer: webhooks.Answer) -> ToolResult:
    if not answer.response.is_success:
        return _error(f"the tool's server answered HTTP {answer.response.status_code}")
    if len(answer.content) > MAX_RESULT_BYTES:
        return _error(f"the tool's answer is over {MAX_RESULT_BYTES} bytes")
    try:
        value = json.loads(answer.content or b"null")
    except ValueError:
        return _error("the tool's server answered something other than JSON")
    return ToolResult(json.dumps(value, ensure_ascii=False))


async def webhook_tool_call(
    http: httpx.AsyncClient,
    *,
    tool: WebhookTool,
    arguments: Mapping[str, Any],
    account_sid: str,
    call_sid: str,
    auth_token: str,
    timeout: float = TIMEOUT_S,
) -> ToolResult:
    """Run the tool on the tenant's server: `arguments` checked against its schema (again: they come
    from a model), then sent signed (`Arguments` as JSON, with `ToolName`, `AccountSid`, `CallSid`)
    through `http` (an `egress.async_client`). Never raises for the tool's failures: they are the result."""
    try:
        tool_arguments.checked(dict(arguments), tool.parameters)
    except tool_arguments.Refused as refused:
        return _error(refused.reason)
    params = {
        "AccountSid": account_sid,
        "CallSid": call_sid,
        "ToolName": tool.name,
        "Arguments": json.dumps(arguments, ensure_ascii=False),
    }
    try:
        answer = await webhooks.request_async(
            http, url=tool.url, method=tool.method, params=params, auth_token=auth_token, timeout=timeout
        )
    except webhooks.NoAnswer as failed:
        return _error(f"the tool's server did not answer ({failed.reason})")
    except Exception:  # a tool is a tenant's code path: whatever breaks, the call goes on
        logger.exception("webhook tool %s of %s failed", tool.name, account_sid)
        return _error("the tool failed")
    return _result(answer)
