"""What every carrier connector is handed, and what it reports back.

A connector owns one connection to a carrier (an SMPP bind, the SIP trunk of an Asterisk). The
platform hands it `OutboundSms` items; the connector reports through the `CarrierEvents` it was
given when the carrier accepts or refuses a message, when a delivery receipt arrives and when a
message comes in. This module imports nothing from Django, so a connector can be tested on its own
against a real peer.

The message SID is the idempotency key: whoever drives a connector submits a SID at most once (see
`messaging.gateway`), so a redelivered Celery task can hand the same message over again safely.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

ReceiptStatus = Literal["delivered", "undelivered", "failed"]


@dataclass(frozen=True)
class OutboundSms:
    message_sid: str
    from_number: str  # E.164
    to: str  # E.164
    body: str
    validity_period: int | None = None  # seconds the carrier may keep trying


@dataclass(frozen=True)
class InboundSms:
    from_number: str
    to: str
    body: str
    carrier_message_id: str
    media_urls: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class DeliveryReceipt:
    carrier_message_id: str
    status: ReceiptStatus
    error_code: int | None = None  # Twilio's 30xxx code when not delivered


class CarrierEvents(Protocol):
    def submitted(self, message_sid: str, carrier_message_ids: list[str]) -> None:
        """The carrier accepted every segment; one id per segment, in order."""

    def refused(self, message_sid: str, error_code: int, detail: str) -> None:
        """The carrier refused the message (Twilio 30xxx code); it will not be retried."""

    def received(self, sms: InboundSms) -> None:
        """A message arrived for one of our numbers."""

    def receipt(self, receipt: DeliveryReceipt, acknowledge: Callable[[bool], None]) -> None:
        """A delivery receipt for a segment we submitted. The handler calls `acknowledge(True)` once the
        receipt is kept (or given up on for good), `acknowledge(False)` if it could not be kept; until
        then the carrier holds it, and sends it again after a reconnect, so a receipt is never answered
        and then lost with a crashed process. It may be called from any thread."""
