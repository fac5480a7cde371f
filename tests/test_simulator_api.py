"""Tests for simulator/api.py: every REST operation's shape and status, auth, errors, paging, control."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from django_zoomconnect.simulator import Clock, Simulator, SimulatorResponse

REST = "/app/api/rest/v1/"
EMAIL = "simulator@example.com"
TOKEN = "simulator-token"
AUTH = {"email": EMAIL, "token": TOKEN, "Accept": "application/json", "Content-Type": "application/json"}
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
    response = call(sim, "GET", "account/balance", headers={"Authorization": f"Basic {basic}"})
    assert ok(response)["creditBalance"] == 1000.0


def test_query_auth_and_the_token_is_redacted_in_records(sim):
    response = call(sim, "GET", "account/balance", headers={}, query={"email": EMAIL, "token": TOKEN})
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
    body = error(call(sim, "GET", "account/balance", headers=headers), 401, 401)
    assert body["status"] == "UNAUTHORIZED"
    assert TOKEN not in json.dumps(body)


def test_401_comes_before_404_and_headers_are_case_insensitive(sim):
    error(call(sim, "GET", "no/such/thing", headers={}), 401)
    error(call(sim, "GET", "no/such/thing", headers={"EMAIL": EMAIL, "Token": TOKEN}), 404)


def test_email_is_case_insensitive_but_the_token_is_not(sim):
    assert call(sim, "GET", "account/balance", headers={"email": EMAIL.upper(), "token": TOKEN}).status == 200
    assert call(sim, "GET", "account/balance", headers={"email": EMAIL, "token": TOKEN.upper()}).status == 401


# --- formats ------------------------------------------------------------------------------------


def test_json_without_accept_and_json_suffix(sim):
    response = call(sim, "GET", "account/balance.json", headers={"email": EMAIL, "token": TOKEN})
    assert response.header("content-type") == "application/json;charset=UTF-8"
    assert response.header("content-length") == str(len(response.body))
    assert ok(response)["creditBalance"] == 1000.0


def test_xml_is_not_acceptable(sim):
    error(call(sim, "GET", "account/balance", headers={**AUTH, "Accept": "application/xml"}), 406)
    error(call(sim, "GET", "account/balance.xml"), 406)
    response = sim.handle("POST", REST + "sms/send", "", {**AUTH, "Content-Type": "application/xml"}, b"<x/>")
    error(response, 415)


def test_unknown_operation_and_wrong_method(sim):
    error(call(sim, "GET", "sms/nothing"), 404)
    response = call(sim, "DELETE", "account/balance")
    error(response, 405)
    assert response.header("Allow") == "GET"
    error(sim.handle("GET", "/elsewhere", "", AUTH, b""), 404)


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
    error(call(sim, "POST", "sms/send-bulk", {"sendSmsRequests": [], "messagesPerMinute": 0}), 400)


def test_send_examples(sim):
    example = ok(call(sim, "GET", "sms/send"))
    assert {"recipientNumber", "message", "dateToSend", "campaign", "dataField"} <= set(example)
    bulk = ok(call(sim, "GET", "sms/send-bulk"))
    assert {"sendSmsRequests", "defaultDateToSend", "messagesPerMinute"} <= set(bulk)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_send_url_parameters_answers_the_id_as_text(sim, method):
    query = {"recipientNumber": "0821234567", "message": "hi there", "dataField": "u1"}
    response = call(sim, method, "sms/send-url-parameters", query=query)
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
    error(sim.handle("GET", REST + "sms/send-url/wrong", urlencode(query), {}, b""), 401)
