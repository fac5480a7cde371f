"""Settle what the outbox cannot know by itself: lost claims, ambiguous sends, unreported statuses.

Why looking up comes before resending: a read timeout, a dropped connection or a 5xx may hide a
message the provider accepted. Such a message is ``UNCERTAIN`` until :func:`reconcile_uncertain`
has asked ``messages/all?dataField=<reference>``: a record found is adopted (its remote id and
status), and only when the provider has none is the message queued again. The lookup waits
``RECONCILE_AFTER`` seconds first, so that a message the provider is still writing is found.

Why a lease: a worker that dies between its claim and its answer leaves messages ``SENDING``.
:func:`sweep` treats a claim older than ``CLAIM_LEASE_SECONDS`` as lost and makes its messages
``UNCERTAIN`` (the call may have gone out), never ``QUEUED``.

Every write here is conditional on the state the decision was made from (status and attempt
count), so two reconcilers, or a reconciler racing a late worker, cannot both act.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .. import conf, phone, signals
from .. import types as api
from ..client import ZoomConnectClient
from ..exceptions import AuthenticationError, ZoomConnectError
from ..models import (
    PROVIDER_STATUSES,
    STATUS_RANK,
    Direction,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
)
from . import rows as bulk
from . import sending

logger = logging.getLogger(__name__)

__all__ = ["PollResult", "ReconcileResult", "find_remote", "reconcile_uncertain", "refresh_statuses", "sweep"]

#: Stop a run after this many lookups in a row failed: the provider is unwell, try next time.
MAX_CONSECUTIVE_ERRORS = 5
_POLLED_STATUSES = (MessageStatus.SENT, MessageStatus.UNKNOWN)


@dataclass
class ReconcileResult:
    adopted: int = 0
    requeued: int = 0
    failed: int = 0
    unresolved: int = 0
    paused: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class PollResult:
    polled: int = 0
    changed: int = 0
    errors: int = 0
    paused: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Take back expired claims (as ``UNCERTAIN``), finish batches, re-enqueue lost tasks."""
    now = timezone.now() if now is None else now
    lease = timedelta(seconds=float(conf.get("CLAIM_LEASE_SECONDS")))
    expired = Message.objects.filter(
        status=MessageStatus.SENDING, direction=Direction.OUTBOUND, claimed_at__lt=now - lease
    ).update(
        status=MessageStatus.UNCERTAIN,
        dispatch_after=now,
        last_error="The worker that claimed it did not report back within CLAIM_LEASE_SECONDS.",
        updated_at=now,
    )
    if expired:
        logger.warning(
            "%d message(s) were claimed by a worker that never reported back; looking them up", expired
        )
    finished = sending.finish_batches(now=now)
    enqueued = sending.dispatch_due(now=now)
    return {"expired_claims": expired, "batches_finished": finished, "tasks_enqueued": enqueued}


def find_remote(client: ZoomConnectClient, message: Message, *, limit: int = 1000) -> list[api.Message]:
    """The provider's outbound messages that may be ``message``: same ``dataField`` and number.

    With the message's own reference as ``dataField`` there is at most one. A ``dataField`` the
    caller chose may be shared, so the text must match too when several are found.
    """
    found = []
    for remote in client.iter_messages(data_field=sending.wire_data_field(message), type="OUTBOUND"):
        if remote.message_id and remote.to_number and _same_number(remote.to_number, message.to_number):
            found.append(remote)
        limit -= 1
        if limit <= 0:
            break
    if len(found) > 1:
        found = [remote for remote in found if remote.message == message.body] or found
    return found


def _same_number(remote: str, stored: str) -> bool:
    # Stored numbers are E.164; the provider usually answers with the same spelling.
    return remote == stored or phone.same_number(remote, stored)


def _adopted_status(remote: api.Message, message: Message, now: datetime) -> str:
    status = remote.status if remote.status in PROVIDER_STATUSES else MessageStatus.SENT
    if status == MessageStatus.SCHEDULED and sending._date_to_send(message, now) is None:
        # The provider's SCHEDULED also means "accepted, not out yet" for an immediate send.
        return MessageStatus.SENT
    return str(status)


def _adopt(message: Message, candidates: list[api.Message], now: datetime) -> str | None:
    """Store the first candidate no other row holds (the unique remote id says); the status, or None."""
    for remote in candidates:
        if not remote.message_id:
            continue
        status = _adopted_status(remote, message, now)
        fields: dict[str, Any] = {
            "remote_id": remote.message_id,
            "status": status,
            "claim_token": "",
            "dispatch_after": None,
            "last_error": "",
            "error_code": None,
            "remote_data": remote.raw,
            "updated_at": now,
        }
        if status not in (MessageStatus.SCHEDULED,):
            fields["sent_at"] = remote.sent_at or now
        if status == MessageStatus.DELIVERED:
            fields["delivered_at"] = now
        if remote.credit_cost is not None:
            fields["credit_cost"] = round(remote.credit_cost, 2)
        try:
            with transaction.atomic():
                updated = Message.objects.filter(
                    pk=message.pk, status=MessageStatus.UNCERTAIN, attempts=message.attempts
                ).update(**fields)
        except IntegrityError:
            continue
        if not updated:
            return None
        message.remote_id = remote.message_id
        message.status = status
        return status
    return None


def _requeue(message: Message, now: datetime) -> bool:
    """Back to ``QUEUED`` for a new attempt; the caller wakes a worker for it."""
    updated = Message.objects.filter(
        pk=message.pk, status=MessageStatus.UNCERTAIN, attempts=message.attempts
    ).update(
        status=MessageStatus.QUEUED,
        claim_token="",
        dispatch_after=None,
        enqueued_at=now,
        last_error="Not found on Zoom Connect after an uncertain send; sending again.",
        updated_at=now,
    )
    return bool(updated)


def _give_up(message: Message, now: datetime) -> bool:
    text = (
        f"Not found on Zoom Connect after {message.attempts} uncertain attempts "
        f"(SEND_MAX_ATTEMPTS): {message.last_error}"
    )
    updated = Message.objects.filter(
        pk=message.pk, status=MessageStatus.UNCERTAIN, attempts=message.attempts
    ).update(
        status=MessageStatus.FAILED,
        claim_token="",
        dispatch_after=None,
        last_error=text[:2000],
        updated_at=now,
    )
    return bool(updated)


def _record(changes: list[tuple[Message, str, str, str, dict[str, Any]]], now: datetime) -> None:
    """Store status changes in one statement, then announce them (fresh rows only if listened to)."""
    with transaction.atomic():
        bulk.insert(
            MessageStatusChange,
            [
                {"message_id": m.pk, "old_status": old, "new_status": new, "source": source, "detail": detail}
                for m, old, new, source, detail in changes
            ],
            now=now,
        )
    if not signals.message_status_changed.receivers:
        return
    for message, old, new, source, _ in changes:
        message.refresh_from_db()
        signals.send_robustly(
            signals.message_status_changed,
            Message,
            message=message,
            old_status=old,
            new_status=new,
            source=source,
            event=None,
        )


def reconcile_uncertain(
    *, now: datetime | None = None, limit: int = 1000, client: ZoomConnectClient | None = None
) -> ReconcileResult:
    """Look up each uncertain message that is due; adopt what the provider has, resend the rest."""
    now = timezone.now() if now is None else now
    result = ReconcileResult()
    if sending.is_paused():
        result.paused = True
        return result
    due = list(
        Message.objects.filter(
            Q(dispatch_after__isnull=True) | Q(dispatch_after__lte=now),
            status=MessageStatus.UNCERTAIN,
            direction=Direction.OUTBOUND,
        ).order_by("dispatch_after", "pk")[:limit]
    )
    if not due:
        return result
    client = ZoomConnectClient.from_settings() if client is None else client
    max_attempts = int(conf.get("SEND_MAX_ATTEMPTS"))
    retry_later = now + timedelta(seconds=float(conf.get("RECONCILE_AFTER")))
    errors_in_a_row = 0
    settled_batches: set[int] = set()
    requeued_chunks: set[tuple[int, int]] = set()
    requeued_singles: list[int] = []
    changes: list[tuple[Message, str, str, str, dict[str, Any]]] = []
    adopted: list[Message] = []
    for message in due:
        try:
            candidates = find_remote(client, message)
        except AuthenticationError as exc:
            sending.pause_sending(f"Zoom Connect refused the credentials ({exc.status})")
            result.paused = True
            break
        except ZoomConnectError as exc:
            logger.info("Could not look up uncertain message %s yet: %s", message.pk, exc)
            Message.objects.filter(pk=message.pk, status=MessageStatus.UNCERTAIN).update(
                dispatch_after=retry_later
            )
            result.unresolved += 1
            errors_in_a_row += 1
            if errors_in_a_row >= MAX_CONSECUTIVE_ERRORS:
                break
            continue
        errors_in_a_row = 0
        source = MessageStatusChange.Source.SEND
        if candidates:
            status = _adopt(message, candidates, now)
            if status is None:
                result.unresolved += 1
                continue
            changes.append((message, MessageStatus.UNCERTAIN, status, source, {"reconciled": True}))
            adopted.append(message)
            result.adopted += 1
        elif message.attempts >= max_attempts:
            if not _give_up(message, now):
                continue
            changes.append((message, MessageStatus.UNCERTAIN, MessageStatus.FAILED, source, {}))
            result.failed += 1
        else:
            if _requeue(message, now):
                result.requeued += 1
                if message.batch_id is not None and message.chunk is not None:
                    requeued_chunks.add((message.batch_id, message.chunk))
                else:
                    requeued_singles.append(message.pk)
            continue
        if message.batch_id is not None:
            settled_batches.add(message.batch_id)
    _record(changes, now)
    sending._apply_deferred_reports(adopted)
    for batch_id in sorted(settled_batches):
        sending.finish_batches(batch_id=batch_id, now=now)
    # Woken once per chunk, after the loop: the messages of a chunk go out together again.
    for pk in requeued_singles:
        sending.enqueue_message(pk)
    for batch_id, chunk in sorted(requeued_chunks):
        sending.enqueue_chunk(batch_id, chunk)
    if result.adopted or result.requeued or result.failed:
        logger.info("Reconciled uncertain sends: %s", result.as_dict())
    return result


def refresh_statuses(
    *, now: datetime | None = None, limit: int = 500, client: ZoomConnectClient | None = None
) -> PollResult:
    """Poll the provider for sent messages that no delivery report has settled.

    A message qualifies ``STATUS_POLL_AFTER`` seconds after it was sent (or after the time the
    provider was to send it), at most every ``STATUS_POLL_AFTER`` seconds, until it is
    ``STATUS_POLL_MAX_AGE`` seconds old. Statuses only move forward.
    """
    now = timezone.now() if now is None else now
    result = PollResult()
    if sending.is_paused():
        result.paused = True
        return result
    after = now - timedelta(seconds=float(conf.get("STATUS_POLL_AFTER")))
    oldest = now - timedelta(seconds=float(conf.get("STATUS_POLL_MAX_AGE")))
    stale = list(
        Message.objects.filter(
            Q(status__in=_POLLED_STATUSES, sent_at__lte=after, sent_at__gte=oldest)
            | Q(status=MessageStatus.SCHEDULED, scheduled_at__lte=after, scheduled_at__gte=oldest),
            Q(polled_at__isnull=True) | Q(polled_at__lte=after),
            remote_id__isnull=False,
            direction=Direction.OUTBOUND,
        ).order_by("polled_at", "pk")[:limit]
    )
    if not stale:
        return result
    client = ZoomConnectClient.from_settings() if client is None else client
    polled: list[int] = []
    changes: list[tuple[Message, str, str, str, dict[str, Any]]] = []
    errors_in_a_row = 0
    for message in stale:
        try:
            remote = next(
                (r for r in find_remote(client, message) if r.message_id == message.remote_id), None
            )
        except AuthenticationError as exc:
            sending.pause_sending(f"Zoom Connect refused the credentials ({exc.status})")
            result.paused = True
            break
        except ZoomConnectError as exc:
            logger.info("Could not poll the status of message %s: %s", message.pk, exc)
            result.errors += 1
            errors_in_a_row += 1
            if errors_in_a_row >= MAX_CONSECUTIVE_ERRORS:
                break
            continue
        errors_in_a_row = 0
        polled.append(message.pk)
        if remote is None or remote.status not in PROVIDER_STATUSES:
            continue
        if STATUS_RANK[remote.status] <= STATUS_RANK.get(message.status, -1):
            continue
        fields: dict[str, Any] = {"status": remote.status, "updated_at": now}
        if message.sent_at is None and remote.status != MessageStatus.SCHEDULED:
            fields["sent_at"] = remote.sent_at or now
        if remote.status == MessageStatus.DELIVERED:
            fields["delivered_at"] = now
        if Message.objects.filter(pk=message.pk, status=message.status).update(**fields):
            changes.append((message, message.status, str(remote.status), MessageStatusChange.Source.POLL, {}))
            if remote.status == MessageStatus.FAILED_OPTOUT:
                OptOut.objects.get_or_create(
                    phone_number=message.to_number,
                    defaults={
                        "source": OptOut.Source.DELIVERY_REPORT,
                        "detail": "FAILED_OPTOUT (status poll)",
                        "message": message,
                    },
                )
            result.changed += 1
    for part in sending._slices(polled):
        Message.objects.filter(pk__in=part).update(polled_at=now)
    _record(changes, now)
    result.polled = len(polled)
    return result
