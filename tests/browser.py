"""Debian's Chromium under Playwright, for the portal's browser tests: how it is launched, signing
in through the portal's form, and calling a service off the test thread's event loop. The
`browser_context` and `page` fixtures (tests/conftest.py) use it."""

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connections
from playwright.sync_api import BrowserContext, Page, sync_playwright

T = TypeVar("T")

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


def off_the_loop(service: Callable[..., T], **kwargs: Any) -> T:
    """Call a service in a thread of its own, as the process that calls it in production would: the
    test's thread holds the sync Playwright API's event loop, where the console pushes a commit
    sends (`async_to_sync`) refuse to run, and are lost."""
    def call() -> T:
        try:
            return service(**kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def sign_in_form(page: Page, email: str, password: str) -> None:
    """Fill in and send the sign-in form the page shows."""
    page.fill("#id_email", email)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
