"""The simulator's HTTP surface: routing, authentication and JSON of the REST API and control API.

Transport-neutral: a request comes in as plain values and leaves as a
:class:`SimulatorResponse`, so the threaded server, the in-process ``requests`` adapter and the
WSGI wrapper all answer exactly the same way. Decisions taken where the provider's spec is silent
are listed in ``docs/simulator.rst``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..segments import SegmentInfo
from . import state as st
from .config import CONFIG_FIELDS
from .errors import ApiError, invalid_number, not_found
from .faults import HTTP_FAULTS, FaultRule, TransportFault, TransportKind
from .formats import ERROR_ROOT, XML_ROOTS, XML_TYPE, Negotiation, negotiate, split_suffix, to_xml
from .state import Contact, Group, Message, Template, User, VoiceMessage

if TYPE_CHECKING:
    from .core import Simulator

REST_PREFIX = "/app/api/rest/v1/"
CONTROL_PREFIX = "/_simulator/"
JSON_TYPE = "application/json;charset=UTF-8"
TEXT_TYPE = "text/plain;charset=UTF-8"
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


# --- building responses --------------------------------------------------------------------------


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


def _unauthorized(developer_message: str) -> SimulatorResponse:
    return error_response(
        ApiError(401, "Unauthorized", developer_message=developer_message),
        [("WWW-Authenticate", 'Basic realm="Zoom Connect"')],
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
        #: The REST operation's name once routed, and the format its answer takes.
        self.operation: str | None = None
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


# --- parameters ----------------------------------------------------------------------------------


def _bool_param(query: Mapping[str, str], name: str) -> bool | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(400, f"Invalid {name}", developer_message=f"{name} must be true or false, not {value!r}")


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
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


def _date_param(query: Mapping[str, str], name: str, fmt: str, shown: str) -> date | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        raise ApiError(
            400, f"Invalid {name}", developer_message=f"{name} must be {shown}, not {value!r}"
        ) from None


def _str_field(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _required_str(body: Mapping[str, Any], name: str) -> str:
    value = _str_field(body, name)
    if value is None or not value.strip():
        raise ApiError(400, f"{name} is required", developer_message=f"The field {name!r} is required")
    return value


def _path_int(value: str, kind: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise not_found(kind, value) from None
    return number


# --- the surface ---------------------------------------------------------------------------------

Handler = Callable[..., SimulatorResponse]

#: (path pattern relative to the REST prefix, {method: operation name}); "{}" matches one segment.
REST_ROUTES: list[tuple[str, dict[str, str]]] = [
    ("account/balance", {"GET": "get_balance"}),
    ("account/statistics", {"GET": "get_statistics"}),
    ("account/transfer", {"POST": "transfer"}),
    ("account/user", {"GET": "search_users", "PUT": "create_user"}),
    ("account/user/{}", {"GET": "get_user", "POST": "update_user"}),
    ("contacts/all", {"GET": "list_contacts"}),
    ("contacts/create", {"POST": "create_contact"}),
    ("contacts/{}", {"GET": "get_contact", "POST": "update_contact", "DELETE": "delete_contact"}),
    ("contacts/{}/addToGroup/{}", {"GET": "contact_add_to_group", "POST": "contact_add_to_group"}),
    (
        "contacts/{}/addFromGroup/{}",
        {"GET": "contact_remove_from_group", "POST": "contact_remove_from_group"},
    ),
    ("groups/all", {"GET": "list_groups"}),
    ("groups/create", {"POST": "create_group"}),
    ("groups/{}", {"GET": "get_group", "POST": "update_group", "DELETE": "delete_group"}),
    ("groups/{}/addContact/{}", {"GET": "group_add_contact", "POST": "group_add_contact"}),
    ("groups/{}/removeContact/{}", {"GET": "group_remove_contact", "POST": "group_remove_contact"}),
    ("messages/all", {"GET": "list_messages"}),
    ("messages/analyse/full", {"POST": "analyse_full"}),
    ("messages/analyse/message-credit-cost", {"POST": "analyse_credit_cost"}),
    ("messages/analyse/message-encoding", {"POST": "analyse_encoding"}),
    ("messages/analyse/message-length", {"POST": "analyse_length"}),
    ("messages/analyse/message-length-within-max-allowed", {"POST": "analyse_within_max"}),
    ("messages/analyse/number-of-messages", {"POST": "analyse_number_of_messages"}),
    ("messages/{}", {"GET": "get_message", "DELETE": "delete_message"}),
    ("messages/{}/markRead", {"POST": "mark_read", "PUT": "mark_read"}),
    ("messages/{}/markUnread", {"POST": "mark_unread", "PUT": "mark_unread"}),
    ("sms/send", {"GET": "send_example", "POST": "send"}),
    ("sms/send-bulk", {"GET": "send_bulk_example", "POST": "send_bulk"}),
    ("sms/send-url-parameters", {"GET": "send_url_parameters", "POST": "send_url_parameters"}),
    ("sms/send-url/{}", {"GET": "send_url_token", "POST": "send_url_token"}),
    ("templates/all", {"GET": "list_templates"}),
    ("templates/{}", {"GET": "get_template", "DELETE": "delete_template"}),
    ("voice/all", {"GET": "list_voice"}),
    ("voice/single-text", {"POST": "send_voice_text"}),
    ("voice/single-audio", {"POST": "send_voice_audio"}),
    ("voice/{}", {"GET": "get_voice", "DELETE": "delete_voice"}),
]

#: Operations that authenticate with a token in the path instead of the account credentials.
NO_AUTH_OPERATIONS = frozenset({"send_url_token"})
#: Operations that answer the message id as plain text unless JSON is asked for (never 406).
PLAIN_TEXT_OPERATIONS = frozenset({"send_url_parameters", "send_url_token"})
_BODY_HEADERS = frozenset({"content-type", "content-length"})

CONTROL_ROUTES: list[tuple[str, dict[str, str]]] = [
    ("state", {"GET": "c_state"}),
    ("config", {"GET": "c_config", "POST": "c_configure"}),
    ("inbound", {"POST": "c_inbound"}),
    ("balance", {"GET": "c_balance", "POST": "c_set_balance"}),
    ("templates", {"GET": "c_templates", "POST": "c_seed_template"}),
    ("clock", {"GET": "c_clock"}),
    ("clock/advance", {"POST": "c_advance"}),
    ("clock/freeze", {"POST": "c_freeze"}),
    ("clock/unfreeze", {"POST": "c_unfreeze"}),
    ("tick", {"POST": "c_tick"}),
    ("faults", {"GET": "c_faults", "POST": "c_inject_fault", "DELETE": "c_clear_faults"}),
    ("requests", {"GET": "c_requests", "DELETE": "c_clear_requests"}),
    ("messages", {"GET": "c_messages"}),
    ("webhooks", {"GET": "c_webhooks"}),
    ("webhooks/flush", {"POST": "c_flush_webhooks"}),
    ("groups/{}/members", {"GET": "c_group_members"}),
    ("counters", {"GET": "c_counters"}),
    ("reset", {"POST": "c_reset"}),
]


def _compile(routes: list[tuple[str, dict[str, str]]]) -> list[tuple[tuple[str, ...], dict[str, str]]]:
    return [(tuple(pattern.split("/")), methods) for pattern, methods in routes]


_REST = _compile(REST_ROUTES)
_CONTROL = _compile(CONTROL_ROUTES)


def match_route(
    routes: list[tuple[tuple[str, ...], dict[str, str]]], route: str
) -> tuple[dict[str, str], list[str]] | None:
    """The first route matching ``route`` (static segments win by coming first) and its arguments."""
    parts = route.split("/")
    for pattern, methods in routes:
        if len(pattern) != len(parts):
            continue
        args: list[str] = []
        for expected, actual in zip(pattern, parts, strict=True):
            if expected == "{}":
                if not actual:
                    break
                args.append(actual)
            elif expected != actual:
                break
        else:
            return methods, args
    return None


class HttpSurface:
    """Answers one request for a :class:`~django_zoomconnect.simulator.core.Simulator`."""

    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator
        self.state = simulator.state

    # -- entry

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> SimulatorResponse:
        if "?" in path and not query:
            path, _, query = path.partition("?")
        request = Request(method, path, query, headers, body)
        if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
            if not self.sim.control:
                return error_response(ApiError(404, "Not Found", developer_message=f"No resource at {path}"))
            request.route = path[len(CONTROL_PREFIX) :].strip("/")
            return self._control(request)
        return self._rest(request)

    def _rest(self, request: Request) -> SimulatorResponse:
        sim = self.sim
        lock = self.state.lock
        suffix = split_suffix(request.path.rstrip("/"))[1]
        request.negotiation = negotiate(suffix, request.headers.get("accept"), sim.default_format)
        with lock:
            rule = sim.faults.take(request.method, request.path)
            if rule is not None:
                sim.state.counters["faults." + rule.kind] += 1
                if rule.kind == "refuse":
                    return SimulatorResponse(503, [("Content-Length", "0")], b"", TransportFault("refuse"))
                if rule.kind in HTTP_FAULTS and not rule.after_processing:
                    response = self._render(request, self._fault_response(rule))
                    self._record(request, response, rule.kind)
                    return response
        if request.method in ("POST", "PUT") and request.body:
            # Parse outside the lock (most of a bulk request's cost); errors are answered when the
            # operation reads its body.
            with contextlib.suppress(ApiError):
                request.json()
        with lock:
            self.state.tick()
            response = self._dispatch(request)
            if rule is not None:
                if rule.kind in HTTP_FAULTS:
                    response = self._fault_response(rule)
                else:
                    seconds = rule.seconds or 0.0
                    kind: TransportKind = "delay" if rule.kind == "delay" else "drop"
                    response = SimulatorResponse(
                        response.status, response.headers, response.body, TransportFault(kind, seconds)
                    )
            response = self._render(request, response)
            self._record(request, response, rule.kind if rule is not None else None)
            return response

    def _record(self, request: Request, response: SimulatorResponse, fault: str | None) -> None:
        self.sim._record_request(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.recorded_query(),
                headers=request.recorded_headers(),
                body=request.body,
                at=self.sim.clock.now(),
                status=response.status,
                fault=fault,
            )
        )

    def _render(self, request: Request, response: SimulatorResponse) -> SimulatorResponse:
        """``response`` as XML when XML was negotiated and it holds JSON; else unchanged."""
        negotiation = request.negotiation
        if negotiation is None or negotiation.format != "xml" or response.header("Content-Type") != JSON_TYPE:
            return response
        root = ERROR_ROOT if response.status >= 400 else XML_ROOTS.get(request.operation or "", "response")
        body = to_xml(json.loads(response.body), root)
        headers = [(name, value) for name, value in response.headers if name.lower() not in _BODY_HEADERS]
        headers = [("Content-Type", XML_TYPE), ("Content-Length", str(len(body))), *headers]
        return SimulatorResponse(response.status, headers, body, response.fault)

    def _fault_response(self, rule: FaultRule) -> SimulatorResponse:
        if rule.kind == "429":
            retry_after = rule.retry_after if rule.retry_after is not None else 1
            return error_response(
                ApiError(429, "Too many requests", developer_message=f"Retry after {retry_after} seconds"),
                [("Retry-After", str(retry_after))],
            )
        if rule.kind == "503":
            return error_response(
                ApiError(
                    503, "Service unavailable", developer_message="The service is temporarily unavailable"
                )
            )
        return error_response(
            ApiError(500, "Internal error", code=1, developer_message="An internal error occurred")
        )

    def _dispatch(self, request: Request) -> SimulatorResponse:
        path = request.path
        if not path.startswith(REST_PREFIX):
            hint = f"No resource at {path}: the REST API lives under {REST_PREFIX}"
            return error_response(ApiError(404, "Not Found", developer_message=hint))
        route = split_suffix(path[len(REST_PREFIX) :].strip("/"))[0]
        request.route = route
        negotiation = request.negotiation or negotiate(None, None, self.sim.default_format)
        found = match_route(_REST, route)
        operation = None
        if found is not None:
            methods, args = found
            operation = methods.get(request.method)
        request.operation = operation
        if operation not in NO_AUTH_OPERATIONS:
            problem = self._authenticate(request)
            if problem is not None:
                return _unauthorized(problem)
        if found is None:
            return error_response(ApiError(404, "Not Found", developer_message=f"No operation at {path}"))
        if operation is None:
            allowed = ", ".join(sorted(methods))
            return error_response(
                ApiError(
                    405, "Method not allowed", developer_message=f"{request.method} is not allowed here"
                ),
                [("Allow", allowed)],
            )
        if negotiation.format is None and operation not in PLAIN_TEXT_OPERATIONS:
            accept = request.headers.get("accept") or "no Accept header"
            return error_response(
                ApiError(
                    406,
                    "Not Acceptable",
                    developer_message=f"Cannot answer {accept}: ask for application/json or "
                    "application/xml, or use a .json or .xml path",
                )
            )
        content_type = request.headers.get("content-type", "")
        if request.body and "xml" in content_type:
            return error_response(
                ApiError(415, "Unsupported media type", developer_message="Send JSON, not XML")
            )
        handler: Handler = getattr(self, "op_" + operation)
        try:
            return handler(request, *args)
        except ApiError as error:
            return error_response(error)

    def _authenticate(self, request: Request) -> str | None:
        """``None`` when any presented credentials (headers, Basic, query) are the account's."""
        headers = request.headers
        presented = False
        if "email" in headers or "token" in headers:
            presented = True
            if self._credentials_match(headers.get("email"), headers.get("token")):
                return None
        authorization = headers.get("authorization", "")
        if authorization[:6].lower() == "basic ":
            presented = True
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
            if self._credentials_match(user, password):
                return None
        if "token" in request.query_string or "email" in request.query_string:
            query = request.query()
            if "email" in query or "token" in query:
                presented = True
                if self._credentials_match(query.get("email"), query.get("token")):
                    return None
        if presented:
            return "The email address or API token is wrong"
        return "No credentials: send the email and token headers, HTTP Basic, or email and token parameters"

    def _credentials_match(self, email: str | None, token: str | None) -> bool:
        if not email or not token:
            return False
        email_ok = hmac.compare_digest(email.strip().lower().encode(), self.sim.email.lower().encode())
        token_ok = hmac.compare_digest(token.strip().encode(), self.sim.token.encode())
        return email_ok and token_ok

    # -- JSON shapes

    def when(self, value: datetime | None) -> int | str | None:
        if value is None:
            return None
        if self.sim.date_format == "iso":
            return value.astimezone(self.sim.tz).isoformat(timespec="milliseconds")
        return int(value.timestamp() * 1000)

    def message_json(self, m: Message) -> dict[str, Any]:
        return {
            "messageId": m.message_id,
            "messageType": m.message_type,
            "messageStatus": m.status,
            "fromNumber": m.from_number,
            "toNumber": m.to_number,
            "message": m.message,
            "campaign": m.campaign,
            "userDataField": m.data_field,
            "creditCost": m.credit_cost,
            "numberOfMessages": m.number_of_messages,
            "dateTimeScheduled": self.when(m.scheduled_at),
            "dateTimeSent": self.when(m.sent_at),
            "dateTimeReceived": self.when(m.received_at),
            "read": m.read,
            "deleted": m.deleted,
            "contact": {"contactId": m.contact_id, "links": []} if m.contact_id else None,
            "repliedToMessage": (
                {"messageId": m.replied_to_message_id, "links": []} if m.replied_to_message_id else None
            ),
            "links": [],
        }

    @staticmethod
    def contact_json(c: Contact) -> dict[str, Any]:
        return {
            "contactId": c.contact_id,
            "title": c.title,
            "firstName": c.first_name,
            "lastName": c.last_name,
            "contactNumber": c.contact_number,
            "links": [],
        }

    @staticmethod
    def group_json(g: Group) -> dict[str, Any]:
        return {"groupId": g.group_id, "name": g.name, "links": []}

    @staticmethod
    def template_json(t: Template) -> dict[str, Any]:
        return {"templateId": t.template_id, "name": t.name, "data": t.data, "links": []}

    def user_json(self, u: User) -> dict[str, Any]:
        if u.user_id == 1:
            u = self.state.main_user()
        return {
            "userId": u.user_id,
            "emailAddress": u.email_address,
            "firstName": u.first_name,
            "lastName": u.last_name,
            "contactNumber": u.contact_number,
            "company": u.company,
            "creditBalance": u.credit_balance,
            "password": None,
        }

    # -- success statuses

    def _created(self, payload: Any) -> SimulatorResponse:
        """A create's answer: 200 with the new resource (the provider's likely answer), or 201."""
        return json_response(201 if self.sim.success_statuses == "201/204" else 200, payload)

    def _deleted(self) -> SimulatorResponse:
        """A delete's answer: 200 with an empty body (the provider's likely answer), or 204."""
        return empty_response(204 if self.sim.success_statuses == "201/204" else 200)

    # -- account

    def op_get_balance(self, request: Request) -> SimulatorResponse:
        return json_response(200, {"creditBalance": self.state.balance, "links": []})

    def _user_by_email(self, email: str | None) -> User:
        if email:
            lowered = email.strip().lower()
            for user in self.state.users.values():
                if user.email_address.lower() == lowered:
                    return self.state.main_user() if user.user_id == 1 else user
        raise ApiError(404, "User not found", developer_message=f"No user in this team with email {email!r}")

    def op_get_statistics(self, request: Request) -> SimulatorResponse:
        query = request.query()
        start = _date_param(query, "from", "%d-%m-%Y", "dd-MM-yyyy")
        end = _date_param(query, "to", "%d-%m-%Y", "dd-MM-yyyy")
        campaign = query.get("campaign") or None
        separate = bool(_bool_param(query, "includeRefundedAndOptout"))
        by_credit = bool(_bool_param(query, "calculateCreditValue"))
        email = query.get("userEmailAddress") or None
        users = [self._user_by_email(email)] if email else [self.state.main_user(), *self._sub_users()]
        tz = self.sim.tz
        counted: list[Message] = []
        for m in self.state.message_order:
            if m.message_type != st.OUTBOUND or m.sent_at is None:
                continue
            day = m.sent_at.astimezone(tz).date()
            if (start is not None and day < start) or (end is not None and day > end):
                continue
            if campaign is not None and m.campaign != campaign:
                continue
            counted.append(m)

        def stats(messages: list[Message]) -> dict[str, float | None]:
            totals = dict.fromkeys(("total", "sent", "delivered", "failed", "refunded", "optout"), 0.0)
            for m in messages:
                value = m.credit_cost if by_credit else 1.0
                totals["total"] += value
                status = m.status
                if status == st.DELIVERED:
                    totals["delivered"] += value
                elif status == st.FAILED:
                    totals["failed"] += value
                elif status == st.FAILED_REFUNDED:
                    totals["refunded"] += value
                elif status == st.FAILED_OPTOUT:
                    totals["optout"] += value
                else:
                    totals["sent"] += value
            failed = (
                totals["failed"] if separate else totals["failed"] + totals["refunded"] + totals["optout"]
            )
            return {
                "total": totals["total"],
                "sent": totals["sent"],
                "delivered": totals["delivered"],
                "failed": failed,
                "failedRefunded": totals["refunded"] if separate else None,
                "failedOptout": totals["optout"] if separate else None,
            }

        user_entries = []
        grand: list[Message] = []
        for user in users:
            own = counted if user.user_id == 1 else []
            grand.extend(own)
            campaigns = sorted({m.campaign for m in own if m.campaign})
            user_entries.append(
                {
                    "user": self.user_json(user),
                    "total": stats(own),
                    "campaigns": [
                        {"campaign": name, "statistics": stats([m for m in own if m.campaign == name])}
                        for name in campaigns
                    ],
                }
            )
        zone_start = datetime(start.year, start.month, start.day, tzinfo=tz) if start is not None else None
        zone_end = (
            datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1, milliseconds=-1)
            if end is not None
            else None
        )
        return json_response(
            200,
            {
                "from": self.when(zone_start),
                "to": self.when(zone_end),
                "showingCreditValue": by_credit,
                "grandTotal": stats(grand),
                "users": user_entries,
            },
        )

    def _sub_users(self) -> list[User]:
        return [u for uid, u in sorted(self.state.users.items()) if uid != 1]

    def op_transfer(self, request: Request) -> SimulatorResponse:
        body = request.json_object()
        credits = body.get("numberOfCreditsToTransfer")
        if isinstance(credits, bool) or not isinstance(credits, int) or credits < 1:
            raise ApiError(
                400,
                "Invalid number of credits",
                developer_message="numberOfCreditsToTransfer must be a whole number, 1 or more",
            )
        source = self._user_by_email(_required_str(body, "transferFromEmailAddress"))
        target = self._user_by_email(_required_str(body, "transferToEmailAddress"))
        if source.user_id == target.user_id:
            raise ApiError(400, "Cannot transfer credits to the same user")
        available = self.state.balance if source.user_id == 1 else source.credit_balance
        if credits > available + 1e-9:
            raise ApiError(
                400,
                "Insufficient credits",
                developer_message=f"{source.email_address} has {available:g} credits",
            )
        self._add_credits(source, -credits)
        self._add_credits(target, credits)
        return json_response(200, self.user_json(target))

    def _add_credits(self, user: User, credits: float) -> None:
        if user.user_id == 1:
            self.state.balance += credits
        else:
            user.credit_balance += credits

    def op_search_users(self, request: Request) -> SimulatorResponse:
        email = request.query().get("searchEmail")
        if not email:
            raise ApiError(400, "searchEmail is required")
        try:
            found = [self._user_by_email(email)]
        except ApiError:
            found = []
        return json_response(200, {"webServiceUserList": [self.user_json(u) for u in found]})

    def op_create_user(self, request: Request) -> SimulatorResponse:
        body = request.json_object()
        fields = {
            name: _required_str(body, name)
            for name in ("firstName", "lastName", "emailAddress", "contactNumber", "password")
        }
        try:
            self._user_by_email(fields["emailAddress"])
        except ApiError:
            pass
        else:
            raise ApiError(
                400, "User already exists", developer_message=f"{fields['emailAddress']!r} is taken"
            )
        number = st.normalize_number(fields["contactNumber"])
        if number is None:
            raise invalid_number(fields["contactNumber"])
        user_id = max(self.state.users) + 1
        user = User(
            user_id=user_id,
            email_address=fields["emailAddress"].strip(),
            first_name=fields["firstName"],
            last_name=fields["lastName"],
            contact_number=number,
            company=_str_field(body, "company") or self.state.main_user().company,
            password=fields["password"],
        )
        self.state.users[user_id] = user
        return self._created(self.user_json(user))

    def _user(self, user_id: str) -> User:
        user = self.state.users.get(_path_int(user_id, "User"))
        if user is None:
            raise not_found("User", user_id)
        return user

    def op_get_user(self, request: Request, user_id: str) -> SimulatorResponse:
        return json_response(200, self.user_json(self._user(user_id)))

    def op_update_user(self, request: Request, user_id: str) -> SimulatorResponse:
        user = self._user(user_id)
        body = request.json_object()
        number = _str_field(body, "contactNumber")
        if number is not None:
            normalized = st.normalize_number(number)
            if normalized is None:
                raise invalid_number(number)
            user.contact_number = normalized
        for field_name, attribute in (
            ("firstName", "first_name"),
            ("lastName", "last_name"),
            ("password", "password"),
        ):
            value = _str_field(body, field_name)
            if value is not None:
                setattr(user, attribute, value)
        return json_response(200, self.user_json(user))

    # -- contacts

    def _contact(self, contact_id: str) -> Contact:
        contact = self.state.contacts.get(contact_id)
        if contact is None:
            raise not_found("Contact", contact_id)
        return contact

    def _group(self, group_id: str) -> Group:
        group = self.state.groups.get(group_id)
        if group is None:
            raise not_found("Group", group_id)
        return group

    def op_list_contacts(self, request: Request) -> SimulatorResponse:
        contacts = [self.contact_json(c) for c in self.state.contacts.values()]
        return json_response(200, {"webServiceContacts": contacts, "links": []})

    def op_create_contact(self, request: Request) -> SimulatorResponse:
        body = request.json_object()
        raw_number = body.get("contactNumber")
        number = st.normalize_number(raw_number)
        if number is None:
            raise invalid_number(raw_number)
        contact = Contact(
            contact_id=self.state.new_id(),
            contact_number=number,
            title=_str_field(body, "title"),
            first_name=_str_field(body, "firstName"),
            last_name=_str_field(body, "lastName"),
        )
        self.state.contacts[contact.contact_id] = contact
        self.state.index_contact(contact)
        return self._created(self.contact_json(contact))

    def op_get_contact(self, request: Request, contact_id: str) -> SimulatorResponse:
        return json_response(200, self.contact_json(self._contact(contact_id)))

    def op_update_contact(self, request: Request, contact_id: str) -> SimulatorResponse:
        contact = self._contact(contact_id)
        body = request.json_object()
        if body.get("contactNumber") is not None:
            number = st.normalize_number(body["contactNumber"])
            if number is None:
                raise invalid_number(body["contactNumber"])
            old = contact.contact_number
            contact.contact_number = number
            self.state.index_contact(contact, old)
        for field_name, attribute in (
            ("title", "title"),
            ("firstName", "first_name"),
            ("lastName", "last_name"),
        ):
            if field_name in body:
                setattr(contact, attribute, _str_field(body, field_name))
        return json_response(200, self.contact_json(contact))

    def op_delete_contact(self, request: Request, contact_id: str) -> SimulatorResponse:
        self.state.delete_contact(contact_id)
        return self._deleted()

    def op_contact_add_to_group(self, request: Request, contact_id: str, group_id: str) -> SimulatorResponse:
        contact = self._contact(contact_id)
        self._group(group_id).members.add(contact.contact_id)
        return empty_response(200)

    def op_contact_remove_from_group(
        self, request: Request, contact_id: str, group_id: str
    ) -> SimulatorResponse:
        # "addFromGroup" is the provider's path; it removes the contact from the group.
        contact = self._contact(contact_id)
        self._group(group_id).members.discard(contact.contact_id)
        return empty_response(200)

    def op_group_add_contact(self, request: Request, group_id: str, contact_id: str) -> SimulatorResponse:
        return self.op_contact_add_to_group(request, contact_id, group_id)

    def op_group_remove_contact(self, request: Request, group_id: str, contact_id: str) -> SimulatorResponse:
        return self.op_contact_remove_from_group(request, contact_id, group_id)

    # -- groups

    def op_list_groups(self, request: Request) -> SimulatorResponse:
        groups = [self.group_json(g) for g in self.state.groups.values()]
        return json_response(200, {"webServiceGroups": groups, "links": []})

    def op_create_group(self, request: Request) -> SimulatorResponse:
        name = _str_field(request.json_object(), "name")
        if name is None or not name.strip():
            raise ApiError(400, "Group name cannot be empty")
        group = Group(group_id=self.state.new_id(), name=name)
        self.state.groups[group.group_id] = group
        return self._created(self.group_json(group))

    def op_get_group(self, request: Request, group_id: str) -> SimulatorResponse:
        return json_response(200, self.group_json(self._group(group_id)))

    def op_update_group(self, request: Request, group_id: str) -> SimulatorResponse:
        group = self._group(group_id)
        name = _str_field(request.json_object(), "name")
        if name is not None:
            if not name.strip():
                raise ApiError(400, "Group name cannot be empty")
            group.name = name
        return json_response(200, self.group_json(group))

    def op_delete_group(self, request: Request, group_id: str) -> SimulatorResponse:
        self._group(group_id)
        del self.state.groups[group_id]
        return self._deleted()

    # -- templates

    def _template(self, template_id: str) -> Template:
        template = self.state.templates.get(_path_int(template_id, "Template"))
        if template is None:
            raise not_found("Template", template_id)
        return template

    def op_list_templates(self, request: Request) -> SimulatorResponse:
        templates = [self.template_json(t) for _, t in sorted(self.state.templates.items())]
        return json_response(200, {"webServiceTemplates": templates, "links": []})

    def op_get_template(self, request: Request, template_id: str) -> SimulatorResponse:
        return json_response(200, self.template_json(self._template(template_id)))

    def op_delete_template(self, request: Request, template_id: str) -> SimulatorResponse:
        template = self._template(template_id)
        del self.state.templates[template.template_id]
        return self._deleted()

    # -- messages

    def _message(self, message_id: str) -> Message:
        return self.state.get_message(message_id)

    def op_get_message(self, request: Request, message_id: str) -> SimulatorResponse:
        return json_response(200, self.message_json(self._message(message_id)))

    def op_delete_message(self, request: Request, message_id: str) -> SimulatorResponse:
        self._message(message_id).deleted = True
        return self._deleted()

    def op_mark_read(self, request: Request, message_id: str) -> SimulatorResponse:
        message = self._message(message_id)
        message.read = True
        return json_response(200, self.message_json(message))

    def op_mark_unread(self, request: Request, message_id: str) -> SimulatorResponse:
        message = self._message(message_id)
        message.read = False
        return json_response(200, self.message_json(message))

    def op_list_messages(self, request: Request) -> SimulatorResponse:
        query = request.query()
        page = _int_param(query, "page", 1)
        page_size = _int_param(query, "pageSize", 100)
        found = self.filter_messages(query)
        total = len(found)
        start = (page - 1) * page_size
        items = found[start : start + page_size]
        return json_response(
            200,
            {
                "elements": len(items),
                "page": page,
                "pageSize": page_size,
                "totalElements": total,
                "totalPages": math.ceil(total / page_size),
                "webServiceMessages": [self.message_json(m) for m in items],
                "links": [],
            },
        )

    def filter_messages(self, query: Mapping[str, str]) -> list[Message]:
        """``messages/all`` filtering, oldest first; every filter given must match."""
        kind = (query.get("type") or "").upper() or None
        if kind is not None and kind not in (st.INBOUND, st.OUTBOUND):
            raise ApiError(
                400, "Invalid type", developer_message=f"type must be INBOUND or OUTBOUND, not {kind!r}"
            )
        status = (query.get("status") or "").upper() or None
        if status is not None and status not in st.STATUSES:
            raise ApiError(400, "Invalid status", developer_message=f"{status!r} is not a message status")
        ranges = []
        for low, high, attribute in (
            ("fromDateTimeSent", "toDateTimeSent", "sent_at"),
            ("fromDateTimeReceived", "toDateTimeReceived", "received_at"),
        ):
            first = _date_param(query, low, "%Y%m%d", "yyyyMMdd")
            last = _date_param(query, high, "%Y%m%d", "yyyyMMdd")
            if first is not None or last is not None:
                ranges.append((attribute, first, last))
        from_number = query.get("fromNumber") or None
        if from_number is not None:
            from_number = st.normalize_number(from_number) or from_number
        to_number = query.get("toNumber") or None
        if to_number is not None:
            to_number = st.normalize_number(to_number) or to_number
        text = (query.get("message") or "").lower() or None
        campaign = query.get("campaign") or None
        data_field = query.get("dataField") or None
        deleted = _bool_param(query, "deleted")
        read = _bool_param(query, "read")
        replies_to = query.get("repliesToMessageId") or None
        tz = self.sim.tz

        candidates: Iterable[Message]
        if data_field is not None:
            candidates = self.state.by_data_field.get(data_field, [])
        else:
            candidates = self.state.message_order
        found = []
        for m in candidates:
            if kind is not None and m.message_type != kind:
                continue
            if status is not None and m.status != status:
                continue
            if campaign is not None and m.campaign != campaign:
                continue
            if from_number is not None and m.from_number != from_number:
                continue
            if to_number is not None and m.to_number != to_number:
                continue
            if deleted is not None and m.deleted != deleted:
                continue
            if read is not None and (m.message_type != st.INBOUND or m.read != read):
                continue
            if replies_to is not None and (
                m.message_type != st.INBOUND or m.replied_to_message_id != replies_to
            ):
                continue
            if text is not None and text not in m.message.lower():
                continue
            if ranges and not _in_ranges(m, ranges, tz):
                continue
            found.append(m)
        return found

    # -- analysis

    def _analysed_text(self, request: Request, *, check_number: bool) -> tuple[str, SegmentInfo]:
        body = request.json_object()
        text = body.get("message")
        text = "" if text is None else str(text)
        number = body.get("recipientNumber")
        if check_number and number not in (None, "") and st.normalize_number(number) is None:
            raise invalid_number(number)
        return text, st.analyse_text(text)

    def op_analyse_full(self, request: Request) -> SimulatorResponse:
        text, info = self._analysed_text(request, check_number=True)
        return json_response(
            200,
            {
                "messageLength": info.length,
                "numberOfMessages": info.parts,
                "messageEncoding": info.encoding,
                "messageCreditCost": info.parts * self.state.credits_per_part,
                "messageLengthWithinMaximumAllowed": info.parts <= st.MAX_PARTS,
                "characterAnalysis": [[char, _units(char, info.encoding)] for char in text],
            },
        )

    def op_analyse_credit_cost(self, request: Request) -> SimulatorResponse:
        _, info = self._analysed_text(request, check_number=True)
        return json_response(200, float(info.parts * self.state.credits_per_part))

    def op_analyse_encoding(self, request: Request) -> SimulatorResponse:
        return json_response(200, self._analysed_text(request, check_number=False)[1].encoding)

    def op_analyse_length(self, request: Request) -> SimulatorResponse:
        return json_response(200, self._analysed_text(request, check_number=False)[1].length)

    def op_analyse_within_max(self, request: Request) -> SimulatorResponse:
        return json_response(200, self._analysed_text(request, check_number=False)[1].parts <= st.MAX_PARTS)

    def op_analyse_number_of_messages(self, request: Request) -> SimulatorResponse:
        return json_response(200, self._analysed_text(request, check_number=False)[1].parts)

    # -- sending

    def _send_one(self, fields: Mapping[str, Any]) -> Message:
        return self.state.send(
            fields.get("recipientNumber"),
            fields.get("message"),
            date_to_send=st.parse_date_to_send(fields.get("dateToSend"), self.sim.tz),
            campaign=fields.get("campaign"),
            data_field=fields.get("dataField"),
        )

    def op_send(self, request: Request) -> SimulatorResponse:
        message = self._send_one(request.json_object())
        return json_response(200, {"messageId": message.message_id, "error": None})

    def op_send_example(self, request: Request) -> SimulatorResponse:
        return json_response(200, _EXAMPLE_REQUEST)

    def op_send_bulk_example(self, request: Request) -> SimulatorResponse:
        return json_response(
            200,
            {
                "sendSmsRequests": [
                    _EXAMPLE_REQUEST,
                    {**_EXAMPLE_REQUEST, "recipientNumber": "+27821234568"},
                ],
                "defaultDateToSend": None,
                "messagesPerMinute": None,
            },
        )

    def op_send_bulk(self, request: Request) -> SimulatorResponse:
        body = request.json_object()
        items = body.get("sendSmsRequests") or []
        if not isinstance(items, list):
            raise ApiError(400, "Malformed request", developer_message="sendSmsRequests must be a list")
        tz = self.sim.tz
        default_date = st.parse_date_to_send(body.get("defaultDateToSend"), tz)
        per_minute = body.get("messagesPerMinute")
        # Absent, null or 0 means "no pacing" (0 is what clients send by default).
        if per_minute is not None and (
            isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 0
        ):
            raise ApiError(
                400,
                "Invalid messagesPerMinute",
                developer_message="messagesPerMinute must be a whole number: 0 (no pacing) or more",
            )
        send = self.state.send
        now = self.sim.clock.now()
        responses: list[dict[str, str | None]] = []
        append = responses.append
        accepted = 0
        for item in items:
            if not isinstance(item, dict):
                append({"messageId": None, "error": "Malformed request"})
                continue
            try:
                when = item.get("dateToSend")
                message = send(
                    item.get("recipientNumber"),
                    item.get("message"),
                    date_to_send=st.parse_date_to_send(when, tz) if when else default_date,
                    campaign=item.get("campaign"),
                    data_field=item.get("dataField"),
                    release_delay=(accepted // per_minute) * 60.0 if per_minute else 0.0,
                    now=now,
                )
            except ApiError as error:
                append({"messageId": None, "error": error.message})
                continue
            accepted += 1
            append({"messageId": message.message_id, "error": None})
        return json_response(200, {"sendSmsResponses": responses})

    def _url_parameters(self, request: Request) -> dict[str, str]:
        fields = {**request.form(), **request.query()}
        fields.pop("email", None)
        fields.pop("token", None)
        return fields

    @staticmethod
    def _message_id_answer(request: Request, message_id: str) -> SimulatorResponse:
        """The message id as a JSON string when JSON was asked for, else as plain text."""
        negotiation = request.negotiation
        if negotiation is not None and negotiation.explicit and negotiation.format == "json":
            return json_response(200, message_id)
        return text_response(200, message_id)

    def op_send_url_parameters(self, request: Request) -> SimulatorResponse:
        return self._message_id_answer(request, self._send_one(self._url_parameters(request)).message_id)

    def op_send_url_token(self, request: Request, token: str) -> SimulatorResponse:
        expected = self.sim.url_sending_token
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return _unauthorized("The URL sending token is wrong")
        return self._message_id_answer(request, self._send_one(self._url_parameters(request)).message_id)

    # -- voice (the provider's beta)

    def voice_json(self, v: VoiceMessage) -> dict[str, Any]:
        return {
            "voiceMessageId": v.voice_message_id,
            "toNumber": v.to_number,
            "message": v.message,
            "language": v.language,
            "campaign": v.campaign,
            "userDataField": v.data_field,
            "audioFileUrl": v.audio_file_url,
            "messageStatus": v.status,
            "dateTimeSent": self.when(v.sent_at),
            "deleted": v.deleted,
            "links": [],
        }

    def op_send_voice_text(self, request: Request) -> SimulatorResponse:
        body = request.json_object()
        voice = self.state.send_voice(
            body.get("recipientNumber"),
            message=_str_field(body, "message"),
            language=_str_field(body, "language"),
            campaign=body.get("campaign"),
            data_field=body.get("dataField"),
        )
        return json_response(200, {"voiceMessageId": voice.voice_message_id, "error": None})

    def op_send_voice_audio(self, request: Request) -> SimulatorResponse:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data") or b'name="file"' not in request.body:
            raise ApiError(
                400,
                "An audio file is required",
                developer_message="POST multipart/form-data with a 'file' part",
            )
        query = request.query()
        voice = self.state.send_voice(
            query.get("recipientNumber"),
            campaign=query.get("campaign"),
            data_field=query.get("dataField"),
            audio=True,
        )
        return json_response(200, {"voiceMessageId": voice.voice_message_id, "error": None})

    def _voice(self, voice_id: str) -> VoiceMessage:
        voice = self.state.voice.get(voice_id)
        if voice is None:
            raise not_found("Voice message", voice_id)
        return voice

    def op_get_voice(self, request: Request, voice_id: str) -> SimulatorResponse:
        return json_response(200, self.voice_json(self._voice(voice_id)))

    def op_delete_voice(self, request: Request, voice_id: str) -> SimulatorResponse:
        self._voice(voice_id).deleted = True
        return self._deleted()

    def op_list_voice(self, request: Request) -> SimulatorResponse:
        query = request.query()
        page = _int_param(query, "page", 1)
        page_size = _int_param(query, "pageSize", 100)
        status = (query.get("status") or "").upper() or None
        if status is not None and status not in st.STATUSES:
            raise ApiError(400, "Invalid status", developer_message=f"{status!r} is not a message status")
        first = _date_param(query, "fromDateTimeSent", "%Y%m%d", "yyyyMMdd")
        last = _date_param(query, "toDateTimeSent", "%Y%m%d", "yyyyMMdd")
        to_number = query.get("toNumber") or None
        if to_number is not None:
            to_number = st.normalize_number(to_number) or to_number
        text = (query.get("message") or "").lower() or None
        campaign = query.get("campaign") or None
        data_field = query.get("dataField") or None
        deleted = _bool_param(query, "deleted")
        tz = self.sim.tz
        found = []
        for v in self.state.voice_order:
            if status is not None and v.status != status:
                continue
            if to_number is not None and v.to_number != to_number:
                continue
            if text is not None and text not in (v.message or "").lower():
                continue
            if campaign is not None and v.campaign != campaign:
                continue
            if data_field is not None and v.data_field != data_field:
                continue
            if deleted is not None and v.deleted != deleted:
                continue
            if first is not None or last is not None:
                if v.sent_at is None:
                    continue
                day = v.sent_at.astimezone(tz).date()
                if (first is not None and day < first) or (last is not None and day > last):
                    continue
            found.append(v)
        start = (page - 1) * page_size
        items = found[start : start + page_size]
        return json_response(
            200,
            {
                "elements": len(items),
                "page": page,
                "pageSize": page_size,
                "totalElements": len(found),
                "totalPages": math.ceil(len(found) / page_size),
                "messages": [self.voice_json(v) for v in items],
                "links": [],
            },
        )

    # -- the control API

    def _control(self, request: Request) -> SimulatorResponse:
        found = match_route(_CONTROL, request.route)
        if found is None:
            return error_response(
                ApiError(404, "Not Found", developer_message=f"No control operation at {request.path}")
            )
        methods, args = found
        operation = methods.get(request.method)
        if operation is None:
            return error_response(
                ApiError(
                    405, "Method not allowed", developer_message=f"{request.method} is not allowed here"
                ),
                [("Allow", ", ".join(sorted(methods)))],
            )
        handler: Handler = getattr(ControlApi(self.sim), operation)
        try:
            return handler(request, *args)
        except ApiError as error:
            return error_response(error)
        except (ValueError, TypeError, KeyError) as error:
            return error_response(ApiError(400, "Bad control request", developer_message=str(error)))


def _units(char: str, encoding: str) -> int:
    if encoding == "GSM7":
        return st.analyse_text(char).length
    return len(char.encode("utf-16-le", "surrogatepass")) // 2


def _in_ranges(m: Message, ranges: list[tuple[str, date | None, date | None]], tz: Any) -> bool:
    for attribute, first, last in ranges:
        value: datetime | None = getattr(m, attribute)
        if value is None:
            return False
        day = value.astimezone(tz).date()
        if (first is not None and day < first) or (last is not None and day > last):
            return False
    return True


_EXAMPLE_REQUEST: dict[str, Any] = {
    "recipientNumber": "+27821234567",
    "message": "Hello from Zoom Connect",
    "dateToSend": None,
    "campaign": "example",
    "dataField": "reference-1",
}


# --- the control API -----------------------------------------------------------------------------


def _number(body: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return float(value)


class ControlApi:
    """``/_simulator/…``: the Python control methods over HTTP, JSON in and out, no auth."""

    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator

    def _ok(self, payload: Any = None, status: int = 200) -> SimulatorResponse:
        return json_response(status, {"ok": True} if payload is None else payload)

    def c_state(self, request: Request) -> SimulatorResponse:
        return self._ok(self.sim.describe())

    def c_config(self, request: Request) -> SimulatorResponse:
        return self._ok(self.sim.config())

    def c_configure(self, request: Request) -> SimulatorResponse:
        body = request.json_object()
        options = {CONFIG_FIELDS[key]: value for key, value in body.items() if key in CONFIG_FIELDS}
        unknown = sorted(set(body) - set(CONFIG_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown config fields: {', '.join(unknown)}; known: {', '.join(CONFIG_FIELDS)}"
            )
        self.sim.configure(**options)
        return self._ok(self.sim.config())

    def c_inbound(self, request: Request) -> SimulatorResponse:
        body = request.json_object()
        message_id = self.sim.simulate_inbound(
            _required_str(body, "from"),
            _required_str(body, "message"),
            to_number=_str_field(body, "to"),
            reply_to_message_id=_str_field(body, "replyToMessageId"),
            link=bool(body.get("link", True)),
        )
        return self._ok({"messageId": message_id}, 201)

    def c_balance(self, request: Request) -> SimulatorResponse:
        return self._ok({"creditBalance": self.sim.state.balance})

    def c_set_balance(self, request: Request) -> SimulatorResponse:
        self.sim.set_balance(_number(request.json_object(), "credits"))
        return self.c_balance(request)

    def c_templates(self, request: Request) -> SimulatorResponse:
        with self.sim.lock:
            templates = [HttpSurface.template_json(t) for _, t in sorted(self.sim.state.templates.items())]
        return self._ok({"webServiceTemplates": templates})

    def c_seed_template(self, request: Request) -> SimulatorResponse:
        body = request.json_object()
        template_id = body.get("templateId")
        if template_id is not None and (isinstance(template_id, bool) or not isinstance(template_id, int)):
            raise ValueError(f"templateId must be an integer, not {template_id!r}")
        new_id = self.sim.seed_template(_required_str(body, "name"), _required_str(body, "data"), template_id)
        return self._ok({"templateId": new_id}, 201)

    def c_clock(self, request: Request) -> SimulatorResponse:
        clock = self.sim.clock
        return self._ok({"now": clock.now().isoformat(), "frozen": clock.frozen})

    def c_advance(self, request: Request) -> SimulatorResponse:
        self.sim.advance(_number(request.json_object(), "seconds"))
        return self.c_clock(request)

    def c_freeze(self, request: Request) -> SimulatorResponse:
        at = _str_field(request.json_object(), "at")
        self.sim.clock.freeze(datetime.fromisoformat(at) if at else None)
        return self.c_clock(request)

    def c_unfreeze(self, request: Request) -> SimulatorResponse:
        self.sim.clock.unfreeze()
        return self.c_clock(request)

    def c_tick(self, request: Request) -> SimulatorResponse:
        self.sim.tick()
        return self.c_clock(request)

    def c_faults(self, request: Request) -> SimulatorResponse:
        with self.sim.lock:
            return self._ok({"faults": [rule.as_dict() for rule in self.sim.faults.rules]})

    def c_inject_fault(self, request: Request) -> SimulatorResponse:
        body = request.json_object()
        if "seed" in body:
            self.sim.seed_faults(int(body["seed"]))
        if "kind" in body:
            count = body.get("count", 1)
            rate = body.get("rate")
            retry_after = body.get("retryAfter")
            seconds = body.get("seconds")
            self.sim.inject_fault(
                str(body["kind"]),
                count=count,
                method=_str_field(body, "method"),
                path=_str_field(body, "path"),
                rate=None if rate is None else _number(body, "rate"),
                retry_after=None if retry_after is None else int(_number(body, "retryAfter")),
                seconds=None if seconds is None else _number(body, "seconds"),
                after_processing=bool(body.get("afterProcessing", False)),
            )
        return self.c_faults(request)

    def c_clear_faults(self, request: Request) -> SimulatorResponse:
        self.sim.clear_faults()
        return self.c_faults(request)

    def c_requests(self, request: Request) -> SimulatorResponse:
        query = request.query()
        recorded = self.sim.requests
        path = query.get("path")
        if path:
            recorded = [r for r in recorded if path in r.path]
        limit = _int_param(query, "limit", len(recorded) or 1)
        return self._ok({"requests": [r.as_dict() for r in recorded[-limit:]]})

    def c_clear_requests(self, request: Request) -> SimulatorResponse:
        self.sim.clear_requests()
        return self._ok()

    def c_messages(self, request: Request) -> SimulatorResponse:
        surface = HttpSurface(self.sim)
        with self.sim.lock:
            self.sim.tick()
            found = surface.filter_messages(request.query())
            return self._ok({"messages": [surface.message_json(m) for m in found]})

    def c_webhooks(self, request: Request) -> SimulatorResponse:
        attempts = self.sim.webhook_attempts
        with self.sim.lock:
            pending = len(self.sim.webhooks.pending)
        return self._ok({"attempts": [a.as_dict() for a in attempts], "pending": pending})

    def c_flush_webhooks(self, request: Request) -> SimulatorResponse:
        return self._ok({"attempts": self.sim.flush_webhooks()})

    def c_group_members(self, request: Request, group_id: str) -> SimulatorResponse:
        return self._ok({"contactIds": sorted(self.sim.state.group_members(group_id))})

    def c_counters(self, request: Request) -> SimulatorResponse:
        return self._ok(dict(self.sim.counters()))

    def c_reset(self, request: Request) -> SimulatorResponse:
        self.sim.reset()
        return self._ok()
