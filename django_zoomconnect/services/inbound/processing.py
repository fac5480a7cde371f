"""Applying stored webhooks one at a time: a reply becomes a message, a report moves a status.

Why processing is order-tolerant: reports can overtake each other and even overtake the send's
own response. A status therefore only moves forward (``STATUS_RANK``, see
:func:`status_update`), and a report for a message that is not known yet is kept as
``DEFERRED`` and applied by ``apply_deferred_reports`` when the message appears.

Why processing is idempotent: the provider retries with a fresh nonce (a retry is a new request
to it), so the same reply or report can arrive as two events. A reply whose remote id is already
stored is linked, not stored again; a report that changes nothing changes nothing.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import F
from django.utils import timezone

from ... import conf, phone, signals
from ...events import DELIVERY_REPORT, DeliveryReport, InboundReply, event_from_params
from ...models import (
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
from ...signing import CHECKSUM_PARAMETER
from .. import history, optouts, rows
from ..history import StatusChange
from .store import check_params, event_fields, insert_event

logger = logging.getLogger(__name__)

__all__ = [
    "UnknownStatusError",
    "announce_report",
    "failure",
    "is_opt_in_keyword",
    "is_opt_out_keyword",
    "process_event",
    "receive",
    "status_update",
]

_SENT_STATUSES = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED})
_MAX_ERROR = 2000
WEBHOOK = MessageStatusChange.Source.WEBHOOK
#: What applying a report needs of its message: a light row, not a model instance.
REPORT_FIELDS = ("pk", "remote_id", "status", "to_number", "sent_at", "delivered_at")
#: What processing writes on an event.
EVENT_FIELDS = ("state", "message_id", "attempts", "error", "traceback", "processed_at")


class UnknownStatusError(ValueError):
    """A delivery report carries a status this package does not know; recorded on the event."""


def _create(
    kind: str,
    params: Mapping[str, str],
    nonce: str,
    nonce_expires_at: datetime | None,
    account: str,
    **fields: Any,
) -> WebhookEvent:
    return WebhookEvent.objects.create(
        **event_fields(kind, params, nonce, nonce_expires_at, account), **fields
    )


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
    rows.update_by_pk(WebhookEvent, [stored], EVENT_FIELDS)
    for send in pending:
        transaction.on_commit(send)


def failure(exc: BaseException) -> dict[str, object]:
    return {
        "state": WebhookEvent.State.FAILED,
        "error": f"{type(exc).__name__}: {exc}"[:_MAX_ERROR],
        "traceback": "".join(traceback.format_exception(exc)),
    }


class _ProcessingFailed(Exception):
    """Carries a processing error out of the transaction it rolled back."""


def receive(
    kind: str,
    params: Mapping[str, str],
    *,
    nonce: str,
    nonce_expires_at: datetime | None,
    account: str = conf.DEFAULT_ACCOUNT,
) -> WebhookEvent | None:
    """Store a verified webhook and process it at once; ``None`` when its nonce was seen before.

    The insert and the processing share one transaction, which saves a commit per webhook. Where
    the database locks rows, a delivery report's message is found and locked first and the event
    is inserted in its final state (one statement fewer than an insert and an update); a
    duplicate delivery waits on that lock, then its INSERT finds the nonce and writes nothing.
    SQLite locks the whole database at the first write instead: there, the event row is the
    first thing written, so that two requests never both read before either writes. When
    processing fails, that transaction is rolled back and the event is stored again on its own as
    ``FAILED``, with the error and traceback: it is never lost. Parameters that could never be
    stored raise :class:`InvalidWebhookError` instead.
    """
    check_params(kind, params)
    fields = event_fields(kind, params, nonce, nonce_expires_at, account)
    try:
        with transaction.atomic():
            if kind == DELIVERY_REPORT and _locks_rows():
                return _receive_report(fields)
            fields["state"] = WebhookEvent.State.PENDING
            event = insert_event(fields, timezone.now())
            if event is None:
                return None
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
                return _create(kind, params, nonce, nonce_expires_at, account, attempts=1, **failure(cause))
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
        WebhookEvent.objects.filter(pk=pk).update(attempts=F("attempts") + 1, **failure(exc))
        return WebhookEvent.objects.get(pk=pk)


def status_update(
    row: Mapping[str, Any], status: str, *, at: datetime, now: datetime
) -> dict[str, Any] | None:
    """The fields a report of ``status`` received ``at`` writes on a message ``row``, or ``None``.

    ``None`` when the status would not move forward (the report is older news, or repeats it).
    ``sent_at`` and ``delivered_at`` are filled once, with the time the report arrived.
    """
    if STATUS_RANK[status] <= STATUS_RANK.get(row["status"], -1):
        return None
    fields: dict[str, Any] = {"status": status, "updated_at": now}
    if status in _SENT_STATUSES and row["sent_at"] is None:
        fields["sent_at"] = at
    if status == MessageStatus.DELIVERED and row["delivered_at"] is None:
        fields["delivered_at"] = at
    return fields


def report_change(pk: int, old_status: str, event_pk: int, report: DeliveryReport) -> StatusChange:
    """The history entry of a report that moved message ``pk`` from ``old_status``."""
    detail = {"webhook_event": event_pk, "nonce": report.nonce}
    return StatusChange(pk, old_status, report.status, WEBHOOK, detail, event=report)


def _message_field(name: str) -> models.Field[Any, Any]:
    field = Message._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _column(name: str) -> str:
    column = _message_field(name).column
    assert column
    return column


# The two statements a report in the request runs of its own, built once per database: the
# hottest of a webhook, where building them through the ORM cost more than running them.


@lru_cache(maxsize=16)
def _lookup_sql(alias: str, by_reference: bool) -> str:
    """The statement :func:`_find_outbound` runs."""
    connection = connections[alias]
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(_column(name))

    where = [f"{column('account')} = %s", f"{column('direction')} = %s"]
    if by_reference:
        where += [f"{column('reference')} = %s", f"{column('data_field')} = ''"]
        where.append(f"{column('remote_id')} IS NULL")
    else:
        where.append(f"{column('remote_id')} = %s")
    selected = ", ".join(column("id" if name == "pk" else name) for name in REPORT_FIELDS)
    locking = f" {connection.ops.for_update_sql()}" if connection.features.has_select_for_update else ""
    return (
        f"SELECT {selected} FROM {quote(Message._meta.db_table)} WHERE {' AND '.join(where)} "  # noqa: S608
        f"{connection.ops.limit_offset_sql(0, 1)}{locking}"
    )


@lru_cache(maxsize=64)
def _update_sql(alias: str, names: tuple[str, ...]) -> str:
    """``UPDATE`` of one message's ``names`` by primary key: planned faster than a bulk statement."""
    quote = connections[alias].ops.quote_name
    assigned = ", ".join(f"{quote(_column(name))} = %s" for name in names)
    key = quote(_column("id"))
    return f"UPDATE {quote(Message._meta.db_table)} SET {assigned} WHERE {key} = %s"  # noqa: S608


def _update_message(pk: int, values: Mapping[str, Any]) -> None:
    alias = router.db_for_write(Message)
    connection = connections[alias]
    params = [_message_field(name).get_db_prep_save(value, connection) for name, value in values.items()]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(alias, tuple(values)), [*params, pk])


def _find_outbound(account: str, remote_id: str, data_field: str) -> dict[str, Any] | None:
    """The outbound message a report is about: by remote id, else by our reference in ``dataField``.

    The reference is matched only against messages without a remote id yet (the report overtook
    the send's response). A ``dataField`` the caller chose proves nothing: a report carries no
    number or text, and another message with the same ``dataField`` (another app's, an earlier
    one) must never mark an unsent message sent. Such a report waits (``DEFERRED``) until the
    send's answer stores the remote id. The row is locked until the transaction ends, so reports
    for one message apply one at a time. The row's dates are only ever compared with ``None``.
    """
    alias = router.db_for_write(Message)
    with connections[alias].cursor() as cursor:
        for by_reference, value in ((False, remote_id), (True, data_field)):
            if value:
                cursor.execute(_lookup_sql(alias, by_reference), (account, Direction.OUTBOUND.value, value))
                found = cursor.fetchone()
                if found is not None:
                    return dict(zip(REPORT_FIELDS, found, strict=True))
    return None


def _adopt_remote_id(account: str, pk: int, remote_id: str) -> None:
    # The report knows the remote id before the send's response was stored: keep it, so that
    # later reports and replies find the message directly. Conditional, so it never overwrites.
    if not remote_id or len(remote_id) > 64:
        return
    if Message.objects.filter(account=account, remote_id=remote_id).exists():
        return
    Message.objects.filter(pk=pk, remote_id__isnull=True).update(remote_id=remote_id)


def _locks_rows() -> bool:
    return bool(connections[router.db_for_write(Message)].features.has_select_for_update)


def _check_status(report: DeliveryReport) -> None:
    if report.status not in PROVIDER_STATUSES:
        raise UnknownStatusError(f"delivery report with unknown status {report.status!r}")


def _apply_report(event: WebhookEvent, report: DeliveryReport, pending: list[_Signal]) -> int | None:
    """Apply a report to its message; the message's primary key, or ``None`` to defer."""
    _check_status(report)
    row = _find_outbound(event.account, report.message_id, report.data_field)
    if row is None:
        return None
    _apply_to(row, event.account, event.pk, event.received_at, report, pending)
    return int(row["pk"])


def _apply_to(
    row: dict[str, Any],
    account: str,
    event_pk: int,
    received_at: datetime,
    report: DeliveryReport,
    pending: list[_Signal],
) -> None:
    """Apply ``report`` (of event ``event_pk``) to the locked message ``row``, in the caller's
    transaction; its signals are added to ``pending``."""
    pk: int = row["pk"]
    if not row["remote_id"]:
        _adopt_remote_id(account, pk, report.message_id)
    old_status: str = row["status"]
    change = None
    now = timezone.now()
    fields = status_update(row, report.status, at=received_at, now=now)
    if fields is not None:
        _update_message(pk, fields)
        change = report_change(pk, old_status, event_pk, report)
        history.record([change], now=now, announced=False)
    if report.status == MessageStatus.FAILED_OPTOUT:
        optouts.opt_out(
            row["to_number"], source=optouts.Source.DELIVERY_REPORT, detail="FAILED_OPTOUT", message=pk
        )
    pending.append(partial(announce_report, pk, report, change))


def _receive_report(fields: dict[str, Any]) -> WebhookEvent | None:
    """:func:`receive` of a delivery report where rows can be locked, in its transaction: the
    message found and locked, then the event inserted as it ends (processed or deferred), then
    the message written. A duplicate nonce inserts nothing and changes nothing."""
    params = fields["params"]
    try:
        report = DeliveryReport.from_params(params, conf.api_timezone())
        _check_status(report)
        row = _find_outbound(fields["account"], report.message_id, report.data_field)
    except Exception as exc:
        raise _ProcessingFailed from exc
    now = timezone.now()
    fields["state"] = WebhookEvent.State.DEFERRED if row is None else WebhookEvent.State.PROCESSED
    fields["message_id"] = None if row is None else row["pk"]
    fields["attempts"] = 1
    fields["processed_at"] = None if row is None else now
    event = insert_event(fields, now)
    if event is None or row is None:
        return event
    pending: list[_Signal] = []
    try:
        _apply_to(row, event.account, event.pk, now, replace(report, event_id=event.pk), pending)
    except Exception as exc:
        raise _ProcessingFailed from exc
    for send in pending:
        transaction.on_commit(send)
    return event


def announce_report(
    pk: int, report: DeliveryReport, change: StatusChange | None, message: Message | None = None
) -> None:
    """``delivery_report_received``, then ``message_status_changed`` if the report moved the status.

    ``message`` is the row to send, when the caller loaded it; else it is read here, and only
    when someone listens.
    """
    listened = signals.delivery_report_received.has_listeners(Message) or (
        change is not None and signals.message_status_changed.has_listeners(Message)
    )
    if not listened:
        return
    if message is None:
        message = Message.objects.filter(pk=pk).first()
    if message is None:
        return  # deleted since
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


def is_opt_in_keyword(text: str) -> bool:
    """Whether a reply lifts its sender's opt-out: the whole trimmed text is one of
    ``OPT_IN_KEYWORDS`` and none of ``OPT_OUT_KEYWORDS`` (a word in both opts out)."""
    keywords: frozenset[str] = conf.get("OPT_IN_KEYWORDS")
    return bool(keywords) and conf.normalize_keyword(text) in keywords and not is_opt_out_keyword(text)


def _reply_target(account: str, reply: InboundReply, from_number: str) -> Message | None:
    outbound = Message.objects.filter(account=account, direction=Direction.OUTBOUND)
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
    account = event.account
    in_reply_to = _reply_target(account, reply, from_number)
    same_account = Message.objects.filter(account=account)
    existing = same_account.filter(remote_id=reply.message_id).first() if reply.message_id else None
    if existing is not None:
        # The same reply again (a provider retry, or pulled by a sync first): link, never duplicate.
        if existing.in_reply_to_id is None and in_reply_to is not None:
            existing.in_reply_to = in_reply_to
            existing.save(update_fields=["in_reply_to", "updated_at"])
        return existing
    message = Message(
        account=account,
        direction=Direction.INBOUND,
        remote_id=reply.message_id or None,
        from_number=from_number,
        to_number=reply.to_number,
        body=reply.text,
        campaign=reply.campaign,
        data_field=reply.data_field,
        status=MessageStatus.RECEIVED,
        received_at=reply.date or event.received_at,
        contact=Contact.objects.filter(account=account, phone_number=from_number).first(),
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
        existing = same_account.filter(remote_id=reply.message_id).first() if reply.message_id else None
        if existing is None:
            raise
        return existing  # stored concurrently by another event of the same reply
    if is_opt_out_keyword(reply.text):
        optouts.opt_out(
            from_number, source=optouts.Source.KEYWORD, detail=reply.text.strip(), message=message
        )
    elif is_opt_in_keyword(reply.text):
        optouts.opt_in(from_number, source=optouts.Source.KEYWORD, detail=reply.text.strip(), message=message)
    pending.append(
        partial(signals.send_robustly, signals.message_received, Message, message=message, event=reply)
    )
    return message
