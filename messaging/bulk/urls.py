"""Portal routes for bulk alerts."""

from django.urls import path

from messaging.bulk import views

urlpatterns = [
    path("", views.bulks_view, name="bulks"),
    path("confirm/<str:token>/", views.bulk_confirm_view, name="bulk-confirm"),
    path("<str:sid>/", views.bulk_view, name="bulk"),
    path("<str:sid>/cancel/", views.bulk_cancel_view, name="bulk-cancel"),
]
