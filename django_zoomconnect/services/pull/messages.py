"""Pull messages: outbound by sent date, then inbound by received date, page by page, in bulk.

Without ``since``, a pull starts :data:`MESSAGE_OVERLAP` before the newest message already pulled
of each direction (or at the beginning on the first run). Outbound messages go first so that a
reply finds the message it answers. A status only moves forward
(:data:`~django_zoomconnect.models.STATUS_RANK`); each move is recorded in the status history and
announced with ``message_status_changed`` (source ``"sync"``) after commit. A known value is never
replaced by an empty one. Messages are history: one the account lists as deleted is marked, never
removed, and a message missing from a date range says nothing.

An outbound row without a remote id is linked to a listed message only when that message can be
the row's own send (:func:`~django_zoomconnect.services.outbox.lookup.is_this_attempt`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from ... import conf
from ...client import ZoomConnectClient
from ...models import (
    STATUS_RANK,
    Contact,
    Direction,
    Message,
    MessageStatus,
    MessageStatusChange,
    SyncState,
    WebhookEvent,
)
from ...wire import Message as RemoteMessage
from .. import history
from ..history import StatusChange
from ..mapping import message_fields, message_status
from ..outbox.lookup import is_this_attempt
from ..reports import KindReport, SyncReport
from ..rows import batched
from .engine import (
    BATCH_SIZE,
    SYNC_FIELDS,
    Context,
    Loaded,
    Numbers,
    Writes,
    differs,
    load_values,
    mark_synced,
    new_row,
    write,
    writing,
)

__all__ = ["MESSAGE_OVERLAP", "MESSAGE_PAGE_SIZE", "pull_messages"]

#: Messages per ``messages/all`` page: the provider's own default, the one size known to work.
MESSAGE_PAGE_SIZE = 100
#: How far before the newest pulled message an incremental pull starts again.
MESSAGE_OVERLAP = timedelta(days=1)
SYNC = MessageStatusChange.Source.SYNC

#: Outbound rows whose send may be on the account: queued again after an attempt nobody found,
#: being sent, or uncertain. Only these are adopted by a listed message.
_ADOPTABLE_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.UNCERTAIN)
#: Of those, the ones a message with the caller's own ``dataField`` may be adopted by.
_IN_FLIGHT = frozenset({MessageStatus.SENDING, MessageStatus.UNCERTAIN})
#: What a message pull reads of existing rows: what it compares, adopts by, and may write.
_MESSAGE_FIELDS = (
    "direction",
    "claimed_at",
    "remote_id",
    "reference",
    "from_number",
    "to_number",
    "body",
    "campaign",
    "data_field",
    "status",
    "scheduled_at",
    "sent_at",
    "received_at",
    "parts",
    "credit_cost",
    "read",
    "contact_id",
    "in_reply_to_id",
    "remote_data",
    "synced_at",
    "sync_state",
    "sync_error",
    "updated_at",
)


def _resume_from(account: str, direction: str, moment: str) -> datetime | None:
    """Where an incremental pull of one direction starts: a margin before the newest pulled."""
    newest = (
        Message.objects.filter(account=account, direction=direction, remote_id__isnull=False)
        .aggregate(newest=Max(moment))
        .get("newest")
    )
    return None if newest is None else newest - MESSAGE_OVERLAP


def pull_messages(api: ZoomConnectClient, ctx: Context) -> None:
    """Pull outbound messages by sent date, then inbound ones by received date, page by page."""
    report, since, until, dry_run = ctx.report, ctx.since, ctx.until, ctx.dry_run
    progress, page_size, numbers = ctx.progress, ctx.page_size, ctx.numbers
    counts = report.kind("messages")
    account = ctx.account
    outbound_from = since if since is not None else _resume_from(account, Direction.OUTBOUND, "sent_at")
    inbound_from = since if since is not None else _resume_from(account, Direction.INBOUND, "received_at")
    walks: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
        (
            Direction.OUTBOUND,
            api.iter_messages,
            {"type": "OUTBOUND", "sent_from": outbound_from, "sent_to": until},
        ),
        (
            Direction.INBOUND,
            api.iter_messages,
            {"type": "INBOUND", "received_from": inbound_from, "received_to": until},
        ),
    ]
    total: int | None = None
    if progress is not None:
        total = 0
        for _, _, filters in walks:
            total += api.list_messages(page=1, page_size=1, **filters).total_elements or 0
        progress("messages", 0, total)
    deferred = (
        not dry_run
        and WebhookEvent.objects.filter(
            account=account, kind=WebhookEvent.Kind.DELIVERY_REPORT, state=WebhookEvent.State.DEFERRED
        ).exists()
    )
    done = 0
    for direction, walk, filters in walks:
        for batch in batched(walk(page_size=page_size, **filters), BATCH_SIZE):
            _pull_message_batch(
                batch,
                direction,
                counts,
                report,
                dry_run=dry_run,
                numbers=numbers,
                deferred=deferred,
                account=account,
            )
            done += len(batch)
            if progress is not None:
                progress("messages", done, total)


def _pull_message_batch(
    batch: list[RemoteMessage],
    direction: str,
    counts: KindReport,
    report: SyncReport,
    *,
    dry_run: bool,
    numbers: Numbers,
    deferred: bool,
    account: str,
) -> None:
    now = timezone.now()
    items: dict[str, RemoteMessage] = {}
    for item in batch:
        if not item.message_id or len(item.message_id) > 64:
            counts.skipped += 1
            report.note(
                "messages", item.message_id or "(no id)", "the account listed a message without a usable id"
            )
        elif item.message_id not in items:
            items[item.message_id] = item
    replied_to = {item.replied_to_message_id for item in items.values() if item.replied_to_message_id}
    data_fields = (
        {item.data_field for item in items.values() if item.data_field}
        if direction == Direction.OUTBOUND
        else set()
    )
    writes = Writes()
    moves: list[tuple[Loaded, str, str]] = []
    linked: list[str] = []
    with writing(dry_run):
        match = Q(remote_id__in=[*items, *replied_to])
        if data_fields:
            match |= Q(
                remote_id__isnull=True, direction=Direction.OUTBOUND, status__in=_ADOPTABLE_STATUSES
            ) & (Q(reference__in=data_fields) | Q(data_field__in=data_fields))
        rows = load_values(Message.objects.filter(match, account=account), _MESSAGE_FIELDS, dry_run)
        by_remote = {row.remote_id: row for row in rows if row.remote_id}
        for stored in rows:
            numbers.stored(stored.to_number)
            numbers.stored(stored.from_number)
        unlinked = _Unlinked([row for row in rows if row.remote_id is None], numbers)
        contact_for = _contact_finder(items.values(), direction, numbers, account)
        for message_id, item in items.items():
            values = message_fields(item, numbers)
            state = SyncState.REMOTE_DELETED if item.deleted else SyncState.SYNCED
            status = message_status(item.status, direction)
            contact_id = contact_for(item)
            original = by_remote.get(item.replied_to_message_id or "")
            row = by_remote.get(message_id)
            adopted = False
            if row is None and direction == Direction.OUTBOUND and item.data_field:
                row = unlinked.take(item)
                adopted = row is not None
            if row is None:
                values.update(
                    direction=direction,
                    status=status,
                    contact_id=contact_id,
                    in_reply_to_id=original.pk if original is not None else None,
                )
                writes.creates.append(new_row(message_id, values, item.raw, now, state, account=account))
                counts.created += 1
                linked.append(message_id)
                continue
            changed = differs(row, values)
            for name in changed:
                setattr(row, name, values[name])
            if adopted:
                row.remote_id = message_id
                changed.append("remote_id")
                linked.append(message_id)
            if STATUS_RANK.get(status, -1) > STATUS_RANK.get(row.status, -1):
                moves.append((row, row.status, status))
                row.status = status
                changed.append("status")
            if row.contact_id is None and contact_id is not None:
                row.contact_id = contact_id
                changed.append("contact")
            if row.in_reply_to_id is None and original is not None and original.pk != row.pk:
                row.in_reply_to_id = original.pk
                changed.append("in_reply_to")
            if not changed and row.remote_data == item.raw and row.sync_state == state and not row.sync_error:
                counts.unchanged += 1
                continue
            newly_deleted = state == SyncState.REMOTE_DELETED and row.sync_state != state
            mark_synced(row, item.raw, now, state)
            writes.update(row, [*changed, *SYNC_FIELDS])
            if adopted:
                counts.adopted += 1
            elif newly_deleted:
                counts.deleted += 1
            else:
                counts.updated += 1
        if dry_run:
            return
        write(Message, writes)
        history.record(
            [
                StatusChange(
                    row.pk,
                    old,
                    new,
                    MessageStatusChange.Source.SYNC,
                    {"remote_status": row.remote_data.get("messageStatus")},
                )
                for row, old, new in moves
            ],
            now=now,
            batch_size=BATCH_SIZE,
        )
        if deferred and linked and direction == Direction.OUTBOUND:
            waiting = set(
                WebhookEvent.objects.filter(
                    account=account,
                    kind=WebhookEvent.Kind.DELIVERY_REPORT,
                    state=WebhookEvent.State.DEFERRED,
                    remote_message_id__in=linked,
                ).values_list("remote_message_id", flat=True)
            )
            if waiting:
                transaction.on_commit(partial(_apply_deferred, account, sorted(waiting)), robust=True)


class _Unlinked:
    """Outbound rows without a remote id that a listed message may be the send of.

    Only a record that :func:`~.reconcile.is_this_attempt` accepts (same number and text,
    accepted after the row's claim) is adopted: by our unique reference first, else by the
    caller's own ``dataField`` when it singles out one row that is being sent or is uncertain.
    A queued row with the caller's ``dataField`` is never adopted: an earlier message with the
    same ``dataField`` would keep it from ever being sent.
    """

    def __init__(self, rows: list[Loaded], numbers: Numbers) -> None:
        self._by_reference = {row.reference: row for row in rows}
        self._by_data_field: dict[tuple[str, str], list[Loaded]] = defaultdict(list)
        for row in rows:
            if row.data_field and row.status in _IN_FLIGHT:
                self._by_data_field[(row.data_field, numbers(row.to_number))].append(row)
        self._numbers = numbers
        self._skew = float(conf.get("RECONCILE_CLOCK_SKEW"))
        self._taken: set[int] = set()

    def _fits(self, item: RemoteMessage, row: Loaded) -> bool:
        return row.pk not in self._taken and is_this_attempt(
            item, row, claimed_at=row.claimed_at, skew=self._skew
        )

    def take(self, item: RemoteMessage) -> Loaded | None:
        data_field = item.data_field or ""
        row = self._by_reference.get(data_field)
        if row is None or row.data_field or not self._fits(item, row):
            key = (data_field, self._numbers(item.to_number))
            candidates = [r for r in self._by_data_field.get(key, []) if self._fits(item, r)]
            row = candidates[0] if len(candidates) == 1 else None
        if row is not None:
            self._taken.add(row.pk)
        return row


def _contact_finder(
    items: Iterable[RemoteMessage], direction: str, numbers: Numbers, account: str
) -> Callable[[RemoteMessage], int | None]:
    """Find each message's contact by the remote contact link, else by the other party's number."""
    items = list(items)

    def party(item: RemoteMessage) -> str:
        return numbers(item.to_number if direction == Direction.OUTBOUND else item.from_number)

    remote_ids = {item.contact_id for item in items if item.contact_id}
    parties = {party(item) for item in items} - {""}
    by_remote: dict[str, int] = {}
    by_number: dict[str, int] = {}
    if remote_ids or parties:
        found = Contact.objects.filter(
            Q(remote_id__in=remote_ids) | Q(phone_number__in=parties), account=account
        )
        for pk, remote_id, number in found.values_list("pk", "remote_id", "phone_number"):
            if remote_id:
                by_remote[remote_id] = pk
            by_number[number] = pk

    def find(item: RemoteMessage) -> int | None:
        if item.contact_id and item.contact_id in by_remote:
            return by_remote[item.contact_id]
        return by_number.get(party(item))

    return find


def _apply_deferred(account: str, remote_ids: Sequence[str]) -> None:
    """Apply the delivery reports that arrived before their message was pulled."""
    from .. import inbound

    outbound = Message.objects.filter(account=account, direction=Direction.OUTBOUND)
    for message in outbound.filter(remote_id__in=remote_ids):
        inbound.apply_deferred_reports(message)
