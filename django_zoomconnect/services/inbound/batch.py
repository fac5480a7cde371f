"""Applying stored webhook events many at a time (``WEBHOOK_PROCESSING = "batch"``).

Why: with ``"batch"`` a webhook costs its request one INSERT (``store.store_event``), and the
reports it stored are applied here, a batch at a time, with one query per step of the batch
(the events, their messages, the messages' new statuses, the history, the events' outcomes)
instead of several per report. The result is the one ``processing`` gives event by event: a
status only moves forward, ``sent_at``/``delivered_at`` are filled once, a report that overtook
the send's answer adopts its remote id, an unknown message defers the report, an unknown status
fails it, ``FAILED_OPTOUT`` opts the number out, and the signals go out after commit, in the
order the reports arrived.

Why a lease: one applier at a time (``services.leases``) keeps the signals of one message in
order even when beat and a command start an applier together. Replies, which are rare and
touch contacts and threads, are applied one at a time after their batch commits.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.utils import timezone

from ... import conf, signals
from ...events import REPLY, DeliveryReport, event_from_params
from ...models import PROVIDER_STATUSES, Direction, Message, MessageStatus, WebhookEvent
from .. import history, leases, optouts
from .. import rows as bulk
from ..history import StatusChange
from .processing import (
    EVENT_FIELDS,
    REPORT_FIELDS,
    UnknownStatusError,
    announce_report,
    failure,
    process_event,
    report_change,
    status_update,
)

logger = logging.getLogger(__name__)

__all__ = ["BATCH_SIZE", "LEASE", "Applied", "apply_pending"]

#: Events applied per transaction by default.
BATCH_SIZE = 1000
#: The lease that lets one applier run at a time, and how long a silent holder keeps it.
LEASE = "webhook-applier"
LEASE_SECONDS = 300.0

_MESSAGE_FIELDS = ("status", "sent_at", "delivered_at", "updated_at", "remote_id")
_Announcement = tuple[int, DeliveryReport, StatusChange | None]


@dataclass
class Applied:
    """What :func:`apply_pending` did: events by resulting state, batches, and whether it was busy."""

    states: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    #: Another applier held the lease: nothing was done.
    busy: bool = False

    @property
    def total(self) -> int:
        return sum(self.states.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.total,
            "states": {str(state): count for state, count in self.states.items()},
            "batches": self.batches,
            "busy": self.busy,
        }


def apply_pending(*, limit: int | None = None, batch_size: int = BATCH_SIZE) -> Applied:
    """Apply the ``PENDING`` events, oldest first, ``batch_size`` per transaction, until none is left
    (or ``limit`` were applied); :class:`Applied` says what became of them.

    Every event ends ``PROCESSED``, ``DEFERRED`` or ``FAILED``, as with ``process_event``. If a
    batch fails as a whole (a database error, a bug), its events are applied one at a time
    instead, so one bad event cannot hold the others back. When another applier holds the lease,
    nothing is done and ``busy`` is true.
    """
    if batch_size < 1 or (limit is not None and limit < 1):
        raise ValueError("batch_size and limit must be at least 1")
    result = Applied()
    if not WebhookEvent.objects.filter(state=WebhookEvent.State.PENDING).exists():
        return result  # the usual beat run between webhooks: one query, no lease
    with leases.held(LEASE, seconds=LEASE_SECONDS) as lease:
        if lease is None:
            result.busy = True
            return result
        while True:
            size = batch_size if limit is None else min(batch_size, limit - result.total)
            states = _apply_batch(size)
            result.states.update(states)
            if not states:
                break
            result.batches += 1
            if sum(states.values()) < size or (limit is not None and result.total >= limit):
                break
            if not lease.renew():
                break  # it expired and another applier took it: that one goes on
    return result


def _apply_batch(size: int) -> Counter[str]:
    pks: list[int] = []
    replies: list[int] = []
    states: Counter[str] = Counter()
    try:
        with transaction.atomic():
            events = list(
                WebhookEvent.objects.select_for_update()
                .filter(state=WebhookEvent.State.PENDING)
                .order_by("received_at", "pk")
                .values_list("pk", "kind", "params", "received_at", "attempts", "account")[:size]
            )
            pks = [event[0] for event in events]
            replies = [pk for pk, kind, *_ in events if kind == REPLY]
            # Each account's reports match its own messages only.
            by_account: dict[str, list[tuple[int, str, Any, datetime, int]]] = {}
            for *event, account in events:
                if event[1] != REPLY:
                    by_account.setdefault(account, []).append(tuple(event))
            for account, reports in by_account.items():
                states.update(_apply_reports(reports, account))
    except Exception:
        if not pks:
            raise  # the events could not even be read: nothing was taken
        logger.exception(
            "Applying %d webhook events as a batch failed; applying them one at a time", len(pks)
        )
        return Counter(str(process_event(pk).state) for pk in pks)
    for pk in replies:
        states[str(process_event(pk).state)] += 1
    return states


def _apply_reports(events: Sequence[tuple[int, str, Any, datetime, int]], account: str) -> Counter[str]:
    """Apply report events of one account in the caller's transaction; their new states, counted."""
    now = timezone.now()
    outcomes: list[SimpleNamespace] = []
    reports: list[tuple[int, datetime, int, DeliveryReport]] = []
    for pk, kind, params, received_at, attempts in events:
        try:
            report = event_from_params(kind, params, conf.api_timezone(), event_id=pk)
            if not isinstance(report, DeliveryReport):  # pragma: no cover - replies never come here
                raise TypeError(f"event {pk} is not a delivery report")
            if report.status not in PROVIDER_STATUSES:
                raise UnknownStatusError(f"delivery report with unknown status {report.status!r}")
        except Exception as exc:
            failed = failure(exc)
            state, error, trace = failed["state"], failed["error"], failed["traceback"]
            outcomes.append(_outcome(pk, attempts, state=state, error=error, traceback=trace))
            continue
        reports.append((pk, received_at, attempts, report))
    found, used = _messages(reports, account)
    written: dict[int, dict[str, Any]] = {}
    changes: list[StatusChange] = []
    announcements: list[_Announcement] = []
    opted_out: list[tuple[str, int]] = []
    adopted = False
    for pk, received_at, attempts, report in reports:
        row = found.get(("id", report.message_id)) if report.message_id else None
        if row is None and report.data_field:
            row = found.get(("reference", report.data_field))
        if row is None:
            outcomes.append(_outcome(pk, attempts, state=WebhookEvent.State.DEFERRED))
            continue
        message_pk: int = row["pk"]
        if not row["remote_id"] and report.message_id and report.message_id not in used:
            row["remote_id"] = report.message_id  # the report overtook the send's answer: keep its id
            adopted = True
            used.add(report.message_id)
            found[("id", report.message_id)] = row
            written[message_pk] = row
        old_status: str = row["status"]
        fields = status_update(row, report.status, at=received_at, now=now)
        change = None
        if fields is not None:
            row.update(fields)
            written[message_pk] = row
            change = report_change(message_pk, old_status, pk, report)
            changes.append(change)
        if report.status == MessageStatus.FAILED_OPTOUT:
            opted_out.append((row["to_number"], message_pk))
        announcements.append((message_pk, report, change))
        outcomes.append(
            _outcome(
                pk, attempts, state=WebhookEvent.State.PROCESSED, message_pk=message_pk, processed_at=now
            )
        )
    # The remote id column only when a report adopted one: one array fewer to send and write.
    names = _MESSAGE_FIELDS if adopted else _MESSAGE_FIELDS[:-1]
    bulk.update_by_pk(
        Message,
        [
            SimpleNamespace(pk=pk, **{name: row.get(name, now) for name in names})
            for pk, row in written.items()
        ],
        names,
    )
    history.record(changes, now=now, announced=False)
    bulk.update_by_pk(WebhookEvent, outcomes, EVENT_FIELDS)
    for number, message_pk in opted_out:
        optouts.opt_out(
            number, source=optouts.Source.DELIVERY_REPORT, detail="FAILED_OPTOUT", message=message_pk
        )
    if announcements:
        transaction.on_commit(partial(_announce, announcements))
    return Counter(str(outcome.state) for outcome in outcomes)


def _messages(
    reports: Sequence[tuple[int, datetime, int, DeliveryReport]], account: str
) -> tuple[dict[tuple[str, str], dict[str, Any]], set[str]]:
    """The outbound messages the reports are about, locked, by ``("id", remote id)`` and by
    ``("reference", our reference)``; and every remote id of the batch that a message already has.

    As ``processing`` finds them: by remote id, else by our reference among the messages without
    a remote id yet (never by a caller's ``dataField``). One query per step, whatever the size.
    """
    found: dict[tuple[str, str], dict[str, Any]] = {}
    used: set[str] = set()
    remote_ids = sorted({report.message_id for *_, report in reports if report.message_id})
    locked = Message.objects.select_for_update().filter(account=account).order_by("pk")
    for ids in bulk.batched(remote_ids, bulk.SLICE):
        for row in locked.filter(remote_id__in=ids).values(*REPORT_FIELDS, "direction"):
            used.add(row["remote_id"])
            if row.pop("direction") == Direction.OUTBOUND:
                found[("id", row["remote_id"])] = row
    references = sorted(
        {
            report.data_field
            for *_, report in reports
            if report.data_field and ("id", report.message_id) not in found
        }
    )
    outbound = locked.filter(direction=Direction.OUTBOUND, data_field="", remote_id__isnull=True)
    for refs in bulk.batched(references, bulk.SLICE):
        for row in outbound.filter(reference__in=refs).values(*REPORT_FIELDS, "reference"):
            found[("reference", row.pop("reference"))] = row
    return found, used


def _outcome(
    pk: int,
    attempts: int,
    *,
    state: object,
    message_pk: int | None = None,
    processed_at: datetime | None = None,
    error: object = "",
    traceback: object = "",
) -> SimpleNamespace:
    """An event's new columns, for one bulk UPDATE."""
    return SimpleNamespace(
        pk=pk,
        state=state,
        message_id=message_pk,
        attempts=attempts + 1,
        error=error,
        traceback=traceback,
        processed_at=processed_at,
    )


def _announce(announcements: Sequence[_Announcement]) -> None:
    """The batch's signals, in the order its reports arrived, with the messages read once."""
    changed = any(change is not None for _, _, change in announcements)
    if not (
        signals.delivery_report_received.has_listeners(Message)
        or (changed and signals.message_status_changed.has_listeners(Message))
    ):
        return
    messages: dict[int, Message] = {}
    pks = sorted({pk for pk, _, _ in announcements})
    for chunk in bulk.batched(pks, bulk.SLICE):
        messages.update((message.pk, message) for message in Message.objects.filter(pk__in=chunk))
    for pk, report, change in announcements:
        message = messages.get(pk)
        if message is not None:  # else deleted since
            announce_report(pk, report, change, message)
