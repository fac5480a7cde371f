"""Tests for simulator/handlers/contacts.py and groups.py: contacts, groups and memberships."""

from __future__ import annotations

import pytest

from tests.simulator_calls import call, create_contact, create_group, error, ok, send


def test_contact_crud(sim):
    contact = create_contact(sim, title="Ms", firstName="Thandi", lastName="Nkosi")
    assert set(contact) == {"contactId", "title", "firstName", "lastName", "contactNumber", "links"}
    assert isinstance(contact["contactId"], str)
    assert contact["contactNumber"] == "+27821234567"
    assert contact["links"] == []
    contact_id = contact["contactId"]
    assert ok(call(sim, "GET", f"contacts/{contact_id}")) == contact
    updated = ok(
        call(sim, "POST", f"contacts/{contact_id}", {"lastName": "Dlamini", "contactNumber": "0831234567"})
    )
    assert updated["lastName"] == "Dlamini"
    assert updated["firstName"] == "Thandi"
    assert updated["contactNumber"] == "+27831234567"
    listed = ok(call(sim, "GET", "contacts/all"))
    assert listed == {"webServiceContacts": [updated], "links": []}
    response = call(sim, "DELETE", f"contacts/{contact_id}")
    assert response.status == 200
    assert response.body == b""
    error(call(sim, "GET", f"contacts/{contact_id}"), 404, 404)
    error(call(sim, "DELETE", f"contacts/{contact_id}"), 404)
    error(call(sim, "POST", f"contacts/{contact_id}", {"firstName": "x"}), 404)


def test_contact_needs_a_valid_number(sim):
    error(call(sim, "POST", "contacts/create", {"firstName": "No number"}), 400, 2)
    contact_id = create_contact(sim)["contactId"]
    error(call(sim, "POST", f"contacts/{contact_id}", {"contactNumber": "123"}), 400, 2)


def test_messages_to_a_contact_link_to_it(sim):
    contact_id = create_contact(sim)["contactId"]
    message = ok(call(sim, "GET", f"messages/{send(sim, '+27821234567')}"))
    assert message["contact"] == {"contactId": contact_id, "links": []}
    other = ok(call(sim, "GET", f"messages/{send(sim, '+27821234568')}"))
    assert other["contact"] is None


def test_group_crud(sim):
    group = create_group(sim)
    assert set(group) == {"groupId", "name", "links"}
    group_id = group["groupId"]
    assert ok(call(sim, "GET", f"groups/{group_id}")) == group
    renamed = ok(call(sim, "POST", f"groups/{group_id}", {"name": "VIP"}))
    assert renamed["name"] == "VIP"
    assert ok(call(sim, "GET", "groups/all")) == {"webServiceGroups": [renamed], "links": []}
    assert call(sim, "DELETE", f"groups/{group_id}").status == 200
    error(call(sim, "GET", f"groups/{group_id}"), 404)


@pytest.mark.parametrize("name", [None, "", "  "])
def test_group_needs_a_name(sim, name):
    error(call(sim, "POST", "groups/create", {"name": name}), 400)
    group_id = create_group(sim)["groupId"]
    if name is not None:
        error(call(sim, "POST", f"groups/{group_id}", {"name": name}), 400)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_memberships_both_ways_and_add_from_group_removes(sim, method):
    contact_id = create_contact(sim)["contactId"]
    group_id = create_group(sim)["groupId"]
    response = call(sim, method, f"contacts/{contact_id}/addToGroup/{group_id}")
    assert response.status == 200
    assert response.body == b""
    assert sim.state.group_members(group_id) == {contact_id}
    assert call(sim, method, f"contacts/{contact_id}/addFromGroup/{group_id}").status == 200
    assert sim.state.group_members(group_id) == set()
    assert call(sim, method, f"groups/{group_id}/addContact/{contact_id}").status == 200
    assert sim.state.group_members(group_id) == {contact_id}
    assert call(sim, method, f"groups/{group_id}/removeContact/{contact_id}").status == 200
    assert sim.state.group_members(group_id) == set()
    error(call(sim, method, f"groups/{group_id}/addContact/nope"), 404)
    error(call(sim, method, f"contacts/{contact_id}/addToGroup/nope"), 404)


def test_deleting_a_contact_removes_it_from_groups(sim):
    contact_id = create_contact(sim)["contactId"]
    group_id = create_group(sim)["groupId"]
    call(sim, "POST", f"groups/{group_id}/addContact/{contact_id}")
    call(sim, "DELETE", f"contacts/{contact_id}")
    assert sim.state.group_members(group_id) == set()
