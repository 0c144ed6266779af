"""Notifications: `/2010-04-01/Accounts/{AccountSid}/Notifications[/{Sid}].json` (read and delete)."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TwilioView
from monitor.api.serializers import NotificationOutput
from monitor.models import Notification
from monitor.notifications import notification_delete


class NotificationViewBase(TwilioView):
    model = Notification
    list_key = "notifications"
    output_serializer = NotificationOutput


class NotificationListView(NotificationViewBase):
    @extend_schema(operation_id="listNotifications", responses=NotificationOutput(many=True))
    def get(self, request: Request, account_sid: str) -> Response:
        notifications = self.scoped()
        if (log := request.query_params.get("Log")) in ("0", "1"):
            notifications = notifications.filter(log=int(log))
        return self.render_page(request, notifications)


class NotificationDetailView(NotificationViewBase):
    @extend_schema(operation_id="fetchNotification", responses=NotificationOutput)
    def get(self, request: Request, account_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="deleteNotification", responses={204: None})
    def delete(self, request: Request, account_sid: str, sid: str) -> Response:
        notification_delete(notification=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)
