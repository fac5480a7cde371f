"""Housekeeping of stored webhook events: deferred reports, reprocessing, sweeping and deleting."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from ... import conf
from ...events import DELIVERY_REPORT
from ...models import Direction, Message, WebhookEvent
from .processing import process_event

__all__ = ["apply_deferred_reports", "delete_old_events", "old_events", "reprocess_events", "sweep_events"]


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
        match, account=message.account, kind=DELIVERY_REPORT, state=WebhookEvent.State.DEFERRED
    ).order_by("received_at", "pk")
    applied = 0
    for pk in list(deferred.values_list("pk", flat=True)):
        if process_event(pk).state == WebhookEvent.State.PROCESSED:
            applied += 1
    if message.remote_id:
        Message.objects.filter(
            account=message.account,
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
    deleted, _ = old_events(days=days, now=now).delete()
    return deleted


def old_events(*, days: int, now: datetime | None = None) -> QuerySet[WebhookEvent]:
    """The events :func:`delete_old_events` deletes: older than ``days``, their nonce expired."""
    if days < 0:
        raise ValueError("days must be zero or more")
    now = now or timezone.now()
    grace = timedelta(seconds=float(conf.get("WEBHOOK_NONCE_GRACE")))
    return WebhookEvent.objects.filter(received_at__lt=now - timedelta(days=days)).filter(
        Q(nonce_expires_at__isnull=True) | Q(nonce_expires_at__lt=now - grace)
    )


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
