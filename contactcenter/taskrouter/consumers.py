"""The routing board's websocket (`/ws/routing/<workspace sid>/`): the board's fragment (board.py)
kept live (tenants/live_fragments.py): read again when the workspace records an event
(board_changes.py) and every two seconds, in a fixed number of queries whatever the workspace's size.
Admission is the pages' rule: signed in, two-factor verified where required, of a role that may see
routing, in the account owning the workspace.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from contactcenter.taskrouter.board import board_fragment_get
from contactcenter.taskrouter.board_changes import board_group
from contactcenter.taskrouter.models import Workspace
from core.sids import sid_to_uuid
from tenants.live_fragments import LiveFragmentConsumer
from tenants.roles import ROUTING_MANAGER_ROLES, ROUTING_VIEWER_ROLES
from tenants.sockets import socket_tenant


@dataclass(frozen=True)
class Subscription:
    account_id: uuid.UUID
    workspace_id: uuid.UUID
    can_manage: bool


def board_subscription(scope: dict[str, Any], sid: str) -> Subscription | None:
    """Whether the scope's portal session may watch workspace `sid`, as the board's page decides."""
    with transaction.atomic():
        tenant = socket_tenant(scope, roles=ROUTING_VIEWER_ROLES)
        pk = sid_to_uuid(sid, Workspace.SID_PREFIX)
        if tenant is None or pk is None:
            return None
        if not Workspace.objects.for_account(tenant.account).filter(id=pk).exists():
            return None
        role = tenant.membership.role if tenant.membership else None
        return Subscription(tenant.account.id, pk, role in ROUTING_MANAGER_ROLES)


class RoutingBoardConsumer(LiveFragmentConsumer[Subscription]):
    # Changes are announced (board_changes.py); this read catches what records no event (a queue's
    # settings) and the charts' minutes moving on.
    refresh_seconds = 10.0

    def subscribe(self, scope: dict[str, Any]) -> Subscription | None:
        return board_subscription(scope, scope["url_route"]["kwargs"]["sid"])

    def group(self, subscription: Subscription) -> str:
        """Told of every event the workspace records (board_changes.py)."""
        return board_group(subscription.workspace_id)

    def fragment(self, subscription: Subscription) -> str | None:
        """None once the workspace is deleted."""
        return board_fragment_get(
            account_id=subscription.account_id,
            workspace_id=subscription.workspace_id,
            can_manage=subscription.can_manage,
        )
