"""Who may use the REST API: the permission classes named by ``ZOOMCONNECT["API_PERMISSION_CLASSES"]``."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string
from rest_framework.permissions import BasePermission

from .. import conf
from ..exceptions import ConfigurationError

__all__ = ["SettingsPermissionsMixin", "permission_classes"]


def permission_classes() -> list[Any]:
    """The configured permission classes, imported now (so ``override_settings`` applies).

    A path that cannot be imported is a :class:`ConfigurationError` naming the setting: a
    request must never be let through because its guard could not be loaded.
    """
    classes = []
    for path in conf.get("API_PERMISSION_CLASSES"):
        try:
            classes.append(import_string(path))
        except ImportError as exc:
            raise ConfigurationError(
                f"settings.ZOOMCONNECT['API_PERMISSION_CLASSES'] names {path!r}, "
                f"which cannot be imported: {exc}"
            ) from None
    return classes


class SettingsPermissionsMixin:
    """For API views: permissions come from the setting, read on every request."""

    def get_permissions(self) -> list[BasePermission]:
        return [permission() for permission in permission_classes()]
