"""Tests for simulator/core.py: the Simulator's options, configuration and records."""

import pytest

from django_zoomconnect.simulator import Simulator
from tests.simulator_calls import AUTH, REST, send


def test_recorded_requests_are_capped_but_counted(sim, monkeypatch):
    monkeypatch.setattr("django_zoomconnect.simulator.core.MAX_RECORDED_REQUESTS", 3)
    for _ in range(5):
        sim.handle("GET", REST + "account/balance", "", AUTH, b"")
    assert len(sim.requests) == 3
    assert sim.counters()["requests"] == 5


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"email": ""}, "email and a token"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"date_format": "rfc"}, "date_format"),
        ({"send_delay": -1}, "send_delay"),
        ({"balance": -5}, "zero or more"),
        ({"webhook_signing": "base64"}, "signing"),
        ({"webhook_params_in": "header"}, "params_in"),
        ({"webhook_max_attempts": 0}, "one or more"),
        ({"default_format": "yaml"}, "default_format"),
        ({"success_statuses": "201"}, "success_statuses"),
        ({"nonce_date_digits": "15"}, "nonce_date_digits"),
    ],
)
def test_constructor_refuses_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        Simulator(**options)


def test_configure_delays_and_date_format(sim):
    sim.configure(send_delay=10, delivery_delay=0, reply_delay=0, date_format="iso")
    message_id = send(sim)
    sim.advance(9)
    assert sim.message(message_id).status == "SCHEDULED"
    sim.advance(1)
    assert sim.message(message_id).status == "DELIVERED"
    assert sim.config()["dateFormat"] == "iso"
    with pytest.raises(ValueError, match="send_delay"):
        sim.configure(send_delay=-1)
    with pytest.raises(ValueError, match="date_format"):
        sim.configure(date_format="rfc")
    assert sim.config()["sendDelay"] == 10.0


def test_repr_shows_no_secrets():
    sim = Simulator(token="tok-123456", secret="sec-654321")
    text = repr(sim) + repr(sim.config()) + repr(sim.describe())
    assert "tok-123456" not in text
    assert "sec-654321" not in text
    assert "simulator@example.com" in repr(sim)
