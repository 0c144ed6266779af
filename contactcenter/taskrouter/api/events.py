"""The workspace's event log: `Events`, newest first, filtered as Twilio's SDK asks."""

from datetime import timedelta

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from contactcenter.taskrouter.api.base import WorkspaceView
from contactcenter.taskrouter.api.records import EventOutput
from contactcenter.taskrouter.models import Event
from core.filters import exact_filters
from core.v1 import query_datetime, query_window

# How far back a window given only by its end reaches: as long as Twilio keeps events.
RETAINED = timedelta(days=30)
EXACT_FILTERS = {
    "EventType": "event_type",
    "Sid": "resource_sid",
    "TaskChannel": "data__TaskChannelUniqueName",
}
# Filters naming a resource: an event matches when it is about that resource or its data names it.
RESOURCE_FILTERS = {
    "TaskSid": "TaskSid",
    "WorkerSid": "WorkerSid",
    "ReservationSid": "ReservationSid",
    "TaskQueueSid": "TaskQueueSid",
    "WorkflowSid": "WorkflowSid",
}


class EventViewBase(WorkspaceView):
    model = Event
    list_key = "events"
    output_serializer = EventOutput


class EventListView(EventViewBase):
    @extend_schema(operation_id="listEvents", responses=EventOutput(many=True))
    def get(self, request: Request, workspace_sid: str) -> Response:
        rows = self.scoped().filter(**exact_filters(request, EXACT_FILTERS))
        params = request.query_params
        for param, key in RESOURCE_FILTERS.items():
            if value := params.get(param):
                rows = rows.filter(Q(resource_sid=value) | Q(**{f"data__{key}": value}))
        if (
            params.get("Minutes")
            or query_datetime(request, "StartDate")
            or query_datetime(request, "EndDate")
        ):
            start, end = query_window(request, default=RETAINED)
            rows = rows.filter(date_created__gte=start, date_created__lte=end)
        return self.render_page(request, rows)


class EventDetailView(EventViewBase):
    @extend_schema(operation_id="fetchEvent", responses=EventOutput)
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))
