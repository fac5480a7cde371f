"""The webhook endpoints: verify what the provider POSTs, store it once, answer fast.

Why each rule is here (the order matters too; nothing is written before the last check):

* POST only, with HEAD answered 200 for URL probes; CSRF-exempt (the provider has no token) and
  ``login_not_required`` (so ``LoginRequiredMiddleware`` does not redirect the provider).
* A small body limit, checked before the body is read: a webhook is a handful of short fields.
* A form body is ASCII (``%XX`` escapes for everything else); its charset only says how escaped
  bytes become text, so a charset that does not read ASCII as ASCII (``utf-16``, ``utf-7``,
  ``idna``, ``unicode_escape``, ...) is refused, as are unknown names. What the parameters say
  must be storable: a NUL character, a lone surrogate or a value longer than its column is a 400
  (after the checksum), never an event that fails every time it is processed.
* Parameters are read from the query string and the form body, merged, because the sources
  disagree on where they travel; a key given two different values is ambiguous and refused, as
  the checksum could otherwise be checked over one value and another one processed.
* The checksum is checked in constant time against every configured secret (rotation) and the
  allowed encodings; a missing secret refuses everything. ``DEBUG`` changes nothing: only the
  loudly named ``INSECURE_SKIP_WEBHOOK_VERIFICATION`` turns checking off.
* ``nonce-date`` is the nonce's expiry: past it (plus ``WEBHOOK_NONCE_GRACE`` for clock skew) the
  request is refused; the nonce's unique constraint turns a replay into a harmless duplicate.
* The verified event is stored before it is processed, in the transaction of its nonce; a
  processing failure is recorded on the stored event (which can be reprocessed) and the answer
  is 200 either way. The view opts out of ``ATOMIC_REQUESTS`` so that this transaction, and
  not the request's, decides what is committed.
* The settings are read once, when a request arrives (:class:`WebhookConf`), and passed along;
  a wrong one answers 503 before anything is read or written.
* Each account has its URLs (an ``account`` URL argument; none means ``"default"``): a webhook is
  verified with that account's secrets only, stored as that account's and matched with its
  messages. An alias that is not configured answers 404.

:class:`WebhookView` runs the steps as hooks a project can override in a subclass:
:meth:`~WebhookView.parse`, :meth:`~WebhookView.verify` and :meth:`~WebhookView.process`.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.decorators import classonlymethod
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from . import conf, signing, storable
from .events import DELIVERY_REPORT, REPLY, parse_nonce_date
from .exceptions import ConfigurationError
from .services import inbound
from .services.outbox import wake

if TYPE_CHECKING:
    from .models import WebhookEvent

logger = logging.getLogger(__name__)

__all__ = [
    "WebhookConf",
    "WebhookRejected",
    "WebhookRequest",
    "WebhookView",
    "delivery_report",
    "reply",
    "webhook_view",
]

#: More fields than any webhook has; a form with more is refused before it is read further.
MAX_FIELDS = 64

#: Every ASCII byte, then escapes that Python's pseudo-charsets (``unicode_escape``, ``idna``)
#: would turn into something else: a form body's charset must read all of it as itself.
_ASCII_PROBE = bytes(range(128)) + b" \\x41 \\u0041 a..b xn--ls8h .xn--. "

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


class WebhookRejected(Exception):
    """A request that must not be processed; ``status`` and ``reason`` are the answer.

    Raise it from an overridden :meth:`WebhookView.verify` to refuse a request (nothing is stored).
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _text(status: int, reason: str) -> HttpResponse:
    return HttpResponse(reason + "\n", status=status, content_type="text/plain; charset=utf-8")


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except (TypeError, ValueError):
        return 0


@lru_cache(maxsize=64)
def _ascii_compatible(name: str) -> bool:
    """Whether Python knows ``name`` as a text charset that reads every ASCII byte as itself."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unicode_escape warns about invalid escapes
            return bool(codecs.decode(_ASCII_PROBE, name) == _ASCII_PROBE.decode("ascii"))
    except Exception:  # LookupError, UnicodeError, TypeError: whatever an odd codec raises
        return False


def _form_charset(request: HttpRequest) -> str:
    name = ((request.content_params or {}).get("charset") or "utf-8").strip().lower()
    try:
        canonical = codecs.lookup(name).name
    except (LookupError, ValueError):  # ValueError: a name with a NUL in it
        raise WebhookRejected(400, "unknown charset") from None
    if not _ascii_compatible(canonical):
        raise WebhookRejected(400, "a form body's charset must read ASCII as ASCII")
    return canonical


def _pairs(text: str, encoding: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            text, keep_blank_values=True, encoding=encoding, errors="strict", max_num_fields=MAX_FIELDS
        )
    except UnicodeError:
        raise WebhookRejected(400, "parameters are not valid text in their charset") from None
    except ValueError:
        raise WebhookRejected(400, "too many parameters") from None


def _query_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    raw = request.META.get("QUERY_STRING", "")
    if not raw:
        return []
    try:
        # WSGI and ASGI hand the query string over as bytes decoded as latin-1 (PEP 3333).
        raw = raw.encode("iso-8859-1").decode("utf-8")
    except UnicodeEncodeError:
        pass  # already text
    except UnicodeDecodeError:
        raise WebhookRejected(400, "the query string is not UTF-8") from None
    return _pairs(raw, "utf-8")


def _body_pairs(request: HttpRequest, limit: int) -> list[tuple[str, str]]:
    try:
        body = request.body
    except RequestDataTooBig:
        raise WebhookRejected(413, "body too large") from None
    if len(body) > limit:  # a body without Content-Length (chunked, under ASGI)
        raise WebhookRejected(413, "body too large")
    if not body:
        return []
    content_type = (request.content_type or "").lower()
    if content_type in ("", _FORM):
        encoding = _form_charset(request)
        try:
            text = body.decode(encoding)
        except UnicodeError:
            raise WebhookRejected(400, "the body is not valid text in its charset") from None
        return _pairs(text, encoding)
    if content_type == _MULTIPART:
        if request.FILES:
            raise WebhookRejected(400, "file uploads are not webhook parameters")
        return [(key, value) for key, values in request.POST.lists() for value in values]
    raise WebhookRejected(415, "send parameters as application/x-www-form-urlencoded")


def _merge(sources: Iterable[list[tuple[str, str]]]) -> dict[str, str]:
    """One value per key; a key given different values, in one source or across both, is refused."""
    merged: dict[str, str] = {}
    for pairs in sources:
        this_source: dict[str, str] = {}
        for key, value in pairs:
            if this_source.setdefault(key, value) != value:
                raise WebhookRejected(400, f"parameter {key!r} has conflicting values")
        for key, value in this_source.items():
            if merged.setdefault(key, value) != value:
                raise WebhookRejected(400, f"parameter {key!r} has conflicting values")
    return merged


def read_params(request: HttpRequest, max_body_size: int) -> dict[str, str]:
    """The webhook's parameters from the query string and the body, merged (``WebhookRejected``)."""
    if _content_length(request) + len(request.META.get("QUERY_STRING", "")) > max_body_size:
        raise WebhookRejected(413, "request too large")
    params = _merge((_query_pairs(request), _body_pairs(request, max_body_size)))
    # Before the checksum: a lone surrogate cannot even be signed (it has no UTF-8 bytes).
    found = storable.params_problem(params)
    if found:
        key, reason = found
        raise WebhookRejected(400, f"parameter {key[:40]!r} contains {reason}")
    return params


def _client(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "?"))


@dataclass(frozen=True, kw_only=True)
class WebhookConf:
    """The settings one webhook request is handled with, read once when it arrives."""

    max_body_size: int
    insecure: bool
    secrets: tuple[str, ...]
    encodings: tuple[signing.Encoding, ...]
    nonce_grace: float
    timezone: tzinfo
    processing: str
    #: The alias of the account whose URL was called (its secrets are the ones above).
    account: str = conf.DEFAULT_ACCOUNT

    @classmethod
    def read(cls, account: str = conf.DEFAULT_ACCOUNT) -> WebhookConf:
        """The ``ZOOMCONNECT`` settings as they are now for ``account`` (``ConfigurationError``
        if one is wrong)."""
        return cls(
            account=account,
            max_body_size=conf.get("WEBHOOK_MAX_BODY_SIZE"),
            insecure=conf.get("INSECURE_SKIP_WEBHOOK_VERIFICATION"),
            secrets=conf.webhook_secrets(account),
            encodings=conf.get("WEBHOOK_SIGNATURE_ENCODINGS", account),
            nonce_grace=conf.get("WEBHOOK_NONCE_GRACE"),
            timezone=conf.api_timezone(),
            processing=conf.get("WEBHOOK_PROCESSING"),
        )


@dataclass(frozen=True, kw_only=True)
class WebhookRequest:
    """One webhook as :meth:`WebhookView.parse` read it, before it is verified.

    ``nonce`` is the request's own, or (only reachable with verification off) a hash of its
    parameters, so that the same unsigned request twice is still a duplicate. ``expires`` is its
    ``nonce-date`` as aware UTC, ``None`` when absent or unreadable.
    """

    params: dict[str, str]
    nonce: str
    expires: datetime | None


class WebhookView(View):
    """The webhook endpoint for one ``kind`` (:data:`~django_zoomconnect.events.REPLY` or
    :data:`~django_zoomconnect.events.DELIVERY_REPORT`).

    A POST is read by :meth:`parse`, checked by :meth:`verify` and stored by :meth:`process`,
    each given the request and the one :class:`WebhookConf` snapshot of the settings. Override
    them in a subclass (calling ``super()``) to log, add checks or act on the stored event, and
    route it with ``MyView.as_view(kind=...)``: the class is CSRF-exempt, ``login_not_required``
    and outside ``ATOMIC_REQUESTS`` by itself. A :class:`WebhookRejected` raised by a hook is the
    answer; nothing is stored before :meth:`process`.
    """

    kind: str = ""
    http_method_names = ["post", "head"]

    @classonlymethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        kind = initkwargs.get("kind", cls.kind)
        if kind not in (REPLY, DELIVERY_REPORT):
            raise ValueError(f"kind must be {REPLY!r} or {DELIVERY_REPORT!r}, not {kind!r}")
        # Decorated here, once, rather than with method_decorator on dispatch (which decorates
        # again at every request).
        return csrf_exempt(login_not_required(transaction.non_atomic_requests(super().as_view(**initkwargs))))

    def head(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _known_account(kwargs.get("account")):
            return HttpResponse(status=404)
        return HttpResponse(status=200)  # URL probes

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = kwargs.get("account") or conf.DEFAULT_ACCOUNT
        try:
            if not _known_account(account):
                return _text(404, "unknown account")
            settings = WebhookConf.read(account)
            webhook = self.parse(request, settings)
            self.verify(request, webhook, settings)
            event = self.process(request, webhook, settings)
        except WebhookRejected as exc:
            return _text(exc.status, exc.reason)
        except ConfigurationError:
            logger.exception("Refused a %s webhook: the ZOOMCONNECT setting is wrong.", self.kind)
            return _text(503, "webhook endpoint misconfigured")
        return _text(200, "OK" if event is not None else "duplicate")

    def parse(self, request: HttpRequest, settings: WebhookConf) -> WebhookRequest:
        """The request's parameters, nonce and expiry; :class:`WebhookRejected` if unreadable."""
        params = read_params(request, settings.max_body_size)
        nonce = params.get("nonce")
        if not nonce:
            canonical = signing.signing_string(params).encode("utf-8")
            nonce = "unsigned:" + hashlib.sha256(canonical).hexdigest()[:64]
        expires = parse_nonce_date(params.get("nonce-date"), settings.timezone)
        return WebhookRequest(params=params, nonce=nonce, expires=expires)

    def verify(self, request: HttpRequest, webhook: WebhookRequest, settings: WebhookConf) -> None:
        """Raise :class:`WebhookRejected` unless the checksum is good and the nonce fresh and usable."""
        params = webhook.params
        if not settings.insecure:
            if not settings.secrets:
                logger.error(
                    "Refused a %s webhook from %s: settings.ZOOMCONNECT['WEBHOOK_SECRET'] is not set.",
                    self.kind,
                    _client(request),
                )
                raise WebhookRejected(403, "webhook secret not configured")
            checksum = params.get(signing.CHECKSUM_PARAMETER)
            if not signing.verify_checksum(params, checksum, settings.secrets, encodings=settings.encodings):
                logger.warning(
                    "Refused a %s webhook from %s: %s checksum (parameters: %s).",
                    self.kind,
                    _client(request),
                    "bad" if checksum else "missing",
                    # repr: the keys are the sender's text, and must not forge log lines.
                    ", ".join(repr(key) for key in sorted(params))[:500],
                )
                raise WebhookRejected(403, "bad checksum")
        if params.get("nonce-date") is not None or not settings.insecure:
            if webhook.expires is None:
                raise WebhookRejected(400, "nonce-date missing, or not a valid yyyyMMddHHmmss time")
            if (timezone.now() - webhook.expires).total_seconds() > settings.nonce_grace:
                logger.warning(
                    "Refused a %s webhook from %s: its nonce expired at %s.",
                    self.kind,
                    _client(request),
                    webhook.expires.isoformat(),
                )
                raise WebhookRejected(403, "nonce expired")
        if not settings.insecure and not params.get("nonce"):
            raise WebhookRejected(400, "nonce missing")

    def process(
        self, request: HttpRequest, webhook: WebhookRequest, settings: WebhookConf
    ) -> WebhookEvent | None:
        """Store the verified webhook and process it (or, with ``WEBHOOK_PROCESSING = "celery"`` or
        ``"batch"``, leave that to a worker); the stored event, or ``None`` for a duplicate.

        Parameters that could never be stored (a value longer than its column, ...) are a 400:
        the check runs once, where the event is stored.
        """
        store = inbound.receive if settings.processing == "sync" else inbound.store_event
        try:
            event = store(
                self.kind,
                webhook.params,
                nonce=webhook.nonce,
                nonce_expires_at=webhook.expires,
                account=settings.account,
            )
        except inbound.InvalidWebhookError as exc:
            raise WebhookRejected(400, str(exc)) from None
        if event is not None and settings.processing == "celery":
            wake.process_event_later(event.pk)
        return event


def _known_account(account: str | None) -> bool:
    """Whether ``account`` (a URL argument; ``None``: ``"default"``) is a configured alias; a wrong
    ``ACCOUNTS`` setting raises :class:`ConfigurationError` (503)."""
    return account is None or account in conf.account_aliases()


def webhook_view(kind: str) -> Callable[..., HttpResponseBase]:
    """A view for webhooks of ``kind``, for projects that route the endpoints themselves."""
    return WebhookView.as_view(kind=kind)


reply = webhook_view(REPLY)
delivery_report = webhook_view(DELIVERY_REPORT)
