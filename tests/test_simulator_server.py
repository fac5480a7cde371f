"""Tests for the threaded HTTP server: real loopback sockets, keep-alive, each transport fault."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Mapping
from http.client import RemoteDisconnected

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from django_zoomconnect.simulator import SimulatorResponse, TransportFault
from django_zoomconnect.simulator.server import SimulatorServer


class StandIn:
    """Answers every request from a queue of answers (default: 200 with a JSON echo)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, str], bytes]] = []
        self.answers: list[SimulatorResponse] = []
        self.background: list[str] = []
        self.lock = threading.Lock()

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> SimulatorResponse:
        with self.lock:
            self.calls.append((method, path, query, dict(headers), body))
            if self.answers:
                return self.answers.pop(0)
        payload = json.dumps({"path": path, "email": headers.get("EMAIL")}).encode()
        return SimulatorResponse(
            200,
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
            payload,
        )

    def start_background(self, interval: float = 0.1) -> None:
        self.background.append("start")

    def stop_background(self) -> None:
        self.background.append("stop")


def fault(kind: str, seconds: float = 0.0) -> SimulatorResponse:
    return SimulatorResponse(
        200,
        [("Content-Length", "2")],
        b"{}",
        TransportFault(kind, seconds),  # type: ignore[arg-type]
    )


@pytest.fixture
def sim() -> StandIn:
    return StandIn()


@pytest.fixture
def server(sim: StandIn) -> Iterator[SimulatorServer]:
    with SimulatorServer(sim) as running:  # type: ignore[arg-type]
        yield running


def test_url_points_at_the_app_base_on_loopback(server: SimulatorServer, sim: StandIn) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/app/"
    assert server.control_url == f"http://127.0.0.1:{server.port}/_simulator/"
    assert repr(server) == f"<SimulatorServer {server.url}>"
    assert sim.background == ["start"]


def test_requests_reach_handle_with_path_query_headers_and_body(
    server: SimulatorServer, sim: StandIn
) -> None:
    response = requests.post(
        server.url + "api/rest/v1/sms/send?x=1",
        json={"message": "hi"},
        headers={"email": "a@b.c", "token": "t"},
        timeout=5,
    )
    assert response.status_code == 200
    assert response.json() == {"path": "/app/api/rest/v1/sms/send", "email": "a@b.c"}
    method, path, query, headers, body = sim.calls[0]
    assert (method, path, query) == ("POST", "/app/api/rest/v1/sms/send", "x=1")
    assert headers["token"] == "t"
    assert json.loads(body) == {"message": "hi"}


def test_keep_alive_reuses_one_connection(server: SimulatorServer, sim: StandIn) -> None:
    with requests.Session() as session:
        for _ in range(5):
            assert session.get(server.url + "api/rest/v1/account/balance", timeout=5).ok
    assert server.connections_accepted == 1
    assert len(sim.calls) == 5


def test_every_method_and_a_chunked_body(server: SimulatorServer, sim: StandIn) -> None:
    with requests.Session() as session:
        for method in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS"):
            assert session.request(method, server.url, timeout=5).status_code == 200
        head = session.head(server.url, timeout=5)
        assert head.status_code == 200
        assert head.content == b""
        chunked = session.post(server.url, data=iter([b"ab", b"cd"]), timeout=5)
        assert chunked.status_code == 200
    assert [call[0] for call in sim.calls] == ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "POST"]
    assert sim.calls[-1][4] == b"abcd"


def test_bad_content_length_is_a_400_without_reaching_the_simulator(
    server: SimulatorServer, sim: StandIn
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"POST /app/ HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        assert raw.recv(1024).startswith(b"HTTP/1.1 400")
    assert sim.calls == []


def test_delay_past_the_read_timeout_is_a_read_timeout(server: SimulatorServer, sim: StandIn) -> None:
    sim.answers.append(fault("delay", seconds=30.0))
    with pytest.raises(requests.ReadTimeout):
        requests.get(server.url, timeout=(5, 0.2))
    assert len(sim.calls) == 1  # processed, answered too late


def test_short_delay_is_answered(server: SimulatorServer, sim: StandIn) -> None:
    sim.answers.append(fault("delay", seconds=0.01))
    assert requests.get(server.url, timeout=5).json() == {}


def test_drop_closes_without_an_answer(server: SimulatorServer, sim: StandIn) -> None:
    sim.answers.append(fault("drop"))
    with pytest.raises(requests.ConnectionError) as caught:
        requests.post(server.url, json={}, timeout=5)
    error = caught.value.args[0]
    assert isinstance(error, ProtocolError)
    assert isinstance(error.args[1], RemoteDisconnected | ConnectionResetError)
    assert len(sim.calls) == 1


def test_a_refusal_decided_after_reading_resets_the_connection(server: SimulatorServer, sim: StandIn) -> None:
    sim.answers.append(fault("refuse"))
    with pytest.raises(requests.ConnectionError) as caught:
        requests.post(server.url, json={}, timeout=5)
    assert isinstance(caught.value.args[0], ProtocolError)
    assert requests.get(server.url, timeout=5).ok  # the server itself is still up


def assert_refused(error: requests.ConnectionError) -> None:
    reason = error.args[0]
    assert isinstance(reason, MaxRetryError)
    assert isinstance(reason.reason, NewConnectionError)
    assert "Connection refused" in str(reason.reason)


def test_refuse_connections_refuses_exactly_count_attempts(server: SimulatorServer, sim: StandIn) -> None:
    server.refuse_connections(2)
    assert server.refusing
    for _ in range(2):
        with pytest.raises(requests.ConnectionError) as caught:
            requests.get(server.url, timeout=5)
        assert_refused(caught.value)
    assert requests.get(server.url, timeout=5).ok
    assert not server.refusing
    assert len(sim.calls) == 1  # refused requests never reached the simulator


def test_refusal_closes_idle_keep_alive_connections(server: SimulatorServer, sim: StandIn) -> None:
    with requests.Session() as session:
        assert session.get(server.url, timeout=5).ok
        server.refuse_connections(1)
        with pytest.raises(requests.ConnectionError) as caught:
            session.post(server.url, json={}, timeout=5)
        assert_refused(caught.value)
        assert session.get(server.url, timeout=5).ok
    assert [call[0] for call in sim.calls] == ["GET", "GET"]


def test_refusal_until_resume(server: SimulatorServer) -> None:
    server.refuse_connections(None, seconds=3600)
    for _ in range(3):
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url, timeout=5)
    server.resume()
    assert requests.get(server.url, timeout=5).ok


def test_timed_refusal_listens_again_by_itself(server: SimulatorServer) -> None:
    server.refuse_connections(None, seconds=0.05)
    done = threading.Event()
    while server.refusing and not done.wait(0.01):
        pass
    assert requests.get(server.url, timeout=5).ok


def test_refuse_connections_needs_a_limit(server: SimulatorServer) -> None:
    with pytest.raises(ValueError, match="count, seconds"):
        server.refuse_connections(None)


def test_connections_elsewhere_are_not_affected(server: SimulatorServer) -> None:
    server.refuse_connections(1)
    with SimulatorServer(StandIn()) as other:  # type: ignore[arg-type]
        assert requests.get(other.url, timeout=5).ok
    assert server.refusing  # the attempt on the other port did not count


def test_stop_ends_background_and_frees_the_port(sim: StandIn) -> None:
    server = SimulatorServer(sim, background=False).start()  # type: ignore[arg-type]
    port = server.port
    assert requests.get(server.url, timeout=5).ok
    server.stop()
    assert sim.background == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/app/", timeout=5)


def test_stop_interrupts_a_held_answer(sim: StandIn) -> None:
    server = SimulatorServer(sim).start()  # type: ignore[arg-type]
    sim.answers.append(fault("delay", seconds=3600))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(server.url, timeout=(5, 3600))
        except requests.RequestException as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while not sim.calls:
        threading.Event().wait(0.01)
    server.stop()
    caller.join(timeout=10)
    assert not caller.is_alive()
    assert isinstance(errors[0], requests.ConnectionError)
    assert sim.background == ["start", "stop"]


def test_start_twice_and_port_before_start(sim: StandIn) -> None:
    server = SimulatorServer(sim)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port
    assert repr(server) == "<SimulatorServer not started>"
    with server, pytest.raises(RuntimeError, match="already started"):
        server.start()


def test_ipv6_loopback_url() -> None:
    if not socket.has_ipv6:
        pytest.skip("this machine has no IPv6")
    try:
        server = SimulatorServer(StandIn(), host="::1").start()  # type: ignore[arg-type]
    except OSError:
        pytest.skip("IPv6 loopback is not configured on this machine")
    with server:
        assert server.url == f"http://[::1]:{server.port}/app/"
        assert requests.get(server.url, timeout=5).ok
