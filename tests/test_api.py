"""Tests for the REST API (django_zoomconnect.api): permissions, filters, sending, batches, templates."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import include, path
from django.utils import timezone
from rest_framework.test import APIClient

from django_zoomconnect import conf
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.exceptions import ConfigurationError, InvalidNumberError
from django_zoomconnect.models import (
    Batch,
    Contact,
    Direction,
    Group,
    Membership,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    Template,
)
from tests.outbox import fast_outbox, outbound, zoomconnect_settings

# This module is also the URLconf of its tests: the API and the webhooks, as a project mounts them.
urlpatterns = [
    path("api/zoomconnect/", include("django_zoomconnect.api.urls")),
    path("zoomconnect/", include("django_zoomconnect.urls")),
]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

NUMBER = "+27821234567"
OTHER = "+27821234568"
API = "/api/zoomconnect/"


@pytest.fixture(autouse=True)
def _quiet_outbox(settings):
    # No balance requests (the default BALANCE_CHECK reads it), no worker: rows are what we test.
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "BALANCE_CHECK": "off"}


@pytest.fixture
def admin_user():
    # No password: hashing one takes longer than the test, and force_authenticate needs none.
    return get_user_model().objects.create_user("admin", is_staff=True, is_superuser=True)


@pytest.fixture
def client(admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    return api


# --- permissions -------------------------------------------------------------------------------


def test_anonymous_users_are_refused():
    for url in (API, API + "messages/", API + "batches/", API + "templates/"):
        assert APIClient().get(url).status_code in (401, 403), url


def test_users_who_are_not_staff_are_refused_by_default():
    user = get_user_model().objects.create_user("clerk")
    api = APIClient()
    api.force_authenticate(user)
    assert api.get(API + "messages/").status_code == 403
    assert api.post(API + "messages/send/", {"to": NUMBER, "body": "hi"}, format="json").status_code == 403
    assert not Message.objects.exists()


def test_admin_users_are_let_in(client):
    assert client.get(API + "messages/").status_code == 200


def test_permission_classes_come_from_the_setting_at_request_time():
    user = get_user_model().objects.create_user("clerk")
    api = APIClient()
    api.force_authenticate(user)
    with zoomconnect_settings(API_PERMISSION_CLASSES=["rest_framework.permissions.IsAuthenticated"]):
        assert api.get(API + "messages/").status_code == 200
    assert api.get(API + "messages/").status_code == 403


def test_a_permission_class_that_cannot_be_imported_is_a_configuration_error(client):
    with (
        zoomconnect_settings(API_PERMISSION_CLASSES=["myproject.permissions.Missing"]),
        pytest.raises(ConfigurationError, match=r"API_PERMISSION_CLASSES.*myproject\.permissions\.Missing"),
    ):
        client.get(API + "messages/")


def test_api_permission_classes_setting_default_and_validation():
    with zoomconnect_settings():
        assert conf.get("API_PERMISSION_CLASSES") == (
            "django_zoomconnect.api.permissions.StaffModelPermissions",
        )
    with zoomconnect_settings(API_PERMISSION_CLASSES="rest_framework.permissions.AllowAny"):
        assert conf.get("API_PERMISSION_CLASSES") == ("rest_framework.permissions.AllowAny",)
    for wrong in ([], ["IsAdminUser"], [".x.Y"], ["a.b."], [3], None):
        with (
            zoomconnect_settings(API_PERMISSION_CLASSES=wrong),
            pytest.raises(ConfigurationError, match="API_PERMISSION_CLASSES"),
        ):
            conf.get("API_PERMISSION_CLASSES")


# --- messages: list, filters, detail ------------------------------------------------------------


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_message_list_is_paginated_newest_first(client):
    messages = [outbound(body=f"m{i}") for i in range(3)]
    response = client.get(API + "messages/", {"page_size": 2})
    body = response.json()
    assert body["count"] == 3
    assert [item["id"] for item in body["results"]] == [messages[2].pk, messages[1].pk]
    assert body["next"] is not None
    assert ids(client.get(API + "messages/", {"page_size": 2, "page": 2})) == [messages[0].pk]


def test_message_filters(client):
    contact = Contact.objects.create(phone_number=OTHER, first_name="Thandi")
    batch = Batch.objects.create(campaign="promo")
    delivered = outbound(status=MessageStatus.DELIVERED, campaign="promo", batch=batch)
    failed = outbound(to=OTHER, status=MessageStatus.FAILED, contact=contact)
    reply = Message.objects.create(
        direction=Direction.INBOUND, from_number=OTHER, body="yes", status="RECEIVED", in_reply_to=failed
    )
    cases = {
        "direction=inbound": [reply.pk],
        "status=DELIVERED,failed": [failed.pk, delivered.pk],
        "campaign=promo": [delivered.pk],
        f"batch={batch.pk}": [delivered.pk],
        f"contact={contact.pk}": [failed.pk],
        f"in_reply_to={failed.pk}": [reply.pk],
        "number=082 123 4568": [reply.pk, failed.pk],
        f"reference={delivered.reference}": [delivered.pk],
        "read=false": [reply.pk, failed.pk, delivered.pk],
        "read=true": [],
        "created_after=2000-01-01": [reply.pk, failed.pk, delivered.pk],
        "created_before=2000-01-01": [],
    }
    for query, expected in cases.items():
        assert ids(client.get(API + "messages/?" + query.replace(" ", "+"))) == expected, query


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("stauts=FAILED", "stauts"),
        ("status=LOST", "status"),
        ("direction=sideways", "direction"),
        ("batch=x", "batch"),
        ("batch=0", "batch"),
        ("read=maybe", "read"),
        ("created_after=yesterday", "created_after"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it_never_the_whole_list(client, query, field):
    outbound()
    response = client.get(API + "messages/?" + query)
    assert response.status_code == 400
    assert field in response.json()


def test_message_detail_has_the_status_history_and_no_internals(client):
    message = outbound(status=MessageStatus.SENT, claim_token="secret-claim", remote_data={"raw": 1})
    MessageStatusChange.objects.create(
        message=message, old_status="QUEUED", new_status="SENT", source=MessageStatusChange.Source.SEND
    )
    response = client.get(API + f"messages/{message.pk}/")
    body = response.json()
    assert body["status"] == "SENT"
    assert body["reference"] == message.reference
    assert [(step["old_status"], step["new_status"]) for step in body["status_history"]] == [
        ("QUEUED", "SENT")
    ]
    for internal in ("claim_token", "claimed_at", "remote_data", "dispatch_after", "enqueued_at", "chunk"):
        assert internal not in body
    assert b"secret-claim" not in response.content


def test_messages_cannot_be_created_changed_or_deleted_directly(client):
    message = outbound()
    assert client.post(API + "messages/", {"to_number": NUMBER}, format="json").status_code == 405
    assert client.patch(API + f"messages/{message.pk}/", {"body": "x"}, format="json").status_code == 405
    assert client.delete(API + f"messages/{message.pk}/").status_code == 405


# --- sending -------------------------------------------------------------------------------------


def test_send_queues_one_message_and_wakes_a_worker_after_commit(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            API + "messages/send/",
            {"to": "082 123 4567", "body": "Your code is 4711", "campaign": "otp"},
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    message = Message.objects.get()
    assert body["id"] == message.pk
    assert (body["to_number"], body["status"], body["campaign"]) == (NUMBER, "QUEUED", "otp")
    assert body["parts"] == 1
    assert len(callbacks) == 1


def test_send_with_a_template_a_contact_and_a_time(client):
    contact = Contact.objects.create(phone_number=NUMBER, first_name="Thandi")
    template = Template.objects.create(name="visit", body="Hi {{ first_name }}, see you at {{ shop }}")
    when = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    response = client.post(
        API + "messages/send/",
        {
            "contact": contact.pk,
            "template": template.pk,
            "context": {"shop": "Acme"},
            "send_at": when.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert message.body == "Hi Thandi, see you at Acme"
    assert message.contact == contact
    assert message.scheduled_at == when
    assert response.json()["scheduled_at"] is not None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "hi"}, "to"),
        ({"to": NUMBER, "body": "hi", "send_at": "2030-01-31T09:00:00"}, "send_at"),
        ({"to": NUMBER, "body": "hi", "template": 999}, "template"),
        ({"to": NUMBER, "body": "hi", "context": ["x"]}, "context"),
        ({"to": NUMBER, "body": "hi", "campaign": "x" * 256}, "campaign"),
    ],
)
def test_send_validates_its_input(client, payload, field):
    response = client.post(API + "messages/send/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"to": "12", "body": "hi"}, "valid"),
        ({"to": NUMBER}, "body or a template"),
        ({"to": NUMBER, "body": "   "}, "empty"),
        ({"to": NUMBER, "body": "x" * 2000}, "MAX_PARTS"),
    ],
)
def test_a_send_the_service_refuses_is_a_400_with_its_reason(client, payload, words):
    response = client.post(API + "messages/send/", payload, format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert not Message.objects.exists()


def test_a_template_placeholder_without_a_value_is_a_400_naming_it(client):
    template = Template.objects.create(name="welcome", body="Hi {{ name }}")
    response = client.post(API + "messages/send/", {"to": NUMBER, "template": template.pk}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["detail"]


def test_a_send_to_an_opted_out_number_is_created_rejected(client):
    OptOut.objects.create(phone_number=NUMBER, source=OptOut.Source.MANUAL)
    response = client.post(API + "messages/send/", {"to": NUMBER, "body": "hi"}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "REJECTED"
    assert "opted out" in response.json()["last_error"]


def test_bulk_send_to_numbers_contacts_and_a_group(client, django_capture_on_commit_callbacks):
    group = Group.objects.create(name="Customers")
    member = Contact.objects.create(phone_number="+27821234569", first_name="Sipho")
    Membership.objects.create(contact=member, group=group)
    contact = Contact.objects.create(phone_number=OTHER, first_name="Thandi")
    template = Template.objects.create(name="t", body="Hi {{ first_name }} from {{ shop }}")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            API + "messages/bulk/",
            {
                "recipients": [{"to": NUMBER, "context": {"first_name": "Ann"}}, "12"],
                "contacts": [contact.pk],
                "group": group.pk,
                "template": template.pk,
                "context": {"shop": "Acme"},
                "campaign": "launch",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    batch = Batch.objects.get()
    assert body["id"] == batch.pk
    assert body["campaign"] == "launch"
    assert body["message_count"] == 4
    assert body["status_counts"] == {"QUEUED": 3, "REJECTED": 1}
    assert sorted(batch.messages.exclude(status="REJECTED").values_list("body", flat=True)) == [
        "Hi Ann from Acme",
        "Hi Sipho from Acme",
        "Hi Thandi from Acme",
    ]
    assert len(callbacks) == 1  # one chunk


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "hi"}, "recipients"),
        ({"body": "hi", "recipients": [{"number": NUMBER}]}, "recipients"),
        ({"body": "hi", "recipients": [""]}, "recipients"),
        ({"body": "hi", "recipients": [{"to": NUMBER, "context": "x"}]}, "recipients"),
        ({"body": "hi", "contacts": [12345]}, "contacts"),
        ({"body": "hi", "group": 12345}, "group"),
    ],
)
def test_bulk_validates_its_input(client, payload, field):
    response = client.post(API + "messages/bulk/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Batch.objects.exists()


def test_bulk_refused_for_lack_of_credit_says_so(client, zoomconnect_simulator):
    zoomconnect_simulator.set_balance(1)
    with zoomconnect_settings(BALANCE_CHECK="refuse"):
        response = client.post(
            API + "messages/bulk/", {"recipients": [NUMBER, OTHER], "body": "hi"}, format="json"
        )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The bulk send of 2 messages")
    assert not Message.objects.exists()


def test_cancel_and_retry_a_message(client, django_capture_on_commit_callbacks):
    queued = outbound(status=MessageStatus.QUEUED)
    response = client.post(API + f"messages/{queued.pk}/cancel/")
    assert response.json()["cancelled"] == 1
    assert response.json()["message"]["status"] == "CANCELLED"
    failed = outbound(status=MessageStatus.FAILED)
    with django_capture_on_commit_callbacks():
        response = client.post(API + f"messages/{failed.pk}/retry/")
    assert response.json() == {"queued": 1}
    failed.refresh_from_db()
    assert failed.status == MessageStatus.QUEUED


def test_batches_list_detail_cancel_and_retry(client, django_capture_on_commit_callbacks):
    batch = Batch.objects.create(campaign="promo")
    outbound(batch=batch, status=MessageStatus.QUEUED, chunk=0)
    outbound(to=OTHER, batch=batch, status=MessageStatus.FAILED, chunk=0)
    listed = client.get(API + "batches/").json()["results"]
    assert [(item["id"], item["status_counts"]) for item in listed] == [
        (batch.pk, {"QUEUED": 1, "FAILED": 1})
    ]
    assert client.get(API + f"batches/{batch.pk}/").json()["message_count"] == 2
    response = client.post(API + f"batches/{batch.pk}/cancel/").json()
    assert response["cancelled"] == 1
    assert response["batch"]["status"] == "cancelled"
    with django_capture_on_commit_callbacks():
        response = client.post(API + f"batches/{batch.pk}/retry/").json()
    assert response["queued"] == 1
    assert response["batch"]["status_counts"] == {"CANCELLED": 1, "QUEUED": 1}


def test_templates_are_read_only(client):
    template = Template.objects.create(name="welcome", body="Hi {{ name }}", remote_id=7)
    item = client.get(API + f"templates/{template.pk}/").json()
    assert (item["name"], item["placeholders"], item["is_remote"], item["remote_id"]) == (
        "welcome",
        ["name"],
        True,
        7,
    )
    assert client.post(API + "templates/", {"name": "x", "body": "y"}, format="json").status_code == 405
    assert client.delete(API + f"templates/{template.pk}/").status_code == 405


def test_the_api_root_lists_the_resources(client):
    root = client.get(API).json()
    assert {"messages", "batches", "templates"} <= set(root)


# --- end to end through the simulator ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_message_sent_through_the_api_is_sent_and_then_delivered(admin_user, zoomconnect_simulator):
    api = APIClient()
    api.force_authenticate(admin_user)
    with fast_outbox(zoomconnect_simulator), zoomconnect_settings(BALANCE_CHECK="off"):
        response = api.post(API + "messages/send/", {"to": NUMBER, "body": "hello"}, format="json")
        assert response.status_code == 201
        assert response.json()["status"] == "SENT"
        assert response.json()["remote_id"]
        zoomconnect_simulator.advance(60)
        zoomconnect_simulator.flush_webhooks()
        detail = api.get(API + f"messages/{response.json()['id']}/")
    assert detail.json()["status"] == "DELIVERED"
    assert [step["new_status"] for step in detail.json()["status_history"]][-1] == "DELIVERED"
    secret_values = ("simulator-token", "simulator-secret", "test-token-not-secret", "test-webhook-secret")
    for value in secret_values:
        assert value.encode() not in response.content + detail.content


@pytest.mark.parametrize(
    "name", ["messages/send/", "messages/bulk/", "messages/", "batches/", "templates/", ""]
)
def test_the_browsable_api_renders_its_pages_and_forms(client, name):
    Template.objects.create(name="welcome", body="Hi")
    response = client.get(API + name, HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 405)
    assert response["Content-Type"].startswith("text/html")
    if name in ("messages/send/", "messages/bulk/"):
        assert b'method="POST"' in response.content  # the form to try a send with


# --- contacts and groups: every change goes through the contacts service to the account ---------


def remote_contacts(simulator):
    return {c.contact_number: c for c in simulator.state.contacts.values()}


@pytest.mark.django_db(transaction=True)
def test_contact_and_group_changes_reach_the_account(admin_user, zoomconnect_simulator):
    api = APIClient()
    api.force_authenticate(admin_user)
    sim = zoomconnect_simulator

    group = api.post(API + "groups/", {"name": "Customers"}, format="json")
    assert group.status_code == 201, group.content
    assert group.json()["sync_state"] == "synced"
    group_id, remote_group = group.json()["id"], group.json()["remote_id"]
    assert sim.state.groups[remote_group].name == "Customers"

    created = api.post(
        API + "contacts/",
        {"phone_number": "082 123 4567", "first_name": "Thandi", "groups": [group_id]},
        format="json",
    )
    assert created.status_code == 201, created.content
    contact = created.json()
    assert (contact["phone_number"], contact["sync_state"], contact["groups"]) == (
        NUMBER,
        "synced",
        [group_id],
    )
    assert remote_contacts(sim)[NUMBER].first_name == "Thandi"
    assert sim.state.group_members(remote_group) == {contact["remote_id"]}

    changed = api.patch(API + f"contacts/{contact['id']}/", {"last_name": "Nkosi"}, format="json")
    assert changed.status_code == 200, changed.content
    assert remote_contacts(sim)[NUMBER].last_name == "Nkosi"
    assert changed.json()["groups"] == [group_id]  # untouched when not given

    renamed = api.put(API + f"groups/{group_id}/", {"name": "Clients"}, format="json")
    assert renamed.json()["name"] == "Clients"
    assert sim.state.groups[remote_group].name == "Clients"
    assert renamed.json()["member_count"] == 1

    members = api.get(API + f"groups/{group_id}/members/").json()
    assert [item["id"] for item in members["results"]] == [contact["id"]]
    assert api.delete(API + f"groups/{group_id}/members/{contact['id']}/").status_code == 204
    assert sim.state.group_members(remote_group) == set()
    added = api.post(API + f"groups/{group_id}/members/", {"contacts": [contact["id"]]}, format="json")
    assert added.json()["member_count"] == 1
    assert sim.state.group_members(remote_group) == {contact["remote_id"]}

    cleared = api.patch(API + f"contacts/{contact['id']}/", {"groups": []}, format="json")
    assert cleared.json()["groups"] == []
    assert sim.state.group_members(remote_group) == set()

    assert api.delete(API + f"contacts/{contact['id']}/").status_code == 204
    assert NUMBER not in remote_contacts(sim)
    assert api.delete(API + f"groups/{group_id}/").status_code == 204
    assert remote_group not in sim.state.groups
    assert not Contact.objects.exists()
    assert not Group.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_contact_the_provider_refuses_is_a_400_and_nothing_is_kept(
    admin_user, zoomconnect_simulator, monkeypatch
):
    def refuse(self, **fields):
        raise InvalidNumberError("Invalid mobile number", status=400, code=2)

    monkeypatch.setattr(ZoomConnectClient, "create_contact", refuse)
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.post(API + "contacts/", {"phone_number": NUMBER}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Zoom Connect refused it, so nothing was changed")
    assert "Invalid mobile number" in response.json()["detail"]
    assert not Contact.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_push_that_fails_for_now_is_kept_as_failed(admin_user, zoomconnect_simulator):
    api = APIClient()
    api.force_authenticate(admin_user)
    zoomconnect_simulator.inject_fault("503", path="contacts/create")
    response = api.post(API + "contacts/", {"phone_number": NUMBER}, format="json")
    assert response.status_code == 201
    assert response.json()["sync_state"] == "failed"
    assert response.json()["sync_error"]
    assert Contact.objects.get().remote_id is None


def test_contact_input_is_validated_before_anything_is_written(client):
    Contact.objects.create(phone_number=NUMBER)
    cases = [
        ({"phone_number": "12"}, "phone_number"),
        ({"phone_number": "082 123 4567"}, "phone_number"),  # another contact has it
        ({"phone_number": OTHER, "groups": [999]}, "groups"),
        ({"first_name": "x"}, "phone_number"),
    ]
    for payload, field in cases:
        response = client.post(API + "contacts/", payload, format="json")
        assert response.status_code == 400, payload
        assert field in response.json(), (payload, response.json())
    assert Contact.objects.count() == 1
    assert client.post(API + "groups/", {"name": ""}, format="json").status_code == 400
    assert client.post(API + "groups/", {"name": "   "}, format="json").status_code == 400
    assert not Group.objects.exists()


def test_contact_and_group_filters(client):
    customers = Group.objects.create(name="Customers")
    staff = Group.objects.create(name="Staff")
    thandi = Contact.objects.create(phone_number=NUMBER, first_name="Thandi", last_name="Nkosi")
    sipho = Contact.objects.create(phone_number=OTHER, first_name="Sipho", sync_state="synced")
    Membership.objects.create(contact=thandi, group=customers)
    Membership.objects.create(contact=sipho, group=customers, sync_state="deleting")
    Membership.objects.create(contact=sipho, group=staff)
    cases = {
        f"group={customers.pk}": [thandi.pk],
        f"group={customers.pk},{staff.pk}": [thandi.pk, sipho.pk],
        "search=thandi nko": [thandi.pk],
        "number=082 123 4568": [sipho.pk],
        "sync_state=synced": [sipho.pk],
    }
    for query, expected in cases.items():
        assert sorted(ids(client.get(API + "contacts/?" + query.replace(" ", "+")))) == sorted(expected), (
            query
        )
    listed = client.get(API + f"contacts/{sipho.pk}/").json()
    assert listed["groups"] == [staff.pk]  # the membership being removed is not listed
    assert client.get(API + "contacts/?grup=1").status_code == 400
    assert client.get(API + "contacts/?number=12").status_code == 400
    groups = client.get(API + "groups/").json()["results"]
    assert [(g["name"], g["member_count"]) for g in groups] == [("Customers", 1), ("Staff", 1)]
    assert ids(client.get(API + "groups/?search=sta")) == [staff.pk]
