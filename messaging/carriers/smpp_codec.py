"""What goes into and comes out of SMPP 3.4 PDUs, free of sockets and threads.

Bodies are split exactly as `messaging.segments` counts them (GSM-7 parts of 153 septets, UCS-2
parts of 67 UTF-16 units, no escape or surrogate pair cut in two), then encoded: GSM-7 as data_coding
0 with one septet per octet (`gsm7`), UCS-2 as data_coding 8. The parts of a concatenated message
carry a 6-octet UDH with an 8-bit reference.

The command_status table (`submit_outcome`) and the receipt table (`RECEIPT_STATES`) are documented
in docs/messaging-carriers.md.
"""

import re
import struct
from dataclasses import dataclass
from typing import Literal

from core.error_codes import ErrorCode
from messaging import segments
from messaging.carriers import gsm7
from messaging.carriers.base import DeliveryReceipt, ReceiptStatus

GSM7, LATIN1, UCS2 = 0x00, 0x03, 0x08
ESM_UDHI = 0x40  # esm_class: short_message starts with a user data header
ESM_RECEIPT = 0x04  # esm_class message type: SMSC delivery receipt
MAX_PARTS = 255


@dataclass(frozen=True)
class Encoded:
    data_coding: int
    parts: tuple[bytes, ...]  # each one short_message, with its UDH when there are several

    @property
    def esm_class(self) -> int:
        return ESM_UDHI if len(self.parts) > 1 else 0


def _user_data(text: str, encoding: segments.Encoding) -> bytes:
    if encoding == "UCS-2":
        return text.encode("utf-16-be")
    septets = gsm7.encode(text)
    if septets is None:  # segments and gsm7 disagree on the alphabet: a bug, not bad input
        raise ValueError(f"not GSM-7 although messaging.segments says so: {text!r}")
    return septets


def encode(body: str, *, reference: int) -> Encoded:
    """The short_message of every part; `reference` (0-255) ties the parts of one message."""
    encoding, texts = segments.split(body)
    data_coding = GSM7 if encoding == "GSM-7" else UCS2
    chunks = [_user_data(text, encoding) for text in texts]
    if len(chunks) == 1:
        return Encoded(data_coding, (chunks[0],))
    if len(chunks) > MAX_PARTS:
        raise ValueError(f"a body of {len(chunks)} segments cannot be concatenated (at most {MAX_PARTS})")
    header = bytes([5, 0, 3, reference & 0xFF, len(chunks)])
    return Encoded(data_coding, tuple(header + bytes([i]) + chunk for i, chunk in enumerate(chunks, 1)))


def decode(data: bytes, data_coding: int) -> str:
    """Text of user data (UDH removed) in the given data_coding; unknown codings read as Latin-1."""
    if data_coding & 0xF0 == 0xF0:  # message class coding: bit 2 says 8-bit, else GSM 7-bit
        data_coding = 0x04 if data_coding & 0x04 else GSM7
    if data_coding == GSM7:
        return gsm7.decode(data)
    if data_coding == UCS2:
        return data[: len(data) - len(data) % 2].decode("utf-16-be", errors="replace")
    if data_coding == 0x01:  # IA5 (ASCII)
        return data.decode("ascii", errors="replace")
    return data.decode("latin-1")


@dataclass(frozen=True)
class Concatenation:
    reference: int
    total: int
    number: int  # 1-based


def split_udh(short_message: bytes) -> tuple[Concatenation | None, bytes]:
    """(concatenation info element if any, user data) of a short_message that starts with a UDH."""
    if not short_message:
        return None, b""
    end = 1 + short_message[0]
    header, data = short_message[1:end], short_message[end:]
    concat = None
    at = 0
    while at + 2 <= len(header):
        iei, length = header[at], header[at + 1]
        value = header[at + 2 : at + 2 + length]
        if iei == 0x00 and length == 3:
            concat = Concatenation(reference=value[0], total=value[1], number=value[2])
        elif iei == 0x08 and length == 4:
            concat = Concatenation(
                reference=struct.unpack(">H", value[:2])[0], total=value[2], number=value[3]
            )
        at += 2 + length
    return concat, data


# --- addresses ---------------------------------------------------------------------------------------
TON_INTERNATIONAL, TON_ALPHANUMERIC = 1, 5
NPI_ISDN, NPI_UNKNOWN = 1, 0


def address_out(number: str) -> tuple[int, int, str]:
    """(ton, npi, addr) for an E.164 number (sent without its '+') or an alphanumeric sender id."""
    digits = number.removeprefix("+")
    if digits.isdigit():
        return TON_INTERNATIONAL, NPI_ISDN, digits
    return TON_ALPHANUMERIC, NPI_UNKNOWN, number


def address_in(addr: str, ton: int) -> str:
    """E.164 for a numeric address, whatever TON the SMSC sets; an alphanumeric one as it is."""
    if ton != TON_ALPHANUMERIC and addr.isdigit():
        return "+" + addr
    return addr


def relative_validity(seconds: int) -> str:
    """SMPP relative time ('YYMMDDhhmmss000R') for a validity period in seconds."""
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    return f"0000{min(days, 99):02d}{hour:02d}{minute:02d}{second:02d}000R"


# --- command_status of submit_sm_resp ------------------------------------------------------------------
STATUS_NAMES = {
    0x01: "ESME_RINVMSGLEN", 0x04: "ESME_RINVBNDSTS", 0x08: "ESME_RSYSERR", 0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR", 0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID",
    0x14: "ESME_RMSGQFUL", 0x43: "ESME_RINVESMCLASS", 0x45: "ESME_RSUBMITFAIL", 0x48: "ESME_RINVSRCTON",
    0x49: "ESME_RINVSRCNPI", 0x50: "ESME_RINVDSTTON", 0x51: "ESME_RINVDSTNPI", 0x53: "ESME_RINVSYSTYP",
    0x58: "ESME_RTHROTTLED", 0x62: "ESME_RINVEXPIRY", 0x64: "ESME_RX_T_APPN", 0x65: "ESME_RX_P_APPN",
    0x66: "ESME_RX_R_APPN", 0xC0: "ESME_RINVOPTPARSTREAM", 0xC1: "ESME_ROPTPARNOTALLWD",
    0xC2: "ESME_RINVPARLEN", 0xC3: "ESME_RMISSINGOPTPARAM", 0xC4: "ESME_RINVOPTPARAMVAL",
    0xFE: "ESME_RDELIVERYFAILURE", 0xFF: "ESME_RUNKNOWNERR",
}  # fmt: skip
THROTTLING = frozenset({0x14, 0x58})  # resend the same PDU after a pause, however often
TEMPORARY = frozenset({0x04, 0x08, 0x64})  # resend up to TEMPORARY_ATTEMPTS times, then refuse
TEMPORARY_ATTEMPTS = 5
REFUSAL_CODES = {
    # these three: the destination does not exist
    0x0B: ErrorCode.UNKNOWN_DESTINATION_HANDSET,
    0x50: ErrorCode.UNKNOWN_DESTINATION_HANDSET,
    0x51: ErrorCode.UNKNOWN_DESTINATION_HANDSET,
    # these three: the carrier will not carry this sender's traffic
    0x0A: ErrorCode.MESSAGE_FILTERED,
    0x48: ErrorCode.MESSAGE_FILTERED,
    0x49: ErrorCode.MESSAGE_FILTERED,
    0x66: ErrorCode.MESSAGE_FILTERED,  # ESME_RX_R_APPN: the carrier rejected the message itself
    0xFE: ErrorCode.UNREACHABLE_DESTINATION_HANDSET,  # delivery failed
}
BIND_REFUSALS = frozenset({0x0D, 0x0E, 0x0F, 0x53})  # wrong system_id, password or system_type


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08X}")


Outcome = Literal["throttled", "temporary", "refused"]


def submit_outcome(status: int) -> tuple[Outcome, int]:
    """What an error status of submit_sm_resp means: resend (and how), or refusal with Twilio's code."""
    if status in THROTTLING:
        return "throttled", 0
    if status in TEMPORARY:
        return "temporary", ErrorCode.UNKNOWN_ERROR  # if it outlasts its attempts
    return "refused", REFUSAL_CODES.get(status, ErrorCode.UNKNOWN_ERROR)


# --- delivery receipts ------------------------------------------------------------------------------
# stat (text form) -> (ReceiptStatus, Twilio code); intermediate states (ENROUTE, ACCEPTD) are None.
RECEIPT_STATES: dict[str, tuple[ReceiptStatus, int | None] | None] = {
    "DELIVRD": ("delivered", None),
    # the handset stayed unreachable for the whole validity period
    "EXPIRED": ("undelivered", ErrorCode.UNREACHABLE_DESTINATION_HANDSET),
    # not delivered, and the SMSC gives no reason we can map
    "UNDELIV": ("undelivered", ErrorCode.UNKNOWN_ERROR),
    "DELETED": ("undelivered", ErrorCode.UNKNOWN_ERROR),
    "UNKNOWN": ("undelivered", ErrorCode.UNKNOWN_ERROR),
    "REJECTD": ("undelivered", ErrorCode.MESSAGE_FILTERED),  # the carrier refused to deliver it: filtering
    "ENROUTE": None,
    "ACCEPTD": None,
    "SKIPPED": ("undelivered", ErrorCode.UNKNOWN_ERROR),
}
MESSAGE_STATES = {
    1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN",
    8: "REJECTD", 9: "SKIPPED",
}  # fmt: skip
_RECEIPT_ID = re.compile(rb"\bid:(\S+)", re.IGNORECASE)
_RECEIPT_STAT = re.compile(rb"\bstat:(\w+)", re.IGNORECASE)


class MalformedReceipt(ValueError):
    pass


def parse_receipt(
    text: bytes, *, receipted_message_id: bytes | None, message_state: int | None
) -> DeliveryReceipt | None:
    """The receipt in a deliver_sm; its TLVs win over the text form. None for intermediate states."""
    carrier_id = receipted_message_id.rstrip(b"\0").decode("ascii", "replace") if receipted_message_id else ""
    stat = MESSAGE_STATES.get(message_state) if message_state is not None else None
    if not carrier_id and (found := _RECEIPT_ID.search(text)):
        carrier_id = found.group(1).decode("ascii", "replace")
    if stat is None and (found := _RECEIPT_STAT.search(text)):
        stat = found.group(1).decode("ascii", "replace").upper()
    if not carrier_id or stat is None:
        raise MalformedReceipt(f"receipt without id or state: {text[:160]!r}")
    meaning = RECEIPT_STATES.get(stat, ("undelivered", ErrorCode.UNKNOWN_ERROR))
    if meaning is None:
        return None
    status, error_code = meaning
    return DeliveryReceipt(carrier_message_id=carrier_id, status=status, error_code=error_code)
