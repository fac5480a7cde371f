"""The Zoom Connect REST API as typed Python: one method per operation, one exception per failure.

:class:`ZoomConnectClient` knows nothing of models or services. Every failure becomes an
exception from :mod:`django_zoomconnect.exceptions` whose class says whether the request may
have reached the provider, because that decides what a caller may do next: a
:class:`~django_zoomconnect.exceptions.NotSentError` can be retried freely, a
:class:`~django_zoomconnect.exceptions.MayHaveBeenSentError` must be looked up first. For the
same reason only GET requests are retried here; whether to send a POST again is the sending
layer's decision.

Secrets (the API token, a URL-sending token, a sub-account password) never appear in ``repr``,
in log records or in exception messages, including the chained transport exception.
"""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import IO, Any, Literal, TypedDict, TypeVar, Unpack
from urllib.parse import quote, quote_plus, urlsplit

import requests
from requests.adapters import BaseAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from . import __version__, conf
from .exceptions import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    EmptyMessageError,
    InvalidNumberError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    NotSentError,
    RateLimitedError,
    ReadTimeoutError,
    ServerError,
    ZoomConnectAPIError,
    ZoomConnectError,
)
from .redaction import scrubbed_response
from .types import (
    AccountStatistics,
    CampaignStatistics,
    Contact,
    Group,
    Message,
    MessageAnalysis,
    MessagePage,
    SendResult,
    SmsRequest,
    Statistics,
    Template,
    User,
    UserStatistics,
    VoiceMessage,
    VoiceMessagePage,
    VoiceSendResult,
    format_date,
    format_datetime,
    read_bool,
    read_float,
    read_int,
    read_list,
    read_object,
    read_str,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "AccountStatistics",
    "CampaignStatistics",
    "Contact",
    "Group",
    "Message",
    "MessageAnalysis",
    "MessageFilters",
    "MessagePage",
    "SendResult",
    "SmsRequest",
    "Statistics",
    "Template",
    "User",
    "UserStatistics",
    "VoiceMessage",
    "VoiceMessagePage",
    "VoiceSendResult",
    "ZoomConnectClient",
    "mount_transport",
    "unmount_transport",
]

logger = logging.getLogger("django_zoomconnect.client")

T = TypeVar("T")
AuthMethod = Literal["headers", "basic", "query"]

DEFAULT_BASE_URL = "https://www.zoomconnect.com/app/"
#: Every operation lives under this path, relative to the base URL.
API_PATH = "api/rest/v1/"
#: A 429 asking for a longer wait than this is not slept through: the error goes to the caller,
#: whose task queue can wait without holding a worker.
MAX_RETRY_AFTER = 60.0
USER_AGENT = f"django-zoomconnect/{__version__} python-requests/{requests.__version__}"
_REDACTED = "********"
_DETAIL_LIMIT = 300

# --- transports: how the simulator's in-process mode reaches every client ------------------------

_transports: dict[str, BaseAdapter] = {}
_transports_lock = threading.Lock()


def mount_transport(prefix: str, adapter: BaseAdapter) -> None:
    """Route requests whose URL starts with ``prefix`` through ``adapter`` in every new session.

    The testing fixture registers the simulator's in-process adapter this way, so that clients
    built by code under test (``ZoomConnectClient.from_settings()`` deep in a service) reach the
    simulator without a socket. Sessions that already exist are not changed.
    """
    if not isinstance(prefix, str) or not prefix:
        raise ValueError("prefix must be a non-empty URL prefix such as 'http://simulator.invalid/'")
    with _transports_lock:
        _transports[prefix] = adapter


def unmount_transport(prefix: str) -> None:
    """Stop routing ``prefix`` in sessions built from now on; unknown prefixes are ignored."""
    with _transports_lock:
        _transports.pop(prefix, None)


def _registered_transports() -> list[tuple[str, BaseAdapter]]:
    with _transports_lock:
        return list(_transports.items())


# --- the list filters of messages/all ---------------------------------------------------------


class MessageFilters(TypedDict, total=False):
    """The filters of :meth:`ZoomConnectClient.list_messages`; dates are sent as ``yyyyMMdd``."""

    type: Literal["INBOUND", "OUTBOUND"] | None
    status: str | None
    sent_from: date | None
    sent_to: date | None
    received_from: date | None
    received_to: date | None
    from_number: str | None
    to_number: str | None
    message: str | None
    campaign: str | None
    data_field: str | None
    deleted: bool | None
    read: bool | None
    replies_to_message_id: str | None


_FILTER_NAMES = {
    "type": "type",
    "status": "status",
    "sent_from": "fromDateTimeSent",
    "sent_to": "toDateTimeSent",
    "received_from": "fromDateTimeReceived",
    "received_to": "toDateTimeReceived",
    "from_number": "fromNumber",
    "to_number": "toNumber",
    "message": "message",
    "campaign": "campaign",
    "data_field": "dataField",
    "deleted": "deleted",
    "read": "read",
    "replies_to_message_id": "repliesToMessageId",
}
_DATE_FILTERS = {"sent_from", "sent_to", "received_from", "received_to"}


# --- small helpers -----------------------------------------------------------------------------


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query(**values: Any) -> list[tuple[str, str]]:
    """Query parameters in the given order, leaving out the ones that are ``None``."""
    return [(key, _query_value(value)) for key, value in values.items() if value is not None]


def _body(**values: Any) -> dict[str, Any]:
    """A JSON body without the ``None`` options: absent means "not given", not "set to null"."""
    return {key: value for key, value in values.items() if value is not None}


def _segment(value: object) -> str:
    """One path segment: ids are quoted so that an id can never change the path."""
    text = str(value)
    if not text:
        raise ValueError("an id in a request path must not be empty")
    return quote(text, safe="")


def _int_id(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def _charset(response: requests.Response) -> str:
    match = re.search(r"charset=[\"']?([\w.:-]+)", response.headers.get("Content-Type", ""), re.IGNORECASE)
    return match.group(1) if match else "utf-8"


def _decode(response: requests.Response) -> Any:
    """The body as JSON when it is JSON, else its text, else ``None`` when empty.

    Some operations answer a bare scalar (``2``, ``true``, or unquoted ``GSM7``), some an empty
    body: the operation decides what it accepts.
    """
    try:
        text = response.content.decode(_charset(response), errors="replace")
    except LookupError:
        text = response.content.decode("utf-8", errors="replace")
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _failed_to_connect(exc: requests.ConnectionError) -> bool:
    """Whether a ``ConnectionError`` happened while opening the connection (nothing was sent)."""
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectionRefusedError | socket.gaierror)


def _read_timed_out(exc: requests.ConnectionError) -> bool:
    # requests reports a timeout while reading the body as ConnectionError(ReadTimeoutError).
    reason: object = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, Urllib3ReadTimeoutError | TimeoutError)


def _items(key: str, build: Callable[[Any], T]) -> Callable[[Any], list[T]]:
    """A parser for a list wrapped in ``{key: [...]}`` (a bare JSON array is accepted too).

    A missing key is an error, not an empty list: a sync must never read "no contacts" from an
    answer it did not understand.
    """

    def parse(body: Any) -> list[T]:
        if isinstance(body, list):
            items = body
        else:
            data = read_object(body, f"an object with {key!r}")
            if key not in data:
                raise ValueError(f"the answer has no {key!r}")
            items = read_list(data[key], key)
        return [build(item) for item in items]

    return parse


def _scalar(body: Any, key: str) -> Any:
    """The value of a bare scalar answer; an object holding ``key`` is accepted too."""
    if isinstance(body, Mapping):
        if key in body:
            return body[key]
        raise ValueError(f"the answer has no {key!r}")
    if body is None or isinstance(body, list):
        raise ValueError("the answer is not a single value")
    return body


def _required(value: T | None, what: str) -> T:
    if value is None:
        raise ValueError(f"the answer has no {what}")
    return value


def _message_id_text(body: Any) -> str:
    """The message id from a plain-text answer (``send-url-parameters`` and ``send-url``)."""
    value = body.get("messageId") if isinstance(body, Mapping) else body
    text = read_str(value)
    if text is None or not text.strip():
        raise ValueError("the answer holds no message id")
    return text.strip().strip('"')


def _ignore(body: Any) -> None:
    return None


# --- the client --------------------------------------------------------------------------------


#: The failures a GET is retried on: not sent, or idempotent enough to ask again.
_RETRYABLE = (NotSentError, ReadTimeoutError, ConnectionLostError, ServerError)


class ZoomConnectClient:
    """A client for one Zoom Connect account.

    Build it with keyword arguments, or from the ``ZOOMCONNECT`` setting with
    :meth:`from_settings`. It holds one ``requests.Session`` (opened on first use; close it with
    :meth:`close` or a ``with`` block). A session is not meant to be shared between threads: give
    each thread or task its own client.

    Datetimes sent to the API must be timezone-aware; they are converted to ``timezone`` (the
    provider's, South African time by default). Datetimes read from the API are aware and in UTC.
    """

    def __init__(
        self,
        *,
        email: str,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        auth_method: AuthMethod = "headers",
        timeout: float | tuple[float, float] = (5.0, 30.0),
        timezone: str | tzinfo = "Africa/Johannesburg",
        get_retries: int = 3,
        retry_backoff: float = 0.5,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(email, str) or not email.strip():
            raise ConfigurationError("ZoomConnectClient: email must be the account's email address.")
        if any(ch.isspace() or not ch.isprintable() for ch in email):
            raise ConfigurationError(
                "ZoomConnectClient: email must not contain spaces or control characters."
            )
        if not isinstance(token, str) or not token:
            raise ConfigurationError("ZoomConnectClient: token must be the account's (non-empty) API token.")
        if any(ch.isspace() or not ch.isprintable() for ch in token):
            # Checked here because requests would otherwise echo the header value in its error.
            raise ConfigurationError(
                "ZoomConnectClient: token must not contain spaces or control characters."
            )
        self._email = email
        self._token = token
        self._base_url: str = self._validated("base_url", "BASE_URL", base_url)
        self._auth_method: str = self._validated("auth_method", "AUTH_METHOD", auth_method)
        self._timeout: tuple[float, float] = self._validated("timeout", "TIMEOUT", timeout)
        self._tz: tzinfo = (
            timezone
            if isinstance(timezone, tzinfo)
            else self._validated("timezone", "API_TIMEZONE", timezone)
        )
        self._get_retries: int = self._validated("get_retries", "GET_RETRIES", get_retries)
        self._retry_backoff: float = self._validated("retry_backoff", "RETRY_BACKOFF", retry_backoff)
        self._session = session
        self._owns_session = session is None
        self._sleep = sleep
        self._lock = threading.Lock()

    @staticmethod
    def _validated(argument: str, key: str, value: Any) -> Any:
        # The same rules as the ZOOMCONNECT setting, so a value valid there is valid here.
        try:
            return conf.validate(key, value)
        except ValueError as exc:
            raise ConfigurationError(f"ZoomConnectClient: {argument} {exc}.") from None

    @classmethod
    def from_settings(cls, **overrides: Any) -> ZoomConnectClient:
        """A client configured by ``settings.ZOOMCONNECT`` as it is now; ``overrides`` win.

        Raises :class:`~django_zoomconnect.exceptions.ConfigurationError` naming the setting when
        ``EMAIL`` or ``API_TOKEN`` is missing (unless given as an override) or a value is wrong.
        """
        sources = {
            "email": "EMAIL",
            "token": "API_TOKEN",
            "base_url": "BASE_URL",
            "auth_method": "AUTH_METHOD",
            "timeout": "TIMEOUT",
            "timezone": "API_TIMEZONE",
            "get_retries": "GET_RETRIES",
            "retry_backoff": "RETRY_BACKOFF",
        }
        kwargs: dict[str, Any] = {}
        for argument, key in sources.items():
            if argument not in overrides:
                kwargs[argument] = conf.required(key) if key in ("EMAIL", "API_TOKEN") else conf.get(key)
        kwargs.update(overrides)
        return cls(**kwargs)

    # -- properties and lifecycle ---------------------------------------------------------------

    @property
    def email(self) -> str:
        return self._email

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def auth_method(self) -> str:
        return self._auth_method

    @property
    def timeout(self) -> tuple[float, float]:
        return self._timeout

    @property
    def timezone(self) -> tzinfo:
        """The provider's time zone: request datetimes are written in it, naive answers read in it."""
        return self._tz

    @property
    def get_retries(self) -> int:
        return self._get_retries

    @property
    def retry_backoff(self) -> float:
        return self._retry_backoff

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session``, built on first use with every transport mounted so far."""
        with self._lock:
            if self._session is None:
                session = requests.Session()
                session.headers["User-Agent"] = USER_AGENT
                for prefix, adapter in _registered_transports():
                    session.mount(prefix, adapter)
                self._session = session
                self._owns_session = True
            return self._session

    def close(self) -> None:
        """Release the connections of a session this client built (a given session is left open).

        The client stays usable: the next call opens a new session.
        """
        with self._lock:
            if self._session is not None and self._owns_session:
                self._session.close()
                self._session = None

    def __enter__(self) -> ZoomConnectClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ZoomConnectClient email={self._email!r} base_url={self._base_url!r}>"

    # -- the request machinery ------------------------------------------------------------------

    def _scrub(self, text: str, secrets: Iterable[str] = ()) -> str:
        """``text`` with every secret (raw or URL-encoded) replaced by asterisks."""
        for secret in (self._token, *secrets):
            if not secret:
                continue
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, _REDACTED)
        return text

    def _detail(self, value: object, secrets: Iterable[str]) -> str:
        text = self._scrub(str(value), secrets)
        return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"

    def _clean_cause(self, exc: BaseException, secrets: Iterable[str]) -> BaseException:
        """``exc``, or a copy without secrets when its text holds one (a query-auth URL does).

        Either way it no longer holds the request: requests' exceptions keep it, with the
        credential headers, and the cause is chained to the error the caller gets.
        """
        if isinstance(exc, requests.RequestException):
            exc.request = exc.response = None
        text = str(exc)
        clean = self._scrub(text, secrets)
        if clean == text:
            return exc
        try:
            copy = type(exc)(clean)
        except Exception:
            copy = ZoomConnectError(clean)
        return copy.with_traceback(exc.__traceback__)

    def _call(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        params: Sequence[tuple[str, str]] = (),
        json_body: Any = None,
        files: Mapping[str, Any] | None = None,
        authenticate: bool = True,
        secrets: Sequence[str] = (),
        log_path: str | None = None,
    ) -> T:
        """Send one operation (retrying a GET on transient failures) and parse its answer."""
        shown = log_path or path
        attempts = 1 + (self._get_retries if method == "GET" else 0)
        attempt = 0
        while True:
            try:
                response, body = self._attempt(
                    method, path, shown, params, json_body, files, authenticate, secrets
                )
                break
            except _RETRYABLE as exc:
                delay = self._retry_delay(attempt, exc) if attempt + 1 < attempts else None
                if delay is None:
                    raise
                logger.info(
                    "Retrying %s %s in %.2fs after %s (retry %d of %d)",
                    method,
                    shown,
                    delay,
                    type(exc).__name__,
                    attempt + 1,
                    attempts - 1,
                )
                self._sleep(delay)
                attempt += 1
        try:
            return parse(body)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidResponseError(
                f"Zoom Connect answered {method} {shown} ({response.status_code}) with a body that "
                f"cannot be read: {self._detail(exc, secrets)}",
                status=response.status_code,
                response=scrubbed_response(response, (self._token, *secrets)),
            ) from exc

    def _retry_delay(self, attempt: int, exc: ZoomConnectError) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or ``None`` to give up now.

        Exponential backoff with jitter (half to all of ``retry_backoff * 2**attempt``, so that
        many workers do not retry in step), and never less than a 429's ``Retry-After``.
        """
        ceiling = self._retry_backoff * 2**attempt
        delay = random.uniform(ceiling / 2, ceiling)
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            if exc.retry_after > MAX_RETRY_AFTER:
                return None
            delay = max(delay, exc.retry_after)
        return delay

    def _attempt(
        self,
        method: str,
        path: str,
        shown: str,
        params: Sequence[tuple[str, str]],
        json_body: Any,
        files: Mapping[str, Any] | None,
        authenticate: bool,
        secrets: Sequence[str],
    ) -> tuple[requests.Response, Any]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if files is None:
            # The provider's guide asks for it on every call; multipart sets its own.
            headers["Content-Type"] = "application/json"
        query = list(params)
        auth: tuple[str, str] | None = None
        if authenticate:
            if self._auth_method == "headers":
                headers["email"] = self._email
                headers["token"] = self._token
            elif self._auth_method == "basic":
                auth = (self._email, self._token)
            else:
                query += [("email", self._email), ("token", self._token)]
        data = None if json_body is None else json.dumps(json_body).encode("utf-8")
        started = time.monotonic()
        failure: requests.RequestException | None = None
        try:
            response = self.session.request(
                method,
                self._base_url + API_PATH + path,
                params=query or None,
                data=data,
                files=files,
                headers=headers,
                auth=auth,
                timeout=self._timeout,
                allow_redirects=False,  # custom auth headers must never follow a redirect elsewhere
            )
        except requests.RequestException as exc:
            failure = exc
        elapsed = time.monotonic() - started
        if failure is not None:
            # Raised outside the except block so the original (which may quote a query-auth
            # URL) is not kept as __context__; the chained cause is a scrubbed copy.
            error = self._transport_error(failure, method, shown, secrets)
            logger.debug("%s %s failed after %.3fs: %s", method, shown, elapsed, type(error).__name__)
            raise error from self._clean_cause(failure, secrets)
        logger.debug("%s %s -> %s in %.3fs", method, shown, response.status_code, elapsed)
        body = _decode(response)
        if 200 <= response.status_code < 300:
            return response, body
        raise self._api_error(method, shown, response, body, secrets)

    def _transport_error(
        self, exc: requests.RequestException, method: str, shown: str, secrets: Sequence[str]
    ) -> ZoomConnectError:
        where = f"{method} {shown}"
        host = urlsplit(self._base_url).netloc
        if isinstance(exc, requests.ConnectTimeout):
            return ConnectTimeoutError(
                f"Timed out after {self._timeout[0]:g}s connecting to Zoom Connect ({host}) for {where}; "
                "nothing was sent."
            )
        if isinstance(exc, requests.Timeout) or (
            isinstance(exc, requests.ConnectionError) and _read_timed_out(exc)
        ):
            return ReadTimeoutError(
                f"No answer from Zoom Connect ({host}) to {where} within {self._timeout[1]:g}s; "
                "the request may have been processed."
            )
        detail = self._detail(exc, secrets)
        if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError) or (
            isinstance(exc, requests.ConnectionError) and _failed_to_connect(exc)
        ):
            return ConnectError(f"Could not connect to Zoom Connect ({host}) for {where}: {detail}")
        if isinstance(
            exc,
            requests.ConnectionError
            | requests.exceptions.ChunkedEncodingError
            | requests.exceptions.ContentDecodingError,
        ):
            return ConnectionLostError(
                f"The connection to Zoom Connect ({host}) broke during {where}; "
                f"the request may have been processed: {detail}"
            )
        return NotSentError(f"Could not send {where} to Zoom Connect ({host}): {detail}")

    def _api_error(
        self, method: str, shown: str, response: requests.Response, body: Any, secrets: Sequence[str]
    ) -> ZoomConnectAPIError:
        status = response.status_code
        data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
        try:
            code = read_int(data.get("code"))
        except ValueError:
            code = None
        provider_message = None if data.get("message") is None else self._scrub(str(data["message"]), secrets)
        developer_message = (
            None
            if data.get("developerMessage") is None
            else self._scrub(str(data["developerMessage"]), secrets)
        )
        detail = (
            provider_message
            or developer_message
            or (body if isinstance(body, str) and body else None)
            or response.reason
            or "no details given"
        )
        detail = self._detail(detail, secrets)
        code_text = "" if code is None else f", code {code}"
        verb = "failed on" if status >= 500 else "refused"
        text = f"Zoom Connect {verb} {method} {shown} ({status}{code_text}): {detail}"
        if status == 401:
            text += " (check the email and API token)"
        elif 300 <= status < 400:
            location = urlsplit(response.headers.get("Location", ""))
            target = self._scrub(f"{location.scheme}://{location.netloc}{location.path}", secrets)
            text = (
                f"Zoom Connect redirected {method} {shown} ({status}) to {target}; "
                "set BASE_URL to the address the API really lives at."
            )
        kwargs: dict[str, Any] = {
            "status": status,
            "code": code,
            "provider_message": provider_message,
            "developer_message": developer_message,
            # A copy without the token header, the Basic credential or query credentials.
            "response": scrubbed_response(response, (self._token, *secrets)),
        }
        if status in (401, 403):
            return AuthenticationError(text, **kwargs)
        if status == 404:
            return NotFoundError(text, **kwargs)
        if status == 400:
            cls = {2: InvalidNumberError, 3: EmptyMessageError}.get(code or 0, InvalidRequestError)
            return cls(text, **kwargs)
        if status == 429:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                text += f" (retry after {retry_after:g}s)"
            return RateLimitedError(text, retry_after=retry_after, **kwargs)
        if status >= 500:
            return ServerError(text, **kwargs)
        return ZoomConnectAPIError(text, **kwargs)

    def _get(self, path: str, parse: Callable[[Any], T], **query: Any) -> T:
        return self._call("GET", path, parse, params=_query(**query))

    def _post(self, path: str, parse: Callable[[Any], T], body: Any = None) -> T:
        return self._call("POST", path, parse, json_body=body)

    def _delete(self, path: str) -> None:
        self._call("DELETE", path, _ignore)

    def _datetime(self, value: datetime | None, what: str) -> str | None:
        return None if value is None else format_datetime(value, self._tz, what=what)

    def _date(self, value: date | None, fmt: str, what: str) -> str | None:
        return None if value is None else format_date(value, self._tz, fmt, what=what)

    # -- account --------------------------------------------------------------------------------

    def get_balance(self) -> float:
        """The account's credit balance."""

        def parse(body: Any) -> float:
            return _required(read_float(_scalar(body, "creditBalance")), "creditBalance")

        return self._get("account/balance", parse)

    def get_statistics(
        self,
        *,
        date_from: date | None = None,
        date_to: date | None = None,
        user_email: str | None = None,
        campaign: str | None = None,
        include_refunded_and_optout: bool | None = None,
        calculate_credit_value: bool | None = None,
    ) -> AccountStatistics:
        """The statistics report (message counts, or credit values with ``calculate_credit_value``).

        ``date_from`` and ``date_to`` are sent as ``dd-MM-yyyy``; an aware datetime is first
        converted to the API time zone.
        """
        return self._get(
            "account/statistics",
            lambda body: AccountStatistics.from_api(body, self._tz),
            **{
                "from": self._date(date_from, "%d-%m-%Y", "date_from"),
                "to": self._date(date_to, "%d-%m-%Y", "date_to"),
                "userEmailAddress": user_email,
                "campaign": campaign,
                "includeRefundedAndOptout": include_refunded_and_optout,
                "calculateCreditValue": calculate_credit_value,
            },
        )

    def transfer_credits(self, *, from_email: str, to_email: str, credits: int) -> User | None:
        """Move credits between two users of the same team.

        Returns the user the provider answers with, or ``None`` when it answers without a body
        (its spec allows a bare 201).
        """
        body = {
            "transferFromEmailAddress": from_email,
            "transferToEmailAddress": to_email,
            "numberOfCreditsToTransfer": credits,
        }
        return self._post("account/transfer", lambda b: None if b is None else User.from_api(b), body)

    def search_users(self, email: str) -> list[User]:
        """The team's users with this email address."""
        return self._get("account/user", _items("webServiceUserList", User.from_api), searchEmail=email)

    def create_user(
        self,
        *,
        email_address: str,
        first_name: str,
        last_name: str,
        contact_number: str,
        password: str,
        company: str | None = None,
    ) -> User:
        """Create a sub-account in the team (``PUT account/user``).

        When the provider answers without a body, the new user is looked up by email address.
        The password is sent, never logged, and never kept in the result.
        """
        body = _body(
            emailAddress=email_address,
            firstName=first_name,
            lastName=last_name,
            contactNumber=contact_number,
            password=password,
            company=company,
        )
        created = self._call(
            "PUT",
            "account/user",
            lambda b: None if b is None else User.from_api(b),
            json_body=body,
            secrets=(password,),
        )
        if created is not None:
            return created
        for user in self.search_users(email_address):
            if (user.email_address or "").lower() == email_address.lower():
                return user
        raise InvalidResponseError(
            "Zoom Connect answered PUT account/user without a body, and the new user was not found "
            f"by email address {email_address!r}; it may or may not have been created."
        )

    def get_user(self, user_id: int) -> User:
        """One user of the team."""
        return self._get(f"account/user/{_segment(_int_id(user_id, 'user_id'))}", User.from_api)

    def update_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        contact_number: str | None = None,
        password: str | None = None,
    ) -> User:
        """Change a sub-account; only the fields given are sent. Reads the user back if needed."""
        path = f"account/user/{_segment(_int_id(user_id, 'user_id'))}"
        body = _body(
            userId=user_id,
            firstName=first_name,
            lastName=last_name,
            contactNumber=contact_number,
            password=password,
        )
        secrets = () if password is None else (password,)
        updated = self._call(
            "POST", path, lambda b: None if b is None else User.from_api(b), json_body=body, secrets=secrets
        )
        return updated if updated is not None else self.get_user(user_id)

    # -- sms ------------------------------------------------------------------------------------

    def send_sms(
        self,
        recipient_number: str,
        message: str,
        *,
        date_to_send: datetime | None = None,
        campaign: str | None = None,
        data_field: str | None = None,
    ) -> SendResult:
        """Send (or schedule, with an aware ``date_to_send``) one SMS. Never retried.

        ``date_to_send`` is sent as ``yyyyMMddHHmm`` in the API time zone (seconds dropped).
        The number is sent as given: normalise it first (see :mod:`django_zoomconnect.phone`).
        """
        request = SmsRequest(recipient_number, message, date_to_send, campaign, data_field)
        return self._post("sms/send", SendResult.from_api, request.to_api(self._tz))

    def send_bulk(
        self,
        requests: Sequence[SmsRequest],
        *,
        default_date_to_send: datetime | None = None,
        messages_per_minute: int | None = None,
    ) -> list[SendResult]:
        """Send many messages in one call; one result per request, in the same order. Never retried.

        An answer with a different number of results than requests is an
        :class:`~django_zoomconnect.exceptions.InvalidResponseError` (results cannot be matched).
        """
        if not requests:
            raise ValueError("send_bulk needs at least one SmsRequest")
        for item in requests:
            if not isinstance(item, SmsRequest):
                raise TypeError(f"send_bulk takes SmsRequest items, not {type(item).__name__}")
        body = _body(
            sendSmsRequests=[item.to_api(self._tz) for item in requests],
            defaultDateToSend=self._datetime(default_date_to_send, "default_date_to_send"),
            messagesPerMinute=messages_per_minute,
        )
        parse_all = _items("sendSmsResponses", SendResult.from_api)

        def parse(answer: Any) -> list[SendResult]:
            results = parse_all(answer)
            if len(results) != len(requests):
                raise ValueError(f"{len(results)} results for {len(requests)} requests")
            return results

        return self._post("sms/send-bulk", parse, body)

    def send_sms_url_parameters(
        self,
        recipient_number: str,
        message: str,
        *,
        date_to_send: datetime | None = None,
        campaign: str | None = None,
        data_field: str | None = None,
    ) -> str:
        """Send one SMS with its fields as URL parameters; returns the message id. Never retried."""
        params = _query(
            recipientNumber=recipient_number,
            message=message,
            dateToSend=self._datetime(date_to_send, "date_to_send"),
            campaign=campaign,
            dataField=data_field,
        )
        return self._call("POST", "sms/send-url-parameters", _message_id_text, params=params)

    def send_sms_url(
        self,
        url_token: str,
        recipient_number: str,
        message: str,
        *,
        date_to_send: datetime | None = None,
        campaign: str | None = None,
        data_field: str | None = None,
    ) -> str:
        """Send one SMS through the account's unique sending URL; returns the message id.

        ``url_token`` is the "URL sending token" of the provider's developer settings page, not
        the API token; no other credentials are sent. It is a secret and is kept out of logs and
        errors like the API token.
        """
        if not url_token:
            raise ValueError("url_token must be the account's URL sending token")
        params = _query(
            recipientNumber=recipient_number,
            message=message,
            dateToSend=self._datetime(date_to_send, "date_to_send"),
            campaign=campaign,
            dataField=data_field,
        )
        return self._call(
            "POST",
            f"sms/send-url/{_segment(url_token)}",
            _message_id_text,
            params=params,
            authenticate=False,
            secrets=(url_token,),
            log_path=f"sms/send-url/{_REDACTED}",
        )

    def get_send_sms_example(self) -> dict[str, Any]:
        """The provider's example of a ``sms/send`` body (``GET sms/send``); for exploring the API."""
        return self._get("sms/send", lambda body: dict(read_object(body, "an example")))

    def get_send_bulk_example(self) -> dict[str, Any]:
        """The provider's example of a ``sms/send-bulk`` body (``GET sms/send-bulk``)."""
        return self._get("sms/send-bulk", lambda body: dict(read_object(body, "an example")))

    # -- contacts -------------------------------------------------------------------------------

    def list_contacts(self) -> list[Contact]:
        """Every contact of the account (the API does not page them)."""
        return self._get("contacts/all", _items("webServiceContacts", Contact.from_api))

    def create_contact(
        self,
        *,
        contact_number: str,
        first_name: str | None = None,
        last_name: str | None = None,
        title: str | None = None,
    ) -> Contact:
        """Create a contact; the result carries the provider's ``contact_id``."""
        body = _body(title=title, firstName=first_name, lastName=last_name, contactNumber=contact_number)
        return self._post("contacts/create", Contact.from_api, body)

    def get_contact(self, contact_id: str) -> Contact:
        return self._get(f"contacts/{_segment(contact_id)}", Contact.from_api)

    def update_contact(
        self,
        contact_id: str,
        *,
        contact_number: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        title: str | None = None,
    ) -> Contact:
        """Change a contact; only the fields given are sent. Reads the contact back if needed."""
        body = _body(
            contactId=contact_id,
            title=title,
            firstName=first_name,
            lastName=last_name,
            contactNumber=contact_number,
        )
        path = f"contacts/{_segment(contact_id)}"
        updated = self._post(path, lambda b: None if b is None else Contact.from_api(b), body)
        return updated if updated is not None else self.get_contact(contact_id)

    def delete_contact(self, contact_id: str) -> None:
        self._delete(f"contacts/{_segment(contact_id)}")

    def add_contact_to_group(self, contact_id: str, group_id: str) -> None:
        """Add a contact to a group (``contacts/{contactId}/addToGroup/{groupId}``)."""
        self._post(f"contacts/{_segment(contact_id)}/addToGroup/{_segment(group_id)}", _ignore)

    def remove_contact_from_group(self, contact_id: str, group_id: str) -> None:
        """REMOVE a contact from a group, through ``contacts/{contactId}/addFromGroup/{groupId}``.

        Despite the provider's path name ("addFromGroup"), that operation removes the contact
        from the group; its own description says so.
        """
        self._post(f"contacts/{_segment(contact_id)}/addFromGroup/{_segment(group_id)}", _ignore)

    # -- groups ---------------------------------------------------------------------------------

    def list_groups(self) -> list[Group]:
        return self._get("groups/all", _items("webServiceGroups", Group.from_api))

    def create_group(self, name: str) -> Group:
        """Create a group; the provider refuses an empty name (400)."""
        return self._post("groups/create", Group.from_api, {"name": name})

    def get_group(self, group_id: str) -> Group:
        return self._get(f"groups/{_segment(group_id)}", Group.from_api)

    def update_group(self, group_id: str, *, name: str) -> Group:
        """Rename a group. Reads the group back when the provider answers without a body."""
        path = f"groups/{_segment(group_id)}"
        updated = self._post(
            path, lambda b: None if b is None else Group.from_api(b), {"groupId": group_id, "name": name}
        )
        return updated if updated is not None else self.get_group(group_id)

    def delete_group(self, group_id: str) -> None:
        self._delete(f"groups/{_segment(group_id)}")

    def group_add_contact(self, group_id: str, contact_id: str) -> None:
        """Add a contact to a group (``groups/{groupId}/addContact/{contactId}``)."""
        self._post(f"groups/{_segment(group_id)}/addContact/{_segment(contact_id)}", _ignore)

    def group_remove_contact(self, group_id: str, contact_id: str) -> None:
        """Remove a contact from a group (``groups/{groupId}/removeContact/{contactId}``)."""
        self._post(f"groups/{_segment(group_id)}/removeContact/{_segment(contact_id)}", _ignore)

    # -- messages -------------------------------------------------------------------------------

    def _message_query(self, page: int, page_size: int, filters: Mapping[str, Any]) -> list[tuple[str, str]]:
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise ValueError(f"page counts from 1, not {page!r}")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise ValueError(f"page_size must be a positive int, not {page_size!r}")
        unknown = sorted(set(filters) - set(_FILTER_NAMES))
        if unknown:
            raise TypeError(f"unknown message filter(s): {', '.join(unknown)}")
        params = [("page", str(page)), ("pageSize", str(page_size))]
        for name, wire in _FILTER_NAMES.items():
            value = filters.get(name)
            if value is None:
                continue
            if name in _DATE_FILTERS:
                value = format_date(value, self._tz, "%Y%m%d", what=name)
            params.append((wire, _query_value(value)))
        return params

    def list_messages(
        self, *, page: int = 1, page_size: int = 100, **filters: Unpack[MessageFilters]
    ) -> MessagePage:
        """One page of the message history, filtered; ``page`` counts from 1.

        Date filters are dates (``yyyyMMdd`` on the wire); an aware datetime is first converted
        to the API time zone, a naive one is refused.
        """
        params = self._message_query(page, page_size, filters)
        return self._call(
            "GET", "messages/all", lambda body: MessagePage.from_api(body, self._tz), params=params
        )

    def iter_messages(self, *, page_size: int = 100, **filters: Unpack[MessageFilters]) -> Iterator[Message]:
        """Every message matching ``filters``, fetching one page at a time as it is consumed.

        Pages are offsets, so a message arriving mid-walk can shift one seen before onto the next
        page: a message id already yielded is skipped, and a page bringing nothing new ends the
        walk (it also guards against a server that ignores ``page``). Messages without an id are
        yielded but do not count as new.
        """
        self._message_query(1, page_size, filters)  # fail now, not on the first next()
        return self._walk_messages(page_size, filters)

    def _walk_messages(self, page_size: int, filters: MessageFilters) -> Iterator[Message]:
        seen: set[str] = set()
        page_number = 1
        while True:
            page = self.list_messages(page=page_number, page_size=page_size, **filters)
            fresh = 0
            for message in page.messages:
                if message.message_id is not None:
                    if message.message_id in seen:
                        continue
                    seen.add(message.message_id)
                    fresh += 1
                yield message
            if not fresh:
                return
            if page.total_pages is not None:
                if page_number >= page.total_pages:
                    return
            elif len(page.messages) < page_size:
                return
            page_number += 1

    def get_message(self, message_id: str) -> Message:
        return self._get(f"messages/{_segment(message_id)}", lambda body: Message.from_api(body, self._tz))

    def delete_message(self, message_id: str) -> None:
        self._delete(f"messages/{_segment(message_id)}")

    def _mark(self, message_id: str, action: str) -> Message | None:
        return self._post(
            f"messages/{_segment(message_id)}/{action}",
            lambda body: None if body is None else Message.from_api(body, self._tz),
        )

    def mark_read(self, message_id: str) -> Message | None:
        """Mark an inbound message read; the message as the provider now has it, if it says."""
        return self._mark(message_id, "markRead")

    def mark_unread(self, message_id: str) -> Message | None:
        """Mark an inbound message unread; the message as the provider now has it, if it says."""
        return self._mark(message_id, "markUnread")

    # -- analyse --------------------------------------------------------------------------------

    def _analyse(
        self, operation: str, message: str, recipient_number: str | None, parse: Callable[[Any], T]
    ) -> T:
        body = _body(message=message, recipientNumber=recipient_number)
        return self._post(f"messages/analyse/{operation}", parse, body)

    def analyse_message(self, message: str, recipient_number: str | None = None) -> MessageAnalysis:
        """Everything the provider can tell about sending ``message``: encoding, length, parts, cost."""
        return self._analyse("full", message, recipient_number, MessageAnalysis.from_api)

    def message_credit_cost(self, message: str, recipient_number: str | None = None) -> float:
        """Credits that sending ``message`` (to ``recipient_number``) would cost."""

        def parse(body: Any) -> float:
            return _required(read_float(_scalar(body, "messageCreditCost")), "credit cost")

        return self._analyse("message-credit-cost", message, recipient_number, parse)

    def message_encoding(self, message: str, recipient_number: str | None = None) -> str:
        """The encoding ``message`` needs, as the provider names it (for example ``GSM7``)."""

        def parse(body: Any) -> str:
            return _required(read_str(_scalar(body, "messageEncoding")), "encoding").strip().strip('"')

        return self._analyse("message-encoding", message, recipient_number, parse)

    def message_length(self, message: str, recipient_number: str | None = None) -> int:
        """The length of ``message`` as the provider counts it."""

        def parse(body: Any) -> int:
            return _required(read_int(_scalar(body, "messageLength")), "length")

        return self._analyse("message-length", message, recipient_number, parse)

    def message_within_max_length(self, message: str, recipient_number: str | None = None) -> bool:
        """Whether ``message`` is within the longest message the provider allows."""

        def parse(body: Any) -> bool:
            return _required(read_bool(_scalar(body, "messageLengthWithinMaximumAllowed")), "answer")

        return self._analyse("message-length-within-max-allowed", message, recipient_number, parse)

    def number_of_messages(self, message: str, recipient_number: str | None = None) -> int:
        """How many SMS parts sending ``message`` would take."""

        def parse(body: Any) -> int:
            return _required(read_int(_scalar(body, "numberOfMessages")), "number of messages")

        return self._analyse("number-of-messages", message, recipient_number, parse)

    # -- templates ------------------------------------------------------------------------------

    def list_templates(self) -> list[Template]:
        """Every template. The API can read and delete templates, but not create or change them."""
        return self._get("templates/all", _items("webServiceTemplates", Template.from_api))

    def get_template(self, template_id: int) -> Template:
        return self._get(f"templates/{_int_id(template_id, 'template_id')}", Template.from_api)

    def delete_template(self, template_id: int) -> None:
        self._delete(f"templates/{_int_id(template_id, 'template_id')}")

    # -- voice (beta) ---------------------------------------------------------------------------

    def list_voice_messages(
        self,
        *,
        page: int = 1,
        page_size: int = 100,
        status: str | None = None,
        sent_from: date | None = None,
        sent_to: date | None = None,
        to_number: str | None = None,
        message: str | None = None,
        campaign: str | None = None,
        data_field: str | None = None,
        deleted: bool | None = None,
    ) -> VoiceMessagePage:
        """One page of voice messages (a beta part of the provider's API)."""
        params = self._message_query(page, page_size, {})
        params += _query(
            status=status,
            fromDateTimeSent=self._date(sent_from, "%Y%m%d", "sent_from"),
            toDateTimeSent=self._date(sent_to, "%Y%m%d", "sent_to"),
            toNumber=to_number,
            message=message,
            campaign=campaign,
            dataField=data_field,
            deleted=deleted,
        )
        return self._call(
            "GET", "voice/all", lambda body: VoiceMessagePage.from_api(body, self._tz), params=params
        )

    def send_voice_text(
        self,
        recipient_number: str,
        message: str,
        *,
        language: str | None = None,
        campaign: str | None = None,
        data_field: str | None = None,
        retry_count: int | None = None,
        retry_minimum_interval: int | None = None,
        retry_maximum_interval: int | None = None,
    ) -> VoiceSendResult:
        """Call ``recipient_number`` and read ``message`` out (beta). Never retried.

        The ``retry_*`` options are the provider's redial of an unanswered call (minutes).
        """
        body = _body(
            recipientNumber=recipient_number,
            message=message,
            language=language,
            campaign=campaign,
            dataField=data_field,
            retryCount=retry_count,
            retryMinimumInterval=retry_minimum_interval,
            retryMaximumInterval=retry_maximum_interval,
        )
        return self._post("voice/single-text", VoiceSendResult.from_api, body)

    def send_voice_audio(
        self,
        recipient_number: str,
        audio: bytes | IO[bytes],
        *,
        filename: str = "message.mp3",
        campaign: str | None = None,
        data_field: str | None = None,
        retry_count: int | None = None,
        retry_minimum_interval: int | None = None,
        retry_maximum_interval: int | None = None,
    ) -> VoiceSendResult:
        """Call ``recipient_number`` and play an MP3 or WAV file (beta; multipart upload). Never retried."""
        params = _query(
            recipientNumber=recipient_number,
            campaign=campaign,
            dataField=data_field,
            retryCount=retry_count,
            retryMinimumInterval=retry_minimum_interval,
            retryMaximumInterval=retry_maximum_interval,
        )
        kind = "audio/wav" if filename.lower().endswith(".wav") else "audio/mpeg"
        return self._call(
            "POST",
            "voice/single-audio",
            VoiceSendResult.from_api,
            params=params,
            files={"file": (filename, audio, kind)},
        )

    def get_voice_message(self, voice_message_id: str) -> VoiceMessage:
        return self._get(
            f"voice/{_segment(voice_message_id)}", lambda body: VoiceMessage.from_api(body, self._tz)
        )

    def delete_voice_message(self, voice_message_id: str) -> None:
        self._delete(f"voice/{_segment(voice_message_id)}")
