"""Calls to the simulator's REST API for its tests: credentials, a frozen start, answer checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django_zoomconnect.simulator import Clock, Simulator, SimulatorResponse

REST = "/app/api/rest/v1/"
EMAIL = "simulator@example.com"
TOKEN = "simulator-token"
JSON = {"Accept": "application/json"}
AUTH = {"email": EMAIL, "token": TOKEN, **JSON, "Content-Type": "application/json"}
# 2024-05-01 10:00 in Johannesburg (UTC+2).
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def frozen_simulator() -> Simulator:
    """A simulator with default options whose clock stands still at :data:`T0`."""
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


def create_contact(sim: Simulator, number: str = "0821234567", **fields: Any) -> dict[str, Any]:
    return dict(ok(call(sim, "POST", "contacts/create", {"contactNumber": number, **fields})))


def create_group(sim: Simulator, name: str = "Customers") -> dict[str, Any]:
    return dict(ok(call(sim, "POST", "groups/create", {"name": name})))
