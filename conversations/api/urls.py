"""Routes of the native API (`/api/v1/`); any other path there is Twilio's 20404, after authentication."""

from django.urls import path, re_path

from conversations.api import views
from core.api import UnknownResourceView

urlpatterns = [
    path("conversations", views.ConversationListView.as_view()),
    path("conversations/<str:sid>", views.ConversationDetailView.as_view()),
    path("conversations/<str:sid>/items", views.ItemListView.as_view()),
    path("conversations/<str:sid>/notes", views.NoteListView.as_view()),
    path("contacts/<str:sid>", views.ContactDetailView.as_view()),
    path("search", views.SearchView.as_view()),
    re_path(r"^.*$", UnknownResourceView.as_view()),
]
