"""Top-level routes: the Twilio-compatible API, its schema and docs, and the portal."""

from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from contactcenter import demo as contactcenter_demo
from contactcenter.api.views import MemberDetailView, MemberListView, QueueDetailView, QueueListView
from contactcenter.views import number_routing_view
from core.api import UnknownResourceView
from core.schema import ApiDocsView, redoc_script_view
from messaging import demo as messaging_demo
from messaging.api.views import MediaDetailView, MediaListView, MessageDetailView, MessageListView
from monitor.api.views import NotificationDetailView, NotificationListView
from numbering.api.views import NumberDetailView, NumberListView
from streams.api.views import StreamDetailView, StreamListView
from tenants.api.views import (
    AccountDetailView,
    AccountListView,
    AuthTokenPromotionView,
    KeyDetailView,
    KeyListView,
    SecondaryAuthTokenView,
)
from voice import demo
from voice.api.views import (
    CallDetailView,
    CallListView,
    CallRecordingListView,
    RecordingDetailView,
    RecordingListView,
    RecordingMediaView,
)

ACCOUNT = "2010-04-01/Accounts/<str:account_sid>"

api_patterns = [
    path("2010-04-01/Accounts.json", AccountListView.as_view()),
    path("2010-04-01/Accounts/<str:sid>.json", AccountDetailView.as_view()),
    path(f"{ACCOUNT}/IncomingPhoneNumbers.json", NumberListView.as_view()),
    path(f"{ACCOUNT}/IncomingPhoneNumbers/<str:sid>.json", NumberDetailView.as_view()),
    path(f"{ACCOUNT}/Keys.json", KeyListView.as_view()),
    path(f"{ACCOUNT}/Keys/<str:sid>.json", KeyDetailView.as_view()),
    path(f"{ACCOUNT}/Notifications.json", NotificationListView.as_view()),
    path(f"{ACCOUNT}/Notifications/<str:sid>.json", NotificationDetailView.as_view()),
    path(f"{ACCOUNT}/Calls.json", CallListView.as_view()),
    path(f"{ACCOUNT}/Calls/<str:sid>.json", CallDetailView.as_view()),
    path(f"{ACCOUNT}/Calls/<str:call_sid>/Recordings.json", CallRecordingListView.as_view()),
    path(f"{ACCOUNT}/Calls/<str:call_sid>/Streams.json", StreamListView.as_view()),
    path(f"{ACCOUNT}/Calls/<str:call_sid>/Streams/<str:sid>.json", StreamDetailView.as_view()),
    path(f"{ACCOUNT}/Messages.json", MessageListView.as_view()),
    path(f"{ACCOUNT}/Messages/<str:sid>.json", MessageDetailView.as_view()),
    path(f"{ACCOUNT}/Messages/<str:message_sid>/Media.json", MediaListView.as_view()),
    path(f"{ACCOUNT}/Messages/<str:message_sid>/Media/<str:sid>.json", MediaDetailView.as_view()),
    path(f"{ACCOUNT}/Queues.json", QueueListView.as_view()),
    path(f"{ACCOUNT}/Queues/<str:sid>.json", QueueDetailView.as_view()),
    path(f"{ACCOUNT}/Queues/<str:queue_sid>/Members.json", MemberListView.as_view()),
    path(f"{ACCOUNT}/Queues/<str:queue_sid>/Members/<str:call_sid>.json", MemberDetailView.as_view()),
    path(f"{ACCOUNT}/Recordings.json", RecordingListView.as_view()),
    path(f"{ACCOUNT}/Recordings/<str:sid>.json", RecordingDetailView.as_view()),
    re_path(
        r"^2010-04-01/Accounts/(?P<account_sid>[^/]+)/Recordings/(?P<sid>RE[0-9a-fA-F]{32})(?:\.wav)?$",
        RecordingMediaView.as_view(),
    ),
    re_path(r"^2010-04-01/.*$", UnknownResourceView.as_view()),
    path("accounts/v1/AuthTokens/Secondary", SecondaryAuthTokenView.as_view()),
    path("accounts/v1/AuthTokens/Promote", AuthTokenPromotionView.as_view()),
    path("taskrouter/v1/", include("contactcenter.taskrouter.api.urls")),
    path("ai/v1/", include("ai.api.urls")),
]

handler500 = "core.handlers.server_error"

urlpatterns = [
    *api_patterns,
    # Asked for by browsers on pages that link no icon (the API's own answers, say): the portal's.
    path("favicon.ico", RedirectView.as_view(url=static("portal/favicon.svg"), permanent=True)),
    path("api/v1/", include("messaging.api.bulk_urls")),
    path("api/v1/", include("conversations.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("api/docs/redoc.js", redoc_script_view, name="api-docs-redoc"),
    path("", include("tenants.urls")),
    path("numbers/", include("numbering.urls")),
    path("numbers/<str:sid>/routing/", number_routing_view, name="number-routing"),
    path("calls/", include("voice.urls")),
    path("queues/", include("contactcenter.urls")),
    path("console/calls/", include("contactcenter.call_control_urls")),
    path("console/phone/", include("contactcenter.softphone_urls")),
    path("inbox/", include("conversations.urls")),
    path("agents/", include("ai.urls")),
    path("bulk/", include("messaging.bulk.urls")),
    path("routing/", include("contactcenter.taskrouter.urls")),
    path("console/monitor/", include("contactcenter.monitor_urls")),
    path("console/", include("contactcenter.console_urls")),
    path("demo/ivr/", demo.ivr_greeting),
    path("demo/ivr/menu/", demo.ivr_menu),
    path("demo/ivr/recorded/", demo.ivr_recorded),
    path("demo/sms/", messaging_demo.sms_reply),
    path("demo/front-desk/", contactcenter_demo.front_desk),
    path("demo/front-desk/assignment/", contactcenter_demo.assignment),
    path("demo/front-desk/events/", contactcenter_demo.events),
]
