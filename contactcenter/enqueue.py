"""The queued caller's side: `<Enqueue>` holds the call in its queue until it leaves (`<Leave>` in its
wait music), hangs up, or is dequeued: bridged to an agent's `<Dial><Queue>` (contactcenter/dial_queue.py)
or sent to new TwiML by the Members API.

Hold audio costs no webhook per second: without a waitUrl the platform's hold music loops inside
Asterisk (one ARI playback per 50 loops); a waitUrl document is fetched again only when it ends, and
its `<Play loop="0">` loops inside Asterisk the same way. A dequeue arrives as a signal
(`members.DEQUEUE`) while the music plays, and stops it.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from contactcenter.agent_call import AgentCall, Next
from contactcenter.members import (
    DEQUEUE,
    Entered,
    queue_member_bridged,
    queue_member_enqueue,
    queue_member_leave,
    queue_member_requeue,
)
from contactcenter.models import QueueMember
from contactcenter.selectors import queue_member_standing
from contactcenter.voice_tasks import (
    VoiceTaskRefused,
    voice_task_answered,
    voice_task_claim_released,
    voice_task_create,
    voice_task_leave,
)
from core.documents import Fetch
from core.timeouts import within
from twiml.errors import Code
from twiml.verbs import Enqueue, Gather, Hangup, Leave, Pause, Play, Redirect, Say
from voice import verbs
from voice.control import CallHungUp
from voice.interpreter import MAX_DOCUMENTS, FlowEnded, Interpreter, handles

Result = QueueMember.Result
VerbHandler = Callable[[Interpreter, Any], Awaitable[Fetch | None]]
# What a waitUrl document may hold (Twilio's list; <Leave> is the queue's own), and an announcement.
WAIT_VERBS: dict[type, VerbHandler] = {
    Say: verbs.say,
    Play: verbs.play,
    Pause: verbs.pause,
    Gather: verbs.gather,
    Redirect: verbs.redirect,
    Hangup: verbs.hangup,
}
ANNOUNCEMENT_VERBS: dict[type, VerbHandler] = {
    Say: verbs.say,
    Play: verbs.play,
    Pause: verbs.pause,
    Redirect: verbs.redirect,
}
MIN_WAIT_DOCUMENT_SECONDS = 1.0  # a wait document that ends at once is not fetched again at once
LEAVE_RACE_SECONDS = 10.0  # a <Leave> that lost to an agent's claim waits this long for the dequeue


class _Left(Exception):
    """A `<Leave>` in the wait music."""


@handles(Enqueue)
async def enqueue(flow: Interpreter, verb: Enqueue) -> Fetch | None:
    """With a `workflowSid`, the caller waits in the queue named after the workflow (as Twilio's do)
    unless the verb names one, and its TaskRouter task is created once it is in."""
    await flow.control.answer()
    s = flow.setup
    entered = await flow.store.write(
        queue_member_enqueue,
        account_id=s.account_id,
        call_id=s.call_id,
        queue_name=verb.name or verb.workflow_sid or "",
    )
    if entered is None:
        await flow.store.event("verb", "Enqueue.result", {"result": "queue-full"})
        return flow.action(verb.action, verb.method, {"QueueResult": "queue-full"}) if verb.action else None
    task_sid = ""
    if verb.workflow_sid:
        try:
            task_sid = await flow.store.write(
                voice_task_create,
                account_id=s.account_id,
                call_id=s.call_id,
                workflow_sid=verb.workflow_sid,
                task=verb.task,
            )
        except VoiceTaskRefused as refused:
            await flow.store.error(refused.code, f"<Enqueue workflowSid>: {refused}")
            await flow.store.write(
                queue_member_leave, account_id=s.account_id, member_id=entered.member_id, result=Result.ERROR
            )
            return flow.action(verb.action, verb.method, {"QueueResult": "error"}) if verb.action else None
    return await Stay(flow, verb, entered, task_sid).run()


@handles(Leave)
async def leave(flow: Interpreter, verb: Leave) -> None:
    """Outside a queue's wait music there is no queue to leave."""
    await flow.store.error(Code.SCHEMA, "<Leave> outside an <Enqueue>'s wait music; skipped", warning=True)


class Stay:
    """One caller's time in a queue, from entering it to the verb after `<Enqueue>`."""

    def __init__(self, flow: Interpreter, verb: Enqueue, entered: Entered, task_sid: str = "") -> None:
        self.flow = flow
        self.verb = verb
        self.entered = entered
        self.task_sid = task_sid  # the TaskRouter task of an `<Enqueue workflowSid>`
        self.entered_at = time.monotonic()
        self.home = flow.document_url  # wait documents move it; the action is relative to this one
        self.ids = {"account_id": flow.setup.account_id, "member_id": entered.member_id}

    async def run(self) -> Fetch | None:
        while True:
            try:
                dequeue = await self._hold()
            except (CallHungUp, FlowEnded):
                await self._gone(Result.HANGUP)
                raise FlowEnded() from None
            except asyncio.CancelledError:  # a Calls API redirect replaced the flow
                await self._gone(Result.REDIRECTED)
                raise
            if dequeue is None:
                await self._task_over(Result.LEAVE)
                return self._after(Result.LEAVE, self._queue_time())
            if dequeue["kind"] == "redirect":
                await self._task_over(Result.REDIRECTED)
                await self._notify(Result.REDIRECTED, self._queue_time())
                return Fetch(dequeue["url"], dequeue["method"], {})
            if dequeue["kind"] == "task":
                queue_time = await self._dial_worker(dequeue)
                if queue_time is not None:
                    return self._after(Result.BRIDGED, queue_time)
                continue
            queue_time = await self._bridge(dequeue)
            if queue_time is not None:
                return self._after(Result.BRIDGED, queue_time)

    # Waiting

    async def _hold(self) -> dict[str, Any] | None:
        """The wait music until a dequeue (its signal's payload) or a `<Leave>` (None)."""
        dequeued = asyncio.ensure_future(self._dequeue_signal())
        music = asyncio.ensure_future(self._music())
        try:
            await asyncio.wait({dequeued, music}, return_when=asyncio.FIRST_COMPLETED)
            if dequeued.done():
                return dequeued.result()
            try:
                music.result()  # raises: the music never ends but by a <Leave>, a hangup or an error
            except _Left:
                left = await self.flow.store.write(queue_member_leave, **self.ids, result=Result.LEAVE)
                if left is not None:
                    return None
                # An agent claimed the caller just before: its dequeue is on the way.
                return await within(asyncio.shield(dequeued), LEAVE_RACE_SECONDS)
            raise AssertionError("unreachable")
        finally:
            for task in (dequeued, music):
                task.cancel()
            await asyncio.gather(dequeued, music, return_exceptions=True)
            self.flow.document_url = self.home

    async def _dequeue_signal(self) -> dict[str, Any]:
        while True:
            payload = await self.flow.signal(DEQUEUE)
            if payload.get("member_id") == str(self.entered.member_id):  # not a stale one of an earlier stay
                return payload

    async def _music(self) -> NoReturn:
        """Plays for ever; raises _Left at a `<Leave>`."""
        flow, verb = self.flow, self.verb
        if not verb.wait_url:
            await self._hold_music()
        wait = Fetch(flow.absolute(verb.wait_url), verb.wait_url_method, {})  # type: ignore[arg-type]
        source = wait
        while True:
            standing = await flow.store.write(queue_member_standing, **self.ids)
            if standing is None:  # dequeued: the signal is on its way
                await self._hold_music()
            task = {"TaskSid": self.task_sid} if self.task_sid else {}
            params = {**standing.params(), **task, **source.params}
            document = await flow.fetch_document(Fetch(source.url, source.method, params))
            if document is None:  # the tenant's wait music failed (logged): the caller stays, on ours
                await self._hold_music()
            started = time.monotonic()
            source = await self._run(document, WAIT_VERBS, "wait music") or wait
            if (elapsed := time.monotonic() - started) < MIN_WAIT_DOCUMENT_SECONDS:
                await flow.control.pause(MIN_WAIT_DOCUMENT_SECONDS - elapsed)

    async def _hold_music(self) -> NoReturn:
        uri = await self.flow.media.hold_music()
        while True:
            await self.flow.control.play([uri] * verbs.MAX_LOOP, interruptible=False)

    async def _run(self, document: list[Any], allowed: dict[type, VerbHandler], what: str) -> Fetch | None:
        """A wait or announcement document's verbs; where the next document comes from, if it said."""
        for verb in document:
            name = type(verb).__name__
            await self.flow.store.event("verb", name, {"in": what})
            if isinstance(verb, Leave) and allowed is WAIT_VERBS:
                raise _Left()
            handler = allowed.get(type(verb))
            if handler is None:
                await self.flow.store.error(
                    Code.SCHEMA, f"<{name}> is not allowed in {what}; skipped", warning=True
                )
                continue
            following = await handler(self.flow, verb)
            if following is not None:
                return following
        return None

    # Dequeued to an agent

    async def _bridge(self, dequeue: dict[str, Any]) -> int | None:
        """Hear the agent's announcement, join its bridge and stay until either side ends; the queue
        time. None when the agent was gone before the bridge: the caller is back in line."""
        flow, bridge_id = self.flow, dequeue["bridge_id"]
        queue_time = self._queue_time()
        if dequeue["url"]:
            params = {
                "QueueSid": self.entered.queue_sid,
                "QueueTime": str(queue_time),
                "DequeingCallSid": dequeue["dequeuing_call_sid"],
            }
            source: Fetch | None = Fetch(dequeue["url"], dequeue["method"], params)
            for _ in range(MAX_DOCUMENTS):
                document = await flow.fetch_document(source) if source else None
                if document is None:
                    break
                source = await self._run(document, ANNOUNCEMENT_VERBS, "a queue announcement")
            flow.document_url = self.home
        if not await flow.control.bridge_join(bridge_id):
            await flow.store.write(queue_member_requeue, **self.ids, bridge_id=bridge_id)
            return None
        await flow.store.write(queue_member_bridged, **self.ids)
        await flow.store.event("verb", "Enqueue.bridged", {"with": dequeue["dequeuing_call_sid"]})
        try:
            await flow.control.bridged(bridge_id)
        except CallHungUp:
            await self._notify(Result.BRIDGED, queue_time, hung_up=True)
            raise FlowEnded() from None
        finally:
            await flow.control.bridge_close(bridge_id)  # which ends the agent's side
        return queue_time

    # Dequeued by TaskRouter to a worker

    async def _dial_worker(self, dequeue: dict[str, Any]) -> int | None:
        """Dial the worker a `dequeue` instruction named and stay bridged until either side ends; the
        queue time. The caller is out of line while the worker's phone rings (the instruction made it
        so); the reservation is accepted, and the caller `bridged`, when the worker answers. None when
        the worker did not (the caller back in line in its place, the reservation given back and the
        task offered again): the caller waits on."""
        flow, s = self.flow, self.flow.setup
        ids = {"account_id": s.account_id, "reservation_id": dequeue["reservation_id"]}
        queue_time = self._queue_time()

        async def answered() -> bool:
            if not await flow.store.write(voice_task_answered, **ids):
                return False
            await flow.store.write(queue_member_bridged, **self.ids)  # out of the queue, `bridged`
            return True

        await flow.store.event("verb", "Enqueue.dequeue", {"to": dequeue["to"], "task": self.task_sid})
        agent = AgentCall(
            flow,
            reservation_id=dequeue["reservation_id"],
            member_id=self.entered.member_id,
            post_work_activity_sid=dequeue["post_work_activity_sid"],
        )
        rings = {"to": dequeue["to"], "caller_id": dequeue["from"] or verbs.own_number(flow)}
        timeout = int(dequeue["timeout"])
        outcome = await agent.dial(**rings, timeout=timeout, on_answer=answered)
        if outcome is None or outcome.status != "completed":
            if outcome is not None and outcome.caller_hung_up:
                await self._gone(Result.HANGUP)
                raise FlowEnded()
            status = outcome.status if outcome else "failed"
            released = {"member_id": self.entered.member_id, "bridge_id": "", "status": status}
            await flow.store.write(voice_task_claim_released, **ids, **released)
            return None
        ahead = await agent.after(outcome, **rings, timeout=timeout)
        if ahead.next == Next.WAIT:  # transferred, or its agent lost: in line again with a new task
            self.task_sid = ahead.task_sid
            return None
        if ahead.next == Next.ENDED:
            await self._notify(Result.BRIDGED, queue_time, hung_up=True)
            raise FlowEnded()
        return queue_time

    # Leaving

    async def _task_over(self, result: str) -> None:
        """The caller left unanswered: its task (if any) is canceled, unless it keeps its place for a
        callback."""
        if self.task_sid:
            await self.flow.store.write(
                voice_task_leave, account_id=self.flow.setup.account_id, task_sid=self.task_sid, result=result
            )

    def _queue_time(self) -> int:
        return round(time.monotonic() - self.entered_at)

    def _params(self, result: str, queue_time: int) -> dict[str, str]:
        return {"QueueResult": result, "QueueSid": self.entered.queue_sid, "QueueTime": str(queue_time)}

    def _after(self, result: str, queue_time: int) -> Fetch | None:
        """Where the call goes on: the action's document, or the verb after `<Enqueue>`."""
        verb = self.verb
        return (
            self.flow.action(verb.action, verb.method, self._params(result, queue_time))
            if verb.action
            else None
        )

    async def _notify(self, result: str, queue_time: int, *, hung_up: bool = False) -> None:
        """Twilio requests the action at once when the call leaves other than by going on with it."""
        if self.verb.action:
            action = self.flow.action(self.verb.action, self.verb.method, self._params(result, queue_time))
            status = {"CallStatus": "completed"} if hung_up else {}
            await self.flow.notify(action.url, action.method, {**action.params, **status})

    async def _gone(self, result: str) -> None:
        """The call left while waiting or being dequeued: out of the queue (an agent's bridge held
        open for it closed), and the action told."""
        left = await self.flow.store.write(queue_member_leave, **self.ids, result=result)
        if left is not None and left.bridge_id:
            await self.flow.control.bridge_close(left.bridge_id)
        await self._task_over(result)
        await self._notify(result, self._queue_time(), hung_up=result == Result.HANGUP)
