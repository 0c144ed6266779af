"""The SMPP connector against a real SMSC: scripts/smsc/smsc.js on the npm `smpp` package.

Only the event sink is a test double (`Events` records what the connector reports); the SMPP wire,
the SMSC and its counters are real.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from messaging.carriers.base import DeliveryReceipt, InboundSms, OutboundSms
from messaging.carriers.smpp import SmppConnector
from tests.messaging.smsc import Smsc, SmscFactory

FROM = "+15551230001"
TO = "+15551230002"


class Events:
    """Records every CarrierEvents call; `wait` blocks until a condition over the records holds."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.accepted: list[tuple[str, list[str]]] = []
        self.refusals: list[tuple[str, int, str]] = []
        self.inbound: list[InboundSms] = []
        self.receipts: list[DeliveryReceipt] = []
        self.fail_next_received = False
        self.held: list[Callable[[bool], None]] | None = None  # a list: receipts answered when the test says

    def submitted(self, message_sid: str, carrier_message_ids: list[str]) -> None:
        with self.changed:
            self.accepted.append((message_sid, carrier_message_ids))
            self.changed.notify_all()

    def refused(self, message_sid: str, error_code: int, detail: str) -> None:
        with self.changed:
            self.refusals.append((message_sid, error_code, detail))
            self.changed.notify_all()

    def received(self, sms: InboundSms) -> None:
        with self.changed:
            if self.fail_next_received:
                self.fail_next_received = False
                raise RuntimeError("the database is away")
            self.inbound.append(sms)
            self.changed.notify_all()

    def receipt(self, receipt: DeliveryReceipt, acknowledge: Callable[[bool], None]) -> None:
        with self.changed:
            self.receipts.append(receipt)
            if self.held is not None:
                self.held.append(acknowledge)
            self.changed.notify_all()
        if self.held is None:
            acknowledge(True)

    def wait(self, predicate: Callable[["Events"], bool], timeout: float = 10.0) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: predicate(self), timeout):
                pytest.fail(
                    f"timed out: accepted={len(self.accepted)} refusals={self.refusals} "
                    f"inbound={self.inbound} receipts={len(self.receipts)}"
                )

    def ids_of(self, sid: str) -> list[str]:
        return next(ids for accepted_sid, ids in self.accepted if accepted_sid == sid)


@pytest.fixture
def events() -> Events:
    return Events()


@contextmanager
def connected(smsc: Smsc, events: Events, **settings: Any) -> Iterator[SmppConnector]:
    connector = SmppConnector(name="test", events=events, **{**smsc.connector_settings(), **settings})
    connector.start()
    try:
        deadline = time.monotonic() + 10
        while not connector.is_connected:
            assert time.monotonic() < deadline, f"never bound: {connector.last_error}"
            time.sleep(0.02)
        yield connector
    finally:
        connector.stop()


def sms(sid: str, body: str, *, to: str = TO, validity_period: int | None = None) -> OutboundSms:
    return OutboundSms(message_sid=sid, from_number=FROM, to=to, body=body, validity_period=validity_period)


def test_a_short_gsm7_message_is_submitted_once_and_its_receipt_reported(smsc: Smsc, events: Events) -> None:
    body = "Your table is ready {€5 off} @ Café Ümlaut"
    with connected(smsc, events) as connector:
        connector.send(sms("SM1", body))
        events.wait(lambda e: len(e.accepted) == 1 and len(e.receipts) == 1)

    [submission] = smsc.submissions()
    assert submission["text"] == body and submission["hex"].find("1b65") > 0  # € is escape + 0x65
    assert (submission["data_coding"], submission["esm_class"], submission["udh"]) == (0, 0, None)
    assert (submission["source_addr"], submission["source_addr_ton"], submission["source_addr_npi"]) == (
        "15551230001",
        1,
        1,
    )
    assert (submission["destination_addr"], submission["registered_delivery"]) == ("15551230002", 1)
    assert events.accepted == [("SM1", [submission["message_id"]])]
    assert events.receipts == [DeliveryReceipt(submission["message_id"], "delivered", None)]


def test_a_400_character_body_goes_in_three_parts_with_one_reference(smsc: Smsc, events: Events) -> None:
    body = ("Snow day: school is closed tomorrow; buses do not run. " * 8)[:400]
    with connected(smsc, events) as connector:
        connector.send(sms("SM2", body))
        events.wait(lambda e: len(e.accepted) == 1 and len(e.receipts) == 3)

    parts = smsc.submissions()
    assert [p["udh"]["part"] for p in parts] == [1, 2, 3]
    assert {(p["udh"]["ref"], p["udh"]["total"]) for p in parts} == {(parts[0]["udh"]["ref"], 3)}
    assert [p["user_data_octets"] for p in parts] == [153, 153, 94]
    assert all(p["esm_class"] & 0x40 and p["data_coding"] == 0 for p in parts)
    assert "".join(p["text"] for p in parts) == body
    assert events.ids_of("SM2") == [p["message_id"] for p in parts]
    assert {r.carrier_message_id for r in events.receipts} == {p["message_id"] for p in parts}


def test_ucs2_bodies_with_emoji_arrive_intact(smsc: Smsc, events: Events) -> None:
    short = "Hi 😀 — ready?"
    long = "Привет! Ваш заказ готов 🎉 " * 6  # 150 UTF-16 units: three parts of at most 67
    with connected(smsc, events) as connector:
        connector.send(sms("SM3", short))
        connector.send(sms("SM4", long))
        events.wait(lambda e: len(e.accepted) == 2)

    first, *parts = smsc.submissions()
    assert (first["data_coding"], first["text"], first["udh"]) == (8, short, None)
    assert [p["data_coding"] for p in parts] == [8, 8, 8]
    assert all(p["user_data_octets"] <= 134 for p in parts)
    assert "".join(p["text"] for p in parts) == long  # no emoji cut between two parts


def test_a_refused_destination_is_reported_with_its_code_and_not_retried(
    events: Events, smsc_factory: SmscFactory
) -> None:
    smsc = smsc_factory(refuse={"15550009999": "ESME_RINVDSTADR", "15550008888": "ESME_RX_R_APPN"})
    with connected(smsc, events) as connector:
        connector.send(sms("SM5", "To nowhere", to="+15550009999"))
        connector.send(sms("SM6", "Spam?", to="+15550008888"))
        connector.send(sms("SM7", "To somewhere"))
        events.wait(lambda e: len(e.refusals) == 2 and len(e.accepted) == 1)
        time.sleep(0.3)  # time enough for a retry, which must not come

    assert sorted((sid, code) for sid, code, _ in events.refusals) == [("SM5", 30005), ("SM6", 30007)]
    assert "ESME_RINVDSTADR" in dict((sid, detail) for sid, _, detail in events.refusals)["SM5"]
    assert [s["destination_addr"] for s in smsc.submissions()] == [
        "15550009999",
        "15550008888",
        "15551230002",
    ]
    assert events.accepted[0][0] == "SM7"


def test_throttling_delays_but_every_message_is_accepted_exactly_once(
    events: Events, smsc_factory: SmscFactory
) -> None:
    bodies = {f"SM-T{i}": f"Alert {i}: the building is open again" for i in range(40)}
    smsc = smsc_factory(throughput=20)
    with connected(smsc, events) as connector:
        for sid, body in bodies.items():
            connector.send(sms(sid, body))
        events.wait(lambda e: len(e.accepted) == 40, timeout=20)

    stats = smsc.stats()
    assert stats["throttled"] > 0 and stats["accepted"] == 40
    assert sorted(s["text"] for s in smsc.accepted()) == sorted(bodies.values())
    assert not events.refusals


def test_never_more_than_the_window_is_awaiting_an_answer(events: Events, smsc_factory: SmscFactory) -> None:
    smsc = smsc_factory(submit_delay_ms=100)
    with connected(smsc, events, window=4) as connector:
        for i in range(20):
            connector.send(sms(f"SM-W{i}", f"Message {i}"))
        events.wait(lambda e: len(e.accepted) == 20)

    assert smsc.stats()["max_outstanding"] == 4  # the window was used, and never exceeded


def test_the_token_bucket_limits_the_rate(smsc: Smsc, events: Events) -> None:
    with connected(smsc, events, max_per_second=20) as connector:
        started = time.monotonic()
        for i in range(22):
            connector.send(sms(f"SM-R{i}", f"Message {i}"))
        events.wait(lambda e: len(e.accepted) == 22)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.9  # 2 at once (a tenth of a second's burst), then 20 at 20/s
    assert smsc.stats()["throttled"] == 0


def test_validity_period_travels_as_relative_time(smsc: Smsc, events: Events) -> None:
    with connected(smsc, events) as connector:
        connector.send(sms("SM8", "Valid one hour", validity_period=3600))
        events.wait(lambda e: len(e.accepted) == 1)
    [submission] = smsc.submissions()
    expires = datetime.fromisoformat(submission["validity_period"])  # the SMSC's reading of it
    assert abs((expires - datetime.now(UTC)).total_seconds() - 3600) < 60


@pytest.mark.parametrize("dlr_format", ["text", "tlv"])
def test_receipts_are_read_from_the_text_or_the_tlvs(
    dlr_format: str, events: Events, smsc_factory: SmscFactory
) -> None:
    smsc = smsc_factory(
        dlr_format=dlr_format, dlr_status={"15551230003": "UNDELIV", "15551230004": "EXPIRED"}
    )
    with connected(smsc, events) as connector:
        connector.send(sms("SM9", "Delivered"))
        connector.send(sms("SM10", "Undelivered", to="+15551230003"))
        connector.send(sms("SM11", "Expired", to="+15551230004"))
        events.wait(lambda e: len(e.receipts) == 3)

    by_id = {r.carrier_message_id: (r.status, r.error_code) for r in events.receipts}
    assert by_id == {
        events.ids_of("SM9")[0]: ("delivered", None),
        events.ids_of("SM10")[0]: ("undelivered", 30008),
        events.ids_of("SM11")[0]: ("undelivered", 30003),
    }


def test_mo_messages_are_decoded_and_concatenated_ones_reassembled(smsc: Smsc, events: Events) -> None:
    long_gsm = ("Can I move my appointment to Friday afternoon? " * 9)[:400]
    long_ucs2 = "Да, конечно 👍 " * 12
    with connected(smsc, events):
        smsc.mo(from_=TO, to=FROM, text="STOP")
        smsc.mo(from_=TO, to=FROM, text="Crème brûlée, ça va?", coding="latin1")
        smsc.mo(from_=TO, to=FROM, text="Grüße {ok}")
        assert smsc.mo(from_=TO, to=FROM, text=long_gsm, concat=True) == 3
        assert smsc.mo(from_=TO, to=FROM, text=long_ucs2, concat=True) == 3
        assert smsc.mo(from_=TO, to=FROM, text="Out of the payload", payload=True) == 1
        events.wait(lambda e: len(e.inbound) == 6)
        smsc.wait_stats(lambda s: s["mo_acked"] == 10)

    assert [m.body for m in events.inbound] == [
        "STOP",
        "Crème brûlée, ça va?",
        "Grüße {ok}",
        long_gsm,
        long_ucs2,
        "Out of the payload",
    ]
    assert {(m.from_number, m.to) for m in events.inbound} == {(TO, FROM)}
    assert len({m.carrier_message_id for m in events.inbound}) == 6


def test_a_concatenated_mo_split_inside_a_character_is_joined_before_decoding(
    smsc: Smsc, events: Events
) -> None:
    text = "a😀b€c"  # 10-octet UCS-2 parts: the emoji's surrogates stay together, the rest is cut anywhere
    with connected(smsc, events):
        assert smsc.mo(from_=TO, to=FROM, text=text, coding="ucs2", part_octets=3) > 2
        smsc.mo(from_=TO, to=FROM, text="x€y€z", part_octets=2)  # GSM: an escape never ends a part
        events.wait(lambda e: len(e.inbound) == 2)
    assert [m.body for m in events.inbound] == [text, "x€y€z"]


def test_an_mo_the_platform_could_not_take_is_delivered_again(smsc: Smsc, events: Events) -> None:
    events.fail_next_received = True
    with connected(smsc, events):
        smsc.mo(from_=TO, to=FROM, text="Are you open on Sunday?")
        events.wait(lambda e: len(e.inbound) == 1, timeout=5)
    assert [m.body for m in events.inbound] == ["Are you open on Sunday?"]
    stats = smsc.stats()
    assert (stats["deliver_sm_nacked"], stats["mo_sent"], stats["mo_acked"]) == (1, 2, 1)


def test_after_the_smsc_drops_the_connection_nothing_is_lost(
    events: Events, smsc_factory: SmscFactory
) -> None:
    smsc = smsc_factory(submit_delay_ms=1500)  # long enough that none is answered before the drop
    with connected(smsc, events, window=5) as connector:
        for i in range(5):
            connector.send(sms(f"SM-D{i}", f"Before the drop {i}"))
        smsc.wait_stats(lambda s: s["submit_sm"] == 5)  # all five await their answer
        assert smsc.drop(down_ms=700) == 1
        for i in range(5, 12):
            connector.send(sms(f"SM-D{i}", f"While down {i}"))  # queued until the next bind
        time.sleep(0.3)
        assert not connector.is_connected
        events.wait(lambda e: len(e.accepted) == 12, timeout=15)
        smsc.wait_stats(lambda s: s["dlr_acked"] == 12)

    stats = smsc.stats()
    assert stats["binds"] == 2 and stats["connections_refused"] >= 1
    texts = [s["text"] for s in smsc.submissions()]
    assert sorted(set(texts)) == sorted(f"Before the drop {i}" for i in range(5)) + sorted(
        f"While down {i}" for i in range(5, 12)
    )
    # The at-least-once window: only what was awaiting an answer at the drop went out twice.
    assert sorted(t for t in set(texts) if texts.count(t) > 1) == [f"Before the drop {i}" for i in range(5)]
    first_session = smsc.submissions()[0]["session"]
    answered = {s["message_id"] for s in smsc.submissions() if s["session"] != first_session}
    assert {ids[0] for _, ids in events.accepted} == answered
    assert len(events.receipts) == 12


def test_a_receipt_is_answered_only_once_it_is_kept_and_comes_again_until_then(
    events: Events, smsc_factory: SmscFactory
) -> None:
    """What the gateway relies on: a receipt read but not yet written is not lost with the process."""
    smsc = smsc_factory()
    events.held = []
    with connected(smsc, events) as connector:
        connector.send(sms("SM-R1", "Your test results are in"))
        events.wait(lambda e: len(e.receipts) == 1)
        time.sleep(0.3)
        assert smsc.stats()["dlr_acked"] == 0  # read, not answered while its handler holds it
        events.held.pop()(False)  # could not be kept: the SMSC offers it again
        events.wait(lambda e: len(e.receipts) == 2)
        assert smsc.drop() == 1  # the bind goes while the second delivery is held
        events.wait(lambda e: len(e.receipts) == 3, timeout=15)  # and it comes again on the next
        events.held[0](True)  # the answer for the dropped bind goes nowhere, and nothing breaks
        events.held[1](True)
        smsc.wait_stats(lambda s: s["dlr_acked"] == 1)

    assert len(set(events.receipts)) == 1  # one receipt, delivered three times
    assert smsc.stats()["deliver_sm_nacked"] == 1


def test_bad_credentials_never_bind_report_why_and_do_not_spin(smsc: Smsc, events: Events) -> None:
    settings = {**smsc.connector_settings(), "password": "wrong"}
    connector = SmppConnector(name="test", events=events, **settings)
    connector.start()
    try:
        smsc.wait_stats(lambda s: s["bind_failures"] == 1)
        time.sleep(1.5)
        assert not connector.is_connected
        assert "ESME_RBINDFAIL" in (connector.last_error or "")
        assert smsc.stats()["bind_failures"] == 1  # it waits before trying again
        connector.send(sms("SM12", "Held while not bound"))  # queued, not lost, not refused
    finally:
        started = time.monotonic()
        connector.stop()
        assert time.monotonic() - started < 2  # stop() does not wait out the back-off
    assert smsc.stats()["submit_sm"] == 0 and not events.refusals


def test_enquire_link_both_ways_and_a_clean_unbind(events: Events, smsc_factory: SmscFactory) -> None:
    smsc = smsc_factory(enquire_link_ms=300)
    with connected(smsc, events, enquire_link_seconds=0.2):
        smsc.wait_stats(lambda s: s["enquire_link_received"] >= 1 and s["enquire_link_resp_received"] >= 1)
    smsc.wait_stats(lambda s: s["unbinds"] == 1 and s["sessions_bound"] == 0)
