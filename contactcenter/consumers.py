"""The Queues page's websocket (`/ws/queues/`): the account's queues and callers in line
(queue_board.py) kept live (tenants/live_fragments.py). Admission is the page's rule: signed in,
two-factor verified where required, of a role that may see queues; the account is the session's.
"""

import uuid
from typing import Any

from django.db import transaction

from contactcenter.queue_board import queues_fragment_get
from tenants.live_fragments import LiveFragmentConsumer
from tenants.roles import QUEUE_VIEWER_ROLES
from tenants.sockets import socket_tenant


class QueuesConsumer(LiveFragmentConsumer[uuid.UUID]):
    def subscribe(self, scope: dict[str, Any]) -> uuid.UUID | None:
        """The session's current account, when the Queues page would admit its user."""
        with transaction.atomic():
            tenant = socket_tenant(scope, roles=QUEUE_VIEWER_ROLES)
            return tenant.account.id if tenant is not None else None

    def fragment(self, subscription: uuid.UUID) -> str | None:
        return queues_fragment_get(account_id=subscription)
