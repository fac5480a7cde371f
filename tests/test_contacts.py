"""Tests for services/contacts.py: contacts, groups and memberships written here and pushed to the
simulator; failures recorded and retried, refusals undone and raised."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.exceptions import InvalidNumberError, PhoneNumberError
from django_zoomconnect.models import Contact, Group, Membership, SyncState
from django_zoomconnect.services import contacts
from django_zoomconnect.simulator.records import Contact as SimContact
from tests.accounts import members, remote_contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(zoomconnect_simulator):
    return zoomconnect_simulator


# --- contacts ------------------------------------------------------------------------------------


def test_a_new_contact_reaches_the_account(sim, pushed):
    with pushed():
        contact = contacts.create_contact(
            "082 123 4567", first_name="Thandi", last_name="Dlamini", title="Ms"
        )

    contact.refresh_from_db()
    assert contact.phone_number == "+27821234567"
    assert contact.sync_state == SyncState.SYNCED
    assert contact.sync_error == ""
    assert contact.synced_at is not None
    assert remote_contacts(sim) == {contact.remote_id: ("+27821234567", "Thandi", "Dlamini", "Ms")}
    assert contact.remote_data["contactId"] == contact.remote_id


def test_push_false_leaves_the_contact_pending_for_push_pending(sim, pushed):
    with pushed():
        contact = contacts.create_contact("+27821234567", push=False)
    assert contact.sync_state == SyncState.PENDING
    assert sim.requests == []

    report = contacts.push_pending()

    assert report.kinds["contacts"].created == 1
    assert Contact.objects.get().sync_state == SyncState.SYNCED
    assert len(sim.state.contacts) == 1


def test_a_change_is_pushed_and_an_unchanged_save_calls_nothing(sim, pushed):
    with pushed():
        contact = contacts.create_contact("+27821234567", first_name="Thandi")
    with pushed():
        contacts.update_contact(contact, first_name="Thandiwe", phone_number="0821234568")
    contact.refresh_from_db()
    assert remote_contacts(sim)[contact.remote_id][:2] == ("+27821234568", "Thandiwe")
    assert contact.sync_state == SyncState.SYNCED
    sim.clear_requests()

    with pushed():
        contacts.update_contact(contact, first_name="Thandiwe")

    assert sim.requests == []


def test_an_unknown_field_is_refused(sim):
    contact = Contact.objects.create(phone_number="+27821234567")
    with pytest.raises(TypeError, match="cannot change remote_id"):
        contacts.update_contact(contact, remote_id="x")


def test_an_invalid_number_is_refused_before_anything_is_written(sim):
    with pytest.raises(PhoneNumberError, match="'12' is not a valid phone number"):
        contacts.create_contact("12")
    assert not Contact.objects.exists()
    assert sim.requests == []


def test_a_duplicate_number_is_a_clear_validation_error(sim, pushed):
    with pushed():
        first = contacts.create_contact("+27821234567")

    with pytest.raises(contacts.DuplicatePhoneNumberError) as excinfo:
        contacts.create_contact("082 123 4567", first_name="Again")

    error = excinfo.value
    assert isinstance(error, ValidationError)
    assert str(error) == f"Contact #{first.pk} already has the number +27821234567."
    assert error.message_dict == {"phone_number": [str(error)]}
    assert error.existing == first
    assert Contact.objects.count() == 1
    assert len(sim.state.contacts) == 1


def test_a_contact_is_deleted_here_once_the_account_deleted_it(sim, pushed):
    with pushed():
        contact = contacts.create_contact("+27821234567")
    with pushed():
        contacts.delete_contact(contact)
    assert not Contact.objects.exists()
    assert sim.state.contacts == {}


def test_a_failed_deletion_keeps_the_row_until_push_pending_succeeds(sim, pushed):
    with pushed():
        contact = contacts.create_contact("+27821234567")
    sim.inject_fault("503", method="DELETE")

    with pushed():
        contacts.delete_contact(contact)

    contact.refresh_from_db()
    assert contact.sync_state == SyncState.DELETING
    assert "503" in contact.sync_error
    with pytest.raises(ValidationError, match="being deleted"):
        contacts.update_contact(contact, first_name="Too late")

    report = contacts.push_pending()

    assert report.kinds["contacts"].deleted == 1
    assert not Contact.objects.exists()
    assert sim.state.contacts == {}


def test_a_contact_never_pushed_is_deleted_at_once(sim):
    contact = contacts.create_contact("+27821234567", push=False)
    contacts.delete_contact(contact)
    assert not Contact.objects.exists()
    assert sim.requests == []


def test_a_transport_failure_is_recorded_and_retried_without_an_exception(sim, pushed):
    sim.inject_fault("500", path="contacts/create")

    with pushed():
        contact = contacts.create_contact("+27821234567")

    contact.refresh_from_db()
    assert contact.sync_state == SyncState.FAILED
    assert contact.remote_id is None
    assert "500" in contact.sync_error
    report = contacts.push_pending()
    assert report.kinds["contacts"].created == 1
    contact.refresh_from_db()
    assert contact.sync_state == SyncState.SYNCED
    assert len(sim.state.contacts) == 1


def test_a_create_that_may_have_happened_is_found_instead_of_made_twice(sim, pushed):
    sim.inject_fault("drop", path="contacts/create")  # created, then the answer is lost

    with pushed():
        contact = contacts.create_contact("+27821234567", first_name="Thandi")

    contact.refresh_from_db()
    assert contact.sync_state == SyncState.FAILED
    assert len(sim.state.contacts) == 1
    report = contacts.push_pending()
    assert report.kinds["contacts"].adopted == 1
    contact.refresh_from_db()
    assert contact.remote_id == next(iter(sim.state.contacts))
    assert contact.sync_state == SyncState.SYNCED
    assert len(sim.state.contacts) == 1


def test_a_contact_deleted_on_the_account_is_created_again_with_its_groups(sim, pushed):
    with pushed():
        group = contacts.create_group("VIP")
        contact = contacts.create_contact("+27821234567", groups=[group])
    old_id = Contact.objects.get().remote_id
    assert members(sim, group) == {old_id}
    sim.state.delete_contact(old_id)

    with pushed():
        contacts.update_contact(contact, first_name="Back")

    contact.refresh_from_db()
    assert contact.remote_id != old_id
    assert remote_contacts(sim)[contact.remote_id][1] == "Back"
    assert members(sim, group) == {contact.remote_id}
    assert Membership.objects.get().sync_state == SyncState.SYNCED


@pytest.mark.django_db(transaction=True)
def test_a_refused_create_is_undone_and_raised(sim, monkeypatch):
    def refuse(self, **fields):
        raise InvalidNumberError(
            "Zoom Connect refused POST contacts/create (400, code 2): Invalid mobile number"
        )

    monkeypatch.setattr(ZoomConnectClient, "create_contact", refuse)  # a 400 the simulator never gives

    with pytest.raises(InvalidNumberError, match="Invalid mobile number"):
        contacts.create_contact("+27821234567", first_name="Thandi")

    assert not Contact.objects.exists()  # nothing changed: the same call can be made again


@pytest.mark.django_db(transaction=True)
def test_a_refused_update_restores_the_stored_values(sim, monkeypatch):
    contact = contacts.create_contact("+27821234567", first_name="Thandi")
    assert contact.sync_state == SyncState.SYNCED  # pushed before create_contact returned
    assert contact.remote_id in sim.state.contacts

    def refuse(self, contact_id, **fields):
        raise InvalidNumberError("Zoom Connect refused POST contacts/x (400, code 2): Invalid mobile number")

    monkeypatch.setattr(ZoomConnectClient, "update_contact", refuse)

    with pytest.raises(InvalidNumberError):
        contacts.update_contact(contact, phone_number="+27821234599", first_name="Other")

    stored = Contact.objects.get()
    assert (stored.phone_number, stored.first_name, stored.sync_state) == ("+27821234567", "Thandi", "synced")
    assert (contact.phone_number, contact.first_name) == ("+27821234567", "Thandi")


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_refusal_is_recorded_not_raised(sim, monkeypatch):
    def refuse(self, **fields):
        raise InvalidNumberError(
            "Zoom Connect refused POST contacts/create (400, code 2): Invalid mobile number"
        )

    monkeypatch.setattr(ZoomConnectClient, "create_contact", refuse)

    with transaction.atomic():
        contacts.create_contact("+27821234567")

    stored = Contact.objects.get()
    assert stored.sync_state == SyncState.FAILED
    assert "Invalid mobile number" in stored.sync_error


def test_a_row_linked_elsewhere_while_it_was_created_leaves_no_duplicate(sim, pushed, monkeypatch):
    seed = SimContact(contact_id="theirs", contact_number="+27821234567")
    sim.state.contacts["theirs"] = seed
    create = ZoomConnectClient.create_contact

    def create_while_a_pull_adopts(self, **fields):
        created = create(self, **fields)
        Contact.objects.update(remote_id="theirs")  # what a concurrent pull's adoption does
        return created

    monkeypatch.setattr(ZoomConnectClient, "create_contact", create_while_a_pull_adopts)

    with pushed():
        contacts.create_contact("+27821234567")

    assert list(sim.state.contacts) == ["theirs"]
    assert Contact.objects.get().remote_id == "theirs"


# --- groups and memberships ----------------------------------------------------------------------


def test_groups_are_created_renamed_and_deleted(sim, pushed):
    with pushed():
        group = contacts.create_group("  Customers ")
    group.refresh_from_db()
    assert group.name == "Customers"
    assert sim.state.groups[group.remote_id].name == "Customers"
    with pushed():
        contacts.rename_group(group, "Clients")
    assert sim.state.groups[group.remote_id].name == "Clients"
    with pushed():
        contacts.delete_group(group)
    assert sim.state.groups == {}
    assert not Group.objects.exists()


def test_a_group_needs_a_name(sim):
    with pytest.raises(ValidationError) as excinfo:
        contacts.create_group("   ")
    assert excinfo.value.message_dict == {"name": ["A group needs a name."]}
    assert sim.requests == []


def test_memberships_are_added_and_removed_on_the_account(sim, pushed):
    with pushed():
        group = contacts.create_group("VIP")
        thandi = contacts.create_contact("+27821234567")
        sipho = contacts.create_contact("+27821234568")
    with pushed():
        contacts.add_to_group(thandi, group)
        contacts.add_to_group(sipho, group)
    thandi.refresh_from_db()
    sipho.refresh_from_db()
    assert members(sim, group) == {thandi.remote_id, sipho.remote_id}
    assert set(Membership.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}
    sim.clear_requests()
    with pushed():
        contacts.add_to_group(thandi, group)  # already there: nothing to do
    assert sim.requests == []

    with pushed():
        contacts.remove_from_group(thandi, group)

    assert members(sim, group) == {sipho.remote_id}
    assert list(Membership.objects.values_list("contact", flat=True)) == [sipho.pk]


def test_a_membership_waits_for_its_contact_and_group(sim, pushed):
    with pushed():
        group = contacts.create_group("VIP", push=False)
        contact = contacts.create_contact("+27821234567", groups=[group], push=False)
    assert Membership.objects.get().sync_state == SyncState.PENDING

    report = contacts.push_pending()

    assert report.kinds["groups"].created == 1
    assert report.kinds["contacts"].created == 1
    assert report.kinds["memberships"].created == 1
    contact.refresh_from_db()
    assert members(sim, group) == {contact.remote_id}


def test_a_membership_of_an_unpushed_contact_is_counted_as_waiting(sim, pushed):
    with pushed():
        group = contacts.create_group("VIP")
    contact = Contact.objects.create(phone_number="+27821234567", sync_state=SyncState.DELETING)
    Membership.objects.create(contact=contact, group=group)

    report = contacts.push_pending()

    assert report.kinds["memberships"].waiting == 1
    assert report.kinds["contacts"].deleted == 1  # never on the account: deleted here at once


def test_removing_a_membership_never_pushed_deletes_it_at_once(sim):
    group = contacts.create_group("VIP", push=False)
    contact = contacts.create_contact("+27821234567", groups=[group], push=False)
    contacts.remove_from_group(contact, group)
    assert not Membership.objects.exists()
    assert sim.requests == []
