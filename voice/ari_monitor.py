"""A supervisor's monitor of one call leg over ARI: the supervisor's own leg and a snoop channel on the
agent's leg in a mixing bridge of their own, so the monitored call's bridge is never touched.

The snoop always hears both directions (`spy=both`); its `whisper` decides who hears the supervisor
(`none`: nobody, `out`: the agent, `both`: the agent and, through the agent's call, the caller). A
mode change adds a new snoop to the bridge before it hangs up the old one, so the supervisor hears
no gap. The leg, the bridge and the snoop are named after the monitor (`monitor-<id>…`), and the
leg and snoop carry MONITOR_ID and SNOOPED_CHANNEL, so whoever lists Asterisk's channels can tell
what they are. Asterisk hangs up the snoop when the agent's leg goes: that, or the supervisor
hanging up, ends the monitor.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any

import httpx

from core.timeouts import within
from mediaserver.ari.client import AriClient, AriError
from mediaserver.ari.router import EventRouter
from voice.ari_control import END_EVENTS, START_SECONDS

log = logging.getLogger(__name__)
Event = dict[str, Any]
LEG_ARGS = "monitor-leg"  # the appArgs of a supervisor's leg and of a snoop, for an orphan's StasisStart
SNOOP_ARGS = "monitor-snoop"
RING_SECONDS = 30
ANSWER_FAILURES = {
    "BUSY": "busy",
    "NOANSWER": "no answer",
    "CANCEL": "canceled",
    "CHANUNAVAIL": "unreachable",
}


class MonitorFailed(Exception):
    """The monitor could not be set up (the supervisor did not answer, the call had ended)."""


class LegMonitor:
    """One monitor, run by the process that runs the monitored call. `on_end(reason)` is awaited once,
    whatever ended it."""

    def __init__(
        self,
        client: AriClient,
        router: EventRouter,
        *,
        monitor_id: str,
        agent_channel: str,
        on_end: Callable[[str], Awaitable[None]],
    ) -> None:
        self.client = client
        self.router = router
        self.monitor_id = monitor_id
        self.agent_channel = agent_channel
        self.bridge_id = f"monitor-{monitor_id}"
        self.leg_id = f"monitor-{monitor_id}-leg"
        self.snoop_id = ""
        self._on_end = on_end
        self._snoops = count(1)
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._entered: set[str] = set()
        self._gone: set[str] = set()
        self._dial_status = ""
        self._lock = asyncio.Lock()  # one start, change or stop at a time
        self._ended = False  # torn down in Asterisk
        self._finished = False  # and reported
        self._dispatcher: asyncio.Task[None] | None = None
        self._ending: asyncio.Task[None] | None = None

    def _claim(self, *resource_ids: str) -> None:
        for resource_id in resource_ids:
            self.router.claim(resource_id, self._events)

    async def start(self, *, endpoint: str, caller_id: str, whisper: str) -> None:
        """Ring the supervisor at `endpoint`; once answered, snoop the agent's leg into their bridge.
        Raises MonitorFailed (everything made so far torn down)."""
        self._claim(self.bridge_id, self.leg_id)
        self._dispatcher = asyncio.create_task(self._dispatch())
        async with self._lock:
            try:
                await self.client.create_channel(
                    endpoint=endpoint,
                    channel_id=self.leg_id,
                    app_args=LEG_ARGS,
                    caller_id=caller_id,
                    variables={"MONITOR_ID": self.monitor_id, "SNOOPED_CHANNEL": self.agent_channel},
                )
                await self._until(lambda: self.leg_id in self._entered, START_SECONDS, "the leg to start")
                # Made once there is a leg to put in it, so it is never empty for long.
                await self.client.create_bridge(self.bridge_id, name=f"monitor:{self.agent_channel}")
                await self.client.add_to_bridge(self.bridge_id, [self.leg_id])
                await self.client.dial(self.leg_id, timeout=RING_SECONDS)
                await self._until(self._answered_or_not, RING_SECONDS + 5, "the supervisor to answer")
                if self._dial_status != "ANSWER":
                    why = ANSWER_FAILURES.get(self._dial_status, "hung up")
                    raise MonitorFailed(f"The supervisor's phone did not answer ({why})")
                await self._snoop(whisper)
            except (MonitorFailed, AriError, httpx.HTTPError) as failure:
                await self._tear_down()
                raise MonitorFailed(str(failure)) from failure

    async def change(self, whisper: str) -> None:
        """Snoop anew with `whisper`, the new snoop in the bridge before the old one leaves it."""
        async with self._lock:
            if not self._ended:
                await self._snoop(whisper)

    async def stop(self, reason: str) -> None:
        async with self._lock:
            await self._tear_down()
        await self._finish(reason)

    async def _snoop(self, whisper: str) -> None:
        snoop_id = f"{self.bridge_id}-snoop-{next(self._snoops)}"
        self._claim(snoop_id)
        try:
            await self.client.snoop(
                self.agent_channel, snoop_id=snoop_id, spy="both", whisper=whisper, app_args=SNOOP_ARGS
            )
        except AriError as exc:
            self.router.release(snoop_id)
            if exc.status == 404:
                raise MonitorFailed("The call has ended") from exc
            raise
        await self._until(lambda: snoop_id in self._entered, START_SECONDS, "the snoop to start")
        await self.client.set_variable(snoop_id, "MONITOR_ID", self.monitor_id)
        await self.client.set_variable(snoop_id, "SNOOPED_CHANNEL", self.agent_channel)
        await self.client.add_to_bridge(self.bridge_id, [snoop_id])
        old, self.snoop_id = self.snoop_id, snoop_id
        if old:
            await self.client.hangup(old)
            self.router.release(old)

    def _answered_or_not(self) -> bool:
        return bool(self._dial_status) and self._dial_status not in ("RINGING", "PROGRESS", "PROCEEDING")

    async def _until(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        """Wait for the dispatcher's state to meet `condition`; the leg hanging up fails it at once."""

        def met() -> bool:
            return condition() or self.leg_id in self._gone

        async with self._changed:
            try:
                await within(self._changed.wait_for(met), seconds)
            except TimeoutError:
                raise MonitorFailed(f"Timed out waiting for {what}") from None
        if not condition():
            raise MonitorFailed("The supervisor's phone hung up")

    async def _dispatch(self) -> None:
        """Every event of the leg, the bridge and the snoops: notes what the waits need, and ends the
        monitor when the supervisor's leg or the current snoop (the agent's call) goes."""
        while True:
            event = await self._events.get()
            kind = event.get("type", "")
            channel = (event.get("peer") or event.get("channel") or {}).get("id", "")
            async with self._changed:
                if kind == "StasisStart":
                    self._entered.add(channel)
                elif kind == "Dial" and channel == self.leg_id:
                    self._dial_status = str(event.get("dialstatus", ""))
                elif kind in END_EVENTS:
                    self._gone.add(channel)
                self._changed.notify_all()
            live = self._dial_status == "ANSWER" and self.snoop_id
            if kind in END_EVENTS and live and channel in (self.leg_id, self.snoop_id) and not self._ending:
                reason = "The supervisor hung up" if channel == self.leg_id else "The call ended"
                self._ending = asyncio.create_task(self.stop(reason))

    async def _tear_down(self) -> None:
        if self._ended:
            return
        self._ended = True
        channels = [c for c in (self.snoop_id, self.leg_id) if c]
        results = await asyncio.gather(*(self.client.hangup(c) for c in channels), return_exceptions=True)
        for failure in results:
            if isinstance(failure, Exception):
                log.warning("monitor %s: hanging up failed: %s", self.monitor_id, failure)
        try:
            await self.client.destroy_bridge(self.bridge_id)
        except AriError as exc:
            log.warning("monitor %s: could not destroy its bridge: %s", self.monitor_id, exc)

    async def _finish(self, reason: str) -> None:
        """Once: stop following events, release the ids, tell the owner."""
        if self._finished:
            return
        self._finished = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        self.router.release(self.bridge_id, self.leg_id, self.snoop_id)
        await self._on_end(reason)
