"""Portal routes for bulk alerts."""

from django.urls import path

from messaging import views_bulk

urlpatterns = [
    path("", views_bulk.bulks_view, name="bulks"),
    path("confirm/<str:token>/", views_bulk.bulk_confirm_view, name="bulk-confirm"),
    path("<str:sid>/", views_bulk.bulk_view, name="bulk"),
    path("<str:sid>/cancel/", views_bulk.bulk_cancel_view, name="bulk-cancel"),
]
