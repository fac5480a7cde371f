"""Tests for the threaded HTTP server: real loopback sockets, keep-alive, each fault as the client sees it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from django_zoomconnect import exceptions
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.simulator import Clock, Simulator
from django_zoomconnect.simulator.server import ServedSimulator, SimulatorServer

NUMBER = "+27821234567"


@pytest.fixture
def sim() -> ServedSimulator:
    return ServedSimulator(clock=Clock(frozen=True))


@pytest.fixture
def server(sim: Simulator) -> Iterator[SimulatorServer]:
    with SimulatorServer(sim, background=False) as running:
        yield running


def client_for(server: SimulatorServer, **options: object) -> ZoomConnectClient:
    options.setdefault("get_retries", 0)
    return ZoomConnectClient(
        email="simulator@example.com",
        token="simulator-token",
        base_url=server.url,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def client(server: SimulatorServer) -> Iterator[ZoomConnectClient]:
    with client_for(server) as built:
        yield built


def accepted_sends(sim: Simulator) -> int:
    return sim.counters().get("sends.accepted", 0)


def test_url_points_at_the_app_base_on_loopback(server: SimulatorServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/app/"
    assert server.control_url == f"http://127.0.0.1:{server.port}/_simulator/"
    assert repr(server) == f"<SimulatorServer {server.url}>"


def test_the_client_talks_to_it_over_keep_alive(
    server: SimulatorServer, sim: Simulator, client: ZoomConnectClient
) -> None:
    sim.set_balance(42)
    for _ in range(3):
        assert client.get_balance() == 42
    result = client.send_sms(NUMBER, "hello")
    assert result.message_id
    assert server.connections_accepted == 1
    assert [request.path for request in sim.requests][-1] == "/app/api/rest/v1/sms/send"


def test_every_http_method_reaches_the_simulator(server: SimulatorServer, sim: Simulator) -> None:
    auth = {"email": "simulator@example.com", "token": "simulator-token", "Accept": "application/json"}
    with requests.Session() as session:
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
            session.request(method, server.url + "api/rest/v1/nowhere", headers=auth, timeout=5)
        chunked = session.post(
            server.url + "api/rest/v1/sms/send",
            data=iter([b'{"recipientNumber": "+27821234567", ', b'"message": "hi"}']),
            headers={**auth, "Content-Type": "application/json"},
            timeout=5,
        )
    assert chunked.ok
    assert chunked.json()["messageId"]
    assert [r.method for r in sim.requests] == [
        "GET",
        "POST",
        "PUT",
        "DELETE",
        "PATCH",
        "OPTIONS",
        "HEAD",
        "POST",
    ]
    assert server.connections_accepted == 1


def test_a_bad_content_length_is_a_400_that_never_reaches_the_simulator(
    server: SimulatorServer, sim: Simulator
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"POST /app/ HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        assert raw.recv(1024).startswith(b"HTTP/1.1 400")
    assert sim.requests == []


def test_control_api_answers_without_auth(server: SimulatorServer) -> None:
    response = requests.post(server.control_url + "balance", json={"credits": 7}, timeout=5)
    assert response.ok
    assert requests.get(server.url + "api/rest/v1/account/balance", timeout=5).status_code == 401


# --- each fault, as the unchanged client classifies it ---------------------------------------


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors(sim: Simulator, client: ZoomConnectClient, status: str) -> None:
    sim.inject_fault(status)
    with pytest.raises(exceptions.ServerError) as caught:
        client.get_balance()
    assert caught.value.status == int(status)
    assert caught.value.may_have_been_sent


def test_rate_limit_carries_retry_after(sim: Simulator, client: ZoomConnectClient) -> None:
    sim.inject_fault("429", retry_after=7)
    with pytest.raises(exceptions.RateLimitedError) as caught:
        client.send_sms(NUMBER, "hello")
    assert caught.value.retry_after == 7
    assert accepted_sends(sim) == 0


def test_delay_past_the_read_timeout_is_a_read_timeout(server: SimulatorServer, sim: Simulator) -> None:
    sim.inject_fault("delay", seconds=30, path="sms/send")
    with client_for(server, timeout=(5.0, 0.2)) as client, pytest.raises(exceptions.ReadTimeoutError):
        client.send_sms(NUMBER, "hello")
    assert accepted_sends(sim) == 1  # processed; the answer came too late


def test_drop_is_a_lost_connection_after_the_send_was_accepted(
    sim: Simulator, client: ZoomConnectClient
) -> None:
    sim.inject_fault("drop", path="sms/send")
    with pytest.raises(exceptions.ConnectionLostError):
        client.send_sms(NUMBER, "hello", data_field="ref-1")
    assert accepted_sends(sim) == 1
    assert sim.counters()["dataField:ref-1"] == 1


def test_refuse_is_a_connect_error_and_nothing_is_sent(sim: Simulator, client: ZoomConnectClient) -> None:
    sim.inject_fault("refuse")
    with pytest.raises(exceptions.ConnectError) as caught:
        client.send_sms(NUMBER, "hello")
    assert not caught.value.may_have_been_sent
    assert accepted_sends(sim) == 0
    assert sim.counters()["faults.refuse"] == 1
    assert client.send_sms(NUMBER, "hello").message_id  # count=1: the next connection is served
    assert accepted_sends(sim) == 1


def test_refuse_counts_connection_attempts(sim: Simulator, client: ZoomConnectClient) -> None:
    sim.inject_fault("refuse", count=2)
    for _ in range(2):
        with pytest.raises(exceptions.ConnectError):
            client.get_balance()
    assert client.get_balance() == 1000


def test_refuse_armed_while_a_keep_alive_connection_is_open(
    server: SimulatorServer, sim: Simulator, client: ZoomConnectClient
) -> None:
    client.get_balance()  # the client now holds an idle keep-alive connection
    sim.inject_fault("refuse")
    with pytest.raises(exceptions.ConnectError):
        client.send_sms(NUMBER, "hello")
    assert client.send_sms(NUMBER, "hello").message_id
    assert accepted_sends(sim) == 1
    assert server.connections_accepted == 2


def test_refuse_armed_over_the_control_api(server: SimulatorServer, sim: Simulator) -> None:
    with client_for(server) as client:
        client.get_balance()
        armed = requests.post(server.control_url + "faults", json={"kind": "refuse"}, timeout=5)
        assert armed.ok
        with pytest.raises(exceptions.ConnectError):
            client.get_balance()
        assert client.get_balance() == 1000


def test_a_plain_simulator_cannot_refuse_an_already_open_connection(sim: Simulator) -> None:
    plain = Simulator(clock=Clock(frozen=True))
    with SimulatorServer(plain, background=False) as server, client_for(server) as client:
        client.get_balance()
        plain.inject_fault("refuse")
        # The nearest thing: the request is not processed, the connection is reset.
        with pytest.raises(exceptions.ConnectionLostError):
            client.send_sms(NUMBER, "hello")
        assert accepted_sends(plain) == 0


def test_a_refusal_filtered_by_path_resets_the_connection(sim: Simulator, client: ZoomConnectClient) -> None:
    sim.inject_fault("refuse", path="sms/send")
    assert client.get_balance() == 1000  # not refused: another path
    with pytest.raises(exceptions.ConnectionLostError):
        client.send_sms(NUMBER, "hello")
    assert accepted_sends(sim) == 0


# --- refusing by the server itself (for clients in another process) --------------------------


def assert_refused(error: requests.ConnectionError) -> None:
    reason = error.args[0]
    assert isinstance(reason, MaxRetryError)
    assert isinstance(reason.reason, NewConnectionError)


def test_refuse_connections_refuses_exactly_count_attempts(server: SimulatorServer, sim: Simulator) -> None:
    server.refuse_connections(2)
    assert server.refusing
    for _ in range(2):
        with pytest.raises(requests.ConnectionError) as caught:
            requests.get(server.url, timeout=5)
        assert_refused(caught.value)
    assert requests.get(server.control_url + "state", timeout=5).ok
    assert not server.refusing


def test_refusal_until_resume(server: SimulatorServer) -> None:
    server.refuse_connections(None, seconds=3600)
    for _ in range(3):
        with pytest.raises(requests.ConnectionError):
            requests.get(server.control_url + "state", timeout=5)
    server.resume()
    assert requests.get(server.control_url + "state", timeout=5).ok


def test_timed_refusal_listens_again_by_itself(server: SimulatorServer) -> None:
    server.refuse_connections(None, seconds=0.05)
    waiting = threading.Event()
    while server.refusing and not waiting.wait(0.01):
        pass
    assert requests.get(server.control_url + "state", timeout=5).ok


def test_refuse_connections_needs_a_limit(server: SimulatorServer) -> None:
    with pytest.raises(ValueError, match="count, seconds"):
        server.refuse_connections(None)


def test_connections_elsewhere_are_not_counted(server: SimulatorServer) -> None:
    server.refuse_connections(1)
    with SimulatorServer(Simulator(), background=False) as other:
        assert requests.get(other.control_url + "state", timeout=5).ok
    assert server.refusing


# --- lifecycle -------------------------------------------------------------------------------


def test_background_delivers_webhooks_while_serving() -> None:
    delivered = threading.Event()
    posted: list[str] = []

    def poster(url: str, query: dict[str, str], form: dict[str, str]) -> int:
        posted.append(form["status"])
        delivered.set()
        return 200

    sim = Simulator(
        send_delay=0, delivery_delay=0, delivery_report_url="http://hooks.invalid/dlr", webhook_poster=poster
    )
    with SimulatorServer(sim) as server, client_for(server) as client:
        client.send_sms(NUMBER, "hello")
        assert delivered.wait(10)
    assert posted[0] == "DELIVERED"


def test_stop_frees_the_port(sim: Simulator) -> None:
    server = SimulatorServer(sim, background=False).start()
    port = server.port
    assert requests.get(server.control_url + "state", timeout=5).ok
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/_simulator/state", timeout=5)


def test_stop_interrupts_a_held_answer(sim: Simulator) -> None:
    server = SimulatorServer(sim, background=False).start()
    sim.inject_fault("delay", seconds=3600)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with client_for(server, timeout=(5.0, 3600.0)) as client:
                client.get_balance()
        except exceptions.ZoomConnectError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while not sim.requests:
        threading.Event().wait(0.01)
    server.stop()
    caller.join(timeout=10)
    assert not caller.is_alive()
    assert isinstance(errors[0], exceptions.ConnectionLostError)


def test_start_twice_and_port_before_start(sim: Simulator) -> None:
    server = SimulatorServer(sim)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.port
    assert repr(server) == "<SimulatorServer not started>"
    with server, pytest.raises(RuntimeError, match="already started"):
        server.start()


def test_ipv6_loopback_url(sim: Simulator) -> None:
    try:
        server = SimulatorServer(sim, host="::1", background=False).start()
    except OSError:
        pytest.skip("IPv6 loopback is not configured on this machine")
    with server:
        assert server.url == f"http://[::1]:{server.port}/app/"
        assert requests.get(server.control_url + "state", timeout=5).ok
