"""OpenAPI description of the Twilio-compatible API, as drf-spectacular generates it.

Requests are form-encoded with Twilio's PascalCase names, while our serializers use snake_case
(the parser converts); the post-processing hook renames request properties so the published
schema says what clients really send. The native API under /api/v1/ is snake_case on the wire.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from core.parsers import pascal_case


class TwilioBasicAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "core.auth.TwilioBasicAuthentication"
    name = "twilioBasic"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "AccountSid:AuthToken, or ApiKeySid:ApiKeySecret with the AccountSid in the path.",
        }


def _twilio_request_components(result: dict[str, Any]) -> set[str]:
    """Request bodies of the Twilio-compatible paths; the native API (/api/v1/) keeps snake_case."""
    return {
        content["schema"]["$ref"].rsplit("/", 1)[-1]
        for path, operations in result.get("paths", {}).items()
        if path.startswith("/2010-04-01/")
        for operation in operations.values()
        for content in operation.get("requestBody", {}).get("content", {}).values()
        if "$ref" in content.get("schema", {})
    }


def pascal_case_requests(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    twilio_requests = _twilio_request_components(result)
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name in twilio_requests and "properties" in component:
            component["properties"] = {pascal_case(k): v for k, v in component["properties"].items()}
            if "required" in component:
                component["required"] = [pascal_case(k) for k in component["required"]]
    return result
