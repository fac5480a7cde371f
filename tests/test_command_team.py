"""Tests for the zoomconnect_team management command: list, create and transfer against the simulator."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.team import ACCOUNT, with_team
from tests.test_command_errors import assert_one_line, run_from_shell

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(zoomconnect_simulator):
    return with_team(zoomconnect_simulator)


def run(*args, stdin=None):
    out, err = StringIO(), StringIO()
    call_command("zoomconnect_team", *args, stdout=out, stderr=err, stdin=stdin or StringIO())
    return out.getvalue(), err.getvalue()


def test_list_prints_each_user_with_its_balance(sim):
    out, err = run("list")
    assert out.splitlines() == [
        f"{ACCOUNT}  Simulator Account  +27820000000  500.00 credits  (this account)",
        "sales@example.com  Sipho Dlamini  +27821110001  40.00 credits",
        "support@example.com  Anna Botha  +27821110002  0.00 credits",
    ]
    assert err == ""
    assert (
        run("list", "--email", "nobody@example.com")[0]
        == "No user has the email address nobody@example.com.\n"
    )


def test_list_as_json(sim):
    data = json.loads(run("list", "--email", "sales@example.com", "--json")[0])
    assert data["account"] == "default"
    assert [(u["email"], u["name"], u["balance"], u["is_account"]) for u in data["users"]] == [
        ("sales@example.com", "Sipho Dlamini", 40.0, False)
    ]
    assert run("list", "--quiet")[0] == ""


def test_create_reads_the_password_from_stdin_and_never_prints_it(sim):
    args = ["create", "--email", "new@example.com", "--first-name", "Lerato", "--last-name", "Mokoena"]
    out, _ = run(*args, "--contact-number", "0821110003", "--password-stdin", stdin=StringIO("s3cret pass\n"))
    assert out == "Created the sub-user new@example.com (user 4).\n"
    user = next(u for u in sim.state.users.values() if u.email_address == "new@example.com")
    assert (user.password, user.contact_number) == ("s3cret pass", "+27821110003")
    with pytest.raises(
        CommandError, match=r"^No password: type it at the prompt, or pipe it in with --password-stdin"
    ):
        run(*args, "--contact-number", "0821110004")
    with pytest.raises(CommandError, match=r"^The password is empty"):
        run(*args, "--contact-number", "0821110004", "--password-stdin", stdin=StringIO("\n"))


def test_transfer_moves_credits_and_says_so(sim):
    out, _ = run("transfer", ACCOUNT, "support@example.com", "30")
    assert out == f"Transferred 30 credits from {ACCOUNT} to support@example.com (now 30).\n"
    data = json.loads(run("transfer", "support@example.com", "sales@example.com", "5", "--json")[0])
    assert data == {
        "account": "default",
        "from": "support@example.com",
        "to": "sales@example.com",
        "credits": 5,
        "to_balance": 45.0,
    }


def test_a_refused_transfer_is_one_line(sim):
    with pytest.raises(CommandError) as caught:
        run("transfer", "sales@example.com", "support@example.com", "41")
    assert str(caught.value) == (
        "Zoom Connect refused to transfer 41 credits from sales@example.com to support@example.com: "
        "Insufficient credits (sales@example.com has 40 credits)"
    )
    with pytest.raises(CommandError, match=r"^No Zoom Connect account 'marketing' is configured"):
        run("list", "--account", "marketing")


@pytest.mark.parametrize(
    "argv",
    [
        ("zoomconnect_team",),
        ("zoomconnect_team", "remove"),
        ("zoomconnect_team", "transfer", ACCOUNT, "sales@example.com", "0"),
        ("zoomconnect_team", "transfer", ACCOUNT, "sales@example.com", "ten"),
        ("zoomconnect_team", "transfer", ACCOUNT),
        ("zoomconnect_team", "create", "--email", "new@example.com"),
        ("zoomconnect_team", "list", "--email", ""),
    ],
    ids=" ".join,
)
def test_a_bad_argument_from_the_shell_is_one_line_and_exit_status_2(capsys, argv):
    status, out, err = run_from_shell(capsys, *argv)
    assert (status, out) == (2, "")
    assert_one_line(err)


def test_a_refusal_from_the_shell_is_one_line_without_a_traceback(capsys, sim):
    status, out, err = run_from_shell(capsys, "zoomconnect_team", "transfer", ACCOUNT, ACCOUNT.upper(), "1")
    assert (status, out) == (1, "")
    assert_one_line(err)
    assert err == f"CommandError: Credits go from one user to another: both are {ACCOUNT}.\n"
