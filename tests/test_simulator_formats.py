"""Tests for simulator/formats.py: which format an answer takes, and its XML form, as the provider's."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from django_zoomconnect.client import ZoomConnectClient, mount_transport, unmount_transport
from django_zoomconnect.simulator import Clock, Simulator, SimulatorResponse
from django_zoomconnect.simulator.adapter import SimulatorAdapter
from django_zoomconnect.simulator.formats import Negotiation, negotiate, split_suffix, to_xml

REST = "/app/api/rest/v1/"
CREDENTIALS = {"email": "simulator@example.com", "token": "simulator-token"}
AS_JSON = {**CREDENTIALS, "Accept": "application/json"}
NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
XML_TYPE = "application/xml;charset=UTF-8"
JSON_TYPE = "application/json;charset=UTF-8"
TEXT_TYPE = "text/plain;charset=UTF-8"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(clock=Clock(T0, frozen=True))


def get(
    sim: Simulator, path: str, headers: dict[str, str] | None = None, query: str = ""
) -> SimulatorResponse:
    return sim.handle("GET", REST + path, query, CREDENTIALS if headers is None else headers, b"")


def post(sim: Simulator, path: str, body: Any, headers: dict[str, str] | None = None) -> SimulatorResponse:
    raw = json.dumps(body).encode()
    return sim.handle("POST", REST + path, "", AS_JSON if headers is None else headers, raw)


def xml(response: SimulatorResponse) -> ET.Element:
    assert response.header("Content-Type") == XML_TYPE, response.body
    assert response.header("Content-Length") == str(len(response.body))
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"')
    return ET.fromstring(response.body)  # noqa: S314 - our own simulator's answer


def assert_same(value: Any, element: ET.Element, where: str = "") -> None:
    """``element`` carries exactly what the JSON ``value`` holds: same fields, same values."""
    where = where or element.tag
    if value is None:
        assert element.get(NIL) == "true", where
        assert len(element) == 0, where
    elif isinstance(value, dict):
        assert [child.tag for child in element] == list(value), where
        for child, item in zip(element, value.values(), strict=True):
            assert_same(item, child, f"{where}.{child.tag}")
    elif isinstance(value, list):
        assert len(element) == len(value), where
        for index, (child, item) in enumerate(zip(element, value, strict=True)):
            assert_same(item, child, f"{where}[{index}]")
    elif isinstance(value, bool):
        assert element.text == ("true" if value else "false"), where
    elif isinstance(value, int | float):
        assert element.text == json.dumps(value), where
    else:
        assert element.text == value, where


# --- negotiation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "accept", "default", "expected"),
    [
        (None, None, "xml", Negotiation("xml", False)),  # the provider: no Accept -> XML
        (None, "", "xml", Negotiation("xml", False)),
        (None, "*/*", "xml", Negotiation("xml", False)),  # what HTTP libraries send by default
        (None, "application/*", "json", Negotiation("json", False)),
        (None, None, "406", Negotiation(None, False)),
        (None, "*/*", "406", Negotiation(None, False)),
        (None, "application/json", "xml", Negotiation("json", True)),
        (None, "application/hal+json", "xml", Negotiation("json", True)),
        (None, "text/xml", "json", Negotiation("xml", True)),
        (None, "application/xml, application/json", "xml", Negotiation("xml", True)),
        (None, "application/xml;q=0.5, application/json", "xml", Negotiation("json", True)),
        (None, "application/json;q=0, */*", "json", Negotiation("json", False)),
        (None, "application/json;q=zero", "xml", Negotiation("json", True)),
        (None, "text/html", "xml", Negotiation(None, False)),
        (None, "text/html, */*;q=0.1", "xml", Negotiation("xml", False)),
        ("json", None, "406", Negotiation("json", True)),
        ("json", "application/xml", "xml", Negotiation("json", True)),  # the suffix wins
        ("xml", "application/json", "json", Negotiation("xml", True)),
    ],
)
def test_negotiate(suffix, accept, default, expected):
    assert negotiate(suffix, accept, default) == expected


def test_split_suffix():
    assert split_suffix("account/balance.json") == ("account/balance", "json")
    assert split_suffix("contacts/c1.xml") == ("contacts/c1", "xml")
    assert split_suffix("account/balance") == ("account/balance", None)
    assert split_suffix("sms/send-url/a.b") == ("sms/send-url/a.b", None)


# --- the XML form --------------------------------------------------------------------------------


def test_xml_is_well_formed_and_carries_every_field():
    payload = {
        "text": "a < b & c > d \"quoted\" 'single'",
        "control": "bell\x07 tab\t",
        "emoji": "Zulu ñ 👍",
        "none": None,
        "yes": True,
        "no": False,
        "count": 3,
        "cost": 1.5,
        "nested": {"messageId": "m1", "links": []},
        "webServiceContacts": [{"contactId": "c1"}, {"contactId": "c2"}],
        "pairs": [["H", 1]],
    }
    root = ET.fromstring(to_xml(payload, "webServiceThing"))  # noqa: S314 - our own output
    assert root.tag == "webServiceThing"
    assert [child.tag for child in root] == list(payload)
    assert root.findtext("text") == payload["text"]
    assert root.findtext("control") == "bell\ufffd tab\t"  # XML 1.0 cannot carry U+0007
    assert root.findtext("emoji") == "Zulu ñ 👍"
    assert root.find("none").get(NIL) == "true"
    assert (root.findtext("yes"), root.findtext("no")) == ("true", "false")
    assert (root.findtext("count"), root.findtext("cost")) == ("3", "1.5")
    assert [c.tag for c in root.find("webServiceContacts")] == ["webServiceContact"] * 2
    assert [c.findtext("contactId") for c in root.find("webServiceContacts")] == ["c1", "c2"]
    assert root.find("nested/links") is not None
    assert [c.text for c in root.find("pairs/item")] == ["H", "1"]


def test_a_bare_scalar_is_the_root_text():
    assert ET.fromstring(to_xml(5, "messageLength")).text == "5"  # noqa: S314
    assert ET.fromstring(to_xml(None, "messageId")).get(NIL) == "true"  # noqa: S314


# --- over the simulator's HTTP surface -------------------------------------------------------------


def test_without_accept_or_suffix_the_answer_is_xml_like_the_providers(sim):
    root = xml(get(sim, "account/balance"))
    assert root.tag == "webServiceAccount"
    assert_same(get(sim, "account/balance", AS_JSON).json(), root)


def test_the_wildcard_of_http_libraries_is_no_format_either(sim):
    assert xml(get(sim, "account/balance", {**CREDENTIALS, "Accept": "*/*"})).tag == "webServiceAccount"


def test_suffixes_work_as_on_the_provider(sim):
    as_json = get(sim, "account/balance.json")
    assert as_json.header("Content-Type") == JSON_TYPE
    assert as_json.json() == {"creditBalance": 1000.0, "links": []}
    assert xml(get(sim, "account/balance.xml", AS_JSON)).findtext("creditBalance") == "1000.0"
    contact = post(sim, "contacts/create.json", {"contactNumber": "0821234567"}).json()
    root = xml(get(sim, f"contacts/{contact['contactId']}.xml"))
    assert root.tag == "webServiceContact"
    assert_same(contact, root)


def test_accept_picks_the_format(sim):
    assert get(sim, "account/balance", AS_JSON).header("Content-Type") == JSON_TYPE
    for accept in ("application/xml", "text/xml", "application/json;q=0.1, application/xml"):
        assert xml(get(sim, "account/balance", {**CREDENTIALS, "Accept": accept})).tag == "webServiceAccount"
    refused = get(sim, "account/balance", {**CREDENTIALS, "Accept": "text/html"})
    assert refused.status == 406
    assert refused.json()["status"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(
    ("default_format", "content_type", "status"),
    [("xml", XML_TYPE, 200), ("json", JSON_TYPE, 200), ("406", JSON_TYPE, 406)],
)
def test_default_format_option(default_format, content_type, status):
    sim = Simulator(clock=Clock(T0, frozen=True), default_format=default_format)
    response = get(sim, "account/balance")
    assert (response.status, response.header("Content-Type")) == (status, content_type)
    assert get(sim, "account/balance.json").status == 200
    assert get(sim, "account/balance", AS_JSON).json()["creditBalance"] == 1000.0
    assert sim.config()["defaultFormat"] == default_format


def test_default_format_changes_at_run_time(sim):
    control = sim.handle("POST", "/_simulator/config", "", {}, b'{"defaultFormat": "406"}')
    assert control.json()["defaultFormat"] == "406"
    assert get(sim, "account/balance").status == 406
    sim.configure(default_format="json")
    assert get(sim, "account/balance").json()["creditBalance"] == 1000.0
    with pytest.raises(ValueError, match="default_format"):
        sim.configure(default_format="yaml")
    with pytest.raises(ValueError, match="default_format"):
        Simulator(default_format="yaml")  # type: ignore[arg-type]


def test_errors_are_xml_too(sim):
    unauthorised = sim.handle("GET", REST + "account/balance", "", {}, b"")
    assert unauthorised.status == 401
    assert unauthorised.header("WWW-Authenticate") == 'Basic realm="Zoom Connect"'
    root = xml(unauthorised)
    assert root.tag == "restErrorDTO"
    assert (root.findtext("status"), root.findtext("code")) == ("UNAUTHORIZED", "401")
    assert root.find("moreInfoUrl").get(NIL) == "true"
    missing = get(sim, "contacts/nope")
    assert (missing.status, xml(missing).findtext("status")) == (404, "NOT_FOUND")
    wrong_method = sim.handle("DELETE", REST + "account/balance", "", CREDENTIALS, b"")
    assert (wrong_method.status, wrong_method.header("Allow")) == (405, "GET")
    assert xml(wrong_method).tag == "restErrorDTO"
    refused = post(sim, "sms/send", {"recipientNumber": "+27600000005", "message": "x"}, CREDENTIALS)
    assert (refused.status, xml(refused).findtext("code")) == (400, "2")


def test_injected_faults_answer_in_the_negotiated_format(sim):
    sim.inject_fault("429", retry_after=3)
    limited = get(sim, "account/balance")
    assert (limited.status, limited.header("Retry-After")) == (429, "3")
    assert xml(limited).findtext("status") == "TOO_MANY_REQUESTS"
    sim.inject_fault("503", after_processing=True)
    assert xml(get(sim, "account/balance")).findtext("code") == "503"
    sim.inject_fault("500")
    assert get(sim, "account/balance", AS_JSON).json()["code"] == 1


def test_every_resource_carries_the_same_fields_in_xml(sim):
    contact = post(sim, "contacts/create", {"contactNumber": "0821234567", "firstName": "Thandi"}).json()
    sent = post(sim, "sms/send", {"recipientNumber": "+27600000006", "message": "Dinner? ", "campaign": "c"})
    message_id = sent.json()["messageId"]
    sim.advance(10)  # delivered, then a reply arrives: dates, a contact link and a reply link
    reply_id = sim.messages[-1].message_id
    paths = [
        "account/balance",
        "account/statistics",
        "account/user/1",
        "contacts/all",
        f"contacts/{contact['contactId']}",
        "groups/all",
        f"messages/{message_id}",
        f"messages/{reply_id}",
        "messages/all",
        "templates/all",
        "templates/1",
        "sms/send",
        "sms/send-bulk",
        "voice/all",
    ]
    for path in paths:
        expected = get(sim, path, AS_JSON).json()
        assert_same(expected, xml(get(sim, path)), path)
    analysis = {"message": "Hello €", "recipientNumber": "0821234567"}
    for path in ("messages/analyse/full", "messages/analyse/message-length", "sms/send-bulk"):
        body = (
            analysis if "analyse" in path else {"sendSmsRequests": [{"recipientNumber": "1", "message": "x"}]}
        )
        expected = post(sim, path, body).json()
        assert_same(expected, xml(post(sim, path, body, CREDENTIALS)), path)


def test_the_control_api_always_answers_json(sim):
    for headers in ({}, {"Accept": "application/xml"}):
        response = sim.handle("GET", "/_simulator/balance", "", headers, b"")
        assert response.header("Content-Type") == JSON_TYPE
        assert response.json() == {"creditBalance": 1000.0}


# --- sms/send-url-parameters and sms/send-url/{token} -----------------------------------------------

SEND_QUERY = urlencode({"recipientNumber": "0821234567", "message": "hi"})


@pytest.mark.parametrize("operation", ["sms/send-url-parameters", "sms/send-url/simulator-token"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_send_url_answers_json_when_json_is_asked_for(sim, operation, method):
    by_accept = sim.handle(method, REST + operation, SEND_QUERY, AS_JSON, b"")
    by_suffix = sim.handle(method, REST + operation + ".json", SEND_QUERY, CREDENTIALS, b"")
    for response in (by_accept, by_suffix):
        assert (response.status, response.header("Content-Type")) == (200, JSON_TYPE)
        message_id = response.json()
        assert isinstance(message_id, str)
        assert sim.message(message_id).message == "hi"


@pytest.mark.parametrize("operation", ["sms/send-url-parameters", "sms/send-url/simulator-token"])
@pytest.mark.parametrize(
    "headers", [{}, {"Accept": "*/*"}, {"Accept": "text/plain"}, {"Accept": "application/xml"}]
)
def test_send_url_answers_plain_text_otherwise(operation, headers):
    sim = Simulator(clock=Clock(T0, frozen=True), default_format="406")  # text is never refused
    response = sim.handle("GET", REST + operation, SEND_QUERY, {**CREDENTIALS, **headers}, b"")
    assert (response.status, response.header("Content-Type")) == (200, TEXT_TYPE)
    assert sim.message(response.body.decode()).message == "hi"


# --- our own client is unchanged by all this -------------------------------------------------------


def test_the_client_asks_for_json_and_gets_it(sim):
    base = "http://formats.zoomconnect.invalid/"
    mount_transport(base, SimulatorAdapter(sim))
    try:
        with ZoomConnectClient(email=sim.email, token=sim.token, base_url=base + "app/") as client:
            assert client.get_balance() == 1000.0
            message_id = client.send_sms_url_parameters("+27821234567", "hi")
            assert sim.message(message_id).message == "hi"
    finally:
        unmount_transport(base)
    assert {r.headers["accept"] for r in sim.requests} == {"application/json"}
    assert {r.status for r in sim.requests} == {200}
