"""Tests for services/team.py against the simulator: list, create, preview and transfer."""

import logging

import pytest

from django_zoomconnect.exceptions import AuthenticationError, ConfigurationError, TeamError
from django_zoomconnect.services import team
from tests.outbox import zoomconnect_settings
from tests.team import ACCOUNT, with_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(zoomconnect_simulator):
    return with_team(zoomconnect_simulator)


def balances(found):
    return {member.email: member.balance for member in found.members}


def test_the_team_is_the_statistics_reports_users_the_account_first(sim):
    found = team.list_sub_users()
    assert found.account == "default"
    assert found.searched is None
    assert [m.email for m in found.members] == [ACCOUNT, "sales@example.com", "support@example.com"]
    assert balances(found) == {ACCOUNT: 500, "sales@example.com": 40, "support@example.com": 0}
    assert [m.is_account for m in found.members] == [True, False, False]
    assert [m.email for m in found.sub_users] == ["sales@example.com", "support@example.com"]
    assert found.sub_users[0].name == "Sipho Dlamini"
    assert found.sub_users[0].contact_number == "+27821110001"
    assert [(r.method, r.path) for r in sim.requests] == [("GET", "/app/api/rest/v1/account/statistics")]


def test_a_search_finds_one_user_by_email_address_whatever_its_case(sim):
    found = team.list_sub_users(email="  SALES@example.com ")
    assert found.searched == "SALES@example.com"
    assert [m.email for m in found.members] == ["sales@example.com"]
    assert team.list_sub_users(email="nobody@example.com").members == []
    assert team.find_member("support@example.com").balance == 0
    with pytest.raises(TeamError, match=r"^No user of the team has the email address nobody@example.com\.$"):
        team.find_member("nobody@example.com")


def test_create_sends_the_number_in_e164_and_never_logs_or_keeps_the_password(sim, caplog):
    caplog.set_level(logging.DEBUG)
    member = team.create_sub_user(
        email=" new@example.com ",
        first_name=" Lerato ",
        last_name="Mokoena",
        contact_number="082 111 0003",
        password="correct horse battery",
    )
    assert (member.email, member.name, member.contact_number) == (
        "new@example.com",
        "Lerato Mokoena",
        "+27821110003",
    )
    assert member.balance == 0
    assert not member.is_account
    assert "correct horse battery" not in repr(member)
    assert "correct horse battery" not in caplog.text
    assert "new@example.com" in balances(team.list_sub_users())


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"email": "not-an-address"}, "The email address is not an email address: 'not-an-address'."),
        ({"email": " "}, "The email address is required."),
        ({"first_name": ""}, "The first name is required."),
        ({"last_name": "  "}, "The last name is required."),
        ({"password": ""}, "The password is required."),
        ({"contact_number": "12"}, "The contact number was refused: "),
    ],
)
def test_create_refuses_bad_input_before_any_call(sim, changes, error):
    fields = {
        "email": "new@example.com",
        "first_name": "Lerato",
        "last_name": "Mokoena",
        "contact_number": "+27821110003",
        "password": "secret-1",
    }
    with pytest.raises(TeamError) as caught:
        team.create_sub_user(**{**fields, **changes})
    assert str(caught.value).startswith(error)
    assert sim.requests == []


def test_an_email_already_taken_is_the_providers_refusal_in_one_line(sim):
    with pytest.raises(TeamError) as caught:
        team.create_sub_user(
            email="sales@example.com",
            first_name="A",
            last_name="B",
            contact_number="+27821110009",
            password="hunter2-hunter2",
        )
    text = str(caught.value)
    assert text == (
        "Zoom Connect refused to create sales@example.com: User already exists ('sales@example.com' is taken)"
    )
    assert "hunter2" not in text


def test_a_transfer_moves_credits_and_answers_with_the_receiver(sim):
    done = team.transfer_credit(ACCOUNT, "support@example.com", 25)
    assert (done.account, done.from_email, done.to_email, done.credits) == (
        "default",
        ACCOUNT,
        "support@example.com",
        25,
    )
    assert done.target.email == "support@example.com"
    assert done.target.balance == 25
    assert sim.balance == 475
    done = team.transfer_credit("sales@example.com", "support@example.com", 40)
    assert balances(team.list_sub_users()) == {
        ACCOUNT: 475,
        "sales@example.com": 0,
        "support@example.com": 65,
    }


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((ACCOUNT, "sales@example.com", 0), "The credits must be a whole number of 1 or more, not 0."),
        ((ACCOUNT, "sales@example.com", -5), "The credits must be a whole number of 1 or more, not -5."),
        ((ACCOUNT, "sales@example.com", 2.5), "The credits must be a whole number of 1 or more, not 2.5."),
        ((ACCOUNT, "sales@example.com", "10"), "The credits must be a whole number of 1 or more, not '10'."),
        ((ACCOUNT, "sales@example.com", True), "The credits must be a whole number of 1 or more, not True."),
        (
            ("sales@example.com", "SALES@example.com", 1),
            "Credits go from one user to another: both are sales@example.com.",
        ),
        (("", "sales@example.com", 1), "The sender's email address is required."),
        ((ACCOUNT, "sales", 1), "The receiver's email address is not an email address: 'sales'."),
    ],
)
def test_a_transfer_refuses_bad_input_before_any_call(sim, args, error):
    with pytest.raises(TeamError) as caught:
        team.transfer_credit(*args)
    assert str(caught.value) == error
    with pytest.raises(TeamError):
        team.preview_transfer(*args)
    assert sim.requests == []


def test_the_providers_refusals_of_a_transfer_are_one_clear_line(sim):
    with pytest.raises(TeamError) as caught:
        team.transfer_credit("sales@example.com", ACCOUNT, 41)
    assert str(caught.value) == (
        "Zoom Connect refused to transfer 41 credits from sales@example.com to simulator@example.com: "
        "Insufficient credits (sales@example.com has 40 credits)"
    )
    with pytest.raises(TeamError, match=r"from sales@example\.com to nobody@example\.com: User not found \("):
        team.transfer_credit("sales@example.com", "nobody@example.com", 1)
    assert balances(team.list_sub_users())["sales@example.com"] == 40


def test_a_preview_looks_both_users_up_and_says_whether_the_source_can_pay(sim):
    preview = team.preview_transfer("sales@example.com", "support@example.com", 40)
    assert (preview.source.balance, preview.target.balance, preview.credits) == (40, 0, 40)
    assert preview.sufficient
    assert not team.preview_transfer("sales@example.com", "support@example.com", 41).sufficient
    with pytest.raises(TeamError, match=r"^No user of the team has the email address nobody@example\.com\.$"):
        team.preview_transfer("sales@example.com", "nobody@example.com", 1)
    assert balances(team.list_sub_users())["sales@example.com"] == 40  # nothing moved


def test_refused_credentials_are_not_a_team_error(sim):
    with zoomconnect_settings(API_TOKEN="wrong"), pytest.raises(AuthenticationError):
        team.transfer_credit(ACCOUNT, "sales@example.com", 1)


def test_one_account_today_and_any_other_alias_is_a_configuration_error(sim):
    assert team.account_aliases() == ("default",)
    assert team.list_sub_users(account="default").account == "default"
    with pytest.raises(ConfigurationError, match=r"No Zoom Connect account 'marketing' is configured"):
        team.transfer_credit(ACCOUNT, "sales@example.com", 1, account="marketing")
    assert len(sim.requests) == 1  # the listing's; none for the alias refused


def test_it_works_over_real_http(zoomconnect_live_simulator):
    with_team(zoomconnect_live_simulator)
    team.transfer_credit(ACCOUNT, "sales@example.com", 10)
    assert balances(team.list_sub_users())["sales@example.com"] == 50
