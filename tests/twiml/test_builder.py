"""Our own documents: Twilio-style XML, defaults left out, and parse(to_xml(x)) == x."""

from typing import Any

import pytest

from tests.twiml.cases import MESSAGING, VOICE, as_response, messaging, voice
from twiml.builder import DECLARATION, to_xml
from twiml.parser import ParseResult, parse_messaging, parse_voice
from twiml.verbs import (
    Client,
    Dial,
    Gather,
    Hangup,
    Message,
    MessagingResponse,
    Number,
    Parameter,
    Pause,
    Record,
    Response,
    Say,
)


@pytest.mark.parametrize(("build", "expected"), VOICE)
def test_voice_round_trip(build: Any, expected: Any) -> None:
    response = as_response(expected, Response)
    assert parse_voice(to_xml(response)) == ParseResult(response)


@pytest.mark.parametrize(("build", "expected"), MESSAGING)
def test_messaging_round_trip(build: Any, expected: Any) -> None:
    response = as_response(expected, MessagingResponse)
    assert parse_messaging(to_xml(response)) == ParseResult(response)


@pytest.mark.parametrize(
    ("response", "xml"),
    [
        pytest.param(Response(), "<Response />", id="empty"),
        pytest.param(
            Response.of(Say("Hello"), Hangup()), "<Response><Say>Hello</Say><Hangup /></Response>", id="of"
        ),
        pytest.param(
            Response.of(Gather((Say("Press 1", voice="alice"), Pause(2)), num_digits=1, action="/menu")),
            '<Response><Gather action="/menu" numDigits="1"><Say voice="alice">Press 1</Say>'
            '<Pause length="2" /></Gather></Response>',
            id="camel-case-sorted-defaults-omitted",
        ),
        pytest.param(
            Response.of(
                Record(play_beep=False, transcribe=True, recording_status_callback_event=("absent",))
            ),
            '<Response><Record playBeep="false" recordingStatusCallbackEvent="absent" transcribe="true" />'
            "</Response>",
            id="booleans-and-lists",
        ),
        pytest.param(
            Response.of(Say("Tom & Jerry <3")),
            "<Response><Say>Tom &amp; Jerry &lt;3</Say></Response>",
            id="escaped",
        ),
        pytest.param(
            Response.of(Dial((Client("alice", parameters=(Parameter("k", "v"),)), Number("+14155550100")))),
            '<Response><Dial><Client><Identity>alice</Identity><Parameter name="k" value="v" /></Client>'
            "<Number>+14155550100</Number></Dial></Response>",
            id="client-identity-child",
        ),
        pytest.param(
            MessagingResponse.of(Message("Receipt", media=("https://x/r.pdf",), from_="+14155550199")),
            '<Response><Message from="+14155550199"><Body>Receipt</Body><Media>https://x/r.pdf</Media></Message>'
            "</Response>",
            id="message-body-and-media",
        ),
    ],
)
def test_to_xml(response: Response | MessagingResponse, xml: str) -> None:
    assert to_xml(response) == DECLARATION + xml


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda r: r.say("Hello", voice="alice", loop=2), id="say"),
        pytest.param(lambda r: r.gather(action="/menu", num_digits=1, timeout=3).say("Press 1"), id="gather"),
        pytest.param(lambda r: r.dial(caller_id="+14155550199").number("+14155550100"), id="dial"),
    ],
)
def test_output_matches_the_sdk_when_no_default_is_spelled_out(build: Any) -> None:
    document = voice(build)
    assert to_xml(parse_voice(document).response) == document


def test_messaging_output_matches_the_sdk() -> None:
    document = messaging(lambda m: m.message("Thanks", to="+14155550100"))
    assert to_xml(parse_messaging(document).response) == document
