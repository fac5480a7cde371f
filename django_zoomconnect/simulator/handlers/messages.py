"""``messages/…``: reading, marking, deleting and listing SMS messages, and their JSON shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ApiError
from ..http import Request, SimulatorResponse, bool_param, deleted, json_response, operation, when
from ..records import INBOUND, OUTBOUND, Message
from .listing import criteria, page_of, paging
from .resource import Resource

if TYPE_CHECKING:
    from ..core import Simulator


def message_json(sim: Simulator, m: Message) -> dict[str, Any]:
    """A message as the provider's ``WebServiceMessage``."""
    return {
        "messageId": m.message_id,
        "messageType": m.message_type,
        "messageStatus": m.status,
        "fromNumber": m.from_number,
        "toNumber": m.to_number,
        "message": m.message,
        "campaign": m.campaign,
        "userDataField": m.data_field,
        "creditCost": m.credit_cost,
        "numberOfMessages": m.number_of_messages,
        "dateTimeScheduled": when(sim, m.scheduled_at),
        "dateTimeSent": when(sim, m.sent_at),
        "dateTimeReceived": when(sim, m.received_at),
        "read": m.read,
        "deleted": m.deleted,
        "contact": {"contactId": m.contact_id, "links": []} if m.contact_id else None,
        "repliedToMessage": (
            {"messageId": m.replied_to_message_id, "links": []} if m.replied_to_message_id else None
        ),
        "links": [],
    }


MESSAGES: Resource[Message] = Resource("Message", lambda state: state.messages, message_json)
get_message = MESSAGES.getter("get_message", "webServiceMessage")


def filter_messages(sim: Simulator, query: Mapping[str, str]) -> list[Message]:
    """``messages/all`` filtering, oldest first; every filter given must match."""
    kind = (query.get("type") or "").upper() or None
    if kind is not None and kind not in (INBOUND, OUTBOUND):
        raise ApiError(
            400, "Invalid type", developer_message=f"type must be INBOUND or OUTBOUND, not {kind!r}"
        )
    wanted = criteria(
        query,
        ranges=(
            ("fromDateTimeSent", "toDateTimeSent", "sent_at"),
            ("fromDateTimeReceived", "toDateTimeReceived", "received_at"),
        ),
        numbers=(("fromNumber", "from_number"), ("toNumber", "to_number")),
    )
    if kind is not None:
        wanted.equal.append(("message_type", kind))
    # Read flags and replies belong to inbound messages only.
    read = bool_param(query, "read")
    if read is not None:
        wanted.equal += [("message_type", INBOUND), ("read", read)]
    replies_to = query.get("repliesToMessageId") or None
    if replies_to is not None:
        wanted.equal += [("message_type", INBOUND), ("replied_to_message_id", replies_to)]
    state = sim.state
    data_field = query.get("dataField") or None
    # A dataField is looked up in its index: reconciling clients ask for one often.
    candidates = state.message_order if data_field is None else state.by_data_field.get(data_field, [])
    return wanted.select(candidates, sim.tz)


@operation("webServiceMessages")
def list_messages(sim: Simulator, request: Request) -> SimulatorResponse:
    query = request.query()
    page, page_size = paging(query)
    found = filter_messages(sim, query)
    return json_response(
        200, page_of(found, page, page_size, "webServiceMessages", lambda m: message_json(sim, m))
    )


@operation()
def delete_message(sim: Simulator, request: Request, message_id: str) -> SimulatorResponse:
    MESSAGES.find(sim, message_id).deleted = True
    return deleted(sim)


@operation("webServiceMessage")
def mark_read(sim: Simulator, request: Request, message_id: str) -> SimulatorResponse:
    return _mark(sim, message_id, read=True)


@operation("webServiceMessage")
def mark_unread(sim: Simulator, request: Request, message_id: str) -> SimulatorResponse:
    return _mark(sim, message_id, read=False)


def _mark(sim: Simulator, message_id: str, *, read: bool) -> SimulatorResponse:
    message = MESSAGES.find(sim, message_id)
    message.read = read
    return MESSAGES.answer(sim, message)
