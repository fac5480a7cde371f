"""Tests for ``python -m django_zoomconnect.simulator`` and ``manage.py zoomconnect_simulator``."""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.management.commands import zoomconnect_simulator
from django_zoomconnect.simulator import __main__ as cli
from django_zoomconnect.simulator.server import ServedSimulator, SimulatorServer

ROOT = Path(__file__).resolve().parent.parent


def parse(*argv: str) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return vars(parser.parse_args(list(argv)))


def test_defaults_leave_the_simulator_its_own() -> None:
    options = parse()
    assert options["host"] == "127.0.0.1"
    assert options["port"] == 8765
    assert options["control"] is True
    simulator = cli.build_simulator(options)
    assert isinstance(simulator, ServedSimulator)
    assert simulator.email == "simulator@example.com"
    assert simulator.token == "simulator-token"
    assert simulator.control is True
    config = simulator.config()
    assert (config["defaultFormat"], config["successStatuses"], config["nonceDateDigits"]) == (
        "xml",
        "200",
        "mixed",
    )


def test_every_flag_reaches_the_simulator() -> None:
    options = parse(
        *("--email", "ops@example.com", "--token", "tok", "--secret", "shh"),
        *("--reply-url", "http://127.0.0.1:8000/zoomconnect/reply/"),
        *("--delivery-report-url", "http://127.0.0.1:8000/zoomconnect/delivery-report/"),
        *("--balance", "12.5", "--send-delay", "0", "--delivery-delay", "3", "--reply-delay", "4"),
        *("--webhook-signing", "form", "--webhook-params-in", "both", "--date-format", "iso"),
        *("--timezone", "UTC", "--no-templates", "--no-control"),
        *("--default-format", "406", "--success-statuses", "201/204", "--nonce-date-digits", "16"),
    )
    simulator = cli.build_simulator(options)
    config = simulator.config()
    assert (simulator.email, simulator.token, simulator.balance) == ("ops@example.com", "tok", 12.5)
    assert config["replyUrl"] == "http://127.0.0.1:8000/zoomconnect/reply/"
    assert config["deliveryReportUrl"] == "http://127.0.0.1:8000/zoomconnect/delivery-report/"
    assert config["secretSet"] is True
    assert (config["webhookSigning"], config["webhookParamsIn"]) == ("form", "both")
    assert (config["sendDelay"], config["deliveryDelay"], config["replyDelay"]) == (0, 3, 4)
    assert (config["dateFormat"], config["timezone"]) == ("iso", "UTC")
    assert (config["defaultFormat"], config["successStatuses"], config["nonceDateDigits"]) == (
        "406",
        "201/204",
        "16",
    )
    assert simulator.control is False
    assert simulator.state.templates == {}


def test_bad_choices_are_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--webhook-signing", "sha256")
    assert "invalid choice" in capsys.readouterr().err


def test_settings_snippet_is_valid_python() -> None:
    snippet = cli.settings_snippet("http://127.0.0.1:8765/app/", "a@b.c", "tok", "shh")
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # noqa: S102 - our own text
    assert namespace["ZOOMCONNECT"] == {
        "BASE_URL": "http://127.0.0.1:8765/app/",
        "EMAIL": "a@b.c",
        "API_TOKEN": "tok",
        "WEBHOOK_SECRET": "shh",
    }
    assert "WEBHOOK_SECRET" not in cli.settings_snippet("http://x/app/", "a@b.c", "tok", None)


def run_in_thread(options: dict[str, Any]) -> tuple[io.StringIO, SimulatorServer, threading.Thread]:
    out = io.StringIO()
    started = threading.Event()
    servers: list[SimulatorServer] = []

    def ready(server: SimulatorServer) -> None:
        servers.append(server)
        started.set()

    thread = threading.Thread(target=cli.run, args=(options, out), kwargs={"ready": ready})
    thread.start()
    assert started.wait(10)
    return out, servers[0], thread


def test_run_serves_prints_where_and_stops() -> None:
    out, server, thread = run_in_thread(parse("--port", "0", "--email", "ops@example.com", "--log-requests"))
    try:
        text = out.getvalue()
        assert f"Zoom Connect simulator listening on {server.url}" in text
        assert f'"BASE_URL": "{server.url}"' in text
        assert '"EMAIL": "ops@example.com"' in text
        assert "simulator-token" in text
        assert server.control_url in text
        client = ZoomConnectClient(email="ops@example.com", token="simulator-token", base_url=server.url)
        with client:
            assert client.get_balance() == 1000
    finally:
        server.stop()
        thread.join(10)
    assert not thread.is_alive()
    text = out.getvalue()
    assert "/app/api/rest/v1/account/balance" in text  # --log-requests
    assert text.endswith("Simulator stopped.\n")


def test_no_control_answers_404_there() -> None:
    out, server, thread = run_in_thread(parse("--port", "0", "--no-control"))
    try:
        assert "disabled (--no-control)" in out.getvalue()
        assert requests.get(server.control_url + "state", timeout=5).status_code == 404
    finally:
        server.stop()
        thread.join(10)


#: Starts the rest of argv with SIGINT ignored (argv[1] == "ignored") or at its default, as a
#: shell would: the disposition survives exec, and Python leaves an ignored SIGINT ignored.
WITH_SIGINT = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.SIG_IGN if sys.argv[1] == 'ignored' else signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"
)


@pytest.mark.slow
# "ignored": as a background job of a non-interactive shell (CI, nohup, `cmd &`) starts.
@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_python_dash_m_runs_without_django_and_stops_on_ctrl_c(sigint: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = ["-m", "django_zoomconnect.simulator", "--port", "0", "--token", "t0k"]
    process = subprocess.Popen(  # noqa: S603 - our own fixed command line
        [sys.executable, "-c", WITH_SIGINT, sigint, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(ROOT),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Zoom Connect simulator listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        answer = requests.get(
            url + "api/rest/v1/account/balance",
            headers={"email": "simulator@example.com", "token": "t0k", "Accept": "application/json"},
            timeout=10,
        )
        assert answer.json()["creditBalance"] == 1000
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.endswith("Simulator stopped.\n")
    assert "Traceback" not in err


def test_management_command_defaults_to_the_project_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(zoomconnect_simulator, "run", lambda options, out: seen.append(options))
    with override_settings(
        ZOOMCONNECT={"EMAIL": "ops@example.com", "API_TOKEN": "proj-token", "WEBHOOK_SECRET": ["new", "old"]}
    ):
        call_command("zoomconnect_simulator", "--port", "0", "--balance", "5")
    assert seen[0]["email"] == "ops@example.com"
    assert seen[0]["token"] == "proj-token"
    assert seen[0]["secret"] == "new"
    assert seen[0]["port"] == 0
    assert seen[0]["balance"] == 5.0


def test_management_command_flags_win_and_missing_settings_are_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(zoomconnect_simulator, "run", lambda options, out: seen.append(options))
    with override_settings(ZOOMCONNECT={"WEBHOOK_SECRET": 42}):
        call_command("zoomconnect_simulator", "--token", "flag-token", "--no-control")
    assert seen[0]["token"] == "flag-token"
    assert seen[0]["email"] is None
    assert seen[0]["secret"] is None  # the invalid setting is left to the system checks
    assert seen[0]["control"] is False
    assert cli.build_simulator(seen[0]).email == "simulator@example.com"


def test_management_command_runs_the_same_program() -> None:
    # A real run, stopped from a thread once it listens.
    out = io.StringIO()
    original = cli.SimulatorServer.start

    def start_then_stop_soon(self: SimulatorServer) -> SimulatorServer:
        started = original(self)
        threading.Timer(0.0, self.stop).start()
        return started

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli.SimulatorServer, "start", start_then_stop_soon)
        call_command("zoomconnect_simulator", "--port", "0", stdout=out)
    assert "Zoom Connect simulator listening on http://127.0.0.1:" in out.getvalue()
    assert '"EMAIL": "tests@example.com"' in out.getvalue()  # from tests/settings.py
    assert out.getvalue().endswith("Simulator stopped.\n")


def test_a_busy_port_is_one_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            cli.CannotStart, match=f"Could not listen on 127.0.0.1:{port}: the port is in use"
        ):
            cli.run(parse("--port", str(port)), io.StringIO())
        assert cli.main(["--port", str(port)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(
            f"python -m django_zoomconnect.simulator: error: Could not listen on 127.0.0.1:{port}"
        )
        assert err.count("\n") == 1
        with pytest.raises(CommandError, match=f"Could not listen on 127.0.0.1:{port}: the port is in use"):
            call_command("zoomconnect_simulator", "--port", str(port), stdout=io.StringIO())


def test_an_option_the_simulator_refuses_is_one_line() -> None:
    with pytest.raises(cli.CannotStart, match="The simulator refused an option: 'Mars/Base' is not a known"):
        cli.run({"port": 0, "timezone": "Mars/Base"}, io.StringIO())


def test_the_cli_refuses_bad_values_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--timezone", "Mars/Base"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "python -m django_zoomconnect.simulator: error: argument --timezone: 'Mars/Base' is not a known "
        "time zone: give an IANA name such as Africa/Johannesburg or UTC\n"
    )


def test_management_command_sends_webhooks_to_the_project_at_site(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(zoomconnect_simulator, "run", lambda options, out: seen.append(options))
    call_command("zoomconnect_simulator", "--port", "0")
    call_command("zoomconnect_simulator", "--site", "https://shop.example.com/")
    call_command(
        "zoomconnect_simulator",
        "--site",
        "http://127.0.0.1:9000",
        "--reply-url",
        "http://elsewhere.example/reply/",
    )
    assert [(options["reply_url"], options["delivery_report_url"]) for options in seen] == [
        (
            "http://127.0.0.1:8000/zoomconnect/webhooks/reply/",
            "http://127.0.0.1:8000/zoomconnect/webhooks/delivery-report/",
        ),
        (
            "https://shop.example.com/zoomconnect/webhooks/reply/",
            "https://shop.example.com/zoomconnect/webhooks/delivery-report/",
        ),
        ("http://elsewhere.example/reply/", "http://127.0.0.1:9000/zoomconnect/webhooks/delivery-report/"),
    ]


def test_management_command_prints_the_webhook_urls_and_a_working_control_address() -> None:
    out, server, thread = run_in_thread(
        {**parse("--port", "0"), "reply_url": "http://127.0.0.1:8000/zoomconnect/webhooks/reply/"}
    )
    try:
        assert "replies to:       http://127.0.0.1:8000/zoomconnect/webhooks/reply/" in out.getvalue()
        index = requests.get(server.control_url, timeout=5)
        assert index.status_code == 200
        assert {"method": "GET", "path": "/_simulator/state"} in [
            {"method": op["method"], "path": op["path"]} for op in index.json()["operations"]
        ]
    finally:
        server.stop()
        thread.join(10)


@override_settings(ROOT_URLCONF="tests.urls_without_webhooks")
def test_management_command_says_when_the_project_has_no_webhook_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(zoomconnect_simulator, "run", lambda options, out: seen.append(options))
    err = io.StringIO()
    call_command("zoomconnect_simulator", stderr=err)
    assert (seen[0]["reply_url"], seen[0]["delivery_report_url"]) == (None, None)
    assert "does not include django_zoomconnect.urls" in err.getvalue()
    err = io.StringIO()
    call_command(
        "zoomconnect_simulator",
        "--reply-url",
        "http://a.example/",
        "--delivery-report-url",
        "http://a.example/",
        stderr=err,
    )
    assert err.getvalue() == ""
