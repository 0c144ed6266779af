"""Run a call's TwiML: fetch documents from the tenant's app and execute their verbs on a CallControl.

Twilio's rules as the interpreter applies them: the call is answered by the first verb that needs
media; a document that ends without Hangup hangs up; Gather, Record and Dial post to their `action`
(default: the current document's URL) and continue with the document that returns, or with the next
verb when they have nothing to report; a failed fetch tries the fallback URL once, then speaks the
application-error message and hangs up, with the error in the account's error log.

Each verb is run by the handler its app registers for the verb's class (`handles`), from its
AppConfig.ready(): voice's own in `voice.verbs`, `<Sms>` in `messaging.verbs`. A verb no app handles
is skipped with a 12200 warning.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import urljoin

import httpx

from core import documents, webhooks
from core.documents import Fallback, Fetch, FetchFailed
from core.error_codes import ErrorCode
from twiml.errors import Code, TwimlError
from twiml.parser import parse_voice
from voice.call_setup import CallSetup
from voice.control import CallControl, CallHungUp
from voice.media import MediaCache, MediaError
from voice.status_callbacks import voice_params

log = logging.getLogger(__name__)

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
MAX_DOCUMENTS = 200  # a Redirect loop ends here instead of running forever
T = TypeVar("T")


class CallStore(Protocol):
    """Persistence the interpreter reports to (implemented by voice.store over the call services)."""

    async def event(self, kind: str, name: str, detail: dict[str, Any]) -> None: ...

    async def error(
        self, code: int, message: str, *, url: str = "", method: str = "", warning: bool = False
    ) -> None: ...

    async def answered(self) -> None: ...

    async def recording(self, audio: bytes, duration_seconds: int, source: str) -> str: ...

    async def child_call(
        self, to: str, from_: str
    ) -> tuple[str, Callable[[str, int | None], Awaitable[None]]] | None:
        """The leg's SID and how to end it: with its status, and how many seconds ago it was
        answered (None: never)."""
        ...

    async def callback(self, url: str, method: str, params: dict[str, str]) -> None: ...

    async def write(self, service: Callable[..., T], /, **kwargs: Any) -> T:
        """Run a synchronous service (in a thread) after the writes already queued, so what it
        records follows them; its answer. For verbs of other apps that write their own rows."""
        ...


class FlowEnded(Exception):
    """The flow is over (Hangup, Reject, or the caller left during Record or Dial)."""


V = TypeVar("V")
Handler = Callable[["Interpreter", V], Awaitable[Fetch | None]]
_handlers: dict[tuple[type, type | None], Handler[Any]] = {}


def handles(verb_class: type[V], noun: type | None = None) -> Callable[[Handler[V]], Handler[V]]:
    """Register the decorated coroutine as what runs `verb_class`: it gets the interpreter and the verb,
    and returns where the next document comes from, None to go on with the next verb, or raises
    FlowEnded. With `noun`, only a verb whose first noun is one (`<Connect><Stream>`, `<Dial><Queue>`):
    another app may own those of a verb voice runs. Each registration has one owner: a second is a
    mistake, refused at start."""
    key = (verb_class, noun)
    said = f"<{verb_class.__name__}>" + (f"<{noun.__name__}>" if noun else "")

    def register(handler: Handler[V]) -> Handler[V]:
        if key in _handlers:
            raise ValueError(f"{said} already has a handler: {_handlers[key]!r}")
        _handlers[key] = handler
        return handler

    return register


def _handler(verb: Any) -> Handler[Any] | None:
    """The handler of the verb's first noun if one is registered, else the verb's own."""
    nouns = getattr(verb, "children", ())
    if nouns and (by_noun := _handlers.get((type(verb), type(nouns[0])))):
        return by_noun
    return _handlers.get((type(verb), None))


Command = Callable[["Interpreter", dict[str, Any]], Awaitable[None]]
_commands: dict[str, Command] = {}


def on_command(name: str) -> Callable[[Command], Command]:
    """Register the decorated coroutine as what a signal named `name` runs on a live call beside its
    flow, whatever verb is running (the Streams API forking a call's audio): it gets the interpreter
    and the signal's payload. A signal no command is registered for waits for a verb instead."""

    def register(command: Command) -> Command:
        if name in _commands:
            raise ValueError(f"signal {name!r} already has a command: {_commands[name]!r}")
        _commands[name] = command
        return command

    return register


class Signals:
    """What other processes sent the call's flow (`control_channel.Signal`), by name, each kept until a
    verb takes it: a signal may come while the verb that awaits it is between two awaits."""

    def __init__(self) -> None:
        self._boxes: defaultdict[str, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)

    def deliver(self, name: str, payload: dict[str, Any]) -> None:
        self._boxes[name].put_nowait(payload)

    async def receive(self, name: str) -> dict[str, Any]:
        return await self._boxes[name].get()


class Interpreter:
    """One call's flow. A verb's handler drives the call through `control` (and `media`), reports
    through `store`, and leads on with `action`; `absolute` and `notify` are Twilio's URL and
    callback conventions."""

    def __init__(
        self,
        setup: CallSetup,
        control: CallControl,
        media: MediaCache,
        http: httpx.AsyncClient,
        store: CallStore,
        *,
        trunk_host: str,
    ) -> None:
        self.setup = setup
        self.control = control
        self.media = media
        self.http = http
        self.store = store
        self.trunk_host = trunk_host
        self.document_url = setup.url
        self.signals = Signals()
        self._commands: set[asyncio.Task[None]] = set()

    # Entry points

    async def run(self, first: Fetch | str | None = None) -> None:
        """Run from the call's own URL (or inline TwiML, or `first`) until the flow or the call ends."""
        try:
            source: Fetch | str = first or self.setup.twiml or Fetch(self.setup.url, self.setup.method, {})
            for _ in range(MAX_DOCUMENTS):
                document = await self._load(source)
                if document is None:
                    return
                following = await self._execute(document)
                if following is None:
                    return
                source = following
            await self.store.error(
                ErrorCode.INTERNAL_FAILURE, "Too many documents fetched in one call (redirect loop?)"
            )
            await self.control.hangup()
        except CallHungUp:
            return

    # Documents

    def base_params(self) -> dict[str, str]:
        s = self.setup
        return voice_params(
            call_sid=s.call_sid,
            account_sid=s.account_sid,
            from_number=s.from_number,
            to_number=s.to_number,
            direction=s.direction,
            status="in-progress" if self.control.is_answered else "ringing",
        )

    async def _load(self, source: Fetch | str) -> list[Any] | None:
        if isinstance(source, str):
            try:
                return await self._parse(source.encode(), url="(inline TwiML)")
            except FetchFailed as failure:
                await self._application_error(failure, "", "")
                return None
        return await self._fetch(source)

    async def _fetch(self, source: Fetch) -> list[Any] | None:
        """The document's verbs, from its URL or else the call's fallback URL; None once the caller has
        heard the application error."""
        s = self.setup
        return await documents.fetch_async(
            self.http,
            Fetch(source.url, source.method, {**self.base_params(), **source.params}),
            fallback=Fallback(s.fallback_url, s.fallback_method) if s.fallback_url else None,
            auth_token=s.auth_token,
            answered=self._answered,
            check=self._document,
            failed=self._fetch_failed,
        )

    async def _answered(self, source: Fetch, answer: webhooks.Answer) -> None:
        status = answer.response.status_code
        await self.store.event("webhook", source.method, {"url": source.url, "status": status})

    async def _document(self, source: Fetch, answer: webhooks.Answer) -> list[Any]:
        if len(answer.content) > webhooks.MAX_BODY_BYTES:
            raise FetchFailed(Code.RESPONSE_TOO_LARGE, "TwiML response body is larger than 64 kB")
        self.document_url = answer.url
        return await self._parse(answer.content, url=source.url)

    async def _fetch_failed(self, failure: FetchFailed, source: Fetch, is_last: bool) -> None:
        if is_last:
            await self._application_error(failure, source.url, source.method)
        else:
            await self.store.error(
                failure.code, str(failure), url=source.url, method=source.method, warning=True
            )

    async def _application_error(self, failure: FetchFailed, url: str, method: str) -> None:
        await self.store.error(failure.code, str(failure), url=url, method=method)
        try:
            await self.control.answer()
            await self.control.play(
                [await self.media.say(APPLICATION_ERROR, voice="woman", language="en-US")],
                interruptible=False,
            )
        except MediaError:
            log.exception("could not render the application-error prompt")
        await self.control.hangup()

    async def _parse(self, body: bytes, *, url: str) -> list[Any]:
        """The document's verbs; what TwiML ignored goes to the error log as warnings, as Twilio's does."""
        try:
            result = parse_voice(body)
        except TwimlError as exc:
            raise FetchFailed(exc.code, f"{exc.message} ({url})") from exc
        for warning in result.warnings:
            await self.store.error(warning.code, f"{warning.message} ({url})", url=url, warning=True)
        return list(result.response.verbs)

    async def fetch_document(self, source: Fetch) -> list[Any] | None:
        """A document a verb runs inside itself (an `<Enqueue>`'s wait music, say), with the call's
        parameters and `source`'s: no fallback URL, and a failure goes to the error log and reads as
        None, for the verb to go on without it. Relative URLs in it are then relative to it."""
        return await documents.fetch_async(
            self.http,
            Fetch(source.url, source.method, {**self.base_params(), **source.params}),
            fallback=None,
            auth_token=self.setup.auth_token,
            answered=self._answered,
            check=self._document,
            failed=self._fetch_failed_in_verb,
        )

    async def _fetch_failed_in_verb(self, failure: FetchFailed, source: Fetch, is_last: bool) -> None:
        await self.store.error(failure.code, str(failure), url=source.url, method=source.method)

    def deliver(self, name: str, payload: dict[str, Any]) -> None:
        """A signal from another process: run as its registered command (`on_command`) at once, or
        kept for the verb that awaits it (`signal`)."""
        command = _commands.get(name)
        if command is None:
            self.signals.deliver(name, payload)
            return
        task = asyncio.get_running_loop().create_task(self._command(name, command, payload))
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    async def _command(self, name: str, command: Command, payload: dict[str, Any]) -> None:
        try:
            await command(self, payload)
        except CallHungUp:
            pass
        except Exception:
            log.exception("command %s on call %s failed", name, self.setup.call_sid)

    async def signal(self, name: str) -> dict[str, Any]:
        """The next payload another process sent this call under `name` (`voice.call_state.call_signal`)."""
        return await self.signals.receive(name)

    def absolute(self, url: str) -> str:
        """TwiML URLs may be relative to the document they came in."""
        return urljoin(self.document_url, url)

    def action(self, action: str | None, method: str, params: dict[str, str]) -> Fetch:
        """Where a verb's `action` leads (the current document when it has none), with `params`."""
        return Fetch(self.absolute(action) if action else self.document_url, method, params)

    async def notify(self, url: str, method: str, params: dict[str, str]) -> None:
        """A callback whose answer does not matter: signed, queued and retried by the webhook outbox."""
        await self.store.callback(url, method, {**self.base_params(), **params})

    async def _execute(self, document: list[Any]) -> Fetch | None:
        for verb in document:
            await self.store.event("verb", type(verb).__name__, {})
            handler = _handler(verb)
            if handler is None:
                await self.store.error(
                    Code.SCHEMA, f"<{type(verb).__name__}> is not supported yet; skipped", warning=True
                )
                continue
            try:
                outcome = await handler(self, verb)
            except FlowEnded:
                return None
            if outcome is not None:
                return outcome
        await self.control.hangup()
        return None
