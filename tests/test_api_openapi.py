"""Tests for the REST API's schema: views that schema generators can inspect."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import include, path
from rest_framework.schemas.generators import EndpointEnumerator
from rest_framework.schemas.openapi import SchemaGenerator
from rest_framework.test import APIRequestFactory

from django_zoomconnect.api import views

# This module is also the URLconf of its tests: the API, as the README mounts it.
urlpatterns = [
    path("api/zoomconnect/", include("django_zoomconnect.api.urls")),
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

ROOT = Path(__file__).resolve().parent.parent
API = "/api/zoomconnect/"


def api_endpoints():
    """(path, method, callback) of every operation of the API, as DRF's generator finds them."""
    found = EndpointEnumerator(urlconf=__name__).get_api_endpoints()
    return [(path, method, view) for path, method, view in found if issubclass(view.cls, views.APIViewSet)]


def api_operations():
    """(path, method) of every operation, the way both generators write them (``{pk}`` is ``{id}``)."""
    return {(path_.replace("{pk}", "{id}"), method.lower()) for path_, method, _ in api_endpoints()}


def described_operations(schema):
    return {(path_, method) for path_, methods in schema["paths"].items() for method in methods}


# --- the views answer schema generators ---------------------------------------------------------


@pytest.mark.parametrize("fake_view", [False, True], ids=["drf", "drf-spectacular"])
def test_views_answer_a_schema_generator_without_a_real_request(fake_view):
    # DRF's generator instantiates each view with request=None; drf-spectacular with a stand-in
    # request and swagger_fake_view. Neither is a request to filter: no crash, no 400.
    generator = SchemaGenerator(urlconf=__name__)
    stand_in = APIRequestFactory().get("/?stauts=FAILED")
    for path_, method, callback in api_endpoints():
        view = generator.create_view(callback, method, None)
        if fake_view:
            view.request = view.initialize_request(stand_in)
            view.swagger_fake_view = True
        assert view.get_queryset() is not None, (method, path_)
        assert view.get_serializer_class() is not None, (method, path_)
        assert view.get_permissions(), (method, path_)


def test_drf_generateschema_describes_every_operation():
    # DRF's own command works next to drf-spectacular's extensions (no @extend_schema on actions).
    pytest.importorskip("uritemplate", reason="DRF's schema generator needs uritemplate")
    out = StringIO()
    call_command("generateschema", urlconf=__name__, format="openapi-json", stdout=out)
    assert api_operations() <= described_operations(json.loads(out.getvalue()))
    assert len(api_operations()) == 27
