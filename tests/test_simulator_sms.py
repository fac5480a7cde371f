"""Tests for simulator/handlers/sms.py: sms/send, send-bulk, send-url-parameters, send-url/{token}."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from django_zoomconnect.simulator import Clock, Simulator
from tests.simulator_calls import EMAIL, JSON, REST, T0, TOKEN, call, error, ok, send


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
