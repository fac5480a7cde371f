"""The plumbing of the simulator's HTTP surface: requests in, answers out, errors, credentials.

Transport-neutral: a request comes in as plain values and leaves as a
:class:`SimulatorResponse`, so the threaded server, the in-process ``requests`` adapter and the
WSGI wrapper all answer exactly the same way. Operations (``handlers/``) build JSON answers with
the helpers here; :func:`render` turns an answer into XML when XML was negotiated
(``formats.py``). Decisions taken where the provider's spec is silent are listed in
``docs/simulator.rst``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .errors import ApiError
from .faults import FaultRule, TransportFault
from .formats import ERROR_ROOT, JSON_TYPE, TEXT_TYPE, XML_TYPE, Negotiation, to_xml

if TYPE_CHECKING:
    from .core import Simulator

REDACTED = "[redacted]"


@dataclass(frozen=True)
class SimulatorResponse:
    """An answer ready to be written by any transport.

    ``headers`` always include ``Content-Type`` and ``Content-Length`` (send them as given; do
    not add another ``Content-Length``). When ``fault`` is set, the transport must act it out
    (see :class:`~django_zoomconnect.simulator.faults.TransportFault`) instead of, or after,
    answering normally.
    """

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fault: TransportFault | None = None

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or ``None``."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> Any:
        """The body parsed as JSON (for tests)."""
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request as the simulator received it; credentials are redacted."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: datetime
    status: int
    fault: str | None = None

    def json(self) -> Any:
        """The request body parsed as JSON, or ``None`` when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "at": self.at.isoformat(),
            "status": self.status,
            "fault": self.fault,
        }


# --- operations ----------------------------------------------------------------------------------

#: ``handler(simulator, request, *path_arguments)``: one operation's answer.
Handler = Callable[..., SimulatorResponse]


@dataclass(frozen=True)
class Operation:
    """One REST operation: its handler, the XML root of its answer and how it is reached.

    ``xml_root`` is the spec's definition of the answer with a lowercase first letter
    (``WebServiceAccount`` -> ``webServiceAccount``); ``auth=False`` operations authenticate
    with a token in their path instead; ``plain_text`` ones answer plain text unless JSON is
    asked for, and are never refused with 406.
    """

    name: str
    handler: Handler
    xml_root: str = "response"
    auth: bool = True
    plain_text: bool = False

    def __call__(self, simulator: Simulator, request: Request, *args: str) -> SimulatorResponse:
        return self.handler(simulator, request, *args)


def operation(
    xml_root: str = "response", *, auth: bool = True, plain_text: bool = False
) -> Callable[[Handler], Operation]:
    """Declare a handler as an :class:`Operation` named after it."""

    def declare(handler: Handler) -> Operation:
        return Operation(handler.__name__, handler, xml_root, auth, plain_text)

    return declare


# --- building answers ----------------------------------------------------------------------------

_BODY_HEADERS = frozenset({"content-type", "content-length"})


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, payload: Any, extra: Iterable[tuple[str, str]] = ()) -> SimulatorResponse:
    body = _dumps(payload)
    return SimulatorResponse(
        status, [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body))), *extra], body
    )


def text_response(status: int, text: str) -> SimulatorResponse:
    body = text.encode("utf-8")
    return SimulatorResponse(status, [("Content-Type", TEXT_TYPE), ("Content-Length", str(len(body)))], body)


def empty_response(status: int) -> SimulatorResponse:
    return SimulatorResponse(status, [("Content-Length", "0")], b"")


def created(simulator: Simulator, payload: Any) -> SimulatorResponse:
    """A create's answer: 200 with the new resource (the provider's likely answer), or 201."""
    return json_response(201 if simulator.success_statuses == "201/204" else 200, payload)


def deleted(simulator: Simulator) -> SimulatorResponse:
    """A delete's answer: 200 with an empty body (the provider's likely answer), or 204."""
    return empty_response(204 if simulator.success_statuses == "201/204" else 200)


def when(simulator: Simulator, value: datetime | None) -> int | str | None:
    """A time as the answers carry it: epoch milliseconds, or ISO 8601 in the account's zone."""
    if value is None:
        return None
    if simulator.date_format == "iso":
        return value.astimezone(simulator.tz).isoformat(timespec="milliseconds")
    return int(value.timestamp() * 1000)


def render(request: Request, response: SimulatorResponse) -> SimulatorResponse:
    """``response`` as XML when XML was negotiated and it holds JSON; else unchanged."""
    negotiation = request.negotiation
    if negotiation is None or negotiation.format != "xml" or response.header("Content-Type") != JSON_TYPE:
        return response
    if response.status >= 400:
        root = ERROR_ROOT
    else:
        root = request.operation.xml_root if request.operation is not None else "response"
    body = to_xml(json.loads(response.body), root)
    headers = [(name, value) for name, value in response.headers if name.lower() not in _BODY_HEADERS]
    headers = [("Content-Type", XML_TYPE), ("Content-Length", str(len(body))), *headers]
    return SimulatorResponse(response.status, headers, body, response.fault)


# --- errors as answers ---------------------------------------------------------------------------


def error_body(status: int, code: int, message: str, developer_message: str) -> dict[str, Any]:
    return {
        "status": HTTPStatus(status).name,
        "code": code,
        "message": message,
        "developerMessage": developer_message,
        "moreInfoUrl": None,
    }


def error_response(error: ApiError, extra: Iterable[tuple[str, str]] = ()) -> SimulatorResponse:
    return json_response(
        error.status, error_body(error.status, error.code, error.message, error.developer_message), extra
    )


def not_found_response(developer_message: str) -> SimulatorResponse:
    return error_response(ApiError(404, "Not Found", developer_message=developer_message))


def method_not_allowed(request: Request, allowed: Iterable[str]) -> SimulatorResponse:
    return error_response(
        ApiError(405, "Method not allowed", developer_message=f"{request.method} is not allowed here"),
        [("Allow", ", ".join(sorted(allowed)))],
    )


def unauthorized(developer_message: str) -> SimulatorResponse:
    return error_response(
        ApiError(401, "Unauthorized", developer_message=developer_message),
        [("WWW-Authenticate", 'Basic realm="Zoom Connect"')],
    )


def fault_response(rule: FaultRule) -> SimulatorResponse:
    """The answer of an injected HTTP fault (500, 503 or 429)."""
    if rule.kind == "429":
        retry_after = rule.retry_after if rule.retry_after is not None else 1
        return error_response(
            ApiError(429, "Too many requests", developer_message=f"Retry after {retry_after} seconds"),
            [("Retry-After", str(retry_after))],
        )
    if rule.kind == "503":
        return error_response(
            ApiError(503, "Service unavailable", developer_message="The service is temporarily unavailable")
        )
    return error_response(
        ApiError(500, "Internal error", code=1, developer_message="An internal error occurred")
    )


# --- requests ------------------------------------------------------------------------------------

_NOT_PARSED = object()


class Request:
    """One incoming request, with its query and JSON body parsed on first use."""

    __slots__ = (
        "_json",
        "_query",
        "body",
        "headers",
        "method",
        "negotiation",
        "operation",
        "path",
        "query_string",
        "route",
    )

    def __init__(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> None:
        self.method = method.upper()
        self.path = path
        self.route = ""
        self.query_string = query
        self.headers = {str(key).lower(): str(value) for key, value in headers.items()}
        self.body = body
        self._query: dict[str, str] | None = None
        self._json: Any = _NOT_PARSED
        #: The REST operation once routed, and the format its answer takes.
        self.operation: Operation | None = None
        self.negotiation: Negotiation | None = None

    def query(self) -> dict[str, str]:
        if self._query is None:
            self._query = dict(parse_qsl(self.query_string, keep_blank_values=True))
        return self._query

    def form(self) -> dict[str, str]:
        if "application/x-www-form-urlencoded" in self.headers.get("content-type", ""):
            return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        return {}

    def json(self) -> Any:
        if self._json is _NOT_PARSED:
            if not self.body.strip():
                self._json = None
            else:
                try:
                    self._json = json.loads(self.body)
                except (ValueError, UnicodeDecodeError):
                    self._json = ApiError(
                        400, "Malformed request", developer_message="The request body is not valid JSON"
                    )
        if isinstance(self._json, ApiError):
            raise self._json
        return self._json

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ApiError(
                400, "Malformed request", developer_message="The request body must be a JSON object"
            )
        return value

    def recorded_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        for name in ("token", "authorization"):
            if name in headers:
                headers[name] = REDACTED
        return headers

    def recorded_query(self) -> str:
        if "token" not in self.query_string:
            return self.query_string
        pairs = parse_qsl(self.query_string, keep_blank_values=True)
        return "&".join(f"{k}={REDACTED if k == 'token' else v}" for k, v in pairs)


# --- parameters and fields -----------------------------------------------------------------------


def bool_param(query: Mapping[str, str], name: str) -> bool | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(400, f"Invalid {name}", developer_message=f"{name} must be true or false, not {value!r}")


def int_param(query: Mapping[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ApiError(400, f"Invalid {name}", developer_message=f"{name} must be 1 or more, not {value!r}")
    return number


def date_param(query: Mapping[str, str], name: str, fmt: str, shown: str) -> date | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        raise ApiError(
            400, f"Invalid {name}", developer_message=f"{name} must be {shown}, not {value!r}"
        ) from None


def str_field(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def required_str(body: Mapping[str, Any], name: str) -> str:
    value = str_field(body, name)
    if value is None or not value.strip():
        raise ApiError(400, f"{name} is required", developer_message=f"The field {name!r} is required")
    return value


# --- credentials ---------------------------------------------------------------------------------


def authenticate(request: Request, email: str, token: str) -> str | None:
    """``None`` when any presented credentials (headers, Basic, query) are ``email`` and
    ``token``; else why not."""
    headers = request.headers
    presented = False
    if "email" in headers or "token" in headers:
        presented = True
        if _credentials_match(headers.get("email"), headers.get("token"), email, token):
            return None
    authorization = headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        presented = True
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user, _, password = decoded.partition(":")
        if _credentials_match(user, password, email, token):
            return None
    if "token" in request.query_string or "email" in request.query_string:
        query = request.query()
        if "email" in query or "token" in query:
            presented = True
            if _credentials_match(query.get("email"), query.get("token"), email, token):
                return None
    if presented:
        return "The email address or API token is wrong"
    return "No credentials: send the email and token headers, HTTP Basic, or email and token parameters"


def _credentials_match(
    email: str | None, token: str | None, expected_email: str, expected_token: str
) -> bool:
    if not email or not token:
        return False
    email_ok = hmac.compare_digest(email.strip().lower().encode(), expected_email.lower().encode())
    token_ok = hmac.compare_digest(token.strip().encode(), expected_token.encode())
    return email_ok and token_ok


def token_matches(presented: str, expected: str | None) -> bool:
    """Whether a token in a path is ``expected`` (compared in constant time); never when unset."""
    if not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
