"""The simulator's webhook sender: signed delivery reports and replies, retried with backoff.

Parameters are exactly those the provider sends (see ``docs/simulator.rst``). Each attempt gets
a fresh ``nonce``, ``nonce-date`` and ``checksum``, as a new request from the provider would, so
a receiver that refuses replays still accepts a retry. Retries fall due at *clock* times: a test
with a frozen clock steps time and calls :meth:`WebhookSender.deliver_due`, it never sleeps.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ..signing import CHECKSUM_PARAMETER, compute_checksum
from .clock import Clock
from .records import Message

#: ``poster(url, query_params, form_params) -> HTTP status``. ``query_params`` go in the URL's
#: query string, ``form_params`` in an ``application/x-www-form-urlencoded`` POST body; raising
#: an exception means the attempt failed without an answer.
WebhookPoster = Callable[[str, dict[str, str], dict[str, str]], int]

Signing = Literal["raw", "form"]
ParamsIn = Literal["body", "query", "both"]
#: ``nonce-date`` as ``yyyyMMddHHmmss`` ("14"), with two more digits (hundredths of a second,
#: "16", as the provider's own examples show: ``2014051610050102``), or "mixed": every second
#: event (by the order events were queued) gets 16 digits, the others 14, the same on each retry.
NonceDateDigits = Literal["14", "16", "mixed"]
SIGNINGS: tuple[Signing, ...] = ("raw", "form")
PARAMS_IN: tuple[ParamsIn, ...] = ("body", "query", "both")
NONCE_DATE_DIGITS: tuple[NonceDateDigits, ...] = ("14", "16", "mixed")

DELIVERY_REPORT = "delivery_report"
REPLY = "reply"

#: How far ahead ``nonce-date`` lies: the provider's samples all show about five minutes.
NONCE_LIFETIME = timedelta(minutes=5)
POST_TIMEOUT = 10.0


def default_poster(url: str, query: dict[str, str], form: dict[str, str]) -> int:
    """POST with the standard library (no dependency on ``requests``); the answer's status."""
    if query:
        separator = "&" if urllib.parse.urlsplit(url).query else "?"
        url = url + separator + urllib.parse.urlencode(query)
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"webhook URLs must be http(s), not {url!r}")
    data = urllib.parse.urlencode(form).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            "User-Agent": "zoomconnect-simulator",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT) as response:  # noqa: S310
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST the simulator made (or tried to make) to a webhook URL."""

    kind: str
    message_id: str
    url: str
    params: dict[str, str]
    params_in: str
    attempt: int
    at: datetime
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "messageId": self.message_id,
            "url": self.url,
            "params": self.params,
            "paramsIn": self.params_in,
            "attempt": self.attempt,
            "at": self.at.isoformat(),
            "status": self.status,
            "error": self.error,
            "ok": self.ok,
        }


@dataclass
class WebhookConfig:
    """Where and how webhooks go; changeable at run time (the control API's ``config``)."""

    reply_url: str | None = None
    delivery_report_url: str | None = None
    secret: str | None = None
    signing: Signing = "raw"
    params_in: ParamsIn = "body"
    max_attempts: int = 5
    backoff: float = 1.0
    nonce_date_digits: NonceDateDigits = "mixed"

    def validate(self) -> None:
        if self.signing not in SIGNINGS:
            raise ValueError(f"webhook signing must be one of {SIGNINGS}, not {self.signing!r}")
        if self.params_in not in PARAMS_IN:
            raise ValueError(f"webhook params_in must be one of {PARAMS_IN}, not {self.params_in!r}")
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ValueError("webhook max_attempts must be a whole number")
        if self.max_attempts < 1:
            raise ValueError("webhook max_attempts must be one or more")
        if self.backoff < 0:
            raise ValueError("webhook backoff must be zero or more seconds")
        if self.nonce_date_digits not in NONCE_DATE_DIGITS:
            raise ValueError(
                f"nonce_date_digits must be one of {NONCE_DATE_DIGITS}, not {self.nonce_date_digits!r}"
            )

    def nonce_date(self, expires: datetime, event: int) -> str:
        """``nonce-date`` for an expiry (already in the account's zone) of the ``event``-th event."""
        text = expires.strftime("%Y%m%d%H%M%S")
        digits = self.nonce_date_digits
        if digits == "16" or (digits == "mixed" and event % 2 == 0):
            text += f"{expires.microsecond // 10_000:02d}"
        return text

    def retry_delay(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``: ``backoff``, doubling each time."""
        return float(self.backoff * 2 ** (attempt - 1))


@dataclass
class _Pending:
    kind: str
    message_id: str
    url: str
    params: dict[str, str]
    due: datetime
    attempts: int = 0
    seq: int = field(default=0)


class WebhookSender:
    """Queue and deliver webhooks. Shares the account's lock; never holds it while posting."""

    def __init__(
        self,
        *,
        lock: threading.RLock,
        clock: Clock,
        timezone: ZoneInfo,
        config: WebhookConfig,
        poster: WebhookPoster | None = None,
    ) -> None:
        config.validate()
        self.lock = lock
        self.clock = clock
        self.tz = timezone
        self.config = config
        self.poster: WebhookPoster = poster or default_poster
        self.pending: list[_Pending] = []
        self.attempts: list[WebhookAttempt] = []
        self.skipped = 0
        self._seq = 0

    def reset(self) -> None:
        with self.lock:
            self.pending.clear()
            self.attempts.clear()
            self.skipped = 0

    # -- building events

    def event_params(self, kind: str, message: Message) -> dict[str, str]:
        """The parameters of one event, before ``nonce``, ``nonce-date`` and ``checksum``."""
        params: dict[str, str] = {"messageId": message.message_id}
        if kind == DELIVERY_REPORT:
            params["status"] = message.status
        else:
            if message.replied_to_message_id:
                params["repliedToMessageId"] = message.replied_to_message_id
            params["from"] = message.from_number or ""
            params["to"] = message.to_number or ""
            params["message"] = message.message
            received = message.received_at or message.created_at
            params["date"] = received.astimezone(self.tz).strftime("%Y%m%d%H%M")
        if message.campaign:
            params["campaign"] = message.campaign
        if message.data_field:
            params["dataField"] = message.data_field
        return params

    def enqueue(self, kind: str, message: Message, at: datetime) -> None:
        """Queue the event's first attempt, due at ``at``; dropped when no URL is configured."""
        with self.lock:
            url = self.config.reply_url if kind == REPLY else self.config.delivery_report_url
            if not url:
                self.skipped += 1
                return
            self._seq += 1
            self.pending.append(
                _Pending(kind, message.message_id, url, self.event_params(kind, message), at, seq=self._seq)
            )

    def sign(self, params: dict[str, str], now: datetime, event: int = 1) -> dict[str, str]:
        """``params`` with a fresh ``nonce``, ``nonce-date`` and (when a secret is set) ``checksum``;
        ``event`` is the event's sequence number (it decides a "mixed" ``nonce-date``'s length)."""
        signed = dict(params)
        signed["nonce"] = str(uuid.uuid4())
        signed["nonce-date"] = self.config.nonce_date((now + NONCE_LIFETIME).astimezone(self.tz), event)
        secret = self.config.secret
        if secret:
            signed[CHECKSUM_PARAMETER] = compute_checksum(signed, secret, encoding=self.config.signing)
        return signed

    # -- delivering

    def next_due(self) -> datetime | None:
        with self.lock:
            return min((item.due for item in self.pending), default=None)

    def deliver_due(self, now: datetime | None = None) -> int:
        """Make every attempt due at ``now`` (default: the clock); how many attempts were made."""
        with self.lock:
            if now is None:
                now = self.clock.now()
            due = sorted((p for p in self.pending if p.due <= now), key=lambda p: (p.due, p.seq))
            if not due:
                return 0
            taken = {id(p) for p in due}
            self.pending = [p for p in self.pending if id(p) not in taken]
            config = self.config
            params_in = config.params_in
            prepared = [(item, self.sign(item.params, now, item.seq)) for item in due]
        for item, signed in prepared:
            query = signed if params_in in ("query", "both") else {}
            form = signed if params_in in ("body", "both") else {}
            status: int | None = None
            error: str | None = None
            try:
                status = int(self.poster(item.url, dict(query), dict(form)))
            except Exception as exc:  # any failure of the receiver is a failed attempt
                error = f"{type(exc).__name__}: {exc}"
            item.attempts += 1
            attempt = WebhookAttempt(
                kind=item.kind,
                message_id=item.message_id,
                url=item.url,
                params=signed,
                params_in=params_in,
                attempt=item.attempts,
                at=now,
                status=status,
                error=error,
            )
            with self.lock:
                self.attempts.append(attempt)
                if not attempt.ok and item.attempts < config.max_attempts:
                    item.due = now + timedelta(seconds=config.retry_delay(item.attempts))
                    self.pending.append(item)
        return len(prepared)
