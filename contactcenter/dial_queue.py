"""The agent's side: `<Dial><Queue>` bridges the agent's call to the caller at the front of the queue.

The agent's call opens a bridge, claims the front caller (contactcenter/members.py, one transaction:
two agents never get one caller) and waits for it to hear the `url` announcement and join; if it
hangs up first, the next caller is claimed. An empty queue is waited on, as Twilio does, until the
Dial's `timeout` (polled each POLL_SECONDS); a queue that does not exist ends the Dial `failed`.
Whichever call ends first destroys the bridge, which ends it for the other.

With `reservationSid` (TaskRouter's `call` instruction: the worker's own call) the caller is that
reservation's, wherever it waits in line. As Twilio documents, the reservation is accepted when the
dequeue succeeds: once the caller is in the bridge; when the bridge ends the task wraps up and the
worker moves to `postWorkActivitySid`, if given. A worker who hangs up before that (the caller still
hearing the `url` announcement) does not take the task: the caller goes back in line and the
reservation times out, so the task is offered again with its age.
"""

import asyncio
import time
import uuid

from contactcenter.members import (
    JOINED,
    Claimed,
    QueueNotFound,
    queue_member_claim_front,
    queue_member_requeue,
)
from contactcenter.voice_tasks import (
    VoiceTaskRefused,
    voice_task_answered,
    voice_task_bridge_ended,
    voice_task_claim,
    voice_task_claim_released,
)
from core.documents import Fetch
from core.sids import sid_to_uuid
from twiml.errors import Code
from twiml.verbs import Dial, Queue
from voice.control import CallHungUp
from voice.interpreter import FlowEnded, Interpreter, handles

POLL_SECONDS = 1.0
JOIN_SECONDS = 120.0  # the caller's announcement and join; past it the agent takes the next caller
HOLD_MARGIN_SECONDS = 30.0  # a claimed reservation outlives the wait for its caller by this much


@handles(Dial, Queue)
async def dial_queue(flow: Interpreter, verb: Dial) -> Fetch | None:
    await flow.control.answer()
    noun = verb.children[0]
    assert isinstance(noun, Queue)
    deadline = time.monotonic() + verb.timeout
    url = flow.absolute(noun.url) if noun.url else ""
    while True:
        bridge_id = f"queue-{uuid.uuid4().hex}"
        await flow.control.bridge_open(bridge_id)
        claimed: Claimed | None = None
        reserved = False  # the reservation's caller claimed: it is accepted once that caller is bridged
        accepted = False  # and then its task wraps up when this ends
        try:
            try:
                if noun.reservation_sid:
                    claimed = await _claim_reserved(flow, noun, bridge_id, url)
                    reserved = True
                else:
                    claimed = await _claim(flow, noun, bridge_id, url, deadline)
            except QueueNotFound:
                await flow.store.event("verb", "Dial.result", {"queue": noun.name, "status": "no such queue"})
                return _over(flow, verb, {"DialCallStatus": "failed"})
            except VoiceTaskRefused as refused:
                await flow.store.error(refused.code, f"<Dial><Queue reservationSid>: {refused}")
                return _over(flow, verb, {"DialCallStatus": "failed"})
            if claimed is None:
                return _over(flow, verb, {"DialCallStatus": "no-answer"})
            joined_at = await _joined(flow, claimed, bridge_id)
            if joined_at is None:
                if reserved:  # the reservation's caller: nobody else in line is this worker's
                    return _over(flow, verb, {"DialCallStatus": "no-answer"})
                # The caller left, or never came (its worker gone, the signal lost): still claimed
                # for this bridge, it is back in line rather than held for ever.
                await flow.store.write(
                    queue_member_requeue,
                    account_id=flow.setup.account_id,
                    member_id=claimed.member_id,
                    bridge_id=bridge_id,
                )
                continue  # the next one
            if reserved:
                ids = {"account_id": flow.setup.account_id, "reservation_id": _reservation_id(noun)}
                accepted = await flow.store.write(voice_task_answered, **ids)
                if not accepted:  # canceled while the caller came (the API, its TTL)
                    await flow.store.error(
                        Code.QUEUE_RESERVATION_SID, f"Reservation {noun.reservation_sid} is no longer pending"
                    )
                    return _over(flow, verb, {"DialCallStatus": "failed"})
            params = {"DialCallSid": claimed.call_sid, "QueueSid": claimed.queue_sid}
            try:
                await flow.control.bridged(bridge_id)
            except CallHungUp:
                duration = {"DialCallDuration": str(round(time.monotonic() - joined_at))}
                if verb.action:
                    action = flow.action(verb.action, verb.method, {})
                    status = {"DialCallStatus": "completed", "CallStatus": "completed"}
                    await flow.notify(action.url, action.method, {**params, **duration, **status})
                raise FlowEnded() from None
            duration = {"DialCallDuration": str(round(time.monotonic() - joined_at))}
            return _over(flow, verb, {"DialCallStatus": "completed", **params, **duration})
        finally:
            try:
                await flow.control.bridge_close(bridge_id)
            finally:  # the task settles even if the bridge could not be closed: it holds its worker
                await _settle(flow, noun, claimed, bridge_id, reserved=reserved, accepted=accepted)


async def _settle(
    flow: Interpreter, noun: Queue, claimed: Claimed | None, bridge_id: str, *, reserved: bool, accepted: bool
) -> None:
    """A reservation's bridge is over: its task wraps up (the worker moving to `postWorkActivitySid`),
    or, when its caller was never bridged (the worker hung up first, or the caller never came), the
    caller is back in line and the task offered again."""
    ids = {"account_id": flow.setup.account_id, "reservation_id": _reservation_id(noun)}
    if accepted:
        await flow.store.write(
            voice_task_bridge_ended, **ids, post_work_activity_sid=noun.post_work_activity_sid or ""
        )
    elif reserved and claimed is not None:
        await flow.store.write(
            voice_task_claim_released, **ids, member_id=claimed.member_id, bridge_id=bridge_id
        )


def _reservation_id(noun: Queue) -> str:
    return str(sid_to_uuid(noun.reservation_sid or "", "WR"))


async def _claim_reserved(flow: Interpreter, noun: Queue, bridge_id: str, url: str) -> Claimed:
    """The reservation's caller, claimed, the reservation accepted. Raises VoiceTaskRefused."""
    s = flow.setup
    claimed: Claimed = await flow.store.write(
        voice_task_claim,
        account_id=s.account_id,
        reservation_sid=noun.reservation_sid or "",
        agent_call_id=s.call_id,
        bridge_id=bridge_id,
        url=url,
        method=noun.method,
        hold_seconds=JOIN_SECONDS + HOLD_MARGIN_SECONDS,
    )
    await flow.store.event(
        "verb", "Dial.queue", {"reservation": noun.reservation_sid or "", "caller": claimed.call_sid}
    )
    return claimed


async def _claim(flow: Interpreter, noun: Queue, bridge_id: str, url: str, deadline: float) -> Claimed | None:
    """The front caller, claimed; None if the queue stayed empty until `deadline`."""
    s = flow.setup
    while True:
        claimed: Claimed | None = await flow.store.write(
            queue_member_claim_front,
            account_id=s.account_id,
            queue_name=noun.name,
            agent_call_id=s.call_id,
            bridge_id=bridge_id,
            url=url,
            method=noun.method,
        )
        if claimed is not None:
            await flow.store.event("verb", "Dial.queue", {"queue": noun.name, "caller": claimed.call_sid})
            return claimed
        if (left := deadline - time.monotonic()) <= 0:
            return None
        await flow.control.pause(min(POLL_SECONDS, left))  # watching for the agent's hangup


async def _joined(flow: Interpreter, claimed: Claimed, bridge_id: str) -> float | None:
    """When the claimed caller joined the bridge (its signal); None if it ended first (it closed the
    bridge) or did not come within JOIN_SECONDS. Raises CallHungUp if the agent hung up."""

    async def signal() -> None:
        while (await flow.signal(JOINED)).get("member_id") != str(claimed.member_id):
            pass  # a stale one, of a caller the agent gave up on

    joined = asyncio.ensure_future(signal())
    ended = asyncio.ensure_future(flow.control.bridged(bridge_id))
    try:
        await asyncio.wait({joined, ended}, timeout=JOIN_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        if joined.done():
            return time.monotonic()
        if ended.done():
            ended.result()  # raises CallHungUp when it was the agent who ended
        return None
    finally:
        for task in (joined, ended):
            task.cancel()
        await asyncio.gather(joined, ended, return_exceptions=True)


def _over(flow: Interpreter, verb: Dial, params: dict[str, str]) -> Fetch | None:
    """Twilio's Dial: on to `action` with the outcome, or to the next verb."""
    return flow.action(verb.action, verb.method, params) if verb.action else None
