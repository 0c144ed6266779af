"""Portal routes for monitoring calls from the board: `/console/monitor/…`."""

from django.urls import path

from contactcenter import monitor_views

urlpatterns = [
    path("", monitor_views.monitor_start_view, name="monitor-start"),
    path("<str:sid>/mode", monitor_views.monitor_mode_view, name="monitor-mode"),
    path("<str:sid>/stop", monitor_views.monitor_stop_view, name="monitor-stop"),
]
