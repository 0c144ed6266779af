"""The webhook outbox through a broker outage, on real processes: a callback recorded while Redis
(the Celery broker, a redis-server of this test's own) is down costs the committing code nothing, and
once Redis is back the carrier gateway's sweeper queues it again and it is delivered exactly once."""

import subprocess
import sys
import time
import uuid

import pytest

from core.tenancy import tenant_scope
from monitor.models import WebhookDelivery
from tests.conftest import make_tenant
from tests.core.test_webhooks import Receiver
from tests.live import ROOT, carrier_gateway_process, celery_worker, process_env, redis_server

pytestmark = pytest.mark.e2e

# A service committing a callback in a process of its own, as the routing process or the ARI worker
# does: it must end normally, its change kept.
RECORD = """
import os
from core.tenancy import tenant_scope
from monitor.outbox import webhook_enqueue
from tenants.models import Account

with tenant_scope(os.environ["OUTBOX_ACCOUNT"]):
    account = Account.objects.get(id=os.environ["OUTBOX_ACCOUNT"])
    url = os.environ["OUTBOX_URL"]
    delivery = webhook_enqueue(account=account, url=url, params={"CallStatus": "completed"})
print("committed", delivery.id)
"""


def test_a_callback_recorded_while_redis_is_down_is_delivered_once_it_is_back(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> None:
    receiver = Receiver([])
    try:
        with django_db_blocker.unblock():  # type: ignore[attr-defined]
            tenant = make_tenant("Outage clinic")
        with redis_server() as redis:
            redis.crash()
            recorded = subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", RECORD],
                cwd=ROOT,
                env=process_env(
                    REDIS_URL=redis.url,
                    OUTBOX_ACCOUNT=str(tenant.account.id),
                    OUTBOX_URL=receiver.url + "/status",
                ),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert recorded.returncode == 0, recorded.stderr
            assert "Error calling" in recorded.stderr  # the refused queueing is logged, not raised
            delivery_id = uuid.UUID(recorded.stdout.split()[-1])

            redis.start()  # empty: nothing of the lost task survives
            sweeping = (
                "--connector",
                "none",
                "--name",
                "outbox-test",
                "--stale-seconds",
                "1",
                "--sweep-seconds",
                "0.5",
            )
            with celery_worker(REDIS_URL=redis.url), carrier_gateway_process(*sweeping, REDIS_URL=redis.url):
                deadline = time.monotonic() + 30
                while not receiver.requests and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(3)  # several more sweeps, and time for any second send to arrive
        assert len(receiver.requests) == 1
        with django_db_blocker.unblock(), tenant_scope(tenant.account.id):  # type: ignore[attr-defined]
            delivery = WebhookDelivery.objects.get(id=delivery_id)
        assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 1)
    finally:
        receiver.close()
