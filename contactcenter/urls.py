"""Portal routes for the contact center."""

from django.urls import path

from contactcenter import views

urlpatterns = [path("", views.queues_view, name="queues")]
