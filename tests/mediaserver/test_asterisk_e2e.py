"""End to end against the Asterisk test instance: sipp calls in, the ARI app sees and drives them."""

import math
import struct
import time
import uuid
import wave
from pathlib import Path

import pytest

from mediaserver.asterisk import AsteriskInstance
from tests.asterisk import TEST_SIP_PORT, TRUNK_UAS_PORT
from tests.mediaserver.ariprobe import AriProbe, Event
from tests.voice import sipp
from tests.voice.dtmf import dtmf_pcap, silence_pcap

pytestmark = pytest.mark.e2e

NUMBER = "+15017122661"


def channel_id(event: Event) -> str:
    return str(event["channel"]["id"])


def test_instance_runs_and_ari_answers(asterisk: AsteriskInstance) -> None:
    assert asterisk.is_running()
    assert asterisk.ari_info()["system"]["version"].startswith("22.")
    assert f"127.0.0.1:{TEST_SIP_PORT}" in asterisk.rx("pjsip show transports")
    assert f"{asterisk.sip_address}" == f"127.0.0.1:{TEST_SIP_PORT}"


def test_dialplan_bench_answers_reads_a_digit_and_hangs_up(
    asterisk: AsteriskInstance, sipp_dir: Path
) -> None:
    result = sipp.run_uac(asterisk.sip_address, "dialplan-bench", workdir=sipp_dir, pcap=dtmf_pcap("5"))

    assert result.ok, result.explain()
    assert result.successful_calls == 1
    assert "SIP/2.0 200 OK" in result.messages
    assert "BYE sip:" in result.messages  # Asterisk hung up after Read() got the digit


@pytest.mark.parametrize("number", [NUMBER, NUMBER.removeprefix("+")])
def test_a_dialled_number_enters_the_app(
    asterisk: AsteriskInstance, ari: AriProbe, sipp_dir: Path, number: str
) -> None:
    with sipp.start_uac(asterisk.sip_address, number, workdir=sipp_dir, caller="+15557654321") as call:
        start = ari.wait_for("StasisStart")
        ari.post(f"channels/{channel_id(start)}/answer")
        ari.delete(f"channels/{channel_id(start)}")
        result = call.wait()

    assert start["channel"]["dialplan"]["exten"] == number
    assert start["args"] == ["inbound"]
    assert start["channel"]["caller"]["number"] == "+15557654321"
    assert start["channel"]["state"] == "Ring"
    assert result.ok, result.explain()


def test_app_answers_and_receives_dtmf_in_order(
    asterisk: AsteriskInstance, ari: AriProbe, sipp_dir: Path
) -> None:
    with sipp.start_uac(asterisk.sip_address, NUMBER, workdir=sipp_dir, pcap=dtmf_pcap("1234")) as call:
        start = ari.wait_for("StasisStart")
        channel = channel_id(start)
        ari.post(f"channels/{channel}/answer")
        digits = [ari.wait_for("ChannelDtmfReceived")["digit"] for _ in range(4)]
        ari.delete(f"channels/{channel}")
        ari.wait_for("StasisEnd")
        result = call.wait()

    assert digits == ["1", "2", "3", "4"]
    assert result.ok, result.explain()


def test_caller_hanging_up_mid_call_ends_the_app_channel(
    asterisk: AsteriskInstance, ari: AriProbe, sipp_dir: Path
) -> None:
    with sipp.start_uac(asterisk.sip_address, NUMBER, workdir=sipp_dir, hangup_after_ms=300) as call:
        start = ari.wait_for("StasisStart")
        ari.post(f"channels/{channel_id(start)}/answer")
        end = ari.wait_for("StasisEnd", timeout=5)
        result = call.wait()

    assert channel_id(end) == channel_id(start)
    assert result.ok, result.explain()


def test_originate_over_the_trunk_is_answered(
    asterisk: AsteriskInstance, ari: AriProbe, sipp_dir: Path
) -> None:
    channel = f"out-{uuid.uuid4().hex[:12]}"
    with sipp.start_uas(TRUNK_UAS_PORT, workdir=sipp_dir) as uas:
        ari.post(
            "channels",
            endpoint=f"PJSIP/trunk/sip:+15550001111@127.0.0.1:{TRUNK_UAS_PORT}",
            app=asterisk.ari_app,
            appArgs="outbound",
            callerId="+15017122661",
            channelId=channel,
            timeout=10,
        )
        start = ari.wait_for("StasisStart", where=lambda event: channel_id(event) == channel)
        ari.delete(f"channels/{channel}")
        result = uas.wait()

    assert start["channel"]["state"] == "Up"
    assert start["args"] == ["outbound"]
    assert result.ok, result.explain()
    assert f"INVITE sip:+15550001111@127.0.0.1:{TRUNK_UAS_PORT}" in result.messages
    assert "From: <sip:+15017122661@" in result.messages


def test_originate_to_a_busy_far_end_fails_with_cause_busy(
    asterisk: AsteriskInstance, ari: AriProbe, sipp_dir: Path
) -> None:
    channel = f"out-{uuid.uuid4().hex[:12]}"
    with sipp.start_uas(TRUNK_UAS_PORT, workdir=sipp_dir, busy=True) as uas:
        ari.post(
            "channels",
            endpoint=f"PJSIP/trunk/sip:+15550002222@127.0.0.1:{TRUNK_UAS_PORT}",
            app=asterisk.ari_app,
            channelId=channel,
            timeout=10,
        )
        destroyed = ari.wait_for("ChannelDestroyed", where=lambda event: channel_id(event) == channel)
        result = uas.wait()

    assert destroyed["cause"] == 17, destroyed  # user busy
    assert not ari.of_type("StasisStart")
    assert result.ok, result.explain()


def _write_tone(path: Path, *, seconds: float = 0.3, hz: int = 440) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        samples = (int(8000 * math.sin(2 * math.pi * hz * n / 8000)) for n in range(int(8000 * seconds)))
        out.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))


def test_app_plays_from_sounds_dir_and_records_into_recording_dir(
    asterisk: AsteriskInstance, ari: AriProbe, sipp_dir: Path
) -> None:
    prompt = f"test-{uuid.uuid4().hex[:8]}"
    recording = f"rec-{uuid.uuid4().hex[:8]}"
    _write_tone(asterisk.sounds_dir / f"{prompt}.wav")
    try:
        with sipp.start_uac(asterisk.sip_address, NUMBER, workdir=sipp_dir, pcap=silence_pcap(3000)) as call:
            channel = channel_id(ari.wait_for("StasisStart"))
            ari.post(f"channels/{channel}/answer")
            ari.post(f"channels/{channel}/play", media=f"sound:switchboard/{prompt}", playbackId=prompt)
            played = ari.wait_for("PlaybackFinished", timeout=5)
            ari.post(f"channels/{channel}/record", name=recording, format="wav", ifExists="overwrite")
            ari.wait_for("RecordingStarted", timeout=5)
            time.sleep(0.5)
            ari.post(f"recordings/live/{recording}/stop")
            finished = ari.wait_for("RecordingFinished", timeout=5)
            ari.delete(f"channels/{channel}")
            result = call.wait()

        assert played["playback"]["state"] == "done", played
        assert finished["recording"]["state"] == "done", finished
        assert (asterisk.recording_dir / f"{recording}.wav").read_bytes()[:4] == b"RIFF"
        assert result.ok, result.explain()
    finally:
        (asterisk.sounds_dir / f"{prompt}.wav").unlink(missing_ok=True)
        (asterisk.recording_dir / f"{recording}.wav").unlink(missing_ok=True)


def test_without_a_connected_app_a_call_gets_the_fallback_prompt(
    asterisk: AsteriskInstance, sipp_dir: Path
) -> None:
    probe = AriProbe(asterisk)  # REST only: without its websocket the app is not registered
    try:
        deadline = time.monotonic() + 3  # an earlier test's websocket may still be closing
        while probe.app_registered() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not probe.app_registered()
    finally:
        probe.close()

    result = sipp.run_uac(asterisk.sip_address, NUMBER, workdir=sipp_dir)

    assert result.ok, result.explain()  # answered, prompt played, hung up by Asterisk
    assert "SIP/2.0 200 OK" in result.messages
    assert "BYE sip:" in result.messages
