"""SMPP encoding rules that need no SMSC: the GSM-7 codec, splitting, receipts, status codes."""

import pytest

from messaging import segments
from messaging.carriers import gsm7, smpp_codec
from messaging.carriers.base import DeliveryReceipt


def test_the_gsm7_codec_has_the_alphabet_segments_counts_with() -> None:
    basic = {char for code, char in enumerate(gsm7.BASIC) if code != gsm7.ESCAPE}
    assert basic == segments.GSM7_BASIC
    assert set(gsm7.EXTENSION) == segments.GSM7_EXTENSION


def test_gsm7_round_trip_and_escapes() -> None:
    text = "@£$¥ ΔΦΓ ÄÖÑÜ§¿äöñüà {[~]}|^€\\ \f"
    septets = gsm7.encode(text)
    assert septets is not None and len(septets) == segments.segment(text).units
    assert gsm7.decode(septets) == text
    assert gsm7.encode("ç") is None and gsm7.encode("`") is None


@pytest.mark.parametrize(
    "body",
    ["", "a" * 160, "a" * 161, "a" * 152 + "€" + "a" * 152, "ł" * 70, "ł" * 71, "a" * 66 + "😀" + "b" * 10],
)
def test_parts_are_the_segments_that_are_counted(body: str) -> None:
    encoded = smpp_codec.encode(body, reference=200)
    assert len(encoded.parts) == segments.segment(body).num_segments
    if len(encoded.parts) == 1:
        assert encoded.esm_class == 0
        assert smpp_codec.decode(encoded.parts[0], encoded.data_coding) == body
        return
    assert encoded.esm_class == smpp_codec.ESM_UDHI
    texts = []
    for number, part in enumerate(encoded.parts, 1):
        concat, data = smpp_codec.split_udh(part)
        assert concat == smpp_codec.Concatenation(reference=200, total=len(encoded.parts), number=number)
        texts.append(smpp_codec.decode(data, encoded.data_coding))
    assert texts == segments.split(body)[1]


def test_udh_with_a_16_bit_reference_and_other_elements() -> None:
    udh = bytes([12, 0x24, 1, 0, 0x08, 4, 0x12, 0x34, 3, 2, 0x25, 1, 0])  # national shift tables around it
    concat, data = smpp_codec.split_udh(udh + b"hi")
    assert concat == smpp_codec.Concatenation(reference=0x1234, total=3, number=2) and data == b"hi"


@pytest.mark.parametrize(
    ("data", "data_coding", "text"),
    [
        (b"Gr\x7e\x1e", 0x00, "Grüß"),
        ("Grüß 😀".encode("utf-16-be"), 0x08, "Grüß 😀"),
        ("Crème".encode("latin-1"), 0x03, "Crème"),
        (b"plain", 0x01, "plain"),
        (b"Gr\x7e\x1e", 0xF0, "Grüß"),  # message class 0, GSM 7-bit
    ],
)
def test_decode_by_data_coding(data: bytes, data_coding: int, text: str) -> None:
    assert smpp_codec.decode(data, data_coding) == text


def test_addresses() -> None:
    assert smpp_codec.address_out("+447700900123") == (1, 1, "447700900123")
    assert smpp_codec.address_out("ACME Alerts") == (5, 0, "ACME Alerts")
    assert smpp_codec.address_in("447700900123", 1) == "+447700900123"
    assert smpp_codec.address_in("447700900123", 0) == "+447700900123"
    assert smpp_codec.address_in("ACME", 5) == "ACME"


def test_validity_as_relative_time() -> None:
    assert smpp_codec.relative_validity(36000) == "000000100000000R"
    assert smpp_codec.relative_validity(2 * 86400 + 3661) == "000002010101000R"


RECEIPT = b"id:%s sub:001 dlvrd:000 submit date:2611280729 done date:2611280730 stat:%s err:005 text:Hi"


@pytest.mark.parametrize(
    ("stat", "status", "code"),
    [
        (b"DELIVRD", "delivered", None),
        (b"UNDELIV", "undelivered", 30008),
        (b"EXPIRED", "undelivered", 30003),
        (b"REJECTD", "undelivered", 30007),
        (b"DELETED", "undelivered", 30008),
        (b"UNKNOWN", "undelivered", 30008),
        (b"WHATEVER", "undelivered", 30008),
    ],
)
def test_receipt_text_form(stat: bytes, status: str, code: int | None) -> None:
    receipt = smpp_codec.parse_receipt(
        RECEIPT % (b"a1b2", stat), receipted_message_id=None, message_state=None
    )
    assert receipt == DeliveryReceipt("a1b2", status, code)  # type: ignore[arg-type]


def test_receipt_tlvs_win_over_the_text() -> None:
    receipt = smpp_codec.parse_receipt(
        RECEIPT % (b"0000ff", b"DELIVRD"), receipted_message_id=b"ff\0", message_state=5
    )
    assert receipt == DeliveryReceipt("ff", "undelivered", 30008)
    assert smpp_codec.parse_receipt(b"", receipted_message_id=b"ff", message_state=2) == DeliveryReceipt(
        "ff", "delivered", None
    )


def test_intermediate_and_malformed_receipts() -> None:
    assert (
        smpp_codec.parse_receipt(RECEIPT % (b"x", b"ACCEPTD"), receipted_message_id=None, message_state=None)
        is None
    )
    assert smpp_codec.parse_receipt(b"", receipted_message_id=b"x", message_state=1) is None
    with pytest.raises(smpp_codec.MalformedReceipt):
        smpp_codec.parse_receipt(b"delivered!", receipted_message_id=None, message_state=None)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (0x58, ("throttled", 0)),
        (0x14, ("throttled", 0)),
        (0x08, ("temporary", 30008)),
        (0x64, ("temporary", 30008)),
        (0x0B, ("refused", 30005)),
        (0x0A, ("refused", 30007)),
        (0x66, ("refused", 30007)),
        (0x45, ("refused", 30008)),
        (0x1234, ("refused", 30008)),
    ],
)
def test_submit_status_outcomes(status: int, outcome: tuple[str, int]) -> None:
    assert smpp_codec.submit_outcome(status) == outcome
