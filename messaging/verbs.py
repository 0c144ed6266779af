"""The `<Sms>` verb of a call's TwiML: registered with voice's interpreter when the app is ready."""

from core.documents import Fetch
from core.errors import TwilioError
from messaging.create import message_create_for_call
from twiml.verbs import Sms
from voice.interpreter import Interpreter, handles


@handles(Sms)
async def sms(flow: Interpreter, verb: Sms) -> Fetch | None:
    """Text the caller (by default) from the call's number, then go on, or to `action` if given.

    `action` gets Twilio's SmsStatus: `sending` once the text is queued, `invalid` if refused (the
    refusal goes to the call's error log).
    """
    await flow.control.answer()  # a call runs its TwiML answered (Reject aside), as on Twilio
    s = flow.setup
    inbound = s.direction == "inbound"
    caller, ours = (s.from_number, s.to_number) if inbound else (s.to_number, s.from_number)
    try:
        sid: str | None = await flow.store.write(
            message_create_for_call,
            account_id=s.account_id,
            call_id=s.call_id,
            to=verb.to or caller,
            from_=verb.from_ or ours,
            body=verb.body,
            status_callback=flow.absolute(verb.status_callback) if verb.status_callback else "",
        )
    except TwilioError as refused:
        await flow.store.error(refused.twilio_code, f"<Sms> not sent: {refused.message}")
        sid = None
    if not verb.action:
        return None
    params = {"SmsSid": sid, "SmsStatus": "sending"} if sid else {"SmsStatus": "invalid"}
    return flow.action(verb.action, verb.method, params)
