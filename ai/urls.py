"""Routes of the agents' pages and of the TwiML their numbers fetch."""

from django.urls import path

from ai import views

urlpatterns = [
    path("", views.agents_view, name="agents"),
    path("<str:sid>/", views.agent_view, name="agent"),
    path("<str:sid>/delete/", views.agent_delete_view, name="agent-delete"),
    path("<str:sid>/twiml", views.agent_twiml_view, name="agent-twiml"),
    path("<str:sid>/handoff", views.agent_handoff_view, name="agent-handoff"),
]
