"""The routing board's sockets told when their workspace changes: every change the board shows is
recorded in the workspace's event log (events.py), in whichever process makes it, so a receiver of
`event_recorded` announces it once the change commits (tenants/live_fragments.py), and the board
follows a state change within a fraction of a second rather than at its next two-second read.
Connected in `TaskRouterConfig.ready`."""

import uuid
from typing import Any

from django.dispatch import receiver

from contactcenter.taskrouter.models import Event
from contactcenter.taskrouter.signals import event_recorded
from core.commit_hooks import on_commit_robust
from tenants.live_fragments import fragment_changed


def board_group(workspace_id: uuid.UUID) -> str:
    return f"routing-board.{workspace_id.hex}"


@receiver(event_recorded)
def _event_recorded(*, event: Event, **_: Any) -> None:
    on_commit_robust(fragment_changed, board_group(event.workspace_id))
