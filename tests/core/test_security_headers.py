"""The headers every answer carries: the content security policy on portal pages, API answers (Django's
and the Messages lane's, tests/messaging/test_messages_lane.py) and the docs page's own; and no
`Server` header from uvicorn as the Procfile runs it."""

from collections.abc import Iterator

import httpx
import pytest
from django.conf import settings
from django.test import Client

from core.schema import API_DOCS_CONTENT_SECURITY_POLICY
from tests.live import procfile_web

POLICY = "Content-Security-Policy"


@pytest.mark.parametrize(
    "path", ["/login/", "/2010-04-01/Accounts.json", "/api/v1/conversations", "/api/schema/"]
)
def test_pages_and_api_answers_carry_the_content_security_policy(db: None, path: str) -> None:
    response = Client().get(path)

    assert response.headers[POLICY] == settings.CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in response.headers[POLICY]  # no inline scripts, nothing from elsewhere


def test_the_docs_page_has_its_own_policy_and_loads_nothing_from_elsewhere(db: None) -> None:
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    assert response.headers[POLICY] == API_DOCS_CONTENT_SECURITY_POLICY
    page = response.content.decode()
    assert '<script src="/api/docs/redoc.js">' in page  # the sidecar's bundle, served by us
    assert "googleapis" not in page and "gstatic" not in page and "https://" not in page
    script = Client().get("/api/docs/redoc.js")
    assert script.status_code == 200 and b"Redoc" in script.content and b"cdn.redoc.ly" not in script.content


@pytest.fixture
def procfile_web_base() -> Iterator[str]:
    """The Procfile's web process's base URL."""
    with procfile_web() as (base, _log):
        yield base


@pytest.mark.e2e
def test_the_web_process_sends_no_server_header(django_db_setup: None, procfile_web_base: str) -> None:
    for response in (
        httpx.get(f"{procfile_web_base}/login/"),
        httpx.get(f"{procfile_web_base}/2010-04-01/Accounts.json"),
        httpx.post(f"{procfile_web_base}/2010-04-01/Accounts/AC{'0' * 32}/Messages.json", auth=("AC", "x")),
    ):
        assert "server" not in response.headers, response.headers
        assert response.headers[POLICY] == settings.CONTENT_SECURITY_POLICY
