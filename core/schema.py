"""OpenAPI description of the Twilio-compatible API, as drf-spectacular generates it, and the page
that shows it.

Requests are form-encoded with Twilio's PascalCase names, while our serializers use snake_case
(the parser converts); the post-processing hook renames request properties so the published
schema says what clients really send. The native API under /api/v1/ is snake_case on the wire.
"""

import functools
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
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


REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
# Redoc's sidebar footer ("API docs by Redocly") always draws its logo from Redocly's CDN: the page's
# one request to another origin, which the policy blocks and logs as a violation. The bundle is served
# with an empty image of our own there instead (img-src allows data:); the credit's words stay.
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='0' height='0'/%3E"


@functools.cache
def _redoc_script() -> bytes:
    found = finders.find(REDOC_BUNDLE)
    if not isinstance(found, str):
        raise FileNotFoundError(REDOC_BUNDLE)
    return Path(found).read_text(encoding="utf-8").replace(REDOC_CDN_LOGO, EMPTY_IMAGE).encode()


def redoc_script_view(request: HttpRequest) -> HttpResponse:
    """The sidecar's Redoc bundle without its CDN logo, made once per process, cached a day by browsers."""
    response = HttpResponse(_redoc_script(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


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
    origin (templates/api_docs.html), no logo from Redocly's CDN (`redoc_script_view`), and a policy
    that lets Redoc style itself but load nothing else."""

    schema = None  # not part of the published API
    template_name = "api_docs.html"

    @staticmethod
    def _redoc_standalone() -> str:
        return reverse("api-docs-redoc")

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = API_DOCS_CONTENT_SECURITY_POLICY
        return response
