"""Wrong input typed in a shell: one line on stderr and a non-zero exit, never a traceback or a usage block.

Most cases run the commands' own shell path (``run_from_argv``, as ``manage.py`` does) in this
process; a few run ``manage.py`` of the example project and ``python -m
django_zoomconnect.simulator`` as subprocesses, as a newcomer does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import load_command_class

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "example_project" / "manage.py"

#: Bad arguments of every command, refused by the parser (exit status 2).
REFUSED_BY_THE_PARSER = [
    ("zoomconnect_sync", "--since", "yesterday"),
    ("zoomconnect_sync", "--until", "2026-13-01"),
    ("zoomconnect_sync", "--kinds", "contacts,voice"),
    ("zoomconnect_sync", "--kinds", ","),
    ("zoomconnect_sync", "--page-size", "-3"),
    ("zoomconnect_sync", "--page-size", "many"),
    ("zoomconnect_sync", "--bogus"),
    ("zoomconnect_send", "+27821234567", "hi", "--at", "tomorrow"),
    ("zoomconnect_send", "+27821234567", ""),
    ("zoomconnect_send", "+27821234567", "hi", "there"),
    ("zoomconnect_balance", "--json", "yes"),
    ("zoomconnect_webhooks",),
    ("zoomconnect_webhooks", "frob"),
    ("zoomconnect_webhooks", "reprocess", "x"),
    ("zoomconnect_webhooks", "reprocess", "0"),
    ("zoomconnect_webhooks", "reprocess", "--kind", "foo"),
    ("zoomconnect_webhooks", "reprocess", "--state", "processed"),
    ("zoomconnect_webhooks", "cleanup", "--days", "-1"),
    ("zoomconnect_webhooks", "cleanup", "--days", "99999999"),
    ("zoomconnect_erase",),
    ("zoomconnect_erase", " "),
    ("zoomconnect_erase", "+27821234567", "--bogus"),
    ("zoomconnect_retention", "extra"),
    ("zoomconnect_simulator", "--port", "-5"),
    ("zoomconnect_simulator", "--port", "70000"),
    ("zoomconnect_simulator", "--host", ""),
    ("zoomconnect_simulator", "--timezone", "Mars/Base"),
    ("zoomconnect_simulator", "--balance", "abc"),
    ("zoomconnect_simulator", "--balance", "-1"),
    ("zoomconnect_simulator", "--send-delay", "-1"),
    ("zoomconnect_simulator", "--token", ""),
    ("zoomconnect_simulator", "--reply-url", "notaurl"),
    ("zoomconnect_simulator", "--delivery-report-url", "ftp://example.com/"),
    ("zoomconnect_simulator", "--site", "localhost:8000"),
    ("zoomconnect_simulator", "--date-format", "bad"),
    ("zoomconnect_simulator", "--account", "nope"),
    ("zoomconnect_team",),
    ("zoomconnect_team", "frob"),
    ("zoomconnect_team", "transfer"),
    ("zoomconnect_team", "transfer", "a@example.com", "b@example.com", "many"),
    ("zoomconnect_team", "create"),
    ("zoomconnect_team", "list", "--json", "yes"),
    ("zoomconnect_retention", "--days", "3"),
    ("zoomconnect_balance", "--account"),
]

#: Input the parser takes but the command refuses (exit status 1): an unknown account alias,
#: missing or contradictory arguments, a number that is not one.
REFUSED_BY_THE_COMMAND = [
    ("zoomconnect_balance", "--account", "nope"),
    ("zoomconnect_send", "+27821234567", "hi", "--account", "nope"),
    ("zoomconnect_send", "--resume", "--account", "nope"),
    ("zoomconnect_send",),
    ("zoomconnect_send", "+27821234567"),
    ("zoomconnect_sync", "--account", "nope"),
    ("zoomconnect_sync", "--no-push", "--no-pull"),
    ("zoomconnect_team", "list", "--account", "nope"),
    ("zoomconnect_team", "transfer", "a@example.com", "a@example.com", "5"),
    ("zoomconnect_erase", "notanumber"),
]

#: The commands that call Zoom Connect, each with arguments that make it do so at once.
CALLING_ZOOM_CONNECT = [
    ("zoomconnect_balance",),
    ("zoomconnect_balance", "--json"),
    ("zoomconnect_sync", "--no-push"),
    ("zoomconnect_sync", "--quiet"),
    ("zoomconnect_team", "list"),
    ("zoomconnect_team", "transfer", "a@example.com", "b@example.com", "5"),
    ("zoomconnect_erase", "+27821234567", "--delete-remote"),
]


def run_from_shell(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """What ``manage.py <argv>`` does with a command: exit status, stdout and stderr."""
    command = load_command_class("django_zoomconnect", argv[0])
    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", *argv])
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def assert_one_line(err: str) -> None:
    assert err.count("\n") == 1, err
    assert err.endswith("\n"), err
    assert "Traceback" not in err
    assert "usage:" not in err


@pytest.mark.parametrize("argv", REFUSED_BY_THE_PARSER, ids=" ".join)
def test_a_bad_argument_is_one_line_and_exit_status_2(capsys, argv):
    status, out, err = run_from_shell(capsys, *argv)
    assert status == 2
    assert out == ""
    assert_one_line(err)
    prog = f"manage.py {argv[0]}"
    assert err.startswith(f"{prog}: error: ") or err.startswith(f"{prog} {argv[1]}: error: ")


def test_every_command_is_tried_with_bad_input():
    commands = {
        path.stem
        for path in (ROOT / "django_zoomconnect" / "management" / "commands").glob("zoomconnect_*.py")
    }
    assert {argv[0] for argv in REFUSED_BY_THE_PARSER} == commands
    called = {argv[0] for argv in REFUSED_BY_THE_COMMAND + CALLING_ZOOM_CONNECT}
    assert commands - called == {"zoomconnect_simulator", "zoomconnect_retention", "zoomconnect_webhooks"}


@pytest.mark.django_db
@pytest.mark.parametrize("argv", REFUSED_BY_THE_COMMAND, ids=" ".join)
def test_input_the_command_refuses_is_one_line_and_exit_status_1(capsys, zoomconnect_simulator, argv):
    status, out, err = run_from_shell(capsys, *argv)
    assert (status, out) == (1, "")
    assert_one_line(err)
    assert err.startswith("CommandError: ")


@pytest.fixture
def remote_contact(zoomconnect_simulator):
    """+27821234567 as a contact here and on the account (what ``--delete-remote`` deletes)."""
    from django_zoomconnect.models import Contact
    from django_zoomconnect.simulator.records import Contact as SimContact

    remote = SimContact(contact_id="c1", contact_number="+27821234567", first_name="Ann")
    zoomconnect_simulator.state.contacts[remote.contact_id] = remote
    zoomconnect_simulator.state.index_contact(remote)
    Contact.objects.create(phone_number="+27821234567", remote_id="c1")
    return remote


#: What a command did before Zoom Connect failed it, on stdout: erase's local erasure is done.
LOCAL_WORK_DONE = {
    "zoomconnect_erase": "contacts deleted: 1\ngroup memberships deleted: 0\nqueued messages cancelled: 0\n"
    "messages anonymised: 0\nstatus history entries anonymised: 0\nwebhook events emptied: 0\n"
    "opt-outs replaced by a hashed opt-out: 0\nopt-out history entries deleted: 0\n"
    "admin log entries deleted: 0\ncontacts deleted on Zoom Connect: 0\n"
    "opt-out kept as a hash: no (the number had not opted out)\n",
}

UNREACHABLE = (
    "CommandError: Could not reach Zoom Connect at http://simulator.zoomconnect.invalid/app/: "
    "connection refused. Is BASE_URL right, and is the service up?\n"
)
REFUSED = (
    "CommandError: Zoom Connect refused the credentials (401): check ZOOMCONNECT['EMAIL'] and "
    "['API_TOKEN'].\n"
)


@pytest.mark.django_db
@pytest.mark.parametrize("argv", CALLING_ZOOM_CONNECT, ids=" ".join)
def test_an_unreachable_provider_is_said_once_with_the_hint(
    capsys, zoomconnect_simulator, remote_contact, argv
):
    zoomconnect_simulator.inject_fault("refuse", count=50)
    status, out, err = run_from_shell(capsys, *argv)
    assert (status, out) == (1, LOCAL_WORK_DONE.get(argv[0], ""))
    assert err.startswith(UNREACHABLE.removesuffix("\n")), err
    assert_one_line(err)
    if argv[0] == "zoomconnect_erase":
        assert err.endswith(
            " The local erasure is done, but the contact is left on the account: run the command "
            "again to delete it.\n"
        )
    assert zoomconnect_simulator.counters()["faults.refuse"] == 1  # stopped at the first failure


@pytest.mark.django_db
@pytest.mark.parametrize("argv", CALLING_ZOOM_CONNECT, ids=" ".join)
def test_refused_credentials_are_said_once_with_the_hint(capsys, zoomconnect_simulator, remote_contact, argv):
    from tests.outbox import zoomconnect_settings

    with zoomconnect_settings(API_TOKEN="wrong-token"):
        status, out, err = run_from_shell(capsys, *argv)
    assert (status, out) == (1, LOCAL_WORK_DONE.get(argv[0], ""))
    assert err.startswith(REFUSED.removesuffix("\n")), err
    assert_one_line(err)
    assert [request.status for request in zoomconnect_simulator.requests] == [401]


# --- as a newcomer runs them --------------------------------------------------------------------


def shell(*argv: str, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess[str]:
    """``python <argv>`` from the repository, with this checkout's package and nothing of this
    suite's configuration (the example project uses its own settings)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL") and not key.startswith("ZOOMCONNECT_")
    }
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)
    return subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something already listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_manage_py_with_a_bad_date(tmp_path):
    done = shell(
        str(MANAGE),
        "zoomconnect_sync",
        "--since",
        "yesterday",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )
    assert done.returncode == 2
    assert done.stderr == (
        "manage.py zoomconnect_sync: error: argument --since: 'yesterday' is not a date: write it as "
        "YYYY-MM-DD, e.g. 2026-01-31\n"
    )


@pytest.mark.slow
def test_manage_py_sync_when_zoom_connect_cannot_be_reached_says_so_once(tmp_path, closed_port):
    base_url = f"http://127.0.0.1:{closed_port}/app/"
    done = shell(
        str(MANAGE),
        "zoomconnect_sync",
        "--no-push",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        ZOOMCONNECT_BASE_URL=base_url,
    )
    assert done.returncode == 1
    # Once: not once per kind, and not again in the services' log lines (-v 2 shows those).
    assert done.stderr == (
        f"CommandError: Could not reach Zoom Connect at {base_url}: connection refused. "
        "Is BASE_URL right, and is the service up?\n"
    )
    assert done.stdout == ""


@pytest.mark.slow
def test_manage_py_simulator_on_a_busy_port(tmp_path, busy_port):
    done = shell(
        str(MANAGE),
        "zoomconnect_simulator",
        "--port",
        str(busy_port),
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )
    assert done.returncode == 1
    assert_one_line(done.stderr)
    assert done.stderr.startswith(
        f"CommandError: Could not listen on 127.0.0.1:{busy_port}: the port is in use"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "status", "line"),
    [
        (
            ("--timezone", "Mars/Base"),
            2,
            "error: argument --timezone: 'Mars/Base' is not a known time zone: give an IANA name",
        ),
        (("--port", "-5"), 2, "error: argument --port: '-5' is not a port"),
        (("--reply-url", "notaurl"), 2, "error: argument --reply-url: 'notaurl' is not a URL"),
        (("--port", "BUSY"), 1, "error: Could not listen on 127.0.0.1:BUSY: the port is in use"),
    ],
)
def test_python_dash_m_simulator_with_wrong_input(busy_port, argv, status, line):
    argv = tuple(str(busy_port) if arg == "BUSY" else arg for arg in argv)
    done = shell("-m", "django_zoomconnect.simulator", *argv, timeout=30)
    assert done.returncode == status
    assert_one_line(done.stderr)
    assert done.stderr.startswith(
        "python -m django_zoomconnect.simulator: " + line.replace("BUSY", str(busy_port))
    )
    assert done.stdout == ""


@pytest.mark.parametrize("command", ["zoomconnect_balance", "zoomconnect_sync", "zoomconnect_team"])
def test_a_failing_system_check_is_one_line_naming_the_first_error(capsys, settings, command):
    settings.ZOOMCONNECT = {"WEBHOOK_SECRET": "s3cret"}
    status, out, err = run_from_shell(capsys, command, *(("list",) if command == "zoomconnect_team" else ()))
    assert (status, out) == (1, "")
    assert err == (
        "CommandError: settings.ZOOMCONNECT['EMAIL'] is not set. (zoomconnect.E001) Copy the account email "
        "and API token from the Zoom Connect 'Developer settings' page (or point BASE_URL at the simulator). "
        "(1 more: run manage.py check.)\n"
    )


def test_a_failing_system_check_called_from_code_is_djangos_own(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.ZOOMCONNECT = {"WEBHOOK_SECRET": "s3cret"}
    with pytest.raises(SystemCheckError, match=r"(?s)zoomconnect\.E001.*zoomconnect\.E001"):
        call_command("zoomconnect_balance", skip_checks=False)


@pytest.mark.django_db(transaction=True)  # run_from_argv closes the connection after each command
def test_djangos_options_may_follow_a_subcommand(capsys, monkeypatch):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    command = load_command_class("django_zoomconnect", "zoomconnect_webhooks")
    argv = ["manage.py", "zoomconnect_webhooks", "reprocess", "--settings", "tests.settings", "--skip-checks"]
    command.run_from_argv(argv)
    assert capsys.readouterr() == ("Reprocessed 0 webhook event(s): nothing to do.\n", "")
    command = load_command_class("django_zoomconnect", "zoomconnect_webhooks")
    command.run_from_argv([*argv, "-v", "0"])  # after the subcommand, and it counts
    assert capsys.readouterr() == ("", "")
    command = load_command_class("django_zoomconnect", "zoomconnect_webhooks")
    command.run_from_argv(
        ["manage.py", "zoomconnect_webhooks", "-v", "0", "--skip-checks", "reprocess"]
    )  # as ever
    assert capsys.readouterr() == ("", "")
