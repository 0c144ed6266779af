"""The agent console's call-control endpoints (docs/console.md, "Call control")."""

from django.urls import path

from contactcenter.call_control_views import call_control_view

urlpatterns = [path("<str:call_sid>/<str:action>", call_control_view, name="call-control")]
