"""Who may use the REST API: the permission classes named by ``ZOOMCONNECT["API_PERMISSION_CLASSES"]``.

The default, :class:`StaffModelPermissions`, asks what the admin asks: an active staff user with
the model permission for what the request does (``view_`` to read, ``add_``, ``change_`` or
``delete_`` to write), and also ``zoomconnect.send_message`` ("Can send SMS") for every
request that sends, because sending costs money and adding a message row is not the same as
paying for it. :class:`ModelPermissions` asks the same of any authenticated user, staff or not.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.utils.module_loading import import_string
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .. import conf
from ..exceptions import ConfigurationError
from ..models import Message

__all__ = [
    "APP_LABEL",
    "SEND_PERMISSION",
    "ModelPermissions",
    "SettingsPermissionsMixin",
    "StaffModelPermissions",
    "permission_classes",
    "required_permissions",
]

#: The app's label (``zoomconnect``), the prefix of its permissions.
APP_LABEL = Message._meta.app_label
#: The permission every sending endpoint needs on top of the model permissions.
SEND_PERMISSION = f"{APP_LABEL}.send_message"

#: What the standard actions need, as the admin asks for it.
_STANDARD_ACTIONS = {
    "list": ("view",),
    "retrieve": ("view",),
    "metadata": ("view",),  # OPTIONS
    "create": ("add",),
    "update": ("change",),
    "partial_update": ("change",),
    "destroy": ("delete",),
}
_BY_METHOD = {
    "GET": ("view",),
    "HEAD": ("view",),
    "OPTIONS": ("view",),
    "POST": ("add",),
    "PUT": ("change",),
    "PATCH": ("change",),
    "DELETE": ("delete",),
}


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


def _permission(model: type[Model], name: str) -> str:
    if "." in name:
        return name
    if "_" in name:  # a codename of the app: "view_contact", "send_message"
        return f"{APP_LABEL}.{name}"
    return f"{model._meta.app_label}.{name}_{model._meta.model_name}"


def required_permissions(view: Any, request: Request) -> list[str] | None:
    """The permissions ``request`` needs on ``view``; ``None`` when nothing may grant it.

    A viewset's ``action_permissions`` names what each custom action needs (``"send"`` needs
    ``("add", "send_message")``): a short name means that permission on the viewset's model,
    ``view_contact`` or ``app.codename`` another one. A non-read action that names nothing is
    refused to everyone, so that an action added later is never open by accident.
    """
    queryset = getattr(view, "queryset", None)
    if queryset is None:
        return None
    model = queryset.model
    action = getattr(view, "action", None)
    if action is None:  # a method the route does not have: DRF's DjangoModelPermissions, then 405
        names: tuple[str, ...] | None = _BY_METHOD.get(request.method or "")
    else:
        declared: dict[str, tuple[str, ...]] = getattr(view, "action_permissions", {})
        names = declared.get(action) or _STANDARD_ACTIONS.get(action)
        if names is None and request.method in SAFE_METHODS:
            names = ("view",)
    if names is None:
        return None
    return [_permission(model, name) for name in names]


class ModelPermissions(BasePermission):
    """An authenticated, active user with the model permissions the request needs.

    The API root needs any permission of this app (as the admin's index shows the app).
    """

    message = "You do not have the permissions of this app that this request needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if getattr(view, "queryset", None) is None:  # the API root
            return bool(user.has_module_perms(APP_LABEL))
        needed = required_permissions(view, request)
        return needed is not None and bool(user.has_perms(needed))


class StaffModelPermissions(ModelPermissions):
    """The default: as the admin, a staff user with the model permissions the request needs."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_staff) and super().has_permission(request, view)
