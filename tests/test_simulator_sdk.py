"""A client written by others against the production service, unchanged, against the simulator.

``zoomconnect-sdk`` (PyPI) was written against the real Zoom Connect API: it authenticates with
``email`` and ``token`` query parameters, sends ``"messagesPerMinute": 0`` with every bulk send
and judges a delete successful only when the answer is HTTP 200. Where it and the simulator
disagree, the simulator is wrong. It runs over real loopback HTTP, its base URL pointed at the
simulator: never at a real host.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_zoomconnect.simulator import Clock
from django_zoomconnect.simulator.server import ServedSimulator, SimulatorServer

sdk = pytest.importorskip(
    "zoomconnect_sdk.client",
    reason="zoomconnect-sdk (in the test extra: pip install -e '.[test]') is not installed",
)

NUMBERS = ["+27821234567", "+27821234568", "+27821234569"]


@pytest.fixture
def sim() -> ServedSimulator:
    return ServedSimulator(clock=Clock(frozen=True))


@pytest.fixture
def server(sim: ServedSimulator) -> Iterator[SimulatorServer]:
    with SimulatorServer(sim, background=False) as running:
        yield running


@pytest.fixture
def client(server: SimulatorServer, sim: ServedSimulator) -> Iterator[Any]:
    built = sdk.Client(base_url=server.url, api_token=sim.token, account_email=sim.email)
    assert built.base_url == f"http://127.0.0.1:{server.port}/app"  # the simulator, nothing else
    yield built
    built.session.close()


def test_balance(client: Any) -> None:
    assert client.get_account_balance()["creditBalance"] == 1000.0


def test_send_one_sms(client: Any, sim: ServedSimulator) -> None:
    result = client.send_sms(NUMBERS[0], "Hello from the SDK", campaign="sdk", dataField="ref-1")
    assert result["error"] is None
    message = sim.message(result["messageId"])
    assert (message.to_number, message.message, message.data_field) == (
        NUMBERS[0],
        "Hello from the SDK",
        "ref-1",
    )
    request = sim.requests[-1]
    assert "token=[redacted]" in request.query  # the SDK's way: credentials in the query string
    assert request.json()["dateToSend"] is None


def test_bulk_send_with_the_sdks_default_pacing(client: Any, sim: ServedSimulator) -> None:
    result = client.send_sms_bulk(NUMBERS, "Hello, all")
    assert sim.requests[-1].json()["messagesPerMinute"] == 0
    responses = result["sendSmsResponses"]
    assert [r["error"] for r in responses] == [None, None, None]
    ids = [r["messageId"] for r in responses]
    assert [sim.message(i).to_number for i in ids] == NUMBERS
    sim.advance(1)
    assert {sim.message(i).status for i in ids} == {"SENT"}  # 0: no pacing, all released at once


def test_every_delete_succeeds_as_the_sdk_judges_success(client: Any, sim: ServedSimulator) -> None:
    contact = client.create_contact("Thandi", "Nkosi", NUMBERS[0], "Ms")
    group = client.create_group("Customers")
    message_id = client.send_sms(NUMBERS[1], "to be deleted")["messageId"]
    template_id = client.get_all_templates()["webServiceTemplates"][0]["templateId"]
    assert client.add_contact_to_group(contact["contactId"], group["groupId"]) is True

    assert client.delete_contact(contact["contactId"]) is True
    assert client.delete_group(group["groupId"]) is True
    assert client.delete_message(message_id) is True
    assert client.delete_template(template_id) is True

    assert (sim.state.contacts, sim.state.groups) == ({}, {})
    assert template_id not in sim.state.templates
    assert sim.message(message_id).deleted
    deletes = [r for r in sim.requests if r.method == "DELETE"]
    assert [(r.status, r.body) for r in deletes] == [(200, b"null")] * 4  # the SDK sends a JSON null


def test_a_failed_delete_is_a_failure_for_the_sdk_too(client: Any) -> None:
    assert client.delete_contact("0" * 24) is False  # 404: the SDK's verdict is not vacuous


def test_the_analysis_operations_it_calls_succeed(client: Any) -> None:
    assert client.get_message_analyses("Hello €", NUMBERS[0])["messageEncoding"] == "GSM7"
    assert client.get_message_length("Hello", NUMBERS[0]) is True  # text=True: "answered 200"
