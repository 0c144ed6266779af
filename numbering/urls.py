"""Portal routes for phone numbers."""

from django.urls import path

from numbering import views

urlpatterns = [
    path("", views.numbers_view, name="numbers"),
    path("<str:sid>/release/", views.number_release_view, name="number-release"),
]
