"""Tests for conf.py and checks.py: defaults, validation and the system checks."""

from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_zoomconnect import conf
from django_zoomconnect.checks import check_settings
from django_zoomconnect.exceptions import ConfigurationError

GOOD = {"EMAIL": "a@example.com", "API_TOKEN": "t0ken", "WEBHOOK_SECRET": "s3cret"}


def check_ids(base=None, **zoomconnect):
    with override_settings(ZOOMCONNECT={**(base or {}), **zoomconnect}):
        return [message.id for message in check_settings()]


def test_defaults_apply_when_unset():
    with override_settings(ZOOMCONNECT={}):
        assert conf.base_url() == "https://www.zoomconnect.com/app/"
        assert conf.get("AUTH_METHOD") == "headers"
        assert conf.timeout() == (5.0, 30.0)
        assert conf.api_timezone() == ZoneInfo("Africa/Johannesburg")
        assert conf.get("DEFAULT_REGION") == "ZA"
        assert conf.get("PHONE_NUMBER_FORMAT") == "e164"
        assert conf.webhook_secrets() == ()
        assert conf.get("EMAIL") is None


def test_settings_are_read_at_call_time():
    with override_settings(ZOOMCONNECT={"BASE_URL": "http://127.0.0.1:8001/app"}):
        assert conf.base_url() == "http://127.0.0.1:8001/app/"
    with override_settings(ZOOMCONNECT={"BASE_URL": "http://localhost/x/"}):
        assert conf.base_url() == "http://localhost/x/"


def test_missing_zoomconnect_setting_means_defaults(settings):
    del settings.ZOOMCONNECT
    assert conf.user_settings() == {}
    assert "zoomconnect.E001" in [m.id for m in check_settings()]


@pytest.mark.parametrize(
    ("value", "expected"), [(10, (10.0, 10.0)), ((1, 2.5), (1.0, 2.5)), ([3, 4], (3.0, 4.0))]
)
def test_timeout_forms(value, expected):
    with override_settings(ZOOMCONNECT={"TIMEOUT": value}):
        assert conf.timeout() == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TIMEOUT", "fast"),
        ("TIMEOUT", (1, 2, 3)),
        ("TIMEOUT", (0, 1)),
        ("TIMEOUT", True),
        ("AUTH_METHOD", "cookie"),
        ("GET_RETRIES", -1),
        ("RETRY_BACKOFF", "1"),
        ("WEBHOOK_SECRET", ["ok", ""]),
        ("WEBHOOK_SECRET", 42),
        ("DEFAULT_REGION", "XX"),
        ("PHONE_NUMBER_FORMAT", "E.164"),
        ("EMAIL", 7),
        ("LOW_BALANCE_WARNING", -5),
        ("LOW_BALANCE_WARNING", "100"),
    ],
)
def test_invalid_values_name_the_key(key, value):
    with override_settings(ZOOMCONNECT={key: value}), pytest.raises(ConfigurationError, match=key) as excinfo:
        conf.get(key)
    assert isinstance(excinfo.value, ImproperlyConfigured)
    assert "zoomconnect.E004" in check_ids(GOOD, **{key: value})


def test_the_low_balance_warning_is_off_by_default_or_a_number_of_credits():
    with override_settings(ZOOMCONNECT={}):
        assert conf.get("LOW_BALANCE_WARNING") is None
    with override_settings(ZOOMCONNECT={"LOW_BALANCE_WARNING": 250}):
        assert conf.get("LOW_BALANCE_WARNING") == 250.0


def test_webhook_secret_forms():
    with override_settings(ZOOMCONNECT={"WEBHOOK_SECRET": "one"}):
        assert conf.webhook_secrets() == ("one",)
    with override_settings(ZOOMCONNECT={"WEBHOOK_SECRET": ["new", "old"]}):
        assert conf.webhook_secrets() == ("new", "old")


def test_required_reports_missing_values():
    with override_settings(ZOOMCONNECT={}), pytest.raises(ConfigurationError, match="API_TOKEN"):
        conf.required("API_TOKEN")
    with override_settings(ZOOMCONNECT=GOOD):
        assert conf.required("API_TOKEN") == "t0ken"


def test_unknown_setting_name_is_a_programming_error():
    with pytest.raises(KeyError):
        conf.get("NOPE")


def test_zoomconnect_must_be_a_dict():
    with override_settings(ZOOMCONNECT=["EMAIL"]):
        with pytest.raises(ConfigurationError, match="must be a dict"):
            conf.user_settings()
        assert [m.id for m in check_settings()] == ["zoomconnect.E005"]


def test_good_settings_pass_every_check():
    assert check_ids(GOOD) == []


def test_missing_credentials():
    assert check_ids(WEBHOOK_SECRET="s") == ["zoomconnect.E001", "zoomconnect.E001"]


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [("API_TOKEN", "…", "'…'"), ("API_TOKEN", "t0ken\n", "'\\n'"), ("EMAIL", "ops@exämple.com", "'ä'")],
)
def test_credentials_http_cannot_carry_are_an_error(key, value, shown):
    with override_settings(ZOOMCONNECT={**GOOD, key: value}):
        (message,) = check_settings()
    assert message.id == "zoomconnect.E008"
    assert message.msg.startswith(f"settings.ZOOMCONNECT[{key!r}] holds a space or a character other than")
    assert f"({shown})" in message.msg
    assert "Developer settings" in message.hint


def test_a_placeholder_credential_of_another_account_names_it():
    accounts = {"marketing": {"EMAIL": "m@example.com", "API_TOKEN": "paste your token"}}
    assert check_ids(GOOD, ACCOUNTS=accounts) == ["zoomconnect.E008", "zoomconnect.W001"]
    with override_settings(ZOOMCONNECT={**GOOD, "ACCOUNTS": accounts}):
        (message,) = [m for m in check_settings() if m.id == "zoomconnect.E008"]
    assert "['ACCOUNTS']['marketing']['API_TOKEN']" in message.msg


@pytest.mark.parametrize("url", ["www.zoomconnect.com/app/", "ftp://host/app/", "https://h/app/?x=1", 5])
def test_malformed_base_url(url):
    assert check_ids(GOOD, BASE_URL=url) == ["zoomconnect.E002"]


def test_unknown_time_zone():
    assert check_ids(GOOD, API_TIMEZONE="Africa/Atlantis") == ["zoomconnect.E003"]


def test_missing_webhook_secret():
    assert check_ids(EMAIL="a@example.com", API_TOKEN="t") == ["zoomconnect.W001"]


def test_unknown_key_suggests_the_closest():
    with override_settings(ZOOMCONNECT={**GOOD, "API_TOKN": "x"}):
        (message,) = check_settings()
    assert message.id == "zoomconnect.W002"
    assert "API_TOKEN" in message.hint


def test_query_auth_warns():
    assert check_ids(GOOD, AUTH_METHOD="query") == ["zoomconnect.W003"]


def test_checks_never_show_secrets():
    with override_settings(ZOOMCONNECT={**GOOD, "TIMEOUT": "x", "API_TOKN": "y"}):
        text = " ".join(f"{m.msg} {m.hint}" for m in check_settings())
    assert "t0ken" not in text
    assert "s3cret" not in text


def test_checks_do_not_touch_the_database():
    # No django_db mark: pytest-django makes any query here raise.
    with override_settings(ZOOMCONNECT={"TIMEOUT": "x"}):
        assert check_settings()


def test_a_claim_lease_shorter_than_a_call_warns():
    assert check_ids(GOOD, CLAIM_LEASE_SECONDS=30, TIMEOUT=(5, 30)) == ["zoomconnect.W005"]
    assert check_ids(GOOD, CLAIM_LEASE_SECONDS=120, TIMEOUT=(5, 30)) == []
