"""Tests for simulator/handlers/messages.py and analysis.py: messages, messages/all and analysis."""

from __future__ import annotations

from typing import Any

import pytest

from django_zoomconnect.simulator import Clock, Simulator
from tests.simulator_calls import T0, call, error, ok, send

# --- messages ---------------------------------------------------------------------------------------


def test_message_shape(sim):
    message_id = send(sim, campaign="c", dataField="d")
    message = ok(call(sim, "GET", f"messages/{message_id}"))
    assert set(message) == {
        "messageId", "messageType", "messageStatus", "fromNumber", "toNumber", "message", "campaign",
        "userDataField", "creditCost", "numberOfMessages", "dateTimeScheduled", "dateTimeSent",
        "dateTimeReceived", "read", "deleted", "contact", "repliedToMessage", "links",
    }  # fmt: skip
    sim.advance(3)
    message = ok(call(sim, "GET", f"messages/{message_id}"))
    assert message["dateTimeSent"] == int((T0.timestamp() + 1) * 1000)
    assert message["messageStatus"] == "DELIVERED"


def test_iso_dates():
    sim = Simulator(clock=Clock(T0, frozen=True), date_format="iso")
    message_id = send(sim, dateToSend="202405011130")
    message = ok(call(sim, "GET", f"messages/{message_id}"))
    assert message["dateTimeScheduled"] == "2024-05-01T11:30:00.000+02:00"


def test_read_unread_and_delete(sim):
    inbound_id = sim.simulate_inbound("0821234567", "hi")
    assert ok(call(sim, "GET", f"messages/{inbound_id}"))["read"] is False
    for method in ("POST", "PUT"):
        assert ok(call(sim, method, f"messages/{inbound_id}/markRead"))["read"] is True
        assert ok(call(sim, method, f"messages/{inbound_id}/markUnread"))["read"] is False
    assert call(sim, "DELETE", f"messages/{inbound_id}").status == 200
    assert ok(call(sim, "GET", f"messages/{inbound_id}"))["deleted"] is True
    for path in ("messages/nope", "messages/nope/markRead", "messages/nope/markUnread"):
        error(call(sim, "POST" if "mark" in path else "GET", path), 404)
    error(call(sim, "DELETE", "messages/nope"), 404)


def test_inbound_reply_links_to_its_message(sim):
    original = send(sim, "0821234567")
    reply = sim.simulate_inbound("0821234567", "yes")
    message = ok(call(sim, "GET", f"messages/{reply}"))
    assert message["repliedToMessage"] == {"messageId": original, "links": []}
    assert message["messageType"] == "INBOUND"
    assert message["dateTimeReceived"] == int(T0.timestamp() * 1000)


def page(sim: Simulator, **query: Any) -> dict[str, Any]:
    return dict(ok(call(sim, "GET", "messages/all", query={k: str(v) for k, v in query.items()})))


def test_messages_all_paging(sim):
    ids = [send(sim, message=f"m{i}") for i in range(7)]
    first = page(sim)
    keys = ("page", "pageSize", "elements", "totalElements", "totalPages")
    assert tuple(first[key] for key in keys) == (1, 100, 7, 7, 1)
    assert first["links"] == []
    assert [m["messageId"] for m in first["webServiceMessages"]] == ids
    second = page(sim, page=2, pageSize=3)
    assert [m["messageId"] for m in second["webServiceMessages"]] == ids[3:6]
    assert (second["elements"], second["totalPages"]) == (3, 3)
    last = page(sim, page=3, pageSize=3)
    assert [m["messageId"] for m in last["webServiceMessages"]] == ids[6:]
    beyond = page(sim, page=9, pageSize=3)
    assert (beyond["elements"], beyond["webServiceMessages"], beyond["totalElements"]) == (0, [], 7)
    for bad in ({"page": 0}, {"pageSize": 0}, {"page": "x"}):
        error(call(sim, "GET", "messages/all", query={k: str(v) for k, v in bad.items()}), 400)


def test_messages_all_empty(sim):
    empty = page(sim)
    assert (empty["totalElements"], empty["totalPages"], empty["webServiceMessages"]) == (0, 0, [])


def ids_of(result: dict[str, Any]) -> list[str]:
    return [m["messageId"] for m in result["webServiceMessages"]]


def test_messages_all_filters(sim):
    a = send(sim, "0821234567", "Hello Alice", campaign="spring", dataField="ref-a")
    b = send(sim, "+27600000001", "Hello Bob", campaign="autumn", dataField="ref-b")
    sim.advance(3)
    sim.clock.advance(86_400)  # the next day in Johannesburg
    c = send(sim, "0821234568", "Goodbye", dataField="ref-a")
    reply = sim.simulate_inbound("0821234567", "Thanks", reply_to_message_id=a)
    other = sim.simulate_inbound("0829999999", "Unrelated", link=False)
    call(sim, "POST", f"messages/{other}/markRead")
    call(sim, "DELETE", f"messages/{b}")

    assert ids_of(page(sim, type="OUTBOUND")) == [a, b, c]
    assert ids_of(page(sim, type="inbound")) == [reply, other]
    assert ids_of(page(sim, status="DELIVERED")) == [a]
    assert ids_of(page(sim, status="FAILED")) == [b]
    assert ids_of(page(sim, status="SCHEDULED")) == [c]
    assert ids_of(page(sim, status="RECEIVED")) == [reply, other]
    assert ids_of(page(sim, campaign="spring")) == [a, reply]  # the reply inherits the campaign
    assert ids_of(page(sim, dataField="ref-a")) == [a, c, reply]
    assert ids_of(page(sim, dataField="ref-a", type="OUTBOUND")) == [a, c]
    assert ids_of(page(sim, dataField="nothing")) == []
    assert ids_of(page(sim, toNumber="0821234567")) == [a]
    assert ids_of(page(sim, toNumber="+27821234568")) == [c]
    assert ids_of(page(sim, fromNumber="27821234567")) == [reply]
    assert ids_of(page(sim, message="hello")) == [a, b]
    assert ids_of(page(sim, deleted="true")) == [b]
    assert ids_of(page(sim, deleted="false")) == [a, c, reply, other]
    assert ids_of(page(sim, read="true")) == [other]
    assert ids_of(page(sim, read="false")) == [reply]
    assert ids_of(page(sim, repliesToMessageId=a)) == [reply]
    assert ids_of(page(sim, fromDateTimeSent="20240501", toDateTimeSent="20240501")) == [a, b]
    assert ids_of(page(sim, fromDateTimeSent="20240502")) == []  # c has not left yet
    sim.advance(1)
    assert ids_of(page(sim, fromDateTimeSent="20240502")) == [c]
    assert ids_of(page(sim, toDateTimeSent="20240430")) == []
    assert ids_of(page(sim, fromDateTimeReceived="20240502", toDateTimeReceived="20240502")) == [reply, other]
    assert ids_of(page(sim, toDateTimeReceived="20240501")) == []
    for bad in (
        {"type": "SIDEWAYS"},
        {"status": "LOST"},
        {"deleted": "maybe"},
        {"fromDateTimeSent": "01-05-2024"},
    ):
        error(call(sim, "GET", "messages/all", query=bad), 400)


# --- analysis ---------------------------------------------------------------------------------------


def test_analyse_full(sim):
    result = ok(
        call(sim, "POST", "messages/analyse/full", {"message": "Price: 5€", "recipientNumber": "0821234567"})
    )
    assert result == {
        "messageLength": 10,
        "numberOfMessages": 1,
        "messageEncoding": "GSM7",
        "messageCreditCost": 1.0,
        "messageLengthWithinMaximumAllowed": True,
        "characterAnalysis": [[c, 2 if c == "€" else 1] for c in "Price: 5€"],
    }
    error(call(sim, "POST", "messages/analyse/full", {"message": "x", "recipientNumber": "12"}), 400, 2)


@pytest.mark.parametrize(
    ("operation", "text", "body"),
    [
        ("message-credit-cost", "a" * 161, b"2.0"),
        ("message-encoding", "Sawubona 👋", b'"UCS2"'),
        ("message-encoding", "Hello", b'"GSM7"'),
        ("message-length", "Hi {name}", b"11"),
        ("message-length-within-max-allowed", "a" * 918, b"true"),
        ("message-length-within-max-allowed", "a" * 919, b"false"),
        ("number-of-messages", "a" * 307, b"3"),
        ("number-of-messages", "", b"0"),
    ],
)
def test_analyse_operations_answer_bare_scalars(sim, operation, text, body):
    response = call(sim, "POST", f"messages/analyse/{operation}", {"message": text})
    assert response.status == 200
    assert response.body == body
    assert response.header("content-type") == "application/json;charset=UTF-8"
