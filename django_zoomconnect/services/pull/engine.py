"""What every kind of pull shares: loading rows, planning writes in memory, writing them in bulk.

A pull loads the rows of one kind (or one batch of messages) in one query, locked, compares them
with what the account listed, collects every write in a :class:`Writes`, and writes them with
the bulk-row engine (:mod:`..rows`): queries grow with batches, never with rows. The kinds
themselves live in the modules beside this one; :class:`Listed` and :func:`pull_listed` drive the
kinds the account lists whole by id (groups, templates).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from django.db import models, transaction
from django.utils import timezone

from ... import conf
from ...client import ZoomConnectClient
from ...models import SyncState
from .. import rows as bulk
from ..mapping import Numbers, text
from ..reports import KindReport, SyncReport
from ..rows import batched

__all__ = [
    "BATCH_SIZE",
    "LOCAL_CHANGES",
    "SYNC_FIELDS",
    "Context",
    "Listed",
    "Loaded",
    "Numbers",
    "Progress",
    "Writes",
    "adopt",
    "differs",
    "listed_by_id",
    "load",
    "load_values",
    "mark_synced",
    "new_row",
    "pull_listed",
    "refresh",
    "text",
    "vanished",
    "write",
    "writing",
]

#: Rows per database batch: one load, one bulk insert and one bulk update per batch at most.
BATCH_SIZE = 500
#: States of a row holding a change the account has not seen yet.
LOCAL_CHANGES = frozenset({SyncState.PENDING, SyncState.FAILED, SyncState.DELETING})
#: The bookkeeping fields written with every row a pull refreshes.
SYNC_FIELDS = ("remote_data", "synced_at", "sync_state", "sync_error", "updated_at")

#: ``progress(kind, done, total)``: called as a pull advances; ``total`` is ``None`` when unknown.
Progress = Callable[[str, int, int | None], None]

M = TypeVar("M", bound=models.Model)
I = TypeVar("I")  # noqa: E741 - a listed item


@dataclass
class Context:
    """One pull's options and the state its kinds share."""

    report: SyncReport
    dry_run: bool
    #: ``SYNC_DELETE_POLICY``: what happens to a row whose remote object is gone.
    policy: str
    progress: Progress | None
    since: date | None = None
    until: date | None = None
    page_size: int = 100
    #: Shared by the kinds: messages repeat the contacts' numbers.
    numbers: Numbers = field(default_factory=Numbers)
    #: The alias of the account pulled: only its rows are compared, new rows are tagged with it.
    account: str = conf.DEFAULT_ACCOUNT

    def done(self, kind: str, count: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(kind, count, total)


def writing(dry_run: bool) -> AbstractContextManager[Any]:
    """The transaction a kind's writes share (none for a dry run, which writes nothing)."""
    return nullcontext() if dry_run else transaction.atomic()


def load(queryset: models.QuerySet[M], dry_run: bool) -> list[M]:
    """The rows, locked while a pull compares and writes them, so that a concurrent local edit
    waits and lands on top instead of being overwritten (SQLite serialises writers anyway)."""
    return list(queryset if dry_run else queryset.select_for_update())


class Loaded:
    """A row loaded as plain attributes (the fields a pull compares), for messages: building
    model instances of a wide model costs more than the whole comparison."""

    pk: int

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self.pk = values["id"]

    def __getattr__(self, name: str) -> Any:  # pragma: no cover - a field missing from the load
        raise AttributeError(f"{name!r} was not loaded; add it to the fields the pull reads")

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value


def load_values(queryset: models.QuerySet[Any], fields: Sequence[str], dry_run: bool) -> list[Loaded]:
    if not dry_run:
        queryset = queryset.select_for_update()
    return [Loaded(values) for values in queryset.values("id", *fields)]


@dataclass
class Writes:
    """What one kind (or one batch) will write, collected before anything is written."""

    #: New rows as ``{attname: value}``: building model instances costs more than writing them.
    creates: list[dict[str, Any]] = field(default_factory=list)
    updates: dict[int, Any] = field(default_factory=dict)
    update_fields: set[str] = field(default_factory=set)
    marks: list[int] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)

    def update(self, row: Any, fields: Iterable[str]) -> None:
        self.updates[row.pk] = row
        self.update_fields.update(fields)


def write(model: type[models.Model], writes: Writes) -> None:
    manager = model._default_manager
    for chunk in batched(writes.deletes, BATCH_SIZE):
        manager.filter(pk__in=chunk).delete()
    for chunk in batched(writes.marks, BATCH_SIZE):
        manager.filter(pk__in=chunk).update(sync_state=SyncState.REMOTE_DELETED)
    if writes.updates:
        updates = list(writes.updates.values())
        bulk.update_by_pk(model, updates, sorted(writes.update_fields), batch_size=BATCH_SIZE)
    if writes.creates:
        bulk.insert(model, writes.creates, batch_size=BATCH_SIZE)


def new_row(
    remote_id: Any,
    values: dict[str, Any],
    raw: dict[str, Any],
    now: datetime,
    state: str = SyncState.SYNCED,
    *,
    account: str,
) -> dict[str, Any]:
    return {
        **values,
        "account": account,
        "remote_id": remote_id,
        "remote_data": raw,
        "synced_at": now,
        "sync_state": state,
        "sync_error": "",
    }


def mark_synced(row: Any, raw: dict[str, Any], now: datetime, state: str = SyncState.SYNCED) -> None:
    row.remote_data = raw
    row.synced_at = now
    row.sync_state = state
    row.sync_error = ""
    row.updated_at = now


def differs(row: Any, values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if getattr(row, name) != value]


def refresh(row: Any, values: dict[str, Any], raw: dict[str, Any], now: datetime, writes: Writes) -> bool:
    """Plan a synced row's update to the remote values; False when nothing would change."""
    changed = differs(row, values)
    if not changed and row.remote_data == raw and row.sync_state == SyncState.SYNCED and not row.sync_error:
        return False
    for name in changed:
        setattr(row, name, values[name])
    mark_synced(row, raw, now)
    writes.update(row, [*changed, *SYNC_FIELDS])
    return True


def adopt(
    row: Any, remote_id: Any, values: dict[str, Any], raw: dict[str, Any], now: datetime, writes: Writes
) -> None:
    """Link a local row to a remote object. Unpushed local values win; others take the remote's."""
    row.remote_id = remote_id
    if row.sync_state in (SyncState.PENDING, SyncState.FAILED) and differs(row, values):
        # The next push sends the local values to this remote object instead of creating one.
        row.remote_data = raw
        writes.update(row, ("remote_id", "remote_data"))
        return
    for name, value in values.items():
        setattr(row, name, value)
    mark_synced(row, raw, now)
    writes.update(row, ["remote_id", *values, *SYNC_FIELDS])


def vanished(
    kind: str,
    rows: Iterable[Any],
    remote_ids: Collection[Any],
    policy: str,
    counts: KindReport,
    report: SyncReport,
    writes: Writes,
) -> None:
    """Plan what happens to rows whose remote object is no longer listed."""
    for row in rows:
        if row.remote_id is None or row.remote_id in remote_ids:
            continue
        if row.sync_state == SyncState.DELETING:
            writes.deletes.append(row.pk)  # deleted on the account, as wanted
            counts.deleted += 1
        elif row.sync_state in LOCAL_CHANGES:
            counts.conflicts += 1
            report.note(
                kind, f"#{row.pk}", "deleted on the account, changed here: the next push creates it again"
            )
        elif policy == "delete":
            writes.deletes.append(row.pk)
            counts.deleted += 1
        elif row.sync_state != SyncState.REMOTE_DELETED:
            writes.marks.append(row.pk)
            counts.deleted += 1


def listed_by_id(
    kind: str, items: Iterable[I], remote_id: Callable[[I], Any], counts: KindReport, report: SyncReport
) -> dict[Any, I]:
    """The listed items by remote id; an item without an id, or listed twice, is skipped and noted."""
    listed: dict[Any, I] = {}
    for item in items:
        key = remote_id(item)
        if key is None or key == "":
            counts.skipped += 1
            report.note(kind, "(no id)", f"the account listed a {kind.rstrip('s')} without an id")
        elif key in listed:
            counts.skipped += 1
            report.note(kind, key, "listed twice by the account")
        else:
            listed[key] = item
    return listed


#: ``adopter(rows, listed)``: returns ``find(remote_id, values)``, the unlinked local row a new
#: remote object should be linked to, or ``None`` to create a row for it.
Adopter = Callable[[list[Any], dict[Any, Any]], Callable[[Any, dict[str, Any]], Any]]


@dataclass(frozen=True)
class Listed(Generic[I]):
    """A kind the account lists whole, each item with a remote id: what :func:`pull_listed` needs."""

    name: str
    model: type[models.Model]
    fetch: Callable[[ZoomConnectClient], list[I]]
    remote_id: Callable[[I], Any]
    #: The item as model fields.
    values: Callable[[I], dict[str, Any]]
    #: The rows of one account (its alias) a pull compares with the listing.
    rows: Callable[[str], models.QuerySet[Any]]
    adopter: Adopter | None = None


def pull_listed(kind: Listed[I], api: ZoomConnectClient, ctx: Context) -> None:
    """Pull one kind listed whole: refresh linked rows, adopt or create the rest, settle the gone."""
    report = ctx.report
    counts = report.kind(kind.name)
    items = kind.fetch(api)
    now = timezone.now()
    writes = Writes()
    with writing(ctx.dry_run):
        rows = load(kind.rows(ctx.account), ctx.dry_run)
        by_remote = {row.remote_id: row for row in rows if row.remote_id is not None}
        listed = listed_by_id(kind.name, items, kind.remote_id, counts, report)
        find = kind.adopter(rows, listed) if kind.adopter is not None else None
        for remote_id, item in listed.items():
            values = kind.values(item)
            raw = getattr(item, "raw", {})
            linked = by_remote.get(remote_id)
            if linked is not None:
                if linked.sync_state in LOCAL_CHANGES:
                    counts.conflicts += 1
                elif refresh(linked, values, raw, now, writes):
                    counts.updated += 1
                else:
                    counts.unchanged += 1
                continue
            unlinked = find(remote_id, values) if find is not None else None
            if unlinked is not None:
                adopt(unlinked, remote_id, values, raw, now, writes)
                counts.adopted += 1
                continue
            writes.creates.append(new_row(remote_id, values, raw, now, account=ctx.account))
            counts.created += 1
        vanished(kind.name, rows, listed, ctx.policy, counts, report, writes)
        if not ctx.dry_run:
            write(kind.model, writes)
    ctx.done(kind.name, len(items), len(items))
