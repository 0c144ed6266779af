"""The carrier gateway (`manage.py carrier_gateway`): the one process that talks to carriers.

For each enabled `Connector` it runs the connector and a reader thread on that connector's Redis
stream (consumer group `gateway`, one consumer per gateway name). A reader takes a batch of entries,
claims the messages in PostgreSQL (`queued -> sending` in one conditional UPDATE per tenant, see
`message_claim`), hands only the claimed ones to `connector.send`, then acknowledges and
deletes the entries. So a SID handed over any number of times, read by any number of gateways, is
submitted once; the stream is only a doorbell.

The connectors report through `GatewayEvents` on their own threads. Submission outcomes and receipts
go to a writer thread that records whatever queued up while it wrote the last batch, one transaction
per tenant, so a connector never waits for PostgreSQL. Nothing the carrier sends is acknowledged
before it is written: an inbound message is stored before the connector answers it, and a receipt
is answered by the writer once written, so a killed gateway's receipts come again. A receipt can
arrive before the submission it answers is recorded (carriers may send it on another bind, to another
gateway): it is kept, unanswered, and tried again for a while. A sweeper thread does the work nobody
else is doing: messages (`messages_sweep`) and the webhook outbox's deliveries (`webhooks_sweep`,
every service's callbacks, which a broker outage would otherwise lose). Stopping, the gateway stops
the connectors and writes every report they made. On start it records the carriers' answers its
journal kept from before it last stopped (`messaging/journal.py`), then resubmits the messages it had
claimed and still not seen submitted: the one at-least-once window, at most what was written to a
carrier and not yet answered.

The gateway crosses tenants but never bypasses row-level security: it reads the global tables
(ids only) and does every tenant's work inside that tenant's `tenant_scope`.
"""

import itertools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import redis
from django.utils.module_loading import import_string

from core.db import db_work
from messaging import streams
from messaging.carriers.base import CarrierEvents, DeliveryReceipt, InboundSms, OutboundSms
from messaging.handover import (
    Claimed,
    accounts_of_pending,
    message_claim,
    message_unclaim,
    messages_in_flight,
)
from messaging.inbound import message_receive
from messaging.journal import OutcomeJournal
from messaging.models import Connector
from messaging.receipts import SubmitOutcome, messages_receipts, messages_submit_outcomes
from messaging.sweep import messages_sweep
from monitor.sweep import webhooks_sweep

log = logging.getLogger(__name__)

CONNECTOR_CLASSES = {
    Connector.Kind.SMPP: "messaging.carriers.smpp.SmppConnector",
    Connector.Kind.SIP: "messaging.carriers.sip.SipMessageConnector",
}
BATCH_SIZE = 200  # stream entries per read, so one claim UPDATE per tenant covers up to this many
BLOCK_MS = 1000  # how long a read waits for entries; also how soon a reader notices `stop`
STALE_SECONDS = 30.0  # a queued message not handed over (a webhook not attempted) this long is redone
SWEEP_SECONDS = 5.0
TICK_SECONDS = 0.5  # how often deferred receipts are tried again
WRITE_BATCH = 1000  # carrier reports written together
WRITE_ATTEMPTS = 10  # a batch the database keeps refusing is dropped after this many tries
REPORT_QUEUE_LIMIT = 100_000  # beyond, connectors wait for the writer (backpressure)
MAX_UNRECORDED = 200  # submission outcomes reported and not yet written, at most (see docs/messaging.md)
# A carrier may send a receipt on another bind (another gateway) before the submission it answers is
# recorded; such a receipt is tried again for this long before it is dropped as unknown.
RECEIPT_RETRY_SECONDS = 120.0


class CarrierConnector(Protocol):
    """What the gateway needs of a connector (messaging/carriers/smpp.py, sip.py)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def send(self, sms: OutboundSms) -> None: ...

    @property
    def is_connected(self) -> bool: ...


ConnectorFactory = Callable[[CarrierEvents], CarrierConnector]


def connector_factory(row: Connector) -> ConnectorFactory:
    """How to build the connector a `Connector` row describes, by kind."""
    if row.kind == Connector.Kind.SMPP:
        settings: dict[str, Any] = {
            "host": row.host,
            "port": row.port,
            "system_id": row.system_id,
            "password": row.password,
            "system_type": row.system_type,
            "window": row.window,
            "max_per_second": row.max_per_second,
            "enquire_link_seconds": row.enquire_link_seconds,
        }
    else:
        settings = {
            "ari_url": row.ari_url,
            "ari_username": row.ari_username,
            "ari_password": row.password,
            "ari_app": row.ari_app,
            "endpoint": row.endpoint,
            "trunk_uri": row.trunk_uri,
            "window": row.window,
        }
    cls = import_string(CONNECTOR_CLASSES[Connector.Kind(row.kind)])
    return lambda events: cls(name=row.name, events=events, **settings)


class GatewayEvents:
    """`CarrierEvents` for one connector.

    Submission outcomes and receipts are queued for the gateway's writer (a connector's reader thread
    must not wait for PostgreSQL: it also reads the answers that open the send window). An inbound
    message is stored before this returns, so a failure makes the connector refuse the carrier's PDU
    and the carrier delivers it again.
    """

    def __init__(self, gateway: "CarrierGateway", connector: str) -> None:
        self.gateway = gateway
        self.connector = connector

    def submitted(self, message_sid: str, carrier_message_ids: list[str]) -> None:
        self.gateway.report_outcome(
            Report(self.connector, SubmitOutcome(message_sid, tuple(carrier_message_ids)))
        )

    def refused(self, message_sid: str, error_code: int, detail: str) -> None:
        self.gateway.report_outcome(
            Report(self.connector, SubmitOutcome(message_sid, error_code=error_code, detail=detail))
        )

    def receipt(self, receipt: DeliveryReceipt, acknowledge: Callable[[bool], None]) -> None:
        self.gateway.reports.put(Report(self.connector, receipt, acknowledge))

    def received(self, sms: InboundSms) -> None:
        db_work(lambda: message_receive(sms=sms, connector=self.connector))


@dataclass(frozen=True)
class Report:
    connector: str
    item: SubmitOutcome | DeliveryReceipt
    acknowledge: Callable[[bool], None] | None = None  # a receipt's: answers the carrier once kept
    at: float = field(default_factory=time.monotonic)

    def answer(self, kept: bool) -> None:
        if self.acknowledge is not None:
            try:
                self.acknowledge(kept)
            except Exception:  # the connector's to handle; never the writer's reason to stop
                log.exception("%s: answering a receipt failed", self.connector)


class CarrierGateway:
    def __init__(
        self,
        *,
        name: str,
        connectors: Mapping[str, ConnectorFactory],
        stale_seconds: float = STALE_SECONDS,
        sweep_seconds: float = SWEEP_SECONDS,
        batch_size: int = BATCH_SIZE,
        max_unrecorded: int = MAX_UNRECORDED,
    ) -> None:
        self.name = name
        self.stale_seconds = stale_seconds
        self.sweep_seconds = sweep_seconds
        self.batch_size = batch_size
        self.connectors: dict[str, CarrierConnector] = {
            connector: build(GatewayEvents(self, connector)) for connector, build in connectors.items()
        }
        self.in_flight: dict[str, uuid.UUID] = {}  # SID -> account, until its submitted/refused report
        self.reports: queue.Queue[Report] = queue.Queue(maxsize=REPORT_QUEUE_LIMIT)
        self.deferred: list[Report] = []  # receipts for carrier ids not known yet (writer thread only)
        self.deferred_tried_at = 0.0
        self.writer_done = threading.Event()
        self.writer: threading.Thread | None = None
        # Outcomes queued and not yet written: a connector waits past `max_unrecorded`, which bounds
        # what a killed gateway submits twice (see docs/messaging.md).
        self.max_unrecorded = max_unrecorded
        self.unrecorded = 0
        self.recorded = threading.Condition()
        # What the carriers answered and the writer has not written yet, on local disk (see its module).
        self.journal = OutcomeJournal.of_gateway(name)
        self.journal_holds_dropped = False
        self.redis: redis.Redis = streams.client()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    # Running

    def run(self) -> None:
        """Start, serve until `stop()` (a signal handler calls it), then shut down cleanly."""
        self.start()
        self.stopping.wait()
        self.shutdown()

    def start(self) -> None:
        self.replay_journal()
        # The writer first: connectors report as soon as they run, and wait for it past max_unrecorded.
        self.writer = threading.Thread(target=self._write_loop, name="gateway-write", daemon=True)
        self.writer.start()
        for connector in self.connectors.values():
            connector.start()
        self.resubmit_in_flight()
        for name in self.connectors:
            self._ensure_group(name)
            while self.read_once(name, pending=True):
                pass
            self._spawn(f"gateway-read-{name}", self._read_loop, name)
        self._spawn("gateway-sweep", self._sweep_loop)
        log.info(
            "carrier gateway %s ready with connectors: %s", self.name, ", ".join(self.connectors) or "none"
        )

    def stop(self) -> None:
        self.stopping.set()

    def shutdown(self) -> None:
        """Stop reading, stop the connectors (which unblocks a reader waiting in `send` and lets the
        connectors report what they had in flight), then write every report still queued."""
        self.stopping.set()
        for connector in self.connectors.values():
            connector.stop()
        for thread in self.threads:
            thread.join(timeout=BLOCK_MS / 1000 + 10)
        self.writer_done.set()
        if self.writer is not None:
            self.writer.join(timeout=60)
        self.journal.close()
        log.info("carrier gateway %s stopped", self.name)

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _read_loop(self, connector: str) -> None:
        while not self.stopping.is_set():
            try:
                self.read_once(connector)
            except Exception:
                log.exception("reading the stream of %s failed; retrying", connector)
                self.stopping.wait(1)

    def _sweep_loop(self) -> None:
        while not self.stopping.wait(self.sweep_seconds):
            try:
                self.sweep_once()
            except Exception:
                log.exception("the sweep failed; retrying")

    def _write_loop(self) -> None:
        """Write the connectors' reports in batches: what queued up while the last batch was written."""
        while True:
            try:
                batch = [self.reports.get(timeout=TICK_SECONDS)]
            except queue.Empty:
                if self.writer_done.is_set():
                    return
                batch = []
            while len(batch) < WRITE_BATCH:
                try:
                    batch.append(self.reports.get_nowait())
                except queue.Empty:
                    break
            for attempt in itertools.count(1):
                try:
                    self.write(batch)
                    break
                except Exception:
                    log.exception("writing %d carrier report(s) failed (attempt %d)", len(batch), attempt)
                    if attempt == WRITE_ATTEMPTS:
                        log.error("dropped %d carrier report(s)", len(batch))
                        for report in batch:  # receipts: the carrier delivers them again
                            report.answer(False)
                        # Outcomes: the journal keeps them until a restart records them.
                        self.journal_holds_dropped = True
                        break
                    time.sleep(min(5.0, 0.1 * 2**attempt))
            if done := sum(isinstance(r.item, SubmitOutcome) for r in batch):
                with self.recorded:
                    self.unrecorded -= done
                    # Every outcome journaled is written (appends hold this lock), unless some were dropped.
                    if self.unrecorded == 0 and not self.journal_holds_dropped:
                        self.journal.clear()
                    self.recorded.notify_all()

    # Single steps (what the loops repeat; tests call them directly)

    def _ensure_group(self, connector: str) -> None:
        for lane in streams.LANES:
            try:
                self.redis.xgroup_create(
                    streams.stream_key(connector, lane), streams.GROUP, id="0", mkstream=True
                )
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def read_once(self, connector: str, *, pending: bool = False) -> int:
        """Read one batch from each of the connector's streams (`streams.LANES`: its own traffic, then
        bulk alerts'), submit what can be claimed, in that order; entries handled.

        `pending` re-reads entries this consumer read before but never acknowledged (it died).
        """
        keys = [streams.stream_key(connector, lane) for lane in streams.LANES]
        read_group = partial(
            self.redis.xreadgroup,
            streams.GROUP,
            self.name,
            {key: "0" if pending else ">" for key in keys},
            count=self.batch_size,
            block=None if pending else BLOCK_MS,
        )
        try:
            found: Any = read_group()
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis came back empty (restarted without persistence): the streams and their group are
            # gone with what they held, which the sweep hands over again; make the group anew.
            log.warning("%s: the stream's consumer group is gone (Redis restarted?); creating it", connector)
            self._ensure_group(connector)
            found = read_group()
        read = dict(found or [])
        entries = [(key, entry) for key in keys for entry in read.get(key, [])]
        if not entries:
            return 0
        by_account: dict[uuid.UUID, list[uuid.UUID]] = {}
        for _, (_, fields) in entries:
            try:
                account_id = uuid.UUID(fields["account"])
                message_id = uuid.UUID(fields["sid"][2:])
            except (KeyError, TypeError, ValueError):  # TypeError: an entry deleted while pending
                log.warning("%s: malformed stream entry %r dropped", connector, fields)
                continue
            by_account.setdefault(account_id, []).append(message_id)
        for account_id, message_ids in by_account.items():
            claimed = db_work(
                partial(message_claim, account_id=account_id, message_ids=message_ids, gateway=self.name)
            )
            self._submit(connector, claimed)
        for key, batch in read.items():
            if ids := [entry_id for entry_id, _ in batch]:
                self.redis.xack(key, streams.GROUP, *ids)
                self.redis.xdel(key, *ids)
        return len(entries)

    def _submit(self, connector: str, claimed: list[Claimed]) -> None:
        for item in claimed:
            sid = item.sms.message_sid
            self.in_flight[sid] = item.account_id
            try:
                self.connectors[connector].send(item.sms)
            except Exception:
                log.exception("%s did not take %s; handing it back", connector, sid)
                self.in_flight.pop(sid, None)
                db_work(
                    partial(
                        message_unclaim,
                        account_id=item.account_id,
                        message_id=uuid.UUID(sid[2:]),
                        gateway=self.name,
                    )
                )

    def resubmit_in_flight(self) -> int:
        """Submit again what this gateway claimed and never saw submitted (see the module docstring)."""
        claimed = db_work(lambda: messages_in_flight(gateway=self.name))
        by_connector: dict[str, list[Claimed]] = {}
        for item in claimed:
            if item.connector in self.connectors:
                by_connector.setdefault(item.connector, []).append(item)
            else:
                log.warning(
                    "message %s was claimed for connector %s, not run here",
                    item.sms.message_sid,
                    item.connector,
                )
        for connector, items in by_connector.items():
            log.warning("resubmitting %d message(s) left in sending on %s", len(items), connector)
            self._submit(connector, items)
        return len(claimed)

    def report_outcome(self, report: Report) -> None:
        """Journal a submission outcome and queue it for the writer; waits while `max_unrecorded` are
        queued already."""
        assert isinstance(report.item, SubmitOutcome)
        with self.recorded:
            self.recorded.wait_for(lambda: self.unrecorded < self.max_unrecorded)
            self.unrecorded += 1
            self.journal.append(report.connector, report.item)
        self.reports.put(report)

    def replay_journal(self) -> int:
        """Write the outcomes a gateway of this name learnt and died before writing, so that
        `resubmit_in_flight` does not submit those messages again."""
        kept = self.journal.read()
        if kept:
            log.warning("recording %d submission outcome(s) kept in %s", len(kept), self.journal.path)
            self.write([Report(connector, outcome) for connector, outcome in kept])
        self.journal.clear()
        return len(kept)

    def write(self, batch: list[Report]) -> None:
        """Record submission outcomes (one transaction per tenant), then receipts, including deferred
        ones now due for another try; a receipt whose carrier id is still unknown is deferred again."""
        outcomes = [r for r in batch if isinstance(r.item, SubmitOutcome)]
        sids = [r.item.message_sid for r in outcomes if isinstance(r.item, SubmitOutcome)]
        accounts = {sid: self.in_flight.pop(sid) for sid in sids if sid in self.in_flight}
        if unknown := [sid for sid in sids if sid not in accounts]:
            accounts |= db_work(partial(accounts_of_pending, unknown))
        grouped: dict[tuple[uuid.UUID, str], list[SubmitOutcome]] = {}
        for report in outcomes:
            assert isinstance(report.item, SubmitOutcome)
            account_id = accounts.get(report.item.message_sid)
            if account_id is None:
                log.warning(
                    "%s: report for unknown message %s ignored", report.connector, report.item.message_sid
                )
            else:
                grouped.setdefault((account_id, report.connector), []).append(report.item)
        for (account_id, connector), items in grouped.items():
            db_work(
                partial(
                    messages_submit_outcomes,
                    account_id=account_id,
                    connector=connector,
                    outcomes=items,
                )
            )
        # Deferred receipts leave their list only once written: a batch that fails keeps them.
        now = time.monotonic()
        due = self.deferred if now - self.deferred_tried_at >= TICK_SECONDS else []
        receipts = due + [r for r in batch if isinstance(r.item, DeliveryReceipt)]
        if not receipts:
            return
        pairs = [(r.connector, r.item) for r in receipts if isinstance(r.item, DeliveryReceipt)]
        unrouted = {(c, r.carrier_message_id) for c, r in db_work(partial(messages_receipts, receipts=pairs))}
        if due:
            self.deferred, self.deferred_tried_at = [], now
        for report in receipts:
            assert isinstance(report.item, DeliveryReceipt)
            if (report.connector, report.item.carrier_message_id) not in unrouted:
                report.answer(True)
            elif now - report.at < RECEIPT_RETRY_SECONDS:
                self.deferred.append(report)
            else:
                log.warning(
                    "%s: receipt for unknown carrier id %s dropped",
                    report.connector,
                    report.item.carrier_message_id,
                )
                report.answer(True)

    def sweep_once(self) -> dict[str, int]:
        done: dict[str, int] = db_work(lambda: messages_sweep(stale_seconds=self.stale_seconds))
        if webhooks := db_work(lambda: webhooks_sweep(stale_seconds=self.stale_seconds)):
            done["webhooks"] = webhooks
        if done:
            log.info("sweep: %s", done)
        return done
