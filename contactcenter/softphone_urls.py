"""Portal routes of the browser softphone (mounted at /console/phone/)."""

from django.urls import path

from contactcenter import softphone_views

urlpatterns = [
    path("", softphone_views.softphone_page_view, name="softphone"),
    path("credentials/", softphone_views.softphone_credentials_view, name="softphone-credentials"),
    path("jssip.js", softphone_views.jssip_script_view, name="softphone-jssip"),
]
