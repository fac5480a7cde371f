"""Tests for client.py, exceptions.py and redaction.py: an API error carries no credential.

A ``requests.Response`` keeps its request, and with it the ``token`` header, the Basic
``Authorization`` header or ``email=``/``token=`` in the URL. The errors below come from the
simulator over real HTTP, for each authentication method, and are searched everywhere an error
ends up: ``repr``, ``str``, ``args``, ``vars``, a pickle, a traceback, and the response itself.
"""

from __future__ import annotations

import base64
import pickle
import traceback
from urllib.parse import quote, quote_plus

import pytest
import requests
import responses

from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.exceptions import (
    AuthenticationError,
    ConnectError,
    InvalidNumberError,
    InvalidResponseError,
    ZoomConnectAPIError,
)
from django_zoomconnect.redaction import REDACTED, scrub_url, scrubbed_response

AUTH_METHODS = ["headers", "basic", "query"]
#: Characters that URL-encoding and base64 change, so that every written form is looked for.
WRONG_TOKEN = "wr0ng/t0k3n+s3cr3t=="


def _written_forms(email: str, token: str) -> list[str]:
    basic = base64.b64encode(f"{email}:{token}".encode()).decode()
    return sorted({token, quote(token, safe=""), quote_plus(token), basic, f"{email}:{token}"})


def _everywhere(error: BaseException) -> dict[str, str]:
    """Every text an error ends up as, in logs, error trackers or task results."""
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301  (our own bytes)
    texts = {
        "repr": repr(error),
        "str": str(error),
        "args": repr(error.args),
        "vars": repr(vars(error)),
        "pickle": pickle.dumps(error).decode("latin-1"),
        "traceback": "".join(traceback.format_exception(error)),
        "unpickled vars": repr(vars(copy)),
    }
    response = getattr(error, "response", None)
    if response is not None:
        request = response.request
        texts |= {
            "response vars": repr(vars(response)),
            "response url": response.url,
            "response pickle": pickle.dumps(response).decode("latin-1"),
            "request url": request.url,
            "request headers": repr(dict(request.headers)),
            "request vars": repr(vars(request)),
        }
    return texts


def _assert_no_secret(error: BaseException, email: str, token: str) -> None:
    for where, text in _everywhere(error).items():
        for form in _written_forms(email, token):
            assert form not in text, f"{form!r} found in the error's {where}"


@pytest.fixture
def server(zoomconnect_live_server):
    return zoomconnect_live_server


def _client(server, *, token: str, auth_method: str) -> ZoomConnectClient:
    return ZoomConnectClient(
        email=server.simulator.email, token=token, base_url=server.url, auth_method=auth_method, get_retries=0
    )


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_a_401_carries_neither_the_token_nor_the_basic_credential(server, auth_method):
    client = _client(server, token=WRONG_TOKEN, auth_method=auth_method)
    with pytest.raises(AuthenticationError) as excinfo:
        client.get_balance()
    error = excinfo.value
    _assert_no_secret(error, server.simulator.email, WRONG_TOKEN)
    # What a caller needs is still there.
    assert error.status == 401
    assert error.response.status_code == 401
    assert error.response.request.method == "GET"
    assert error.response.url == error.response.request.url == server.url + "api/rest/v1/account/balance"
    assert error.response.json()["status"] == "UNAUTHORIZED"
    assert error.body == error.response.json()
    assert "401" in str(error)


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_a_400_carries_no_credential_and_keeps_the_provider_code(server, auth_method):
    token = server.simulator.token
    client = _client(server, token=token, auth_method=auth_method)
    with pytest.raises(InvalidNumberError) as excinfo:
        client.send_sms("not a number", "hello")
    error = excinfo.value
    _assert_no_secret(error, server.simulator.email, token)
    assert (error.status, error.code) == (400, 2)
    assert error.provider_message
    assert error.response.request.method == "POST"
    assert error.response.request.url == server.url + "api/rest/v1/sms/send"
    assert error.response.request.body is None  # the caller has it; it may hold a password
    assert error.body["code"] == 2
    if auth_method == "headers":
        assert error.response.request.headers["token"] == REDACTED
    if auth_method == "basic":
        assert error.response.request.headers["Authorization"] == REDACTED


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_a_pickled_error_is_still_useful(server, auth_method):
    client = _client(server, token=WRONG_TOKEN, auth_method=auth_method)
    with pytest.raises(ZoomConnectAPIError) as excinfo:
        client.list_contacts()
    copy = pickle.loads(pickle.dumps(excinfo.value))  # noqa: S301  (our own bytes)
    assert type(copy) is AuthenticationError
    assert copy.status == 401
    assert copy.response.status_code == 401
    assert copy.response.json() == excinfo.value.response.json()
    assert str(copy) == str(excinfo.value)


def test_the_url_sending_token_in_the_path_is_scrubbed_too(server):
    client = _client(server, token=server.simulator.token, auth_method="headers")
    with pytest.raises(AuthenticationError) as excinfo:
        client.send_sms_url(WRONG_TOKEN, "+27821234567", "hi")
    _assert_no_secret(excinfo.value, "nobody@example.com", WRONG_TOKEN)
    assert REDACTED in excinfo.value.response.url


@responses.activate
@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_an_unreadable_success_carries_no_credential(auth_method):
    responses.add(responses.GET, "https://zc.invalid/app/api/rest/v1/account/balance", body="<html>")
    client = ZoomConnectClient(
        email="ops@example.com",
        token=WRONG_TOKEN,
        base_url="https://zc.invalid/app/",
        auth_method=auth_method,
    )
    with pytest.raises(InvalidResponseError) as excinfo:
        client.get_balance()
    _assert_no_secret(excinfo.value, "ops@example.com", WRONG_TOKEN)
    assert excinfo.value.response.text == "<html>"


# --- redaction.py on its own ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://zc.invalid/app/api/rest/v1/sms/send?email=a%40b.c&token=s3cr3t&page=2",
            "https://zc.invalid/app/api/rest/v1/sms/send?page=2",
        ),
        ("https://user:pw@zc.invalid:8443/x?TOKEN=1", "https://zc.invalid:8443/x"),
        ("http://[::1]:8000/app/?a=1&a=2", "http://[::1]:8000/app/?a=1&a=2"),
        ("", ""),
    ],
)
def test_scrub_url(url, expected):
    assert scrub_url(url) == expected


def test_scrub_url_masks_given_secrets_in_every_written_form():
    assert (
        scrub_url("https://zc.invalid/sms/send-url/a%2Fb%2Bc", ["a/b+c"])
        == f"https://zc.invalid/sms/send-url/{REDACTED}"
    )


def test_scrubbed_response_is_a_detached_copy():
    request = requests.Request(
        "POST",
        "https://zc.invalid/app/x?token=s3cr3t",
        headers={"token": "s3cr3t", "Accept": "application/json"},
        auth=("ops@example.com", "s3cr3t"),
        data=b'{"password": "s3cr3t"}',
    ).prepare()
    response = requests.Response()
    response.status_code = 418
    response.reason = "I'm a teapot"
    response.url = request.url
    response.request = request
    response.headers["X-Echo"] = "token s3cr3t"
    response._content = b'{"message": "bad token s3cr3t"}'
    clean = scrubbed_response(response, ["s3cr3t"])
    assert clean is not response
    assert "s3cr3t" not in pickle.dumps(clean).decode("latin-1")
    assert (clean.status_code, clean.reason, clean.url) == (418, "I'm a teapot", "https://zc.invalid/app/x")
    assert clean.request.headers == {
        "token": REDACTED,
        "Accept": "application/json",
        "Authorization": REDACTED,
        "Content-Length": "22",
    }
    assert clean.json() == {"message": f"bad token {REDACTED}"}
    assert clean.headers["X-Echo"] == f"token {REDACTED}"
    assert response.request.headers["token"] == "s3cr3t"  # the original is left alone


@pytest.mark.parametrize("auth_method", AUTH_METHODS)
def test_a_transport_error_does_not_chain_the_request_with_its_credentials(auth_method):
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ZoomConnectClient(
        email="ops@example.com",
        token=WRONG_TOKEN,
        base_url=f"http://127.0.0.1:{port}/app/",
        auth_method=auth_method,
    )
    with pytest.raises(ConnectError) as excinfo:
        client.get_balance()
    cause = excinfo.value.__cause__
    assert isinstance(cause, requests.ConnectionError)
    assert cause.request is None
    _assert_no_secret(excinfo.value, "ops@example.com", WRONG_TOKEN)
    for form in _written_forms("ops@example.com", WRONG_TOKEN):
        assert form not in repr(vars(cause))
