"""The last-resort error view: Twilio's body on the API, and 503 with Retry-After while the database
is away (a PostgreSQL restart; bench/chaos restarts a real one), so clients retry."""

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


def _failing(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr("tenants.middleware.authenticate_api", fail)
    monkeypatch.setattr("tenants.middleware.portal_context", fail)


def test_a_database_outage_is_503_with_twilios_body(
    monkeypatch: pytest.MonkeyPatch, tenant_a: Tenant
) -> None:
    _failing(monkeypatch, OperationalError("server closed the connection unexpectedly"))
    client = Client(raise_request_exception=False)
    response = client.post(f"/2010-04-01/Accounts/{tenant_a.sid}/Messages.json", {"To": "+14155550100"})
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert response.json()["code"] == 20503 and response.json()["status"] == 503
    portal = client.get("/")
    assert portal.status_code == 503 and portal["Retry-After"] == "1"


def test_any_other_failure_on_the_api_is_twilios_500(
    monkeypatch: pytest.MonkeyPatch, tenant_a: Tenant
) -> None:
    _failing(monkeypatch, RuntimeError("a bug"))
    response = Client(raise_request_exception=False).get("/2010-04-01/Accounts.json")
    assert response.status_code == 500 and response.json()["code"] == 20500
    assert "Retry-After" not in response and "a bug" not in response.content.decode()
