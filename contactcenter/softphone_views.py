"""The softphone's portal routes: its SIP credentials for the signed-in member (JSON), the JsSIP
script, and a page that hosts the phone alone (the agent console includes the same partial)."""

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from contactcenter.softphone import (
    NotAWorker,
    SoftphoneUnavailable,
    softphone_credentials_issue,
    softphone_server,
    softphone_ws_url,
)
from core.commonjs import bundle
from tenants.portal import portal_view

View = Callable[..., HttpResponse]


def hosts_softphone(view: View) -> View:
    """For a page that includes the softphone partial: its policy lets the page's script reach the
    media server's websocket (another origin than the portal's), and nothing more."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        try:
            url = urlsplit(softphone_ws_url(softphone_server()))
        except SoftphoneUnavailable:
            return response  # the phone will say it cannot register; the page still works
        policy = settings.CONTENT_SECURITY_POLICY.replace(
            "connect-src 'self'", f"connect-src 'self' {url.scheme}://{url.netloc}"
        )
        response.headers["Content-Security-Policy"] = policy
        return response

    return wrapper


@require_POST
@portal_view()
def softphone_credentials_view(request: HttpRequest) -> JsonResponse:
    """POST: fresh credentials (the member's previous ones stop working). Any role may have a worker;
    who has none gets 403."""
    tenant = request.tenant  # type: ignore[attr-defined]
    try:
        credentials = softphone_credentials_issue(
            membership=tenant.membership, actor=tenant.actor, worker_sid=request.POST.get("worker", "")
        )
    except NotAWorker as exc:
        return JsonResponse({"message": str(exc)}, status=403)
    except SoftphoneUnavailable as exc:
        return JsonResponse({"message": f"The phone service is unavailable: {exc}"}, status=503)
    response = JsonResponse({**credentials.as_json(), "ice_servers": []})
    response["Cache-Control"] = "no-store"
    return response


@functools.cache
def _jssip_script() -> bytes:
    return bundle(settings.BASE_DIR / "node_modules", "jssip", "JsSIP").encode()


def jssip_script_view(request: HttpRequest) -> HttpResponse:
    """JsSIP as one browser script (core/commonjs.py: the package ships only CommonJS), made once per
    process and cached by browsers for a day."""
    response = HttpResponse(_jssip_script(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@portal_view()
@hosts_softphone
def softphone_page_view(request: HttpRequest) -> HttpResponse:
    """The phone on a page of its own: register, take calls, nothing else."""
    return render(request, "contactcenter/softphone.html", {})
