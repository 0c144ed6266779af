"""How fast the SMPP connector submits to the SMSC sandbox on this machine, per window size.

    .venv/bin/python -m tests.messaging.smpp_throughput --messages 5000 --window 10 50

Prints, per window: messages/s until every submit_sm_resp came back (events.submitted), and until
every delivery receipt came back. The figures in docs/messaging-carriers.md come from here.
"""

import argparse
import threading
import time
from collections.abc import Callable

from messaging.carriers.base import DeliveryReceipt, InboundSms, OutboundSms
from messaging.carriers.smpp import SmppConnector
from tests.messaging.smsc import start_smsc


class Counter:
    """The CarrierEvents sink: counts, and signals when every message is submitted and receipted."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.submissions = 0
        self.receipts = 0
        self.all_submitted = threading.Event()
        self.all_receipts = threading.Event()
        self.lock = threading.Lock()

    def submitted(self, message_sid: str, carrier_message_ids: list[str]) -> None:
        with self.lock:
            self.submissions += 1
            if self.submissions == self.expected:
                self.all_submitted.set()

    def refused(self, message_sid: str, error_code: int, detail: str) -> None:
        raise AssertionError(f"{message_sid} refused: {error_code} {detail}")

    def received(self, sms: InboundSms) -> None:
        pass

    def receipt(self, receipt: DeliveryReceipt, acknowledge: Callable[[bool], None]) -> None:
        acknowledge(True)
        with self.lock:
            self.receipts += 1
            if self.receipts == self.expected:
                self.all_receipts.set()


def measure(messages: int, window: int) -> tuple[float, float]:
    with start_smsc(quiet=True, dlr_delay_ms=0) as smsc:
        counter = Counter(messages)
        connector = SmppConnector(
            name="bench",
            events=counter,
            window=window,
            max_per_second=1_000_000,
            queue_limit=messages,
            **smsc.connector_settings(),
        )
        connector.start()
        while not connector.is_connected:
            time.sleep(0.01)
        started = time.monotonic()
        for i in range(messages):
            connector.send(
                OutboundSms(f"SM{i:032x}", "+15551230001", "+15551230002", f"Alert {i}: school closed")
            )
        counter.all_submitted.wait(600)
        submitted_s = time.monotonic() - started
        counter.all_receipts.wait(600)
        receipts_s = time.monotonic() - started
        connector.stop()
        assert smsc.stats()["accepted"] == messages
        return messages / submitted_s, messages / receipts_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--window", type=int, nargs="+", default=[10, 50])
    args = parser.parse_args()
    print(f"{'window':>6} {'submitted/s':>12} {'with receipts/s':>16}")
    for window in args.window:
        submitted, receipts = measure(args.messages, window)
        print(f"{window:>6} {submitted:>12.0f} {receipts:>16.0f}")


if __name__ == "__main__":
    main()
