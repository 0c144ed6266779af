"""Each verb's flow on an in-memory call (tests/voice/memory.py), no Asterisk: what the call is asked
to do, what goes to `action` and to callbacks, and where the flow goes next."""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from core.error_codes import ErrorCode
from core.errors import TwilioError
from messaging import verbs as messaging_verbs
from tests.voice.memory import MemoryControl, run_routes
from tests.voice.twiml_app import TwimlApp
from voice.control import DialOutcome, DigitsOutcome, RecordOutcome
from voice.verbs import MAX_LOOP

HANGUP = "<Response><Hangup/></Response>"
OURS, CALLER, REFUSED = "+12025550100", "+14155550100", "+14155550199"


def test_say_play_and_pause_answer_then_run_in_order(app: TwimlApp, tmp_path: Path) -> None:
    document = "<Response><Say loop='2'>hello</Say><Play digits='w12#'/><Pause length='3'/></Response>"
    control, store = run_routes(app, tmp_path, {"/voice": document})
    assert control.actions == ["answer", "play", "send w12#", "pause 3", "hangup"]
    assert len(control.played) == 2 and control.played[0] == control.played[1]
    assert store.errors == []


def test_loop_zero_repeats_until_the_caller_hangs_up(app: TwimlApp, tmp_path: Path) -> None:
    control, _ = run_routes(app, tmp_path, {"/voice": "<Response><Say loop='0'>hold on</Say></Response>"})
    assert len(control.played) == MAX_LOOP


def test_gather_posts_its_digits_to_its_action(app: TwimlApp, tmp_path: Path) -> None:
    routes = {
        "/voice": "<Response><Gather action='menu' numDigits='2'><Say>pick</Say><Pause/></Gather></Response>",
        "/menu": HANGUP,
    }
    control = MemoryControl(digits=[DigitsOutcome("4", "#")])
    run_routes(app, tmp_path, routes, control=control)
    [hit] = app.requests_to("/menu")
    assert hit.form["Digits"] == "4" and hit.form["FinishedOnKey"] == "#"
    assert control.actions == ["answer", "play", "gather", "hangup"]
    assert control.played[1] == "sound:silence/1"  # the nested prompts, in order


def test_gather_without_action_posts_to_the_current_document(app: TwimlApp, tmp_path: Path) -> None:
    routes = {"/voice": "<Response><Gather/></Response>"}
    control = MemoryControl(digits=[DigitsOutcome("7", ""), DigitsOutcome("", "")])
    run_routes(app, tmp_path, routes, control=control)
    assert [hit.form.get("Digits") for hit in app.requests_to("/voice")] == [None, "7"]


def test_gather_timing_out_goes_on_with_the_next_verb(app: TwimlApp, tmp_path: Path) -> None:
    routes = {"/voice": "<Response><Gather action='/menu'/><Say>no input</Say></Response>"}
    control, store = run_routes(app, tmp_path, routes)
    assert app.requests_to("/menu") == []
    assert control.actions == ["answer", "play", "gather", "play", "hangup"]
    assert ("verb", "Gather.result", {"digits": ""}) in store.events


def test_gather_with_action_on_empty_result_posts_no_digits(app: TwimlApp, tmp_path: Path) -> None:
    routes = {
        "/voice": "<Response><Gather action='/menu' actionOnEmptyResult='true'/></Response>",
        "/menu": HANGUP,
    }
    run_routes(app, tmp_path, routes)
    assert app.requests_to("/menu")[0].form["Digits"] == ""


def test_hangup_ends_the_flow(app: TwimlApp, tmp_path: Path) -> None:
    control, store = run_routes(app, tmp_path, {"/voice": "<Response><Hangup/><Say>never</Say></Response>"})
    assert control.actions == ["hangup"]
    assert [name for kind, name, _ in store.events if kind == "verb"] == ["Hangup"]


def test_reject_before_answer_rejects_with_its_reason(app: TwimlApp, tmp_path: Path) -> None:
    control, _ = run_routes(app, tmp_path, {"/voice": "<Response><Reject reason='busy'/><Pause/></Response>"})
    assert control.actions == ["reject busy"] and not control.is_answered


def test_reject_once_answered_hangs_up(app: TwimlApp, tmp_path: Path) -> None:
    control, _ = run_routes(app, tmp_path, {"/voice": "<Response><Pause/><Reject/></Response>"})
    assert control.actions == ["answer", "pause 1", "hangup"]


# Dial


@pytest.mark.parametrize("status", ["completed", "busy", "no-answer", "failed"])
def test_dial_posts_its_outcome_to_its_action(app: TwimlApp, tmp_path: Path, status: str) -> None:
    routes = {"/voice": "<Response><Dial action='/dialled' timeout='20'>+14155550123</Dial></Response>"}
    control = MemoryControl(dial_outcome=DialOutcome(status, 12, "", caller_hung_up=False))
    run_routes(app, tmp_path, routes | {"/dialled": HANGUP}, control=control)
    [request] = control.dialled
    assert request["endpoint"] == "PJSIP/trunk/sip:+14155550123@trunk.invalid"
    assert request["caller_id"] == OURS and request["timeout"] == 20 and request["record_name"] is None
    form = app.requests_to("/dialled")[0].form
    assert form["DialCallStatus"] == status and form["DialCallDuration"] == "12"
    assert form["DialCallSid"] == request["leg_id"] and form["DialCallSid"].startswith("CA")


def test_dial_without_action_goes_on_with_the_next_verb(app: TwimlApp, tmp_path: Path) -> None:
    routes = {"/voice": "<Response><Dial>+14155550123</Dial><Pause/></Response>"}
    control, _ = run_routes(app, tmp_path, routes)
    assert control.actions == ["answer", "dial", "pause 1", "hangup"] and len(app.hits) == 1


def test_dial_recorded_reports_its_recording(app: TwimlApp, tmp_path: Path) -> None:
    dial = "<Dial action='/dialled' record='record-from-answer'>+14155550123</Dial>"
    routes = {"/voice": f"<Response>{dial}</Response>", "/dialled": HANGUP}
    control = MemoryControl(dial_outcome=DialOutcome("completed", 5, "", False, recording=b"RIFF"))
    _, store = run_routes(app, tmp_path, routes, control=control)
    assert control.dialled[0]["record_name"] == f"dial-{control.dialled[0]['leg_id']}"
    form = app.requests_to("/dialled")[0].form
    assert form["RecordingUrl"].endswith(f"/Recordings/{form['RecordingSid']}")
    assert store.recordings == ["DialVerb"]


def test_the_caller_hanging_up_during_dial_notifies_the_action_and_ends(
    app: TwimlApp, tmp_path: Path
) -> None:
    routes = {"/voice": "<Response><Dial action='/dialled'>+14155550123</Dial><Say>never</Say></Response>"}
    control = MemoryControl(dial_outcome=DialOutcome("completed", 30, "", caller_hung_up=True))
    _, store = run_routes(app, tmp_path, routes, control=control)
    assert app.requests_to("/dialled") == []  # a callback, not a document
    [(url, params)] = store.callbacks
    assert url == app.url + "/dialled" and params["CallStatus"] == "completed"
    assert params["DialCallStatus"] == "completed" and params["CallSid"]
    assert control.actions == ["answer", "dial"]


def test_dial_needs_a_number_sip_or_client(app: TwimlApp, tmp_path: Path) -> None:
    routes = {"/voice": "<Response><Dial><Conference>room</Conference></Dial><Pause/></Response>"}
    control, store = run_routes(app, tmp_path, routes)
    assert 13215 in store.warnings and control.dialled == []
    assert control.actions == ["answer", "pause 1", "hangup"]


def test_dial_to_a_client_that_is_none_of_the_accounts_places_nothing_and_goes_on(
    app: TwimlApp, tmp_path: Path
) -> None:
    """A client is a worker's softphone (`client:WK…`); `alice` is no worker of the account."""
    routes = {"/voice": "<Response><Dial><Client>alice</Client></Dial><Pause/></Response>"}
    control, store = run_routes(app, tmp_path, routes)
    assert store.errors == [(13215, "Dial to client:alice not placed: no such client")]
    assert 13215 not in store.warnings and control.dialled == []
    assert control.actions == ["answer", "pause 1", "hangup"]


# Record


def test_record_posts_the_recording_to_its_action(app: TwimlApp, tmp_path: Path) -> None:
    routes = {
        "/voice": "<Response><Record action='/recorded' recordingStatusCallback='/rec-status'/></Response>",
        "/recorded": HANGUP,
    }
    control = MemoryControl(recorded=RecordOutcome("rec", 4, b"RIFF", "#"))
    _, store = run_routes(app, tmp_path, routes, control=control)
    form = app.requests_to("/recorded")[0].form
    base = f"{settings.PUBLIC_BASE_URL}/2010-04-01/Accounts/{form['AccountSid']}/Recordings/"
    assert form["RecordingUrl"] == base + form["RecordingSid"]
    assert form["RecordingDuration"] == "4" and form["Digits"] == "#"
    [(url, params)] = store.callbacks
    assert url == app.url + "/rec-status" and params["RecordingStatus"] == "completed"
    assert params["RecordingSid"] == form["RecordingSid"] and params["RecordingSource"] == "RecordVerb"
    assert store.recordings == ["RecordVerb"]


def test_record_of_nothing_goes_on_with_the_next_verb(app: TwimlApp, tmp_path: Path) -> None:
    routes = {"/voice": "<Response><Record action='/recorded'/><Pause/></Response>"}
    control, store = run_routes(app, tmp_path, routes)
    assert app.requests_to("/recorded") == [] and store.recordings == []
    assert control.actions == ["answer", "record", "pause 1", "hangup"]


def test_the_caller_hanging_up_during_record_notifies_the_action_and_ends(
    app: TwimlApp, tmp_path: Path
) -> None:
    routes = {"/voice": "<Response><Record action='/recorded'/><Pause/></Response>"}
    control = MemoryControl(recorded=RecordOutcome("rec", 2, b"RIFF", "hangup"))
    _, store = run_routes(app, tmp_path, routes, control=control)
    [(url, params)] = store.callbacks
    assert url == app.url + "/recorded" and params["CallStatus"] == "completed"
    assert params["Digits"] == "hangup" and app.requests_to("/recorded") == []
    assert control.actions == ["answer", "record"]


# Sms, messaging's verb


@pytest.fixture
def texts(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The texts <Sms> queues, instead of messaging's service; one to REFUSED is refused with 21610."""
    queued: list[dict[str, Any]] = []

    def create(**draft: Any) -> str:
        if draft["to"] == REFUSED:
            raise TwilioError(ErrorCode.UNSUBSCRIBED_RECIPIENT, "Attempt to send to unsubscribed recipient")
        queued.append(draft)
        return "SM" + "0" * 32

    monkeypatch.setattr(messaging_verbs, "message_create_for_call", create)
    return queued


def test_sms_texts_the_caller_from_the_called_number(
    texts: list[dict[str, Any]], app: TwimlApp, tmp_path: Path
) -> None:
    routes = {
        "/voice": "<Response><Sms action='/sent' statusCallback='/status'>Your code</Sms></Response>",
        "/sent": HANGUP,
    }
    control, store = run_routes(app, tmp_path, routes)
    [text] = texts
    assert (text["to"], text["from_"], text["body"]) == (CALLER, OURS, "Your code")
    assert text["status_callback"] == app.url + "/status"
    form = app.requests_to("/sent")[0].form
    assert form["SmsSid"] == "SM" + "0" * 32 and form["SmsStatus"] == "sending"
    assert control.actions[0] == "answer" and store.errors == []


def test_sms_refused_reports_invalid_to_its_action(
    texts: list[dict[str, Any]], app: TwimlApp, tmp_path: Path
) -> None:
    routes = {
        "/voice": f"<Response><Sms to='{REFUSED}' action='/sent'>hi</Sms></Response>",
        "/sent": HANGUP,
    }
    _, store = run_routes(app, tmp_path, routes)
    assert app.requests_to("/sent")[0].form["SmsStatus"] == "invalid"
    assert store.errors == [(21610, "<Sms> not sent: Attempt to send to unsubscribed recipient")]


def test_sms_without_action_goes_on(texts: list[dict[str, Any]], app: TwimlApp, tmp_path: Path) -> None:
    control, _ = run_routes(app, tmp_path, {"/voice": "<Response><Sms>hi</Sms><Pause/></Response>"})
    assert len(texts) == 1 and control.actions == ["answer", "pause 1", "hangup"]
