"""Inbound messages of a suspended account: kept, and withheld from their SMS webhook for good, when
they arrive (messaging/inbound.py) or when their webhook would run (messaging/replies.py)."""

from core.error_codes import ErrorCode
from messaging.models import Message
from messaging.status import ERROR_MESSAGES
from monitor.notifications import notification_record
from numbering.models import IncomingPhoneNumber


def message_withhold(*, message: Message, number: IncomingPhoneNumber) -> None:
    """Keep an inbound message of a suspended account from its SMS webhook for good (not run after
    reactivation either): Twilio's 30002 ("Account suspended",
    https://www.twilio.com/docs/api/errors/30002) on the message and in the account's error log.

    Twilio documents no inbound case; this is its messaging code for a suspended account, as 10003
    is its voice code for a refused call. The caller's transaction must be scoped to the message's
    account.
    """
    message.is_webhook_pending = False
    message.error_code = ErrorCode.ACCOUNT_SUSPENDED
    message.error_message = ERROR_MESSAGES[ErrorCode.ACCOUNT_SUSPENDED]
    message.save(update_fields=["is_webhook_pending", "error_code", "error_message", "date_updated"])
    url = number.sms_url or number.sms_fallback_url
    notification_record(
        account_id=message.account_id,
        error_code=ErrorCode.ACCOUNT_SUSPENDED,
        message=f"Message {message.sid} to {message.to_number} arrived while the account is suspended: "
        "kept, not sent to the SMS webhook",
        request_url=url,
        request_method=(number.sms_method if number.sms_url else number.sms_fallback_method) if url else "",
    )
