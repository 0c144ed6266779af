"""Per-number routing settings (`NumberRouting`): which workflow an inbound text to one of the account's
numbers enters, on which task channel. Written from the portal's number page; read by text_routing."""

from django.db import transaction

from compliance.services import audit_record
from contactcenter.taskrouter.models import NumberRouting, TaskChannel, Workflow
from core.error_codes import ErrorCode
from core.errors import TwilioError
from numbering.models import IncomingPhoneNumber
from tenants.models import Account


def number_routing_set(
    *,
    account: Account,
    actor: str,
    number: IncomingPhoneNumber,
    workflow: Workflow | None,
    task_channel: TaskChannel | None,
) -> NumberRouting | None:
    """Route the number's inbound texts into `workflow` as tasks on `task_channel`, or stop routing
    them (`workflow` None). All three must be the account's, and the channel of the workflow's
    workspace (20001 otherwise, nothing saved: a form's choices are only what the page offered)."""
    with transaction.atomic():
        if workflow is None:
            deleted, _ = NumberRouting.objects.filter(account=account, phone_number=number).delete()
            if deleted:
                audit_record(
                    account_id=account.id,
                    actor=actor,
                    action="number_routing.delete",
                    object_sid=number.sid,
                    payload={"phone_number": number.phone_number},
                )
            return None
        if (
            task_channel is None
            or {number.account_id, workflow.account_id, task_channel.account_id} != {account.id}
            or task_channel.workspace_id != workflow.workspace_id
        ):
            raise TwilioError(
                ErrorCode.UNKNOWN_PARAMETERS, "The workflow and task channel must be of one workspace", 400
            )
        routing, _ = NumberRouting.objects.update_or_create(
            account=account,
            phone_number=number,
            defaults={"workflow": workflow, "task_channel": task_channel},
        )
        audit_record(
            account_id=account.id,
            actor=actor,
            action="number_routing.update",
            object_sid=number.sid,
            payload={
                "phone_number": number.phone_number,
                "workflow_sid": workflow.sid,
                "task_channel": task_channel.unique_name,
            },
        )
    return routing
