"""Portal routes of the agent console (part A2's call control adds /console/calls/…)."""

from django.urls import path

from contactcenter import console_views as views

urlpatterns = [
    path("", views.console_view, name="console"),
    path("activity/", views.activity_view, name="console-activity"),
    path("reservations/<str:sid>/accept/", views.accept_view, name="console-accept"),
    path("reservations/<str:sid>/reject/", views.reject_view, name="console-reject"),
    path("reservations/<str:sid>/reply/", views.reply_view, name="console-reply"),
    path("reservations/<str:sid>/wrapup/", views.wrap_up_view, name="console-wrapup"),
    path("recordings/<str:sid>/", views.recording_view, name="console-recording"),
]
