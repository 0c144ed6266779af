from django.apps import AppConfig


class ContactcenterConfig(AppConfig):
    name = "contactcenter"
