"""Tests for simulator/faults.py: which requests an injected fault hits, and how often."""

import io
import json
from datetime import UTC, datetime

import pytest

from django_zoomconnect.simulator import Clock, Simulator
from django_zoomconnect.simulator.faults import FaultInjector, TransportFault


def test_count_faults_fire_on_the_next_matching_requests_only():
    faults = FaultInjector()
    faults.add("500", count=2, path="sms/send-bulk", method="post")
    assert faults.take("POST", "/app/api/rest/v1/sms/send") is None
    assert faults.take("GET", "/app/api/rest/v1/sms/send-bulk") is None
    first = faults.take("POST", "/app/api/rest/v1/sms/send-bulk")
    second = faults.take("POST", "/app/api/rest/v1/sms/send-bulk")
    assert first is not None
    assert second is not None
    assert first.kind == "500"
    assert faults.take("POST", "/app/api/rest/v1/sms/send-bulk") is None
    assert faults.rules == []


def test_defaults_for_429_and_delay():
    faults = FaultInjector()
    assert faults.add("429").retry_after == 1
    assert faults.add("delay").seconds == 60.0
    assert faults.add("delay", seconds=0.5).seconds == 0.5


def test_rate_faults_are_seeded_and_persist():
    def pattern(seed: int) -> list[bool]:
        faults = FaultInjector(seed)
        faults.add("503", rate=0.5)
        return [faults.take("GET", "/x") is not None for _ in range(40)]

    assert pattern(7) == pattern(7)
    assert 0 < sum(pattern(7)) < 40


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("404", {}),
        ("500", {"count": 0}),
        ("500", {"rate": 1.5}),
        ("delay", {"seconds": -1}),
        ("drop", {"after_processing": True}),
    ],
)
def test_bad_fault_options_are_refused(kind, options):
    with pytest.raises(ValueError):  # noqa: PT011
        FaultInjector().add(kind, **options)


def test_transport_fault_is_a_value():
    assert TransportFault("delay", 3.0) == TransportFault(kind="delay", seconds=3.0)
    assert TransportFault("drop").seconds == 0.0


# --- through the simulator ----------------------------------------------------------------------

REST = "/app/api/rest/v1/"
AUTH = {"email": "simulator@example.com", "token": "simulator-token", "Accept": "application/json"}
SEND = json.dumps({"recipientNumber": "0821234567", "message": "hi", "dataField": "ref-1"}).encode()


@pytest.fixture
def sim() -> Simulator:
    return Simulator(clock=Clock(datetime(2024, 5, 1, 8, 0, tzinfo=UTC), frozen=True))


def post_send(sim: Simulator):
    return sim.handle("POST", REST + "sms/send", "", AUTH, SEND)


@pytest.mark.parametrize(("kind", "status", "code"), [("500", 500, 1), ("503", 503, 503), ("429", 429, 429)])
def test_http_faults_answer_their_status_and_do_not_process(sim, kind, status, code):
    sim.inject_fault(kind, path="sms/send")
    response = post_send(sim)
    assert response.status == status
    assert response.fault is None
    assert response.json()["code"] == code
    assert sim.counters().get("sends.accepted", 0) == 0
    assert sim.requests[-1].fault == kind
    assert post_send(sim).status == 200


def test_429_carries_retry_after(sim):
    sim.inject_fault("429", retry_after=7)
    response = post_send(sim)
    assert response.header("Retry-After") == "7"
    assert response.json()["status"] == "TOO_MANY_REQUESTS"


def test_500_after_processing_accepts_the_send(sim):
    sim.inject_fault("500", after_processing=True)
    assert post_send(sim).status == 500
    assert sim.counters()["dataField:ref-1"] == 1


def test_drop_processes_the_request_then_signals_the_drop(sim):
    sim.inject_fault("drop", method="POST", path="sms/send")
    response = post_send(sim)
    assert response.fault == TransportFault("drop", 0.0)
    assert response.status == 200
    assert sim.counters()["sends.accepted"] == 1
    assert sim.counters()["dataField:ref-1"] == 1
    assert len(sim.messages) == 1


def test_delay_processes_and_holds_the_answer(sim):
    sim.inject_fault("delay", seconds=45)
    response = post_send(sim)
    assert response.fault == TransportFault("delay", 45.0)
    assert response.status == 200
    assert sim.counters()["sends.accepted"] == 1


def test_refuse_does_not_process_or_record(sim):
    sim.inject_fault("refuse", count=2)
    for _ in range(2):
        response = post_send(sim)
        assert response.fault == TransportFault("refuse", 0.0)
    assert sim.counters().get("sends.accepted", 0) == 0
    assert sim.requests == []
    assert sim.counters()["faults.refuse"] == 2
    assert post_send(sim).fault is None


def test_faults_match_method_and_path_and_skip_the_control_api(sim):
    sim.inject_fault("503", method="GET", path="account/balance")
    assert sim.handle("GET", "/_simulator/balance", "", {}, b"").status == 200
    assert post_send(sim).status == 200
    assert sim.handle("GET", REST + "account/balance", "", AUTH, b"").status == 503
    assert sim.handle("GET", REST + "account/balance", "", AUTH, b"").status == 200


def test_connection_refusals_for_servers(sim):
    sim.inject_fault("500", path="sms/send")
    sim.inject_fault("refuse")
    assert sim.connection_refusal_armed()
    assert sim.take_connection_refusal()
    assert not sim.connection_refusal_armed()
    assert not sim.take_connection_refusal()
    sim.inject_fault("500")
    sim.inject_fault("refuse")
    assert not sim.connection_refusal_armed()


def test_rate_faults_through_the_simulator_are_repeatable():
    def statuses(seed: int) -> list[int]:
        sim = Simulator(fault_seed=seed)
        sim.inject_fault("503", rate=0.3)
        return [sim.handle("GET", REST + "account/balance", "", AUTH, b"").status for _ in range(30)]

    first = statuses(3)
    assert first == statuses(3)
    assert {200, 503} == set(first)


def test_wsgi_wrapper_marks_transport_faults(sim):
    sim.inject_fault("drop")
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": REST + "sms/send",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(SEND)),
        "HTTP_EMAIL": AUTH["email"],
        "HTTP_TOKEN": AUTH["token"],
        "wsgi.input": io.BytesIO(SEND),
    }
    body = b"".join(sim.wsgi_app(environ, lambda status, headers: seen.append((status, headers))))
    assert seen[0][0] == "502 Bad Gateway"
    assert ("X-Simulator-Fault", "drop") in seen[0][1]
    assert body == b""
    assert sim.counters()["sends.accepted"] == 1
