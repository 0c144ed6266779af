"""What a task's and a worker's reservations share: the list filters, and fetching and updating one
(`ReservationStatus`, or an `Instruction` with its parameters as Twilio's SDK sends them)."""

from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from contactcenter.taskrouter.api.base import WorkspaceView
from contactcenter.taskrouter.api.inputs import ReservationUpdateInput
from contactcenter.taskrouter.instructions import Instruction
from contactcenter.taskrouter.models import Worker
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.taskrouter.workspaces import invalid
from core.sids import sid_to_uuid

# Each instruction's REST parameters (ReservationUpdateInput's names) as the instruction's own names.
INSTRUCTION_PARAMETERS = {
    "dequeue": {
        "dequeue_from": "from_",
        "dequeue_to": "to",
        "dequeue_post_work_activity_sid": "post_work_activity_sid",
        "dequeue_timeout": "timeout_seconds",
        "dequeue_status_callback_url": "status_callback_url",
    },
    "call": {
        "call_from": "from_",
        "call_to": "to",
        "call_url": "url",
        "call_accept": "accept",
        "call_timeout": "timeout_seconds",
        "call_status_callback_url": "status_callback_url",
    },
    "redirect": {"redirect_call_sid": "call_sid", "redirect_url": "url", "redirect_accept": "accept"},
    "accept": {},
    "reject": {"worker_activity_sid": "activity_sid"},
}


def instruction(data: dict[str, Any]) -> Instruction | None:
    """The `Instruction` a REST update gives, with its parameters; None when it gives none."""
    name = data.get("instruction")
    if name is None:
        return None
    if name not in INSTRUCTION_PARAMETERS:
        raise invalid(f"Instruction {name} is not supported; use accept, reject, dequeue, call or redirect")
    given = {ours: data[rest] for rest, ours in INSTRUCTION_PARAMETERS[name].items() if rest in data}
    if "post_work_activity_sid" in data:
        given.setdefault("post_work_activity_sid", data["post_work_activity_sid"])
    return Instruction(name=name, **given)


def reservations_filtered(request: Request, rows: QuerySet) -> QuerySet:
    """`ReservationStatus` and (for a task's) `WorkerSid` filters."""
    if status := request.query_params.get("ReservationStatus"):
        rows = rows.filter(status=status)
    if worker_sid := request.query_params.get("WorkerSid"):
        rows = rows.filter(worker_id=sid_to_uuid(worker_sid, Worker.SID_PREFIX))
    return rows


class ReservationDetailBase(WorkspaceView):
    def fetch(self, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    def update(self, request: Request, sid: str) -> Response:
        reservation = self.get_object(sid)
        data: dict[str, Any] = self.validated(ReservationUpdateInput, request)
        status, given = data.get("reservation_status"), instruction(data)
        if status is None and given is None:
            raise invalid("Either ReservationStatus or Instruction is required")
        reservation_update(
            reservation=reservation,
            status=status,
            worker_activity_sid=data.get("worker_activity_sid"),
            instruction=given,
            actor=self.tenant.actor,
        )
        return self.render_one(self.get_object(sid))
