"""Schemathesis against the live REST API, from its own OpenAPI schema: no operation answers a 5xx.

Every operation of ``django_zoomconnect.api.schema``'s schema gets examples that fit it and
examples that do not, sent through Django's WSGI handler as a superuser (HTTP Basic), with the
provider played by the in-process simulator: nothing leaves the machine. The test skips, saying
why, without schemathesis (or drf-spectacular); ``.ci/run`` installs both and sets
``ZOOMCONNECT_REQUIRE_SCHEMATHESIS=1``, which turns the skip into a failure.
``ZOOMCONNECT_SCHEMATHESIS_EXAMPLES`` sets the examples per operation and generation mode.
"""

import base64
import os
from collections import Counter
from importlib.util import find_spec

import pytest
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import include, path
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_zoomconnect.models import Batch, Contact, Direction, Group, Membership, Message, Template

urlpatterns = [path("api/zoomconnect/", include("django_zoomconnect.api.urls"))]
if find_spec("drf_spectacular") is not None:
    urlpatterns.append(path("api/zoomconnect/schema/", include("django_zoomconnect.api.schema")))

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = int(os.environ.get("ZOOMCONNECT_SCHEMATHESIS_EXAMPLES", "20"))
PASSWORD = "schemathesis-not-secret"
NUMBERS = ("+27821234567", "082 123 4568", "+27 82 123 4569", "0821234570")
MODELS = {"messages": Message, "batches": Batch, "templates": Template, "contacts": Contact, "groups": Group}


@pytest.fixture(autouse=True)
def _require_schemathesis():
    missing = pytest.fail if os.environ.get("ZOOMCONNECT_REQUIRE_SCHEMATHESIS") else pytest.skip
    for module, package in (("schemathesis", "schemathesis"), ("drf_spectacular", "'.[openapi]'")):
        if find_spec(module) is None:
            missing(f"{module} is not installed (pip install {package})")


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler on the test's own connection and transaction.

    A request's start and end close "old" connections, which in a test is the one holding its
    transaction: Django's test client unhooks that too.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield WSGIHandler()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def basic_auth(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # one check a request
    get_user_model().objects.create_superuser("schemathesis", password=PASSWORD)
    token = base64.b64encode(f"schemathesis:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def rows():
    """A few rows of each kind, so that small ids find something to read, change and delete."""
    template = Template.objects.create(name="welcome", body="Hi {name}")
    group = Group.objects.create(name="customers")
    contacts = [Contact.objects.create(phone_number=f"+2782123456{i}", first_name=f"C{i}") for i in range(3)]
    for contact in contacts[:2]:
        Membership.objects.create(contact=contact, group=group)
    batch = Batch.objects.create(campaign="launch", template=template, group=group)
    for i, contact in enumerate(contacts):
        Message.objects.create(
            direction=Direction.OUTBOUND, to_number=contact.phone_number, body=f"hello {i}", batch=batch
        )
    reply = {"from_number": contacts[0].phone_number, "body": "STOP", "received_at": timezone.now()}
    Message.objects.create(direction=Direction.INBOUND, **reply)


@st.composite
def plausible(draw, cases, ids, resource):
    """A generated case, or half the time the same with values that get past validation: a
    number that parses, the ids of the rows the test began with (in the body and the path)."""
    case = draw(cases)
    if not draw(st.booleans()):
        return case
    number, pk = st.sampled_from(NUMBERS), {name: st.sampled_from(pks) for name, pks in ids.items()}
    replacements = {
        "to": number,
        "phone_number": number,
        "recipients": st.lists(number, min_size=1, max_size=4),
        "contact": pk["contacts"],
        "contacts": st.lists(pk["contacts"], min_size=1, max_size=3),
        "template": pk["templates"],
        "group": pk["groups"],
        "groups": st.lists(pk["groups"], max_size=2),
    }
    if isinstance(case.body, dict):
        for name, values in replacements.items():
            if name in case.body:
                case.body[name] = draw(values)
    for name, values in (("id", pk[resource]), ("contact_id", pk["contacts"])):
        if name in (case.path_parameters or {}):
            case.path_parameters[name] = draw(values)
    return case


def test_no_operation_answers_a_server_error(wsgi_app, basic_auth, rows, zoomconnect_simulator):
    import schemathesis
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_wsgi(
        "/api/zoomconnect/schema/?format=json", wsgi_app, headers=basic_auth
    )
    # Fixed for the whole run: a strategy must not change while Hypothesis replays its examples.
    ids = {name: list(model.objects.values_list("pk", flat=True)) for name, model in MODELS.items()}
    failures = {}
    operations, answers = 0, Counter()
    # Deletes last, so that the other operations find the rows first.
    found = [result.ok() for result in schema.get_all_operations()]
    for operation in sorted(found, key=lambda operation: operation.method == "delete"):
        operations += 1
        resource = operation.path.split("/")[3]
        strategy = plausible(
            st.one_of(
                operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
                operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
            ),
            ids,
            resource,
        )

        @given(case=strategy)
        @settings(
            max_examples=2 * EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case):
            response = case.call(headers=basic_auth)
            answers[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])

        try:
            no_server_error()
        except Exception as exc:  # collected: every operation gets its run
            failures[operation.label] = exc
    statuses = ", ".join(f"{count} x {status}" for status, count in sorted(answers.items()))
    print(f"\nschemathesis: {operations} operations, {answers.total()} examples; answers: {statuses}")
    assert operations == 27
    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())
