"""The Messages API's changes to a message once created: cancel a scheduled one, redact or delete a
finished one, each audited."""

from django.db import transaction

from compliance.services import audit_record
from core.error_codes import ErrorCode
from core.errors import TwilioError
from messaging.models import Message
from messaging.status import messages_locked, status_advance


def message_cancel(*, message: Message, actor: str) -> Message:
    """Cancel a scheduled message (Twilio's 30409 once it has left `scheduled`)."""
    with transaction.atomic():
        locked = messages_locked([message.id])[0]
        if locked.status != Message.Status.SCHEDULED:
            raise TwilioError(ErrorCode.MESSAGE_CANNOT_BE_CANCELED, "This message cannot be canceled", 400)
        status_advance(locked, Message.Status.CANCELED)
        audit_record(
            account_id=locked.account_id, actor=actor, action="message.cancel", object_sid=locked.sid
        )
    return locked


def _require_final(message: Message, verb: str) -> None:
    if not message.is_final:
        raise TwilioError(
            ErrorCode.CANNOT_DELETE_BEFORE_COMPLETE, f"Cannot {verb} this message before it is complete", 409
        )


def message_redact(*, message: Message, actor: str) -> Message:
    """Empty the body of a finished message; nothing of it is kept (the audit chain never held it)."""
    with transaction.atomic():
        locked = messages_locked([message.id])[0]
        _require_final(locked, "redact")
        locked.body = ""
        locked.save(update_fields=["body", "date_updated"])
        audit_record(
            account_id=locked.account_id, actor=actor, action="message.redact", object_sid=locked.sid
        )
    return locked


def message_delete(*, message: Message, actor: str) -> None:
    """Delete a message that has ended, audited (Twilio refuses to delete one still on its way)."""
    with transaction.atomic():
        _require_final(message, "delete")
        audit_record(
            account_id=message.account_id, actor=actor, action="message.delete", object_sid=message.sid
        )
        message.delete()
