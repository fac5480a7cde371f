"""Tests for simulator/http.py and surface.py: credentials, plumbing answers, success statuses."""

from __future__ import annotations

import base64
import json

import pytest

from django_zoomconnect.simulator import Clock, Simulator
from tests.simulator_calls import AUTH, EMAIL, JSON, REST, T0, TOKEN, call, error, ok, send

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


# --- success statuses -------------------------------------------------------------------------------


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
