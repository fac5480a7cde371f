"""Webhook processing: store verified events, then apply replies and delivery reports exactly once.

Why events are stored raw before anything else: the provider's retry behaviour is undocumented,
so the only safe answer to a genuine webhook is 2xx as soon as it cannot be lost. The unique
``nonce`` of :class:`~django_zoomconnect.models.WebhookEvent` makes the insert itself the replay
check; processing may then fail, be retried, or run on Celery, without the event being lost or
applied twice.

Why processing is order-tolerant: reports can overtake each other and even overtake the send's
own response. A status therefore only moves forward (``STATUS_RANK``), and a report for a message
that is not known yet is kept as ``DEFERRED`` and applied by :func:`apply_deferred_reports` when
the message appears.

Why processing is idempotent: the provider retries with a fresh nonce (a retry is a new request
to it), so the same reply or report can arrive as two events. A reply whose remote id is already
stored is linked, not stored again; a report that changes nothing changes nothing.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from .. import conf, phone, signals, storable
from ..events import DELIVERY_REPORT, REPLY, DeliveryReport, InboundReply, event_from_params
from ..models import (
    PROVIDER_STATUSES,
    STATUS_RANK,
    Contact,
    Direction,
    Message,
    MessageStatus,
    MessageStatusChange,
    SyncState,
    WebhookEvent,
)
from ..signing import CHECKSUM_PARAMETER
from . import history, optouts
from .history import StatusChange

logger = logging.getLogger(__name__)

__all__ = [
    "InvalidWebhookError",
    "UnknownStatusError",
    "apply_deferred_reports",
    "check_params",
    "delete_old_events",
    "is_opt_out_keyword",
    "process_event",
    "receive",
    "reprocess_events",
    "store_event",
    "sweep_events",
]

_SENT_STATUSES = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED})
_MAX_ERROR = 2000
WEBHOOK = MessageStatusChange.Source.WEBHOOK


class UnknownStatusError(ValueError):
    """A delivery report carries a status this package does not know; recorded on the event."""


class InvalidWebhookError(ValueError):
    """Parameters that no processing could ever store; the webhook view answers 400 with the text."""


# --- checking ----------------------------------------------------------------------------------

#: Parameter -> the column its value is stored in, per kind (the nonce is always stored).
#: A longer value would be a database error on PostgreSQL and MySQL (and silently kept whole by
#: SQLite): an event that fails every time it is processed. A report's ``status`` fits its column
#: when it is a status at all; the others of a report are only looked up, never stored.
_COLUMNS: dict[str, dict[str, tuple[type[Any], str]]] = {
    REPLY: {
        "nonce": (WebhookEvent, "nonce"),
        "messageId": (Message, "remote_id"),
        "from": (Message, "from_number"),
        "to": (Message, "to_number"),
        "campaign": (Message, "campaign"),
        "dataField": (Message, "data_field"),
    },
    DELIVERY_REPORT: {
        "nonce": (WebhookEvent, "nonce"),
        "messageId": (Message, "remote_id"),
        "status": (Message, "status"),
    },
}


def _width(model: type[Any], field: str) -> int:
    width: int = model._meta.get_field(field).max_length
    return width


def check_params(kind: str, params: Mapping[str, str]) -> None:
    """Raise :class:`InvalidWebhookError` for parameters that could never be stored.

    A NUL character or a lone surrogate anywhere, or a value longer than the column it goes to,
    would make every processing attempt fail: such an event is refused before it is stored.
    """
    if kind not in _COLUMNS:
        raise ValueError(f"unknown webhook kind {kind!r}")
    for key, value in params.items():
        found = storable.problem(key) or storable.problem(value)
        if found:
            raise InvalidWebhookError(f"parameter {key!r} contains {found}")
    for key, (model, field) in _COLUMNS[kind].items():
        width = _width(model, field)
        if len(params.get(key, "")) > width:
            raise InvalidWebhookError(f"{key} is longer than {width} characters")


# --- storing -----------------------------------------------------------------------------------


def store_event(
    kind: str, params: Mapping[str, str], *, nonce: str, nonce_expires_at: datetime | None
) -> WebhookEvent | None:
    """Store a verified webhook as a ``PENDING`` event, or ``None`` when its nonce was seen before.

    The nonce's unique constraint decides: the insert and the replay check are one statement,
    so two deliveries of the same webhook racing each other store it once.
    Parameters that could never be stored raise :class:`InvalidWebhookError` (see
    :func:`check_params`).
    """
    check_params(kind, params)
    try:
        with transaction.atomic():
            return _create(kind, params, nonce, nonce_expires_at)
    except IntegrityError:
        if WebhookEvent.objects.filter(nonce=nonce).exists():
            return None
        raise


def _create(
    kind: str, params: Mapping[str, str], nonce: str, nonce_expires_at: datetime | None, **fields: Any
) -> WebhookEvent:
    if kind not in (REPLY, DELIVERY_REPORT):
        raise ValueError(f"unknown webhook kind {kind!r}")
    return WebhookEvent.objects.create(
        kind=kind,
        params=dict(params),
        nonce=nonce,
        nonce_expires_at=nonce_expires_at,
        remote_message_id=params.get("messageId", "")[:64],
        data_field=params.get("dataField", "")[:255],
        **fields,
    )


# --- processing --------------------------------------------------------------------------------

_Signal = Callable[[], object]


def _process(stored: WebhookEvent) -> None:
    """Apply ``stored`` in the caller's transaction and save its new state; raises on failure."""
    normalized = event_from_params(stored.kind, stored.params, conf.api_timezone(), event_id=stored.pk)
    pending: list[_Signal] = []
    if isinstance(normalized, DeliveryReport):
        message_pk = _apply_report(stored, normalized, pending)
    else:
        message_pk = _store_reply(stored, normalized, pending).pk
    stored.state = WebhookEvent.State.DEFERRED if message_pk is None else WebhookEvent.State.PROCESSED
    stored.message_id = message_pk
    stored.attempts += 1
    stored.error = ""
    stored.traceback = ""
    stored.processed_at = None if message_pk is None else timezone.now()
    stored.save(update_fields=("state", "message", "attempts", "error", "traceback", "processed_at"))
    for send in pending:
        transaction.on_commit(send)


def _failure(exc: BaseException) -> dict[str, object]:
    return {
        "state": WebhookEvent.State.FAILED,
        "error": f"{type(exc).__name__}: {exc}"[:_MAX_ERROR],
        "traceback": "".join(traceback.format_exception(exc)),
    }


class _ProcessingFailed(Exception):
    """Carries a processing error out of the transaction it rolled back."""


def receive(
    kind: str, params: Mapping[str, str], *, nonce: str, nonce_expires_at: datetime | None
) -> WebhookEvent | None:
    """Store a verified webhook and process it at once; ``None`` when its nonce was seen before.

    The insert and the processing share one transaction (the event row is the first thing
    written, so a duplicate delivery waits on its nonce and then finds it), which saves a commit
    per webhook. When processing fails, that transaction is rolled back and the event is stored
    again on its own as ``FAILED``, with the error and traceback: it is never lost.
    Parameters that could never be stored raise :class:`InvalidWebhookError` instead.
    """
    check_params(kind, params)
    try:
        with transaction.atomic():
            event = _create(kind, params, nonce, nonce_expires_at)
            try:
                _process(event)
            except Exception as exc:
                raise _ProcessingFailed from exc
            return event
    except _ProcessingFailed as failed:
        cause = failed.__cause__ or failed
        logger.error(
            "Processing a %s webhook failed; it is kept as failed for reprocessing", kind, exc_info=cause
        )
        try:
            with transaction.atomic():
                return _create(kind, params, nonce, nonce_expires_at, attempts=1, **_failure(cause))
        except IntegrityError:
            if WebhookEvent.objects.filter(nonce=nonce).exists():
                return None
            raise
    except IntegrityError:
        if WebhookEvent.objects.filter(nonce=nonce).exists():
            return None
        raise


def process_event(event: WebhookEvent | int) -> WebhookEvent:
    """Apply a stored event (or its primary key); the event as stored afterwards.

    A processing failure is not raised: the event is marked ``FAILED`` with the error and
    traceback (``reprocess_events`` tries again), because the webhook it came from was already
    answered and the caller, such as a Celery task, has nothing better to do with it. An event
    already ``PROCESSED`` is left alone; one whose message is not known yet becomes
    ``DEFERRED``. Signals are sent with ``send_robust`` once the surrounding transaction commits.
    """
    pk = event.pk if isinstance(event, WebhookEvent) else event
    try:
        with transaction.atomic():
            stored = WebhookEvent.objects.select_for_update().get(pk=pk)
            if stored.state != WebhookEvent.State.PROCESSED:
                _process(stored)
            return stored
    except WebhookEvent.DoesNotExist:
        raise
    except Exception as exc:
        logger.exception("Processing webhook event %s failed; it is kept as failed for reprocessing", pk)
        WebhookEvent.objects.filter(pk=pk).update(attempts=F("attempts") + 1, **_failure(exc))
        return WebhookEvent.objects.get(pk=pk)


#: What applying a report needs of its message: a light row, not a model instance.
_REPORT_FIELDS = ("pk", "remote_id", "status", "to_number", "sent_at", "delivered_at")


def _find_outbound(remote_id: str, data_field: str) -> dict[str, Any] | None:
    """The outbound message a report is about: by remote id, else by our reference in ``dataField``.

    The reference is matched only against messages without a remote id yet (the report overtook
    the send's response). A ``dataField`` the caller chose proves nothing: a report carries no
    number or text, and another message with the same ``dataField`` (another app's, an earlier
    one) must never mark an unsent message sent. Such a report waits (``DEFERRED``) until the
    send's answer stores the remote id. The row is locked until the transaction ends, so reports
    for one message apply one at a time.
    """
    outbound = (
        Message.objects.select_for_update()
        .filter(direction=Direction.OUTBOUND)
        .order_by()
        .values(*_REPORT_FIELDS)
    )
    if remote_id:
        found: list[dict[str, Any]] = list(outbound.filter(remote_id=remote_id)[:1])
        if found:
            return found[0]
    if data_field:
        by_reference: list[dict[str, Any]] = list(
            outbound.filter(reference=data_field, data_field="", remote_id__isnull=True)[:1]
        )
        if by_reference:
            return by_reference[0]
    return None


def _adopt_remote_id(pk: int, remote_id: str) -> None:
    # The report knows the remote id before the send's response was stored: keep it, so that
    # later reports and replies find the message directly. Conditional, so it never overwrites.
    if not remote_id or len(remote_id) > 64 or Message.objects.filter(remote_id=remote_id).exists():
        return
    Message.objects.filter(pk=pk, remote_id__isnull=True).update(remote_id=remote_id)


def _apply_report(event: WebhookEvent, report: DeliveryReport, pending: list[_Signal]) -> int | None:
    """Apply a report to its message; the message's primary key, or ``None`` to defer."""
    status = report.status
    if status not in PROVIDER_STATUSES:
        raise UnknownStatusError(f"delivery report with unknown status {status!r}")
    row = _find_outbound(report.message_id, report.data_field)
    if row is None:
        return None
    pk: int = row["pk"]
    if not row["remote_id"]:
        _adopt_remote_id(pk, report.message_id)
    old_status: str = row["status"]
    change = None
    if STATUS_RANK[status] > STATUS_RANK.get(old_status, -1):
        at = event.received_at
        now = timezone.now()
        fields: dict[str, Any] = {"status": status, "updated_at": now}
        if status in _SENT_STATUSES and row["sent_at"] is None:
            fields["sent_at"] = at
        if status == MessageStatus.DELIVERED and row["delivered_at"] is None:
            fields["delivered_at"] = at
        Message.objects.filter(pk=pk).update(**fields)
        detail = {"webhook_event": event.pk, "nonce": report.nonce}
        change = StatusChange(
            pk, old_status, status, MessageStatusChange.Source.WEBHOOK, detail, event=report
        )
        history.record([change], now=now, announced=False)
    if status == MessageStatus.FAILED_OPTOUT:
        optouts.opt_out(
            row["to_number"], source=optouts.Source.DELIVERY_REPORT, detail="FAILED_OPTOUT", message=pk
        )
    pending.append(partial(_announce_report, pk, report, change))
    return pk


def _announce_report(pk: int, report: DeliveryReport, change: StatusChange | None) -> None:
    """``delivery_report_received``, then ``message_status_changed`` if the report moved the status."""
    listened = signals.delivery_report_received.has_listeners(Message) or (
        change is not None and signals.message_status_changed.has_listeners(Message)
    )
    message = Message.objects.filter(pk=pk).first() if listened else None
    if message is None:
        return  # nobody listens, or deleted since
    signals.send_robustly(
        signals.delivery_report_received,
        Message,
        message=message,
        event=report,
        status_changed=change is not None,
    )
    if change is not None:
        history.announce([change], {pk: message})


def is_opt_out_keyword(text: str) -> bool:
    """Whether a reply is an opt-out: the whole trimmed text is one of ``OPT_OUT_KEYWORDS``.

    Only the whole message counts ("stop" or " STOP "), never a word inside a sentence ("don't
    stop sending"), so that a conversation is not mistaken for an opt-out.
    """
    keywords: frozenset[str] = conf.get("OPT_OUT_KEYWORDS")
    return conf.normalize_keyword(text) in keywords


def _reply_target(reply: InboundReply, from_number: str) -> Message | None:
    outbound = Message.objects.filter(direction=Direction.OUTBOUND)
    if reply.replied_to_message_id:
        found = outbound.filter(remote_id=reply.replied_to_message_id).first()
        if found is not None:
            return found
    if reply.data_field:
        by_reference = outbound.filter(reference=reply.data_field).first()
        if by_reference is not None:
            return by_reference
        # A caller's own dataField may be shared by many messages: the latest one to this number.
        return outbound.filter(data_field=reply.data_field, to_number=from_number).order_by("-pk").first()
    return None


def _store_reply(event: WebhookEvent, reply: InboundReply, pending: list[_Signal]) -> Message:
    from_number = phone.stored_form(reply.from_number)
    in_reply_to = _reply_target(reply, from_number)
    existing = Message.objects.filter(remote_id=reply.message_id).first() if reply.message_id else None
    if existing is not None:
        # The same reply again (a provider retry, or pulled by a sync first): link, never duplicate.
        if existing.in_reply_to_id is None and in_reply_to is not None:
            existing.in_reply_to = in_reply_to
            existing.save(update_fields=["in_reply_to", "updated_at"])
        return existing
    message = Message(
        direction=Direction.INBOUND,
        remote_id=reply.message_id or None,
        from_number=from_number,
        to_number=reply.to_number,
        body=reply.text,
        campaign=reply.campaign,
        data_field=reply.data_field,
        status=MessageStatus.RECEIVED,
        received_at=reply.date or event.received_at,
        contact=Contact.objects.filter(phone_number=from_number).first(),
        in_reply_to=in_reply_to,
        # The checksum is no data of the message; anyone holding it could re-split the raw form.
        remote_data={key: value for key, value in reply.params.items() if key != CHECKSUM_PARAMETER},
        sync_state=SyncState.SYNCED,
        synced_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        existing = Message.objects.filter(remote_id=reply.message_id).first() if reply.message_id else None
        if existing is None:
            raise
        return existing  # stored concurrently by another event of the same reply
    if is_opt_out_keyword(reply.text):
        optouts.opt_out(
            from_number, source=optouts.Source.KEYWORD, detail=reply.text.strip(), message=message
        )
    pending.append(
        partial(signals.send_robustly, signals.message_received, Message, message=message, event=reply)
    )
    return message


# --- reprocessing and housekeeping -------------------------------------------------------------


def apply_deferred_reports(message: Message) -> int:
    """Apply the reports that arrived before ``message`` was known; how many were applied.

    The sending service calls this right after storing a remote id. Replies stored before their
    outbound message was known are linked to it as well.
    """
    if message.direction != Direction.OUTBOUND:
        return 0
    match = Q()
    if message.remote_id:
        match |= Q(remote_message_id=message.remote_id)
    references = {message.reference, message.data_field} - {""}
    if references:
        match |= Q(data_field__in=references)
    if not match:
        return 0
    deferred = WebhookEvent.objects.filter(
        match, kind=DELIVERY_REPORT, state=WebhookEvent.State.DEFERRED
    ).order_by("received_at", "pk")
    applied = 0
    for pk in list(deferred.values_list("pk", flat=True)):
        if process_event(pk).state == WebhookEvent.State.PROCESSED:
            applied += 1
    if message.remote_id:
        Message.objects.filter(
            direction=Direction.INBOUND,
            in_reply_to__isnull=True,
            remote_data__repliedToMessageId=message.remote_id,
        ).update(in_reply_to=message)
    return applied


def reprocess_events(events: QuerySet[WebhookEvent] | Iterable[WebhookEvent | int]) -> Counter[str]:
    """Process stored events again (``PROCESSED`` ones are skipped); a count of resulting states.

    Used by the admin action, the ``zoomconnect_webhooks reprocess`` command and the Celery
    task: events that failed (a bug, a database outage) or were deferred get another chance.
    """
    if isinstance(events, QuerySet):
        pks: list[int] = list(events.order_by("received_at", "pk").values_list("pk", flat=True))
    else:
        pks = [item.pk if isinstance(item, WebhookEvent) else item for item in events]
    states: Counter[str] = Counter()
    for pk in pks:
        try:
            states[process_event(pk).state] += 1
        except WebhookEvent.DoesNotExist:
            continue
    return states


def delete_old_events(*, days: int | None = None, now: datetime | None = None) -> int:
    """Delete events received more than ``days`` ago (default ``WEBHOOK_EVENT_RETENTION_DAYS``).

    An event whose nonce has not expired yet (plus the grace) is kept whatever its age, so that
    deleting it cannot let a replay of it in. ``None`` retention keeps everything.
    """
    if days is None:
        days = conf.get("WEBHOOK_EVENT_RETENTION_DAYS")
        if days is None:
            return 0
    if days < 0:
        raise ValueError("days must be zero or more")
    now = now or timezone.now()
    grace = timedelta(seconds=float(conf.get("WEBHOOK_NONCE_GRACE")))
    old = WebhookEvent.objects.filter(received_at__lt=now - timedelta(days=days)).filter(
        Q(nonce_expires_at__isnull=True) | Q(nonce_expires_at__lt=now - grace)
    )
    deleted, _ = old.delete()
    return deleted


def sweep_events(
    *, pending_older_than: timedelta = timedelta(minutes=5), deferred_limit: int = 1000
) -> Counter[str]:
    """Process events a lost Celery message left ``PENDING``, and retry recent ``DEFERRED`` ones.

    A periodic safety net: with ``WEBHOOK_PROCESSING = "celery"`` an event whose task never ran
    stays pending, and a report whose message was adopted by a sync (which does not call
    :func:`apply_deferred_reports`) stays deferred. Newest deferred events first, at most
    ``deferred_limit`` a run, so that reports for messages that never appear cannot starve it.
    """
    cutoff = timezone.now() - pending_older_than
    pending = WebhookEvent.objects.filter(state=WebhookEvent.State.PENDING, received_at__lt=cutoff)
    deferred = WebhookEvent.objects.filter(state=WebhookEvent.State.DEFERRED).order_by("-received_at", "-pk")
    pks = list(pending.order_by("received_at", "pk").values_list("pk", flat=True))
    pks += list(deferred.values_list("pk", flat=True)[:deferred_limit])
    return reprocess_events(pks)
