"""App config of the demo app."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "django-zoomconnect demo"
