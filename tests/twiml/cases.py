"""TwiML written by the official `twilio` SDK, with the typed value our parser must return for it.

Each case sets every attribute the SDK's builder accepts that `twiml.verbs` models, with values other
than the defaults, so a dropped or misnamed attribute shows up as a difference.
"""

from collections.abc import Callable
from typing import Any

import pytest
from twilio.twiml.messaging_response import MessagingResponse as SdkMessaging
from twilio.twiml.voice_response import Dial as SdkDial
from twilio.twiml.voice_response import Gather as SdkGather
from twilio.twiml.voice_response import VoiceResponse

from twiml.verbs import (
    Client,
    Conference,
    Connect,
    ConversationRelay,
    Dial,
    Enqueue,
    Gather,
    Hangup,
    Language,
    Leave,
    Message,
    MessagingResponse,
    Number,
    Parameter,
    Pause,
    Play,
    Queue,
    Record,
    Redirect,
    Reject,
    Response,
    Say,
    Sip,
    Sms,
    Start,
    Stop,
    Stream,
    Task,
)

WSS = "wss://agent.example.com/media"
WORKFLOW = "WW0123456789abcdef0123456789abcdef"


def voice(build: Callable[[VoiceResponse], Any]) -> str:
    response = VoiceResponse()
    build(response)
    return str(response)


def messaging(build: Callable[[SdkMessaging], Any]) -> str:
    response = SdkMessaging()
    build(response)
    return str(response)


def _gather_everything(r: VoiceResponse) -> None:
    gather = SdkGather(
        input="speech dtmf",
        action="/gathered",
        method="GET",
        timeout=9,
        finish_on_key="*",
        num_digits=4,
        speech_timeout="auto",
        max_speech_time=30,
        profanity_filter=False,
        hints="yes, no",
        barge_in=False,
        action_on_empty_result=True,
        partial_result_callback="/partial",
        partial_result_callback_method="GET",
        language="fr-FR",
        speech_model="phone_call",
        enhanced=True,
    )
    gather.say("Bonjour", voice="Polly.Celine", language="fr-FR", loop=2)
    gather.play("https://cdn.example.com/a.mp3", loop=0)
    gather.pause(length=2)
    r.append(gather)


def _dial_everything(r: VoiceResponse) -> None:
    dial = SdkDial(
        action="/dialed",
        method="GET",
        timeout=20,
        hangup_on_star=True,
        time_limit=600,
        caller_id="+14155550199",
        record="record-from-ringing-dual",
        trim="do-not-trim",
        recording_status_callback="/dial-recording",
        recording_status_callback_method="GET",
        recording_status_callback_event="in-progress completed",
        recording_track="inbound",
        answer_on_bridge=True,
        ring_tone="gb",
        sequential=True,
    )
    dial.number(
        "+14155550100",
        send_digits="ww12#",
        url="/whisper",
        method="GET",
        status_callback="/leg",
        status_callback_event="initiated ringing answered completed",
        status_callback_method="GET",
    )
    dial.number("415-555-0101")
    r.append(dial)


def _client_with_parameters(r: VoiceResponse) -> None:
    client = r.dial().client(
        url="/client-whisper",
        method="GET",
        status_callback="/client-status",
        status_callback_event="ringing answered",
        status_callback_method="GET",
    )
    client.identity("alice")
    client.parameter(name="ticket", value="42")


def _media_streams(r: VoiceResponse) -> None:
    start = r.start(action="/started", method="GET")
    stream = start.stream(
        name="fork",
        url=WSS,
        track="both_tracks",
        status_callback="/stream-status",
        status_callback_method="GET",
    )
    stream.parameter(name="lang", value="en")
    r.stop().stream(name="fork")
    r.connect(action="/agent-done", method="GET").stream(url=WSS).parameter(name="agent", value="support")


def _conversation_relay(r: VoiceResponse) -> None:
    relay = r.connect(action="/relay-done").conversation_relay(
        url=WSS,
        language="en-GB",
        tts_language="en-AU",
        transcription_language="en-IN",
        tts_provider="Amazon",
        voice="Joanna-Neural",
        transcription_provider="Google",
        speech_model="telephony",
        profanity_filter=False,
        dtmf_detection=True,
        welcome_greeting="Hi! How can I help?",
        partial_prompts=True,
        welcome_greeting_interruptible="dtmf",
        interruptible="speech",
        preemptible=True,
        hints="Switchboard,appointment",
        report_input_during_agent_speech="any",
    )
    relay.language(
        code="fr-FR",
        tts_provider="Google",
        voice="fr-FR-Neural2-A",
        transcription_provider="Deepgram",
        speech_model="nova-2",
        hints="rendez-vous",
    )
    relay.parameter(name="customer", value="42")


VOICE = [
    pytest.param(lambda r: r.say("Hello"), Say("Hello"), id="say-defaults"),
    pytest.param(
        lambda r: r.say("Hola", voice="Polly.Lucia", language="es-ES", loop=0),
        Say("Hola", voice="Polly.Lucia", language="es-ES", loop=0),
        id="say",
    ),
    pytest.param(
        lambda r: r.play("https://cdn.example.com/hold.mp3", loop=3),
        Play("https://cdn.example.com/hold.mp3", loop=3),
        id="play",
    ),
    pytest.param(lambda r: r.play(digits="ww1234#"), Play(digits="ww1234#"), id="play-digits"),
    pytest.param(lambda r: r.pause(), Pause(), id="pause-defaults"),
    pytest.param(lambda r: r.pause(length=7), Pause(7), id="pause"),
    pytest.param(lambda r: r.gather(), Gather(), id="gather-defaults"),
    pytest.param(
        _gather_everything,
        Gather(
            (
                Say("Bonjour", voice="Polly.Celine", language="fr-FR", loop=2),
                Play("https://cdn.example.com/a.mp3", loop=0),
                Pause(2),
            ),
            input="dtmf speech",
            action="/gathered",
            method="GET",
            timeout=9,
            finish_on_key="*",
            num_digits=4,
            speech_timeout="auto",
            max_speech_time=30,
            profanity_filter=False,
            hints="yes, no",
            barge_in=False,
            action_on_empty_result=True,
            partial_result_callback="/partial",
            partial_result_callback_method="GET",
            language="fr-FR",
            speech_model="phone_call",
            enhanced=True,
        ),
        id="gather",
    ),
    pytest.param(
        lambda r: r.gather(input="speech", finish_on_key="", speech_timeout=3),
        Gather(input="speech", finish_on_key="", speech_timeout=3),
        id="gather-speech",
    ),
    pytest.param(lambda r: r.record(), Record(), id="record-defaults"),
    pytest.param(
        lambda r: r.record(
            action="/recorded",
            method="GET",
            timeout=0,
            finish_on_key="#",
            max_length=60,
            play_beep=False,
            trim="do-not-trim",
            recording_status_callback="/recording",
            recording_status_callback_method="GET",
            recording_status_callback_event="in-progress completed",
            transcribe=True,
            transcribe_callback="/transcribed",
        ),
        Record(
            action="/recorded",
            method="GET",
            timeout=0,
            finish_on_key="#",
            max_length=60,
            play_beep=False,
            trim="do-not-trim",
            recording_status_callback="/recording",
            recording_status_callback_method="GET",
            recording_status_callback_event=("in-progress", "completed"),
            transcribe=True,
            transcribe_callback="/transcribed",
        ),
        id="record",
    ),
    pytest.param(lambda r: r.hangup(), Hangup(), id="hangup"),
    pytest.param(lambda r: r.leave(), Leave(), id="leave"),
    pytest.param(lambda r: r.reject(), Reject(), id="reject-defaults"),
    pytest.param(lambda r: r.reject(reason="busy"), Reject("busy"), id="reject"),
    pytest.param(lambda r: r.redirect("/next"), Redirect("/next"), id="redirect-defaults"),
    pytest.param(lambda r: r.redirect("/next", method="GET"), Redirect("/next", method="GET"), id="redirect"),
    pytest.param(lambda r: r.dial("+14155550100"), Dial((Number("+14155550100"),)), id="dial-text"),
    pytest.param(
        lambda r: r.dial("+14155550100", record=True),
        Dial((Number("+14155550100"),), record="record-from-answer"),
        id="dial-record-true",
    ),
    pytest.param(
        _dial_everything,
        Dial(
            (
                Number(
                    "+14155550100",
                    send_digits="ww12#",
                    url="/whisper",
                    method="GET",
                    status_callback="/leg",
                    status_callback_event=("initiated", "ringing", "answered", "completed"),
                    status_callback_method="GET",
                ),
                Number("415-555-0101"),
            ),
            action="/dialed",
            method="GET",
            timeout=20,
            hangup_on_star=True,
            time_limit=600,
            caller_id="+14155550199",
            record="record-from-ringing-dual",
            trim="do-not-trim",
            recording_status_callback="/dial-recording",
            recording_status_callback_method="GET",
            recording_status_callback_event=("in-progress", "completed"),
            recording_track="inbound",
            answer_on_bridge=True,
            ring_tone="gb",
            sequential=True,
        ),
        id="dial-numbers",
    ),
    pytest.param(
        lambda r: r.dial().sip(
            "sip:alice@pbx.example.com?X-Ticket=42",
            username="trunk",
            password="s3cret",
            url="/sip-whisper",
            method="GET",
            status_callback="/sip-status",
            status_callback_event="answered completed",
            status_callback_method="GET",
        ),
        Dial(
            (
                Sip(
                    "sip:alice@pbx.example.com?X-Ticket=42",
                    username="trunk",
                    password="s3cret",
                    url="/sip-whisper",
                    method="GET",
                    status_callback="/sip-status",
                    status_callback_event=("answered", "completed"),
                    status_callback_method="GET",
                ),
            )
        ),
        id="dial-sip",
    ),
    pytest.param(lambda r: r.dial().client("bob"), Dial((Client("bob"),)), id="dial-client"),
    pytest.param(
        _client_with_parameters,
        Dial(
            (
                Client(
                    "alice",
                    url="/client-whisper",
                    method="GET",
                    status_callback="/client-status",
                    status_callback_event=("ringing", "answered"),
                    status_callback_method="GET",
                    parameters=(Parameter("ticket", "42"),),
                ),
            )
        ),
        id="dial-client-identity",
    ),
    pytest.param(
        lambda r: r.dial().conference(
            "standup",
            muted=True,
            beep="onEnter",
            start_conference_on_enter=False,
            end_conference_on_exit=True,
            wait_url="",
            wait_method="GET",
            max_participants=10,
            record="record-from-start",
            trim="do-not-trim",
            coach="CA0123456789abcdef0123456789abcdef",
            status_callback="/conference",
            status_callback_event="start end join",
            status_callback_method="GET",
            recording_status_callback="/conference-recording",
            recording_status_callback_method="GET",
            recording_status_callback_event="completed absent",
            participant_label="agent",
        ),
        Dial(
            (
                Conference(
                    "standup",
                    muted=True,
                    beep="onEnter",
                    start_conference_on_enter=False,
                    end_conference_on_exit=True,
                    wait_url="",
                    wait_method="GET",
                    max_participants=10,
                    record="record-from-start",
                    trim="do-not-trim",
                    coach="CA0123456789abcdef0123456789abcdef",
                    status_callback="/conference",
                    status_callback_event=("start", "end", "join"),
                    status_callback_method="GET",
                    recording_status_callback="/conference-recording",
                    recording_status_callback_method="GET",
                    recording_status_callback_event=("completed", "absent"),
                    participant_label="agent",
                ),
            )
        ),
        id="dial-conference",
    ),
    pytest.param(
        lambda r: r.dial().queue(
            "support",
            url="/dequeued",
            method="GET",
            reservation_sid="WR0123456789abcdef0123456789abcdef",
            post_work_activity_sid="WA0123456789abcdef0123456789abcdef",
        ),
        Dial(
            (
                Queue(
                    "support",
                    url="/dequeued",
                    method="GET",
                    reservation_sid="WR0123456789abcdef0123456789abcdef",
                    post_work_activity_sid="WA0123456789abcdef0123456789abcdef",
                ),
            )
        ),
        id="dial-queue",
    ),
    pytest.param(
        lambda r: r.enqueue(
            "support",
            action="/left-queue",
            method="GET",
            wait_url="/hold",
            wait_url_method="GET",
            max_queue_size=50,
        ),
        Enqueue(
            "support",
            action="/left-queue",
            method="GET",
            wait_url="/hold",
            wait_url_method="GET",
            max_queue_size=50,
        ),
        id="enqueue",
    ),
    pytest.param(
        lambda r: r.enqueue(workflow_sid=WORKFLOW, action="/left-queue", wait_url="/hold").task(
            '{"selected_language": "es"}', priority=5, timeout=200
        ),
        Enqueue(
            workflow_sid=WORKFLOW,
            action="/left-queue",
            wait_url="/hold",
            task=Task('{"selected_language": "es"}', priority=5, timeout=200),
        ),
        id="enqueue-workflow-task",
    ),
    pytest.param(
        lambda r: r.enqueue("support", workflow_sid=WORKFLOW).task("{}"),
        Enqueue("support", workflow_sid=WORKFLOW, task=Task("{}")),
        id="enqueue-workflow-named",
    ),
    pytest.param(
        lambda r: r.sms(
            "Your code is 1234",
            to="+14155550100",
            from_="+14155550199",
            action="/sms-status",
            method="GET",
            status_callback="/sms-callback",
        ),
        Sms(
            "Your code is 1234",
            to="+14155550100",
            from_="+14155550199",
            action="/sms-status",
            method="GET",
            status_callback="/sms-callback",
        ),
        id="sms",
    ),
    pytest.param(
        _media_streams,
        [
            Start(
                (
                    Stream(
                        WSS,
                        name="fork",
                        track="both_tracks",
                        status_callback="/stream-status",
                        status_callback_method="GET",
                        parameters=(Parameter("lang", "en"),),
                    ),
                ),
                action="/started",
                method="GET",
            ),
            Stop((Stream(name="fork"),)),
            Connect(
                (Stream(WSS, parameters=(Parameter("agent", "support"),)),),
                action="/agent-done",
                method="GET",
            ),
        ],
        id="start-stop-connect",
    ),
    pytest.param(
        _conversation_relay,
        Connect(
            (
                ConversationRelay(
                    WSS,
                    language="en-GB",
                    tts_language="en-AU",
                    transcription_language="en-IN",
                    tts_provider="Amazon",
                    voice="Joanna-Neural",
                    transcription_provider="Google",
                    speech_model="telephony",
                    profanity_filter=False,
                    dtmf_detection=True,
                    welcome_greeting="Hi! How can I help?",
                    partial_prompts=True,
                    welcome_greeting_interruptible="dtmf",
                    interruptible="speech",
                    preemptible=True,
                    hints="Switchboard,appointment",
                    report_input_during_agent_speech="any",
                    languages=(
                        Language(
                            "fr-FR",
                            tts_provider="Google",
                            voice="fr-FR-Neural2-A",
                            transcription_provider="Deepgram",
                            speech_model="nova-2",
                            hints="rendez-vous",
                        ),
                    ),
                    parameters=(Parameter("customer", "42"),),
                ),
            ),
            action="/relay-done",
        ),
        id="connect-conversation-relay",
    ),
]


def _message_with(m: SdkMessaging, body: str | None, media: int) -> None:
    message = m.message()
    if body:
        message.body(body)
    for n in range(media):
        message.media(f"https://cdn.example.com/{n}.png")


MESSAGING = [
    pytest.param(lambda m: None, MessagingResponse(), id="no-reply"),
    pytest.param(lambda m: m.message("Thanks!"), Message("Thanks!"), id="message-defaults"),
    pytest.param(
        lambda m: m.message(
            "Thanks!",
            to="+14155550100",
            from_="+14155550199",
            action="/message-status",
            method="GET",
            status_callback="/legacy-status",
        ),
        Message(
            "Thanks!",
            to="+14155550100",
            from_="+14155550199",
            action="/message-status",
            method="GET",
            status_callback="/legacy-status",
        ),
        id="message",
    ),
    pytest.param(
        lambda m: _message_with(m, "Your receipt", 1),
        Message("Your receipt", media=("https://cdn.example.com/0.png",)),
        id="message-body-media",
    ),
    pytest.param(
        lambda m: _message_with(m, None, 10),
        Message(media=tuple(f"https://cdn.example.com/{n}.png" for n in range(10))),
        id="message-ten-media",
    ),
    pytest.param(lambda m: m.redirect("/next", method="GET"), Redirect("/next", method="GET"), id="redirect"),
]


def as_response(expected: Any, kind: type[Response] | type[MessagingResponse]) -> Any:
    """Case values are a verb, a list of verbs, or a whole response."""
    if isinstance(expected, kind):
        return expected
    return kind(tuple(expected) if isinstance(expected, list) else (expected,))
