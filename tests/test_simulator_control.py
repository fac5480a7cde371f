"""Tests for simulator/control.py: the control API under /_simulator/."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from django_zoomconnect.simulator import Simulator
from tests.simulator_calls import AUTH, REST, T0, call, create_contact, create_group, send


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


def test_the_prefix_itself_lists_every_control_operation(sim):
    from django_zoomconnect.simulator.routes import CONTROL_PREFIX, CONTROL_ROUTES

    index = control(sim, "GET", "")
    assert sim.handle("GET", "/_simulator", "", {}, b"").json() == index
    listed = {(op["method"], op["path"]) for op in index["operations"]}
    in_the_table = {
        (method, CONTROL_PREFIX + pattern.replace("{}", "{group_id}"))
        for pattern, methods in CONTROL_ROUTES
        for method in methods
    }
    assert listed == in_the_table
    assert len(index["operations"]) == len(listed)
    assert ("GET", "/_simulator/groups/{group_id}/members") in listed
    assert all(op["description"] and "\n" not in op["description"] for op in index["operations"])
    assert index["restApi"] == "/app/api/rest/v1/"
    assert sim.handle("POST", "/_simulator/", "", {}, b"").status == 405
