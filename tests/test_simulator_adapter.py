"""Tests for the in-process ``requests`` adapter: requests reach handle(), faults raise like a network."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.client import RemoteDisconnected

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.util import Timeout

from django_zoomconnect.simulator import SimulatorResponse, TransportFault
from django_zoomconnect.simulator.adapter import SimulatorAdapter, read_timeout_of

BASE = "http://simulator.zoomconnect.invalid/"


@dataclass
class StandIn:
    """Answers every request with ``answer`` and remembers what it was asked."""

    answer: SimulatorResponse = field(
        default_factory=lambda: SimulatorResponse(
            200, [("Content-Type", "application/json; charset=utf-8")], b'{"creditBalance": 12.5}'
        )
    )
    calls: list[tuple[str, str, str, Mapping[str, str], bytes]] = field(default_factory=list)

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> SimulatorResponse:
        self.calls.append((method, path, query, headers, body))
        return self.answer


def session_for(sim: StandIn) -> requests.Session:
    session = requests.Session()
    session.mount(BASE, SimulatorAdapter(sim))  # type: ignore[arg-type]
    return session


def test_request_reaches_handle_with_path_query_headers_and_body() -> None:
    sim = StandIn()
    response = session_for(sim).post(
        BASE + "app/api/rest/v1/sms/send?email=a%40b.c&x=1",
        json={"recipientNumber": "+27821234567", "message": "hi"},
        headers={"token": "t"},
    )
    method, path, query, headers, body = sim.calls[0]
    assert (method, path, query) == ("POST", "/app/api/rest/v1/sms/send", "email=a%40b.c&x=1")
    assert headers["TOKEN"] == "t"  # case-insensitive, like a real server's
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"recipientNumber": "+27821234567", "message": "hi"}
    assert response.status_code == 200
    assert response.reason == "OK"
    assert response.json() == {"creditBalance": 12.5}
    assert response.encoding == "utf-8"
    assert response.url == BASE + "app/api/rest/v1/sms/send?email=a%40b.c&x=1"
    assert response.request.method == "POST"


def test_bodies_of_every_kind_arrive_as_bytes() -> None:
    sim = StandIn()
    session = session_for(sim)
    session.get(BASE + "a")
    session.post(BASE + "b", data="text é")
    session.post(BASE + "c", data=iter([b"ab", b"cd"]))
    session.post(BASE + "d", data=io.BytesIO(b"file"))
    assert [call[4] for call in sim.calls] == [b"", "text é".encode(), b"abcd", b"file"]


def test_repeated_headers_are_folded_and_status_text_kept() -> None:
    sim = StandIn(SimulatorResponse(204, [("X-A", "1"), ("x-a", "2")], b""))
    response = session_for(sim).delete(BASE + "app/api/rest/v1/contacts/1")
    assert response.status_code == 204
    assert response.reason == "No Content"
    assert response.headers["X-A"] == "1, 2"
    assert response.content == b""


def test_unknown_status_has_empty_reason() -> None:
    response = session_for(StandIn(SimulatorResponse(599, [], b"x"))).get(BASE)
    assert response.status_code == 599
    assert response.reason == ""


def test_stream_mode_reads_the_same_body() -> None:
    response = session_for(StandIn()).get(BASE, stream=True)
    assert b"".join(response.iter_content(4)) == b'{"creditBalance": 12.5}'


def test_refuse_raises_connection_error_caused_by_a_new_connection_failure() -> None:
    sim = StandIn(SimulatorResponse(503, [], b"", TransportFault("refuse")))
    with pytest.raises(requests.ConnectionError) as caught:
        session_for(sim).post(BASE + "app/api/rest/v1/sms/send", json={})
    retry_error = caught.value.args[0]
    assert isinstance(retry_error, MaxRetryError)
    assert isinstance(retry_error.reason, NewConnectionError)
    assert isinstance(retry_error.reason.__cause__, ConnectionRefusedError)
    assert "Connection refused" in str(retry_error.reason)
    assert caught.value.request is not None


def test_drop_raises_connection_aborted_remote_disconnected() -> None:
    sim = StandIn(SimulatorResponse(200, [], b"{}", TransportFault("drop")))
    with pytest.raises(requests.ConnectionError) as caught:
        session_for(sim).post(BASE + "app/api/rest/v1/sms/send", json={})
    protocol_error = caught.value.args[0]
    assert isinstance(protocol_error, ProtocolError)
    assert protocol_error.args[0] == "Connection aborted."
    assert isinstance(protocol_error.args[1], RemoteDisconnected)
    assert not isinstance(caught.value, requests.Timeout)


@pytest.mark.parametrize("timeout", [5, (1.0, 5.0), Timeout(connect=1, read=5)])
def test_delay_at_or_past_the_read_timeout_raises_read_timeout(timeout: object) -> None:
    sim = StandIn(SimulatorResponse(200, [], b"{}", TransportFault("delay", seconds=5.0)))
    with pytest.raises(requests.ReadTimeout) as caught:
        session_for(sim).get(BASE, timeout=timeout)  # type: ignore[arg-type]
    assert isinstance(caught.value.args[0], ReadTimeoutError)
    assert "read timeout=5" in str(caught.value)


@pytest.mark.parametrize("timeout", [None, 30, (1.0, None)])
def test_delay_shorter_than_the_read_timeout_answers_without_sleeping(timeout: object) -> None:
    sim = StandIn(SimulatorResponse(200, [], b"{}", TransportFault("delay", seconds=3600.0)))
    if timeout == 30:
        sim.answer = SimulatorResponse(200, [], b"{}", TransportFault("delay", seconds=2.0))
    response = session_for(sim).get(BASE, timeout=timeout)  # type: ignore[arg-type]
    assert response.status_code == 200


def test_read_timeout_of_reads_every_form() -> None:
    assert read_timeout_of(None) is None
    assert read_timeout_of(3) == 3.0
    assert read_timeout_of((1, 2)) == 2.0
    assert read_timeout_of((1, None)) is None
    assert read_timeout_of(Timeout(connect=1, read=4)) == 4.0
    assert read_timeout_of(Timeout(connect=1)) is None
    with pytest.raises(ValueError, match="connect, read"):
        read_timeout_of((1, 2, 3))


def test_unsendable_body_is_a_type_error() -> None:
    prepared = requests.Request("POST", BASE).prepare()
    prepared.body = 42  # type: ignore[assignment]
    with pytest.raises(TypeError, match="int"):
        SimulatorAdapter(StandIn()).send(prepared)  # type: ignore[arg-type]


def test_adapter_repr_and_close() -> None:
    adapter = SimulatorAdapter(StandIn())  # type: ignore[arg-type]
    assert "SimulatorAdapter" in repr(adapter)
    adapter.close()
