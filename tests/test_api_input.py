"""Tests for the REST API and the sending service: input no database can take is a 400 naming it.

NUL characters (PostgreSQL refuses them in text), lone surrogates (no driver encodes them),
impossible or out-of-range dates and ids too large for any backend, in every filter and in the
send and bulk bodies; and the same refusals from ``send_sms``/``send_bulk`` as ``SendError``.
Run them on PostgreSQL too: that is where these used to be 500s.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import include, path
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from django_zoomconnect import send_bulk, send_sms
from django_zoomconnect.api import filters
from django_zoomconnect.api.filters import CONTACT_FILTERS, GROUP_FILTERS, MESSAGE_FILTERS
from django_zoomconnect.exceptions import SendError
from django_zoomconnect.models import Batch, Contact, Direction, Group, Message, Template

urlpatterns = [path("api/zoomconnect/", include("django_zoomconnect.api.urls"))]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

API = "/api/zoomconnect/"
NUMBER = "+27821234567"
BIG = 10**30
LISTS = {"messages/": MESSAGE_FILTERS, "contacts/": CONTACT_FILTERS, "groups/": GROUP_FILTERS}
ID_FILTERS = ("batch", "contact", "template", "in_reply_to", "group")
EVERY_FILTER = [(url, name) for url, filters in LISTS.items() for name in filters]


@pytest.fixture(autouse=True)
def _quiet_outbox(settings):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "BALANCE_CHECK": "off"}


@pytest.fixture
def client():
    api = APIClient()
    api.force_authenticate(get_user_model().objects.create_user("admin", is_staff=True, is_superuser=True))
    return api


@pytest.fixture
def rows():
    group = Group.objects.create(name="Customers")
    contact = Contact.objects.create(phone_number=NUMBER, first_name="Thandi")
    Message.objects.create(direction=Direction.OUTBOUND, to_number=NUMBER, body="hi", campaign="c")
    return group, contact


def _refused(response, field: str, *words: str) -> None:
    assert response.status_code == 400, response.content
    detail = response.json()
    assert field in detail, detail
    for word in words:
        assert word in str(detail[field]), detail


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "name"), EVERY_FILTER)
@pytest.mark.parametrize("value", ["a\x00b", "\x00", "2024-01-01\x00", "1\x00"])
def test_a_nul_in_any_filter_is_a_400_naming_it(client, rows, url, name, value):
    _refused(client.get(API + url, {name: value}), name, "NUL")


@pytest.mark.parametrize(("url", "name"), EVERY_FILTER)
def test_a_lone_surrogate_in_any_filter_is_refused_naming_it(url, name):
    # Django's QueryDict replaces bytes it cannot decode; code that calls the filters may not.
    with pytest.raises(ValidationError) as excinfo:
        filters.apply(Message.objects.none(), {name: "a\ud800b"}, LISTS[url])
    assert "surrogate" in str(excinfo.value.detail[name])


@pytest.mark.parametrize("name", ["created_after", "created_before"])
@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2024-02-30", "day is out of range"),
        ("2023-02-29T10:00", "day is out of range"),
        ("2024-01-01T25:00", "hour"),
        ("2024-01-01T10:61", "minute"),
        ("2024-01-01T10:00:00+99:00", "offset"),
        ("2024-01-01T10:00:00-24:00", "offset"),
        ("0001-01-01T00:00:00+05:00", "out of range"),
        ("9999-12-31T23:59:59-05:00", "out of range"),
        ("2024-13-01", "ISO 8601"),
        ("yesterday", "ISO 8601"),
    ],
)
def test_impossible_dates_are_a_400_naming_the_filter(client, rows, name, value, words):
    _refused(client.get(API + "messages/", {name: value}), name, words)


@pytest.mark.parametrize("name", ["created_after", "created_before"])
@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00Z", "9999-12-31", "2024-02-29", "2024-02-29T10:00:00+02:00"]
)
def test_possible_dates_at_the_edges_still_work(client, rows, name, value):
    assert client.get(API + "messages/", {name: value}).status_code == 200


@pytest.mark.parametrize("url", ["contacts/", "groups/"])
@pytest.mark.parametrize(
    "value",
    [
        "x" * (filters.MAX_SEARCH_LENGTH + 1),
        "x" * 100_000,  # SQLite: "LIKE or GLOB pattern too complex", a 500
        " ".join(["a"] * (filters.MAX_SEARCH_WORDS + 1)),
        " ".join(["a"] * 5_000),
    ],
)
def test_a_search_too_long_to_match_anything_is_a_400(client, rows, url, value):
    _refused(client.get(API + url, {"search": value}), "search", "characters")


@pytest.mark.parametrize("url", ["contacts/", "groups/"])
def test_the_longest_search_still_works(client, rows, url):
    longest = " ".join(["x" * 22] * filters.MAX_SEARCH_WORDS)
    assert len(longest) <= filters.MAX_SEARCH_LENGTH
    assert client.get(API + url, {"search": longest}).json()["results"] == []
    assert client.get(API + url, {"search": "x" * filters.MAX_SEARCH_LENGTH}).status_code == 200


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (url, name)
        for url, name in EVERY_FILTER
        if name in ("batch", "contact", "template", "in_reply_to", "group")
    ],
)
@pytest.mark.parametrize("value", [str(BIG), str(2**63), "1," + str(BIG)])
def test_ids_too_large_for_any_database_are_a_400(client, rows, url, name, value):
    _refused(client.get(API + url, {name: value}), name, "positive ids")


def test_the_largest_id_is_fine(client, rows):
    assert client.get(API + "messages/", {"batch": str(2**63 - 1)}).status_code == 200


# --- send and bulk bodies ------------------------------------------------------------------------


@pytest.fixture
def template():
    return Template.objects.create(name="Welcome", body="Hi {{ name }}")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"to": NUMBER, "body": "a\x00b"}, "body"),
        ({"to": NUMBER + "\x00", "body": "hi"}, "to"),
        ({"to": NUMBER, "body": "hi", "campaign": "c\x00"}, "campaign"),
        ({"to": NUMBER, "body": "hi", "data_field": "\x00"}, "data_field"),
        ({"to": NUMBER, "template": "T", "context": {"name": "x\x00"}}, "context"),
        ({"to": NUMBER, "template": "T", "context": {"name": "x", "other\x00": "y"}}, "context"),
        ({"to": NUMBER, "template": "T", "context": {"name": ["x", {"deep": "\x00"}]}}, "context"),
    ],
)
def test_send_refuses_a_nul_anywhere_naming_the_field(client, template, payload, field):
    if payload.get("template") == "T":
        payload = {**payload, "template": template.pk}
    _refused(client.post(API + "messages/send/", payload, format="json"), field)
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"recipients": [NUMBER + "\x00"], "body": "hi"}, "recipients"),
        ({"recipients": ["+2782123\x004567"], "body": "hi"}, "recipients"),
        ({"recipients": [NUMBER, {"to": "\x00" + NUMBER}], "body": "hi"}, "recipients"),
        ({"recipients": [{"to": NUMBER, "context": {"name": "\x00"}}], "template": "T"}, "recipients"),
        ({"recipients": [{"to": NUMBER, "context": {"\x00": "x"}}], "template": "T"}, "recipients"),
        ({"recipients": [NUMBER], "template": "T", "context": {"name": "a\x00"}}, "context"),
        ({"recipients": [NUMBER], "body": "a\x00"}, "body"),
        ({"recipients": [NUMBER], "body": "hi", "campaign": "\x00"}, "campaign"),
        ({"contacts": [BIG], "body": "hi"}, "contacts"),
        ({"group": BIG, "body": "hi"}, "group"),
        ({"recipients": [NUMBER], "template": BIG, "context": {"name": "x"}}, "template"),
    ],
)
def test_bulk_refuses_a_nul_anywhere_naming_the_field(client, template, payload, field):
    if payload.get("template") == "T":
        payload = {**payload, "template": template.pk}
    _refused(client.post(API + "messages/bulk/", payload, format="json"), field)
    assert not Batch.objects.exists()
    assert not Message.objects.exists()


def test_a_recipient_refusal_says_which_recipient(client):
    response = client.post(
        API + "messages/bulk/", {"recipients": [NUMBER, "\x00"], "body": "hi"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"recipients": {"1": ["Must not contain a NUL character."]}}


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        ("contacts/", {"phone_number": NUMBER, "groups": [BIG]}, "groups"),
        ("contacts/", {"phone_number": NUMBER, "first_name": "a\x00"}, "first_name"),
        ("groups/", {"name": "a\x00"}, "name"),
    ],
)
def test_contact_and_group_writes_refuse_what_no_database_takes(client, url, payload, field):
    _refused(client.post(API + url, payload, format="json"), field)


def test_adding_members_with_an_id_too_large_is_a_400(client, rows):
    group, _ = rows
    _refused(client.post(API + f"groups/{group.pk}/members/", {"contacts": [BIG]}, format="json"), "contacts")


@pytest.mark.parametrize("url", ["messages/", "contacts/", "groups/", "batches/", "templates/"])
@pytest.mark.parametrize("pk", [str(BIG), "%00", "1%00"])
def test_a_detail_url_with_an_impossible_id_is_a_404(client, url, pk):
    assert client.get(f"{API}{url}{pk}/").status_code == 404


# --- the sending service itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"body": "a\x00b"}, "body must not contain a NUL character"),
        ({"body": "a\ud800b"}, "body must not contain an unpaired surrogate"),
        ({"body": "hi", "campaign": "\x00"}, "campaign must not contain"),
        ({"body": "hi", "data_field": "x\x00"}, "data_field must not contain"),
        ({"template": "T", "context": {"name": "x\x00"}}, "context must not contain"),
        ({"template": "T", "context": {"name": "x", "unused": "\x00"}}, "context must not contain"),
        ({"template": "T", "context": {"name": "\udfff"}}, "context must not contain an unpaired surrogate"),
        ({"template": "T", "context": ["name", "x"]}, "context must be a mapping"),
    ],
)
def test_send_sms_refuses_unstorable_text_with_a_send_error(template, kwargs, words):
    if kwargs.get("template") == "T":
        kwargs = {**kwargs, "template": template}
    with pytest.raises(SendError, match=words):
        send_sms(NUMBER, **kwargs)
    assert not Message.objects.exists()


@pytest.mark.parametrize("to", [NUMBER + "\x00", "\x00" + NUMBER, NUMBER[:5] + "\ud800" + NUMBER[5:]])
def test_send_sms_refuses_a_number_with_a_nul_even_if_it_would_parse(to):
    # phonenumbers drops the NUL and reads the number: refused instead, as the API refuses it.
    with pytest.raises(SendError, match="to must not contain"):
        send_sms(to, "hi")


def test_send_sms_still_sends_ordinary_text(template):
    message = send_sms(NUMBER, template=template, context={"name": "Zoë 🙂"})
    assert message.body == "Hi Zoë 🙂"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"recipients": [NUMBER, NUMBER + "\x00"], "body": "hi"}, r"recipients\[1\] must not contain a NUL"),
        ({"recipients": [(NUMBER, {"name": "\x00"})], "template": "T"}, r"recipients\[0\] must not contain"),
        ({"recipients": [NUMBER], "template": "T", "context": {"name": "\x00"}}, "context must not contain"),
        ({"recipients": [NUMBER], "body": "\x00"}, "body must not contain"),
        ({"recipients": [NUMBER], "body": "hi", "campaign": "\ud800"}, "campaign must not contain"),
    ],
)
def test_send_bulk_refuses_unstorable_text_with_a_send_error(template, kwargs, words):
    if kwargs.get("template") == "T":
        kwargs = {**kwargs, "template": template}
    with pytest.raises(SendError, match=words):
        send_bulk(**kwargs)
    assert not Batch.objects.exists()
    assert not Message.objects.exists()
