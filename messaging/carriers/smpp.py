"""The SMPP 3.4 carrier connector: one bind_transceiver to an SMSC, on smpplib, run by threads.

Three threads share the state below under one lock: a supervisor connects, binds and reconnects
with back-off; a writer sends submit_sm while the window has room, the token bucket allows and no
throttling pause is on; the session's reader handles every PDU that arrives (submit_sm_resp,
deliver_sm, enquire_link, unbind) and calls the `CarrierEvents`, in the order the SMSC sent them.

Delivery guarantees:
- A SID handed over twice while queued is taken once. ESME_RTHROTTLED/ESME_RMSGQFUL resend the same part
  after a pause (as long as it takes); other temporary errors a few times; anything else is a refusal
  (`smpp_codec.submit_outcome`, table in docs/messaging-carriers.md).
- At-least-once window: when the connection drops, parts sent but not yet answered are sent again
  after the next bind, because the SMSC may or may not have taken them. At most `window` parts are
  in that state at any moment. Nothing else is ever sent twice.
- Messages handed to `send` while disconnected wait (at most `queue_limit`; `send` blocks beyond)
  and go out after the bind; `stop` waits briefly for answers to what is in flight and leaves the
  rest unsent (the gateway resubmits messages it left in `sending`).
- deliver_sm is answered after its event was handled; if the handler raised, with ESME_RX_T_APPN so
  the SMSC delivers it again. A receipt's is answered when the handler acknowledges it (the gateway:
  once it is written to PostgreSQL), from that thread; one held when the bind drops comes again.
  Parts of a concatenated MO message are acknowledged as they arrive and held in memory until the
  last one (a restart in between loses the earlier parts).
"""

import heapq
import itertools
import logging
import random
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from core.error_codes import ErrorCode
from messaging.carriers import smpp_codec
from messaging.carriers.base import CarrierEvents, InboundSms, OutboundSms

log = logging.getLogger(__name__)

TICK_S = 0.1  # how often the reader looks at timers when nothing arrives
IO_TIMEOUT_S = 10.0  # connect, and a PDU that has begun to arrive
RESPONSE_TIMEOUT_S = 30.0  # an unanswered submit_sm or enquire_link means the connection is dead
UNBIND_WAIT_S = 2.0
DRAIN_S = 5.0  # stop(): how long to wait for answers to what is in flight
THROTTLE_PAUSE_S = (0.05, 5.0)  # first and longest pause after ESME_RTHROTTLED, doubling between
BIND_REFUSED_RETRY_S = (15.0, 300.0)  # wrong credentials: retrying soon cannot help
MO_ASSEMBLY_S = 600.0  # parts of a concatenated MO message still incomplete then are delivered as they are
ESME_RX_T_APPN = 0x64


class BindRefused(Exception):
    """The SMSC refused our system_id/password/system_type."""


@dataclass(eq=False)
class _Message:
    sms: OutboundSms
    carrier_ids: list[str | None]
    is_closed: bool = False  # submitted or refused: nothing more is sent or reported


@dataclass(eq=False)
class _Part:
    message: _Message
    number: int  # 1-based
    short_message: bytes
    data_coding: int
    esm_class: int
    order: int  # FIFO position; a resent part keeps its own, so it goes before newer ones
    temporary_failures: int = 0
    sent_at: float = 0.0

    def __lt__(self, other: "_Part") -> bool:
        return self.order < other.order


@dataclass
class _Assembly:
    parts: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # number -> (data_coding, data)
    started_at: float = field(default_factory=time.monotonic)


class _Sequence:
    """smpplib's sequence generator, thread-safe (the reader and the writer both create PDUs)."""

    MAX = 0x7FFFFFFF

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = random.randint(1, self.MAX)

    @property
    def sequence(self) -> int:
        return self._value

    def next_sequence(self) -> int:
        with self._lock:
            self._value = self._value % self.MAX + 1
            return self._value


class _TokenBucket:
    """`rate` tokens a second, bursts of at most a tenth of a second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate / 10)
        self.tokens = self.capacity
        self.at = time.monotonic()

    def wait_s(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class _Session:
    """One TCP connection and bind; `is_alive` turns False once, when either thread sees it end."""

    def __init__(self, client: smpplib.client.Client) -> None:
        self.client = client
        self.send_lock = threading.Lock()
        self.is_alive = True
        self.last_received_at = time.monotonic()
        self.enquire_sent_at: float | None = None
        self.checked_at = 0.0  # timers are looked at once a tick, not after every PDU

    def send(self, pdu: Any) -> None:
        with self.send_lock:
            self.client.send_pdu(pdu)

    def answer(self, request: Any, command: str, **fields: object) -> None:
        response = smpplib.smpp.make_pdu(command, client=self.client, **fields)
        response.sequence = request.sequence
        self.send(response)


class SmppConnector:
    """One SMPP transceiver bind (see the module docstring).

    `window`: submit_sm awaiting their submit_sm_resp at most; `max_per_second`: submit_sm sent per
    second at most (token bucket, bursts of a tenth of a second); `enquire_link_seconds`: silence
    after which we probe the link; `queue_limit`: messages held (waiting or in flight) before `send`
    blocks. Events are called from the connector's reader thread, in the SMSC's order; a handler must
    not call `send` (it could wait for the very thread it runs on).
    """

    def __init__(
        self,
        *,
        name: str,
        events: CarrierEvents,
        host: str,
        port: int,
        system_id: str,
        password: str,
        system_type: str = "",
        window: int = 10,
        max_per_second: float = 500,
        enquire_link_seconds: float = 30,
        queue_limit: int = 1000,
        reconnect_seconds: tuple[float, float] = (0.2, 30.0),
    ) -> None:
        self.name = name
        self.events = events
        self.host, self.port = host, int(port)
        self.system_id, self.password, self.system_type = system_id, password, system_type
        self.window = window
        self.enquire_link_seconds = enquire_link_seconds
        self.queue_limit = queue_limit
        self.reconnect_seconds = reconnect_seconds
        self.last_error: str | None = None  # why the last connection attempt failed, for operators

        self._changed = threading.Condition()  # guards everything below
        self._queue: list[_Part] = []  # heap by order
        self._in_flight: dict[int, _Part] = {}  # by sequence_number
        self._messages: dict[str, _Message] = {}  # not yet submitted or refused, by SID
        self._session: _Session | None = None
        self._order = itertools.count()
        self._reference = random.randrange(256)
        self._bucket = _TokenBucket(max_per_second)
        self._pause_until = 0.0
        self._pause_s = 0.0
        self._assemblies: dict[tuple[str, str, int, int], _Assembly] = {}
        self._sequence = _Sequence()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the connector interface -------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name=f"smpp-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._changed:
            self._stopping.set()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(DRAIN_S + UNBIND_WAIT_S + IO_TIMEOUT_S)
        with self._changed:
            if self._messages:
                log.warning(
                    "smpp %s: stopped with %d message(s) not submitted", self.name, len(self._messages)
                )

    @property
    def is_connected(self) -> bool:
        session = self._session
        return session is not None and session.is_alive

    def send(self, sms: OutboundSms) -> None:
        """Queue `sms`; blocks while `queue_limit` messages are waiting. A SID already queued is ignored."""
        try:
            encoded = smpp_codec.encode(sms.body, reference=self._next_reference())
        except ValueError as error:
            self._emit(self.events.refused, sms.message_sid, ErrorCode.UNKNOWN_ERROR, str(error))
            return
        with self._changed:
            while len(self._messages) >= self.queue_limit and not self._stopping.is_set():
                self._changed.wait()
            if self._stopping.is_set():
                raise RuntimeError(f"smpp connector {self.name} is stopped")
            if sms.message_sid in self._messages:
                return
            message = _Message(sms=sms, carrier_ids=[None] * len(encoded.parts))
            self._messages[sms.message_sid] = message
            for number, short_message in enumerate(encoded.parts, 1):
                part = _Part(
                    message, number, short_message, encoded.data_coding, encoded.esm_class, next(self._order)
                )
                heapq.heappush(self._queue, part)
            self._changed.notify_all()

    # --- supervisor: connect, bind, run a session, reconnect ---------------------------------------
    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                session = self._bind()
            except BindRefused as error:
                self.last_error = str(error)
                delay = min(BIND_REFUSED_RETRY_S[1], BIND_REFUSED_RETRY_S[0] * 2**failures)
                log.error("smpp %s: %s; retrying in %.0f s", self.name, error, delay)
                failures += 1
                self._stopping.wait(delay)
                continue
            except Exception as error:  # refused connection, timeout, garbage: all mean "try again later"
                self.last_error = (
                    f"cannot bind to {self.host}:{self.port}: {str(error) or type(error).__name__}"
                )
                delay = self._backoff(failures)
                log.warning("smpp %s: %s; retrying in %.1f s", self.name, self.last_error, delay)
                failures += 1
                self._stopping.wait(delay)
                continue
            failures = 0
            self.last_error = None
            log.info("smpp %s: bound to %s:%s as %s", self.name, self.host, self.port, self.system_id)
            try:
                self._run(session)
            except Exception:  # a bug in handling one PDU must not end the connector: reconnect
                log.exception("smpp %s: the session failed", self.name)
            if not self._stopping.is_set():
                log.warning(
                    "smpp %s: connection to %s:%s lost; reconnecting", self.name, self.host, self.port
                )
                self._stopping.wait(self._backoff(0))

    def _backoff(self, failures: int) -> float:
        low, high = self.reconnect_seconds
        return min(high, low * 2**failures) * random.uniform(0.8, 1.2)

    def _bind(self) -> _Session:
        client = smpplib.client.Client(
            self.host,
            self.port,
            timeout=IO_TIMEOUT_S,
            sequence_generator=self._sequence,
            logger_name=f"{__name__}.wire",
            allow_unknown_opt_params=True,
        )
        try:
            client.connect()
            # Request and answer are small PDUs: without this, Nagle's algorithm holds each one back
            # until the peer's delayed ACK, and a window of ten moved ~500 messages/s instead of ~2,000.
            client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.bind_transceiver(
                system_id=self.system_id, password=self.password, system_type=self.system_type
            )
        except smpplib.exceptions.PDUError as error:
            client.disconnect()
            status = error.args[1] if len(error.args) > 1 else None
            if status in smpp_codec.BIND_REFUSALS:
                raise BindRefused(
                    f"bind refused by {self.host}:{self.port}: {smpp_codec.status_name(status)} "
                    f"(check system_id {self.system_id!r}, the password and system_type)"
                ) from None
            raise
        except BaseException:
            client.disconnect()
            raise
        return _Session(client)

    def _run(self, session: _Session) -> None:
        with self._changed:
            self._session = session
            self._changed.notify_all()
        writer = threading.Thread(
            target=self._write, args=(session,), name=f"smpp-{self.name}-writer", daemon=True
        )
        writer.start()
        try:
            self._read(session)
            if self._stopping.is_set() and session.is_alive:
                self._unbind(session)
        finally:
            with self._changed:
                session.is_alive = False
                self._session = None
                # The at-least-once window: parts the SMSC never answered go again after the next bind.
                for part in self._in_flight.values():
                    if not part.message.is_closed:
                        heapq.heappush(self._queue, part)
                self._in_flight.clear()
                self._changed.notify_all()
            writer.join()
            session.client.disconnect()

    def _unbind(self, session: _Session) -> None:
        try:
            session.send(smpplib.smpp.make_pdu("unbind", client=session.client))
            deadline = time.monotonic() + UNBIND_WAIT_S
            while time.monotonic() < deadline:
                if not select.select([session.client._socket], [], [], TICK_S)[0]:
                    continue
                pdu = session.client.read_pdu()
                if pdu.command == "unbind_resp":
                    return
                self._dispatch(session, pdu)
        except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError):
            pass  # closing anyway

    # --- writer -----------------------------------------------------------------------------------
    def _write(self, session: _Session) -> None:
        try:
            self._write_parts(session)
        except Exception:
            log.exception("smpp %s: the writer failed; reconnecting", self.name)
            session.is_alive = False

    def _write_parts(self, session: _Session) -> None:
        while True:
            token_wait = self._bucket.wait_s()
            if token_wait > 0:
                time.sleep(token_wait)
                continue
            with self._changed:
                part = self._next_part(session)
                if part is None:
                    return
                if part.message.is_closed:
                    continue
                self._bucket.take()
                pdu = self._submit_sm(session, part)
                part.sent_at = time.monotonic()
                self._in_flight[pdu.sequence] = part
            try:
                session.send(pdu)
            except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as error:
                log.warning("smpp %s: sending submit_sm failed: %s", self.name, error)
                session.is_alive = False
                return

    def _next_part(self, session: _Session) -> _Part | None:
        """Wait (holding the condition) until a part may go out; None once the session is over."""
        while session.is_alive and not self._stopping.is_set():
            now = time.monotonic()
            if self._queue and len(self._in_flight) < self.window and now >= self._pause_until:
                return heapq.heappop(self._queue)
            self._changed.wait(max(TICK_S, self._pause_until - now) if self._queue else None)
        return None

    def _submit_sm(self, session: _Session, part: _Part) -> Any:
        sms = part.message.sms
        source_ton, source_npi, source = smpp_codec.address_out(sms.from_number)
        dest_ton, dest_npi, destination = smpp_codec.address_out(sms.to)
        validity = smpp_codec.relative_validity(sms.validity_period) if sms.validity_period else None
        return smpplib.smpp.make_pdu(
            "submit_sm",
            client=session.client,
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            source_addr=source,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            destination_addr=destination,
            esm_class=part.esm_class,
            data_coding=part.data_coding,
            short_message=part.short_message,
            registered_delivery=1,  # a receipt for every part, delivered or not
            validity_period=validity,
        )

    # --- reader -----------------------------------------------------------------------------------
    def _read(self, session: _Session) -> None:
        drain_until: float | None = None
        sock = session.client._socket
        while session.is_alive:
            if self._stopping.is_set():
                drain_until = drain_until or time.monotonic() + DRAIN_S
                with self._changed:
                    if not self._in_flight or time.monotonic() > drain_until:
                        return
            try:
                if select.select([sock], [], [], TICK_S)[0]:
                    pdu = session.client.read_pdu()
                    session.last_received_at = time.monotonic()
                    session.enquire_sent_at = None
                    if not self._dispatch(session, pdu):
                        return
                self._keep_alive(session)
            except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as error:
                log.warning("smpp %s: connection failed: %s", self.name, str(error) or type(error).__name__)
                return
            except smpplib.exceptions.UnknownCommandError as error:
                log.warning("smpp %s: unreadable PDU (%s); reconnecting", self.name, error)
                return

    def _dispatch(self, session: _Session, pdu: Any) -> bool:
        """Act on one PDU; False when the SMSC ends the session."""
        command = pdu.command
        if command in ("submit_sm_resp", "generic_nack"):
            self._on_submit_resp(pdu)
        elif command == "deliver_sm":
            status = self._on_deliver_sm(session, pdu)
            if status is not None:
                session.answer(pdu, "deliver_sm_resp", status=status)
        elif command == "enquire_link":
            session.answer(pdu, "enquire_link_resp")
        elif command == "unbind":
            session.answer(pdu, "unbind_resp")
            log.info("smpp %s: the SMSC unbound", self.name)
            return False
        elif command != "enquire_link_resp":
            log.warning("smpp %s: ignoring %s", self.name, command)
        return True

    def _keep_alive(self, session: _Session) -> None:
        now = time.monotonic()
        if now - session.checked_at < TICK_S:
            return
        session.checked_at = now
        with self._changed:  # in sending order, so the first is the oldest
            oldest = next((part.sent_at for part in self._in_flight.values()), now)
        if now - oldest > RESPONSE_TIMEOUT_S or (
            session.enquire_sent_at is not None and now - session.enquire_sent_at > RESPONSE_TIMEOUT_S
        ):
            raise smpplib.exceptions.ConnectionError(f"no answer from the SMSC in {RESPONSE_TIMEOUT_S:.0f} s")
        if session.enquire_sent_at is None and now - session.last_received_at >= self.enquire_link_seconds:
            session.enquire_sent_at = now
            session.send(smpplib.smpp.make_pdu("enquire_link", client=session.client))
        self._expire_assemblies(now)

    # --- submit_sm_resp ----------------------------------------------------------------------------
    def _on_submit_resp(self, pdu: Any) -> None:
        status = int(pdu.status)
        notify: Callable[[], None] | None = None
        with self._changed:
            part = self._in_flight.pop(pdu.sequence, None)
            self._changed.notify_all()
            if part is None or part.message.is_closed:
                return
            message = part.message
            if status == smpplib.consts.SMPP_ESME_ROK:
                self._pause_s = 0.0
                message.carrier_ids[part.number - 1] = _text(pdu.message_id)
                if None not in message.carrier_ids:
                    ids = [str(carrier_id) for carrier_id in message.carrier_ids]
                    notify = self._close(message, self.events.submitted, message.sms.message_sid, ids)
            else:
                outcome, code = smpp_codec.submit_outcome(status)
                if outcome == "temporary":
                    part.temporary_failures += 1
                if outcome == "throttled" or (
                    outcome == "temporary" and part.temporary_failures < smpp_codec.TEMPORARY_ATTEMPTS
                ):
                    self._pause(part)
                    heapq.heappush(self._queue, part)
                else:
                    detail = (
                        f"{smpp_codec.status_name(status)} (0x{status:08X}) for part {part.number} of "
                        f"{len(message.carrier_ids)} from {self.host}:{self.port}"
                    )
                    notify = self._close(message, self.events.refused, message.sms.message_sid, code, detail)
        if notify is not None:
            notify()

    def _pause(self, part: _Part) -> None:
        """Hold every submission a while; longer each time a part sent after the last pause is refused too."""
        if part.sent_at >= self._pause_until - self._pause_s:
            low, high = THROTTLE_PAUSE_S
            self._pause_s = min(high, self._pause_s * 2 or low)
            self._pause_until = time.monotonic() + self._pause_s

    def _close(self, message: _Message, event: Callable[..., None], *args: object) -> Callable[[], None]:
        message.is_closed = True
        del self._messages[message.sms.message_sid]
        return lambda: self._emit(event, *args)

    # --- deliver_sm ----------------------------------------------------------------------------------
    def _on_deliver_sm(self, session: _Session, pdu: Any) -> int | None:
        """Handle a receipt or an MO message; the command_status of our deliver_sm_resp, or None when a
        receipt is answered later, by `_acknowledge`."""
        data: bytes = pdu.short_message or pdu.message_payload or b""
        esm_class = pdu.esm_class or 0
        try:
            if esm_class & smpp_codec.ESM_RECEIPT:
                receipt = smpp_codec.parse_receipt(
                    data, receipted_message_id=pdu.receipted_message_id, message_state=pdu.message_state
                )
                if receipt is not None:
                    self.events.receipt(receipt, partial(self._acknowledge, session, pdu))
                    return None
            else:
                self._on_mo(pdu, data, esm_class)
        except smpp_codec.MalformedReceipt as error:
            log.warning("smpp %s: %s", self.name, error)  # answered ROK: resending it would not help
        except Exception:
            log.exception("smpp %s: handling deliver_sm failed; the SMSC will deliver it again", self.name)
            return ESME_RX_T_APPN
        return smpplib.consts.SMPP_ESME_ROK

    def _acknowledge(self, session: _Session, pdu: Any, kept: bool) -> None:
        """Answer a receipt's deliver_sm, from whichever thread kept it, on the bind it came on. If that
        bind is gone, the SMSC delivers the receipt again on the next one, as it does when refused."""
        if not session.is_alive:
            return
        try:
            status = smpplib.consts.SMPP_ESME_ROK if kept else ESME_RX_T_APPN
            session.answer(pdu, "deliver_sm_resp", status=status)
        except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as error:
            log.info("smpp %s: a receipt was not answered (%s); the SMSC sends it again", self.name, error)

    def _on_mo(self, pdu: Any, data: bytes, esm_class: int) -> None:
        """Report an MO message, or hold a part of a concatenated one until the last part arrives."""
        source = smpp_codec.address_in(_text(pdu.source_addr), pdu.source_addr_ton or 0)
        destination = smpp_codec.address_in(_text(pdu.destination_addr), pdu.dest_addr_ton or 0)
        data_coding = pdu.data_coding or 0
        concat = None
        if esm_class & smpp_codec.ESM_UDHI:
            concat, data = smpp_codec.split_udh(data)
        elif (pdu.sar_total_segments or 0) > 1:
            concat = smpp_codec.Concatenation(
                pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum
            )
        if concat is None or concat.total <= 1:
            self.events.received(_inbound_sms(source, destination, [(data_coding, data)]))
            return
        key = (source, destination, concat.reference, concat.total)
        with self._changed:
            assembly = self._assemblies.setdefault(key, _Assembly())
            assembly.parts[concat.number] = (data_coding, data)
            if len(assembly.parts) < concat.total:
                return
        self.events.received(
            _inbound_sms(source, destination, [assembly.parts[n] for n in sorted(assembly.parts)])
        )
        with self._changed:  # only now: if the handler raised, the SMSC resends the last part
            self._assemblies.pop(key, None)

    def _expire_assemblies(self, now: float) -> None:
        """Deliver what arrived of a concatenated MO message whose other parts never came."""
        with self._changed:
            expired = [key for key, a in self._assemblies.items() if now - a.started_at > MO_ASSEMBLY_S]
            assemblies = [(key, self._assemblies.pop(key)) for key in expired]
        for (source, destination, _, total), assembly in assemblies:
            log.warning(
                "smpp %s: MO from %s came with %d of %d parts; delivering those",
                self.name,
                source,
                len(assembly.parts),
                total,
            )
            parts = [assembly.parts[n] for n in sorted(assembly.parts)]
            self._emit(self.events.received, _inbound_sms(source, destination, parts))

    # --- helpers -------------------------------------------------------------------------------------
    def _next_reference(self) -> int:
        with self._changed:
            self._reference = (self._reference + 1) % 256
            return self._reference

    def _emit(self, event: Callable[..., None], *args: object) -> None:
        try:
            event(*args)
        except Exception:
            log.exception("smpp %s: %s%r raised", self.name, getattr(event, "__name__", event), args)


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.rstrip(b"\0").decode("latin-1")
    return value or ""


def _inbound_sms(source: str, destination: str, parts: list[tuple[int, bytes]]) -> InboundSms:
    """Join the parts' user data before decoding, so a character split across parts survives."""
    data_coding = parts[0][0]
    body = smpp_codec.decode(b"".join(data for _, data in parts), data_coding)
    return InboundSms(from_number=source, to=destination, body=body, carrier_message_id=uuid.uuid4().hex)
