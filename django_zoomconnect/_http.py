"""The HTTP engine under the client: sessions, auth, timeouts, GET retries and every failure mapped.

:class:`HttpClient` sends one operation and hands its decoded answer to a parser;
:class:`~django_zoomconnect.client.ZoomConnectClient` adds one method per operation on top.
Every failure becomes an exception from :mod:`django_zoomconnect.exceptions` whose class says
whether the request may have reached the provider, because that decides what a caller may do
next: a :class:`~django_zoomconnect.exceptions.NotSentError` can be retried freely, a
:class:`~django_zoomconnect.exceptions.MayHaveBeenSentError` must be looked up first. For the
same reason only GET requests are retried here; whether to send a POST again is the sending
layer's decision.

Secrets (the API token, a URL-sending token, a sub-account password) never appear in ``repr``,
in log records or in exception messages, including the chained transport exception; an error's
``response`` is the copy :func:`~django_zoomconnect.redaction.scrubbed_response` makes.
"""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any, Generic, Literal, Self, TypeVar, cast, overload
from urllib.parse import quote, quote_plus, urlsplit

import requests
from requests.adapters import BaseAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from . import __version__, conf
from ._codec import ignore, query
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
from .wire_formats import read_int

# The documented logger name: the engine logs for the client it serves.
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
REDACTED = "********"
_DETAIL_LIMIT = 300

#: The failures a GET is retried on: not sent, or idempotent enough to ask again.
_RETRYABLE = (NotSentError, ReadTimeoutError, ConnectionLostError, ServerError)

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


# --- requests and answers ----------------------------------------------------------------------


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


def _reason(exc: requests.ConnectionError) -> object:
    """What urllib3 says went wrong under a ``ConnectionError``, unwrapped from ``MaxRetryError``."""
    reason: object = exc.args[0] if exc.args else None
    return reason.reason if isinstance(reason, MaxRetryError) else reason


def _failed_to_connect(exc: requests.ConnectionError) -> bool:
    """Whether a ``ConnectionError`` happened while opening the connection (nothing was sent)."""
    return isinstance(_reason(exc), NewConnectionError | ConnectionRefusedError | socket.gaierror)


def _read_timed_out(exc: requests.ConnectionError) -> bool:
    # requests reports a timeout while reading the body as ConnectionError(ReadTimeoutError).
    return isinstance(_reason(exc), Urllib3ReadTimeoutError | TimeoutError)


class _Setting(Generic[T]):
    """A read-only attribute for a setting the constructor validated (stored as ``_<name>``)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> T | Self:
        return self if instance is None else cast(T, getattr(instance, "_" + self.name))

    def __set__(self, instance: object, value: T) -> None:
        raise AttributeError(f"{self.name} cannot be changed: build another client")


#: The constructor's arguments that are checked like the ``ZOOMCONNECT`` setting of that name.
_VALIDATED = ("base_url", "auth_method", "timeout", "timezone", "get_retries", "retry_backoff")


def _setting(argument: str) -> str:
    """The ``ZOOMCONNECT`` key of a constructor argument."""
    return {"token": "API_TOKEN", "timezone": "API_TIMEZONE"}.get(argument, argument.upper())


# --- the engine --------------------------------------------------------------------------------


class HttpClient:
    """The HTTP side of a client for one Zoom Connect account.

    Build it with keyword arguments, or from the ``ZOOMCONNECT`` setting with
    :meth:`from_settings`. It holds one ``requests.Session`` (opened on first use; close it with
    :meth:`close` or a ``with`` block). A session is not meant to be shared between threads: give
    each thread or task its own client.
    """

    email: _Setting[str] = _Setting()
    base_url: _Setting[str] = _Setting()
    auth_method: _Setting[str] = _Setting()
    timeout: _Setting[tuple[float, float]] = _Setting()
    #: The provider's time zone: request datetimes are written in it, naive answers read in it.
    timezone: _Setting[tzinfo] = _Setting()
    get_retries: _Setting[int] = _Setting()
    retry_backoff: _Setting[float] = _Setting()
    #: The alias of the ``ZOOMCONNECT["ACCOUNTS"]`` entry :meth:`from_settings` built it from
    #: (``None`` for a client built from keyword arguments).
    account: str | None = None

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
        if not isinstance(token, str) or not token:
            raise ConfigurationError("ZoomConnectClient: token must be the account's (non-empty) API token.")
        for name, value in (("email", email), ("token", token)):
            # Checked here: requests would echo a header value in its error, and a character
            # outside ASCII would fail every call with a UnicodeEncodeError (check E008 says so).
            bad = conf.unsendable(value)
            if bad is not None:
                raise ConfigurationError(
                    f"ZoomConnectClient: {name} must be printable ASCII, without spaces or "
                    f"control characters (it holds {bad!r})."
                )
        self._email = email
        self._token = token
        self._base_url: str = self._validated("base_url", base_url)
        self._auth_method: str = self._validated("auth_method", auth_method)
        self._timeout: tuple[float, float] = self._validated("timeout", timeout)
        self._timezone: tzinfo = (
            timezone if isinstance(timezone, tzinfo) else self._validated("timezone", timezone)
        )
        self._get_retries: int = self._validated("get_retries", get_retries)
        self._retry_backoff: float = self._validated("retry_backoff", retry_backoff)
        self._session = session
        self._owns_session = session is None
        self._sleep = sleep
        self._lock = threading.Lock()

    @staticmethod
    def _validated(argument: str, value: Any) -> Any:
        # The same rules as the ZOOMCONNECT setting, so a value valid there is valid here.
        try:
            return conf.validate(_setting(argument), value)
        except ValueError as exc:
            raise ConfigurationError(f"ZoomConnectClient: {argument} {exc}.") from None

    @classmethod
    def from_settings(cls, *, account: str | None = None, **overrides: Any) -> Self:
        """A client configured by ``settings.ZOOMCONNECT`` as it is now; ``overrides`` win.

        ``account`` is the alias of an entry of ``ZOOMCONNECT["ACCOUNTS"]`` (``None``: the
        ``"default"`` account). Raises :class:`~django_zoomconnect.exceptions.ConfigurationError`
        naming the setting when ``EMAIL`` or ``API_TOKEN`` is missing (unless given as an
        override), a value is wrong or no such account is configured.
        """
        alias = conf.account_alias(account)
        kwargs: dict[str, Any] = {}
        for argument in ("email", "token", *_VALIDATED):
            if argument not in overrides:
                key = _setting(argument)
                if argument in ("email", "token"):
                    kwargs[argument] = conf.required(key, alias)
                else:
                    kwargs[argument] = conf.get(key, alias)
        kwargs.update(overrides)
        client = cls(**kwargs)
        client.account = alias
        return client

    # -- the session ----------------------------------------------------------------------------

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} email={self._email!r} base_url={self._base_url!r}>"

    # -- secrets --------------------------------------------------------------------------------

    def _scrub(self, text: str, secrets: Iterable[str] = ()) -> str:
        """``text`` with every secret (raw or URL-encoded) replaced by asterisks."""
        for secret in (self._token, *secrets):
            if not secret:
                continue
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, REDACTED)
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

    # -- one operation --------------------------------------------------------------------------

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

    # -- shorthands for the operations ----------------------------------------------------------

    def _get(self, path: str, parse: Callable[[Any], T], **params: Any) -> T:
        return self._call("GET", path, parse, params=query(**params))

    def _post(self, path: str, parse: Callable[[Any], T], body: Any = None) -> T:
        return self._call("POST", path, parse, json_body=body)

    def _delete(self, path: str) -> None:
        self._call("DELETE", path, ignore)
