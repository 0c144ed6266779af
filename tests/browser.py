"""Debian's Chromium under Playwright, for the portal's browser tests: how it is launched, and
signing in through the portal's form. The `browser_context` and `page` fixtures (tests/conftest.py)
use it."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium(base_url: str, *, args: Sequence[str] = (), **options: Any) -> Iterator[BrowserContext]:
    """A browser context whose relative URLs go to `base_url`; the browser closes after it. `args`
    add to the launch flags, `options` to the context's (e.g. `ignore_https_errors`)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, *args]
        )
        try:
            yield browser.new_context(base_url=base_url, **options)
        finally:
            browser.close()


def sign_in_form(page: Page, email: str, password: str) -> None:
    """Fill in and send the sign-in form the page shows."""
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
