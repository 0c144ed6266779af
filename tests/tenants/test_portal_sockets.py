"""Portal websockets live only as long as their session (tenants/sockets.py), through the whole ASGI
stack (origin check, session and auth middleware) on the real Redis channel layer, on committed
data: signing out closes every socket of the session, in every tab; a session that ended or expired
is refused on connect and closed on the socket's next message; a socket stays open while page
requests keep renewing its session."""

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from config.asgi import application
from messaging.models import Bulk
from tenants.models import Role, User
from tenants.signin import password_reset_complete
from tenants.sockets import FORBIDDEN, SESSION_ENDED
from tests.messaging import conftest as messaging_fixtures
from tests.messaging.conftest import Live
from tests.messaging.test_bulk_progress import PASSWORD, make_bulk, session_of

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_stray_tasks")]

live = messaging_fixtures.live  # the fixture: a committed tenant with a number of its own


class Socket(ApplicationCommunicator):
    """A browser's websocket to the ASGI application, as Channels' WebsocketCommunicator drives one
    (that class is not importable here: `channels.testing` needs daphne, which the project does not use)."""

    def __init__(self, bulk: Bulk, cookie: str) -> None:
        headers = [(b"origin", b"http://127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())]
        path = f"/ws/bulks/{bulk.sid}/"
        super().__init__(application, {"type": "websocket", "path": path, "headers": headers})

    async def connect(self) -> tuple[bool, int | None]:
        """(True, None) when accepted, else (False, the close code)."""
        await self.send_input({"type": "websocket.connect"})
        answer = await self.receive_output(timeout=10)
        return (True, None) if answer["type"] == "websocket.accept" else (False, answer.get("code"))

    async def send_json(self, content: Any) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(content)})

    async def receive_json(self) -> Any:
        answer = await self.receive_output(timeout=10)
        assert answer["type"] == "websocket.send", answer
        return json.loads(answer["text"])


async def hang_up(*sockets: Socket) -> None:
    """What the server tells the application once a socket is gone (closed by either side)."""
    for ws in sockets:
        await ws.send_input({"type": "websocket.disconnect", "code": 1000})
        await ws.wait(timeout=5)


async def opened(ws: Socket) -> Socket:
    connected, code = await ws.connect()
    assert connected, code
    return ws


async def close_code(ws: Socket, within: float) -> int | None:
    """The code the server closes the socket with within `within` seconds (None if it stays open),
    past any progress it pushes meanwhile. (Waiting on `receive_output` would cancel the application
    when nothing comes.)"""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await ws.receive_nothing(timeout=min(0.1, deadline - time.monotonic())):
            continue
        event = await ws.receive_output()
        if event["type"] == "websocket.close":
            return int(event["code"])
    return None


def sign_in(email: str) -> Client:
    client = Client()
    assert client.post("/login/", {"email": email, "password": PASSWORD}).status_code == 302
    return client


def set_expiry(cookie: str, **delta: Any) -> None:
    Session.objects.filter(session_key=cookie).update(expire_date=timezone.now() + timedelta(**delta))


def test_an_idle_socket_waits_on_the_channel_layer_without_failing(live: Live) -> None:
    """A consumer with nothing to receive waits in 5 s BZPOPMINs; redis-py's default read timeout
    of 5 s used to fire first, killing the consumer (its socket closed 1006)."""
    cookie = session_of(live, Role.SUPERVISOR, "supervisor@idle.example")
    bulk = make_bulk(live, 1)

    async def scenario() -> int | None:
        ws = await opened(Socket(bulk, cookie))
        closed = await close_code(ws, 12)  # two waits and more
        await hang_up(ws)
        return closed

    assert asyncio.run(scenario()) is None


def test_signing_out_closes_every_socket_of_the_session(live: Live) -> None:
    cookie = session_of(live, Role.SUPERVISOR, "supervisor@signout.example")
    browser = Client()
    browser.cookies["sessionid"] = cookie
    elsewhere = sign_in("supervisor@signout.example")  # the same person in another browser
    bulk = make_bulk(live, 2)

    async def scenario() -> tuple[int | None, int | None, int | None]:
        tab, other_tab = await opened(Socket(bulk, cookie)), await opened(Socket(bulk, cookie))
        other_browser = await opened(Socket(bulk, elsewhere.cookies["sessionid"].value))
        response = await sync_to_async(browser.post)("/logout/")
        assert response.status_code == 302
        closed = await close_code(tab, 5), await close_code(other_tab, 5), await close_code(other_browser, 1)
        await hang_up(tab, other_tab, other_browser)
        return closed

    assert asyncio.run(scenario()) == (SESSION_ENDED, SESSION_ENDED, None)


def test_a_password_set_anew_closes_every_socket_of_the_user(live: Live) -> None:
    """Django ends the user's other sessions with the old password; their sockets end with it."""
    cookie = session_of(live, Role.SUPERVISOR, "supervisor@reset.example")
    elsewhere = sign_in("supervisor@reset.example")
    bulk = make_bulk(live, 1)
    user = User.objects.get(email="supervisor@reset.example")

    async def scenario() -> tuple[int | None, int | None]:
        here = await opened(Socket(bulk, cookie))
        there = await opened(Socket(bulk, elsewhere.cookies["sessionid"].value))
        await sync_to_async(password_reset_complete)(user=user, address="203.0.113.30")
        closed = await close_code(here, 5), await close_code(there, 5)
        await hang_up(here, there)
        return closed

    assert asyncio.run(scenario()) == (SESSION_ENDED, SESSION_ENDED)


@pytest.mark.parametrize("ending", ["signed out", "expired"])
def test_a_socket_of_an_ended_session_is_refused(live: Live, ending: str) -> None:
    cookie = session_of(live, Role.SUPERVISOR, f"supervisor@refused-{ending[0]}.example")
    if ending == "signed out":
        browser = Client()
        browser.cookies["sessionid"] = cookie
        browser.post("/logout/")
    else:
        set_expiry(cookie, seconds=-1)
    bulk = make_bulk(live, 1)

    async def scenario() -> tuple[bool, int | None]:
        ws = Socket(bulk, cookie)
        answer = await ws.connect()
        await hang_up(ws)
        return answer

    assert asyncio.run(scenario()) == (False, FORBIDDEN)


@pytest.mark.parametrize("ending", ["deleted", "expired"])
def test_a_socket_closes_on_its_next_message_once_its_session_ended(live: Live, ending: str) -> None:
    """A session can end without a sign-out (expired, or removed by `clearsessions` or an operator):
    the next message the client sends closes the socket."""
    cookie = session_of(live, Role.SUPERVISOR, f"supervisor@next-{ending}.example")
    bulk = make_bulk(live, 1)

    async def scenario() -> int | None:
        ws = await opened(Socket(bulk, cookie))
        await ws.receive_json()
        if ending == "deleted":
            await sync_to_async(Session.objects.filter(session_key=cookie).delete)()
        else:
            await sync_to_async(set_expiry)(cookie, seconds=-1)
        await ws.send_json({"hello": "still there?"})
        closed = await close_code(ws, 5)
        await hang_up(ws)
        return closed

    assert asyncio.run(scenario()) == SESSION_ENDED


def test_a_socket_stays_open_while_page_requests_renew_its_session(live: Live) -> None:
    """Sessions end after 15 minutes idle, and every page request renews them: a socket closes when
    its session ends, not when the session would have ended as the socket opened."""
    cookie = session_of(live, Role.SUPERVISOR, "supervisor@renewed.example")
    set_expiry(cookie, seconds=2)
    bulk = make_bulk(live, 1)

    async def scenario() -> tuple[int | None, int | None]:
        ws = await opened(Socket(bulk, cookie))
        await sync_to_async(set_expiry)(cookie, seconds=4)  # a page request in another tab
        while_renewed = await close_code(ws, 3)
        after_renewal = await close_code(ws, 5)
        await hang_up(ws)
        return while_renewed, after_renewal

    assert asyncio.run(scenario()) == (None, SESSION_ENDED)
