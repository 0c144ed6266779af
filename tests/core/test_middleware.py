"""The request guard (core/middleware.py) as its two users see it: Django's middleware and the ASGI
apps in front of Django, which call its functions directly."""

from django.conf import settings
from django.test import Client, override_settings

from core.middleware import host_is_allowed, request_refusal, response_headers

MESSAGES = f"/2010-04-01/Accounts/AC{'0' * 32}/Messages.json"


def test_the_headers_for_answers_given_in_front_of_django_are_the_ones_django_adds(db: None) -> None:
    answer = Client().get("/2010-04-01/Accounts.json")
    added = {name.decode(): value.decode() for name, value in response_headers("http")}

    assert set(added) >= {"content-security-policy", "x-frame-options", "x-content-type-options"}
    assert all(answer.headers[name] == value for name, value in added.items())


def test_only_api_requests_are_refused_and_each_route_has_its_body_limit() -> None:
    too_large = str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    assert request_refusal(path="/login/", content_length=too_large, query_string="") is None
    refusal = request_refusal(path=MESSAGES, content_length=too_large, query_string="")
    assert refusal is not None and (refusal.twilio_code, refusal.status_code) == (20422, 413)
    assert request_refusal(path="/api/v1/bulks", content_length=too_large, query_string="") is None
    assert request_refusal(path=MESSAGES, content_length="", query_string="") is None
    nul = request_refusal(path=MESSAGES, content_length="", query_string="To=%00")
    assert nul is not None and nul.message == "Invalid parameter To: contains a NUL character"


@override_settings(ALLOWED_HOSTS=["api.example.com"])
def test_hosts_are_allowed_as_django_allows_them() -> None:
    assert host_is_allowed("api.example.com:8443")
    assert not host_is_allowed("evil.example")
    assert not host_is_allowed("")
