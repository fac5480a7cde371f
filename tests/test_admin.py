"""Tests for admin.py: changelists, search and filters, read-only remote fields, and saves,
deletions, membership changes, "Sync now" and "Push" reaching the simulator."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from django_zoomconnect.models import Batch, Contact, Group, Membership, Message, SyncState, Template
from django_zoomconnect.services import contacts
from django_zoomconnect.simulator.records import Contact as SimContact

pytestmark = pytest.mark.django_db


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


# --- writes reach the account ------------------------------------------------------------------


@pytest.fixture
def sim(zoomconnect_simulator):
    return zoomconnect_simulator


def membership_forms(*group_or_contact_pks, field="group", initial=()):
    data = {
        "memberships-TOTAL_FORMS": str(len(initial) + len(group_or_contact_pks)),
        "memberships-INITIAL_FORMS": str(len(initial)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for i, (membership_pk, other_pk, delete) in enumerate(initial):
        data[f"memberships-{i}-id"] = str(membership_pk)
        data[f"memberships-{i}-{field}"] = str(other_pk)
        if delete:
            data[f"memberships-{i}-DELETE"] = "on"
    for j, pk in enumerate(group_or_contact_pks, start=len(initial)):
        data[f"memberships-{j}-{field}"] = str(pk)
    return data


def test_adding_a_contact_with_a_group_in_the_admin_pushes_both(admin_client, sim, pushed):
    with pushed():
        group = contacts.create_group("VIP")
    group.refresh_from_db()
    data = {"phone_number": "082 123 4567", "first_name": "Thandi", "last_name": "", "title": ""}

    with pushed():
        response = admin_client.post(
            reverse("admin:zoomconnect_contact_add"), {**data, **membership_forms(group.pk)}
        )

    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.phone_number, contact.sync_state) == ("+27821234567", SyncState.SYNCED)
    assert sim.state.contacts[contact.remote_id].first_name == "Thandi"
    assert sim.state.group_members(group.remote_id) == {contact.remote_id}


def test_changing_a_contact_and_its_groups_in_the_admin(admin_client, sim, pushed):
    with pushed():
        old = contacts.create_group("Old")
        new = contacts.create_group("New")
        contact = contacts.create_contact("+27821234567", groups=[old])
    old.refresh_from_db()
    new.refresh_from_db()
    contact.refresh_from_db()
    membership = Membership.objects.get()
    data = {"phone_number": "+27821234567", "first_name": "Renamed", "last_name": "", "title": ""}
    forms = membership_forms(new.pk, initial=[(membership.pk, old.pk, True)])

    with pushed():
        response = admin_client.post(
            reverse("admin:zoomconnect_contact_change", args=[contact.pk]), {**data, **forms}
        )

    assert response.status_code == 302
    assert sim.state.contacts[contact.remote_id].first_name == "Renamed"
    assert sim.state.group_members(old.remote_id) == set()
    assert sim.state.group_members(new.remote_id) == {contact.remote_id}
    assert list(Membership.objects.values_list("group", flat=True)) == [new.pk]


def test_a_duplicate_number_is_a_form_error(admin_client, sim):
    Contact.objects.create(phone_number="+27821234567")
    data = {"phone_number": "0821234567", "first_name": "", "last_name": "", "title": ""}
    response = admin_client.post(reverse("admin:zoomconnect_contact_add"), {**data, **membership_forms()})
    assert response.status_code == 200
    assert "phone_number" in response.context["adminform"].form.errors
    assert Contact.objects.count() == 1
    assert sim.requests == []


def test_deleting_contacts_and_groups_in_the_admin_deletes_them_on_the_account(admin_client, sim, pushed):
    with pushed():
        group = contacts.create_group("VIP")
        thandi = contacts.create_contact("+27821234567")
        sipho = contacts.create_contact("+27821234568")

    with pushed():
        admin_client.post(reverse("admin:zoomconnect_contact_delete", args=[thandi.pk]), {"post": "yes"})
        admin_client.post(
            reverse("admin:zoomconnect_group_changelist"),
            {"action": "delete_selected", "_selected_action": [group.pk], "post": "yes"},
        )

    assert list(Contact.objects.all()) == [sipho]
    assert not Group.objects.exists()
    assert list(sim.state.contacts) == [Contact.objects.get().remote_id]
    assert sim.state.groups == {}


@pytest.mark.django_db(transaction=True)
def test_a_failed_push_is_shown_as_a_warning(admin_client, sim):
    sim.inject_fault("503", path="contacts/create")
    data = {"phone_number": "0821234567", "first_name": "Thandi", "last_name": "", "title": ""}

    response = admin_client.post(
        reverse("admin:zoomconnect_contact_add"), {**data, **membership_forms()}, follow=True
    )

    shown = [str(m) for m in response.context["messages"]]
    assert any("is not on Zoom Connect yet (it will be retried)" in m and "503" in m for m in shown)
    assert Contact.objects.get().sync_state == SyncState.FAILED


@pytest.mark.parametrize("model", ["contact", "group", "template", "message"])
def test_every_mirrored_list_has_a_sync_now_button(admin_client, sim, model):
    response = admin_client.get(reverse(f"admin:zoomconnect_{model}_changelist"))
    url = reverse(f"admin:zoomconnect_{model}_sync_now")
    assert f'action="{url}"' in response.content.decode()
    assert admin_client.get(url).status_code == 405


def test_batches_are_not_pulled(admin_client, sim):
    response = admin_client.get(reverse("admin:zoomconnect_batch_changelist"))
    assert "sync-now" not in response.content.decode()


def test_sync_now_pulls_the_whole_kind(admin_client, sim):
    for i in range(2):
        sim.state.contacts[f"c{i}"] = SimContact(contact_id=f"c{i}", contact_number=f"+2782123456{i}")
    sim.state.contacts["bad"] = SimContact(contact_id="bad", contact_number="12")

    response = admin_client.post(reverse("admin:zoomconnect_contact_sync_now"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:zoomconnect_contact_changelist")
    shown = [str(m) for m in response.context["messages"]]
    assert "Pulled from Zoom Connect: contacts: 2 created, 1 skipped." in shown
    assert any(m.startswith("contacts bad: '12' is not a valid phone number") for m in shown)
    assert Contact.objects.count() == 2


def test_sync_now_with_missing_settings_says_so(admin_client, settings):
    settings.ZOOMCONNECT = {}
    response = admin_client.post(reverse("admin:zoomconnect_contact_sync_now"), follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert any("EMAIL" in m for m in shown), shown


def test_the_sync_action_pulls_templates(admin_client, sim):
    local = Template.objects.create(name="Mine", body="Hi")
    response = admin_client.post(
        reverse("admin:zoomconnect_template_changelist"),
        {"action": "pull_from_zoomconnect", "_selected_action": [local.pk]},
        follow=True,
    )
    assert "Pulled from Zoom Connect: templates: 3 created." in [str(m) for m in response.context["messages"]]
    assert Template.objects.count() == 4


def test_sync_now_reports_a_failure(admin_client, sim):
    sim.inject_fault("500", path="messages/all")
    response = admin_client.post(reverse("admin:zoomconnect_message_sync_now"), follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Pulled from Zoom Connect: messages failed:") and "500" in m for m in shown)


def test_sync_now_needs_the_change_permission(client, django_user_model, sim):
    viewer = django_user_model.objects.create(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(viewer)
    response = client.get(reverse("admin:zoomconnect_contact_changelist"))
    assert response.status_code == 200
    assert "sync-now" not in response.content.decode()
    assert client.post(reverse("admin:zoomconnect_contact_sync_now")).status_code == 403
    assert sim.requests == []


def test_the_push_action_sends_the_selected_contacts(admin_client, sim, pushed):
    with pushed():
        contact = contacts.create_contact("+27821234567", first_name="Here")
    contact.refresh_from_db()
    sim.state.contacts[contact.remote_id].first_name = "There"
    never = Contact.objects.create(phone_number="+27821234568")

    response = admin_client.post(
        reverse("admin:zoomconnect_contact_changelist"),
        {"action": "push_to_zoomconnect", "_selected_action": [contact.pk, never.pk]},
        follow=True,
    )

    assert "Pushed to Zoom Connect: contacts: 1 created, 1 updated." in [
        str(m) for m in response.context["messages"]
    ]
    assert sim.state.contacts[contact.remote_id].first_name == "Here"
    assert len(sim.state.contacts) == 2
