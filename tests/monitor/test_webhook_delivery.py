"""Status-callback delivery through a real Celery worker: signed, retried with backoff, failures logged."""

import time
from collections.abc import Iterator

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from core.tenancy import tenant_scope
from monitor.models import Notification, WebhookDelivery
from monitor.outbox import webhook_enqueue
from tests.conftest import Tenant, make_tenant
from tests.core.test_webhooks import Receiver
from tests.live import celery_worker

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def worker(django_db_setup: None) -> Iterator[None]:
    with celery_worker(SWITCHBOARD_WEBHOOK_MAX_ATTEMPTS="3"):
        yield


@pytest.fixture
def tenant(django_db_blocker: pytest.FixtureRequest) -> Iterator[Tenant]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        yield make_tenant("Webhook clinic")


def _enqueue(tenant: Tenant, url: str) -> WebhookDelivery:
    with tenant_scope(tenant.account.id):
        return webhook_enqueue(
            account=tenant.account, url=url, params={"CallSid": "CA" + "2" * 32, "CallStatus": "completed"}
        )


def _wait_for_outcome(tenant: Tenant, delivery: WebhookDelivery, timeout: float = 30) -> WebhookDelivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with tenant_scope(tenant.account.id):
            current = WebhookDelivery.objects.get(id=delivery.id)
        if current.status != WebhookDelivery.Status.PENDING:
            return current
        time.sleep(0.2)
    raise AssertionError("delivery never finished")


def test_failed_attempts_are_retried_with_backoff_then_delivered(
    worker: None, tenant: Tenant, django_db_blocker: pytest.FixtureRequest
) -> None:
    receiver = Receiver([500, 503, 200])
    try:
        with django_db_blocker.unblock():  # type: ignore[attr-defined]
            delivery = _wait_for_outcome(tenant, _enqueue(tenant, receiver.url + "/status"))
            assert delivery.status == WebhookDelivery.Status.DELIVERED
            assert delivery.attempts == 3
            gaps = [b["at"] - a["at"] for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
            assert gaps[0] >= 1.5 and gaps[1] >= 3.5  # 2 s, then 4 s
            validator = RequestValidator(tenant.token)
            for request in receiver.requests:
                params = {k: v[0] for k, v in request["form"].items()}
                assert validator.validate(
                    receiver.url + "/status", params, request["headers"]["X-Twilio-Signature"]
                )
            # The two failures are in the error log as warnings, visible through the API.
            listed = (
                Client()
                .get(f"/2010-04-01/Accounts/{tenant.sid}/Notifications.json", **tenant.auth())
                .json()["notifications"]
            )
            assert [(n["error_code"], n["log"]) for n in listed] == [("11200", "1"), ("11200", "1")]
    finally:
        receiver.close()


def test_delivery_that_never_succeeds_ends_failed_with_an_error(
    worker: None, tenant: Tenant, django_db_blocker: pytest.FixtureRequest
) -> None:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        delivery = _wait_for_outcome(tenant, _enqueue(tenant, "http://127.0.0.1:9/unreachable"))
        assert delivery.status == WebhookDelivery.Status.FAILED
        assert delivery.attempts == 3
        with tenant_scope(tenant.account.id):
            codes = list(Notification.objects.order_by("date_created").values_list("error_code", "log"))
        assert codes == [(11205, 1), (11205, 1), (11205, 0)]
