"""The ARI worker's reconciliation on a worker whose ARI client is stubbed and whose database is the
test database (committed: it reads every tenant's calls through the admin connection): a call just
handed to another process, which has not made its channel yet, is not failed as lost.
(tests/voice/test_call_flows.py reconciles real calls through Asterisk.)"""

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from tests.conftest import make_tenant
from voice.models import Call, MediaServer
from voice.worker import HANDOVER_SECONDS, VoiceWorker


def _worker(tmp_path: Path, server: MediaServer) -> VoiceWorker:
    server.sounds_dir = str(tmp_path)
    worker = VoiceWorker(server, app="switchboard-x")

    async def asterisk(method: str, path: str, **options: Any) -> Any:
        return {"channel_ids": []} if path == "/applications/switchboard-x" else []  # no channels at all

    worker.client.request = asterisk  # type: ignore[method-assign]
    return worker


def _initiated(server: MediaServer, tenant_account: Any, seconds_ago: float) -> Call:
    call = Call.objects.using("admin").create(
        account=tenant_account,
        direction=Call.Direction.OUTBOUND_API,
        to_number="+14155550123",
        from_number="+12025550100",
        status=Call.Status.INITIATED,
        media_server=server,
        start_time=timezone.now() - timedelta(seconds=seconds_ago),
    )
    Call.objects.using("admin").filter(id=call.id).update(channel_id=call.sid)
    return call


def test_a_call_just_handed_to_another_process_is_not_failed_as_lost(
    tmp_path: Path, django_db_setup: None, django_db_blocker: Any
) -> None:
    with django_db_blocker.unblock():
        tenant = make_tenant("Handover clinic")
        server = MediaServer(name=f"handover-{uuid.uuid4().hex[:8]}", is_enabled=False)
        server.set_ari_password("p")
        server.save()
        just_handed = _initiated(server, tenant.account, seconds_ago=1)
        abandoned = _initiated(server, tenant.account, seconds_ago=HANDOVER_SECONDS + 1)
        worker = _worker(tmp_path, server)

        async def reconcile() -> None:
            await worker._reconcile()
            await worker.http.aclose()

        asyncio.run(reconcile())

        calls = Call.objects.using("admin")
        assert calls.get(id=just_handed.id).status == Call.Status.INITIATED
        assert calls.get(id=abandoned.id).status == Call.Status.FAILED
