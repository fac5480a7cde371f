"""Retention: message texts blanked, status history and webhook events deleted when they are old enough.

:func:`apply_retention` is what the ``apply_retention`` beat task and the ``zoomconnect_retention``
command run. Each kind has its setting, in days (``None`` keeps it for ever):

* ``MESSAGE_BODY_RETENTION_DAYS``: a finished message (a final status) created longer ago has its
  ``body`` and ``remote_data`` (the provider's copy of the text) blanked. The row stays, with its
  numbers, status, dates, campaign and cost, for the delivery statistics, the threads of replies
  and the opt-outs; a person's number goes with :func:`~.erasure.erase_number`, not with age;
* ``STATUS_HISTORY_RETENTION_DAYS``: status history entries recorded longer ago are deleted;
* ``WEBHOOK_EVENT_RETENTION_DAYS``: stored webhook events, by
  :func:`~.inbound.housekeeping.old_events` (the same rule as ``cleanup_webhook_events``: an event
  whose nonce still guards against a replay is kept).

Work goes in batches of :data:`BATCH` rows, each one bounded query (primary keys by the primary
key's order, then one UPDATE or DELETE of those), so that no run loads a table or holds a long
lock; the run holds the ``retention`` lease (:mod:`.leases`), so that only one runs at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import conf
from ..models import FINAL_STATUSES, Message, MessageStatusChange
from . import leases
from .inbound.housekeeping import old_events
from .reports import Counts

__all__ = ["BATCH", "RetentionReport", "apply_retention"]

logger = logging.getLogger("django_zoomconnect.services.retention")

#: Rows per query.
BATCH = 1000
#: The lease's name and length; renewed after every batch.
LEASE = "retention"
LEASE_SECONDS = 300.0


@dataclass
class RetentionReport(Counts):
    """What :func:`apply_retention` did (or, with ``dry_run``, would do)."""

    dry_run: bool = False
    #: Another process held the lease: nothing was done.
    busy: bool = False
    bodies_blanked: int = 0
    status_changes_deleted: int = 0
    webhook_events_deleted: int = 0


def _cutoff(setting: str, now: datetime) -> datetime | None:
    days: int | None = conf.get(setting)
    return None if days is None else now - timedelta(days=days)


def apply_retention(*, dry_run: bool = False, now: datetime | None = None) -> RetentionReport:
    """Blank old messages' texts and delete old status history and webhook events, per the settings.

    ``dry_run`` counts what would go (one COUNT per kind) and changes nothing. A run that finds
    the lease taken returns at once with ``busy`` set.
    """
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    bodies = _cutoff("MESSAGE_BODY_RETENTION_DAYS", now)
    history = _cutoff("STATUS_HISTORY_RETENTION_DAYS", now)
    event_days: int | None = conf.get("WEBHOOK_EVENT_RETENTION_DAYS")
    old_history = None if history is None else MessageStatusChange.objects.filter(changed_at__lt=history)
    old_webhooks = None if event_days is None else old_events(days=event_days, now=now)
    if dry_run:
        if bodies is not None:
            report.bodies_blanked = _old_texts(bodies).count()
        if old_history is not None:
            report.status_changes_deleted = old_history.count()
        if old_webhooks is not None:
            report.webhook_events_deleted = old_webhooks.count()
        return report
    with leases.held(LEASE, seconds=LEASE_SECONDS) as lease:
        if lease is None:
            report.busy = True
            return report
        if bodies is not None:
            report.bodies_blanked = _blank_texts(bodies, lease)
        if old_history is not None:
            report.status_changes_deleted = _delete_in_batches(old_history, lease)
        if old_webhooks is not None:
            report.webhook_events_deleted = _delete_in_batches(old_webhooks, lease)
    if report.bodies_blanked or report.status_changes_deleted or report.webhook_events_deleted:
        logger.info("Retention applied: %s", report.as_dict())
    return report


def _old_texts(cutoff: datetime) -> QuerySet[Message]:
    return Message.objects.filter(created_at__lt=cutoff, status__in=FINAL_STATUSES).exclude(
        body="", remote_data={}
    )


def _blank_texts(cutoff: datetime, lease: leases.Held) -> int:
    """Blank the texts of finished messages created before ``cutoff``, a batch at a time."""
    done, last = 0, 0
    candidates = _old_texts(cutoff)
    while True:
        pks = list(candidates.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not pks:
            return done
        last = pks[-1]
        with transaction.atomic():
            done += Message.objects.filter(pk__in=pks).update(body="", remote_data={})
        lease.renew()


def _delete_in_batches(old: QuerySet[Any], lease: leases.Held) -> int:
    """Delete the rows of ``old``, oldest first, a batch at a time."""
    done = 0
    while True:
        pks = list(old.order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not pks:
            return done
        deleted, _ = old.filter(pk__in=pks).delete()
        done += deleted
        lease.renew()
        if len(pks) < BATCH:
            return done
