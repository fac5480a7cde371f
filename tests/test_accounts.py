"""Several Zoom Connect accounts in one project: settings, rows, sends, sync, webhooks, admin, API."""

import pytest
from django.core import checks
from django.test import override_settings

from django_zoomconnect import conf
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.exceptions import ConfigurationError

TWO = {
    "EMAIL": "main@example.com",
    "API_TOKEN": "main-token",
    "WEBHOOK_SECRET": "main-secret",
    "BULK_CHUNK_SIZE": 100,
    "ACCOUNTS": {
        "marketing": {
            "EMAIL": "marketing@example.com",
            "API_TOKEN": "marketing-token",
            "BASE_URL": "https://marketing.example.com/app",
            "WEBHOOK_SECRET": ["new-marketing-secret", "old-marketing-secret"],
        }
    },
}


def route_by_campaign(*, campaign, **kwargs):
    return "marketing" if campaign.startswith("promo") else None


# --- settings ------------------------------------------------------------------------------------


@override_settings(ZOOMCONNECT=TWO)
def test_each_account_reads_its_own_keys_and_shares_the_others():
    assert conf.account_aliases() == ["default", "marketing"]
    assert conf.get("EMAIL") == conf.get("EMAIL", "default") == "main@example.com"
    assert conf.get("EMAIL", "marketing") == "marketing@example.com"
    assert conf.base_url("marketing") == "https://marketing.example.com/app/"
    assert conf.base_url() == "https://www.zoomconnect.com/app/"
    assert conf.webhook_secrets("marketing") == ("new-marketing-secret", "old-marketing-secret")
    assert conf.webhook_secrets() == ("main-secret",)
    # A per-account key an entry leaves out is the top-level one...
    assert conf.get("BULK_CHUNK_SIZE", "marketing") == 100
    # ...and a shared key is the same for every account.
    assert conf.get("SEND_MAX_ATTEMPTS", "marketing") == conf.get("SEND_MAX_ATTEMPTS")


@override_settings(ZOOMCONNECT={**TWO, "ACCOUNTS": {"marketing": {"BASE_URL": "https://m.example.com/"}}})
def test_credentials_are_never_borrowed_from_the_default_account():
    assert conf.get("EMAIL", "marketing") is None
    assert conf.webhook_secrets("marketing") == ()
    with pytest.raises(ConfigurationError, match=r"\['ACCOUNTS'\]\['marketing'\]\['EMAIL'\] is not set"):
        ZoomConnectClient.from_settings(account="marketing")


@override_settings(ZOOMCONNECT=TWO)
def test_an_unknown_alias_is_a_configuration_error_with_a_suggestion():
    with pytest.raises(ConfigurationError, match=r"No Zoom Connect account 'marketting'.*'marketing'"):
        conf.get("EMAIL", "marketting")
    with pytest.raises(ConfigurationError, match="Did you mean 'marketing'"):
        ZoomConnectClient.from_settings(account="marketting")
    with pytest.raises(ConfigurationError):
        conf.account_alias("nobody")


@override_settings(ZOOMCONNECT={"EMAIL": "a@example.com", "API_TOKEN": "t"})
def test_the_flat_form_is_the_single_account_default():
    assert conf.account_aliases() == ["default"]
    assert not conf.has_several_accounts()
    assert ZoomConnectClient.from_settings().account == "default"
    with pytest.raises(ConfigurationError, match="No Zoom Connect account 'marketing'"):
        conf.get("API_TOKEN", "marketing")


@override_settings(ZOOMCONNECT=TWO)
def test_from_settings_builds_the_named_accounts_client():
    client = ZoomConnectClient.from_settings(account="marketing")
    assert (client.account, client.email, client.base_url) == (
        "marketing",
        "marketing@example.com",
        "https://marketing.example.com/app/",
    )


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ({"bad alias!": {}}, "alias 'bad alias!'"),
        ({"marketing": {"EMIAL": "x"}}, "did you mean 'EMAIL'"),
        ({"marketing": {"SEND_MAX_ATTEMPTS": 3}}, "not set per account"),
        ({"marketing": "nope"}, "must be a dict of settings"),
    ],
)
def test_a_wrong_accounts_setting_is_reported(accounts, message):
    with override_settings(ZOOMCONNECT={**TWO, "ACCOUNTS": accounts}):
        with pytest.raises(ConfigurationError, match=message):
            conf.account_aliases()
        errors = [m for m in checks.run_checks() if m.id == "zoomconnect.E004"]
        assert any(message in m.msg for m in errors)


def test_system_checks_run_per_account():
    broken = {
        **TWO,
        "ACCOUNTS": {"marketing": {"EMAIL": "m@example.com", "BASE_URL": "nowhere", "AUTH_METHOD": "query"}},
    }
    with override_settings(ZOOMCONNECT=broken):
        found = {(m.id, m.msg.split(" ")[0]) for m in checks.run_checks() if m.id.startswith("zoomconnect.")}
    assert ("zoomconnect.E001", "settings.ZOOMCONNECT['ACCOUNTS']['marketing']['API_TOKEN']") in found
    assert ("zoomconnect.E002", "settings.ZOOMCONNECT['ACCOUNTS']['marketing']['BASE_URL']") in found
    assert ("zoomconnect.W001", "settings.ZOOMCONNECT['ACCOUNTS']['marketing']['WEBHOOK_SECRET']") in found
    assert any(check_id == "zoomconnect.W003" for check_id, _ in found)
    assert not any(text.startswith("settings.ZOOMCONNECT['EMAIL']") for _, text in found)


def test_the_router_picks_an_account_when_the_caller_does_not():
    routed = {**TWO, "ACCOUNT_ROUTER": "tests.test_accounts.route_by_campaign"}
    with override_settings(ZOOMCONNECT=routed):
        assert (
            conf.route_account(None, kind="sms", recipients=["+27821234567"], campaign="promo-1")
            == "marketing"
        )
        assert conf.route_account(None, kind="sms", recipients=[], campaign="invoice") == "default"
        assert conf.route_account("default", kind="sms", recipients=[], campaign="promo-1") == "default"
    with override_settings(ZOOMCONNECT={**TWO, "ACCOUNT_ROUTER": "tests.test_accounts.nothing_here"}):
        assert any(m.id == "zoomconnect.E007" for m in checks.run_checks())
        with pytest.raises(ConfigurationError, match="cannot be imported"):
            conf.route_account(None, kind="sms", recipients=[], campaign="")
