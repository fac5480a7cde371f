"""Tests for _http.py: sessions, auth, the exact errors for each failure, retries and secrets."""

import logging
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime as http_date
from http.client import RemoteDisconnected
from zoneinfo import ZoneInfo

import pytest
import requests
from django.test import override_settings
from requests.adapters import BaseAdapter
from urllib3.exceptions import (
    ConnectTimeoutError as Urllib3ConnectTimeoutError,
)
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
)
from urllib3.exceptions import (
    ReadTimeoutError as Urllib3ReadTimeoutError,
)
from urllib3.exceptions import (
    SSLError as Urllib3SSLError,
)

from django_zoomconnect import __version__
from django_zoomconnect._http import MAX_RETRY_AFTER, USER_AGENT, mount_transport, unmount_transport
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    EmptyMessageError,
    InvalidNumberError,
    InvalidRequestError,
    InvalidResponseError,
    MayHaveBeenSentError,
    NotFoundError,
    NotSentError,
    RateLimitedError,
    ReadTimeoutError,
    ServerError,
    ZoomConnectAPIError,
)
from tests.wire import API, BASE, EMAIL, SAST, TOKEN, assert_json_headers, make_client, wire


@pytest.fixture
def client(sleeps):
    with make_client(get_retries=2, retry_backoff=0.5, sleep=sleeps.append) as zc:
        yield zc


# --- construction ------------------------------------------------------------------------------


def test_defaults_and_properties():
    zc = ZoomConnectClient(email=EMAIL, token=TOKEN)
    assert zc.email == EMAIL
    assert zc.base_url == "https://www.zoomconnect.com/app/"
    assert zc.auth_method == "headers"
    assert zc.timeout == (5.0, 30.0)
    assert zc.timezone == SAST
    assert zc.get_retries == 3
    assert zc.retry_backoff == 0.5


def test_the_settings_of_a_client_cannot_be_changed():
    zc = make_client()
    for name in ("email", "base_url", "auth_method", "timeout", "timezone", "get_retries", "retry_backoff"):
        with pytest.raises(AttributeError, match=f"{name} cannot be changed"):
            setattr(zc, name, None)
    assert zc.email == EMAIL
    assert not hasattr(zc, "token")


def test_arguments_are_normalised_like_the_settings():
    zc = make_client(base_url="http://127.0.0.1:8001/app", timeout=10, timezone=UTC, retry_backoff=0)
    assert zc.base_url == "http://127.0.0.1:8001/app/"
    assert zc.timeout == (10.0, 10.0)
    assert zc.timezone is UTC
    assert zc.retry_backoff == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email": ""}, "email must be the account's email address"),
        ({"email": None}, "email must be the account's email address"),
        (
            {"email": "ops @example.com"},
            "email must be printable ASCII, without spaces or control characters (it holds ' ')",
        ),
        ({"token": ""}, "token must be the account's"),
        (
            {"token": "tok en"},
            "token must be printable ASCII, without spaces or control characters (it holds ' ')",
        ),
        ({"token": "tok\nen"}, "(it holds '\\n')"),
        ({"token": "\u2026"}, "(it holds '\u2026')"),
        ({"base_url": "ftp://zc.invalid/"}, "base_url 'ftp://zc.invalid/' is not an absolute http"),
        ({"base_url": "zc.invalid/app/"}, "base_url 'zc.invalid/app/' is not an absolute http"),
        ({"auth_method": "oauth"}, "auth_method 'oauth' is not one of 'headers', 'basic', 'query'"),
        ({"timeout": -1}, "timeout -1 must hold positive numbers"),
        ({"timezone": "Mars/Olympus"}, "timezone 'Mars/Olympus' is not a known IANA time zone"),
        ({"get_retries": -1}, "get_retries -1 must be a whole number"),
        ({"retry_backoff": "fast"}, "retry_backoff 'fast' must be a number"),
    ],
)
def test_bad_arguments_raise_configuration_errors(kwargs, message):
    with pytest.raises(ConfigurationError, match=r"^ZoomConnectClient: ") as info:
        make_client(**kwargs)
    assert message in str(info.value)
    assert "tok en" not in str(info.value)
    assert "tok\nen" not in str(info.value)


def test_from_settings_reads_the_zoomconnect_setting():
    zc = ZoomConnectClient.from_settings()  # tests/settings.py
    assert zc.email == "tests@example.com"
    assert zc.base_url == "https://zoomconnect.invalid/app/"
    assert zc.get_retries == 0
    assert zc.auth_method == "headers"
    with override_settings(
        ZOOMCONNECT={
            "EMAIL": "a@example.com",
            "API_TOKEN": "t",
            "BASE_URL": "http://127.0.0.1:9/app",
            "AUTH_METHOD": "basic",
            "TIMEOUT": [1, 2],
            "API_TIMEZONE": "UTC",
            "GET_RETRIES": 5,
            "RETRY_BACKOFF": 0.1,
        }
    ):
        zc = ZoomConnectClient.from_settings()
    assert (zc.email, zc.base_url, zc.auth_method, zc.timeout) == (
        "a@example.com",
        "http://127.0.0.1:9/app/",
        "basic",
        (1.0, 2.0),
    )
    assert (zc.timezone, zc.get_retries, zc.retry_backoff) == (ZoneInfo("UTC"), 5, 0.1)


def test_from_settings_overrides_win_and_can_supply_missing_credentials():
    with override_settings(ZOOMCONNECT={"BASE_URL": "http://127.0.0.1:9/app/"}):
        with pytest.raises(ConfigurationError, match=r"ZOOMCONNECT\['EMAIL'\] is not set"):
            ZoomConnectClient.from_settings()
        with pytest.raises(ConfigurationError, match=r"ZOOMCONNECT\['API_TOKEN'\] is not set"):
            ZoomConnectClient.from_settings(email="x@example.com")
        zc = ZoomConnectClient.from_settings(email="x@example.com", token="t", get_retries=1)
    assert (zc.email, zc.base_url, zc.get_retries) == ("x@example.com", "http://127.0.0.1:9/app/", 1)


def test_repr_shows_email_and_base_url_never_the_token():
    zc = make_client()
    assert repr(zc) == f"<ZoomConnectClient email='{EMAIL}' base_url='{BASE}'>"
    assert TOKEN not in repr(zc)
    assert TOKEN not in str(zc)


def test_user_agent_names_package_and_requests():
    assert f"django-zoomconnect/{__version__} python-requests/{requests.__version__}" == USER_AGENT


# --- session and transports ---------------------------------------------------------------------


def test_one_lazy_session_closed_and_rebuilt():
    zc = make_client()
    assert zc._session is None
    session = zc.session
    assert zc.session is session
    assert session.headers["User-Agent"] == USER_AGENT
    zc.close()
    assert zc._session is None
    assert zc.session is not session


def test_a_given_session_is_used_and_left_open(api):
    api.get(API + "account/balance", json={"creditBalance": 1.5})
    session = requests.Session()
    closed = []
    session.close = lambda: closed.append(True)
    with make_client(session=session) as zc:
        assert zc.session is session
        assert zc.get_balance() == 1.5
    assert closed == []
    assert_json_headers(api.calls[0].request)  # the headers travel per request, not per session


class RecordingAdapter(BaseAdapter):
    """A stand-in for the simulator's in-process adapter."""

    def __init__(self, body):
        super().__init__()
        self.body = body
        self.requests = []

    def send(self, request, **kwargs):
        self.requests.append(request)
        response = requests.Response()
        response.status_code = 200
        response._content = self.body
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url
        return response

    def close(self):
        pass


def test_mounted_transports_reach_every_new_session():
    prefix = "http://simulator.zoomconnect.invalid/"
    adapter = RecordingAdapter(b'{"creditBalance": 42}')
    mount_transport(prefix, adapter)
    try:
        zc = make_client(base_url=prefix + "app/")
        assert zc.get_balance() == 42.0
        assert adapter.requests[0].url == prefix + "app/api/rest/v1/account/balance"
        assert adapter.requests[0].headers["token"] == TOKEN
    finally:
        unmount_transport(prefix)
    assert zc.session.get_adapter(prefix + "x") is adapter  # existing sessions keep it
    assert make_client(base_url=prefix).session.get_adapter(prefix + "x") is not adapter
    unmount_transport(prefix)  # unknown prefixes are ignored


def test_mount_transport_needs_a_prefix():
    with pytest.raises(ValueError, match="prefix"):
        mount_transport("", RecordingAdapter(b""))


# --- authentication -----------------------------------------------------------------------------


def test_header_authentication(api, client):
    api.get(API + "account/balance", json={"creditBalance": 33.0})
    assert client.get_balance() == 33.0
    request = api.calls[0].request
    assert_json_headers(request)
    assert "Authorization" not in request.headers
    assert wire(api.calls[0]) == ("GET", "account/balance", [], None)


def test_basic_authentication(api):
    api.get(API + "account/balance", json={"creditBalance": 1})
    make_client(auth_method="basic").get_balance()
    request = api.calls[0].request
    assert request.headers["Authorization"] == requests.auth._basic_auth_str(EMAIL, TOKEN)
    assert "token" not in request.headers
    assert "email" not in request.headers
    assert wire(api.calls[0])[2] == []


def test_query_authentication(api):
    api.post(API + "sms/send", json={"messageId": "m1", "error": None})
    make_client(auth_method="query").send_sms("+27821234567", "Hi")
    request = api.calls[0].request
    assert wire(api.calls[0])[2] == [("email", EMAIL), ("token", TOKEN)]
    assert "token" not in request.headers
    assert "Authorization" not in request.headers


# --- logging and secrets ------------------------------------------------------------------------


def test_debug_log_has_method_path_status_and_no_token(api, caplog):
    api.get(API + "account/balance", json={"creditBalance": 1})
    api.get(API + "contacts/c1", status=404, json={"message": f"no contact (token {TOKEN})"})
    zc = make_client(auth_method="query")
    with caplog.at_level(logging.DEBUG, logger="django_zoomconnect.client"):
        zc.get_balance()
        with pytest.raises(NotFoundError) as info:
            zc.get_contact("c1")
    messages = [r.getMessage() for r in caplog.records if r.name == "django_zoomconnect.client"]
    assert len(messages) == 2
    assert messages[0].startswith("GET account/balance -> 200 in ")
    assert messages[1].startswith("GET contacts/c1 -> 404 in ")
    text = "\n".join(messages) + str(info.value) + info.value.provider_message
    assert TOKEN not in text
    assert "tok%2F3n%2Bs3cr3t%3D%3D" not in text
    assert info.value.provider_message == "no contact (token ********)"


def test_query_auth_transport_error_keeps_the_token_out_of_the_whole_traceback(api):
    url = "/app/api/rest/v1/account/balance?email=ops%40example.com&token=tok%2F3n%2Bs3cr3t%3D%3D"
    cause = MaxRetryError(None, url, NewConnectionError(None, "Failed to establish a new connection"))
    api.get(API + "account/balance", body=requests.ConnectionError(cause))
    with pytest.raises(ConnectError) as info:
        make_client(auth_method="query").get_balance()
    text = "".join(traceback.format_exception(info.value))
    assert "tok%2F3n%2Bs3cr3t%3D%3D" not in text
    assert TOKEN not in text
    assert "token=********" in text
    assert isinstance(info.value.__cause__, requests.ConnectionError)
    assert info.value.__context__ is None


# --- HTTP errors --------------------------------------------------------------------------------


def error_body(code, message, status="BAD_REQUEST"):
    return {
        "status": status,
        "code": code,
        "message": message,
        "developerMessage": f"dev: {message}",
        "moreInfoUrl": None,
    }


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, {"message": "Unauthorized"}, AuthenticationError),
        (403, {"message": "Forbidden"}, AuthenticationError),
        (404, {"message": "Not Found"}, NotFoundError),
        (400, error_body(2, "Invalid mobile number"), InvalidNumberError),
        (400, error_body(3, "Message cannot be empty"), EmptyMessageError),
        (400, error_body(9, "Something else"), InvalidRequestError),
        (400, "<html>Bad</html>", InvalidRequestError),
        (429, {"message": "Slow down"}, RateLimitedError),
        (500, error_body(1, "Internal error", "INTERNAL_SERVER_ERROR"), ServerError),
        (503, None, ServerError),
        (409, {"message": "Conflict"}, ZoomConnectAPIError),
    ],
)
def test_statuses_map_to_exception_classes(api, status, body, cls):
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body or ""}
    api.post(API + "sms/send", status=status, **kwargs)
    with pytest.raises(cls) as info:
        make_client().send_sms("+27821234567", "Hi")
    error = info.value
    assert type(error) is cls
    assert error.status == status
    assert error.response is not None
    assert error.response.status_code == status
    assert TOKEN not in str(error)


def test_error_body_fills_code_and_messages(api):
    api.post(API + "sms/send", status=400, json=error_body(2, "Invalid mobile number"))
    with pytest.raises(InvalidNumberError) as info:
        make_client().send_sms("0000", "Hi")
    error = info.value
    assert str(error) == "Zoom Connect refused POST sms/send (400, code 2): Invalid mobile number"
    assert (error.code, error.provider_message) == (2, "Invalid mobile number")
    assert error.developer_message == "dev: Invalid mobile number"
    assert error.body["status"] == "BAD_REQUEST"
    assert not error.may_have_been_sent


def test_error_texts_for_other_statuses(api):
    api.get(API + "account/balance", status=401, body="")
    api.get(API + "groups/g1", status=500, json={"developerMessage": "NullPointerException"})
    api.get(API + "groups/g2", status=400, json={"code": "x", "message": None}, headers={})
    zc = make_client()
    with pytest.raises(AuthenticationError) as auth:
        zc.get_balance()
    assert str(auth.value) == (
        "Zoom Connect refused GET account/balance (401): Unauthorized (check the email and API token)"
    )
    assert auth.value.body is None
    with pytest.raises(ServerError) as server:
        zc.get_group("g1")
    assert str(server.value) == "Zoom Connect failed on GET groups/g1 (500): NullPointerException"
    assert server.value.may_have_been_sent
    with pytest.raises(InvalidRequestError) as bad:
        zc.get_group("g2")
    assert bad.value.code is None
    assert str(bad.value) == "Zoom Connect refused GET groups/g2 (400): Bad Request"


def test_long_error_text_is_truncated(api):
    api.get(API + "account/balance", status=400, body="x" * 5000)
    with pytest.raises(InvalidRequestError) as info:
        make_client().get_balance()
    assert len(str(info.value)) < 400
    assert str(info.value).endswith("x…")


def test_redirects_are_not_followed(api):
    api.get(
        API + "account/balance",
        status=301,
        headers={"Location": f"https://elsewhere.invalid/app/api/rest/v1/account/balance?token={TOKEN}"},
    )
    with pytest.raises(ZoomConnectAPIError) as info:
        make_client().get_balance()
    assert type(info.value) is ZoomConnectAPIError
    assert str(info.value) == (
        "Zoom Connect redirected GET account/balance (301) to "
        "https://elsewhere.invalid/app/api/rest/v1/account/balance; "
        "set BASE_URL to the address the API really lives at."
    )
    assert len(api.calls) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("2.5", 2.5), ("soon", None), ("", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_rate_limit_retry_after(api, header, expected):
    api.post(API + "sms/send", status=429, headers={"Retry-After": header} if header else {})
    with pytest.raises(RateLimitedError) as info:
        make_client().send_sms("+27821234567", "Hi")
    assert info.value.retry_after == expected
    assert isinstance(info.value, NotSentError)


def test_rate_limit_retry_after_http_date_in_the_future(api):
    later = http_date(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    api.post(API + "sms/send", status=429, headers={"Retry-After": later})
    with pytest.raises(RateLimitedError) as info:
        make_client().send_sms("+27821234567", "Hi")
    assert 3000 < info.value.retry_after <= 3600
    assert "(retry after " in str(info.value)


def test_naive_http_date_is_read_as_utc():
    from django_zoomconnect._http import _retry_after

    assert _retry_after("Wed, 21 Oct 2015 07:28:00 -0000") == 0.0


# --- transport errors ---------------------------------------------------------------------------

URL = "/app/api/rest/v1/account/balance"


def refused():
    return requests.ConnectionError(
        MaxRetryError(
            None, URL, NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")
        )
    )


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (refused(), ConnectError),
        (
            requests.ConnectionError(
                MaxRetryError(None, URL, NameResolutionError("zc.invalid", None, OSError("Name or service")))
            ),
            ConnectError,
        ),
        (requests.ConnectionError(ConnectionRefusedError(111, "Connection refused")), ConnectError),
        (
            requests.exceptions.SSLError(
                MaxRetryError(None, URL, Urllib3SSLError("certificate verify failed"))
            ),
            ConnectError,
        ),
        (requests.exceptions.ProxyError("Cannot connect to proxy"), ConnectError),
        (
            requests.ConnectTimeout(MaxRetryError(None, URL, Urllib3ConnectTimeoutError(None, "timed out"))),
            ConnectTimeoutError,
        ),
        (requests.ReadTimeout(Urllib3ReadTimeoutError(None, URL, "Read timed out.")), ReadTimeoutError),
        (requests.ConnectionError(Urllib3ReadTimeoutError(None, URL, "Read timed out.")), ReadTimeoutError),
        (
            requests.ConnectionError(
                ProtocolError("Connection aborted.", RemoteDisconnected("Remote end closed connection"))
            ),
            ConnectionLostError,
        ),
        (
            requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104))),
            ConnectionLostError,
        ),
        (
            requests.exceptions.ChunkedEncodingError(ProtocolError("Connection broken: IncompleteRead")),
            ConnectionLostError,
        ),
        (requests.exceptions.ContentDecodingError("bad gzip"), ConnectionLostError),
        (requests.exceptions.InvalidHeader("bad header"), NotSentError),
    ],
)
def test_transport_exceptions_map_to_sent_or_not_sent(api, exc, cls):
    api.post(API + "sms/send", body=exc)
    with pytest.raises(cls) as info:
        make_client().send_sms("+27821234567", "Hi")
    assert type(info.value) is cls
    assert info.value.__cause__ is exc
    assert info.value.may_have_been_sent == issubclass(cls, MayHaveBeenSentError)
    assert "POST sms/send" in str(info.value)


def test_transport_error_texts(api):
    api.get(API + "account/balance", body=refused())
    api.get(API + "account/balance", body=requests.ReadTimeout("Read timed out."))
    api.get(API + "account/balance", body=requests.ConnectTimeout("timed out"))
    zc = make_client(timeout=(2, 9))
    with pytest.raises(
        ConnectError, match=r"^Could not connect to Zoom Connect \(zc.invalid\) for GET account/balance: "
    ):
        zc.get_balance()
    with pytest.raises(ReadTimeoutError) as read:
        zc.get_balance()
    assert str(read.value) == (
        "No answer from Zoom Connect (zc.invalid) to GET account/balance within 9s; "
        "the request may have been processed."
    )
    with pytest.raises(ConnectTimeoutError) as connect:
        zc.get_balance()
    assert str(connect.value) == (
        "Timed out after 2s connecting to Zoom Connect (zc.invalid) for GET account/balance; "
        "nothing was sent."
    )


def test_a_cause_that_cannot_be_copied_is_replaced(api):
    class Odd(requests.RequestException):
        def __init__(self, url, extra):
            super().__init__(f"failed {url}")

    api.get(API + "account/balance", body=Odd(f"?token={TOKEN}", 1))
    with pytest.raises(NotSentError) as info:
        make_client().get_balance()
    assert TOKEN not in "".join(traceback.format_exception(info.value))
    assert str(info.value.__cause__) == "failed ?token=********"


# --- retries ------------------------------------------------------------------------------------


def test_get_is_retried_with_exponential_backoff(api, client, sleeps):
    api.get(API + "account/balance", status=503)
    api.get(API + "account/balance", body=refused())
    api.get(API + "account/balance", json={"creditBalance": 9})
    assert client.get_balance() == 9.0
    assert len(api.calls) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_get_gives_up_after_get_retries(api, client, sleeps):
    for _ in range(3):
        api.get(API + "account/balance", body=requests.ReadTimeout("Read timed out."))
    with pytest.raises(ReadTimeoutError):
        client.get_balance()
    assert len(api.calls) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "failure",
    [
        {"body": requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104)))},
        {"status": 502},
        {"status": 429},
        {"body": requests.ConnectTimeout("timed out")},
    ],
)
def test_each_transient_failure_is_retried_on_get(api, client, sleeps, failure):
    api.get(API + "groups/all", **failure)
    api.get(API + "groups/all", json={"webServiceGroups": []})
    assert client.list_groups() == []
    assert len(sleeps) == 1


def test_retry_after_is_honoured(api, client, sleeps):
    api.get(API + "account/balance", status=429, headers={"Retry-After": "7"})
    api.get(API + "account/balance", json={"creditBalance": 1})
    client.get_balance()
    assert sleeps == [7.0]


def test_a_long_retry_after_goes_to_the_caller(api, client, sleeps):
    api.get(API + "account/balance", status=429, headers={"Retry-After": str(int(MAX_RETRY_AFTER) + 1)})
    with pytest.raises(RateLimitedError) as info:
        client.get_balance()
    assert info.value.retry_after == MAX_RETRY_AFTER + 1
    assert sleeps == []


NEW_USER = {"email_address": "a@example.com", "first_name": "A", "last_name": "B", "contact_number": "1"}


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "sms/send", lambda zc: zc.send_sms("+27821234567", "Hi")),
        ("PUT", "account/user", lambda zc: zc.create_user(**NEW_USER, password="p")),
        ("DELETE", "contacts/c1", lambda zc: zc.delete_contact("c1")),
    ],
)
def test_other_methods_are_never_retried(api, client, sleeps, method, path, call):
    api.add(method, API + path, status=503)
    with pytest.raises(ServerError):
        call(client)
    assert len(api.calls) == 1
    assert sleeps == []


def test_permanent_errors_and_unreadable_answers_are_not_retried(api, client, sleeps):
    api.get(API + "account/balance", status=400, json=error_body(9, "no"))
    api.get(API + "account/balance", body="<WebServiceAccount/>")
    with pytest.raises(InvalidRequestError):
        client.get_balance()
    with pytest.raises(InvalidResponseError):
        client.get_balance()
    assert len(api.calls) == 2
    assert sleeps == []


def test_zero_backoff_still_retries(api, sleeps):
    api.get(API + "account/balance", status=500)
    api.get(API + "account/balance", json={"creditBalance": 1})
    zc = make_client(get_retries=1, retry_backoff=0, sleep=sleeps.append)
    assert zc.get_balance() == 1.0
    assert sleeps == [0.0]


def test_retries_are_logged_without_secrets(api, client, caplog):
    api.get(API + "account/balance", status=503)
    api.get(API + "account/balance", json={"creditBalance": 1})
    with caplog.at_level(logging.INFO, logger="django_zoomconnect.client"):
        client.get_balance()
    retry = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(retry) == 1
    assert retry[0].startswith("Retrying GET account/balance in ")
    assert retry[0].endswith("after ServerError (retry 1 of 2)")


# --- reading answers ----------------------------------------------------------------------------


def test_unreadable_success_is_invalid_response(api):
    api.get(API + "contacts/all", json={"somethingElse": []})
    with pytest.raises(InvalidResponseError) as info:
        make_client().list_contacts()
    error = info.value
    assert error.status == 200
    assert error.may_have_been_sent
    assert str(error) == (
        "Zoom Connect answered GET contacts/all (200) with a body that cannot be read: "
        "the answer has no 'webServiceContacts'"
    )
    assert isinstance(error.__cause__, ValueError)


def test_charset_from_the_content_type_is_used(api):
    api.post(
        API + "sms/send-url-parameters",
        body="id-\xe9".encode("latin-1"),
        content_type="text/plain; charset=ISO-8859-1",
    )
    api.post(API + "sms/send-url-parameters", body=b"id-2", content_type="text/plain; charset=klingon")
    zc = make_client()
    assert zc.send_sms_url_parameters("+27821234567", "Hi") == "id-\xe9"
    assert zc.send_sms_url_parameters("+27821234567", "Hi") == "id-2"
