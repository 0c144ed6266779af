"""Inbound messages: store one for its number's tenant, apply its consent keyword (with the answer to
it), and after commit announce it (`message_received`) and queue its SMS webhook; queue again the
webhooks whose task never ran.
"""

import logging
import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from compliance.services import audit_record
from core.commit_hooks import on_commit_robust
from core.phone import carrier_e164
from core.tenancy import tenant_scope
from messaging import consent
from messaging.carriers.base import InboundSms
from messaging.create import consent_reply_store, media_add
from messaging.models import Message
from messaging.segments import segment
from messaging.signals import message_received
from messaging.webhook_tasks import message_webhook_task
from messaging.withholding import message_withhold
from numbering.models import IncomingPhoneNumber, NumberRoute
from tenants.models import Account
from tenants.selectors import account_status_in_effect

log = logging.getLogger(__name__)


def message_receive(*, sms: InboundSms, connector: str) -> Message | None:
    """Store an inbound message for the number's tenant, apply consent keywords, queue its webhook.

    None when no tenant owns the number (the route is the one lookup made before a tenant is known),
    or when its account is closed (closing releases its numbers anyway).

    A suspended account's message is kept and its consent keyword recorded (an opt-out must hold),
    but no automatic reply is sent and its webhook is withheld (`message_withhold`).
    """
    to = carrier_e164(sms.to) or sms.to
    route = NumberRoute.objects.filter(phone_number=to).first()
    if route is None:
        log.info("inbound message for unknown number %s on %s dropped", to, connector)
        return None
    with tenant_scope(route.account_id):
        number = IncomingPhoneNumber.objects.get(id=route.number_id)
        account = Account.objects.get(id=route.account_id)
        status = account_status_in_effect(account=account)
        if status == Account.Status.CLOSED:
            log.info("inbound message for %s of a closed account on %s dropped", to, connector)
            return None
        is_suspended = status == Account.Status.SUSPENDED
        counted = segment(sms.body)
        message = Message(
            account=account,
            direction=Message.Direction.INBOUND,
            from_number=carrier_e164(sms.from_number) or sms.from_number,  # alphanumeric: as it is
            to_number=to,
            body=sms.body,
            status=Message.Status.RECEIVED,
            encoding=counted.encoding,
            num_segments=counted.num_segments,
            num_media=len(sms.media_urls),
            connector=connector,
            carrier_message_ids=[sms.carrier_message_id] if sms.carrier_message_id else [],
            phone_number=number,
            date_sent=timezone.now(),
            is_webhook_pending=not is_suspended and bool(number.sms_url or number.sms_fallback_url),
        )
        message.save(force_insert=True)
        media_add([(message, sms.media_urls)])
        audit_record(
            account_id=account.id,
            actor=f"carrier:{connector}",
            action="message.receive",
            object_sid=message.sid,
            payload={"from": message.from_number, "to": to, "num_segments": counted.num_segments},
        )
        keyword = consent.keyword_of(sms.body)
        reply = (
            consent.consent_record(message=message, keyword=keyword, account_name=account.friendly_name)
            if keyword
            else None
        )
        if is_suspended:
            message_withhold(message=message, number=number)
        elif reply:
            consent_reply_store(account=account, number=number, to=message.from_number, body=reply)
        transaction.on_commit(lambda: message_received.send(sender=Message, message=message), robust=True)
        if message.is_webhook_pending:
            transaction.on_commit(
                lambda: message_webhook_task.delay(str(account.id), str(message.id)), robust=True
            )
        return message


def message_webhook_requeue(*, account_id: uuid.UUID, message_ids: Sequence[uuid.UUID]) -> None:
    """Queue again the SMS webhooks of messages whose task never ran (lost with Redis or a worker)."""
    with tenant_scope(account_id):
        ids = list(
            Message.objects.filter(id__in=list(message_ids), is_webhook_pending=True).values_list(
                "id", flat=True
            )
        )
        Message.objects.filter(id__in=ids).update(handed_over_at=timezone.now())
        for message_id in ids:
            on_commit_robust(message_webhook_task.delay, str(account_id), str(message_id))
