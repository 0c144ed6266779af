"""The workspace's event log: every lifecycle change is stored as an Event row (the Events resource)
and, when the workspace has an `event_callback_url` and its filter admits the type, POSTed there with
Twilio's parameters through the signed, retried webhook outbox, once the change commits."""

from contactcenter.taskrouter.models import Event, Workspace
from contactcenter.taskrouter.signals import event_recorded
from core.models import TenantModel
from monitor.outbox import webhook_enqueue


def _resource_type(resource: TenantModel) -> str:
    return {"WT": "task", "WR": "reservation", "WK": "worker", "WQ": "taskqueue", "WW": "workflow"}.get(
        resource.SID_PREFIX, "workspace"
    )


def event_record(
    *, workspace: Workspace, event_type: str, resource: TenantModel, description: str, data: dict[str, str]
) -> Event:
    """Log one event in the caller's transaction; its callback is queued only if that commits."""
    event = Event.objects.create(
        account_id=workspace.account_id,
        workspace=workspace,
        event_type=event_type,
        resource_type=_resource_type(resource),
        resource_sid=resource.sid,
        description=description,
        data=data,
    )
    url = workspace.event_callback_url
    wanted = {name.strip() for name in workspace.events_filter.split(",") if name.strip()}
    if url and (not wanted or event_type in wanted):
        params = {
            "Sid": event.sid,
            "AccountSid": workspace.account.sid,
            "WorkspaceSid": workspace.sid,
            "WorkspaceName": workspace.friendly_name,
            "EventType": event_type,
            "EventDescription": description,
            "ResourceType": event.resource_type,
            "ResourceSid": event.resource_sid,
            "Timestamp": str(int(event.date_created.timestamp())),
            **data,
        }
        webhook_enqueue(account=workspace.account, url=url, params=params)
    event_recorded.send(sender=Event, event=event, resource=resource)
    return event
