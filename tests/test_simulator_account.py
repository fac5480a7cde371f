"""Tests for simulator/handlers/account.py: balance, statistics, users and transfers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django_zoomconnect.simulator import Simulator
from tests.simulator_calls import EMAIL, call, error, ok, send


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
