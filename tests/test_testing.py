"""Tests for the pytest plugin: the fixtures, used the way a project's own tests would use them."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

from django_zoomconnect import conf, exceptions, signing, testing
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.simulator import Simulator
from django_zoomconnect.simulator.server import SimulatorServer

ROOT = Path(__file__).resolve().parent.parent
NUMBER = "+27821234567"


# --- what a user writes ----------------------------------------------------------------------


def test_user_sends_an_sms_and_it_is_delivered(zoomconnect_simulator: Simulator) -> None:
    client = ZoomConnectClient.from_settings()
    result = client.send_sms(NUMBER, "Your code is 4711", data_field="order-17")
    assert result.message_id

    sent = zoomconnect_simulator.message(result.message_id)
    assert sent.message == "Your code is 4711"
    zoomconnect_simulator.advance(60)
    assert client.get_message(result.message_id).status == "DELIVERED"
    assert zoomconnect_simulator.counters()["dataField:order-17"] == 1


def test_user_tests_the_magic_numbers(zoomconnect_simulator: Simulator) -> None:
    client = ZoomConnectClient.from_settings()
    failed = client.send_sms("+27600000001", "hi").message_id
    assert failed
    with pytest.raises(exceptions.InvalidNumberError):
        client.send_sms("+27600000005", "hi")
    zoomconnect_simulator.advance(60)
    assert client.get_message(failed).status == "FAILED"


def test_user_tests_an_outage(zoomconnect_simulator: Simulator) -> None:
    zoomconnect_simulator.inject_fault("refuse")
    with pytest.raises(exceptions.ConnectError):
        ZoomConnectClient.from_settings().get_balance()
    zoomconnect_simulator.inject_fault("drop", path="sms/send")
    with pytest.raises(exceptions.ConnectionLostError):
        ZoomConnectClient.from_settings().send_sms(NUMBER, "hi")
    assert zoomconnect_simulator.counters()["sends.accepted"] == 1


def test_settings_point_at_the_simulator_and_keep_the_rest(zoomconnect_simulator: Simulator) -> None:
    assert conf.base_url() == testing.SIMULATOR_BASE_URL
    assert conf.get("EMAIL") == zoomconnect_simulator.email
    assert conf.get("API_TOKEN") == zoomconnect_simulator.token
    assert conf.webhook_secrets() == ("simulator-secret",)
    assert conf.get("GET_RETRIES") == 0
    assert conf.get("RETRY_BACKOFF") == 0


def test_settings_are_restored_after_the_fixture() -> None:
    assert settings.ZOOMCONNECT["BASE_URL"] == "https://zoomconnect.invalid/app/"


def test_the_clock_is_frozen_until_stepped(zoomconnect_simulator: Simulator) -> None:
    before = zoomconnect_simulator.clock.now()
    assert zoomconnect_simulator.clock.frozen
    assert zoomconnect_simulator.clock.now() == before
    zoomconnect_simulator.advance(30)
    assert (zoomconnect_simulator.clock.now() - before).total_seconds() == 30


def test_every_client_built_during_the_test_reaches_it(zoomconnect_simulator: Simulator) -> None:
    zoomconnect_simulator.set_balance(3)
    explicit = ZoomConnectClient(
        email=zoomconnect_simulator.email,
        token=zoomconnect_simulator.token,
        base_url=testing.SIMULATOR_BASE_URL,
    )
    assert explicit.get_balance() == 3
    assert ZoomConnectClient.from_settings().get_balance() == 3


class TestOptionsCanBeOverridden:
    @pytest.fixture
    def zoomconnect_simulator_options(self) -> dict[str, Any]:
        return {"balance": 2.0, "webhook_signing": "form"}

    def test_options_reach_the_simulator(self, zoomconnect_simulator: Simulator) -> None:
        assert ZoomConnectClient.from_settings().get_balance() == 2.0
        assert zoomconnect_simulator.config()["webhookSigning"] == "form"


# --- webhooks into the project's views --------------------------------------------------------


def test_webhooks_go_through_the_django_test_client(
    zoomconnect_simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, dict[str, str], dict[str, str], str]] = []

    class FakeResponse:
        status_code = 204

    class FakeClient:
        def post(self, path: str, data: str, content_type: str) -> FakeResponse:
            from urllib.parse import parse_qsl, urlsplit

            parts = urlsplit(path)
            seen.append((parts.path, dict(parse_qsl(parts.query)), dict(parse_qsl(data)), content_type))
            return FakeResponse()

    monkeypatch.setattr("django.test.Client", FakeClient)
    zoomconnect_simulator.configure(
        delivery_report_url="/hooks/dlr/?site=1", webhook_params_in="both", send_delay=0, delivery_delay=0
    )
    message_id = ZoomConnectClient.from_settings().send_sms(NUMBER, "hi", campaign="c").message_id
    zoomconnect_simulator.flush_webhooks()

    path, query, form, content_type = seen[-1]
    assert path == "/hooks/dlr/"
    assert query["site"] == "1"
    assert form["messageId"] == message_id
    assert content_type.startswith("application/x-www-form-urlencoded")
    params = {key: value for key, value in query.items() if key != "site"}
    assert params == form
    assert signing.verify_checksum(form, form["checksum"], "simulator-secret")
    assert zoomconnect_simulator.webhook_attempts[-1].status == 204


def test_the_poster_sends_other_hosts_to_its_fallback() -> None:
    calls: list[str] = []
    poster = testing.django_test_client_poster(lambda url, query, form: calls.append(url) or 200)
    assert poster("http://hooks.example.invalid/x", {}, {"a": "b"}) == 200
    assert calls == ["http://hooks.example.invalid/x"]


def test_webhooks_reach_a_real_view_through_the_test_client(
    zoomconnect_simulator: Simulator, settings: Any
) -> None:
    settings.ROOT_URLCONF = "tests.test_testing"
    zoomconnect_simulator.configure(reply_url="/echo/", send_delay=0, delivery_delay=0)
    zoomconnect_simulator.simulate_inbound(NUMBER, "hello back")
    zoomconnect_simulator.flush_webhooks()
    attempt = zoomconnect_simulator.webhook_attempts[-1]
    assert attempt.status == 200
    assert _echoed[-1]["message"] == "hello back"


@pytest.mark.django_db
@pytest.mark.parametrize(("digits", "lengths"), [("14", {14}), ("16", {16}), ("mixed", {14, 16})])
def test_the_webhook_views_accept_14_and_16_digit_nonce_dates(
    zoomconnect_simulator: Simulator, digits: str, lengths: set[int]
) -> None:
    # The provider's own examples carry 16 digits (2014051610050102): hundredths of a second.
    from django_zoomconnect.events import parse_nonce_date
    from django_zoomconnect.models import WebhookEvent

    zoomconnect_simulator.configure(nonce_date_digits=digits, send_delay=0, delivery_delay=0)
    client = ZoomConnectClient.from_settings()
    for text in ("one", "two"):
        client.send_sms(NUMBER, text)
    zoomconnect_simulator.simulate_inbound(NUMBER, "hello back")
    assert zoomconnect_simulator.flush_webhooks() == 3
    attempts = zoomconnect_simulator.webhook_attempts
    assert {len(attempt.params["nonce-date"]) for attempt in attempts} == lengths
    assert [attempt.status for attempt in attempts] == [200, 200, 200]
    for attempt in attempts:
        event = WebhookEvent.objects.get(nonce=attempt.params["nonce"])
        expires = parse_nonce_date(attempt.params["nonce-date"][:14], conf.api_timezone())
        assert event.nonce_expires_at == expires
    assert WebhookEvent.objects.count() == 3


_echoed: list[dict[str, str]] = []


def _echo(request: Any) -> Any:
    from django.http import HttpResponse

    _echoed.append(request.POST.dict())
    return HttpResponse("ok")


def _urls() -> list[Any]:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [path("echo/", csrf_exempt(_echo))]


urlpatterns = _urls()


# --- the live fixture ------------------------------------------------------------------------


def test_live_simulator_serves_over_real_sockets(
    zoomconnect_live_simulator: Simulator, zoomconnect_live_server: SimulatorServer
) -> None:
    assert conf.base_url() == zoomconnect_live_server.url
    assert zoomconnect_live_server.simulator is zoomconnect_live_simulator
    client = ZoomConnectClient.from_settings()
    assert client.send_sms(NUMBER, "over loopback").message_id
    assert zoomconnect_live_server.connections_accepted == 1


def test_live_simulator_times_out_for_real(zoomconnect_live_simulator: Simulator) -> None:
    zoomconnect_live_simulator.inject_fault("delay", seconds=30)
    with pytest.raises(exceptions.ReadTimeoutError):
        ZoomConnectClient.from_settings(timeout=(5.0, 0.1)).get_balance()


def test_live_simulator_refuses_for_real(zoomconnect_live_simulator: Simulator) -> None:
    client = ZoomConnectClient.from_settings()
    client.get_balance()
    zoomconnect_live_simulator.inject_fault("refuse")
    with pytest.raises(exceptions.ConnectError):
        client.get_balance()
    assert client.get_balance() == 1000


def test_live_server_answers_the_control_api(zoomconnect_live_server: SimulatorServer) -> None:
    assert requests.get(zoomconnect_live_server.control_url + "state", timeout=5).ok


# --- signed webhook helpers ------------------------------------------------------------------


def test_the_signed_request_builders_are_those_of_the_webhooks_module() -> None:
    from django_zoomconnect.testing import webhooks

    for name in ("sign_params", "build_delivery_report_params", "build_reply_params", "signed_post"):
        assert getattr(testing, name) is getattr(webhooks, name)
    with pytest.raises(AttributeError, match="no_such_helper"):
        testing.no_such_helper  # noqa: B018


def test_a_signed_delivery_report_verifies_with_the_settings_secret() -> None:
    params = testing.build_delivery_report_params("abc", "FAILED", campaign="c", data_field="d")
    assert {k: params[k] for k in ("messageId", "status", "campaign", "dataField")} == {
        "messageId": "abc",
        "status": "FAILED",
        "campaign": "c",
        "dataField": "d",
    }
    assert signing.verify_checksum(params, params["checksum"], "test-webhook-secret", encodings=["raw"])


# --- the plugin itself -----------------------------------------------------------------------


def test_the_plugin_is_registered_by_an_entry_point() -> None:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    assert "zoomconnect = django_zoomconnect.testing" in parser["options.entry_points"]["pytest11"]


@pytest.mark.slow
def test_a_project_test_suite_gets_the_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        "from django_zoomconnect.client import ZoomConnectClient\n"
        "\n"
        "def test_send(zoomconnect_simulator):\n"
        "    client = ZoomConnectClient.from_settings()\n"
        '    assert client.send_sms("+27821234567", "hi").message_id\n'
        '    assert zoomconnect_simulator.counters()["sends.accepted"] == 1\n'
    )
    # Only the plugins this needs (hypothesis alone takes seconds to import): pytest-django and
    # ours, named the way a project's pytest would find them.
    result = subprocess.run(  # noqa: S603 - pytest on a file we just wrote
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            *("-p", "pytest_django.plugin", "-p", "django_zoomconnect.testing", "--ds=tests.settings"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
