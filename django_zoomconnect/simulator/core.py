"""The :class:`Simulator` facade: one object that the server, the adapter and tests all drive.

Everything a transport needs is :meth:`Simulator.handle`; everything a test needs (time,
balance, inbound messages, faults, webhooks, what was received) is a method here, mirrored over
HTTP under ``/_simulator/``.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .clock import Clock
from .config import CONFIG_FIELDS, DATE_FORMATS, SUCCESS_STATUSES, DateFormat, SuccessStatuses, check_choice
from .control import ControlApi
from .faults import FaultInjector, TransportFault
from .formats import DEFAULT_FORMATS, DefaultFormat
from .http import RecordedRequest, SimulatorResponse
from .records import Message
from .state import AccountState
from .surface import HttpSurface
from .webhooks import (
    NONCE_DATE_DIGITS,
    PARAMS_IN,
    SIGNINGS,
    NonceDateDigits,
    WebhookAttempt,
    WebhookConfig,
    WebhookPoster,
    WebhookSender,
)

__all__ = ["Clock", "RecordedRequest", "Simulator", "SimulatorResponse", "TransportFault"]

#: The account the simulator answers for unless told otherwise: well-known, not secret.
DEFAULT_EMAIL = "simulator@example.com"
DEFAULT_TOKEN = "simulator-token"  # noqa: S105 (a published test credential)
DEFAULT_SECRET = "simulator-secret"  # noqa: S105 (a published test credential)

#: At most this many requests are kept in :attr:`Simulator.requests` (the oldest are dropped).
MAX_RECORDED_REQUESTS = 10_000

StartResponse = Callable[..., Any]
logger = logging.getLogger("django_zoomconnect.simulator")


class Simulator:
    """A fake Zoom Connect account that answers the REST API like the provider would.

    Thread-safe: one lock guards the account, the records and the webhook queue. Time comes from
    ``clock``; transitions due by then are applied on every request, :meth:`tick` and
    :meth:`advance`; webhooks go out on :meth:`flush_webhooks` or from the background thread.
    """

    def __init__(
        self,
        *,
        email: str = DEFAULT_EMAIL,
        token: str = DEFAULT_TOKEN,
        secret: str | None = DEFAULT_SECRET,
        reply_url: str | None = None,
        delivery_report_url: str | None = None,
        timezone: str = "Africa/Johannesburg",
        balance: float = 1000.0,
        clock: Clock | None = None,
        send_delay: float = 1.0,
        delivery_delay: float = 2.0,
        reply_delay: float = 1.0,
        webhook_signing: Literal["raw", "form"] = "raw",
        webhook_params_in: Literal["body", "query", "both"] = "body",
        webhook_poster: WebhookPoster | None = None,
        date_format: DateFormat = "epoch",
        seed_templates: bool = True,
        control: bool = True,
        webhook_max_attempts: int = 5,
        webhook_backoff: float = 1.0,
        fault_seed: int = 0,
        url_sending_token: str | None = None,
        default_format: DefaultFormat = "xml",
        success_statuses: SuccessStatuses = "200",
        nonce_date_digits: NonceDateDigits = "mixed",
    ) -> None:
        if not email or not token:
            raise ValueError("the simulator needs an email and a token")
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{timezone!r} is not a known IANA time zone") from None
        check_choice("date_format", date_format, DATE_FORMATS)
        check_choice("default_format", default_format, DEFAULT_FORMATS)
        check_choice("success_statuses", success_statuses, SUCCESS_STATUSES)
        for name, value in (("send_delay", send_delay), ("delivery_delay", delivery_delay)):
            if value < 0:
                raise ValueError(f"{name} must be zero or more seconds")
        if reply_delay < 0 or balance < 0:
            raise ValueError("reply_delay and balance must be zero or more")
        self.email = email
        self.token = token
        #: The token of ``sms/send-url/{token}`` (the provider's "URL sending token").
        self.url_sending_token = url_sending_token or token
        self.clock = clock if clock is not None else Clock()
        self.control = control
        self.date_format: DateFormat = date_format
        #: The format of an answer to a request naming none: ``"xml"`` (the provider's),
        #: ``"json"``, or ``"406"`` (refused).
        self.default_format: DefaultFormat = default_format
        self.success_statuses: SuccessStatuses = success_statuses
        self.state = AccountState(
            email=email,
            clock=self.clock,
            timezone=self.tz,
            balance=balance,
            send_delay=send_delay,
            delivery_delay=delivery_delay,
            reply_delay=reply_delay,
            seed_templates=seed_templates,
            notify=self._notify,
        )
        self.lock = self.state.lock
        self.webhooks = WebhookSender(
            lock=self.lock,
            clock=self.clock,
            timezone=self.tz,
            config=WebhookConfig(
                reply_url=reply_url,
                delivery_report_url=delivery_report_url,
                secret=secret,
                signing=webhook_signing,
                params_in=webhook_params_in,
                max_attempts=webhook_max_attempts,
                backoff=webhook_backoff,
                nonce_date_digits=nonce_date_digits,
            ),
            poster=webhook_poster,
        )
        self.faults = FaultInjector(fault_seed)
        self._requests: list[RecordedRequest] = []
        self._http = HttpSurface(self)
        self._background: threading.Thread | None = None
        self._stop = threading.Event()

    def __repr__(self) -> str:
        return f"<Simulator {self.email} balance={self.state.balance:g} messages={len(self.state.messages)}>"

    # -- transports

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> SimulatorResponse:
        """Answer one request. ``path`` starts with ``/app/api/rest/v1/`` (REST) or ``/_simulator/``
        (control); ``query`` is the raw query string; ``headers`` any mapping (names compared
        case-insensitively)."""
        return self._http.handle(method, path, query, headers, body)

    def wsgi_app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """A WSGI application around :meth:`handle`.

        WSGI cannot refuse or drop a connection: there, ``refuse`` and ``drop`` answer 502 with
        an ``X-Simulator-Fault`` header, and ``delay`` is ignored. Use the real server or the
        adapter for transport faults.
        """
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        stream = environ.get("wsgi.input") or io.BytesIO()
        body = stream.read(length) if length > 0 else b""
        path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        response = self.handle(
            str(environ.get("REQUEST_METHOD", "GET")),
            path or "/",
            str(environ.get("QUERY_STRING", "")),
            headers,
            body,
        )
        status, response_headers, payload = response.status, list(response.headers), response.body
        if response.fault is not None and response.fault.kind in ("refuse", "drop"):
            status, payload = 502, b""
            response_headers = [("Content-Length", "0"), ("X-Simulator-Fault", response.fault.kind)]
        start_response(f"{status} {HTTPStatus(status).phrase}", response_headers)
        return [payload]

    # -- records

    def _record_request(self, recorded: RecordedRequest) -> None:
        with self.lock:
            self.state.counters["requests"] += 1
            self._requests.append(recorded)
            if len(self._requests) > MAX_RECORDED_REQUESTS:
                del self._requests[: len(self._requests) - MAX_RECORDED_REQUESTS]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every REST request received, oldest first (a copy; refused connections are absent)."""
        with self.lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self.lock:
            self._requests.clear()

    @property
    def messages(self) -> list[Message]:
        """Every message accepted or received, oldest first, as of the clock's now."""
        with self.lock:
            self.state.tick()
            return list(self.state.message_order)

    def message(self, message_id: str) -> Message:
        """One message by id (``KeyError`` when unknown), as of the clock's now."""
        with self.lock:
            self.state.tick()
            return self.state.messages[message_id]

    @property
    def webhook_attempts(self) -> list[WebhookAttempt]:
        """Every webhook attempt made, oldest first (a copy)."""
        with self.lock:
            return list(self.webhooks.attempts)

    def counters(self) -> Mapping[str, int]:
        """Counts for tests: ``sends.accepted``, ``sends.refused``, ``dataField:<value>`` (accepted
        sends carrying it), ``status.<FINAL>``, ``inbound``, ``faults.<kind>``, ``webhooks.*``."""
        with self.lock:
            counts = dict(self.state.counters)
            attempts = self.webhooks.attempts
            counts["webhooks.attempts"] = len(attempts)
            counts["webhooks.delivered"] = sum(1 for a in attempts if a.ok)
            counts["webhooks.failed"] = len(attempts) - counts["webhooks.delivered"]
            counts["webhooks.pending"] = len(self.webhooks.pending)
            counts["webhooks.skipped"] = self.webhooks.skipped
            return counts

    # -- control

    def simulate_inbound(
        self,
        from_number: str,
        message: str,
        *,
        to_number: str | None = None,
        reply_to_message_id: str | None = None,
        link: bool = True,
    ) -> str:
        """An SMS arrives from ``from_number``; its id. It answers ``reply_to_message_id``, or
        (with ``link``) the latest message sent to that number; the reply webhook is queued."""
        with self.lock:
            self.state.tick()
            return self.state.receive(
                from_number, message, to_number=to_number, reply_to_message_id=reply_to_message_id, link=link
            ).message_id

    def set_balance(self, credits: float) -> None:
        self.state.set_balance(credits)

    @property
    def balance(self) -> float:
        return self.state.balance

    def seed_template(self, name: str, data: str, template_id: int | None = None) -> int:
        """Add a template (the API cannot create them); its id. An existing id is replaced."""
        return self.state.seed_template(name, data, template_id)

    def advance(self, seconds: float) -> None:
        """Move the clock forward and apply every transition that became due."""
        self.clock.advance(seconds)
        self.tick()

    def tick(self) -> None:
        """Apply every transition due at the clock's now (queues the webhooks they cause)."""
        self.state.tick()

    def inject_fault(
        self,
        kind: str,
        *,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
        rate: float | None = None,
        retry_after: int | None = None,
        seconds: float | None = None,
        after_processing: bool = False,
    ) -> None:
        """Arm a fault for the next ``count`` REST requests matching ``method`` and ``path`` (a
        substring of the request path, e.g. ``"sms/send-bulk"``), or for each with probability
        ``rate``. Kinds: ``500``, ``503``, ``429`` (``Retry-After: retry_after``), ``delay``
        (``seconds``), ``drop`` (processed, then no answer), ``refuse`` (not processed).
        ``after_processing`` makes a 500/503 happen after the request was processed."""
        with self.lock:
            self.faults.add(
                kind,
                count=count,
                method=method,
                path=path,
                rate=rate,
                retry_after=retry_after,
                seconds=seconds,
                after_processing=after_processing,
            )

    def connection_refusal_armed(self) -> bool:
        """Whether the next connection should be refused: the first fault armed without a
        method or path filter is ``refuse`` (for servers deciding before reading a request)."""
        with self.lock:
            return self.faults.armed_for_any("refuse")

    def take_connection_refusal(self) -> bool:
        """Consume that ``refuse`` fault (see :meth:`connection_refusal_armed`); whether one was."""
        with self.lock:
            rule = self.faults.take_for_any("refuse")
            if rule is None:
                return False
            self.state.counters["faults.refuse"] += 1
            return True

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def seed_faults(self, seed: int) -> None:
        """Reseed the random generator of ``rate`` faults, for repeatable runs."""
        with self.lock:
            self.faults.seed(seed)

    def flush_webhooks(self) -> int:
        """Apply due transitions, then make every webhook attempt due now; how many were made.

        Failed attempts are retried at clock times (``webhook_backoff`` seconds, doubling): step
        the clock and flush again.
        """
        self.tick()
        return self.webhooks.deliver_due()

    def start_background(self, interval: float = 0.05) -> None:
        """A daemon thread that ticks and delivers webhooks every ``interval`` seconds."""
        with self.lock:
            if self._background is not None and self._background.is_alive():
                return
            self._stop.clear()
            self._background = threading.Thread(
                target=self._run_background, args=(interval,), name="zoomconnect-simulator", daemon=True
            )
            self._background.start()

    def stop_background(self) -> None:
        thread = self._background
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=30)
        self._background = None

    def _run_background(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                self.flush_webhooks()
            except Exception:  # the loop must survive anything; say what happened
                logger.exception("the simulator's background tick failed")
            self._stop.wait(interval)

    def reset(self) -> None:
        """Back to a fresh account (initial balance, seeded templates), with no records, faults or
        pending webhooks. Configuration and the clock are kept."""
        with self.lock:
            self.state.reset()
            self.webhooks.reset()
            self.faults.clear()
            self._requests.clear()

    # -- configuration

    def configure(self, **options: Any) -> None:
        """Change options at run time (the names of the constructor's; see ``CONFIG_FIELDS``)."""
        allowed = set(CONFIG_FIELDS.values())
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ValueError(f"unknown options: {', '.join(unknown)}")
        with self.lock:
            config = self.webhooks.config
            candidate = WebhookConfig(
                reply_url=options.get("reply_url", config.reply_url) or None,
                delivery_report_url=options.get("delivery_report_url", config.delivery_report_url) or None,
                secret=options.get("secret", config.secret) or None,
                signing=options.get("webhook_signing", config.signing),
                params_in=options.get("webhook_params_in", config.params_in),
                max_attempts=options.get("webhook_max_attempts", config.max_attempts),
                backoff=float(options.get("webhook_backoff", config.backoff)),
                nonce_date_digits=options.get("nonce_date_digits", config.nonce_date_digits),
            )
            candidate.validate()
            delays = {}
            for name in ("send_delay", "delivery_delay", "reply_delay"):
                if name in options:
                    value = options[name]
                    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                        raise ValueError(f"{name} must be a number of seconds, zero or more")
                    delays[name] = float(value)
            date_format = options.get("date_format", self.date_format)
            check_choice("date_format", date_format, DATE_FORMATS)
            default_format = options.get("default_format", self.default_format)
            check_choice("default_format", default_format, DEFAULT_FORMATS)
            success_statuses = options.get("success_statuses", self.success_statuses)
            check_choice("success_statuses", success_statuses, SUCCESS_STATUSES)
            self.webhooks.config = candidate
            for name, value in delays.items():
                setattr(self.state, name, value)
            self.date_format = date_format
            self.default_format = default_format
            self.success_statuses = success_statuses

    def config(self) -> dict[str, Any]:
        """The run-time options, as the control API shows them (the secret only as set or not)."""
        with self.lock:
            webhook = self.webhooks.config
            return {
                "replyUrl": webhook.reply_url,
                "deliveryReportUrl": webhook.delivery_report_url,
                "secretSet": bool(webhook.secret),
                "webhookSigning": webhook.signing,
                "webhookParamsIn": webhook.params_in,
                "webhookMaxAttempts": webhook.max_attempts,
                "webhookBackoff": webhook.backoff,
                "sendDelay": self.state.send_delay,
                "deliveryDelay": self.state.delivery_delay,
                "replyDelay": self.state.reply_delay,
                "dateFormat": self.date_format,
                "defaultFormat": self.default_format,
                "successStatuses": self.success_statuses,
                "nonceDateDigits": webhook.nonce_date_digits,
                "timezone": self.tz.key,
                "email": self.email,
            }

    def describe(self) -> dict[str, Any]:
        """A summary for people: time, balance, counts, configuration."""
        with self.lock:
            self.state.tick()
            return {
                "now": self.clock.now().isoformat(),
                "frozen": self.clock.frozen,
                "creditBalance": self.state.balance,
                "messages": len(self.state.messages),
                "contacts": len(self.state.contacts),
                "groups": len(self.state.groups),
                "templates": len(self.state.templates),
                "requests": len(self._requests),
                "pendingWebhooks": len(self.webhooks.pending),
                "faults": len(self.faults.rules),
                "config": self.config(),
            }

    # Convenience accessors for the webhook options most tests set.

    @property
    def reply_url(self) -> str | None:
        return self.webhooks.config.reply_url

    @reply_url.setter
    def reply_url(self, value: str | None) -> None:
        self.configure(reply_url=value)

    @property
    def delivery_report_url(self) -> str | None:
        return self.webhooks.config.delivery_report_url

    @delivery_report_url.setter
    def delivery_report_url(self, value: str | None) -> None:
        self.configure(delivery_report_url=value)

    @property
    def webhook_poster(self) -> WebhookPoster:
        return self.webhooks.poster

    @webhook_poster.setter
    def webhook_poster(self, poster: WebhookPoster) -> None:
        with self.lock:
            self.webhooks.poster = poster

    def _notify(self, kind: str, message: Message, at: Any) -> None:
        self.webhooks.enqueue(kind, message, at)


# Kept for introspection by runners (e.g. CLI choices).
WEBHOOK_SIGNINGS = SIGNINGS
WEBHOOK_PARAMS_IN = PARAMS_IN
__all__ += [
    "DATE_FORMATS",
    "DEFAULT_FORMATS",
    "NONCE_DATE_DIGITS",
    "SUCCESS_STATUSES",
    "WEBHOOK_PARAMS_IN",
    "WEBHOOK_SIGNINGS",
    "ControlApi",
]
