"""Run a call's TwiML: fetch documents from the tenant's app and execute their verbs on a CallControl.

Twilio's rules as the interpreter applies them: the call is answered by the first verb that needs
media; a document that ends without Hangup hangs up; Gather, Record and Dial post to their `action`
(default: the current document's URL) and continue with the document that returns, or with the next
verb when they have nothing to report; a failed fetch tries the fallback URL once, then speaks the
application-error message and hangs up, with the error in the account's error log.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urljoin

import httpx

from core import egress, webhooks
from mediaserver import endpoints
from twiml import verbs
from twiml.errors import TwimlError
from twiml.parser import parse_voice
from voice.call_setup import CallSetup
from voice.control import CallControl, CallHungUp
from voice.media import MediaCache, MediaError
from voice.status_callbacks import voice_params

log = logging.getLogger(__name__)

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
MAX_LOOP = 1000  # loop="0" means "forever"; a call cannot really last that long
MAX_TWIML_BYTES = 64 * 1024
MAX_DOCUMENTS = 200  # a Redirect loop ends here instead of running forever


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
    ) -> tuple[str, Callable[[str], Awaitable[None]]] | None: ...

    async def callback(self, url: str, method: str, params: dict[str, str]) -> None: ...

    async def sms(self, *, to: str, from_: str, body: str, status_callback: str) -> str | None: ...


@dataclass(frozen=True)
class Fetch:
    """Where the next document comes from."""

    url: str
    method: str
    params: dict[str, str]


class FetchFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class Interpreter:
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
            await self.store.error(12400, "Too many documents fetched in one call (redirect loop?)")
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
        try:
            return await self._fetch(source)
        except FetchFailed as failure:
            if self.setup.fallback_url:
                fallback = Fetch(
                    self.setup.fallback_url,
                    self.setup.fallback_method,
                    {**source.params, "ErrorCode": str(failure.code), "ErrorUrl": source.url},
                )
                await self.store.error(
                    failure.code, str(failure), url=source.url, method=source.method, warning=True
                )
                try:
                    return await self._fetch(fallback)
                except FetchFailed as fallback_failure:
                    failure = fallback_failure
                    source = fallback
            await self._application_error(failure, source.url, source.method)
            return None

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

    async def _fetch(self, source: Fetch) -> list[Any]:
        params = {**self.base_params(), **source.params}
        try:
            request = webhooks.build_request(
                url=source.url, method=source.method, params=params, auth_token=self.setup.auth_token
            )
            fetched = await egress.fetch_async(
                self.http, request.method, request.url, deadline_s=webhooks.TIMEOUT_SECONDS,
                max_bytes=MAX_TWIML_BYTES, content=request.body, headers=request.headers,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            code, reason = egress.failure(exc, source.url)
            raise FetchFailed(code, f"HTTP connection failure to {source.url}: {reason}") from exc
        except (httpx.InvalidURL, ValueError) as exc:  # ValueError: IDNA's, for a host no name can have
            raise FetchFailed(11100, f"{source.url} is not a valid URL") from exc
        response = fetched.response
        await self.store.event("webhook", source.method, {"url": source.url, "status": response.status_code})
        if response.status_code >= 400:
            raise FetchFailed(11200, f"{source.url} returned HTTP {response.status_code}")
        if len(fetched.body) > MAX_TWIML_BYTES:
            raise FetchFailed(11750, "TwiML response body is larger than 64 kB")
        self.document_url = str(response.url)
        return await self._parse(fetched.body, url=source.url)

    async def _parse(self, body: bytes, *, url: str) -> list[Any]:
        """The document's verbs; what TwiML ignored goes to the error log as warnings, as Twilio's does."""
        try:
            result = parse_voice(body)
        except TwimlError as exc:
            raise FetchFailed(exc.code, f"{exc.message} ({url})") from exc
        for warning in result.warnings:
            await self.store.error(warning.code, f"{warning.message} ({url})", url=url, warning=True)
        return list(result.response.verbs)

    def _absolute(self, url: str) -> str:
        """TwiML URLs may be relative to the document they came in."""
        return urljoin(self.document_url, url)

    def _action(self, action: str | None, method: str, params: dict[str, str]) -> Fetch:
        return Fetch(self._absolute(action) if action else self.document_url, method, params)

    # Verbs: each returns the next document's source, None to continue, or raises _End.

    async def _execute(self, document: list[Any]) -> Fetch | None:
        for verb in document:
            await self.store.event("verb", type(verb).__name__, {})
            handler = getattr(self, f"_verb_{type(verb).__name__.lower()}", None)
            if handler is None:
                await self.store.error(
                    12200, f"<{type(verb).__name__}> is not supported yet; skipped", warning=True
                )
                continue
            try:
                outcome = await handler(verb)
            except _End:
                return None
            if outcome is not None:
                return outcome
        await self.control.hangup()
        return None

    async def _prompts(self, items: tuple[Any, ...]) -> list[str]:
        media: list[str] = []
        for item in items:
            if isinstance(item, verbs.Say):
                uri = await self.media.say(item.text, voice=item.voice, language=item.language)
                media += [uri] * (item.loop or MAX_LOOP)
            elif isinstance(item, verbs.Play) and item.url:
                try:
                    uri = await self.media.play(self._absolute(item.url))
                except MediaError as exc:
                    await self.store.error(exc.code, str(exc), url=item.url, method="GET", warning=True)
                    continue
                media += [uri] * (item.loop or MAX_LOOP)
            elif isinstance(item, verbs.Pause):
                media.append(f"sound:silence/{min(max(item.length, 1), 10)}")
        return media

    async def _verb_say(self, verb: verbs.Say) -> None:
        await self.control.answer()
        await self.control.play(await self._prompts((verb,)), interruptible=False)

    async def _verb_play(self, verb: verbs.Play) -> None:
        await self.control.answer()
        if verb.digits:
            await self.control.send_digits(verb.digits)
            return
        await self.control.play(await self._prompts((verb,)), interruptible=False)

    async def _verb_pause(self, verb: verbs.Pause) -> None:
        await self.control.answer()
        await self.control.pause(verb.length)

    async def _verb_hangup(self, verb: verbs.Hangup) -> None:
        await self.control.hangup()
        raise _End()

    async def _verb_reject(self, verb: verbs.Reject) -> None:
        if self.control.is_answered:
            await self.control.hangup()
        else:
            await self.control.reject(verb.reason)
        raise _End()

    async def _verb_redirect(self, verb: verbs.Redirect) -> Fetch:
        return self._action(verb.url, verb.method, {})

    async def _verb_sms(self, verb: verbs.Sms) -> Fetch | None:
        """Text the caller (by default) from the call's number, then go on, or to `action` if given.

        `action` gets Twilio's SmsStatus: `sending` once the text is queued, `invalid` if refused.
        """
        await self.control.answer()  # a call runs its TwiML answered (Reject aside), as on Twilio
        s = self.setup
        inbound = s.direction == "inbound"
        caller, ours = (s.from_number, s.to_number) if inbound else (s.to_number, s.from_number)
        sid = await self.store.sms(
            to=verb.to or caller,
            from_=verb.from_ or ours,
            body=verb.body,
            status_callback=self._absolute(verb.status_callback) if verb.status_callback else "",
        )
        if not verb.action:
            return None
        params = {"SmsSid": sid, "SmsStatus": "sending"} if sid else {"SmsStatus": "invalid"}
        return self._action(verb.action, verb.method, params)

    async def _verb_gather(self, verb: verbs.Gather) -> Fetch | None:
        await self.control.answer()
        first = await self.control.play(await self._prompts(verb.children), interruptible=True)
        outcome = await self.control.collect_digits(
            first=first, num_digits=verb.num_digits, timeout=verb.timeout, finish_on_key=verb.finish_on_key
        )
        await self.store.event("verb", "Gather.result", {"digits": outcome.digits})
        if not outcome.digits and not verb.action_on_empty_result:
            return None
        params = {"Digits": outcome.digits}
        if outcome.finished_on_key:
            params["FinishedOnKey"] = outcome.finished_on_key
        return self._action(verb.action, verb.method, params)

    async def _verb_record(self, verb: verbs.Record) -> Fetch | None:
        await self.control.answer()
        name = f"rec-{uuid.uuid4().hex}"
        outcome = await self.control.record(
            name=name,
            max_length=verb.max_length,
            silence_timeout=verb.timeout,
            finish_on_key=verb.finish_on_key,
            play_beep=verb.play_beep,
        )
        if not outcome.audio or outcome.duration_seconds == 0 and outcome.ended_by != "hangup":
            log.info("Record on %s captured no audio (%s); continuing", self.setup.call_sid, outcome.ended_by)
            return None
        recording_sid = await self.store.recording(outcome.audio, outcome.duration_seconds, "RecordVerb")
        recording_url = f"{self._api_base()}/Recordings/{recording_sid}"
        digits = outcome.ended_by if outcome.ended_by == "hangup" or len(outcome.ended_by) == 1 else ""
        params = {
            "RecordingSid": recording_sid,
            "RecordingUrl": recording_url,
            "RecordingDuration": str(outcome.duration_seconds),
            "Digits": digits,
        }
        if verb.recording_status_callback:
            await self._notify(
                self._absolute(verb.recording_status_callback),
                verb.recording_status_callback_method,
                {
                    "RecordingSid": recording_sid,
                    "RecordingUrl": recording_url,
                    "RecordingStatus": "completed",
                    "RecordingDuration": str(outcome.duration_seconds),
                    "RecordingChannels": "1",
                    "RecordingSource": "RecordVerb",
                },
            )
        action = self._action(verb.action, verb.method, params)
        if outcome.ended_by == "hangup":
            await self._notify(
                action.url, action.method, {**self.base_params(), **params, "CallStatus": "completed"}
            )
            raise _End()
        return action

    async def _verb_dial(self, verb: verbs.Dial) -> Fetch | None:
        await self.control.answer()
        noun = verb.children[0] if verb.children else None
        if isinstance(noun, verbs.Number):
            target, endpoint = noun.number, endpoints.dial_number(noun.number, self.trunk_host)
        elif isinstance(noun, verbs.Sip):
            target = noun.uri
            try:
                endpoint = endpoints.dial_uri(await egress.sip_destination(noun.uri))
            except egress.DestinationRefused as refused:
                await self.store.error(refused.code, f"<Dial><Sip> to {noun.uri} not placed: {refused}")
                return self._dial_failed(verb)
        else:
            await self.store.error(13215, "Dial needs a Number or Sip noun here", warning=True)
            return None
        own_number = self.setup.to_number if self.setup.direction == "inbound" else self.setup.from_number
        caller_id = verb.caller_id or own_number
        leg = await self.store.child_call(target, caller_id)
        if leg is None:  # the caller ID was refused (and logged)
            return self._dial_failed(verb)
        leg_sid, finish_leg = leg
        record = verb.record != "do-not-record"
        outcome = await self.control.dial(
            endpoint=endpoint,
            leg_id=leg_sid,
            caller_id=caller_id,
            timeout=verb.timeout,
            time_limit=verb.time_limit,
            record_name=f"dial-{leg_sid}" if record else None,
        )
        await finish_leg(outcome.status)
        params = {
            "DialCallStatus": outcome.status,
            "DialCallSid": leg_sid,
            "DialCallDuration": str(outcome.duration_seconds),
        }
        if outcome.recording:
            sid = await self.store.recording(outcome.recording, outcome.duration_seconds, "DialVerb")
            params |= {"RecordingSid": sid, "RecordingUrl": f"{self._api_base()}/Recordings/{sid}"}
        if outcome.caller_hung_up:
            if verb.action:
                action = self._action(verb.action, verb.method, params)
                await self._notify(
                    action.url, action.method, {**self.base_params(), **params, "CallStatus": "completed"}
                )
            raise _End()
        return self._action(verb.action, verb.method, params) if verb.action else None

    def _dial_failed(self, verb: verbs.Dial) -> Fetch | None:
        """A Dial that could not be placed goes on as Twilio's does: to `action` with `failed`, or on."""
        return self._action(verb.action, verb.method, {"DialCallStatus": "failed"}) if verb.action else None

    def _api_base(self) -> str:
        from django.conf import settings

        return f"{settings.PUBLIC_BASE_URL}/2010-04-01/Accounts/{self.setup.account_sid}"

    async def _notify(self, url: str, method: str, params: dict[str, str]) -> None:
        """A callback whose answer does not matter: signed, queued and retried by the webhook outbox."""
        await self.store.callback(url, method, {**self.base_params(), **params})


class _End(Exception):
    """The flow is over (Hangup, Reject, or the caller left during Record or Dial)."""
