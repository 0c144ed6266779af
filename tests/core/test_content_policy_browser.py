"""The portal and the API docs page in Debian's Chromium under the content security policy
(settings.CONTENT_SECURITY_POLICY, core/schema.py's for the docs): every page carries it, none
breaks it (no inline script, handler or style refused, htmx, the account switcher and the bulk
and routing pages' websockets still work), and nothing is fetched from another origin."""

from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from contactcenter.taskrouter.workspaces import FIFO_TEMPLATE, workspace_create
from conversations.models import Conversation
from core.tenancy import tenant_scope
from tenants.models import Role, User
from tenants.services import membership_add
from tests.conftest import make_tenant
from tests.conversations.factories import text_in
from tests.messaging import conftest as messaging_fixtures
from tests.messaging.conftest import Live
from tests.messaging.test_bulk_progress import make_bulk, session_of

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_stray_tasks")]

live = messaging_fixtures.live  # the fixture: a committed tenant with a number of its own
CALLER = "+14155550188"
EMAIL = "supervisor@policy.example"


class Watched:
    """A browser page and what it reported: content policy violations, script errors, and requests
    that left the server's origin."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.violations: list[str] = []
        self.outside: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.violations.append(f"script error: {error}"))
        page.on("request", self._request)
        page.on("requestfailed", self._refused)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"{self.page.url}: {message.text}")

    def _request(self, request: Request) -> None:
        if not request.url.startswith((self.base, "data:", "blob:")):
            self.outside.append(request.url)

    def _refused(self, request: Request) -> None:
        """Chromium reports a request the policy refused too: it never left the browser."""
        if request.failure == "csp" and request.url in self.outside:
            self.outside.remove(request.url)

    def visit(self, path: str) -> Any:
        response = self.page.goto(path)
        assert response is not None and response.ok, (path, response and response.status)
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        self.page.wait_for_load_state("networkidle")
        return response


@pytest.fixture
def watched(page: Page, server: str) -> Watched:
    return Watched(page, server)


def test_the_portal_and_the_docs_run_under_the_content_policy(watched: Watched, live: Live) -> None:
    cookie = session_of(live, Role.SUPERVISOR, EMAIL)
    other = make_tenant("Policy Annex")
    with tenant_scope(other.account.id):
        membership_add(
            account=other.account, user=User.objects.get(email=EMAIL), role=Role.DEVELOPER, actor="t"
        )
    with live.db():
        text_in(CALLER, live.number, "Can I move my appointment?")
        conversation = Conversation.objects.get(account=live.tenant.account)
        bulk = make_bulk(live, 2)
        workspace = workspace_create(
            account=live.tenant.account, actor="t", friendly_name="Front desk", template=FIFO_TEMPLATE
        )
    host = watched.base.removeprefix("http://").split(":")[0]
    watched.page.context.add_cookies([{"name": "sessionid", "value": cookie, "domain": host, "path": "/"}])
    page = watched.page

    for path in ("/", "/inbox/", "/bulk/", "/calls/", "/routing/", "/account/two-factor/"):
        watched.visit(path)
    watched.visit(f"/bulk/{bulk.sid}/")
    expect(page.locator("#bulk-progress-card")).to_have_attribute("data-live", "open")  # its websocket
    watched.visit(f"/routing/{workspace.sid}/")
    expect(page.locator("#board")).to_have_attribute("data-live", "open")  # its websocket too
    watched.visit(f"/inbox/{conversation.sid}/")
    with page.expect_request(lambda request: request.headers.get("hx-request") == "true"):
        page.fill("[name=text]", "Called back; moved to Friday")  # the note box, posted by htmx
        page.click("text=Add note")
    expect(page.locator("#thread")).to_contain_text("Called back; moved to Friday")

    # The account switcher submits on change, from portal.js rather than an inline handler.
    watched.visit("/")
    page.select_option("#account-switcher", str(other.account.id))
    expect(page.locator("h1")).to_have_text("Policy Annex")
    watched.visit("/numbers/")  # a developer's pages in that account
    watched.visit("/keys/")
    page.fill("#id_friendly_name", "policy check")  # htmx swaps #keys for the new key's notice
    page.click("text=Create API key")
    expect(page.locator("#new-key-secret")).to_be_visible()

    response = watched.visit("/api/docs/")
    assert "'unsafe-inline'" in response.headers["content-security-policy"]  # Redoc's own styles only
    expect(page.get_by_text("Switchboard API").first).to_be_visible()
    expect(page.get_by_text("listMessages").first).to_be_attached()

    # Not even Redoc's footer logo, which its bundle asks Redocly's CDN for (core/schema.py serves the
    # bundle without it): nothing refused, nothing fetched from elsewhere.
    assert not watched.violations, "\n".join(watched.violations)
    assert not watched.outside, "\n".join(watched.outside)
    with tenant_scope(live.tenant.account.id):
        assert conversation.notes.count() == 1
