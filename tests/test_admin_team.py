"""Tests for admin/team.py: who sees the Team page, the list, creating, a transfer and its confirmation."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from django_zoomconnect.models import SendingPause
from django_zoomconnect.services import team
from tests.dashboard import no_cached_balance
from tests.outbox import zoomconnect_settings
from tests.team import ACCOUNT, with_team

pytestmark = pytest.mark.django_db

TEAM = "admin:zoomconnect_team"
CREATE = "admin:zoomconnect_team_create"
TRANSFER = "admin:zoomconnect_team_transfer"
DASHBOARD = "admin:zoomconnect_dashboard"
NEW_USER = {
    "account": "default",
    "email": "new@example.com",
    "first_name": "Lerato",
    "last_name": "Mokoena",
    "contact_number": "082 111 0003",
    "company": "",
    "password": "correct horse battery",
}


@pytest.fixture
def sim(zoomconnect_simulator):
    with no_cached_balance():
        yield with_team(zoomconnect_simulator)


def shown(response):
    return [str(message) for message in response.context["messages"]]


def credits(sim, email):
    if email == ACCOUNT:
        return sim.balance
    return next(u.credit_balance for u in sim.state.users.values() if u.email_address == email)


def test_only_a_superuser_sees_the_team(client, django_user_model, sim):
    user = django_user_model.objects.create(username="staff", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="zoomconnect"))
    client.force_login(user)
    assert client.get(reverse(TEAM)).status_code == 403
    assert client.post(reverse(CREATE), NEW_USER).status_code == 403
    assert (
        client.post(reverse(TRANSFER), {"from_email": ACCOUNT, "to_email": "a@example.com"}).status_code
        == 403
    )
    page = client.get(reverse("admin:app_list", args=["zoomconnect"])).content.decode()
    assert reverse(TEAM) not in page
    assert reverse(TEAM) not in client.get(reverse(DASHBOARD)).content.decode()
    assert sim.requests == []


def test_the_app_index_and_the_dashboard_link_to_the_team(admin_client, sim):
    index = admin_client.get(reverse("admin:app_list", args=["zoomconnect"])).content.decode()
    assert f'<a href="{reverse(TEAM)}">Team</a>' in index
    dashboard = admin_client.get(reverse(DASHBOARD)).content.decode()
    assert f'href="{reverse(TEAM)}" class="zc-team-link"' in dashboard


def test_the_page_lists_the_team_with_balances(admin_client, sim):
    response = admin_client.get(reverse(TEAM))
    assert response.status_code == 200
    found = response.context["team"]
    assert [(m.email, m.balance) for m in found.members] == [
        (ACCOUNT, 500),
        ("sales@example.com", 40),
        ("support@example.com", 0),
    ]
    page = response.content.decode()
    assert "(this account)" in page
    assert "Sipho Dlamini" in page
    assert '<option value="sales@example.com">Sipho Dlamini</option>' in page  # the transfer's datalist
    assert 'type="hidden" name="account" value="default"' in page  # one account: no choice shown


def test_a_search_shows_one_user_or_says_there_is_none(admin_client, sim):
    response = admin_client.get(reverse(TEAM), {"email": "support@example.com"})
    assert [m.email for m in response.context["team"].members] == ["support@example.com"]
    page = admin_client.get(reverse(TEAM), {"email": "nobody@example.com"}).content.decode()
    assert "No user of the team has the email address nobody@example.com." in page


def test_a_link_in_the_list_fills_the_transfer_form(admin_client, sim):
    response = admin_client.get(reverse(TEAM), {"to": "sales@example.com"})
    assert response.context["transfer_form"]["to_email"].value() == "sales@example.com"


def test_a_failure_to_read_the_team_is_shown_on_the_page(admin_client, sim):
    with zoomconnect_settings(API_TOKEN="wrong"):
        response = admin_client.get(reverse(TEAM))
    assert response.status_code == 200
    assert "The team could not be read: Zoom Connect refused" in response.content.decode()


def test_create_makes_the_sub_user_and_says_so_in_one_line(admin_client, sim):
    response = admin_client.post(reverse(CREATE), NEW_USER, follow=True)
    assert response.redirect_chain == [(reverse(TEAM), 302)]
    assert shown(response) == ["Created the sub-user new@example.com (Lerato Mokoena, user 4)."]
    user = next(u for u in sim.state.users.values() if u.email_address == "new@example.com")
    assert user.contact_number == "+27821110003"
    assert "new@example.com" in response.content.decode()
    assert "correct horse battery" not in response.content.decode()


def test_a_refused_create_shows_why_and_never_shows_the_password_again(admin_client, sim):
    response = admin_client.post(reverse(CREATE), {**NEW_USER, "email": "sales@example.com"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Zoom Connect refused to create sales@example.com: User already exists" in page
    assert "correct horse battery" not in page
    response = admin_client.post(reverse(CREATE), {**NEW_USER, "contact_number": "12", "first_name": ""})
    assert set(response.context["create_form"].errors) == {"first_name"}
    assert admin_client.get(reverse(CREATE)).status_code == 405


def test_a_transfer_asks_first_then_moves_the_credits(admin_client, sim):
    data = {"account": "default", "from_email": ACCOUNT, "to_email": "support@example.com", "credits": "25"}
    response = admin_client.post(reverse(TRANSFER), data)
    assert response.status_code == 200
    assert response.templates[0].name == "admin/zoomconnect/team_transfer_confirm.html"
    page = response.content.decode()
    assert f"Transfer 25 credits from {ACCOUNT} to support@example.com?" in page
    assert (response.context["source_after"], response.context["target_after"]) == (475, 25)
    assert credits(sim, "support@example.com") == 0  # nothing moved yet

    once = response.context["once"]
    confirmed = {**data, "confirmed": "Yes", "once": once}
    response = admin_client.post(reverse(TRANSFER), confirmed, follow=True)
    assert response.redirect_chain == [(reverse(TEAM), 302)]
    assert shown(response) == [
        f"Transferred 25 credits from {ACCOUNT} to support@example.com, who now holds 25."
    ]
    assert (credits(sim, ACCOUNT), credits(sim, "support@example.com")) == (475, 25)


def test_a_confirmation_page_transfers_once_however_often_it_is_posted(admin_client, sim):
    data = {"account": "default", "from_email": ACCOUNT, "to_email": "support@example.com", "credits": "25"}
    once = admin_client.post(reverse(TRANSFER), data).context["once"]
    assert once != admin_client.post(reverse(TRANSFER), data).context["once"]  # one per page
    for _ in range(3):  # a double click, then the page posted again from the history
        response = admin_client.post(
            reverse(TRANSFER), {**data, "confirmed": "Yes", "once": once}, follow=True
        )
    assert shown(response) == ["That transfer was already asked for: it was not sent again."]
    assert credits(sim, "support@example.com") == 25
    for forged in ("", "short"):  # a confirmed post that no confirmation page made
        admin_client.post(reverse(TRANSFER), {**data, "confirmed": "Yes", "once": forged})
    assert credits(sim, "support@example.com") == 25


def test_no_change_it_goes_back_to_the_filled_form(admin_client, sim):
    data = {"from_email": ACCOUNT, "to_email": "support@example.com", "credits": "25", "edit": "No"}
    response = admin_client.post(reverse(TRANSFER), data)
    assert response.templates[0].name == "admin/zoomconnect/team.html"
    assert response.context["transfer_form"]["credits"].value() == "25"
    assert credits(sim, "support@example.com") == 0


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"credits": "0"}, "credits", "Ensure this value is greater than or equal to 1."),
        ({"credits": "2.5"}, "credits", "Enter a whole number."),
        ({"to_email": "SALES@example.com"}, "__all__", "Credits go from one user to another"),
        ({"credits": "41"}, "credits", "sales@example.com holds 40 credits, fewer than 41."),
        ({"to_email": "nobody@example.com"}, "__all__", "No user of the team has the email address"),
        ({"account": "marketing"}, "account", "Select a valid choice."),
    ],
)
def test_a_transfer_that_cannot_be_made_is_refused_on_the_form(admin_client, sim, data, field, error):
    base = {"account": "default", "from_email": "sales@example.com", "to_email": "support@example.com"}
    response = admin_client.post(reverse(TRANSFER), {**base, "credits": "5", **data})
    assert response.templates[0].name == "admin/zoomconnect/team.html"
    assert error in " ".join(response.context["transfer_form"].errors[field])
    assert credits(sim, "sales@example.com") == 40


def test_a_refusal_when_confirmed_is_shown_on_the_form(admin_client, sim):
    data = {"from_email": "sales@example.com", "to_email": "support@example.com", "credits": "5"}
    once = admin_client.post(reverse(TRANSFER), data).context["once"]
    team.transfer_credit("sales@example.com", "support@example.com", 40)  # spent elsewhere meanwhile
    response = admin_client.post(reverse(TRANSFER), {**data, "confirmed": "Yes", "once": once})
    assert "Insufficient credits (sales@example.com has 0 credits)" in response.content.decode()
    assert credits(sim, "support@example.com") == 40


def test_the_dashboard_shows_one_balance_card_per_account(admin_client, sim):
    SendingPause.objects.create(reason="credentials refused")
    response = admin_client.post(
        reverse("admin:zoomconnect_dashboard_balance"), {"account": "default"}, follow=True
    )
    assert shown(response)[0] == "Balance: 500.00 credits."
    board = response.context["board"]
    assert [(b.account, b.reading.balance) for b in board.balances] == [("default", 500)]
    page = response.content.decode()
    assert page.count('class="module zc-balance"') == 1
    assert 'name="account" value="default"' in page
    assert not SendingPause.objects.exists()  # the default account's read lifts the pause


def test_refreshing_an_account_not_configured_is_one_error_line(admin_client, sim):
    response = admin_client.post(
        reverse("admin:zoomconnect_dashboard_balance"), {"account": "marketing"}, follow=True
    )
    assert shown(response) == [
        "The balance could not be read: No Zoom Connect account 'marketing' is configured"
        " (settings.ZOOMCONNECT['ACCOUNTS'] has 'default')."
    ]


def test_the_password_is_masked_in_djangos_error_reports(admin_client, sim):
    from django.views.debug import SafeExceptionReporterFilter

    response = admin_client.post(reverse(CREATE), NEW_USER)
    request = response.wsgi_request
    assert SafeExceptionReporterFilter().get_post_parameters(request)["password"] == "********************"


@pytest.fixture
def two_accounts(sim, settings):
    """Two accounts configured, ``marketing`` on the fixture simulator's credentials too."""
    from django.core.cache import cache

    from django_zoomconnect.services.dashboard import balance_cache_key

    own = {key: settings.ZOOMCONNECT[key] for key in ("EMAIL", "API_TOKEN", "BASE_URL")}
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "ACCOUNTS": {"marketing": own}}
    yield
    cache.delete(balance_cache_key("marketing"))


def test_with_two_accounts_each_has_its_card_cache_key_and_refresh(admin_client, sim, two_accounts):
    SendingPause.objects.create(reason="credentials refused")
    page = admin_client.get(reverse(DASHBOARD)).content.decode()
    assert page.count('class="module zc-balance"') == 2
    assert "Balance: marketing" in page
    assert f'href="{reverse(TEAM)}?account=marketing"' in page
    refresh = reverse("admin:zoomconnect_dashboard_balance")
    response = admin_client.post(refresh, {"account": "marketing"}, follow=True)
    assert shown(response) == ["Balance of marketing: 500.00 credits."]
    board = response.context["board"]
    assert [(b.account, b.reading and b.reading.balance) for b in board.balances] == [
        ("default", None),
        ("marketing", 500),
    ]
    assert SendingPause.objects.exists()  # another account's read says nothing of the default's credentials
    team_page = admin_client.get(reverse(TEAM), {"account": "marketing"})
    assert team_page.context["account"] == "marketing"
    assert '<option value="marketing" selected>marketing</option>' in team_page.content.decode()
