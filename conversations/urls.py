"""Portal routes for the inbox and conversations."""

from django.urls import path

from conversations import views

urlpatterns = [
    path("", views.inbox_view, name="inbox"),
    path("<str:sid>/", views.thread_view, name="conversation"),
    path("<str:sid>/notes/", views.note_add_view, name="conversation-note"),
    path("<str:sid>/reply/", views.reply_view, name="conversation-reply"),
    path("<str:sid>/contact/", views.contact_update_view, name="conversation-contact"),
]
