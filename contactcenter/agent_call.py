"""The caller's side of an agent's live call: the worker a TaskRouter `dequeue` rang from the caller's
`<Enqueue>` (contactcenter/enqueue.py). While they are bridged, the console's commands
(contactcenter/call_control.py) arrive as `CONTROL` signals and are applied here: hold with the
platform's hold music, a warm transfer's consultation (the caller held, the agent and the target
bridged), its completion (the target becomes the caller's far end, the agent's task wraps up) or
cancellation, a blind transfer (the agent's leg hung up). When the worker's leg has ended, `after`
says where the caller goes next: back in line with a new task for a transfer to a worker or
TaskQueue, a dial of a number or address, or, when the leg was lost (it ended other than by a
hangup: a Q.850 cause other than normal clearing), what the workspace's `agent_lost_action` says.
Each step is noted in the call's timeline.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NoReturn

from contactcenter.call_control import CONTROL, Action, Mode, TargetKind
from contactcenter.requeue import (
    agent_lost,
    agent_redial_failed,
    caller_transfer_requeue,
    worker_contact_now,
)
from contactcenter.softphone import RESERVATION_HEADER
from contactcenter.taskrouter.models import Reservation, Workspace
from contactcenter.voice_tasks import voice_task_bridge_ended
from core.sids import make_sid
from voice import verbs
from voice.clients import is_client
from voice.control import CallHungUp, DialOutcome, NotDialling
from voice.interpreter import Interpreter

log = logging.getLogger(__name__)
MAX_BRIDGE_SECONDS = 14400  # a caller bridged to a worker: Dial's longest time limit
TARGET_RING_SECONDS = 30  # a transfer's target (consulted or dialled) rings this long
NORMAL_CAUSES = frozenset({0, 16})  # unknown, normal clearing: the agent hung up
LOST_NOTICES = {
    Workspace.AgentLostAction.REQUEUE: "We lost the connection to your agent. Please hold, "
    "you keep your place in line.",
    Workspace.AgentLostAction.REDIAL: "We lost the connection to your agent. Please hold while we "
    "reconnect you.",
    Workspace.AgentLostAction.HANGUP: "We lost the connection to your agent. Please call again. Goodbye.",
}
Finish = Callable[[str, int | None], Awaitable[None]]


class Next(StrEnum):
    WAIT = "wait"  # back in line: its new task brings the next dequeue
    BRIDGED = "bridged"  # the caller's time with the queue is over: on with the flow
    ENDED = "ended"  # the call is over


@dataclass(frozen=True)
class Ahead:
    next: Next
    task_sid: str = ""  # the caller's new task, when back in line


class AgentCall:
    """One caller's time with the worker of one reservation (and whoever it is transferred to)."""

    def __init__(
        self, flow: Interpreter, *, reservation_id: str, member_id: Any, post_work_activity_sid: str
    ) -> None:
        self.flow = flow
        self.reservation_id = reservation_id
        self.ids = {"account_id": flow.setup.account_id, "reservation_id": reservation_id}
        self.member_id = member_id
        self.post_work_activity_sid = post_work_activity_sid
        self.transfer: dict[str, Any] | None = None  # a blind transfer's command
        self.is_completed = False  # a warm transfer completed: the agent's task already wrapping
        self._consult: tuple[Finish, float] | None = None  # the consulted leg's end and answer time
        self._is_redialled = False

    async def dial(
        self, *, to: str, caller_id: str, timeout: int, on_answer: Callable[[], Awaitable[bool]] | None
    ) -> DialOutcome | None:
        """Ring the worker at `to` and stay bridged, the console's commands applied meanwhile; None
        when it could not be dialled (logged)."""
        flow = self.flow
        endpoint = await verbs.dial_endpoint(flow, to)
        if endpoint is None:
            return None
        # A softphone learns which reservation rings it, to answer what its agent accepted.
        reservation_sid = make_sid(Reservation.SID_PREFIX, uuid.UUID(self.reservation_id))
        follower = asyncio.ensure_future(self._follow())
        try:
            dialled = await verbs.dial_leg(
                flow,
                target=to,
                endpoint=endpoint,
                caller_id=caller_id,
                timeout=timeout,
                time_limit=MAX_BRIDGE_SECONDS,
                on_answer=on_answer,
                sip_headers={RESERVATION_HEADER: reservation_sid} if is_client(to) else None,
            )
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
            await self._consult_over()
        return dialled[1] if dialled else None

    # The console's commands

    async def _follow(self) -> NoReturn:
        """Each command in turn; one that fails is noted and the next still applied (the caller's
        flow is the dial's, which a command's failure must not end)."""
        while True:
            command = await self.flow.signal(CONTROL)
            if command.get("reservation_id") != self.reservation_id:
                continue  # for an earlier reservation of this caller
            try:
                await self._apply(command)
            except NotDialling as refused:
                note = {"action": command["action"], "why": str(refused)}
                await self.flow.store.event("call-control", "refused", note)
            except CallHungUp:
                raise
            except Exception:
                log.exception("call control %s on %s failed", command["action"], self.flow.setup.call_sid)
                await self.flow.store.event("call-control", "failed", {"action": command["action"]})

    async def _apply(self, command: dict[str, Any]) -> None:
        flow, action = self.flow, command["action"]
        detail = {key: command[key] for key in ("to", "mode") if command.get(key)}
        await flow.store.event("call-control", action, detail)
        if action == Action.HOLD:
            await flow.control.hold(await flow.media.hold_music())
        elif action == Action.UNHOLD:
            await flow.control.unhold()
        elif action == Action.TRANSFER and command["mode"] == Mode.BLIND:
            self.transfer = command
            await flow.control.hold(await flow.media.hold_music())
            await flow.control.dial_drop()
        elif action == Action.TRANSFER:
            await self._consult_start(command)
        elif action == Action.COMPLETE:
            await flow.control.consult_complete()  # NotDialling without a consultation
            self.is_completed = True
            await self.wrap()
        elif action == Action.CANCEL:
            await flow.control.consult_end()
            await self._consult_over()
            await flow.control.unhold()

    async def _consult_start(self, command: dict[str, Any]) -> None:
        """The caller on hold; the target rung and, once it answers, bridged with the agent. A target
        that does not answer (or declines) returns the agent to the caller."""
        flow = self.flow
        await flow.control.hold(await flow.media.hold_music())
        contact, caller_id = command["contact"], verbs.own_number(flow)
        endpoint = await verbs.dial_endpoint(flow, contact)
        leg = await flow.store.child_call(contact, caller_id) if endpoint else None
        status = "failed"
        if endpoint and leg:
            leg_sid, finish = leg
            status = await flow.control.consult(
                endpoint=endpoint, leg_id=leg_sid, caller_id=caller_id, timeout=TARGET_RING_SECONDS
            )
            if status == "completed":
                self._consult = (finish, time.monotonic())
            else:
                await finish(status, None)
        await flow.store.event("call-control", "consulted", {"to": command["to"], "status": status})
        if status != "completed":
            await flow.control.unhold()

    async def _consult_over(self) -> None:
        consult, self._consult = self._consult, None
        if consult is not None:
            finish, answered_at = consult
            await finish("completed", round(time.monotonic() - answered_at))

    # When the worker's leg has ended

    async def wrap(self) -> None:
        """The agent is done with the caller: its task wraps up (once), the worker to the dequeue's
        post-work activity."""
        await self.flow.store.write(
            voice_task_bridge_ended, **self.ids, post_work_activity_sid=self.post_work_activity_sid
        )
        self.post_work_activity_sid = ""  # a second call (after a completed consultation) moves nobody

    def is_lost(self, outcome: DialOutcome) -> bool:
        return (
            self.transfer is None
            and not self.is_completed
            and not outcome.caller_hung_up
            and outcome.hangup_cause not in NORMAL_CAUSES
        )

    async def after(self, outcome: DialOutcome, *, to: str, caller_id: str, timeout: int) -> Ahead:
        """Where the caller goes once the (answered) worker's leg has ended."""
        if self.is_lost(outcome):
            return await self._lost(outcome, to=to, caller_id=caller_id, timeout=timeout)
        await self.wrap()
        transfer = self.transfer
        if outcome.caller_hung_up:
            return Ahead(Next.ENDED)
        if transfer is None:
            return Ahead(Next.BRIDGED)
        if transfer["kind"] in (TargetKind.WORKER, TargetKind.QUEUE):
            task_sid = await self.flow.store.write(
                caller_transfer_requeue,
                account_id=self.flow.setup.account_id,
                reservation_id=self.reservation_id,
                member_id=self.member_id,
                target_kind=transfer["kind"],
                target_sid=transfer["to"],
            )
            await self.flow.store.event(
                "call-control", "transferred", {"to": transfer["to"], "task": task_sid}
            )
            return Ahead(Next.WAIT, task_sid)
        return await self._dial_onward(transfer["contact"])

    async def _dial_onward(self, contact: str) -> Ahead:
        """A blind transfer to a number or SIP address: the caller dialled there, out of TaskRouter."""
        flow = self.flow
        endpoint = await verbs.dial_endpoint(flow, contact)
        dialled = endpoint and await verbs.dial_leg(
            flow,
            target=contact,
            endpoint=endpoint,
            caller_id=verbs.own_number(flow),
            timeout=TARGET_RING_SECONDS,
            time_limit=MAX_BRIDGE_SECONDS,
        )
        status = dialled[1].status if dialled else "failed"
        await flow.store.event("call-control", "transferred", {"to": contact, "status": status})
        return Ahead(Next.ENDED if dialled and dialled[1].caller_hung_up else Next.BRIDGED)

    async def _lost(self, outcome: DialOutcome, *, to: str, caller_id: str, timeout: int) -> Ahead:
        """The worker's leg was lost: the worker goes offline, the caller hears why and gets what the
        workspace's `agent_lost_action` says; a redial not answered re-queues the caller."""
        flow = self.flow
        where = {"account_id": flow.setup.account_id, "reservation_id": self.reservation_id}
        if self._is_redialled:  # lost twice: back in line
            task_sid = await flow.store.write(agent_redial_failed, **where, member_id=self.member_id)
            return Ahead(Next.WAIT, task_sid)
        action, task_sid = await flow.store.write(agent_lost, **where, member_id=self.member_id)
        await flow.store.event(
            "call-control", "agent-lost", {"cause": outcome.hangup_cause, "action": action}
        )
        notice = await flow.media.say(
            LOST_NOTICES[Workspace.AgentLostAction(action)], voice="woman", language="en-US"
        )
        await flow.control.play([notice], interruptible=False)
        if action == Workspace.AgentLostAction.HANGUP:
            await flow.control.hangup()
            return Ahead(Next.ENDED)
        if action == Workspace.AgentLostAction.REQUEUE:
            return Ahead(Next.WAIT, task_sid)
        self._is_redialled = True
        to = await flow.store.write(worker_contact_now, **where) or to
        again = await self.dial(to=to, caller_id=caller_id, timeout=timeout, on_answer=None)
        if again is None or again.status != "completed":
            if again is not None and again.caller_hung_up:
                return Ahead(Next.ENDED)
            task_sid = await flow.store.write(agent_redial_failed, **where, member_id=self.member_id)
            return Ahead(Next.WAIT, task_sid)
        return await self.after(again, to=to, caller_id=caller_id, timeout=timeout)
