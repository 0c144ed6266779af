"""What voice's TwiML verbs do on a call: Say, Play, Pause, Gather, Record, Dial, Redirect, Hangup, Reject.

Registered with the interpreter when the app is ready (`VoiceConfig.ready`). Each gets the running
`Interpreter` and the verb, and returns where the next document comes from, None to go on, or raises
FlowEnded.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

from core import egress
from core.documents import Fetch
from mediaserver import endpoints, sounds
from twiml.errors import Code
from twiml.values import phone_number
from twiml.verbs import Client, Dial, Gather, Hangup, Number, Pause, Play, Record, Redirect, Reject, Say, Sip
from voice.clients import client_endpoint, is_client
from voice.control import DialOutcome
from voice.interpreter import FlowEnded, Interpreter, handles
from voice.media import MediaError
from voice.store import db

log = logging.getLogger(__name__)

MAX_LOOP = 1000  # loop="0" means "forever"; a call cannot really last that long


async def _prompts(flow: Interpreter, items: tuple[Any, ...]) -> list[str]:
    media: list[str] = []
    for item in items:
        if isinstance(item, Say):
            uri = await flow.media.say(item.text, voice=item.voice, language=item.language)
            media += [uri] * (item.loop or MAX_LOOP)
        elif isinstance(item, Play) and item.url:
            try:
                uri = await flow.media.play(flow.absolute(item.url))
            except MediaError as exc:
                await flow.store.error(exc.code, str(exc), url=item.url, method="GET", warning=True)
                continue
            media += [uri] * (item.loop or MAX_LOOP)
        elif isinstance(item, Pause):
            media.append(sounds.silence(item.length))
    return media


def _api_base(flow: Interpreter) -> str:
    return f"{settings.PUBLIC_BASE_URL}/2010-04-01/Accounts/{flow.setup.account_sid}"


@handles(Say)
async def say(flow: Interpreter, verb: Say) -> None:
    await flow.control.answer()
    await flow.control.play(await _prompts(flow, (verb,)), interruptible=False)


@handles(Play)
async def play(flow: Interpreter, verb: Play) -> None:
    await flow.control.answer()
    if verb.digits:
        await flow.control.send_digits(verb.digits)
        return
    await flow.control.play(await _prompts(flow, (verb,)), interruptible=False)


@handles(Pause)
async def pause(flow: Interpreter, verb: Pause) -> None:
    await flow.control.answer()
    await flow.control.pause(verb.length)


@handles(Hangup)
async def hangup(flow: Interpreter, verb: Hangup) -> None:
    await flow.control.hangup()
    raise FlowEnded()


@handles(Reject)
async def reject(flow: Interpreter, verb: Reject) -> None:
    if flow.control.is_answered:
        await flow.control.hangup()
    else:
        await flow.control.reject(verb.reason)
    raise FlowEnded()


@handles(Redirect)
async def redirect(flow: Interpreter, verb: Redirect) -> Fetch:
    return flow.action(verb.url, verb.method, {})


@handles(Gather)
async def gather(flow: Interpreter, verb: Gather) -> Fetch | None:
    await flow.control.answer()
    first = await flow.control.play(await _prompts(flow, verb.children), interruptible=True)
    outcome = await flow.control.collect_digits(
        first=first, num_digits=verb.num_digits, timeout=verb.timeout, finish_on_key=verb.finish_on_key
    )
    await flow.store.event("verb", "Gather.result", {"digits": outcome.digits})
    if not outcome.digits and not verb.action_on_empty_result:
        return None
    params = {"Digits": outcome.digits}
    if outcome.finished_on_key:
        params["FinishedOnKey"] = outcome.finished_on_key
    return flow.action(verb.action, verb.method, params)


@handles(Record)
async def record(flow: Interpreter, verb: Record) -> Fetch | None:
    await flow.control.answer()
    name = f"rec-{uuid.uuid4().hex}"
    outcome = await flow.control.record(
        name=name,
        max_length=verb.max_length,
        silence_timeout=verb.timeout,
        finish_on_key=verb.finish_on_key,
        play_beep=verb.play_beep,
    )
    if not outcome.audio or outcome.duration_seconds == 0 and outcome.ended_by != "hangup":
        log.info("Record on %s captured no audio (%s); continuing", flow.setup.call_sid, outcome.ended_by)
        return None
    recording_sid = await flow.store.recording(outcome.audio, outcome.duration_seconds, "RecordVerb")
    recording_url = f"{_api_base(flow)}/Recordings/{recording_sid}"
    digits = outcome.ended_by if outcome.ended_by == "hangup" or len(outcome.ended_by) == 1 else ""
    params = {
        "RecordingSid": recording_sid,
        "RecordingUrl": recording_url,
        "RecordingDuration": str(outcome.duration_seconds),
        "Digits": digits,
    }
    if verb.recording_status_callback:
        await flow.notify(
            flow.absolute(verb.recording_status_callback),
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
    action = flow.action(verb.action, verb.method, params)
    if outcome.ended_by == "hangup":
        await flow.notify(
            action.url, action.method, {**flow.base_params(), **params, "CallStatus": "completed"}
        )
        raise FlowEnded()
    return action


async def target_endpoint(target: str, *, trunk_host: str, account_id: uuid.UUID) -> str | None:
    """The endpoint Asterisk dials for a number (through the trunk), a `sip:` URI (through the
    destination policy, which raises egress.DestinationRefused) or a `client:` (the account's own
    softphone; None when it is none of the account's). Anything else is refused as a number would be
    (13223): dialled as `sip:<number>@<trunk>`, `x@host:port?X-A=` would send the INVITE to `host`."""
    if is_client(target):
        endpoint: str | None = await db(client_endpoint)(account_id=account_id, address=target)
        return endpoint
    if target.lower().startswith(("sip:", "sips:")):
        return endpoints.dial_uri(await egress.sip_destination(target))
    try:
        return endpoints.dial_number(phone_number(target), trunk_host)
    except ValueError:
        raise egress.DestinationRefused(
            Code.NUMBER_FORMAT, f"{target} is not a phone number, a sip: address or a client:"
        ) from None


async def dial_endpoint(flow: Interpreter, target: str) -> str | None:
    """`target_endpoint` for a call's dial; None when the policy refuses it or the client is none of
    the account's, which is logged."""
    try:
        endpoint = await target_endpoint(target, trunk_host=flow.trunk_host, account_id=flow.setup.account_id)
    except egress.DestinationRefused as refused:
        await flow.store.error(refused.code, f"Dial to {target} not placed: {refused}")
        return None
    if endpoint is None:
        await flow.store.error(Code.DIAL_NESTED, f"Dial to {target} not placed: no such client")
    return endpoint


async def dial_leg(
    flow: Interpreter,
    *,
    target: str,
    endpoint: str,
    caller_id: str,
    timeout: int,
    time_limit: int,
    is_recorded: bool = False,
    on_answer: Callable[[], Awaitable[bool]] | None = None,
    sip_headers: Mapping[str, str] | None = None,
) -> tuple[str, DialOutcome] | None:
    """Ring one leg (a child call of this one, `outbound-dial`) and bridge it while both last; its
    SID and outcome, or None when the caller ID was refused (logged)."""
    leg = await flow.store.child_call(target, caller_id)
    if leg is None:
        return None
    leg_sid, finish_leg = leg
    outcome = await flow.control.dial(
        endpoint=endpoint,
        leg_id=leg_sid,
        caller_id=caller_id,
        timeout=timeout,
        time_limit=time_limit,
        record_name=f"dial-{leg_sid}" if is_recorded else None,
        on_answer=on_answer,
        sip_headers=sip_headers,
    )
    answered = outcome.status == "completed"
    await finish_leg(outcome.status, outcome.duration_seconds if answered else None)
    return leg_sid, outcome


def own_number(flow: Interpreter) -> str:
    """The account's number on this call: a dial's caller ID unless one is chosen."""
    return flow.setup.to_number if flow.setup.direction == "inbound" else flow.setup.from_number


@handles(Dial)
async def dial(flow: Interpreter, verb: Dial) -> Fetch | None:
    await flow.control.answer()
    noun = verb.children[0] if verb.children else None
    if not isinstance(noun, Number | Sip | Client):
        await flow.store.error(Code.DIAL_NESTED, "Dial needs a Number, Sip or Client noun here", warning=True)
        return None
    target = _dial_target(noun)
    endpoint = await dial_endpoint(flow, target)
    if endpoint is None:
        return _dial_failed(flow, verb)
    dialled = await dial_leg(
        flow,
        target=target,
        endpoint=endpoint,
        caller_id=verb.caller_id or own_number(flow),
        timeout=verb.timeout,
        time_limit=verb.time_limit,
        is_recorded=verb.record != "do-not-record",
    )
    if dialled is None:
        return _dial_failed(flow, verb)
    leg_sid, outcome = dialled
    params = {
        "DialCallStatus": outcome.status,
        "DialCallSid": leg_sid,
        "DialCallDuration": str(outcome.duration_seconds),
    }
    if outcome.recording:
        sid = await flow.store.recording(outcome.recording, outcome.duration_seconds, "DialVerb")
        params |= {"RecordingSid": sid, "RecordingUrl": f"{_api_base(flow)}/Recordings/{sid}"}
    if outcome.caller_hung_up:
        if verb.action:
            action = flow.action(verb.action, verb.method, params)
            await flow.notify(
                action.url, action.method, {**flow.base_params(), **params, "CallStatus": "completed"}
            )
        raise FlowEnded()
    return flow.action(verb.action, verb.method, params) if verb.action else None


def _dial_target(noun: Number | Sip | Client) -> str:
    if isinstance(noun, Client):
        return f"client:{noun.identity}"
    return noun.number if isinstance(noun, Number) else noun.uri


def _dial_failed(flow: Interpreter, verb: Dial) -> Fetch | None:
    """A Dial that could not be placed goes on as Twilio's does: to `action` with `failed`, or on."""
    return flow.action(verb.action, verb.method, {"DialCallStatus": "failed"}) if verb.action else None
