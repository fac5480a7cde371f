"""Tests for simulator/webhooks.py: parameters, signatures, where parameters travel, retries."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from django_zoomconnect.signing import verify_checksum
from django_zoomconnect.simulator import Clock, Simulator
from django_zoomconnect.simulator.webhooks import default_poster

REST = "/app/api/rest/v1/"
AUTH = {"email": "simulator@example.com", "token": "simulator-token", "Accept": "application/json"}
SECRET = "webhook-secret"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)  # 10:00 in Johannesburg


class Recorder:
    """A fake poster: records calls and answers the statuses it is given, in turn."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, str], dict[str, str]]] = []

    def __call__(self, url: str, query: dict[str, str], form: dict[str, str]) -> int:
        self.calls.append((url, query, form))
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return answer

    def params(self, index: int = -1) -> dict[str, str]:
        _, query, form = self.calls[index]
        return {**query, **form}


def make(poster: Recorder, **options: Any) -> Simulator:
    settings: dict[str, Any] = {
        "clock": Clock(T0, frozen=True),
        "secret": SECRET,
        "reply_url": "http://app.test/zoomconnect/reply/",
        "delivery_report_url": "http://app.test/zoomconnect/delivery-report/",
        "webhook_poster": poster,
        "send_delay": 1,
        "delivery_delay": 2,
        "reply_delay": 1,
    }
    settings.update(options)
    return Simulator(**settings)


def send(sim: Simulator, number: str = "0821234567", text: str = "hello", **extra: Any) -> str:
    body = json.dumps({"recipientNumber": number, "message": text, **extra}).encode()
    response = sim.handle("POST", REST + "sms/send", "", AUTH, body)
    assert response.status == 200
    return str(response.json()["messageId"])


def test_delivery_report_parameters_without_campaign_or_data_field():
    poster = Recorder()
    sim = make(poster)
    message_id = send(sim)
    assert sim.flush_webhooks() == 0  # nothing final yet
    sim.advance(3)
    assert sim.flush_webhooks() == 1
    url, query, form = poster.calls[0]
    assert url == "http://app.test/zoomconnect/delivery-report/"
    assert query == {}
    assert set(form) == {"messageId", "status", "nonce", "nonce-date", "checksum"}
    assert form["messageId"] == message_id
    assert form["status"] == "DELIVERED"
    assert uuid.UUID(form["nonce"]).version == 4
    # five minutes after the delivery (10:00:03 in Johannesburg)
    assert form["nonce-date"] == "20240501100503"
    assert verify_checksum(form, form["checksum"], SECRET, encodings=("raw",))


@pytest.mark.parametrize(
    ("number", "status"),
    [("+27600000001", "FAILED"), ("+27600000002", "FAILED_REFUNDED"), ("+27600000003", "FAILED_OPTOUT")],
)
def test_failure_reports_carry_campaign_and_data_field(number, status):
    poster = Recorder()
    sim = make(poster)
    send(sim, number, campaign="spring", dataField="cli:1691,app:13478,")
    sim.advance(3)
    sim.flush_webhooks()
    params = poster.params()
    assert params["status"] == status
    assert params["campaign"] == "spring"
    assert params["dataField"] == "cli:1691,app:13478,"
    assert set(params) == {"messageId", "status", "campaign", "dataField", "nonce", "nonce-date", "checksum"}


def test_no_report_number_never_reports():
    poster = Recorder()
    sim = make(poster)
    send(sim, "+27600000004")
    sim.advance(3600)
    assert sim.flush_webhooks() == 0
    assert poster.calls == []


def test_reply_parameters():
    poster = Recorder()
    sim = make(poster)
    original = send(sim, "+27600000006", "Dinner at 8? ", campaign="c", dataField="d")
    sim.advance(4)
    assert sim.flush_webhooks() == 2
    reply_url, _, _ = poster.calls[1]
    params = poster.params(1)
    assert reply_url == "http://app.test/zoomconnect/reply/"
    assert set(params) == {
        "messageId", "repliedToMessageId", "from", "to", "message", "date",
        "campaign", "dataField", "nonce", "nonce-date", "checksum",
    }  # fmt: skip
    assert params["repliedToMessageId"] == original
    assert params["from"] == "+27600000006"
    assert params["to"] == "+27870000000"
    assert params["message"] == "Reply to: Dinner at 8? "
    assert params["date"] == "202405011000"
    assert (params["campaign"], params["dataField"]) == ("c", "d")
    assert params["messageId"] == sim.messages[-1].message_id
    assert verify_checksum(params, params["checksum"], SECRET, encodings=("raw",))


def test_inbound_without_a_known_original_has_no_replied_to():
    poster = Recorder()
    sim = make(poster)
    sim.simulate_inbound("0821234567", "STOP", to_number="INF-WnV8e3c2tsHTQKDb")
    sim.flush_webhooks()
    params = poster.params()
    assert "repliedToMessageId" not in params
    assert "campaign" not in params
    assert params["to"] == "INF-WnV8e3c2tsHTQKDb"


def test_form_signing_verifies_only_as_form():
    poster = Recorder()
    sim = make(poster, webhook_signing="form")
    sim.simulate_inbound("0821234567", "Test + Message ~ é")
    sim.flush_webhooks()
    params = poster.params()
    assert verify_checksum(params, params["checksum"], SECRET, encodings=("form",))
    assert not verify_checksum(params, params["checksum"], SECRET, encodings=("raw",))


@pytest.mark.parametrize(
    ("params_in", "in_query", "in_form"),
    [("body", False, True), ("query", True, False), ("both", True, True)],
)
def test_where_parameters_travel(params_in, in_query, in_form):
    poster = Recorder()
    sim = make(poster, webhook_params_in=params_in)
    sim.simulate_inbound("0821234567", "hi")
    sim.flush_webhooks()
    _, query, form = poster.calls[0]
    assert bool(query) is in_query
    assert bool(form) is in_form
    if in_query and in_form:
        assert query == form
    assert sim.webhook_attempts[0].params_in == params_in


def test_no_url_no_webhook_and_no_secret_no_checksum():
    poster = Recorder()
    sim = make(poster, reply_url=None, secret=None)
    sim.simulate_inbound("0821234567", "hi")
    send(sim)
    sim.advance(3)
    sim.flush_webhooks()
    assert len(poster.calls) == 1  # the delivery report only
    assert "checksum" not in poster.params()
    assert sim.counters()["webhooks.skipped"] == 1


def test_failures_are_retried_with_backoff_at_clock_times():
    poster = Recorder(500, ConnectionRefusedError("nobody home"), 404, 200)
    sim = make(poster, webhook_backoff=2.0, webhook_max_attempts=5)
    sim.simulate_inbound("0821234567", "hi")
    assert sim.flush_webhooks() == 1
    assert sim.flush_webhooks() == 0  # the retry is due in 2 s
    sim.advance(1.9)
    assert sim.flush_webhooks() == 0
    sim.advance(0.1)
    assert sim.flush_webhooks() == 1  # second attempt, fails; next in 4 s
    sim.advance(4)
    assert sim.flush_webhooks() == 1  # third attempt, 404; next in 8 s
    sim.advance(8)
    assert sim.flush_webhooks() == 1  # fourth attempt, delivered
    sim.advance(1000)
    assert sim.flush_webhooks() == 0
    attempts = sim.webhook_attempts
    assert [a.attempt for a in attempts] == [1, 2, 3, 4]
    assert [a.status for a in attempts] == [500, None, 404, 200]
    assert attempts[1].error == "ConnectionRefusedError: nobody home"
    assert [a.ok for a in attempts] == [False, False, False, True]
    assert [(a.at - T0).total_seconds() for a in attempts] == [0, 2, 6, 14]
    nonces = {a.params["nonce"] for a in attempts}
    assert len(nonces) == 4  # each attempt is a new, freshly signed request
    assert all(verify_checksum(a.params, a.params["checksum"], SECRET) for a in attempts)
    counts = sim.counters()
    assert (counts["webhooks.attempts"], counts["webhooks.delivered"], counts["webhooks.failed"]) == (4, 1, 3)


@pytest.mark.parametrize(("digits", "expected"), [("14", "20240501100503"), ("16", "2024050110050327")])
def test_nonce_date_with_14_or_16_digits(digits, expected):
    # 16 digits as in the provider's own examples (2014051610050102): hundredths of a second.
    poster = Recorder()
    sim = make(poster, clock=Clock(T0 + timedelta(milliseconds=270), frozen=True), nonce_date_digits=digits)
    send(sim)
    sim.advance(3)
    sim.flush_webhooks()
    form = poster.params()
    assert form["nonce-date"] == expected
    assert verify_checksum(form, form["checksum"], SECRET, encodings=("raw",))
    assert sim.config()["nonceDateDigits"] == digits


def test_nonce_dates_are_mixed_by_default_the_same_for_every_attempt_of_an_event():
    poster = Recorder(200, 500, 200, 200, 200)
    sim = make(poster, webhook_backoff=1.0)
    assert sim.config()["nonceDateDigits"] == "mixed"
    for number in ("0821234561", "0821234562", "0821234563", "0821234564"):
        send(sim, number)
    sim.advance(3)
    assert sim.flush_webhooks() == 4
    sim.advance(1)
    assert sim.flush_webhooks() == 1  # the second event's retry
    attempts = sim.webhook_attempts
    lengths = [(a.message_id, len(a.params["nonce-date"])) for a in attempts]
    ids = [m.message_id for m in sim.messages]
    assert lengths == [(ids[0], 14), (ids[1], 16), (ids[2], 14), (ids[3], 16), (ids[1], 16)]
    assert all(a.params["nonce-date"].startswith("202405011005") for a in attempts)


def test_nonce_date_digits_change_at_run_time():
    poster = Recorder()
    sim = make(poster)
    control = sim.handle("POST", "/_simulator/config", "", {}, b'{"nonceDateDigits": "16"}')
    assert control.json()["nonceDateDigits"] == "16"
    sim.simulate_inbound("0821234567", "hi")
    sim.flush_webhooks()
    assert len(poster.params()["nonce-date"]) == 16
    with pytest.raises(ValueError, match="nonce_date_digits"):
        sim.configure(nonce_date_digits="12")


def test_attempts_stop_at_the_maximum():
    poster = Recorder(*([503] * 10))
    sim = make(poster, webhook_backoff=0, webhook_max_attempts=3)
    sim.simulate_inbound("0821234567", "hi")
    for _ in range(5):
        sim.flush_webhooks()
    assert len(sim.webhook_attempts) == 3
    assert sim.counters()["webhooks.pending"] == 0


def test_configuration_changes_at_run_time():
    poster = Recorder()
    sim = make(poster, reply_url=None)
    sim.configure(reply_url="http://elsewhere.test/r", webhook_params_in="query", secret="new-secret")
    sim.simulate_inbound("0821234567", "hi")
    sim.flush_webhooks()
    url, query, _ = poster.calls[0]
    assert url == "http://elsewhere.test/r"
    assert verify_checksum(query, query["checksum"], "new-secret")
    with pytest.raises(ValueError, match="signing"):
        sim.configure(webhook_signing="base64")
    with pytest.raises(ValueError, match="unknown"):
        sim.configure(colour="blue")


def test_background_thread_delivers():
    delivered = threading.Event()

    def poster(url: str, query: dict[str, str], form: dict[str, str]) -> int:
        delivered.set()
        return 200

    sim = Simulator(clock=Clock(T0, frozen=True), reply_url="http://app.test/r", webhook_poster=poster)
    sim.start_background(interval=0.01)
    try:
        sim.simulate_inbound("0821234567", "hi")
        assert delivered.wait(10)
    finally:
        sim.stop_background()
    assert sim.webhook_attempts[0].ok


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], str]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length).decode()
        _Receiver.received.append((self.path, dict(parse_qsl(body)), self.headers["Content-Type"]))
        status = 403 if "forbidden" in self.path else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_default_poster_posts_a_form_over_loopback():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert default_poster(base + "/hook?x=1", {"a": "b c"}, {"message": "Hi & bye"}) == 200
        assert default_poster(base + "/forbidden", {}, {"m": "x"}) == 403
    finally:
        server.shutdown()
        server.server_close()
    path, form, content_type = _Receiver.received[0]
    assert urlsplit(path).path == "/hook"
    assert dict(parse_qsl(urlsplit(path).query)) == {"x": "1", "a": "b c"}
    assert form == {"message": "Hi & bye"}
    assert content_type.startswith("application/x-www-form-urlencoded")
    with pytest.raises(ValueError, match="http"):
        default_poster("file:///etc/passwd", {}, {})
