"""Django application configuration for django_zoomconnect."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ZoomConnectConfig(AppConfig):
    name = "django_zoomconnect"
    label = "zoomconnect"
    verbose_name = _("Zoom Connect SMS")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the system checks)
            tasks,  # noqa: F401  (registers the tasks that services.outbox.wake enqueues by name)
        )
