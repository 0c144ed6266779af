"""The ARI worker: one per media server, holding its events websocket and running each call as a task.

It reconciles after every (re)connection, because Asterisk keeps calls in Stasis while we are away
but does not replay the events we missed: channels nobody is running are hung up (and the bridges
that held only those destroyed), and calls the database still thinks are live but Asterisk no
longer has are finished. A crash inside one call's task
is logged and that channel is hung up; the other calls carry on.
"""

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import redis
from django.conf import settings
from django.utils import timezone

from core import egress, webhooks
from core.documents import Fetch
from mediaserver import endpoints
from mediaserver.ari.client import REQUEST_TIMEOUT_SECONDS, AriClient, AriError
from mediaserver.ari.router import EventRouter
from voice import (
    call_setup,
    call_state,
    control_channel,
    inbound,
    media_servers,
    monitoring,
    origination,
)
from voice.ari_control import START_SECONDS, AriCallControl
from voice.ari_monitor import LEG_ARGS, SNOOP_ARGS, LegMonitor, MonitorFailed
from voice.control import CallHungUp
from voice.interpreter import Interpreter
from voice.media import MediaCache
from voice.models import Call, MediaServer
from voice.store import ServiceCallStore
from voice.store import db as _db
from voice.verbs import target_endpoint

log = logging.getLogger(__name__)
CONTROL_RETRY_SECONDS = 1.0
# How long an outbound call may be `initiated` with no channel because the process it was handed to is
# making it: the handover, channels/create, START_SECONDS for its StasisStart, and a margin (a busy
# process, clocks a little apart).
HANDOVER_SECONDS = REQUEST_TIMEOUT_SECONDS + START_SECONDS + 15
Event = dict[str, Any]


class CallTask:
    """One live call: its control, its store, and the interpreter run that a redirect can replace."""

    def __init__(
        self,
        worker: "VoiceWorker",
        control: AriCallControl,
        setup: call_setup.CallSetup,
        store: ServiceCallStore,
    ) -> None:
        self.worker = worker
        self.control = control
        self.setup = setup
        self.store = store
        control.on_answer = self.store.answered
        self.interpreter = Interpreter(
            setup, control, worker.media, worker.http, self.store, trunk_host=worker.trunk_host
        )
        self.flow: asyncio.Task[None] | None = None
        self.next_source: Fetch | str | None = None

    async def run(self) -> None:
        """Run the call's TwiML; a redirect cancels the running flow and starts the new document."""
        source: Fetch | str | None = None
        while True:
            self.flow = asyncio.create_task(self.interpreter.run(source))
            try:
                await self.flow
                return
            except asyncio.CancelledError:
                if self.next_source is None:
                    raise
                source, self.next_source = self.next_source, None

    def redirect(self, source: Fetch | str) -> None:
        """Replace the TwiML now running (Calls API update with Url or Twiml)."""
        self.next_source = source
        if self.flow is not None:
            self.flow.cancel()


class VoiceWorker:
    """The calls of one Stasis app: a media server run by N processes has N apps, one per process."""

    def __init__(self, server: MediaServer, app: str | None = None) -> None:
        self.server = server
        self.app = app or server.ari_app
        self.client = AriClient(server.ari_url, server.ari_username, server.ari_password, self.app)
        self.router = EventRouter(self._on_new_channel)
        # Keep-alive for as many connections as may be open: httpx keeps 20 by default, and past that
        # every webhook of a busy worker paid for a new TCP connection.
        self.http = egress.async_client(
            timeout=webhooks.TIMEOUT_SECONDS,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        )
        self.media = MediaCache(server.sounds_dir, self.http)
        self.trunk_host = endpoints.trunk_address(server.trunk_uri)
        self.calls: dict[str, CallTask] = {}
        self.max_inbound_calls = settings.VOICE_MAX_INBOUND_CALLS_PER_WORKER
        self.inbound_in_flight = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.starting: set[str] = set()  # channels whose call task was spawned and has not ended
        self.originating: dict[str, AriCallControl] = {}  # outbound calls not yet dialled
        self.monitors: dict[str, LegMonitor] = {}  # supervisors' monitors of calls run here
        self.control = control_channel.Subscription(server.id, self.app)
        self.stop = asyncio.Event()

    async def run(self) -> None:
        control_listener = asyncio.create_task(self._listen_for_control())
        try:
            await self.client.run_events(
                self.router.route, self._on_events_connected, stop=self.stop, on_lost=self._on_events_lost
            )
        finally:
            control_listener.cancel()
            await asyncio.gather(control_listener, return_exceptions=True)
            await self.control.close()
            await asyncio.gather(
                *(monitor.stop("The worker stopped") for monitor in list(self.monitors.values())),
                return_exceptions=True,
            )
            # Stopping (not crashing): end our calls now rather than leave callers in silence until
            # the next worker's reconciliation; each call's task then finishes its record.
            await asyncio.gather(
                *(self.client.hangup(task.control.channel_id) for task in self.calls.values()),
                return_exceptions=True,
            )
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            await self.http.aclose()
            await self.client.close()

    def spawn(self, channel_id: str, work: Any) -> None:
        task = asyncio.create_task(self._guard(channel_id, work))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guard(self, channel_id: str, work: Any) -> None:
        """Run one call's coroutine so that its crash costs only that call."""
        try:
            await work
        except (asyncio.CancelledError, CallHungUp):
            raise
        except Exception:
            log.exception("call task for channel %s crashed; hanging up", channel_id)
            try:
                await self.client.hangup(channel_id)
            except Exception:
                log.exception("could not hang up %s", channel_id)
        finally:
            self.starting.discard(channel_id)

    # New channels

    def _on_new_channel(self, event: Event) -> None:
        channel = event["channel"]
        if channel["id"] in self.starting:  # adopted on reconnection, and its StasisStart came after all
            return
        self.starting.add(channel["id"])  # until its task ends (`_guard`)
        args = event.get("args") or []
        kind = args[0] if args else ""
        if kind == "inbound" and self.inbound_in_flight >= self.max_inbound_calls:
            # Admission control: past what this worker can run, a fast 503 beats a slow call for everyone.
            log.warning("at %d inbound calls: refusing %s", self.inbound_in_flight, channel["id"])
            self.spawn(channel["id"], self.client.hangup(channel["id"], reason="congestion"))
        elif kind in ("media-leg", LEG_ARGS, SNOOP_ARGS):
            # A media fork's or a monitor's snoop or leg that no task here follows any more (its call
            # ended as it was made): Asterisk would keep it in Stasis.
            self.spawn(channel["id"], self.client.hangup(channel["id"]))
        elif kind == "inbound":
            self.inbound_in_flight += 1  # counted now, not when the task first runs: calls come in bursts
            self.spawn(channel["id"], self._inbound(channel))
        else:
            log.warning("hanging up unexpected channel %s (args %s)", channel["id"], args)
            self.spawn(channel["id"], self.client.hangup(channel["id"]))

    async def _inbound(self, channel: Event) -> None:
        channel_id = channel["id"]
        control = AriCallControl(self.client, self.router, channel_id)
        try:
            dialled = channel.get("dialplan", {}).get("exten", "")
            caller = channel.get("caller", {}).get("number", "")
            setup = await _db(inbound.inbound_call_open)(
                from_number=caller,
                dialled=dialled,
                channel_id=channel_id,
                media_server_id=self.server.id,
            )
            if setup is None:
                log.info("rejecting call to unknown number %r from %r", dialled, caller)
                await self.client.hangup(channel_id, reason="unallocated")
                return
            if isinstance(setup, inbound.InboundRefused):
                log.info("rejecting call %s: its account is not active", setup.call_sid)
                await control.reject("rejected")  # unanswered, as <Reject> leaves a call
                return
            await self._run_call(control, ServiceCallStore(setup, media_server_id=self.server.id))
        finally:
            self.inbound_in_flight -= 1
            control.release_all()

    def _originate(self, command: control_channel.Originate) -> None:
        """A call created by the Calls API, handed to this process to start (`origination.call_originate`)."""
        channel_id = command["call_sid"]
        if channel_id in self.starting or self.router.owns(channel_id):
            return
        self.starting.add(channel_id)
        # Its id is claimed before the channel exists: its StasisStart comes to its task, not as a new call.
        control = AriCallControl(self.client, self.router, channel_id)
        account_id = uuid.UUID(command["account_id"])
        self.spawn(channel_id, self._outbound(control, account_id, command["timeout"]))

    async def _outbound(self, control: AriCallControl, account_id: uuid.UUID, timeout: int) -> None:
        """Create and dial the call's channel, follow the dial until it is answered, then run its TwiML."""
        channel_id = control.channel_id
        call_id = uuid.UUID(channel_id[2:])
        self.originating[channel_id] = control
        try:
            setup = await _db(origination.outbound_call_setup)(account_id=account_id, call_id=call_id)
            if setup is None:
                return
            # A TaskRouter `call` instruction's `to` is a worker's contact: a number, sip: or client:.
            try:
                endpoint = await target_endpoint(
                    setup.to_number, trunk_host=self.trunk_host, account_id=account_id
                )
            except egress.DestinationRefused as refused:
                endpoint, refusal = None, str(refused)
            else:
                refusal = f"{setup.to_number} is no client of this account"
            if endpoint is None:
                await _db(origination.call_originate_failed)(
                    account_id=account_id, call_id=call_id, message=refusal
                )
                return
            try:
                await control.originate(endpoint=endpoint, caller_id=setup.from_number, timeout=timeout)
            except (AriError, httpx.HTTPError, CallHungUp) as exc:
                if isinstance(exc, AriError) and exc.status == 409 and not control.has_made_channel:
                    return  # the channel exists already: a duplicate delivery of a call started elsewhere
                if control.has_made_channel:
                    await self.client.hangup(channel_id)
                reason = exc if str(exc) else "the channel ended before it was dialled"
                await _db(origination.call_originate_failed)(
                    account_id=account_id, call_id=call_id, message=f"Could not originate the call: {reason}"
                )
                return
            finally:
                self.originating.pop(channel_id, None)  # dialled: a hangup now reaches the channel
            store = ServiceCallStore(setup, media_server_id=self.server.id)
            status = await self._await_answer(control, store)
            if status != "answered":
                await store.finish(status=status)
                return
            control.is_answered = True
            await store.answered()
            await self._run_call(control, store)
        finally:
            self.originating.pop(channel_id, None)
            control.release_all()

    async def _await_answer(self, control: AriCallControl, store: ServiceCallStore) -> str:
        try:
            while True:
                event = await control.next_event(None)
                if event is None or event.get("type") != "Dial":
                    continue
                dial_status = event.get("dialstatus", "")
                if dial_status in ("RINGING", "PROGRESS"):
                    await store.status("ringing")
                elif dial_status == "ANSWER":
                    return "answered"
                elif dial_status:
                    return {"BUSY": "busy", "NOANSWER": "no-answer", "CANCEL": "canceled"}.get(
                        dial_status, "failed"
                    )
        except CallHungUp:
            return "no-answer"

    async def _run_call(self, control: AriCallControl, store: ServiceCallStore) -> None:
        setup = store.setup
        task = CallTask(self, control, setup, store)
        self.calls[setup.call_sid] = task
        try:
            await task.run()
            await self._wait_for_end(control)
        finally:
            self.calls.pop(setup.call_sid, None)
            await task.store.finish(reason="")

    async def _wait_for_end(self, control: AriCallControl) -> None:
        """After the flow, the channel is hanging up: wait (briefly) for Asterisk to confirm."""
        try:
            while not control.is_gone:
                if await control.next_event(5) is None:
                    await self.client.hangup(control.channel_id)
                    return
        except CallHungUp:
            return

    # Reconnection and live control

    async def _reconcile(self) -> None:
        """After (re)connecting: adopt calls that arrived unseen, hang up orphans, finish vanished
        calls, wake tasks whose channel went."""
        try:
            await self.client.ignore_events("ChannelVarset", "ChannelDialplan", "ChannelConnectedLine")
            live = set(await self.client.app_channel_ids())
            # Other processes' apps own the rest of the server's channels; their calls are theirs.
            anywhere = set(await self.client.channel_ids()) if len(self.server.stasis_apps) > 1 else live
        except AriError:
            log.exception("could not list channels to reconcile")
            return
        recorded = await _db(call_state.live_calls_on)(media_server_id=self.server.id)
        started = {call.channel_id for call in recorded}
        bridges = await self._bridges()  # before the orphans below leave theirs
        orphans: set[str] = set()
        for channel_id in live:
            running = self.router.owns(channel_id) or channel_id in self.starting
            if running or (channel_id not in started and await self._adopt(channel_id)):
                continue
            log.warning("hanging up orphaned channel %s", channel_id)
            orphans.add(channel_id)
            await self.client.hangup(channel_id)
        await self._drop_abandoned_bridges(bridges, orphans)
        handed_over_since = timezone.now() - timedelta(seconds=HANDOVER_SECONDS)
        for call in recorded:
            channel_id = call.channel_id
            if self.router.owns(channel_id) or (channel_id in anywhere and channel_id not in live):
                continue
            if channel_id not in anywhere and _is_handed_over(call, since=handed_over_since):
                continue
            # Nobody here runs it: hung up above as an orphan, or gone from Asterisk altogether.
            reason = "worker restarted mid-call" if channel_id in live else "channel lost while away"
            await _db(call_state.call_finish)(
                account_id=call.account_id, call_id=call.call_id, status="failed", reason=reason
            )
        for sid, task in list(self.calls.items()):
            if task.control.channel_id not in live:
                task.control.events.put_nowait(
                    {"type": "ChannelDestroyed", "channel": {"id": task.control.channel_id}}
                )
                log.info("call %s ended while disconnected", sid)
        await _db(media_servers.media_server_seen)(server_id=self.server.id)

    async def _bridges(self) -> dict[str, set[str]]:
        """Every bridge on the server with the channels in it; none when ARI will not say."""
        try:
            return {bridge["id"]: set(bridge.get("channels", [])) for bridge in await self.client.bridges()}
        except AriError:
            log.exception("could not list bridges to reconcile")
            return {}

    async def _drop_abandoned_bridges(self, bridges: dict[str, set[str]], orphans: set[str]) -> None:
        """Destroy the bridges that held nothing but orphans (a crashed process's dial, stream or
        monitor bridges): Asterisk keeps an emptied bridge, and the app it was made in, for ever.
        An empty one may be another process's, just made, and is left alone."""
        for bridge_id, channels in bridges.items():
            if channels and channels <= orphans:
                log.warning("destroying abandoned bridge %s", bridge_id)
                try:
                    await self.client.destroy_bridge(bridge_id)
                except AriError:
                    log.exception("could not destroy abandoned bridge %s", bridge_id)

    async def _adopt(self, channel_id: str) -> bool:
        """Run an inbound call that entered our app while its events could not reach us (the
        connection was stuck or we were restarting): Asterisk kept the caller, only the StasisStart
        was lost. A call already started somewhere has a record and is not ours to resume."""
        try:
            channel = await self.client.channel(channel_id)
        except AriError:
            return False
        args = str(channel.get("dialplan", {}).get("app_data", "")).split(",")[1:]
        if channel_id in self.starting or self.router.owns(channel_id):
            return True  # its StasisStart arrived while we asked: it is running
        if args[:1] != ["inbound"]:
            return False
        log.info("adopting channel %s, which arrived while the events were away", channel_id)
        self._on_new_channel({"type": "StasisStart", "channel": channel, "args": args})
        return True

    async def _on_events_connected(self) -> None:
        await self._reconcile()
        await self.control.taking_calls(True)

    async def _on_events_lost(self) -> None:
        """No calls to start while Asterisk's events cannot reach us: they go to connected processes."""
        await self.control.taking_calls(False)

    async def _listen_for_control(self) -> None:
        """Commands from the API and Celery (`control_channel`), published on Redis after commit.

        It listens for as long as the worker runs: a process subscribed but not reading would leave
        the calls handed to it unstarted. So a failed command is logged and the next one read, and a
        lost Redis connection is made again.
        """
        while True:
            try:
                async for command in self.control.commands():
                    try:
                        await self._apply_control(command)
                    except Exception:
                        log.exception("control command %s failed", command)
            except (redis.RedisError, OSError) as exc:
                log.warning(
                    "control channel lost (%s); listening again in %.0f s", exc, CONTROL_RETRY_SECONDS
                )
            await asyncio.sleep(CONTROL_RETRY_SECONDS)

    async def _apply_control(self, command: control_channel.Command) -> None:
        if command["action"] == "originate":
            self._originate(command)
        elif command["action"] == "hangup":
            await self.client.hangup(command["channel_id"])
            if (control := self.originating.get(command["channel_id"])) is not None:
                # Canceled while its channel was being made, perhaps before it existed (so the hangup
                # found nothing): its origination ends as soon as the channel does.
                control.events.put_nowait({"type": "ChannelDestroyed", "channel": {"id": control.channel_id}})
        elif command["action"] == "monitor":
            self._monitor(command)
        elif (task := self.calls.get(command["call_sid"])) is None:
            return  # another process runs it, or nobody does any more
        elif command["action"] == "signal":
            task.interpreter.deliver(command["name"], command["payload"])
        else:
            source: Fetch | str = (
                command["twiml"] if command["twiml"] else Fetch(command["url"], command["method"], {})
            )
            task.redirect(source)

    def _monitor(self, command: control_channel.Monitor) -> None:
        """Start a monitor of a call this process runs, or change or stop one it holds, in a task of
        its own: ringing the supervisor takes seconds, and other commands must not wait."""
        monitor = self.monitors.get(command["monitor_id"])
        if command["op"] == "start" and monitor is None and command["call_sid"] in self.calls:
            work = self._monitor_start(command)
        elif command["op"] == "change" and monitor is not None:
            work = self._monitor_change(monitor, command["whisper"])
        elif command["op"] == "stop" and monitor is not None:
            work = monitor.stop("Stopped by the supervisor")
        else:
            return  # another process runs the call, or the monitor has ended
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _monitor_start(self, command: control_channel.Monitor) -> None:
        ids = {"account_id": uuid.UUID(command["account_id"]), "monitor_id": uuid.UUID(command["monitor_id"])}

        async def ended(reason: str) -> None:
            self.monitors.pop(command["monitor_id"], None)
            await _db(monitoring.monitor_ended)(**ids, reason=reason)

        monitor = LegMonitor(
            self.client,
            self.router,
            monitor_id=command["monitor_id"],
            agent_channel=command["channel_id"],
            on_end=ended,
        )
        self.monitors[command["monitor_id"]] = monitor
        try:
            endpoint = await target_endpoint(
                command["target"], trunk_host=self.trunk_host, account_id=ids["account_id"]
            )
            if endpoint is None:
                raise MonitorFailed(f"{command['target']} is no client of this account")
            await monitor.start(endpoint=endpoint, caller_id=command["caller_id"], whisper=command["whisper"])
        except (MonitorFailed, egress.DestinationRefused) as failure:
            log.info("monitor %s did not start: %s", command["monitor_id"], failure)
            await monitor.stop(str(failure))
            return
        await _db(monitoring.monitor_connected)(**ids)

    async def _monitor_change(self, monitor: LegMonitor, whisper: str) -> None:
        try:
            await monitor.change(whisper)
        except (MonitorFailed, AriError, httpx.HTTPError) as failure:
            log.info("monitor %s could not change mode: %s", monitor.monitor_id, failure)


def _is_handed_over(call: call_state.LiveCall, *, since: datetime) -> bool:
    """Handed to a worker process (maybe another) since then, which may not have made its channel yet."""
    return call.status == Call.Status.INITIATED and call.start_time is not None and call.start_time >= since
