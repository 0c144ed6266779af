"""The built-in agents' API, served under `/ai/v1/` in Twilio's v1 style."""

from django.urls import path

from ai.api import views

urlpatterns = [
    path("Agents", views.AgentListView.as_view()),
    path("Agents/<str:sid>", views.AgentDetailView.as_view()),
    path("Agents/<str:agent_sid>/FaqEntries", views.FaqEntryListView.as_view()),
    path("Agents/<str:agent_sid>/FaqEntries/<str:sid>", views.FaqEntryDetailView.as_view()),
]
