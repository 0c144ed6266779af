"""`<Connect><ConversationRelay>`, registered with voice's interpreter: the call's audio goes to the
speech relay over a Media Stream, and the relay talks text with the tenant's app."""

import asyncio
import time
import uuid

from ai.relay import contract, sessions
from core import webhooks
from core.documents import Fetch
from core.error_codes import ErrorCode
from core.errors import TwilioError
from streams import media
from twiml.errors import Code
from twiml.verbs import Connect, ConversationRelay
from voice.interpreter import Interpreter, handles

NO_RELAY = "The speech relay ended the session without saying how (is `manage.py speech_relay` running?)"


@handles(Connect, ConversationRelay)
async def connect_conversation_relay(flow: Interpreter, verb: Connect) -> Fetch | None:
    """Blocks the document until the session ends (the app sent `end` or closed its socket), then
    goes on with the next verb, or fetches `action` with the session's status and HandoffData."""
    noun = verb.children[0]
    assert isinstance(noun, ConversationRelay)  # registered for <Connect><ConversationRelay> only
    await flow.control.answer()
    session_id = "VX" + uuid.uuid4().hex
    began = time.monotonic()
    try:
        stream, parent_call_sid = await flow.store.write(
            sessions.relay_stream_open,
            account_id=flow.setup.account_id,
            call_id=flow.setup.call_id,
            app_url=noun.url or "",
        )
    except TwilioError as refused:
        await flow.store.error(refused.twilio_code, f"<ConversationRelay> not started: {refused.message}")
        outcome = contract.failure(refused.twilio_code, refused.message)
    else:
        s = flow.setup
        setup: dict[str, object] = {
            "sessionId": session_id,
            "accountSid": s.account_sid,
            "parentCallSid": parent_call_sid,
            "callSid": s.call_sid,
            "from": s.from_number,
            "to": s.to_number,
            "forwardedFrom": "",
            "callType": sessions.call_type(s.from_number),
            "callerName": "",
            "direction": s.direction,
            "callStatus": "IN-PROGRESS",
            "customParameters": {p.name: p.value for p in noun.parameters},
        }
        signature = webhooks.signature(noun.url or "", {}, s.auth_token)
        session, unavailable = sessions.providers_available(
            sessions.session_of(noun, session_id=session_id, signature=signature, setup=setup)
        )
        for reason in unavailable:
            await flow.store.error(Code.SCHEMA, reason, warning=True)
        await asyncio.to_thread(sessions.session_write, stream.sid, session)
        await media.stream_connect(flow, stream)  # CallHungUp when the caller leaves: no action then
        taken = await asyncio.to_thread(sessions.outcome_take, stream.sid)
        outcome = taken or contract.failure(ErrorCode.INTERNAL_FAILURE, NO_RELAY)
        if outcome["status"] == "failed":
            await flow.store.error(
                outcome["error_code"], f"<ConversationRelay> failed: {outcome['error_message']}"
            )
    if not verb.action:
        return None
    params = {
        "SessionId": session_id,
        "SessionStatus": outcome["status"],
        "SessionDuration": str(outcome["duration_s"] or round(time.monotonic() - began)),
    }
    if outcome["handoff_data"] is not None:
        params["HandoffData"] = outcome["handoff_data"]
    if outcome["status"] == "failed":
        params["ErrorCode"], params["ErrorMessage"] = str(outcome["error_code"]), outcome["error_message"]
    return flow.action(verb.action, verb.method, params)
