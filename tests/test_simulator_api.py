"""Tests for simulator/api.py: every REST operation's shape and status, auth, errors, paging, control."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from django_zoomconnect.simulator import Clock, Simulator, SimulatorResponse

REST = "/app/api/rest/v1/"
EMAIL = "simulator@example.com"
TOKEN = "simulator-token"
JSON = {"Accept": "application/json"}
AUTH = {"email": EMAIL, "token": TOKEN, **JSON, "Content-Type": "application/json"}
# 2024-05-01 10:00 in Johannesburg (UTC+2).
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def sim() -> Simulator:
    return Simulator(clock=Clock(T0, frozen=True))


def call(
    sim: Simulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | str = "",
    headers: dict[str, str] | None = None,
) -> SimulatorResponse:
    raw = b"" if body is None else json.dumps(body).encode()
    qs = query if isinstance(query, str) else urlencode(query)
    return sim.handle(method, REST + path, qs, AUTH if headers is None else headers, raw)


def ok(response: SimulatorResponse, status: int = 200) -> Any:
    assert response.status == status, response.body
    return response.json()


def send(sim: Simulator, number: str = "+27821234567", message: str = "Hello", **extra: Any) -> str:
    data = ok(call(sim, "POST", "sms/send", {"recipientNumber": number, "message": message, **extra}))
    assert data["error"] is None
    return str(data["messageId"])


def error(response: SimulatorResponse, status: int, code: int | None = None) -> dict[str, Any]:
    assert response.status == status, response.body
    body = response.json()
    assert set(body) == {"status", "code", "message", "developerMessage", "moreInfoUrl"}
    assert body["moreInfoUrl"] is None
    if code is not None:
        assert body["code"] == code
    return dict(body)


# --- authentication ---------------------------------------------------------------------------


def test_header_auth(sim):
    assert ok(call(sim, "GET", "account/balance")) == {"creditBalance": 1000.0, "links": []}


def test_basic_auth(sim):
    basic = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    response = call(sim, "GET", "account/balance", headers={**JSON, "Authorization": f"Basic {basic}"})
    assert ok(response)["creditBalance"] == 1000.0


def test_query_auth_and_the_token_is_redacted_in_records(sim):
    response = call(sim, "GET", "account/balance", headers=JSON, query={"email": EMAIL, "token": TOKEN})
    assert ok(response)["creditBalance"] == 1000.0
    recorded = sim.requests[-1]
    assert TOKEN not in recorded.query
    assert "token=[redacted]" in recorded.query


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"email": EMAIL, "token": "wrong"},
        {"email": "other@example.com", "token": TOKEN},
        {"email": EMAIL},
        {"Authorization": "Basic " + base64.b64encode(b"simulator@example.com:nope").decode()},
        {"Authorization": "Basic !!!not-base64"},
    ],
)
def test_bad_or_missing_credentials_are_401_with_an_error_body(sim, headers):
    body = error(call(sim, "GET", "account/balance", headers={**JSON, **headers}), 401, 401)
    assert body["status"] == "UNAUTHORIZED"
    assert TOKEN not in json.dumps(body)


def test_401_comes_before_404_and_headers_are_case_insensitive(sim):
    error(call(sim, "GET", "no/such/thing", headers=JSON), 401)
    error(call(sim, "GET", "no/such/thing", headers={**JSON, "EMAIL": EMAIL, "Token": TOKEN}), 404)


def test_email_is_case_insensitive_but_the_token_is_not(sim):
    assert call(sim, "GET", "account/balance", headers={"email": EMAIL.upper(), "token": TOKEN}).status == 200
    assert call(sim, "GET", "account/balance", headers={"email": EMAIL, "token": TOKEN.upper()}).status == 401


# --- formats ------------------------------------------------------------------------------------


def test_json_without_accept_and_json_suffix(sim):
    response = sim.handle("GET", REST + "account/balance.json", "", {"email": EMAIL, "token": TOKEN}, b"")
    assert response.header("content-type") == "application/json;charset=UTF-8"
    assert response.header("content-length") == str(len(response.body))
    assert ok(response)["creditBalance"] == 1000.0


def test_an_xml_request_body_is_unsupported(sim):
    response = sim.handle("POST", REST + "sms/send", "", {**AUTH, "Content-Type": "application/xml"}, b"<x/>")
    error(response, 415)


def test_unknown_operation_and_wrong_method(sim):
    error(call(sim, "GET", "sms/nothing"), 404)
    response = call(sim, "DELETE", "account/balance")
    error(response, 405)
    assert response.header("Allow") == "GET"
    body = error(sim.handle("GET", "/api/rest/v1/account/balance", "", AUTH, b""), 404)
    assert "/app/api/rest/v1/" in body["developerMessage"]


def test_malformed_json_is_400(sim):
    response = sim.handle("POST", REST + "sms/send", "", AUTH, b"{not json")
    error(response, 400, 400)
    error(call(sim, "POST", "sms/send", ["a list"]), 400)


# --- sending ------------------------------------------------------------------------------------


def test_send_answers_the_message_id_and_charges_per_part(sim):
    message_id = send(sim, message="x" * 161, campaign="c1", dataField="ref-1")
    assert len(message_id) == 24
    int(message_id, 16)
    assert sim.balance == 998.0
    message = ok(call(sim, "GET", f"messages/{message_id}"))
    assert message["numberOfMessages"] == 2
    assert message["creditCost"] == 2.0
    assert message["userDataField"] == "ref-1"
    assert message["campaign"] == "c1"
    assert message["toNumber"] == "+27821234567"
    assert message["messageType"] == "OUTBOUND"
    assert message["messageStatus"] == "SCHEDULED"
    assert message["links"] == []


@pytest.mark.parametrize("number", ["+27821234567", "27821234567", "0821234567"])
def test_numbers_are_normalised(sim, number):
    message_id = send(sim, number)
    assert ok(call(sim, "GET", f"messages/{message_id}"))["toNumber"] == "+27821234567"


@pytest.mark.parametrize("number", ["+27600000005", "0600000005", "12345", "not a number", "", None])
def test_invalid_numbers_are_code_2(sim, number):
    body = error(call(sim, "POST", "sms/send", {"recipientNumber": number, "message": "hi"}), 400, 2)
    assert body["status"] == "BAD_REQUEST"
    assert body["message"] == "Invalid mobile number"
    assert sim.counters().get("sends.accepted", 0) == 0


@pytest.mark.parametrize("message", ["", "   ", None])
def test_empty_messages_are_code_3(sim, message):
    error(call(sim, "POST", "sms/send", {"recipientNumber": "0821234567", "message": message}), 400, 3)


def test_insufficient_credit_is_refused_and_nothing_is_charged(sim):
    sim.set_balance(1)
    body = error(call(sim, "POST", "sms/send", {"recipientNumber": "0821234567", "message": "y" * 200}), 400)
    assert body["message"] == "Insufficient credits"
    assert sim.balance == 1.0
    send(sim)
    assert sim.balance == 0.0


def test_too_long_messages_are_refused(sim):
    error(call(sim, "POST", "sms/send", {"recipientNumber": "0821234567", "message": "z" * 919}), 400)
    send(sim, message="z" * 918)


def test_bad_date_to_send_is_400(sim):
    for value in ("2024-05-01 10:00", "202413011000", 202405011000):
        body = {"recipientNumber": "0821234567", "message": "hi", "dateToSend": value}
        error(call(sim, "POST", "sms/send", body), 400)


def test_send_bulk_answers_one_response_per_request_in_order(sim):
    requests = [
        {"recipientNumber": "0821234567", "message": "one", "dataField": "a"},
        {"recipientNumber": "+27600000005", "message": "two"},
        {"recipientNumber": "0821234568", "message": ""},
        "not an object",
        {"recipientNumber": "0821234569", "message": "four", "campaign": "bulk"},
    ]
    data = ok(call(sim, "POST", "sms/send-bulk", {"sendSmsRequests": requests}))
    responses = data["sendSmsResponses"]
    assert len(responses) == 5
    assert responses[0]["error"] is None
    assert len(responses[0]["messageId"]) == 24
    assert responses[1] == {"messageId": None, "error": "Invalid mobile number"}
    assert responses[2] == {"messageId": None, "error": "Message cannot be empty"}
    assert responses[3]["messageId"] is None
    assert responses[4]["error"] is None
    assert ok(call(sim, "GET", f"messages/{responses[4]['messageId']}"))["campaign"] == "bulk"
    assert sim.counters()["sends.accepted"] == 2


def test_send_bulk_stops_charging_when_credit_runs_out(sim):
    sim.set_balance(2)
    requests = [{"recipientNumber": "0821234567", "message": f"m{i}"} for i in range(3)]
    responses = ok(call(sim, "POST", "sms/send-bulk", {"sendSmsRequests": requests}))["sendSmsResponses"]
    assert [r["error"] for r in responses] == [None, None, "Insufficient credits"]
    assert sim.balance == 0.0


def test_send_bulk_empty_and_malformed(sim):
    assert ok(call(sim, "POST", "sms/send-bulk", {"sendSmsRequests": []})) == {"sendSmsResponses": []}
    error(call(sim, "POST", "sms/send-bulk", {"sendSmsRequests": "x"}), 400)
    error(call(sim, "POST", "sms/send-bulk", {"sendSmsRequests": [], "messagesPerMinute": -1}), 400)


def test_send_examples(sim):
    example = ok(call(sim, "GET", "sms/send"))
    assert {"recipientNumber", "message", "dateToSend", "campaign", "dataField"} <= set(example)
    bulk = ok(call(sim, "GET", "sms/send-bulk"))
    assert {"sendSmsRequests", "defaultDateToSend", "messagesPerMinute"} <= set(bulk)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_send_url_parameters_answers_the_id_as_text(sim, method):
    query = {"recipientNumber": "0821234567", "message": "hi there", "dataField": "u1"}
    response = call(
        sim, method, "sms/send-url-parameters", query=query, headers={"email": EMAIL, "token": TOKEN}
    )
    assert response.status == 200
    assert response.header("content-type") == "text/plain;charset=UTF-8"
    message_id = response.body.decode()
    assert ok(call(sim, "GET", f"messages/{message_id}"))["userDataField"] == "u1"
    error(call(sim, method, "sms/send-url-parameters", query={"recipientNumber": "1"}), 400, 2)


def test_send_url_parameters_with_query_auth_and_form_body(sim):
    form = urlencode({"recipientNumber": "0821234567", "message": "from a form"}).encode()
    response = sim.handle(
        "POST",
        REST + "sms/send-url-parameters",
        urlencode({"email": EMAIL, "token": TOKEN}),
        {"Content-Type": "application/x-www-form-urlencoded"},
        form,
    )
    assert response.status == 200
    assert sim.message(response.body.decode()).message == "from a form"


def test_send_url_with_a_token_needs_no_credentials():
    sim = Simulator(clock=Clock(T0, frozen=True), url_sending_token="url-token")
    query = {"recipientNumber": "0821234567", "message": "hi"}
    response = sim.handle("GET", REST + "sms/send-url/url-token", urlencode(query), {}, b"")
    assert response.status == 200
    assert len(response.body) == 24
    error(sim.handle("GET", REST + "sms/send-url/wrong", urlencode(query), JSON, b""), 401)


# --- contacts and groups --------------------------------------------------------------------------


def create_contact(sim: Simulator, number: str = "0821234567", **fields: Any) -> dict[str, Any]:
    return dict(ok(call(sim, "POST", "contacts/create", {"contactNumber": number, **fields})))


def create_group(sim: Simulator, name: str = "Customers") -> dict[str, Any]:
    return dict(ok(call(sim, "POST", "groups/create", {"name": name})))


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


@pytest.mark.parametrize(
    ("options", "created", "deleted"),
    [({}, 200, 200), ({"success_statuses": "200"}, 200, 200), ({"success_statuses": "201/204"}, 201, 204)],
)
def test_creates_and_deletes_answer_200_like_the_provider_or_201_and_204(options, created, deleted):
    # Clients written against the provider count only 200 as success (zoomconnect-sdk does).
    sim = Simulator(clock=Clock(T0, frozen=True), **options)
    user = {
        "firstName": "S",
        "lastName": "U",
        "emailAddress": "sub@example.com",
        "contactNumber": "0821234567",
        "password": "pw",
    }
    contact = call(sim, "POST", "contacts/create", {"contactNumber": "0821234567"})
    group = call(sim, "POST", "groups/create", {"name": "G"})
    for response, key in (
        (contact, "contactId"),
        (group, "groupId"),
        (call(sim, "PUT", "account/user", user), "userId"),
    ):
        assert response.status == created, response.body
        assert response.json()[key]
    voice = ok(call(sim, "POST", "voice/single-text", {"recipientNumber": "0821234567", "message": "hi"}))
    for path in (
        f"contacts/{contact.json()['contactId']}",
        f"groups/{group.json()['groupId']}",
        "templates/1",
        f"messages/{send(sim)}",
        f"voice/{voice['voiceMessageId']}",
    ):
        response = call(sim, "DELETE", path)
        assert (response.status, response.body) == (deleted, b""), path
    assert sim.config()["successStatuses"] == options.get("success_statuses", "200")


def test_success_statuses_change_at_run_time(sim):
    control = sim.handle("POST", "/_simulator/config", "", {}, b'{"successStatuses": "201/204"}')
    assert control.json()["successStatuses"] == "201/204"
    assert call(sim, "POST", "groups/create", {"name": "G"}).status == 201
    sim.configure(success_statuses="200")
    assert call(sim, "POST", "groups/create", {"name": "H"}).status == 200
    with pytest.raises(ValueError, match="success_statuses"):
        sim.configure(success_statuses="204")


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


# --- templates --------------------------------------------------------------------------------------


def test_templates(sim):
    listed = ok(call(sim, "GET", "templates/all"))
    templates = listed["webServiceTemplates"]
    assert [t["templateId"] for t in templates] == [1, 2, 3]
    assert set(templates[0]) == {"templateId", "name", "data", "links"}
    assert ok(call(sim, "GET", "templates/2")) == templates[1]
    assert call(sim, "DELETE", "templates/2").status == 200
    error(call(sim, "GET", "templates/2"), 404)
    error(call(sim, "GET", "templates/abc"), 404)
    error(call(sim, "POST", "templates/all"), 405)


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


# --- account ----------------------------------------------------------------------------------------


def test_statistics(sim):
    send(sim, "0821234567", "x" * 200, campaign="spring")
    send(sim, "+27600000001", "hi", campaign="spring")
    send(sim, "+27600000002", "hi")
    send(sim, "+27600000003", "hi", campaign="autumn")
    send(sim, "+27600000004", "hi")
    send(sim, "0821234567", "later", dateToSend="202406011000")
    sim.advance(3)
    stats = ok(call(sim, "GET", "account/statistics"))
    assert stats["from"] is None
    assert stats["to"] is None
    assert stats["showingCreditValue"] is False
    assert stats["grandTotal"] == {
        "total": 5.0, "sent": 1.0, "delivered": 1.0, "failed": 3.0,
        "failedRefunded": None, "failedOptout": None,
    }  # fmt: skip
    (user,) = stats["users"]
    assert user["user"]["emailAddress"] == EMAIL
    assert user["total"] == stats["grandTotal"]
    assert [c["campaign"] for c in user["campaigns"]] == ["autumn", "spring"]
    assert user["campaigns"][1]["statistics"]["total"] == 2.0

    detailed = ok(call(sim, "GET", "account/statistics", query={"includeRefundedAndOptout": "true"}))
    assert detailed["grandTotal"]["failed"] == 1.0
    assert detailed["grandTotal"]["failedRefunded"] == 1.0
    assert detailed["grandTotal"]["failedOptout"] == 1.0
    credits = ok(call(sim, "GET", "account/statistics", query={"calculateCreditValue": "true"}))
    assert credits["showingCreditValue"] is True
    assert credits["grandTotal"]["total"] == 6.0
    spring = ok(call(sim, "GET", "account/statistics", query={"campaign": "spring"}))
    assert spring["grandTotal"]["total"] == 2.0
    ranged = ok(call(sim, "GET", "account/statistics", query={"from": "02-05-2024", "to": "31-05-2024"}))
    assert ranged["grandTotal"]["total"] == 0.0
    assert ranged["from"] == int(datetime(2024, 5, 1, 22, 0, tzinfo=UTC).timestamp() * 1000)
    same_day = ok(call(sim, "GET", "account/statistics", query={"from": "01-05-2024", "to": "01-05-2024"}))
    assert same_day["grandTotal"]["total"] == 5.0
    error(call(sim, "GET", "account/statistics", query={"from": "2024-05-01"}), 400)
    error(call(sim, "GET", "account/statistics", query={"userEmailAddress": "ghost@example.com"}), 404)


def new_user(sim: Simulator, email: str = "sub@example.com") -> dict[str, Any]:
    body = {
        "firstName": "Sub",
        "lastName": "Account",
        "emailAddress": email,
        "contactNumber": "0821234567",
        "password": "pa55word",
    }
    return dict(ok(call(sim, "PUT", "account/user", body)))


def test_users_and_transfers(sim):
    user = new_user(sim)
    assert user["userId"] == 2
    assert user["creditBalance"] == 0.0
    assert user["password"] is None
    error(call(sim, "PUT", "account/user", {"emailAddress": "x@example.com"}), 400)
    error(call(sim, "PUT", "account/user", {**user, "password": "p", "emailAddress": "SUB@example.com"}), 400)
    assert ok(call(sim, "GET", "account/user/2")) == user
    error(call(sim, "GET", "account/user/99"), 404)
    error(call(sim, "GET", "account/user/abc"), 404)
    assert ok(call(sim, "GET", "account/user/1"))["creditBalance"] == 1000.0
    updated = ok(call(sim, "POST", "account/user/2", {"firstName": "Renamed", "contactNumber": "0831234567"}))
    assert updated["firstName"] == "Renamed"
    assert updated["contactNumber"] == "+27831234567"
    found = ok(call(sim, "GET", "account/user", query={"searchEmail": "sub@example.com"}))
    assert found == {"webServiceUserList": [updated]}
    assert ok(call(sim, "GET", "account/user", query={"searchEmail": "no@example.com"})) == {
        "webServiceUserList": []
    }
    error(call(sim, "GET", "account/user"), 400)

    transfer = {"transferFromEmailAddress": EMAIL, "transferToEmailAddress": "sub@example.com"}
    moved = ok(call(sim, "POST", "account/transfer", {**transfer, "numberOfCreditsToTransfer": 100}))
    assert moved["emailAddress"] == "sub@example.com"
    assert moved["creditBalance"] == 100.0
    assert sim.balance == 900.0
    error(call(sim, "POST", "account/transfer", {**transfer, "numberOfCreditsToTransfer": 5000}), 400)
    error(call(sim, "POST", "account/transfer", {**transfer, "numberOfCreditsToTransfer": 0}), 400)
    back = {"transferFromEmailAddress": "sub@example.com", "transferToEmailAddress": "ghost@example.com"}
    error(call(sim, "POST", "account/transfer", {**back, "numberOfCreditsToTransfer": 1}), 404)
    stats = ok(call(sim, "GET", "account/statistics"))
    assert [u["user"]["userId"] for u in stats["users"]] == [1, 2]


# --- the control API ----------------------------------------------------------------------------------


def control(sim: Simulator, method: str, path: str, body: Any = None, query: str = "") -> Any:
    raw = b"" if body is None else json.dumps(body).encode()
    response = sim.handle(method, "/_simulator/" + path, query, {}, raw)
    assert response.status in (200, 201), response.body
    return response.json()


def test_control_api_mirrors_the_python_methods(sim):
    assert control(sim, "POST", "balance", {"credits": 12}) == {"creditBalance": 12.0}
    assert control(sim, "GET", "balance") == {"creditBalance": 12.0}
    assert control(sim, "POST", "templates", {"name": "Promo", "data": "Sale!"}) == {"templateId": 4}
    assert [t["name"] for t in control(sim, "GET", "templates")["webServiceTemplates"]][-1] == "Promo"

    message_id = send(sim, dataField="r1")
    inbound = control(
        sim, "POST", "inbound", {"from": "0821234567", "message": "hi", "replyToMessageId": message_id}
    )
    assert sim.message(inbound["messageId"]).replied_to_message_id == message_id

    clock = control(sim, "POST", "clock/advance", {"seconds": 3})
    assert clock == {"now": (T0 + timedelta(seconds=3)).isoformat(), "frozen": True}
    assert sim.message(message_id).status == "DELIVERED"
    assert control(sim, "GET", "clock")["frozen"] is True
    assert control(sim, "POST", "tick")["now"] == clock["now"]

    messages = control(sim, "GET", "messages", query="type=OUTBOUND")["messages"]
    assert [m["messageId"] for m in messages] == [message_id]
    requests = control(sim, "GET", "requests", query="limit=1")["requests"]
    assert requests[0]["path"] == REST + "sms/send"
    assert requests[0]["headers"]["token"] == "[redacted]"
    assert control(sim, "GET", "counters")["dataField:r1"] == 1

    faults = control(sim, "POST", "faults", {"kind": "429", "retryAfter": 3, "path": "account/balance"})
    assert faults["faults"][0]["kind"] == "429"
    assert faults["faults"][0]["retryAfter"] == 3
    assert call(sim, "GET", "account/balance").status == 429
    control(sim, "POST", "faults", {"kind": "500"})
    assert control(sim, "DELETE", "faults") == {"faults": []}

    control(sim, "POST", "reset")
    assert sim.messages == []
    assert control(sim, "GET", "balance") == {"creditBalance": 1000.0}


def test_control_clock_freeze_and_unfreeze():
    sim = Simulator()
    frozen = control(sim, "POST", "clock/freeze", {"at": "2024-05-01T10:00:00+02:00"})
    assert frozen == {"now": "2024-05-01T08:00:00+00:00", "frozen": True}
    assert control(sim, "POST", "clock/unfreeze")["frozen"] is False


def test_control_config_and_webhooks(sim):
    posted: list[str] = []
    sim.webhook_poster = lambda url, query, form: posted.append(url) or 200
    config = control(sim, "POST", "config", {"replyUrl": "http://app.test/r", "webhookParamsIn": "both"})
    assert config["replyUrl"] == "http://app.test/r"
    assert config["webhookParamsIn"] == "both"
    assert config["secretSet"] is True
    assert "simulator-secret" not in json.dumps(config)
    control(sim, "POST", "inbound", {"from": "0821234567", "message": "hi"})
    assert control(sim, "GET", "webhooks")["pending"] == 1
    assert control(sim, "POST", "webhooks/flush") == {"attempts": 1}
    attempts = control(sim, "GET", "webhooks")["attempts"]
    assert attempts[0]["status"] == 200
    assert attempts[0]["params"]["message"] == "hi"
    assert posted == ["http://app.test/r"]


def test_control_state_and_group_members(sim):
    contact_id = create_contact(sim)["contactId"]
    group_id = create_group(sim)["groupId"]
    call(sim, "POST", f"groups/{group_id}/addContact/{contact_id}")
    assert control(sim, "GET", f"groups/{group_id}/members") == {"contactIds": [contact_id]}
    state = control(sim, "GET", "state")
    assert state["contacts"] == 1
    assert state["creditBalance"] == 1000.0
    assert state["config"]["timezone"] == "Africa/Johannesburg"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "nothing", None, 404),
        ("DELETE", "balance", None, 405),
        ("POST", "balance", {"credits": "many"}, 400),
        ("POST", "config", {"colour": "blue"}, 400),
        ("POST", "config", {"webhookSigning": "base64"}, 400),
        ("POST", "faults", {"kind": "418"}, 400),
        ("POST", "inbound", {"from": "0821234567"}, 400),
        ("POST", "inbound", {"from": "0821234567", "message": "x", "replyToMessageId": "nope"}, 404),
        ("GET", "groups/nope/members", None, 404),
    ],
)
def test_control_api_errors(sim, method, path, body, status):
    raw = b"" if body is None else json.dumps(body).encode()
    response = sim.handle(method, "/_simulator/" + path, "", {}, raw)
    assert response.status == status
    assert response.json()["status"]


def test_control_api_can_be_switched_off():
    sim = Simulator(control=False)
    assert sim.handle("GET", "/_simulator/balance", "", {}, b"").status == 404
    assert sim.handle("GET", REST + "account/balance", "", AUTH, b"").status == 200


# --- voice (beta) -----------------------------------------------------------------------------------


def test_voice_text_lifecycle_and_listing(sim):
    body = {
        "recipientNumber": "0821234567",
        "message": "Your order is ready",
        "language": "en",
        "dataField": "v1",
    }
    sent = ok(call(sim, "POST", "voice/single-text", body))
    assert sent["error"] is None
    voice_id = sent["voiceMessageId"]
    assert sim.balance == 999.0
    voice = ok(call(sim, "GET", f"voice/{voice_id}"))
    assert set(voice) == {
        "voiceMessageId", "toNumber", "message", "language", "campaign", "userDataField",
        "audioFileUrl", "messageStatus", "dateTimeSent", "deleted", "links",
    }  # fmt: skip
    assert (voice["messageStatus"], voice["dateTimeSent"]) == ("SCHEDULED", None)
    sim.advance(3)
    assert ok(call(sim, "GET", f"voice/{voice_id}"))["messageStatus"] == "DELIVERED"
    listed = ok(call(sim, "GET", "voice/all", query={"dataField": "v1", "fromDateTimeSent": "20240501"}))
    assert [v["voiceMessageId"] for v in listed["messages"]] == [voice_id]
    assert (listed["totalElements"], listed["totalPages"], listed["page"]) == (1, 1, 1)
    assert ok(call(sim, "GET", "voice/all", query={"status": "FAILED"}))["messages"] == []
    assert call(sim, "DELETE", f"voice/{voice_id}").status == 200
    assert ok(call(sim, "GET", "voice/all", query={"deleted": "true"}))["totalElements"] == 1
    error(call(sim, "GET", "voice/nope"), 404)
    error(call(sim, "POST", "voice/single-text", {"recipientNumber": "1", "message": "x"}), 400, 2)
    error(call(sim, "POST", "voice/single-text", {"recipientNumber": "0821234567"}), 400, 3)


def test_voice_audio_needs_a_file(sim):
    boundary = "XyZ"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\n'
        f"Content-Type: audio/mpeg\r\n\r\nID3...\r\n--{boundary}--\r\n"
    ).encode()
    headers = {**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    query = urlencode({"recipientNumber": "+27600000001", "campaign": "calls"})
    response = sim.handle("POST", REST + "voice/single-audio", query, headers, form)
    voice_id = ok(response)["voiceMessageId"]
    sim.advance(3)
    voice = ok(call(sim, "GET", f"voice/{voice_id}"))
    assert voice["messageStatus"] == "FAILED"
    assert voice["audioFileUrl"].startswith("simulator://")
    assert voice["campaign"] == "calls"
    error(sim.handle("POST", REST + "voice/single-audio", query, AUTH, b""), 400)
