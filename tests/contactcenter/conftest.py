"""Fixtures the contact center's tests share with messaging's: `live` (a committed tenant with a
number) and `app` (the tenant's HTTP app)."""

from tests.messaging.conftest import app, live

__all__ = ["app", "live"]
