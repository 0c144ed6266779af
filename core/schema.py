"""OpenAPI description of the Twilio-compatible API, as drf-spectacular generates it, and the page
that shows it.

Requests are form-encoded with Twilio's PascalCase names, while our serializers use snake_case
(the parser converts); the post-processing hook renames request properties so the published
schema says what clients really send. The native API under /api/v1/ is snake_case on the wire.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularRedocView
from rest_framework.request import Request
from rest_framework.response import Response

from core.middleware import TWILIO_API_PREFIXES
from core.parsers import pascal_case

# Redoc styles itself with inline <style> elements (styled-components), draws icons from data: URLs
# and runs its search in a blob: worker; everything else is the portal's policy
# (settings.CONTENT_SECURITY_POLICY).
API_DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


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
        if path.startswith(TWILIO_API_PREFIXES)
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


class ApiDocsView(SpectacularRedocView):
    """The API reference (Redoc, from the sidecar package's static files): no web fonts from another
    origin (templates/api_docs.html), and a policy that lets Redoc style itself but load nothing else."""

    schema = None  # not part of the published API
    template_name = "api_docs.html"

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = API_DOCS_CONTENT_SECURITY_POLICY
        return response
