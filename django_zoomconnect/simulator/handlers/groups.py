"""``groups/…``: contact groups and their members, and the JSON shape of a group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..http import (
    Operation,
    Request,
    SimulatorResponse,
    created,
    deleted,
    empty_response,
    operation,
    str_field,
)
from ..records import Group
from .contacts import CONTACTS
from .resource import Resource

if TYPE_CHECKING:
    from ..core import Simulator


def group_json(g: Group) -> dict[str, Any]:
    """A group as the provider's ``WebServiceGroup`` (its members are not part of it)."""
    return {"groupId": g.group_id, "name": g.name, "links": []}


GROUPS: Resource[Group] = Resource("Group", lambda state: state.groups, lambda sim, g: group_json(g))
list_groups = GROUPS.lister("list_groups", "webServiceGroups")
get_group = GROUPS.getter("get_group", "webServiceGroup")


def _name(body: dict[str, Any]) -> str | None:
    name = str_field(body, "name")
    if name is not None and not name.strip():
        raise ApiError(400, "Group name cannot be empty")
    return name


@operation("webServiceGroup")
def create_group(sim: Simulator, request: Request) -> SimulatorResponse:
    name = _name(request.json_object())
    if name is None:
        raise ApiError(400, "Group name cannot be empty")
    group = Group(group_id=sim.state.new_id(), name=name)
    sim.state.groups[group.group_id] = group
    return created(sim, group_json(group))


@operation("webServiceGroup")
def update_group(sim: Simulator, request: Request, group_id: str) -> SimulatorResponse:
    group = GROUPS.find(sim, group_id)
    name = _name(request.json_object())
    if name is not None:
        group.name = name
    return GROUPS.answer(sim, group)


@operation()
def delete_group(sim: Simulator, request: Request, group_id: str) -> SimulatorResponse:
    GROUPS.find(sim, group_id)
    del sim.state.groups[group_id]
    return deleted(sim)


def _membership(name: str, *, add: bool, group_first: bool) -> Operation:
    """Adding a contact to a group or removing it, from the contact's side
    (``contacts/{contact}/addToGroup/{group}``) or the group's (``groups/{group}/addContact/…``).
    ``contacts/{contact}/addFromGroup/{group}`` is the provider's path that *removes*."""

    def change(sim: Simulator, request: Request, first: str, second: str) -> SimulatorResponse:
        contact_id, group_id = (second, first) if group_first else (first, second)
        contact = CONTACTS.find(sim, contact_id)
        members = GROUPS.find(sim, group_id).members
        if add:
            members.add(contact.contact_id)
        else:
            members.discard(contact.contact_id)
        return empty_response(200)

    return Operation(name, change)


contact_add_to_group = _membership("contact_add_to_group", add=True, group_first=False)
contact_remove_from_group = _membership("contact_remove_from_group", add=False, group_first=False)
group_add_contact = _membership("group_add_contact", add=True, group_first=True)
group_remove_contact = _membership("group_remove_contact", add=False, group_first=True)
