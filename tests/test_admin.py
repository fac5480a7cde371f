"""Tests for admin.py: every model's changelist, search and filters, remote fields read-only."""

import pytest
from django.urls import reverse

from django_zoomconnect.models import Batch, Contact, Group, Membership, Message, SyncState, Template

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    # pytest-django's admin_client hashes a password (slow); a forced login needs none.
    user = django_user_model.objects.create(username="admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def rows():
    group = Group.objects.create(name="Customers", remote_id="g1", sync_state=SyncState.SYNCED)
    thandi = Contact.objects.create(phone_number="+27821234567", first_name="Thandi", remote_id="c1")
    sipho = Contact.objects.create(phone_number="+27821234568", first_name="Sipho")
    Membership.objects.create(contact=thandi, group=group)
    template = Template.objects.create(name="Welcome", body="Hi {{ name }}", remote_id=3)
    message = Message.objects.create(to_number="+27821234567", body="Hello there", campaign="spring")
    batch = Batch.objects.create(campaign="spring", group=group, template=template)
    return {
        "group": group,
        "thandi": thandi,
        "sipho": sipho,
        "template": template,
        "message": message,
        "batch": batch,
    }


@pytest.mark.parametrize("model", ["contact", "group", "template", "message", "batch"])
def test_every_changelist_and_change_page_renders(admin_client, rows, model):
    response = admin_client.get(reverse(f"admin:zoomconnect_{model}_changelist"))
    assert response.status_code == 200
    obj = rows["thandi" if model == "contact" else model]
    response = admin_client.get(reverse(f"admin:zoomconnect_{model}_change", args=[obj.pk]))
    assert response.status_code == 200


def test_contact_search_and_filters(admin_client, rows):
    url = reverse("admin:zoomconnect_contact_changelist")
    response = admin_client.get(url, {"q": "Thandi"})
    assert list(response.context["cl"].result_list) == [rows["thandi"]]
    response = admin_client.get(url, {"sync_state__exact": SyncState.PENDING})
    assert set(response.context["cl"].result_list) == {rows["thandi"], rows["sipho"]}
    response = admin_client.get(url, {"groups__id__exact": rows["group"].pk})
    assert list(response.context["cl"].result_list) == [rows["thandi"]]


def test_message_search_by_number_and_filter_by_direction(admin_client, rows):
    url = reverse("admin:zoomconnect_message_changelist")
    response = admin_client.get(url, {"q": "+27821234567"})
    assert list(response.context["cl"].result_list) == [rows["message"]]
    response = admin_client.get(url, {"direction__exact": "inbound"})
    assert list(response.context["cl"].result_list) == []


def test_remote_fields_are_read_only(admin_client, rows):
    response = admin_client.get(reverse("admin:zoomconnect_contact_change", args=[rows["thandi"].pk]))
    form_fields = response.context["adminform"].form.fields
    assert "phone_number" in form_fields
    for name in ("remote_id", "remote_data", "synced_at", "sync_state", "sync_error"):
        assert name not in form_fields


def test_remote_template_text_is_read_only_but_a_local_one_is_editable(admin_client, rows):
    remote = admin_client.get(reverse("admin:zoomconnect_template_change", args=[rows["template"].pk]))
    assert "body" not in remote.context["adminform"].form.fields
    local = Template.objects.create(name="Local", body="Hello")
    response = admin_client.get(reverse("admin:zoomconnect_template_change", args=[local.pk]))
    assert "body" in response.context["adminform"].form.fields
