"""The DTMF capture builder: one SSRC, rising sequence numbers and timestamps, RFC 4733 events."""

import pytest

from tests.voice.dtmf import PT_PCMU, PT_TELEPHONE_EVENT, dtmf_pcap, read_rtp, silence_pcap


def test_one_stream_with_strictly_rising_sequence_and_time() -> None:
    packets = list(read_rtp(dtmf_pcap("1234")))
    fields = [f for _, f in packets]
    times = [t for t, _ in packets]

    assert {f["ssrc"] for f in fields} == {0x5B0A1D11}
    assert all(f["version"] == 2 for f in fields)
    assert [f["sequence"] for f in fields] == list(
        range(fields[0]["sequence"], fields[0]["sequence"] + len(fields))
    )
    assert all(later > earlier for earlier, later in zip(times, times[1:], strict=False))
    assert all(
        later["timestamp"] >= earlier["timestamp"] for earlier, later in zip(fields, fields[1:], strict=False)
    )
    assert fields[0]["payload_type"] == PT_PCMU  # lead-in silence first, for strict-RTP learning


def test_each_digit_is_one_event_with_a_marker_and_three_end_packets() -> None:
    events = [f for _, f in read_rtp(dtmf_pcap("1#")) if f["payload_type"] == PT_TELEPHONE_EVENT]
    by_timestamp: dict[int, list[dict[str, int]]] = {}
    for event in events:
        by_timestamp.setdefault(event["timestamp"], []).append(event)

    assert [group[0]["event"] for group in by_timestamp.values()] == [1, 11]
    for group in by_timestamp.values():
        assert [e["marker"] for e in group] == [1] + [0] * (len(group) - 1)
        assert [e["end"] for e in group][-3:] == [1, 1, 1]
        assert not any(e["end"] for e in group[:-3])
        assert group[-1]["duration"] == 800  # 100 ms at 8 kHz
        durations = [e["duration"] for e in group]
        assert durations == sorted(durations)


def test_silence_only_and_bad_digits() -> None:
    assert {f["payload_type"] for _, f in read_rtp(silence_pcap(400))} == {PT_PCMU}
    assert len(list(read_rtp(silence_pcap(400)))) == 20
    with pytest.raises(ValueError):
        dtmf_pcap("12x")
