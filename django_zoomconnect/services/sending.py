"""Outbound SMS: validate, write the outbox rows, and hand each message to the provider exactly once.

Why the row comes first: the database is the source of truth and Celery only wakes workers.
:func:`send_sms` and :func:`send_bulk` validate everything, write their rows in the caller's
transaction and enqueue a task only once it has committed; if the broker loses that task, the
beat task :func:`dispatch_due` finds the row again.

Why a claim: before calling the API a worker moves its rows from ``QUEUED`` to ``SENDING`` with
one conditional ``UPDATE`` (stamped with a fresh claim token), outside any transaction, so a
duplicate delivery of the same task, or a second worker, finds nothing left to claim. Every
later write is conditional on that token and on ``SENDING``, so a late worker whose lease the
sweeper took away cannot overwrite what happened since.

Why outcomes are classified, not retried blindly (see :mod:`django_zoomconnect.exceptions`):

* not sent (connection refused, 429, other refusals that processed nothing) -> back to
  ``QUEUED`` with exponential backoff and jitter (a 429 waits ``Retry-After`` and does not count
  as an attempt); after ``SEND_MAX_ATTEMPTS`` attempts -> ``FAILED``;
* may have been sent (read timeout, lost connection, 5xx) -> ``UNCERTAIN``; never resent before
  :mod:`~django_zoomconnect.services.reconcile` has looked the message up by its ``dataField``;
* refused for good (400) -> ``FAILED`` with the provider's code and message; a bulk item's own
  ``error`` -> ``FAILED`` on that message only;
* credentials refused (401/403) -> sending is paused (a :class:`SendingPause` row), the messages
  go back to ``QUEUED`` untouched, until :func:`resume_sending` or a successful
  :func:`check_balance`.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from .. import conf, phone, signals, storable
from ..client import ZoomConnectClient
from ..exceptions import (
    AuthenticationError,
    InsufficientCreditError,
    InvalidRequestError,
    MayHaveBeenSentError,
    NotSentError,
    PhoneNumberError,
    RateLimitedError,
    SendError,
    SendVetoed,
    ZoomConnectAPIError,
    ZoomConnectError,
)
from ..models import (
    Batch,
    Contact,
    Direction,
    Group,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    SendingPause,
    Template,
    TemplateContextError,
    WebhookEvent,
)
from ..segments import SegmentInfo, analyse
from ..types import SendResult, SmsRequest
from . import history
from . import rows as bulk
from .history import StatusChange

logger = logging.getLogger(__name__)

__all__ = [
    "DispatchResult",
    "InsufficientCreditError",
    "Recipient",
    "SendError",
    "SendVetoed",
    "cancel",
    "check_balance",
    "dispatch_chunk",
    "dispatch_due",
    "dispatch_message",
    "is_paused",
    "pause_sending",
    "resume_sending",
    "retry",
    "send_bulk",
    "send_sms",
]

#: Statuses in which a message still waits for this side to act (a batch is not done yet).
PENDING_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.UNCERTAIN)
#: Failures :func:`retry` sends again (an opt-out or a guard's rejection is never retried).
RETRYABLE_STATUSES = (MessageStatus.FAILED, MessageStatus.FAILED_REFUNDED)
#: Rows per conditional UPDATE or IN list: well within every backend's parameter limit.
SLICE = 500
_MAX_ERROR = 2000
#: Marks the rows one :func:`retry` call moved, until each has its fresh reference.
_RETRYING = "retrying"
_FIELD_LIMIT = 255


@dataclass(frozen=True)
class Recipient:
    """One recipient of :func:`send_bulk` with its own template context (merged over the shared one)."""

    to: str
    context: Mapping[str, Any] | None = None
    contact: Contact | None = None


@dataclass
class DispatchResult:
    """What one dispatch did; tasks use ``retry_in`` and ``reconcile_in`` to schedule follow-ups."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    rejected: int = 0
    requeued: int = 0
    uncertain: int = 0
    paused: bool = False
    #: Seconds until messages put back in the queue are due again, if any were.
    retry_in: float | None = None
    #: Seconds until uncertain messages may be looked up, if any became uncertain.
    reconcile_in: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# --- small helpers ------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return timezone.now() if now is None else now


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _slices(items: Sequence[Any], size: int = SLICE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _eager() -> bool:
    """Whether messages are dispatched in the caller's process rather than by a Celery worker."""
    if conf.get("SEND_EAGERLY"):
        return True
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def _require_autocommit() -> None:
    # The claim must be committed before the API call: inside a transaction, a crash or a
    # rollback after the call would undo the claim of a message the provider already has.
    if connection.in_atomic_block:
        raise RuntimeError(
            "django_zoomconnect dispatches messages outside any transaction (the claim must be "
            "committed before the API is called); run it from a task, a command, or "
            "transaction.on_commit()."
        )


def _backoff(attempts: int) -> float:
    base = float(conf.get("SEND_RETRY_BACKOFF"))
    ceiling = float(conf.get("SEND_RETRY_BACKOFF_MAX"))
    jitter = float(conf.get("SEND_RETRY_JITTER"))
    delay: float = min(ceiling, base * 2 ** max(attempts - 1, 0))
    return delay * (1.0 - jitter * random.random())


def _estimated_cost(parts: int) -> Decimal:
    rate = Decimal(str(conf.get("CREDITS_PER_PART")))
    return (rate * parts).quantize(Decimal("0.01"))


def wire_number(number: str, fmt: str | None = None) -> str:
    """``recipientNumber`` for a stored E.164 number, per ``PHONE_NUMBER_FORMAT``."""
    fmt = str(conf.get("PHONE_NUMBER_FORMAT")) if fmt is None else fmt
    if fmt == "e164":
        return number
    if fmt == "digits":
        return number.lstrip("+")
    return phone.to_wire(number, fmt=fmt)


def wire_data_field(message: Message | _Claimed) -> str:
    """The ``dataField`` a message is sent with: the caller's own, else its unique reference."""
    return message.data_field or message.reference


# --- pausing ------------------------------------------------------------------------------------


def is_paused() -> bool:
    """Whether sending is paused because the provider refused the credentials."""
    return SendingPause.objects.exists()


def pause_sending(reason: str) -> None:
    """Stop handing messages to the provider; they stay queued. Logged at ERROR level once."""
    _, created = SendingPause.objects.get_or_create(pk=1, defaults={"reason": _short(reason)})
    if created:
        logger.error(
            "Sending SMS is PAUSED: %s. Messages stay queued. Fix the credentials, then resume with "
            "`manage.py zoomconnect_send --resume` or `manage.py zoomconnect_balance`.",
            reason,
        )


def resume_sending(*, now: datetime | None = None) -> int:
    """Lift a pause and dispatch what is due; the number of tasks enqueued (0 if not paused)."""
    deleted, _ = SendingPause.objects.all().delete()
    if not deleted:
        return 0
    logger.warning("Sending SMS resumed.")
    return dispatch_due(now=now)


def check_balance(*, client: ZoomConnectClient | None = None) -> float:
    """The account's credit balance. The call proves the credentials work, so it lifts a pause."""
    client = ZoomConnectClient.from_settings() if client is None else client
    balance = client.get_balance()
    if is_paused():
        resume_sending()
    return balance


# --- enqueueing ---------------------------------------------------------------------------------


def _run_or_log(action: Callable[[], Any], what: str) -> None:
    try:
        action()
    except ZoomConnectError:
        raise
    except Exception:
        # The row is committed: dispatch_due will enqueue it again. Never fail the caller for it.
        logger.warning("Could not enqueue %s; the dispatch_due task will pick it up", what, exc_info=True)


def enqueue_message(message_id: int) -> None:
    """Wake a worker for one message once the current transaction commits (or now, eagerly)."""

    def run() -> None:
        if conf.get("SEND_EAGERLY"):
            dispatch_message(message_id)
        else:
            from ..tasks import send_message

            send_message.delay(message_id)

    transaction.on_commit(partial(_run_or_log, run, f"message {message_id}"))


def enqueue_chunk(batch_id: int, chunk: int) -> None:
    """Wake a worker for one chunk of a batch once the current transaction commits."""

    def run() -> None:
        if conf.get("SEND_EAGERLY"):
            dispatch_chunk(batch_id, chunk)
        else:
            from ..tasks import send_chunk

            send_chunk.delay(batch_id, chunk)

    transaction.on_commit(partial(_run_or_log, run, f"chunk {chunk} of batch {batch_id}"))


# --- validation ---------------------------------------------------------------------------------


@dataclass
class _Draft:
    """One message as validated, before its row exists."""

    to: str
    body: str = ""
    contact: Contact | None = None
    info: SegmentInfo | None = None
    rejection: str = ""


def _schedule(send_at: datetime | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """``(scheduled_at, dispatch_after)`` for ``send_at``; a time already past means "send now"."""
    if send_at is None:
        return None, None
    if not isinstance(send_at, datetime):
        raise SendError(f"send_at must be a datetime, not {type(send_at).__name__}.")
    if timezone.is_naive(send_at):
        raise SendError(
            f"send_at must be timezone-aware, not the naive {send_at.isoformat()}: its zone decides "
            "when the message goes out (use django.utils.timezone.now() + timedelta(...), or "
            "datetime(..., tzinfo=...))."
        )
    if send_at <= now or conf.get("SCHEDULING") == "provider":
        return send_at, None
    return send_at, send_at


def _check_storable(value: object, name: str) -> None:
    """A ``SendError`` naming ``name`` when a string in ``value`` holds a NUL or a lone surrogate.

    PostgreSQL refuses NUL in text and no driver can encode a lone surrogate: without this the
    call would fail in the database (or, for a template context, in the dispatch) instead.
    """
    found = storable.find_problem(value)
    if found:
        raise SendError(f"{name} must not contain {found}.")


def _optional_text(value: str | None, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SendError(f"{name} must be a string, not {type(value).__name__}.")
    if len(value) > _FIELD_LIMIT:
        raise SendError(f"{name} is {len(value)} characters long; at most {_FIELD_LIMIT} are kept.")
    _check_storable(value, name)
    return value


def _check_content(
    body: str | None, template: Template | None, context: Mapping[str, Any] | None = None
) -> None:
    if body is not None and template is not None:
        raise SendError("Give a body or a template, not both.")
    if body is None and template is None:
        raise SendError("A message needs a body or a template.")
    if body is not None:
        if not isinstance(body, str):
            raise SendError(f"body must be a string, not {type(body).__name__}.")
        if not body.strip():
            raise SendError("The message body is empty.")
        _check_storable(body, "body")
    if template is not None and not isinstance(template, Template):
        raise SendError(f"template must be a Template, not {type(template).__name__}.")
    if context is not None:
        if not isinstance(context, Mapping):
            raise SendError(f"context must be a mapping, not {type(context).__name__}.")
        _check_storable(context, "context")


def _contact_context(contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {}
    return {
        "title": contact.title,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone_number": contact.phone_number,
    }


def _render(
    template: Template | None,
    body: str | None,
    context: Mapping[str, Any] | None,
    own: Mapping[str, Any] | None,
    contact: Contact | None,
) -> str:
    if template is None:
        assert body is not None
        return body
    merged = {**_contact_context(contact), **(context or {}), **(own or {})}
    try:
        return template.render(merged)
    except TemplateContextError as exc:
        raise SendError(str(exc)) from None


def _check_text(draft: _Draft, max_parts: int) -> None:
    """Fill in the draft's analysis, or its rejection when the text cannot be sent."""
    if not draft.body.strip():
        draft.rejection = "The message body is empty."
        return
    draft.info = analyse(draft.body)
    if draft.info.parts > max_parts:
        draft.rejection = (
            f"The message needs {draft.info.parts} SMS parts ({draft.info.encoding}, "
            f"{draft.info.length} units); at most {max_parts} are allowed (MAX_PARTS)."
        )


def _opted_out(numbers: Iterable[str]) -> set[str]:
    found: set[str] = set()
    unique = sorted(set(numbers))
    for part in _slices(unique):
        found.update(OptOut.objects.filter(phone_number__in=part).values_list("phone_number", flat=True))
    return found


def _message_fields(draft: _Draft) -> dict[str, Any]:
    """The fields of a new outbound message that come from its draft (attribute names)."""
    info = draft.info
    return {
        "direction": Direction.OUTBOUND,
        "to_number": draft.to[:64],
        "body": draft.body,
        "contact_id": draft.contact.pk if draft.contact is not None else None,
        "status": MessageStatus.REJECTED if draft.rejection else MessageStatus.QUEUED,
        "last_error": draft.rejection,
        "encoding": info.encoding if info else "",
        "parts": info.parts if info else None,
        "credit_cost": _estimated_cost(info.parts) if info and not draft.rejection else None,
    }


# --- the public entry points --------------------------------------------------------------------


def send_sms(
    to: str | None,
    body: str | None = None,
    *,
    send_at: datetime | None = None,
    campaign: str | None = None,
    data_field: str | None = None,
    template: Template | None = None,
    context: Mapping[str, Any] | None = None,
    contact: Contact | None = None,
) -> Message:
    """Queue one SMS and return its :class:`~django_zoomconnect.models.Message` row.

    ``to`` is normalised to E.164 (``to=None`` sends to ``contact``'s number). Give ``body`` or
    ``template`` (rendered with ``context`` over the contact's ``title``, ``first_name``,
    ``last_name`` and ``phone_number``), not both. ``send_at`` must be timezone-aware; a time
    already past sends now. ``data_field`` replaces the message's unique reference on the wire.

    Raises :class:`SendError` (nothing written) for bad input. A number that opted out gives a
    row with status ``REJECTED`` and the reason in ``last_error``; nothing is sent to it.
    The row is written in the caller's transaction and a worker is woken once it commits.
    """
    now = timezone.now()
    if to is None:
        if contact is None:
            raise SendError("Give a recipient number, or a contact.")
        to = contact.phone_number
    if contact is not None and not isinstance(contact, Contact):
        raise SendError(f"contact must be a Contact, not {type(contact).__name__}.")
    _check_content(body, template, context)
    _check_storable(to, "to")
    scheduled_at, dispatch_after = _schedule(send_at, now)
    campaign_text = _optional_text(campaign, "campaign")
    data_field_text = _optional_text(data_field, "data_field")
    try:
        number = phone.normalize(to)
    except PhoneNumberError as exc:
        raise SendError(str(exc)) from None
    draft = _Draft(to=number, body=_render(template, body, context, None, contact), contact=contact)
    max_parts = int(conf.get("MAX_PARTS"))
    _check_text(draft, max_parts)
    if draft.rejection:
        raise SendError(draft.rejection)
    if _opted_out([number]):
        draft.rejection = f"{number} opted out of messages; nothing is sent to it."
    message = Message(
        **_message_fields(draft),
        campaign=campaign_text,
        data_field=data_field_text,
        template=template,
        scheduled_at=scheduled_at,
        dispatch_after=dispatch_after,
        enqueued_at=now if dispatch_after is None else None,
    )
    message.save(force_insert=True)
    if message.status == MessageStatus.QUEUED and dispatch_after is None:
        enqueue_message(message.pk)
        if _eager() and not connection.in_atomic_block:
            message.refresh_from_db()
    return message


def _recipient_drafts(
    recipients: Iterable[str | tuple[str, Mapping[str, Any]] | Recipient] | None,
    group: Group | None,
    contacts: Iterable[Contact] | None,
) -> list[tuple[_Draft, Mapping[str, Any] | None]]:
    """Every recipient with its own context, numbers normalised, duplicates dropped."""
    raw: list[Recipient] = []
    if recipients is not None:
        if isinstance(recipients, str | bytes):
            raise SendError("recipients must be a list of numbers, not a single string.")
        for index, item in enumerate(recipients):
            if isinstance(item, Recipient):
                raw.append(item)
            elif isinstance(item, str):
                raw.append(Recipient(item))
            elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
                raw.append(Recipient(item[0], item[1]))
            else:
                raise SendError(
                    f"A recipient must be a number, a (number, context) pair or a Recipient, not {item!r}."
                )
            _check_storable((raw[-1].to, raw[-1].context), f"recipients[{index}]")
    if contacts is not None:
        for contact in contacts:
            if not isinstance(contact, Contact):
                raise SendError(f"contacts must hold Contact rows, not {type(contact).__name__}.")
            raw.append(Recipient(contact.phone_number, contact=contact))
    if group is not None:
        if not isinstance(group, Group):
            raise SendError(f"group must be a Group, not {type(group).__name__}.")
        for contact in Contact.objects.filter(memberships__group=group).order_by("pk"):
            raw.append(Recipient(contact.phone_number, contact=contact))
    drafts: list[tuple[_Draft, Mapping[str, Any] | None]] = []
    seen: set[str] = set()
    for recipient in raw:
        try:
            number = phone.normalize(recipient.to)
        except PhoneNumberError as exc:
            drafts.append((_Draft(to=str(recipient.to), rejection=str(exc)[:_MAX_ERROR]), recipient.context))
            continue
        if number in seen:
            continue
        seen.add(number)
        drafts.append((_Draft(to=number, contact=recipient.contact), recipient.context))
    return drafts


def send_bulk(
    *,
    recipients: Iterable[str | tuple[str, Mapping[str, Any]] | Recipient] | None = None,
    group: Group | None = None,
    contacts: Iterable[Contact] | None = None,
    body: str | None = None,
    template: Template | None = None,
    context: Mapping[str, Any] | None = None,
    send_at: datetime | None = None,
    campaign: str | None = None,
) -> Batch:
    """Queue one message per recipient as a :class:`~django_zoomconnect.models.Batch`.

    Recipients come from ``recipients`` (numbers, ``(number, context)`` pairs or
    :class:`Recipient`), ``contacts`` and the members of ``group``, together; a number given twice
    is sent once. With a ``template`` each message is rendered from ``context``, over the
    recipient's own context, over its contact's fields.

    Everything is validated before anything is written. A call that cannot work raises
    :class:`SendError` (no recipients, none valid, body and template, an empty or too long body,
    a template placeholder without a value, a naive ``send_at``). A recipient that cannot be
    sent to gets a ``REJECTED`` row with the reason in ``last_error`` (an invalid number, an
    opted-out number, a rendered text that is empty or too long) and the others still go:
    ``batch.messages.filter(status="REJECTED")`` lists them.

    With ``BALANCE_CHECK`` ``"refuse"`` (or ``"warn"``) the balance is read first, and an
    estimated cost above it raises :class:`InsufficientCreditError` (or logs a warning).
    Rows are written in bulk in the caller's transaction; one task per chunk of
    ``BULK_CHUNK_SIZE`` is enqueued once it commits.
    """
    now = timezone.now()
    _check_content(body, template, context)
    scheduled_at, dispatch_after = _schedule(send_at, now)
    campaign_text = _optional_text(campaign, "campaign")
    max_parts = int(conf.get("MAX_PARTS"))
    if body is not None:
        probe = _Draft(to="", body=body)
        _check_text(probe, max_parts)
        if probe.rejection:
            raise SendError(probe.rejection)
    drafts = _recipient_drafts(recipients, group, contacts)
    if not drafts:
        raise SendError("send_bulk needs at least one recipient (recipients, contacts or group).")
    if all(draft.rejection for draft, _ in drafts):
        first = drafts[0][0].rejection
        raise SendError(f"None of the {len(drafts)} recipients is a valid number (first: {first}).")
    analyses: dict[str, SegmentInfo] = {}
    for draft, own in drafts:
        if draft.rejection:
            draft.body = body or ""  # kept on the rejected row, for the record
            continue
        draft.body = _render(template, body, context, own, draft.contact)
        cached = analyses.get(draft.body)
        if cached is not None:
            draft.info = cached
            if cached.parts > max_parts:
                _check_text(draft, max_parts)
        else:
            _check_text(draft, max_parts)
            if draft.info is not None:
                analyses[draft.body] = draft.info
    opted_out = _opted_out(draft.to for draft, _ in drafts if not draft.rejection)
    for draft, _ in drafts:
        if not draft.rejection and draft.to in opted_out:
            draft.rejection = f"{draft.to} opted out of messages; nothing is sent to it."
    sendable = [draft for draft, _ in drafts if not draft.rejection]
    cost = _estimated_cost(sum(draft.info.parts for draft in sendable if draft.info))
    _check_balance_for(cost, len(sendable))

    # One transaction (the caller's, or our own): never a half-written batch.
    with transaction.atomic():
        chunk_size = int(conf.get("BULK_CHUNK_SIZE"))
        chunk_count = -(-len(sendable) // chunk_size)
        batch = Batch.objects.create(
            status=Batch.Status.PENDING if sendable else Batch.Status.DONE,
            campaign=campaign_text,
            template=template,
            group=group,
            send_at=scheduled_at,
            chunk_size=chunk_size,
            chunk_count=chunk_count,
            messages_per_minute=conf.get("MESSAGES_PER_MINUTE"),
            estimated_cost=cost,
            finished_at=None if sendable else now,
        )
        new_rows = []
        index = 0
        shared = {
            "campaign": campaign_text,
            "template_id": template.pk if template is not None else None,
            "batch_id": batch.pk,
            "scheduled_at": scheduled_at,
            "dispatch_after": dispatch_after,
        }
        for draft, _ in drafts:
            chunk = None
            if not draft.rejection:
                chunk = index // chunk_size
                index += 1
            new_rows.append(
                {
                    **_message_fields(draft),
                    **shared,
                    "chunk": chunk,
                    "enqueued_at": now if dispatch_after is None and chunk is not None else None,
                }
            )
        bulk.insert(Message, new_rows, now=now)
    if dispatch_after is None:
        for chunk in range(chunk_count):
            enqueue_chunk(batch.pk, chunk)
        if _eager() and not connection.in_atomic_block:
            batch.refresh_from_db()
    return batch


def _check_balance_for(cost: Decimal, count: int) -> None:
    mode = conf.get("BALANCE_CHECK")
    if mode == "off" or not count:
        return
    try:
        balance = ZoomConnectClient.from_settings().get_balance()
    except ZoomConnectError as exc:
        logger.warning("Could not read the balance before a bulk send (%s); sending anyway.", exc)
        return
    if cost <= Decimal(str(balance)):
        return
    text = (
        f"The bulk send of {count} messages is estimated to cost {cost} credits; the balance is {balance:g}."
    )
    if mode == "refuse":
        raise InsufficientCreditError(text + " Nothing was queued.", estimated_cost=cost, balance=balance)
    logger.warning("%s Queued anyway (BALANCE_CHECK='warn').", text)


# --- claiming and recording outcomes ------------------------------------------------------------


def _due(now: datetime) -> Q:
    return Q(dispatch_after__isnull=True) | Q(dispatch_after__lte=now)


@dataclass(frozen=True, slots=True)
class _Claimed:
    """What a send needs of a claimed message, read without building a model instance."""

    pk: int
    to_number: str
    body: str
    campaign: str
    data_field: str
    reference: str
    scheduled_at: datetime | None
    attempts: int


_CLAIMED_FIELDS = tuple(_Claimed.__dataclass_fields__)


def _claim(match: Q, now: datetime, *, batch_id: int | None = None) -> tuple[str, list[Message | _Claimed]]:
    """Claim the due queued messages matching ``match``: one UPDATE, committed, then read what was won.

    The claim is its own short transaction, committed before the API is called (with the batch's
    move to ``DISPATCHING``, so that the two cost one commit).
    """
    token = uuid.uuid4().hex
    with transaction.atomic():
        claimed = (
            Message.objects.filter(
                match, _due(now), status=MessageStatus.QUEUED, direction=Direction.OUTBOUND
            )
            .order_by()
            .update(
                status=MessageStatus.SENDING,
                claim_token=token,
                claimed_at=now,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
        )
        if claimed and batch_id is not None:
            Batch.objects.filter(pk=batch_id, status=Batch.Status.PENDING).update(
                status=Batch.Status.DISPATCHING
            )
    if not claimed:
        return token, []
    claimed_rows = Message.objects.filter(claim_token=token).order_by("pk")
    if signals.pre_send.receivers:
        # Receivers get the message; what a send does not need loads when they read it.
        return token, list(claimed_rows.only(*_CLAIMED_FIELDS))
    return token, [_Claimed(*row) for row in claimed_rows.values_list(*_CLAIMED_FIELDS)]


def _held(token: str, pks: Sequence[int]) -> QuerySet[Message]:
    return Message.objects.filter(pk__in=pks, claim_token=token, status=MessageStatus.SENDING)


@dataclass
class _Outcome:
    """The outcome of one message, to be written, announced and recorded."""

    status: str
    error: ZoomConnectError | None = None
    text: str = ""
    code: int | None = None
    remote_id: str | None = None


@dataclass(frozen=True)
class _Stored:
    """What is needed of a message after its outcome was written, when nobody listens for signals."""

    pk: int
    status: str
    remote_id: str | None
    reference: str
    data_field: str
    attempts: int


#: Fields written for an accepted message; remote_id and sent_at keep what a webhook stored first.
_ACCEPTED = (
    "remote_id",
    "status",
    "sent_at",
    "last_error",
    "error_code",
    "claim_token",
    "dispatch_after",
    "updated_at",
)
_REFUSED = ("status", "last_error", "error_code", "claim_token", "dispatch_after", "updated_at")
_HOLDER = ("id", "claim_token", "status")
#: Outcomes that put a message back in the outbox rather than moving its life forward.
_BOOKKEEPING = frozenset({MessageStatus.QUEUED, MessageStatus.UNCERTAIN})


@dataclass
class _Recorder:
    """Writes outcomes with conditional UPDATEs (a constant number per chunk) and announces them."""

    token: str
    now: datetime
    outcomes: dict[int, _Outcome] = field(default_factory=dict)

    def write(self, messages: Sequence[Message | _Claimed]) -> Sequence[Message | _Stored]:
        now, token, sending_ = self.now, self.token, MessageStatus.SENDING
        accepted = []
        refused = []
        for pk, o in self.outcomes.items():
            if o.status in (MessageStatus.SENT, MessageStatus.SCHEDULED):
                sent_at = now if o.status == MessageStatus.SENT else None
                accepted.append(
                    (o.remote_id, o.status, sent_at, "", None, "", None, now, pk, token, sending_)
                )
            elif o.status in (MessageStatus.FAILED, MessageStatus.REJECTED):
                refused.append((o.status, o.text, o.code, "", None, now, pk, token, sending_))
            # QUEUED and UNCERTAIN were written when the error was classified.
        # In the caller's transaction (one per dispatch); the savepoint isolates a remote id clash.
        bulk.update_each(Message, _REFUSED, _HOLDER, refused)
        try:
            with transaction.atomic():
                bulk.update_each(
                    Message, _ACCEPTED, _HOLDER, accepted, keep_existing=("remote_id", "sent_at")
                )
        except IntegrityError:
            self._write_one_by_one(accepted)
        pks = [m.pk for m in messages]
        if signals.post_send.receivers or signals.message_status_changed.receivers:
            found: dict[int, Message | _Stored] = {}
            for part in _slices(pks):
                found.update((m.pk, m) for m in Message.objects.filter(pk__in=part))
        else:
            found = {}
            for part in _slices(pks):
                values = Message.objects.filter(pk__in=part).values_list(
                    "pk", "status", "remote_id", "reference", "data_field", "attempts"
                )
                found.update((row[0], _Stored(*row)) for row in values)
        return [found[pk] for pk in pks if pk in found]

    @staticmethod
    def _write_one_by_one(accepted: list[tuple[Any, ...]]) -> None:
        # A remote id already stored on another row (a provider reusing ids, or a wrong
        # adoption): keep every other message's, record this one's outcome without it.
        for row in accepted:
            try:
                with transaction.atomic():
                    bulk.update_each(
                        Message, _ACCEPTED, _HOLDER, [row], keep_existing=("remote_id", "sent_at")
                    )
            except IntegrityError:
                logger.error("Message %s: remote id %s is already stored on another row", row[-3], row[0])
                bulk.update_each(Message, _ACCEPTED[1:], _HOLDER, [row[1:]], keep_existing=("sent_at",))

    def record_history(self, stored: Sequence[Message | _Stored]) -> None:
        history = []
        for message in stored:
            outcome = self.outcomes.get(message.pk)
            if outcome is None or message.status != outcome.status:
                continue
            if outcome.status in _BOOKKEEPING:
                continue  # outbox bookkeeping, not a step of the message's life
            detail: dict[str, Any] = {"attempt": message.attempts}
            if outcome.text:
                detail["error"] = outcome.text
            if outcome.code is not None:
                detail["code"] = outcome.code
            history.append(
                {
                    "message_id": message.pk,
                    "old_status": MessageStatus.SENDING,
                    "new_status": outcome.status,
                    "source": MessageStatusChange.Source.SEND,
                    "detail": detail,
                }
            )
        bulk.insert(MessageStatusChange, history, now=self.now)

    def announce(self, stored: Sequence[Message | _Stored], *, called: bool) -> None:
        """After the commit: apply reports that overtook the answer, then send the signals."""
        _apply_deferred_reports([m for m in stored if m.remote_id])
        if called and signals.post_send.receivers:
            for message in stored:
                outcome = self.outcomes.get(message.pk)
                if outcome is not None and outcome.status != MessageStatus.REJECTED:
                    signals.send_robustly(signals.post_send, Message, message=message, error=outcome.error)
        if signals.message_status_changed.receivers:
            for message in stored:
                outcome = self.outcomes.get(message.pk)
                if outcome is None or message.status != outcome.status or outcome.status in _BOOKKEEPING:
                    continue
                signals.send_robustly(
                    signals.message_status_changed,
                    Message,
                    message=message,
                    old_status=MessageStatus.SENDING,
                    new_status=outcome.status,
                    source=MessageStatusChange.Source.SEND,
                    event=None,
                )


def _apply_deferred_reports(messages: Sequence[Message | _Stored]) -> None:
    """Apply delivery reports that overtook the send's answer (one query when there are none)."""
    if not messages:
        return
    deferred = WebhookEvent.objects.filter(
        state=WebhookEvent.State.DEFERRED, kind=WebhookEvent.Kind.DELIVERY_REPORT
    )
    if not deferred.exists():
        return
    keys: set[str] = set()
    for remote_id, params in deferred.values_list("remote_message_id", "params"):
        keys.add(remote_id)
        if isinstance(params, Mapping) and params.get("dataField"):
            keys.add(str(params["dataField"]))
    from . import inbound

    for message in messages:
        if {message.remote_id or "", message.reference, message.data_field} & keys:
            full = message if isinstance(message, Message) else Message.objects.get(pk=message.pk)
            inbound.apply_deferred_reports(full)


def _put_back(
    token: str,
    pks: Sequence[int],
    *,
    now: datetime,
    delay: float | None,
    error: str,
    count_attempt: bool = True,
) -> None:
    """Back to ``QUEUED`` (due after ``delay``, or left for a resume when ``delay`` is None)."""
    due = None if delay is None else now + timedelta(seconds=delay)
    fields: dict[str, Any] = {
        "status": MessageStatus.QUEUED,
        "claim_token": "",
        "dispatch_after": due,
        # The retry task is due then; dispatch_due steps in REQUEUE_AFTER later if it is lost.
        # Eagerly (no retry task) and when paused, dispatch_due is the one to pick it up.
        "enqueued_at": None if due is None or _eager() else due,
        "last_error": _short(error),
        "updated_at": now,
    }
    if not count_attempt:
        fields["attempts"] = F("attempts") - 1
    for part in _slices(pks):
        _held(token, part).update(**fields)


def _mark_uncertain(token: str, pks: Sequence[int], *, now: datetime, error: str) -> float:
    delay = float(conf.get("RECONCILE_AFTER"))
    for part in _slices(pks):
        _held(token, part).update(
            status=MessageStatus.UNCERTAIN,
            dispatch_after=now + timedelta(seconds=delay),
            last_error=_short(error),
            updated_at=now,
        )
    return delay


def _veto(messages: Sequence[Message | _Claimed], recorder: _Recorder) -> list[Message | _Claimed]:
    """Ask the ``pre_send`` receivers about each message; those vetoed are recorded REJECTED."""
    if not signals.pre_send.receivers:
        return list(messages)
    going = []
    for message in messages:
        reason = None
        for receiver, response in signals.pre_send.send_robust(Message, message=message):
            if isinstance(response, SendVetoed):
                reason = str(response) or "vetoed"
            elif isinstance(response, Exception):
                name = getattr(receiver, "__qualname__", repr(receiver))
                logger.error(
                    "pre_send receiver %s raised %s; the message is sent anyway",
                    name,
                    type(response).__name__,
                    exc_info=(type(response), response, response.__traceback__),
                )
        if reason is None:
            going.append(message)
        else:
            recorder.outcomes[message.pk] = _Outcome(
                MessageStatus.REJECTED, text=_short(f"Vetoed by a pre_send receiver: {reason}")
            )
    return going


def _fence(
    token: str, going: Sequence[Message | _Claimed], now: datetime
) -> tuple[list[Message | _Claimed], datetime]:
    """Renew the claim right before the API call; only the messages still held by ``token`` go.

    Between the claim and the call a worker can stall (a slow ``pre_send`` receiver, a paused
    VM) for longer than its lease; the sweeper then makes its messages ``UNCERTAIN`` and another
    worker may send them. The renewal is a conditional UPDATE on the token and ``SENDING``, so a
    stalled worker finds it has lost them and sends nothing; the messages it still holds get a
    fresh lease (``claimed_at``) that covers the call with its timeouts. Returns those messages
    and the time of the renewal.
    """
    pks = [m.pk for m in going]
    renewed_at = max(now, timezone.now())
    held = 0
    for part in _slices(pks):
        held += _held(token, part).update(claimed_at=renewed_at)
    if held == len(pks):
        return list(going), renewed_at
    still: set[int] = set()
    for part in _slices(pks):
        still.update(_held(token, part).values_list("pk", flat=True))
    lost = len(pks) - len(still)
    logger.warning(
        "%d claimed message(s) were taken back while their worker stalled before the API call; "
        "not sending them from here",
        lost,
    )
    return [m for m in going if m.pk in still], renewed_at


def _date_to_send(message: Message | _Claimed, now: datetime) -> datetime | None:
    """``dateToSend`` for a message the provider is to hold (``SCHEDULING = "provider"``).

    Locally scheduled messages are dispatched when due and never carry one. Seconds are dropped
    by the API's ``yyyyMMddHHmm``, so a time within the next minute is sent now.
    """
    if conf.get("SCHEDULING") != "provider" or message.scheduled_at is None:
        return None
    if message.scheduled_at > now + timedelta(seconds=60):
        return message.scheduled_at
    return None


def _provider_error(exc: ZoomConnectAPIError) -> str:
    return _short(exc.provider_message or exc.developer_message or str(exc))


def _dispatch(
    token: str,
    messages: Sequence[Message | _Claimed],
    *,
    now: datetime,
    client: ZoomConnectClient,
    bulk: bool,
    messages_per_minute: int | None = None,
    batch_id: int | None = None,
) -> DispatchResult:
    """Call the API for claimed messages, then record every outcome in one transaction."""
    result = DispatchResult(claimed=len(messages))
    recorder = _Recorder(token, now)
    going = _veto(messages, recorder)
    result.rejected = len(messages) - len(going)
    if going:
        # From here on "now" is the attempt's time: the renewed claim, the backoff, sent_at.
        going, now = _fence(token, going, now)
        recorder.now = now
    called = False
    error: ZoomConnectError | None = None
    if going:
        fmt = str(conf.get("PHONE_NUMBER_FORMAT"))
        dates = [_date_to_send(m, now) for m in going]
        requests = [
            SmsRequest(
                recipient_number=wire_number(m.to_number, fmt),
                message=m.body,
                date_to_send=when,
                campaign=m.campaign or None,
                data_field=wire_data_field(m),
            )
            for m, when in zip(going, dates, strict=True)
        ]
        answers: list[SendResult] | None = None
        called = True
        try:
            if bulk:
                answers = client.send_bulk(requests, messages_per_minute=messages_per_minute)
            else:
                request = requests[0]
                answers = [
                    client.send_sms(
                        request.recipient_number,
                        request.message,
                        date_to_send=request.date_to_send,
                        campaign=request.campaign,
                        data_field=request.data_field,
                    )
                ]
        except ZoomConnectError as exc:
            error = exc
        if answers is not None:
            for message, answer, when in zip(going, answers, dates, strict=True):
                if answer.ok:
                    status = MessageStatus.SCHEDULED if when is not None else MessageStatus.SENT
                    recorder.outcomes[message.pk] = _Outcome(status, remote_id=answer.message_id)
                    result.sent += 1
                else:
                    text = answer.error or "The provider accepted the request but gave no message id."
                    recorder.outcomes[message.pk] = _Outcome(MessageStatus.FAILED, text=_short(text))
                    result.failed += 1
    with transaction.atomic():
        if error is not None:
            _classify(error, token, going, [m.pk for m in going], now, recorder, result)
        stored = recorder.write(messages)
        recorder.record_history(stored)
        if batch_id is not None:
            finish_batches(batch_id=batch_id, now=now)
    recorder.announce(stored, called=called)
    return result


def _classify(
    error: ZoomConnectError,
    token: str,
    going: Sequence[Message | _Claimed],
    pks: Sequence[int],
    now: datetime,
    recorder: _Recorder,
    result: DispatchResult,
) -> None:
    """Record what a failed call means for the messages it carried."""
    max_attempts = int(conf.get("SEND_MAX_ATTEMPTS"))
    what = f"{len(pks)} message(s)" if len(pks) > 1 else f"message {pks[0]}"
    if isinstance(error, AuthenticationError):
        pause_sending(f"Zoom Connect refused the credentials ({error.status})")
        _put_back(token, pks, now=now, delay=None, error=str(error), count_attempt=False)
        result.paused = True
        result.requeued += len(pks)
        for pk in pks:
            recorder.outcomes[pk] = _Outcome(MessageStatus.QUEUED, error=error)
        return
    if isinstance(error, InvalidRequestError):
        logger.warning("Zoom Connect refused %s for good: %s", what, error)
        for pk in pks:
            recorder.outcomes[pk] = _Outcome(
                MessageStatus.FAILED, error=error, text=_provider_error(error), code=error.code
            )
        result.failed += len(pks)
        return
    if isinstance(error, MayHaveBeenSentError):
        logger.warning("Sending %s may have succeeded (%s); it will be looked up first", what, error)
        result.reconcile_in = _mark_uncertain(token, pks, now=now, error=str(error))
        result.uncertain += len(pks)
        for pk in pks:
            recorder.outcomes[pk] = _Outcome(MessageStatus.UNCERTAIN, error=error)
        return
    # Not sent: a refused connection, a 429, or an answer that says nothing was done.
    rate_limited = isinstance(error, RateLimitedError)
    attempts = max(m.attempts for m in going)
    if not rate_limited and attempts >= max_attempts:
        text = _short(f"Gave up after {attempts} attempts: {error}")
        logger.error("Sending %s failed: %s", what, text)
        code = error.code if isinstance(error, ZoomConnectAPIError) else None
        for pk in pks:
            recorder.outcomes[pk] = _Outcome(MessageStatus.FAILED, error=error, text=text, code=code)
        result.failed += len(pks)
        return
    if rate_limited and isinstance(error, RateLimitedError) and error.retry_after is not None:
        delay = float(error.retry_after)
    else:
        delay = _backoff(attempts)
    logger.info("Sending %s was not done (%s); retrying in %.1fs", what, type(error).__name__, delay)
    if not isinstance(error, NotSentError | ZoomConnectAPIError):
        logger.warning("Unexpected error class %s treated as not sent", type(error).__name__)
    _put_back(token, pks, now=now, delay=delay, error=str(error), count_attempt=not rate_limited)
    result.requeued += len(pks)
    result.retry_in = delay
    for pk in pks:
        recorder.outcomes[pk] = _Outcome(MessageStatus.QUEUED, error=error)


def _client_or_default(client: ZoomConnectClient | None) -> ZoomConnectClient:
    return ZoomConnectClient.from_settings() if client is None else client


def dispatch_message(
    message_id: int, *, now: datetime | None = None, client: ZoomConnectClient | None = None
) -> DispatchResult:
    """Claim one queued message and send it through ``sms/send``; a no-op when nothing is claimable.

    Batch messages are sent through their chunk: a single-message task for one of them sends
    just that message (a retry of a batch message is dispatched like any other).
    """
    _require_autocommit()
    now = _now(now)
    if is_paused():
        return DispatchResult(paused=True)
    client = _client_or_default(client)
    token, messages = _claim(Q(pk=message_id), now)
    if not messages:
        return DispatchResult()
    return _dispatch(token, messages, now=now, client=client, bulk=False)


def dispatch_chunk(
    batch_id: int, chunk: int, *, now: datetime | None = None, client: ZoomConnectClient | None = None
) -> DispatchResult:
    """Claim the due queued messages of one chunk and send them in one ``sms/send-bulk`` call."""
    _require_autocommit()
    now = _now(now)
    if is_paused():
        return DispatchResult(paused=True)
    client = _client_or_default(client)
    token, messages = _claim(Q(batch_id=batch_id, chunk=chunk), now, batch_id=batch_id)
    if not messages:
        finish_batches(batch_id=batch_id, now=now)
        return DispatchResult()
    per_minute = Batch.objects.filter(pk=batch_id).values_list("messages_per_minute", flat=True).first()
    bulk_call = len(messages) > 1 or per_minute is not None
    return _dispatch(
        token,
        messages,
        now=now,
        client=client,
        bulk=bulk_call,
        messages_per_minute=per_minute,
        batch_id=batch_id,
    )


def finish_batches(*, batch_id: int | None = None, now: datetime | None = None) -> int:
    """Mark batches with nothing left to send ``DONE``; how many were."""
    batches = Batch.objects.filter(status__in=(Batch.Status.PENDING, Batch.Status.DISPATCHING))
    if batch_id is not None:
        batches = batches.filter(pk=batch_id)
    return batches.exclude(messages__status__in=PENDING_STATUSES).update(
        status=Batch.Status.DONE, finished_at=_now(now)
    )


def dispatch_due(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """Enqueue every queued message that is due and has no live task; the number of tasks.

    This is the scheduler (messages with a ``send_at`` become due) and the safety net (a task
    lost by the broker leaves its messages queued; after ``REQUEUE_AFTER`` seconds they are
    enqueued again). A duplicate task is harmless: it finds nothing left to claim.
    """
    now = _now(now)
    if is_paused():
        return 0
    stale = now - timedelta(seconds=float(conf.get("REQUEUE_AFTER")))
    due = Message.objects.filter(
        _due(now),
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=stale),
        status=MessageStatus.QUEUED,
        direction=Direction.OUTBOUND,
    )
    chunks: list[tuple[int, int]] = [
        (batch_id, chunk)
        for batch_id, chunk in due.filter(chunk__isnull=False, batch__isnull=False)
        .order_by()
        .values_list("batch_id", "chunk")
        .distinct()[:limit]
        if batch_id is not None and chunk is not None
    ]
    singles = list(
        due.filter(Q(chunk__isnull=True) | Q(batch__isnull=True)).values_list("pk", flat=True)[:limit]
    )
    for part in _slices(singles):
        due.filter(pk__in=part).update(enqueued_at=now)
    by_batch: dict[int, list[int]] = {}
    for batch_id, chunk in chunks:
        by_batch.setdefault(batch_id, []).append(chunk)
    for batch_id, numbers in by_batch.items():
        due.filter(batch_id=batch_id, chunk__in=numbers).update(enqueued_at=now)
        Batch.objects.filter(pk=batch_id, status=Batch.Status.DONE).update(
            status=Batch.Status.DISPATCHING, finished_at=None
        )
    for pk in singles:
        enqueue_message(pk)
    for batch_id, chunk in chunks:
        enqueue_chunk(batch_id, chunk)
    return len(singles) + len(chunks)


# --- cancel and retry ---------------------------------------------------------------------------


def _record(messages: Iterable[Message], old: str, new: str, source: str, detail: dict[str, Any]) -> None:
    """Store the status changes, and announce them once the transaction commits."""
    rows = [
        MessageStatusChange(message=m, old_status=old, new_status=new, source=source, detail=detail)
        for m in messages
    ]
    MessageStatusChange.objects.bulk_create(rows, batch_size=SLICE)

    def announce() -> None:
        for row in rows:
            signals.send_robustly(
                signals.message_status_changed,
                Message,
                message=row.message,
                old_status=old,
                new_status=new,
                source=source,
                event=None,
            )

    if signals.message_status_changed.receivers:
        transaction.on_commit(announce)


def _targets(target: Message | Batch | QuerySet[Message] | Iterable[Message]) -> Q:
    if isinstance(target, Batch):
        return Q(batch=target)
    if isinstance(target, Message):
        return Q(pk=target.pk)
    if isinstance(target, QuerySet):
        return Q(pk__in=target.values("pk"))
    return Q(pk__in=[m.pk for m in target])


def cancel(
    target: Message | Batch | QuerySet[Message] | Iterable[Message],
    *,
    client: ZoomConnectClient | None = None,
) -> int:
    """Cancel what has not been sent yet; the number of messages cancelled.

    A queued message (waiting for its ``send_at``, for a worker or for a retry) simply becomes
    ``CANCELLED``. A message the provider holds for later (``SCHEDULING = "provider"``, status
    ``SCHEDULED``) is deleted on Zoom Connect with ``DELETE messages/{id}``; the API documents
    that operation only as "deletes a message", not whether a deleted scheduled message is still
    sent, so this is best effort. A message being sent, or already sent, is left alone. A batch
    is marked ``CANCELLED`` as well.
    """
    now = timezone.now()
    match = _targets(target)
    token = uuid.uuid4().hex
    with transaction.atomic():
        Message.objects.filter(match, status=MessageStatus.QUEUED, direction=Direction.OUTBOUND).update(
            status=MessageStatus.CANCELLED, claim_token=token, dispatch_after=None, updated_at=now
        )
        cancelled = list(Message.objects.filter(claim_token=token, status=MessageStatus.CANCELLED))
        if isinstance(target, Batch):
            Batch.objects.filter(
                pk=target.pk, status__in=(Batch.Status.PENDING, Batch.Status.DISPATCHING)
            ).update(status=Batch.Status.CANCELLED, finished_at=now)
            target.refresh_from_db(fields=["status", "finished_at"])
        if cancelled:
            Message.objects.filter(claim_token=token).update(claim_token="")
            _record(
                cancelled, MessageStatus.QUEUED, MessageStatus.CANCELLED, MessageStatusChange.Source.USER, {}
            )
    scheduled = list(
        Message.objects.filter(
            match, status=MessageStatus.SCHEDULED, remote_id__isnull=False, direction=Direction.OUTBOUND
        )
    )
    if scheduled:
        client = _client_or_default(client)
        for message in scheduled:
            assert message.remote_id is not None
            try:
                client.delete_message(message.remote_id)
            except ZoomConnectError as exc:
                logger.warning("Could not delete scheduled message %s on Zoom Connect: %s", message.pk, exc)
                continue
            if Message.objects.filter(pk=message.pk, status=MessageStatus.SCHEDULED).update(
                status=MessageStatus.CANCELLED, updated_at=now
            ):
                _record(
                    [message],
                    MessageStatus.SCHEDULED,
                    MessageStatus.CANCELLED,
                    MessageStatusChange.Source.USER,
                    {"deleted_remotely": message.remote_id},
                )
                cancelled.append(message)
    if isinstance(target, Message):
        target.refresh_from_db(fields=["status", "updated_at"])
    return len(cancelled)


def retry(target: Message | Batch | QuerySet[Message] | Iterable[Message]) -> int:
    """Send failed messages again; the number queued.

    ``FAILED`` and ``FAILED_REFUNDED`` messages are retried (never ``FAILED_OPTOUT``, ``REJECTED``
    or ``CANCELLED``, and never a number that has opted out since). A message the provider never
    accepted (no remote id) is queued again as it is. A message the provider accepted and then
    failed to deliver is copied into a new message, with a new reference, so that the history of
    the first attempt stays as it was.
    """
    now = timezone.now()
    match = _targets(target)
    failed = list(
        Message.objects.filter(match, status__in=RETRYABLE_STATUSES, direction=Direction.OUTBOUND).order_by(
            "pk"
        )
    )
    if not failed:
        return 0
    opted_out = _opted_out(m.to_number for m in failed)
    failed = [m for m in failed if m.to_number not in opted_out]
    in_place = [m for m in failed if m.remote_id is None]
    copies = [m for m in failed if m.remote_id is not None]
    queued = 0
    with transaction.atomic():
        # A fresh reference each: a lookup of the new attempt must never find an earlier one.
        fresh = {m.pk: Message._meta.get_field("reference").get_default() for m in in_place}
        for part in _slices([m.pk for m in in_place]):
            queued += Message.objects.filter(
                pk__in=part, status__in=RETRYABLE_STATUSES, remote_id__isnull=True
            ).update(
                status=MessageStatus.QUEUED,
                attempts=0,
                claim_token=_RETRYING,
                dispatch_after=None,
                enqueued_at=now,
                last_error="",
                error_code=None,
                updated_at=now,
            )
        bulk.update_each(
            Message,
            ("reference", "claim_token"),
            ("id", "claim_token"),
            [(fresh[m.pk], "", m.pk, _RETRYING) for m in in_place],
        )
        requeued = list(Message.objects.filter(pk__in=[m.pk for m in in_place], reference__in=fresh.values()))
        new_rows = [
            Message(
                direction=Direction.OUTBOUND,
                to_number=m.to_number,
                body=m.body,
                campaign=m.campaign,
                data_field=m.data_field,
                encoding=m.encoding,
                parts=m.parts,
                credit_cost=m.credit_cost,
                contact_id=m.contact_id,
                template_id=m.template_id,
                batch_id=m.batch_id,
                status=MessageStatus.QUEUED,
                enqueued_at=now,
            )
            for m in copies
        ]
        created = Message.objects.bulk_create(new_rows, batch_size=SLICE)
        queued += len(created)
        before = {m.pk: m for m in in_place}
        history.record(
            [
                StatusChange(
                    m.pk,
                    before[m.pk].status,
                    MessageStatus.QUEUED,
                    MessageStatusChange.Source.USER,
                    {"retry": True, "previous_reference": before[m.pk].reference},
                )
                for m in requeued
            ],
            now=now,
        )
        batch_ids = {m.batch_id for m in requeued if m.batch_id is not None} | {
            m.batch_id for m in created if m.batch_id is not None
        }
        if batch_ids:
            Batch.objects.filter(pk__in=batch_ids, status=Batch.Status.DONE).update(
                status=Batch.Status.DISPATCHING, finished_at=None
            )
        chunks: set[tuple[int, int]] = set()
        for message in requeued:
            if message.batch_id is None or message.chunk is None:
                enqueue_message(message.pk)
            else:
                chunks.add((message.batch_id, message.chunk))
        for batch_id, chunk in sorted(chunks):
            enqueue_chunk(batch_id, chunk)
        for message in created:
            enqueue_message(message.pk)
    return queued
