"""Tests for services/push.py: push runs over what is pending, runs that stop, and round trips with
pulls."""

import pytest

from django_zoomconnect.exceptions import ConnectError
from django_zoomconnect.models import Contact, Group, SyncState
from django_zoomconnect.services import contacts, push
from django_zoomconnect.services.pull import pull
from django_zoomconnect.simulator.records import Contact as SimContact
from django_zoomconnect.simulator.records import Group as SimGroup
from tests.accounts import calls, remote_contacts

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(zoomconnect_simulator):
    return zoomconnect_simulator


# --- push runs -----------------------------------------------------------------------------------


def test_push_pending_stops_when_the_provider_cannot_be_reached(sim):
    for i in range(3):
        contacts.create_contact(f"+2782123456{i}", push=False)
    sim.inject_fault("refuse")

    report = push.push_pending()

    assert "contacts" in report.errors
    assert "ConnectError" in report.errors["contacts"]
    assert isinstance(report.stopped_by, ConnectError)
    assert report.kinds["contacts"].failed == 1
    assert not report.ok
    assert Contact.objects.filter(sync_state=SyncState.PENDING).count() == 2
    assert push.push_pending().kinds["contacts"].created == 3


def test_push_pending_stops_on_refused_credentials(sim, settings):
    contacts.create_contact("+27821234567", push=False)
    contacts.create_contact("+27821234568", push=False)
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "API_TOKEN": "wrong-token"}

    report = push.push_pending()

    assert "AuthenticationError" in report.errors["contacts"]
    assert len(calls(sim)) == 1


def test_push_contacts_sends_synced_rows_again(sim, pushed):
    with pushed():
        contact = contacts.create_contact("+27821234567", first_name="Thandi")
    contact.refresh_from_db()
    sim.state.contacts[contact.remote_id].first_name = "Changed there"

    report = push.push_contacts([contact])

    assert report.kinds["contacts"].updated == 1
    assert remote_contacts(sim)[contact.remote_id][1] == "Thandi"


def test_push_contact_returns_the_stored_row(sim):
    contact = contacts.create_contact("+27821234567", push=False)
    stored = push.push_contact(contact)
    assert stored is not None
    assert stored.sync_state == SyncState.SYNCED


def test_without_credentials_the_row_is_kept_and_the_reason_recorded(sim, settings, pushed):
    settings.ZOOMCONNECT = {}
    with pushed():
        contact = contacts.create_contact("+27821234567")
    contact.refresh_from_db()
    assert contact.sync_state == SyncState.FAILED
    assert "EMAIL" in contact.sync_error


# --- round trips with pulls ----------------------------------------------------------------------


def test_round_trip_pull_edit_push_pull(sim, pushed):
    sim.state.contacts["c1"] = SimContact(contact_id="c1", contact_number="+27821234567", first_name="Remote")
    sim.state.index_contact(sim.state.contacts["c1"])
    sim.state.groups["g1"] = SimGroup("g1", "Team")
    pull(kinds=["contacts", "groups"])
    contact, group = Contact.objects.get(), Group.objects.get()

    with pushed():
        contacts.update_contact(contact, first_name="Edited here")
        contacts.add_to_group(contact, group)
        contacts.rename_group(group, "Team A")
    sim.state.contacts["c1"].last_name = "Edited there"

    report = pull(kinds=["contacts", "groups"])

    assert report.kinds["contacts"].updated == 1
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("Edited here", "Edited there")
    assert sim.state.group_members("g1") == {"c1"}
    assert sim.state.groups["g1"].name == "Team A"
    assert report.kinds["groups"].unchanged == 1


def test_round_trip_a_local_edit_survives_a_pull_until_pushed(sim):
    sim.state.contacts["c1"] = SimContact(contact_id="c1", contact_number="+27821234567", first_name="Remote")
    sim.state.index_contact(sim.state.contacts["c1"])
    pull(kinds=["contacts"])
    contact = Contact.objects.get()
    contacts.update_contact(contact, first_name="Local", push=False)
    sim.state.contacts["c1"].first_name = "Remote again"

    assert pull(kinds=["contacts"]).kinds["contacts"].conflicts == 1
    assert Contact.objects.get().first_name == "Local"
    push.push_pending()
    assert sim.state.contacts["c1"].first_name == "Local"
    assert pull(kinds=["contacts"]).kinds["contacts"].unchanged == 1


def test_round_trip_deletions_on_either_side(sim, pushed):
    with pushed():
        kept = contacts.create_contact("+27821234567")
        gone_here = contacts.create_contact("+27821234568")
        group = contacts.create_group("Old")
    kept.refresh_from_db()
    group.refresh_from_db()
    with pushed():
        contacts.delete_contact(gone_here)
    sim.state.delete_contact(kept.remote_id)
    del sim.state.groups[group.remote_id]

    report = pull(kinds=["contacts", "groups"])

    assert len(sim.state.contacts) == 0
    assert report.kinds["contacts"].deleted == 1
    assert Contact.objects.get().sync_state == SyncState.REMOTE_DELETED
    assert Group.objects.get().sync_state == SyncState.REMOTE_DELETED


def test_the_push_pending_changes_task(sim):
    from django_zoomconnect import tasks

    contacts.create_contact("+27821234567", push=False)

    result = tasks.push_pending_changes.apply().get()

    assert result["direction"] == "push"
    assert result["kinds"]["contacts"]["created"] == 1
    assert len(sim.state.contacts) == 1


def test_a_duplicate_of_a_contact_deleted_on_the_account_says_how_to_bring_it_back(sim, pushed):
    gone = Contact.objects.create(
        phone_number="+27821234567", remote_id="c1", sync_state=SyncState.REMOTE_DELETED
    )
    with pytest.raises(contacts.DuplicatePhoneNumberError, match="change it to create it there again"):
        contacts.create_contact("+27821234567")
    with pushed():
        contacts.update_contact(gone, first_name="Back")  # re-created on the account
    assert sim.state.contacts[Contact.objects.get().remote_id].first_name == "Back"
