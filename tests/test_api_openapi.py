"""Tests for the REST API's OpenAPI schema (api/openapi.py, api/schema.py) and schema-safe views."""

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import include, path
from rest_framework.schemas.generators import EndpointEnumerator
from rest_framework.schemas.openapi import SchemaGenerator
from rest_framework.test import APIClient, APIRequestFactory

from django_zoomconnect.api import filters, views

# This module is also the URLconf of its tests: the API and its schema, as the README mounts them.
API_URLS = [path("api/zoomconnect/", include("django_zoomconnect.api.urls"))]
urlpatterns = [*API_URLS]
if find_spec("drf_spectacular") is not None:
    urlpatterns.append(path("api/zoomconnect/schema/", include("django_zoomconnect.api.schema")))

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

ROOT = Path(__file__).resolve().parent.parent
API = "/api/zoomconnect/"
SCHEMA = API + "schema/"
needs_spectacular = pytest.mark.skipif(
    find_spec("drf_spectacular") is None,
    reason="drf-spectacular is not installed (pip install '.[openapi]'; the test extra has it)",
)


def api_endpoints():
    """(path, method, callback) of every operation of the API, as DRF's generator finds them."""
    found = EndpointEnumerator(urlconf=__name__).get_api_endpoints()
    return [(path, method, view) for path, method, view in found if issubclass(view.cls, views.APIViewSet)]


def api_operations():
    """(path, method) of every operation, the way both generators write them (``{pk}`` is ``{id}``)."""
    return {(path_.replace("{pk}", "{id}"), method.lower()) for path_, method, _ in api_endpoints()}


def described_operations(schema):
    return {(path_, method) for path_, methods in schema["paths"].items() for method in methods}


@pytest.fixture
def schema(admin_client, capsys):
    """The schema served by ``django_zoomconnect.api.schema``, checking that drf-spectacular had
    nothing to warn about while generating it."""
    from drf_spectacular.drainage import GENERATOR_STATS

    response = admin_client.get(SCHEMA, {"format": "json"})
    assert response.status_code == 200, response.content
    assert capsys.readouterr().err == ""
    assert not GENERATOR_STATS
    return json.loads(response.content)


def operation(schema, method, path):
    return schema["paths"][API + path][method]


def body_schema(schema, ref_holder):
    """The component a ``$ref`` (in a request or response body) names."""
    ref = ref_holder["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


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


def test_without_drf_spectacular_nothing_imports_it():
    script = """
import sys
sys.modules["drf_spectacular"] = None  # as if not installed: importing it raises ImportError
import django
django.setup()
from django.urls import include, path
urlpatterns = [path("api/", include("django_zoomconnect.api.urls"))]
from django.core.exceptions import ImproperlyConfigured
assert "django_zoomconnect.api.openapi" not in sys.modules
try:
    import django_zoomconnect.api.schema
except ImproperlyConfigured as exc:
    print(exc)
"""
    result = subprocess.run(  # noqa: S603 - this interpreter on a script of ours
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'django-zoomconnect[openapi]'" in result.stdout


# --- the schema -------------------------------------------------------------------------------


@needs_spectacular
def test_schema_is_valid_openapi_3_with_every_operation(schema):
    from drf_spectacular.validation import validate_schema

    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert described_operations(schema) == api_operations()


@needs_spectacular
def test_every_operation_documents_its_refusals(schema):
    for path_, methods in schema["paths"].items():
        for method, described in methods.items():
            answers = set(described["responses"])
            assert "403" in answers, (method, path_)
            if "{id}" in path_:
                assert "404" in answers, (method, path_)
            if method in ("post", "put", "patch") and "requestBody" in described:
                assert "400" in answers, (method, path_)


@needs_spectacular
@pytest.mark.parametrize(
    ("resource", "known"),
    [
        ("messages", filters.MESSAGE_FILTERS),
        ("contacts", filters.CONTACT_FILTERS),
        ("groups", filters.GROUP_FILTERS),
    ],
)
def test_every_filter_is_a_described_query_parameter(schema, resource, known):
    parameters = {p["name"]: p for p in operation(schema, "get", f"{resource}/")["parameters"]}
    assert set(known) | {"page", "page_size"} == set(parameters)
    for name in known:
        assert parameters[name]["in"] == "query"
        assert parameters[name].get("description") or parameters[name]["schema"].get("enum"), name
    if resource == "messages":
        assert parameters["read"]["schema"]["type"] == "boolean"


@needs_spectacular
def test_sending_documents_its_request_and_answers(schema):
    send = operation(schema, "post", "messages/send/")
    assert {"to", "contact", "body", "template", "context", "send_at"} <= set(
        body_schema(schema, send["requestBody"])["properties"]
    )
    assert "status_history" in body_schema(schema, send["responses"]["201"])["properties"]
    assert {"201", "400", "403"} == set(send["responses"])
    bulk = operation(schema, "post", "messages/bulk/")
    recipients = body_schema(schema, bulk["requestBody"])["properties"]["recipients"]
    assert [choice["type"] for choice in recipients["items"]["oneOf"]] == ["string", "object"]
    assert "status_counts" in body_schema(schema, bulk["responses"]["201"])["properties"]


@needs_spectacular
def test_cancel_retry_and_members_document_what_they_answer(schema):
    cancelled = body_schema(schema, operation(schema, "post", "messages/{id}/cancel/")["responses"]["200"])
    assert set(cancelled["properties"]) == {"cancelled", "message"}
    assert "requestBody" not in operation(schema, "post", "messages/{id}/cancel/")
    retried = body_schema(schema, operation(schema, "post", "batches/{id}/retry/")["responses"]["200"])
    assert set(retried["properties"]) == {"queued", "batch"}
    members = operation(schema, "get", "groups/{id}/members/")
    assert {"page", "page_size"} <= {p["name"] for p in members["parameters"]}
    assert "results" in body_schema(schema, members["responses"]["200"])["properties"]
    added = operation(schema, "post", "groups/{id}/members/")
    assert set(body_schema(schema, added["requestBody"])["properties"]) == {"contacts"}
    removed = operation(schema, "delete", "groups/{id}/members/{contact_id}/")
    assert {p["name"]: p["schema"]["type"] for p in removed["parameters"]}["contact_id"] == "integer"


@needs_spectacular
def test_statuses_are_one_named_enum_each(schema):
    components = schema["components"]["schemas"]
    assert "QUEUED" in components["MessageStatusEnum"]["enum"]
    assert "dispatching" in components["BatchStatusEnum"]["enum"]
    old_status = components["StatusChange"]["properties"]["old_status"]["oneOf"]
    assert old_status == [
        {"$ref": "#/components/schemas/MessageStatusEnum"},
        {"type": "string", "enum": [""]},
    ]


@needs_spectacular
def test_schema_asks_the_apis_permissions(admin_client):
    from django_zoomconnect.api import schema

    clerk = APIClient()
    clerk.force_authenticate(get_user_model().objects.create_user("clerk", is_staff=True))
    pages = [SCHEMA + str(pattern.pattern) for pattern in schema.urlpatterns]  # every page, enumerated
    assert pages == [SCHEMA, SCHEMA + "swagger/", SCHEMA + "redoc/"]
    for page in pages:
        assert APIClient().get(page).status_code == 403, page
        assert clerk.get(page).status_code == 403, page
    assert admin_client.get(SCHEMA).status_code == 200


@needs_spectacular
def test_swagger_and_redoc_pages_point_at_the_schema(admin_client, settings):
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "drf_spectacular"]
    for page in ("swagger/", "redoc/"):
        response = admin_client.get(SCHEMA + page)
        assert response.status_code == 200, page
        assert SCHEMA.encode() in response.content, page


@needs_spectacular
def test_a_project_wide_schema_describes_the_api_too(settings, capsys):
    # The README's other way: drf-spectacular's AutoSchema for every view of the project. (Not
    # the schema views: drf-spectacular's own decorator bound them to the schema class of
    # import time, DRF's here, where a project would have set drf-spectacular's already.)
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator as SpectacularGenerator
    from drf_spectacular.validation import validate_schema

    settings.REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    generated = SpectacularGenerator(patterns=API_URLS).get_schema(request=None, public=True)
    validate_schema(generated)
    assert capsys.readouterr().err == ""
    assert not GENERATOR_STATS
    assert {"201", "400", "403"} == set(generated["paths"][API + "messages/send/"]["post"]["responses"])


@needs_spectacular
def test_an_operation_missing_from_the_table_is_a_generator_warning(monkeypatch, capsys):
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator as SpectacularGenerator

    from django_zoomconnect.api import openapi

    described = dict(openapi.OPERATIONS[views.BatchViewSet])
    del described["retry"]
    monkeypatch.setitem(openapi.OPERATIONS, views.BatchViewSet, described)
    SpectacularGenerator(patterns=API_URLS).get_schema(request=None, public=True)
    assert GENERATOR_STATS
    assert "BatchViewSet: retry not described" in capsys.readouterr().err
