"""An inbound message's SMS webhook, and the MessagingResponse it returns carried out.

Twilio's parameters go to the number's `sms_url` (then `sms_fallback_url`, with `ErrorCode` and
`ErrorUrl`), signed like every webhook. In the reply, `<Message>` creates an `outbound-reply` message
(to the sender, from the number, unless it says otherwise) and `<Redirect>` fetches the next
document. Failures go to the account's error log the way Twilio's debugger shows them: 11200/11205
for the fetch, 12100 and friends for the document, 21610 and the other create errors for a reply
that cannot be sent. The message body is never copied into that log, so a redacted body is gone.
"""

import json
import logging
import uuid
from dataclasses import dataclass
from urllib.parse import urljoin

from core import documents, webhooks
from core.documents import Fallback, Fetch, FetchFailed
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.phone import region_of
from core.tenancy import tenant_scope
from messaging.consent import OPT_OUT_TYPE, keyword_of
from messaging.create import MessageDraft, message_create
from messaging.models import Message
from messaging.withholding import message_withhold
from monitor.models import Notification
from monitor.notifications import notification_record
from tenants.models import Account
from tenants.selectors import account_status_in_effect
from twiml import verbs
from twiml.errors import TwimlError
from twiml.parser import parse_messaging

log = logging.getLogger(__name__)

MAX_DOCUMENTS = 10  # a Redirect loop ends here
ACTOR = "worker:messaging"


@dataclass(frozen=True)
class Inbound:
    """What running one message's webhook needs, read once when the task claims it."""

    account_id: uuid.UUID
    message_sid: str
    from_number: str
    to_number: str
    auth_token: str
    url: str
    method: str
    fallback_url: str
    fallback_method: str
    params: dict[str, str]


def sms_params(message: Message, account_sid: str, media: list[tuple[str, str]]) -> dict[str, str]:
    """Twilio's incoming-message webhook parameters."""
    params = {
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "SmsMessageSid": message.sid,
        "AccountSid": account_sid,
        "From": message.from_number,
        "To": message.to_number,
        "Body": message.body,
        "NumSegments": str(message.num_segments),
        "NumMedia": str(len(media)),
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "FromCountry": region_of(message.from_number),
        "ToCountry": region_of(message.to_number),
    }
    for index, (url, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    keyword = keyword_of(message.body)
    if keyword:
        params["OptOutType"] = OPT_OUT_TYPE[keyword.action]
    return params


def _claim(account_id: uuid.UUID, message_id: uuid.UUID) -> Inbound | None:
    """Take the webhook owed for this message, once: a second task for it finds nothing to do."""
    with tenant_scope(account_id):
        if not Message.objects.filter(id=message_id, is_webhook_pending=True).update(
            is_webhook_pending=False
        ):
            return None
        message = Message.objects.select_related("phone_number").get(id=message_id)
        number = message.phone_number
        if number is None:  # released since the message came in
            return None
        account = Account.objects.get(id=account_id)
        if account_status_in_effect(account=account) != Account.Status.ACTIVE:  # suspended since
            message_withhold(message=message, number=number)
            return None
        media = list(message.media.order_by("date_created").values_list("url", "content_type"))
        return Inbound(
            account_id=account_id,
            message_sid=message.sid,
            from_number=message.from_number,
            to_number=message.to_number,
            auth_token=account.auth_token,
            url=number.sms_url or number.sms_fallback_url,
            method=number.sms_method if number.sms_url else number.sms_fallback_method,
            fallback_url=number.sms_fallback_url if number.sms_url else "",
            fallback_method=number.sms_fallback_method,
            params=sms_params(message, account.sid, media),
        )


def message_webhook_run(*, account_id: uuid.UUID, message_id: uuid.UUID) -> None:
    """POST the SMS webhook and carry out the reply. At most once per message (see `_claim`)."""
    inbound = _claim(account_id, message_id)
    if inbound is None:
        return
    fallback = Fallback(inbound.fallback_url, inbound.fallback_method) if inbound.fallback_url else None
    document = _document(inbound, Fetch(inbound.url, inbound.method, inbound.params), fallback)
    url = inbound.url
    fetched = 1
    while document is not None:
        following = _execute(inbound, document, url)
        if following is None:
            return
        if fetched == MAX_DOCUMENTS:
            _error(
                inbound,
                ErrorCode.INTERNAL_FAILURE,
                f"Too many documents fetched for one message (redirect loop?) at {url}",
                url=url,
            )
            return
        url, method = following
        document = _document(inbound, Fetch(url, method, inbound.params), None)
        fetched += 1


def _document(inbound: Inbound, source: Fetch, fallback: Fallback | None) -> str | None:
    """The reply at `source`, else at `fallback`; None (logged) when none came."""

    def failed(failure: FetchFailed, attempt: Fetch, is_last: bool) -> None:
        _error(
            inbound,
            failure.code,
            f"SMS webhook {attempt.url} failed: {failure.reason}",
            url=attempt.url,
            method=attempt.method,
            response=failure.response,
            warning=not is_last,  # an error only when there is nothing left to try
        )

    return documents.fetch(
        source,
        fallback=fallback,
        auth_token=inbound.auth_token,
        check=lambda _, answer: answer.response.body,
        failed=failed,
    )


def _execute(inbound: Inbound, document: str, url: str) -> tuple[str, str] | None:
    """Send the document's replies in order; returns where a `<Redirect>` leads, if one is reached."""
    if not document.strip():
        return None  # an empty 200 means "no reply", as for Twilio
    try:
        parsed = parse_messaging(document)
    except TwimlError as exc:
        _error(inbound, exc.code, f"{exc.message} ({url})", url=url)
        return None
    for warning in parsed.warnings:
        _error(inbound, warning.code, f"{warning.message} ({url})", url=url, warning=True)
    for verb in parsed.response.verbs:
        if isinstance(verb, verbs.Redirect):
            return urljoin(url, verb.url), verb.method
        _reply(inbound, verb, url)
    return None


def _reply(inbound: Inbound, verb: verbs.Message, url: str) -> None:
    callback = verb.action or verb.status_callback
    try:
        with tenant_scope(inbound.account_id):
            draft = MessageDraft(
                to=verb.to or inbound.from_number,
                from_=verb.from_ or inbound.to_number,
                body=verb.body,
                media_urls=[urljoin(url, media) for media in verb.media],
                status_callback=urljoin(url, callback) if callback else "",
                status_callback_method=verb.method,
                direction=Message.Direction.OUTBOUND_REPLY,
                actor=ACTOR,
            )
            message_create(account=Account.objects.get(id=inbound.account_id), draft=draft)
    except TwilioError as exc:
        _error(inbound, exc.twilio_code, f"Reply to {inbound.message_sid} not sent: {exc.message}", url=url)


def _error(
    inbound: Inbound,
    code: int,
    message: str,
    *,
    url: str = "",
    method: str = "",
    response: webhooks.WebhookResponse | None = None,
    warning: bool = False,
) -> None:
    log.info("message %s: %s %s", inbound.message_sid, code, message)
    variables = {name: value for name, value in inbound.params.items() if name != "Body"}
    with tenant_scope(inbound.account_id):
        notification_record(
            account_id=inbound.account_id,
            error_code=code,
            message=message,
            log=Notification.Log.WARNING if warning else Notification.Log.ERROR,
            request_method=method,
            request_url=url,
            request_variables=json.dumps(variables, sort_keys=True),
            response=response,
        )
