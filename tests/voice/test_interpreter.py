"""The interpreter's documents and dispatch on an in-memory call (tests/voice/memory.py), no Asterisk:
what it fetches and with which parameters, the fallback URL, Redirect, inline TwiML, the end of a
document, and the verb registry (a verb an app registers runs; one nobody registers is skipped)."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.documents import Fetch
from tests.voice.memory import MemoryStore, call_setup, run_call, run_routes
from tests.voice.twiml_app import TwimlApp
from twiml.verbs import Connect, Dial, Enqueue, Queue, Say, Stream
from voice import interpreter
from voice.interpreter import Interpreter, handles

HANGUP = "<Response><Hangup/></Response>"


def test_the_first_document_gets_twilios_parameters_signed(app: TwimlApp, tmp_path: Path) -> None:
    control, store = run_routes(app, tmp_path, {"/voice": HANGUP})
    [hit] = app.hits
    assert hit.method == "POST" and app.is_signed(hit, "token")
    assert hit.form["CallStatus"] == "ringing" and hit.form["Direction"] == "inbound"
    assert hit.form["From"] == hit.form["Caller"] == "+14155550100"
    assert hit.form["To"] == hit.form["Called"] == "+12025550100"
    assert control.actions == ["hangup"] and store.errors == []
    assert ("webhook", "POST", {"url": app.url + "/voice", "status": 200}) in store.events


def test_a_document_that_ends_without_hangup_hangs_up(app: TwimlApp, tmp_path: Path) -> None:
    control, _ = run_routes(app, tmp_path, {"/voice": "<Response><Pause length='2'/></Response>"})
    assert control.actions == ["answer", "pause 2", "hangup"]


def test_redirect_fetches_the_next_document_relative_to_this_one(app: TwimlApp, tmp_path: Path) -> None:
    routes = {
        "/voice": "<Response><Say>one</Say><Redirect method='GET'>next</Redirect><Say>never</Say></Response>",
        "/next": "<Response><Pause/></Response>",
    }
    control, store = run_routes(app, tmp_path, routes)
    [hit] = app.requests_to("/next")
    assert hit.method == "GET" and hit.form["CallStatus"] == "in-progress"
    assert control.actions == ["answer", "play", "pause 1", "hangup"]
    assert [name for kind, name, _ in store.events if kind == "verb"] == ["Say", "Redirect", "Pause"]


def test_a_redirect_loop_ends_with_12400(
    app: TwimlApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interpreter, "MAX_DOCUMENTS", 3)
    control, store = run_routes(app, tmp_path, {"/voice": "<Response><Redirect>/voice</Redirect></Response>"})
    assert len(app.hits) == 3 and control.hung_up
    assert [code for code, _ in store.errors] == [12400]


def test_inline_twiml_runs_without_a_fetch(app: TwimlApp, tmp_path: Path) -> None:
    setup = replace(call_setup(app.url + "/voice"), twiml="<Response><Pause/><Hangup/></Response>")
    control = run_call(setup, tmp_path, MemoryStore())
    assert app.hits == [] and control.actions == ["answer", "pause 1", "hangup"]


def test_inline_twiml_that_does_not_parse_is_the_application_error(app: TwimlApp, tmp_path: Path) -> None:
    setup = replace(call_setup(app.url + "/voice"), twiml="<Response><Say>")
    store = MemoryStore()
    control = run_call(setup, tmp_path, store)
    assert [code for code, _ in store.errors] == [12100]
    assert control.actions == ["answer", "play", "hangup"] and app.hits == []


def test_a_run_may_start_at_a_given_document(app: TwimlApp, tmp_path: Path) -> None:
    """The Calls API's redirect of a live call starts the flow at its URL."""
    app.routes["/updated"] = lambda form: (200, "text/xml", HANGUP.encode())
    first = Fetch(app.url + "/updated", "POST", {})
    control = run_call(call_setup(app.url + "/voice"), tmp_path, MemoryStore(), first=first)
    assert [hit.path for hit in app.hits] == ["/updated"] and control.actions == ["hangup"]


# The fallback URL


def test_a_failed_document_goes_to_the_fallback_with_the_error(app: TwimlApp, tmp_path: Path) -> None:
    app.routes["/voice"] = lambda form: (500, "text/plain", b"down")
    control, store = run_routes(
        app, tmp_path, {"/fallback": HANGUP}, fallback_url=app.url + "/fallback", fallback_method="GET"
    )
    [hit] = app.requests_to("/fallback")
    assert hit.method == "GET"
    assert hit.form["ErrorCode"] == "11200" and hit.form["ErrorUrl"] == app.url + "/voice"
    assert hit.form["CallSid"] and hit.form["CallStatus"] == "ringing"
    assert store.errors == [(11200, f"{app.url}/voice returned HTTP 500")] and store.warnings == [11200]
    assert control.actions == ["hangup"]


def test_a_document_that_does_not_parse_goes_to_the_fallback(app: TwimlApp, tmp_path: Path) -> None:
    control, store = run_routes(
        app, tmp_path, {"/voice": "<Response><Say>", "/fallback": HANGUP}, fallback_url=app.url + "/fallback"
    )
    assert app.requests_to("/fallback")[0].form["ErrorCode"] == "12100"
    assert [code for code, _ in store.errors] == store.warnings == [12100]


def test_when_the_fallback_fails_too_the_caller_hears_the_application_error(
    app: TwimlApp, tmp_path: Path
) -> None:
    app.routes["/voice"] = app.routes["/fallback"] = lambda form: (404, "text/plain", b"")
    control, store = run_routes(app, tmp_path, {}, fallback_url=app.url + "/fallback")
    assert store.errors == [
        (11200, f"{app.url}/voice returned HTTP 404"),
        (11200, f"{app.url}/fallback returned HTTP 404"),
    ]
    assert store.warnings == [11200]  # the first; the last is the call's error
    assert control.actions == ["answer", "play", "hangup"]
    assert control.played[0].startswith("sound:switchboard/tts/")


def test_without_a_fallback_a_failed_document_is_the_application_error(app: TwimlApp, tmp_path: Path) -> None:
    control, store = run_routes(app, tmp_path, {"/voice": "<Result/>"})
    assert [code for code, _ in store.errors] == [12102] and store.warnings == []
    assert control.actions == ["answer", "play", "hangup"]


def test_an_action_document_goes_to_the_fallback_too(app: TwimlApp, tmp_path: Path) -> None:
    app.routes["/gone"] = lambda form: (503, "text/plain", b"")
    routes = {"/voice": "<Response><Redirect>/gone</Redirect></Response>", "/fallback": HANGUP}
    run_routes(app, tmp_path, routes, fallback_url=app.url + "/fallback")
    assert app.requests_to("/fallback")[0].form["ErrorUrl"] == app.url + "/gone"


def test_what_twiml_ignored_is_a_warning_and_the_call_goes_on(app: TwimlApp, tmp_path: Path) -> None:
    control, store = run_routes(app, tmp_path, {"/voice": "<Response><Foo/><Pause/></Response>"})
    assert store.warnings == [12200] and "pause 1" in control.actions


# The verb registry


def test_a_verb_no_app_handles_is_skipped_with_12200(
    app: TwimlApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(interpreter._handlers, (Connect, Stream))  # as if streams were not installed
    control, store = run_routes(
        app,
        tmp_path,
        {"/voice": "<Response><Connect><Stream url='wss://a.example/s'/></Connect><Pause/></Response>"},
    )
    assert store.errors == [(12200, "<Connect> is not supported yet; skipped")] and store.warnings == [12200]
    assert control.actions == ["answer", "pause 1", "hangup"]


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations a test makes end with it; the contact center's queue verbs are free to take."""
    handlers = dict(interpreter._handlers)
    for contact_center_verb in ((Enqueue, None), (Dial, Queue)):
        handlers.pop(contact_center_verb)
    monkeypatch.setattr(interpreter, "_handlers", handlers)


def test_a_verb_an_app_registers_runs_with_the_call(registry: None, app: TwimlApp, tmp_path: Path) -> None:
    seen: list[Any] = []

    @handles(Enqueue)
    async def enqueue(flow: Interpreter, verb: Enqueue) -> Fetch:
        seen.append((flow.setup.call_sid, verb.name))
        await flow.control.answer()
        return flow.action("/queued", "POST", {"QueueResult": "hangup"})

    control, store = run_routes(
        app, tmp_path, {"/voice": "<Response><Enqueue>support</Enqueue></Response>", "/queued": HANGUP}
    )
    assert [name for _, name in seen] == ["support"] and store.errors == []
    assert app.requests_to("/queued")[0].form["QueueResult"] == "hangup"
    assert control.actions == ["answer", "hangup"]


def test_a_noun_an_app_registers_runs_its_verb_there_and_nowhere_else(
    registry: None, app: TwimlApp, tmp_path: Path
) -> None:
    """How the contact center takes <Dial><Queue> while voice keeps <Dial><Number>."""
    seen: list[str] = []

    @handles(Dial, Queue)
    async def dial_queue(flow: Interpreter, verb: Dial) -> None:
        seen.append(verb.children[0].name)

    control, store = run_routes(
        app,
        tmp_path,
        {"/voice": "<Response><Dial><Queue>support</Queue></Dial><Dial>+15551230002</Dial></Response>"},
    )
    assert seen == ["support"] and store.errors == []
    assert "dial" in control.actions


def test_a_verb_has_one_handler(registry: None) -> None:
    with pytest.raises(ValueError, match="<Say> already has a handler"):

        @handles(Say)
        async def say(flow: Interpreter, verb: Say) -> None:
            pass
