"""The portal's frame in Debian's Chromium: the top menu on one line at 1280 px and on a tablet (issue
13), and the favicon (the API docs page's content policy: tests/core/test_content_policy_browser.py)."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from tenants.models import Role
from tenants.services import account_create, membership_add, user_create
from tests.browser import sign_in_form

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "developer@layout.example", "correct horse battery"

# The vertical middle of each menu link, and of the bar's other items (brand, switcher, Sign out).
TOPBAR_ROWS = """() => {
  const bar = document.querySelector('header.topbar');
  const middle = el => {
    const box = el.getBoundingClientRect();
    return Math.round((box.top + box.bottom) / 2);
  };
  return {
    menu: [...bar.querySelectorAll('nav > a')].map(middle),
    others: [...bar.querySelectorAll(':scope > :not(nav)')].map(middle),
    nav_scrolls: bar.querySelector('nav').scrollWidth > bar.querySelector('nav').clientWidth,
    page_scrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth,
  };
}"""


@pytest.fixture(scope="module")
def developer(django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        account = account_create(friendly_name="Riverside Family Clinic", actor="test")
        user = user_create(email=EMAIL, password=PASSWORD)
        membership_add(account=account, user=user, role=Role.DEVELOPER, actor="test")
    yield


@dataclass(frozen=True)
class TopBar:
    menu: list[int]  # each link's vertical middle
    others: list[int]
    nav_scrolls: bool  # noqa: N815 (as the page reports it)
    page_scrolls: bool  # noqa: N815

    @property
    def menu_is_one_line(self) -> bool:
        return len(set(self.menu)) == 1

    @property
    def others_are_one_row(self) -> bool:
        return max(self.others) - min(self.others) <= 6  # items of different heights, centred


def _bar(page: Page) -> TopBar:
    return TopBar(**page.evaluate(TOPBAR_ROWS))


def test_the_top_menu_holds_one_line_at_1280_and_on_a_tablet(page: Page, developer: None) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/login/")
    sign_in_form(page, EMAIL, PASSWORD)
    expect(page.locator("h1")).to_have_text("Riverside Family Clinic")
    for path in ("/", "/agents/", "/routing/", "/console/"):
        page.goto(path)
        bar = _bar(page)
        assert bar.menu_is_one_line and bar.others_are_one_row, f"{path}: the top bar wraps at 1280 px: {bar}"
        assert not bar.nav_scrolls and not bar.page_scrolls, f"{path}: {bar}"

    # A tablet, either way up: the menu is still one line, scrolling sideways when it must; the page never.
    for width, height in ((768, 1024), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/")
        bar = _bar(page)
        assert bar.menu_is_one_line and bar.others_are_one_row and not bar.page_scrolls, f"{width} px: {bar}"
        page.locator("header.topbar nav > a", has_text="API keys").click()  # scrolled into view, reached
        expect(page.locator("h1")).to_have_text("API keys")


def test_the_favicon_is_served_where_browsers_ask_for_it(page: Page, developer: None) -> None:
    """Pages that link no icon (the API docs, an API answer) make the browser ask for /favicon.ico."""
    favicon = page.request.get("/favicon.ico")
    assert favicon.ok and favicon.headers["content-type"] == "image/svg+xml"
    page.goto("/api/docs/")
    icon = page.evaluate("() => document.querySelector('link[rel=icon]')?.href")
    assert icon and page.request.get(icon).ok
