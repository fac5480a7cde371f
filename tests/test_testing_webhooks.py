"""Tests for testing/webhooks.py: the signed-request builders that users' tests rely on."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from django_zoomconnect import signing
from django_zoomconnect.events import parse_nonce_date
from django_zoomconnect.exceptions import ConfigurationError
from django_zoomconnect.testing import (
    build_delivery_report_params,
    build_reply_params,
    sign_params,
    signed_post,
)


def test_sign_params_adds_a_fresh_nonce_and_expiry_and_a_valid_checksum():
    signed = sign_params({"messageId": "R1", "status": "SENT", "checksum": "stale"})
    assert signing.verify_checksum(signed, signed["checksum"], "test-webhook-secret", encodings=["raw"])
    assert len(signed["nonce"]) == 36
    expires = parse_nonce_date(signed["nonce-date"], timezone.get_fixed_timezone(120))
    assert expires is not None
    assert timedelta(minutes=4) < expires - timezone.now() <= timedelta(minutes=5)
    assert sign_params({"a": "b"})["nonce"] != sign_params({"a": "b"})["nonce"]


def test_sign_params_options():
    at = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
    signed = sign_params({"message": "a b"}, secret="other", encoding="form", nonce="n1", nonce_date=at)
    assert signed["nonce"] == "n1"
    assert signed["nonce-date"] == "20300101120000"  # in Africa/Johannesburg
    assert signing.verify_checksum(signed, signed["checksum"], "other", encodings=["form"])
    assert not signing.verify_checksum(signed, signed["checksum"], "other", encodings=["raw"])
    assert sign_params({"nonce": "keep", "nonce-date": "x"}, secret="s")["nonce"] == "keep"
    assert sign_params({}, secret="s", nonce_date="20300101000000")["nonce-date"] == "20300101000000"
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_params({}, nonce_date=datetime(2030, 1, 1))


def test_signing_without_a_secret_says_what_to_do(settings):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "WEBHOOK_SECRET": None}
    with pytest.raises(ConfigurationError, match="pass secret="):
        sign_params({})


def test_build_delivery_report_params():
    params = build_delivery_report_params("R1", campaign="c", data_field="d,")
    assert {k: params[k] for k in ("messageId", "status", "campaign", "dataField")} == {
        "messageId": "R1",
        "status": "DELIVERED",
        "campaign": "c",
        "dataField": "d,",
    }
    assert set(build_delivery_report_params("R1", "SENT", sign=False)) == {"messageId", "status"}
    assert build_delivery_report_params("R1", extra={"x": "y"}, sign=False)["x"] == "y"


def test_build_reply_params():
    params = build_reply_params(
        "+27821234567",
        "Yes ",
        to_number="INF-1",
        replied_to_message_id="R1",
        date=datetime(2014, 5, 16, 8, 5, tzinfo=UTC),
    )
    assert params["date"] == "201405161005"
    assert params["message"] == "Yes "
    assert params["repliedToMessageId"] == "R1"
    assert len(params["messageId"]) == 24
    assert "campaign" not in params
    assert signing.verify_checksum(params, params["checksum"], "test-webhook-secret")
    assert build_reply_params("1", "x", date="201401010000", sign=False)["date"] == "201401010000"


@pytest.mark.parametrize(
    ("params_in", "path", "body"),
    [
        ("body", "/hook/", b"a=1+2&b=%2B"),
        ("query", "/hook/?a=1+2&b=%2B", b""),
        ("both", "/hook/?a=1+2&b=%2B", b"a=1+2&b=%2B"),
    ],
)
def test_signed_post_places_the_params(params_in, path, body):
    class Recorder:
        def post(self, path, data=None, content_type=None, **extra):
            return RequestFactory().post(path, data, content_type=content_type, **extra)

    request = signed_post(Recorder(), "/hook/", {"a": "1 2", "b": "+"}, params_in=params_in)
    assert request.get_full_path() == path
    assert request.body == body
    if body:
        assert request.content_type == "application/x-www-form-urlencoded"
    with pytest.raises(ValueError, match="params_in"):
        signed_post(Recorder(), "/hook/", {}, params_in="header")
