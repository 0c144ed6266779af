"""Portal routes for calls and their recordings' audio."""

from django.urls import path

from voice import views

urlpatterns = [
    path("", views.calls_view, name="calls"),
    path("recordings/<str:sid>.wav", views.recording_audio_view, name="recording-audio"),
    path("<str:sid>/", views.call_detail_view, name="call-detail"),
]
