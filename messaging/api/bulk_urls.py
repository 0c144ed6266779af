"""Routes of the bulk alerts API, under /api/v1/ ahead of the native API's own routes."""

from django.urls import path

from messaging.api import bulk

urlpatterns = [
    path("bulks", bulk.BulkListView.as_view()),
    path("bulks/<str:sid>", bulk.BulkDetailView.as_view()),
    path("bulks/<str:sid>/recipients", bulk.BulkRecipientListView.as_view()),
    path("bulks/<str:sid>/cancel", bulk.BulkCancelView.as_view()),
]
