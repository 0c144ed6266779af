"""SIP MESSAGE to and from a SIP trunk through Asterisk: ARI `sendMessage` out, `TextMessageReceived` in.

One connector serves one PJSIP trunk endpoint of one Asterisk. It runs an asyncio loop in a thread of
its own with the platform's ARI client (mediaserver.ari.client), under its own ARI app name: the voice
worker's app must stay untouched, since a second connection with the same name replaces the first.

What ARI does and does not tell us (verified on Asterisk 22.10.1; details in docs/messaging-sip.md):
* `PUT /endpoints/sendMessage` answers 202 once Asterisk has queued the MESSAGE. The far end's answer
  (202, a 4xx, or nothing) never reaches ARI, so a message is `sent` when Asterisk takes it and no
  delivery receipt ever follows. The connector's carrier id is the message SID, sent along as a header.
* An inbound MESSAGE is answered 202 by Asterisk as soon as some ARI app is subscribed to the
  endpoint, even while that app's websocket is down; such a message is lost. `stop()` therefore
  unsubscribes, after which Asterisk answers 404 and the carrier keeps the message.
"""

import asyncio
import contextlib
import logging
import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

import httpx

from core.error_codes import ErrorCode
from core.timeouts import within
from mediaserver import endpoints
from mediaserver.ari.client import AriClient, AriError, Event
from messaging.carriers.base import CarrierEvents, InboundSms, OutboundSms

log = logging.getLogger(__name__)

SID_HEADER = "X-Switchboard-Message-Sid"
# Subscribing to the trunk endpoint would also bring every call's channel events (about twenty per call).
EVENT_TYPES = ("TextMessageReceived", "ApplicationReplaced")
# ARI answers after which nothing went out and a later try may work: credentials, overload, a failure
# inside Asterisk (sendMessage answers 500 only when it could not build the message).
RETRY_STATUSES = frozenset({401, 403, 429, 500, 502, 503, 504})
# Failures before the request reached Asterisk; any other transport error leaves it unknown whether
# the MESSAGE went out, and is reported as refused rather than risk sending it twice.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_BACKOFF_S = 5.0
RECEIVE_RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0, 5.0, 5.0, 10.0)  # about half a minute in all
STOP_GRACE_S = 15.0
SCHEME_RE = re.compile(r"^[a-z]+:", re.IGNORECASE)
VISUAL_SEPARATORS_RE = re.compile(r"[-.()\s]")


class SipMessageConnector:
    """Messages to and from the trunk `endpoint` (a PJSIP endpoint name) whose far end is `trunk_uri`.

    `send` blocks while `window` messages wait for Asterisk; they are submitted one at a time, in
    order. Events are reported from one thread of the connector's own, in the order they happened.
    """

    def __init__(
        self,
        *,
        name: str,
        events: CarrierEvents,
        ari_url: str,
        ari_username: str,
        ari_password: str,
        ari_app: str,
        endpoint: str,
        trunk_uri: str,
        window: int = 10,
    ) -> None:
        if not trunk_uri.startswith("sip:"):
            raise ValueError(f"trunk_uri {trunk_uri!r} must be a sip: URI")
        self.name = name
        self.events = events
        self.endpoint = endpoint
        self._trunk_host = endpoints.trunk_address(trunk_uri)
        self._event_source = endpoints.endpoint_events(endpoint)
        self._client = AriClient(ari_url, ari_username, ari_password, ari_app, max_connections=4)
        self._window_size = window
        self._window = threading.Semaphore(window)
        self._outbox: asyncio.Queue[OutboundSms | None] = asyncio.Queue()
        self._stop = asyncio.Event()  # ends the events websocket
        self._draining = asyncio.Event()  # no more retries: submit what is queued once, then end
        self._closing = threading.Event()
        self._subscribed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._submitter: asyncio.Task[None] | None = None
        self._callbacks = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sip-{name}-events")

    # --- the connector interface (called from the gateway's threads) ------------------------------

    @property
    def is_connected(self) -> bool:
        """The events websocket is up and the app is subscribed to the trunk endpoint."""
        return self._client.connected.is_set() and self._subscribed

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"connector {self.name} was started already")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._main(ready),), name=f"sip-{self.name}", daemon=True
        )
        self._thread.start()
        ready.wait()

    def send(self, sms: OutboundSms) -> None:
        """Queue `sms` for Asterisk; blocks while the window is full. Raises RuntimeError once stopped."""
        loop = self._loop
        if loop is None or self._closing.is_set():
            raise RuntimeError(f"connector {self.name} is not running")
        self._window.acquire()
        if self._closing.is_set():
            raise RuntimeError(f"connector {self.name} stopped")
        loop.call_soon_threadsafe(self._outbox.put_nowait, sms)

    def stop(self) -> None:
        """Submit what is queued (one try each), unsubscribe from the endpoint, close, join threads.

        Messages still queued after that stay `sending` in the database, for the gateway to hand over
        again when it restarts.
        """
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or self._closing.is_set():
            return
        self._closing.set()
        self._window.release(self._window_size)  # wake senders waiting for the window: they raise
        if thread.is_alive():
            with contextlib.suppress(RuntimeError, TimeoutError):  # the loop ended, or hangs: leave it
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=STOP_GRACE_S + 5)
        thread.join(timeout=STOP_GRACE_S)
        self._callbacks.shutdown(wait=True)

    # --- inside the connector's loop ---------------------------------------------------------------

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._submitter = asyncio.create_task(self._submit_loop())
        ready.set()
        try:
            await self._client.run_events(self._on_event, self._on_connected, stop=self._stop)
        except Exception:
            log.exception("connector %s: ARI event loop failed", self.name)
            raise
        finally:
            self._submitter.cancel()
            await self._client.close()

    async def _on_connected(self) -> None:
        """After every (re)connection: only our event types, then the trunk endpoint's events.

        Asterisk forgets both when it restarts, and answers MESSAGEs with 404 until they are back.
        """
        self._subscribed = False
        app = self._client.app
        backoff = 0.2
        while not self._stop.is_set():
            try:
                await self._client.allow_events(*EVENT_TYPES)
                await self._client.subscribe(self._event_source)
            except (AriError, httpx.HTTPError) as exc:
                log.warning(
                    "connector %s: subscribing %s to %s failed (%s); again in %.1f s",
                    self.name,
                    app,
                    self._event_source,
                    exc,
                    backoff,
                )
                await _wait(self._stop, backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)
            else:
                self._subscribed = True
                log.info("connector %s: app %s subscribed to %s", self.name, app, self._event_source)
                return

    def _on_event(self, event: Event) -> None:
        kind = event.get("type")
        if kind == "TextMessageReceived":
            self._emit(self.events.received, inbound_sms(event.get("message") or {}))
        elif kind == "ApplicationReplaced":
            # Another connection took the app name (a second gateway, or a clash with the voice
            # worker's app); inbound messages go there now, and a reconnect would only take it back.
            self._subscribed = False
            log.error(
                "connector %s: ARI app %s was taken over by another connection; inbound messages go there",
                self.name,
                self._client.app,
            )

    async def _submit_loop(self) -> None:
        while True:
            sms = await self._outbox.get()
            if sms is None:
                return
            try:
                await self._submit(sms)
            finally:
                self._window.release()

    async def _submit(self, sms: OutboundSms) -> None:
        """Hand one message to Asterisk, retrying while it surely has not gone out."""
        backoff = 0.2
        while True:
            try:
                await self._client.send_message(
                    to=endpoints.message_destination(self.endpoint, sms.to, self._trunk_host),
                    from_=sms.from_number,  # Asterisk makes it <sip:number@its own address>
                    body=sms.body,
                    headers={SID_HEADER: sms.message_sid},
                )
            except AriError as exc:
                if exc.status not in RETRY_STATUSES:  # refused, in no SMS terms
                    self._emit(self.events.refused, sms.message_sid, ErrorCode.UNKNOWN_ERROR, str(exc))
                    return
                reason: Exception = exc
            except NOT_SENT_ERRORS as exc:
                reason = exc
            except httpx.TransportError as exc:
                detail = f"no answer from Asterisk ({exc!r}); the message may have gone out"
                self._emit(self.events.refused, sms.message_sid, ErrorCode.UNKNOWN_ERROR, detail)
                return
            else:
                self._emit(self.events.submitted, sms.message_sid, [sms.message_sid])
                return
            if self._draining.is_set():
                log.warning("connector %s: %s not submitted at stop (%s)", self.name, sms.message_sid, reason)
                return
            log.warning(
                "connector %s: %s not submitted (%s); again in %.1f s",
                self.name,
                sms.message_sid,
                reason,
                backoff,
            )
            await _wait(self._draining, backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)

    async def _shutdown(self) -> None:
        self._draining.set()
        self._outbox.put_nowait(None)
        if self._submitter is not None:
            with contextlib.suppress(TimeoutError):
                await within(asyncio.shield(self._submitter), STOP_GRACE_S)
        left = self._outbox.qsize()
        if left:
            log.warning("connector %s: %d messages not submitted at stop", self.name, left)
        if self._subscribed:
            with contextlib.suppress(AriError, httpx.HTTPError, TimeoutError):
                await within(self._client.unsubscribe(self._event_source), 2.0)
            self._subscribed = False
        self._stop.set()

    def _emit(self, callback: Callable[..., None], *args: Any) -> None:
        """Report on the callback thread, so a slow receiver never stalls the websocket (and its pings)."""
        self._callbacks.submit(self._report, callback, *args)

    def _report(self, callback: Callable[..., None], *args: Any) -> None:
        """Call back; an inbound message whose receiver raised is offered again for a while.

        Asterisk has answered the carrier 202 already, so unlike an SMPP deliver_sm there is no
        refusing it for the carrier to deliver again: this retry is the only second chance it gets.
        """
        # The message's SID or carrier id, never the body (it is the customer's, and logs are kept).
        subject = args[0].carrier_message_id if isinstance(args[0], InboundSms) else args[0]
        what = f"{getattr(callback, '__name__', callback)}({subject})"
        delays = iter(RECEIVE_RETRY_DELAYS_S if callback == self.events.received else ())
        while True:
            try:
                callback(*args)
                return
            except Exception:
                delay = next(delays, None)
                if delay is None or self._closing.is_set():
                    log.exception("connector %s: %s failed; given up", self.name, what)
                    return
                log.warning("connector %s: %s failed; again in %.1f s", self.name, what, delay, exc_info=True)
                self._closing.wait(delay)


def inbound_sms(message: dict[str, Any]) -> InboundSms:
    """The InboundSms in a TextMessageReceived `message` (from, to, body, variables = SIP headers).

    The carrier id is Call-ID plus CSeq number: unique per MESSAGE even from a sender that keeps one
    Call-ID for a whole chat, and the same for retransmissions of one MESSAGE.
    """
    headers = message.get("variables") or {}
    call_id = headers.get("Call-ID")
    sequence = str(headers.get("CSeq", "")).partition(" ")[0]
    return InboundSms(
        from_number=number_from_uri(str(message.get("from", ""))),
        to=number_from_uri(str(message.get("to", ""))),
        body=str(message.get("body", "")),
        carrier_message_id=f"{call_id}/{sequence}" if call_id else uuid.uuid4().hex,
    )


def number_from_uri(value: str) -> str:
    """The user part of a SIP/tel URI or name-addr, as E.164 when it is a number.

    `"Bob" <sip:+15551230001@host>;tag=x`, `pjsip:15551230001@host` and `tel:+1-555-123-0001` all give
    `+15551230001`: trunks send E.164 with or without the `+` (national formats are not guessed).
    A name such as an alphanumeric sender id is returned as it is.
    """
    start, end = value.find("<"), value.find(">")
    uri = value[start + 1 : end] if 0 <= start < end else value
    user = SCHEME_RE.sub("", uri.strip()).rpartition("@")[0] or SCHEME_RE.sub("", uri.strip())
    user = unquote(user.split(";")[0])
    digits = VISUAL_SEPARATORS_RE.sub("", user)
    if re.fullmatch(r"\+?[0-9]+", digits):
        return "+" + digits.lstrip("+")
    return user


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await within(event.wait(), seconds)
