"""An agent's console sessions as the socket sees them: who may open one (`console_subscription`),
its state read in the account's scope, and what happens when the last one closes and stays closed
(`console_closed_check`, run by a Celery task after the grace period)."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from contactcenter.console import console_offline
from contactcenter.console_live import console_is_open
from contactcenter.console_state import ConsoleState, console_state, console_worker, draft_save
from contactcenter.taskrouter.models import Reservation, Worker
from conversations.models import Note
from core.sids import row_by_sid
from core.tenancy import tenant_scope
from tenants.roles import CONSOLE_ROLES
from tenants.sockets import socket_tenant


@dataclass(frozen=True)
class ConsoleSubscription:
    account_id: uuid.UUID
    worker_id: uuid.UUID


def console_subscription(scope: dict[str, Any]) -> ConsoleSubscription | None:
    """The worker the socket's portal session works as, when the console page would admit it."""
    with transaction.atomic():
        tenant = socket_tenant(scope, roles=CONSOLE_ROLES)
        if tenant is None or tenant.membership is None:
            return None
        worker = console_worker(membership=tenant.membership)
        return ConsoleSubscription(tenant.account.id, worker.id) if worker else None


def console_state_get(subscription: ConsoleSubscription) -> ConsoleState | None:
    """The console's state; None once the worker is gone (deleted, or unlinked from the member)."""
    with tenant_scope(subscription.account_id):
        worker = Worker.objects.filter(id=subscription.worker_id, member__isnull=False).first()
        return None if worker is None else console_state(worker=worker)


def console_closed_check(*, account_id: uuid.UUID, worker_id: uuid.UUID) -> bool:
    """After the grace period: with no console of the worker open, it goes offline. True if it did."""
    if console_is_open(worker_id=worker_id):
        return False
    with tenant_scope(account_id):
        worker = Worker.objects.filter(id=worker_id).select_related("workspace").first()
        return worker is not None and console_offline(worker=worker)


def console_draft_save(
    subscription: ConsoleSubscription, reservation_sid: str, draft: dict[str, Any]
) -> bool:
    """Keep the wrap-up form as typed for one of the worker's held reservations; False for any other."""
    with tenant_scope(subscription.account_id):
        held = Reservation.objects.filter(worker_id=subscription.worker_id, status__in=Reservation.HOLDING)
        reservation = row_by_sid(held, reservation_sid)
        if reservation is None:
            return False
        fields = ("disposition", "notes", "activity_sid")
        draft_save(
            reservation_id=reservation.id,
            draft={name: str(draft.get(name, ""))[: Note.MAX_LENGTH] for name in fields},
        )
        return True
