"""``contacts/…``: the address book's contacts, and their JSON shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..http import Request, SimulatorResponse, created, deleted, operation, str_field
from ..records import Contact, valid_number
from .resource import Resource

if TYPE_CHECKING:
    from ..core import Simulator

#: The optional fields of a contact: (JSON name, attribute).
_NAMES = (("title", "title"), ("firstName", "first_name"), ("lastName", "last_name"))


def contact_json(c: Contact) -> dict[str, Any]:
    """A contact as the provider's ``WebServiceContact``."""
    return {
        "contactId": c.contact_id,
        "title": c.title,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "contactNumber": c.contact_number,
        "links": [],
    }


CONTACTS: Resource[Contact] = Resource(
    "Contact", lambda state: state.contacts, lambda sim, c: contact_json(c)
)
list_contacts = CONTACTS.lister("list_contacts", "webServiceContacts")
get_contact = CONTACTS.getter("get_contact", "webServiceContact")


@operation("webServiceContact")
def create_contact(sim: Simulator, request: Request) -> SimulatorResponse:
    body = request.json_object()
    state = sim.state
    number = valid_number(body.get("contactNumber"))
    contact = Contact(
        contact_id=state.new_id(),
        contact_number=number,
        title=str_field(body, "title"),
        first_name=str_field(body, "firstName"),
        last_name=str_field(body, "lastName"),
    )
    state.contacts[contact.contact_id] = contact
    state.index_contact(contact)
    return created(sim, contact_json(contact))


@operation("webServiceContact")
def update_contact(sim: Simulator, request: Request, contact_id: str) -> SimulatorResponse:
    contact = CONTACTS.find(sim, contact_id)
    body = request.json_object()
    if body.get("contactNumber") is not None:
        number = valid_number(body["contactNumber"])
        old = contact.contact_number
        contact.contact_number = number
        sim.state.index_contact(contact, old)
    for name, attribute in _NAMES:
        if name in body:
            setattr(contact, attribute, str_field(body, name))
    return CONTACTS.answer(sim, contact)


@operation()
def delete_contact(sim: Simulator, request: Request, contact_id: str) -> SimulatorResponse:
    sim.state.delete_contact(contact_id)
    return deleted(sim)
