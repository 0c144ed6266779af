"""The SIP MESSAGE connector on the voice tests' Asterisk instance, with sipp as the carrier both ways.

The events sink only records what it is told; Asterisk, ARI and the SIP wire are real.
"""

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediaserver.asterisk import AsteriskInstance
from messaging import streams
from messaging.carriers.base import DeliveryReceipt, InboundSms, OutboundSms
from messaging.carriers.sip import SipMessageConnector, number_from_uri
from messaging.handover import message_send
from messaging.models import Connector
from tests.asterisk import TRUNK_UAS_PORT
from tests.mediaserver.ariprobe import AriProbe
from tests.messaging.conftest import RECIPIENT, Live, running_gateway
from tests.voice import sipp

SCENARIOS = Path(__file__).resolve().parent / "sipp"
OUR_NUMBER = "+12065550180"
CUSTOMER = "+15551230001"


class RecordingEvents:
    """A CarrierEvents that keeps every report, in order, for the test to wait on."""

    def __init__(self) -> None:
        self.reports: list[tuple[Any, ...]] = []
        self._changed = threading.Condition()

    def _record(self, *report: Any) -> None:
        with self._changed:
            self.reports.append(report)
            self._changed.notify_all()

    def submitted(self, message_sid: str, carrier_message_ids: list[str]) -> None:
        self._record("submitted", message_sid, carrier_message_ids)

    def refused(self, message_sid: str, error_code: int, detail: str) -> None:
        self._record("refused", message_sid, error_code, detail)

    def received(self, sms: InboundSms) -> None:
        self._record("received", sms)

    def receipt(self, receipt: DeliveryReceipt, acknowledge: Callable[[bool], None]) -> None:
        self._record("receipt", receipt)
        acknowledge(True)

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        with self._changed:
            return [report for report in self.reports if report[0] == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[tuple[Any, ...]]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.of(kind)) >= count, timeout):
                raise AssertionError(f"{count} x {kind} not reported within {timeout} s: {self.reports}")
        return self.of(kind)


class FailingOnceEvents(RecordingEvents):
    """The platform's store fails the first inbound message (a database blip), then recovers."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def received(self, sms: InboundSms) -> None:
        if not self.failures:
            self.failures += 1
            raise RuntimeError("database unavailable")
        super().received(sms)


@dataclass
class SipRequest:
    request_line: str
    headers: dict[str, str]
    body: str


def requests_in(result: sipp.SippResult, method: str) -> list[SipRequest]:
    """The `method` requests in a sipp message trace, bodies cut at their Content-Length."""
    trace = (result.workdir / "messages.log").read_bytes()
    found = []
    for match in re.finditer(rb"^" + method.encode() + rb" [^\r\n]+\r\n", trace, re.MULTILINE):
        head, _, rest = trace[match.start() :].partition(b"\r\n\r\n")
        line, *header_lines = head.decode().split("\r\n")
        headers = dict(h.split(": ", 1) for h in header_lines)
        body = rest[: int(headers["Content-Length"].strip())].decode()
        found.append(SipRequest(line, headers, body))
    return found


def final_responses(result: sipp.SippResult) -> list[int]:
    return [int(code) for code in re.findall(r"^SIP/2\.0 (\d{3}) ", result.messages, re.MULTILINE)]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def make_connector(
    instance: AsteriskInstance, events: RecordingEvents, **overrides: Any
) -> SipMessageConnector:
    settings: dict[str, Any] = {
        "name": "sip-test",
        "events": events,
        "ari_url": instance.ari_url,
        "ari_username": instance.ari_username,
        "ari_password": instance.ari_password,
        "ari_app": f"{instance.ari_app}-messaging",
        "endpoint": "trunk",
        "trunk_uri": instance.trunk_uri,
    }
    return SipMessageConnector(**{**settings, **overrides})


@pytest.fixture
def events() -> RecordingEvents:
    return RecordingEvents()


@pytest.fixture
def connector(asterisk: AsteriskInstance, events: RecordingEvents) -> Iterator[SipMessageConnector]:
    """A started connector, subscribed to the trunk endpoint."""
    started = make_connector(asterisk, events)
    started.start()
    try:
        wait_until(lambda: started.is_connected, "the connector subscribed to the trunk")
        yield started
    finally:
        started.stop()


def send_from_carrier(
    instance: AsteriskInstance,
    workdir: Path,
    *,
    text: str = "hello",
    count: int = 1,
    to: str = OUR_NUMBER,
    from_: str = CUSTOMER,
) -> sipp.SippResult:
    """`count` MESSAGEs from `from_` to `to`, sent by sipp to the instance's SIP port."""
    run = sipp.start_scenario(
        SCENARIOS / "message_uac.xml",
        workdir=workdir,
        local_port=sipp.free_udp_port(),
        target=instance.sip_address,
        service=to,
        keys={"caller": from_, "text": text},
        calls=count,
        timeout_s=10,
    )
    result = run.wait()
    assert result.ok, result.explain()
    return result


def carrier_receives(workdir: Path, count: int = 1) -> sipp.SippRun:
    """sipp on the trunk's far end, answering `count` MESSAGEs with 202 Accepted."""
    return sipp.start_scenario(
        SCENARIOS / "message_uas.xml", workdir=workdir, local_port=TRUNK_UAS_PORT, calls=count, timeout_s=10
    )


# --- out ---------------------------------------------------------------------------------------------


def test_a_sent_message_reaches_the_trunk_as_a_sip_message(
    connector: SipMessageConnector,
    events: RecordingEvents,
    sipp_dir: Path,
) -> None:
    with carrier_receives(sipp_dir) as carrier:
        connector.send(
            OutboundSms("SMsip0001", from_number=OUR_NUMBER, to=CUSTOMER, body="Your code is 1234")
        )
        result = carrier.wait()

    assert result.ok, result.explain()
    [request] = requests_in(result, "MESSAGE")
    assert request.request_line == f"MESSAGE sip:{CUSTOMER}@127.0.0.1:{TRUNK_UAS_PORT} SIP/2.0"
    assert request.headers["From"].startswith(f"<sip:{OUR_NUMBER}@")
    assert request.headers["To"].startswith(f"<sip:{CUSTOMER}@")
    assert request.headers["X-Switchboard-Message-Sid"] == "SMsip0001"
    assert request.body == "Your code is 1234"
    assert events.wait_for("submitted") == [("submitted", "SMsip0001", ["SMsip0001"])]
    time.sleep(0.3)
    assert events.reports == [("submitted", "SMsip0001", ["SMsip0001"])]  # once, and nothing else


def test_a_1600_character_unicode_body_arrives_whole(
    connector: SipMessageConnector,
    events: RecordingEvents,
    sipp_dir: Path,
) -> None:
    body = ("Zürich ☕ €5 " * 200)[:1600]  # 4,000 bytes of UTF-8: too long for an ARI query string

    with carrier_receives(sipp_dir) as carrier:
        connector.send(OutboundSms("SMsip0002", from_number=OUR_NUMBER, to=CUSTOMER, body=body))
        result = carrier.wait()

    assert result.ok, result.explain()
    assert [request.body for request in requests_in(result, "MESSAGE")] == [body]
    assert events.wait_for("submitted") == [("submitted", "SMsip0002", ["SMsip0002"])]


def test_messages_are_handed_over_in_order(
    connector: SipMessageConnector,
    events: RecordingEvents,
    sipp_dir: Path,
) -> None:
    sids = [f"SMsip1{n:03d}" for n in range(5)]

    with carrier_receives(sipp_dir, count=len(sids)) as carrier:
        for sid in sids:
            connector.send(OutboundSms(sid, from_number=OUR_NUMBER, to=CUSTOMER, body=sid))
        result = carrier.wait()

    assert result.ok, result.explain()
    assert [request.body for request in requests_in(result, "MESSAGE")] == sids
    assert [report[1] for report in events.wait_for("submitted", count=len(sids))] == sids


def test_a_message_asterisk_cannot_route_is_refused(
    asterisk: AsteriskInstance, events: RecordingEvents
) -> None:
    connector = make_connector(asterisk, events, endpoint="no-such-trunk")
    connector.start()
    try:
        connector.send(OutboundSms("SMsip0003", from_number=OUR_NUMBER, to=CUSTOMER, body="lost"))
        [(_, sid, code, detail)] = events.wait_for("refused")
    finally:
        connector.stop()

    assert (sid, code) == ("SMsip0003", 30008)
    assert "404" in detail
    assert not events.of("submitted")


# --- in ----------------------------------------------------------------------------------------------


def test_messages_from_the_trunk_arrive_one_after_another(
    connector: SipMessageConnector,
    events: RecordingEvents,
    asterisk: AsteriskInstance,
    sipp_dir: Path,
    ari: AriProbe,
) -> None:
    # Two in a row, with the voice app connected (`ari`): a MESSAGE that entered the dialplan's
    # Stasis() would stay there and hold up the second one.
    result = send_from_carrier(asterisk, sipp_dir, count=2)

    assert final_responses(result) == [202, 202]
    received = [report[1] for report in events.wait_for("received", count=2)]
    assert [(sms.from_number, sms.to, sms.body) for sms in received] == [(CUSTOMER, OUR_NUMBER, "hello")] * 2
    call_ids = [request.headers["Call-ID"] for request in requests_in(result, "MESSAGE")]
    assert [sms.carrier_message_id for sms in received] == [f"{call_id}/1" for call_id in call_ids]


def test_a_message_the_platform_failed_to_store_is_offered_again(
    asterisk: AsteriskInstance, sipp_dir: Path
) -> None:
    events = FailingOnceEvents()
    connector = make_connector(asterisk, events)
    connector.start()
    try:
        wait_until(lambda: connector.is_connected, "the connector subscribed to the trunk")
        send_from_carrier(asterisk, sipp_dir, text="try again")
        [(_, sms)] = events.wait_for("received")
    finally:
        connector.stop()

    assert events.failures == 1
    assert sms.body == "try again"


def test_the_messaging_app_takes_only_text_messages_from_the_trunk(
    connector: SipMessageConnector,
    asterisk: AsteriskInstance,
) -> None:
    app = f"{asterisk.ari_app}-messaging"
    response = httpx.get(
        f"{asterisk.ari_url}/applications/{app}", auth=(asterisk.ari_username, asterisk.ari_password)
    )

    state = response.raise_for_status().json()
    assert state["endpoint_ids"] == ["PJSIP/trunk"]
    assert {allowed["type"] for allowed in state["events_allowed"]} == {
        "TextMessageReceived",
        "ApplicationReplaced",
        "RESTResponse",  # the replies to its requests over the websocket
    }


def test_messages_arrive_again_after_asterisk_restarts(
    connector: SipMessageConnector,
    events: RecordingEvents,
    asterisk: AsteriskInstance,
    sipp_dir: Path,
) -> None:
    asterisk.stop()
    wait_until(lambda: not connector.is_connected, "the connector noticed Asterisk went away")
    asterisk.start(timeout=30)
    wait_until(lambda: connector.is_connected, "the connector reconnected and subscribed again", timeout=20)

    result = send_from_carrier(asterisk, sipp_dir, text="after the restart")

    assert final_responses(result) == [202]
    [(_, sms)] = events.wait_for("received")
    assert (sms.from_number, sms.to, sms.body) == (CUSTOMER, OUR_NUMBER, "after the restart")


def test_after_stop_the_carrier_is_told_no_instead_of_losing_the_message(
    asterisk: AsteriskInstance,
    events: RecordingEvents,
    sipp_dir: Path,
) -> None:
    connector = make_connector(asterisk, events)
    connector.start()
    wait_until(lambda: connector.is_connected, "the connector subscribed to the trunk")
    connector.stop()

    result = send_from_carrier(asterisk, sipp_dir, text="nobody home")

    assert final_responses(result) == [404]
    assert not connector.is_connected
    assert events.reports == []


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ("<sip:+15551230001@127.0.0.1>", "+15551230001"),
        ('"Bob" <sip:15551230001@carrier.example;user=phone>;tag=1', "+15551230001"),
        ("pjsip:+12065550180@127.0.0.1", "+12065550180"),
        ("sip:%2B12065550180@127.0.0.1:5060", "+12065550180"),
        ("tel:+1-206-555-0180", "+12065550180"),
        ("<sip:ACME@carrier.example>", "ACME"),
    ],
)
def test_numbers_are_read_from_sip_uris(uri: str, number: str) -> None:
    assert number_from_uri(uri) == number


# --- through the carrier gateway ---------------------------------------------------------------------


def test_texts_go_both_ways_through_the_gateway_on_the_sip_trunk(
    asterisk: AsteriskInstance, live: Live, sipp_dir: Path
) -> None:
    """The path a tenant's texts take when its number's carrier is the SIP trunk: the stored message,
    the stream, the gateway's claim, the connector, sipp; and a reply from sipp into the tenant's rows."""
    Connector.objects.filter(is_default=True).update(is_default=False)
    row, _ = Connector.objects.update_or_create(
        name="sip-trunk",
        defaults={
            "kind": Connector.Kind.SIP,
            "ari_url": asterisk.ari_url,
            "ari_username": asterisk.ari_username,
            "ari_app": f"{asterisk.ari_app}-messaging",
            "endpoint": "trunk",
            "trunk_uri": asterisk.trunk_uri,
            "is_default": True,
            "is_enabled": True,
        },
    )
    row.set_password(asterisk.ari_password)
    row.save()
    streams.client().delete(*(streams.stream_key(row.name, lane) for lane in streams.LANES))
    message = live.send("Your appointment is at 9:30", to=RECIPIENT)

    with running_gateway(row, name="gw-sip"), carrier_receives(sipp_dir / "out") as carrier:
        message_send(account_id=live.tenant.account.id, message_ids=[message.id])
        result = carrier.wait()
        sent = live.wait(message.sid, "sent")
        send_from_carrier(
            asterisk, sipp_dir / "in", text="Can I come at 10?", to=live.number, from_=RECIPIENT
        )
        [reply] = live.wait_for(
            lambda: live.messages(direction="inbound", from_number=RECIPIENT), "the reply stored"
        )

    assert result.ok, result.explain()
    [request] = requests_in(result, "MESSAGE")
    assert (request.body, request.headers["X-Switchboard-Message-Sid"]) == (message.body, message.sid)
    assert request.headers["From"].startswith(f"<sip:{live.number}@")
    assert (sent.connector, sent.carrier_message_ids) == ("sip-trunk", [message.sid])
    assert (reply.to_number, reply.body, reply.account_id) == (
        live.number,
        "Can I come at 10?",
        sent.account_id,
    )
