"""URLs serving the REST API's OpenAPI 3 schema, with Swagger UI and Redoc (the ``openapi`` extra).

Include them next to the API, e.g. ``path("api/zoomconnect/schema/",
include("django_zoomconnect.api.schema"))``: ``schema/`` answers the schema of this API alone
(YAML, or JSON with ``?format=json``), ``schema/swagger/`` and ``schema/redoc/`` browse it (those
two pages need ``"drf_spectacular"`` in ``INSTALLED_APPS`` for their templates). They ask the
API's own permissions (``API_PERMISSION_CLASSES``: by default, a staff user with a permission of
this app) and need no drf-spectacular setting: the views are described whatever the project's
``DEFAULT_SCHEMA_CLASS`` (:mod:`.openapi`).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.urls import path

try:
    from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
except ImportError as exc:  # pragma: no cover - the test suite installs it
    raise ImproperlyConfigured(
        "django_zoomconnect.api.schema needs drf-spectacular: pip install 'django-zoomconnect[openapi]'"
    ) from exc

from . import openapi
from .permissions import SettingsPermissionsMixin

app_name = "zoomconnect-schema"


class SchemaView(SettingsPermissionsMixin, SpectacularAPIView):
    """The OpenAPI schema of this API alone, with its own drf-spectacular settings."""

    custom_settings = openapi.SETTINGS


class SwaggerView(SettingsPermissionsMixin, SpectacularSwaggerView):
    """Swagger UI on the schema."""

    url_name = f"{app_name}:schema"


class RedocView(SettingsPermissionsMixin, SpectacularRedocView):
    """Redoc on the schema."""

    url_name = f"{app_name}:schema"


urlpatterns = [
    path("", SchemaView.as_view(), name="schema"),
    path("swagger/", SwaggerView.as_view(), name="swagger-ui"),
    path("redoc/", RedocView.as_view(), name="redoc"),
]
