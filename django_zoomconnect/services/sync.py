"""Pull: copy the account's contacts, groups, templates and messages into the models, in bulk.

What a pull does, and why:

* **Whole lists, bulk writes.** The API lists contacts, groups and templates whole and messages
  page by page. Each kind (or each batch of :data:`BATCH_SIZE` messages) is loaded from the
  database in one query, compared in memory, and written with ``bulk_create`` for new rows and
  ``bulk_update`` for rows whose fields really changed. The number of queries grows with the
  number of batches, never with the number of rows; rows that did not change are not written.
* **Local changes win until pushed.** A row whose ``sync_state`` is ``PENDING``, ``FAILED`` or
  ``DELETING`` holds a change the account has not seen yet. A pull never overwrites it (it is
  counted as a *conflict*); the next push sends it, and the pull after that refreshes the row.
* **Adoption instead of duplicates.** A remote object that matches a local row not pushed yet
  is linked to that row instead of creating a second one: a contact by its phone number
  (normalised with :func:`~django_zoomconnect.phone.normalize`, so a contact whose remote copy
  was deleted and created again keeps its local row, messages and groups), a group by a name
  that exactly one unlinked local group and one unlinked remote group share, and an outbound
  message by its ``dataField`` (our unique ``reference``, or the caller's own ``data_field`` when
  it and the recipient single out one message). Adopted rows with unpushed changes keep them.
* **Deleted on the account.** A row whose remote object no longer exists is marked
  ``REMOTE_DELETED`` and kept (``ZOOMCONNECT["SYNC_DELETE_POLICY"] = "mark"``, the default), or
  deleted (``"delete"``). A row in ``DELETING`` state whose remote object is gone was deleted as
  wanted: it is removed either way. Messages are history: one the account lists as deleted is
  marked, never removed, and a message missing from a date range says nothing.
* **Messages.** Outbound messages are walked by sent date, then inbound ones by received date
  (so a reply finds the message it answers). Without ``since``, a pull starts a day before the
  newest message already pulled of each direction, or at the beginning on the first run. A
  status only moves forward (:data:`~django_zoomconnect.models.STATUS_RANK`); each move is
  recorded in the status history and announced with ``message_status_changed`` (source
  ``"sync"``) after commit. A known value is never replaced by an empty one.
* **Bad data is skipped, not fatal.** A remote contact with an invalid number, or with the
  same number as another remote contact (the local model keeps numbers unique), is skipped and
  listed in the report's ``issues``; so is anything that would take a number another local
  row keeps.
* **Group membership cannot be pulled**: no operation of the API lists a group's members. It is
  pushed (``services.contacts``), never pulled; when a pull relinks a contact to a new remote
  copy, that contact's memberships are set back to ``PENDING`` so that the next push restores
  them on the account.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, Literal, TypeVar

from django.db import models, transaction
from django.db.models import Max, Q
from django.utils import timezone

from .. import conf, phone, signals
from ..client import ZoomConnectClient
from ..exceptions import ConfigurationError, PhoneNumberError, ZoomConnectError
from ..models import (
    STATUS_RANK,
    Contact,
    Direction,
    Group,
    Membership,
    Message,
    MessageStatus,
    MessageStatusChange,
    SyncState,
    Template,
    WebhookEvent,
)
from ..types import Contact as RemoteContact
from ..types import Group as RemoteGroup
from ..types import Message as RemoteMessage
from ..types import Template as RemoteTemplate
from . import rows as bulk
from .reconcile import is_this_attempt
from .rows import batched

__all__ = [
    "ALL_KINDS",
    "BATCH_SIZE",
    "MESSAGE_OVERLAP",
    "Issue",
    "KindReport",
    "Progress",
    "SyncReport",
    "pull",
]

logger = logging.getLogger(__name__)

#: The kinds a pull knows, in the order it runs them (contacts before the messages they link to).
ALL_KINDS: tuple[str, ...] = ("groups", "contacts", "templates", "messages")
#: Rows per database batch: one load, one bulk insert and one bulk update per batch at most.
BATCH_SIZE = 500
#: Messages per ``messages/all`` page: the provider's own default, the one size known to work.
MESSAGE_PAGE_SIZE = 100
#: How far before the newest pulled message an incremental pull starts again.
MESSAGE_OVERLAP = timedelta(days=1)
#: Issues kept in a report; the rest are only counted.
MAX_ISSUES = 200
#: States of a row holding a change the account has not seen yet.
LOCAL_CHANGES = frozenset({SyncState.PENDING, SyncState.FAILED, SyncState.DELETING})

#: ``progress(kind, done, total)``: called as a pull advances; ``total`` is ``None`` when unknown.
Progress = Callable[[str, int, int | None], None]

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")


# --- the report ----------------------------------------------------------------------------------

COLUMNS = (
    "created",
    "updated",
    "adopted",
    "unchanged",
    "deleted",
    "skipped",
    "conflicts",
    "waiting",
    "failed",
)
_ALWAYS_SHOWN = ("created", "updated", "unchanged")


@dataclass
class KindReport:
    """What happened to one kind of object.

    ``deleted`` counts rows deleted, or marked ``REMOTE_DELETED`` under the "mark" policy, by a
    pull, and remote objects deleted by a push. ``waiting`` counts memberships that wait for their
    contact or group to be pushed first.
    """

    created: int = 0
    updated: int = 0
    adopted: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    conflicts: int = 0
    waiting: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Issue:
    """One object that was skipped, conflicted or failed, and why."""

    kind: str
    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.kind} {self.item}: {self.reason}"


@dataclass
class SyncReport:
    """The outcome of a pull or a push: counts per kind, the issues, and kinds that failed."""

    direction: Literal["pull", "push"]
    dry_run: bool = False
    kinds: dict[str, KindReport] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    #: Issues beyond :data:`MAX_ISSUES`, counted but not kept.
    issues_left_out: int = 0
    #: Kinds that could not be completed, with the error (the API could not be reached, ...).
    errors: dict[str, str] = field(default_factory=dict)

    def kind(self, name: str) -> KindReport:
        return self.kinds.setdefault(name, KindReport())

    def note(self, kind: str, item: object, reason: str) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(Issue(kind, str(item), reason))
        else:
            self.issues_left_out += 1

    @property
    def ok(self) -> bool:
        """True when every kind completed and nothing failed (skips and conflicts are fine)."""
        return not self.errors and not any(counts.failed for counts in self.kinds.values())

    def to_dict(self) -> dict[str, Any]:
        """Primitives only, for a Celery result or a log line."""
        return {
            "direction": self.direction,
            "dry_run": self.dry_run,
            "kinds": {name: counts.as_dict() for name, counts in self.kinds.items()},
            "issues": [str(issue) for issue in self.issues],
            "issues_left_out": self.issues_left_out,
            "errors": dict(self.errors),
        }

    def as_table(self) -> str:
        """The counts as a plain-text table, one line per kind; empty columns are left out."""
        title = {"pull": "Pulled from Zoom Connect", "push": "Pushed to Zoom Connect"}[self.direction]
        if self.dry_run:
            title += " (dry run: nothing was written)"
        columns = [
            name
            for name in COLUMNS
            if name in _ALWAYS_SHOWN or any(getattr(k, name) for k in self.kinds.values())
        ]
        header = ["", *columns]
        lines = [[name, *(f"{getattr(k, c):,}" for c in columns)] for name, k in self.kinds.items()]
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

        def render(row: Sequence[str]) -> str:
            first, *rest = row
            cells = [first.ljust(widths[0])] + [cell.rjust(widths[i + 1]) for i, cell in enumerate(rest)]
            return "  ".join(cells).rstrip()

        out = [title, render(header), *(render(line) for line in lines)]
        out += [f"{kind}: FAILED: {error}" for kind, error in self.errors.items()]
        return "\n".join(out)

    def describe_issues(self, limit: int = 20) -> str:
        """The first ``limit`` issues, one per line, and how many more there are."""
        shown = [f"  {issue}" for issue in self.issues[:limit]]
        more = len(self.issues) - len(shown) + self.issues_left_out
        if more > 0:
            shown.append(f"  ... and {more:,} more")
        return "\n".join(shown)

    def __str__(self) -> str:
        return self.as_table()


# --- shared helpers ------------------------------------------------------------------------------


@contextmanager
def client_for(client: ZoomConnectClient | None) -> Iterator[ZoomConnectClient]:
    """``client``, or a client from the settings that is closed afterwards."""
    if client is not None:
        yield client
        return
    with ZoomConnectClient.from_settings() as built:
        yield built


def _writing(dry_run: bool) -> AbstractContextManager[Any]:
    return nullcontext() if dry_run else transaction.atomic()


def _load(queryset: models.QuerySet[M], dry_run: bool) -> list[M]:
    # Rows are locked while a pull compares and writes them, so that a concurrent local edit
    # waits and lands on top instead of being overwritten (SQLite serialises writers anyway).
    return list(queryset if dry_run else queryset.select_for_update())


class _Loaded:
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


def _load_values(queryset: models.QuerySet[Any], fields: Sequence[str], dry_run: bool) -> list[_Loaded]:
    if not dry_run:
        queryset = queryset.select_for_update()
    return [_Loaded(values) for values in queryset.values("id", *fields)]


def _text(value: str | None, model: type[models.Model], name: str) -> str:
    """A remote string as the model stores it: ``""`` for none, cut to the column's length."""
    if not value:
        return ""
    max_length = getattr(model._meta.get_field(name), "max_length", None)
    return value[:max_length] if max_length else value


def _check_kinds(kinds: Iterable[str]) -> list[str]:
    wanted = {kinds} if isinstance(kinds, str) else set(kinds)
    unknown = sorted(wanted - set(ALL_KINDS))
    if unknown:
        raise ValueError(f"unknown kind(s) {', '.join(unknown)}: choose from {', '.join(ALL_KINDS)}")
    return [kind for kind in ALL_KINDS if kind in wanted]


def _check_moment(value: date | None, name: str) -> None:
    if value is None:
        return
    if isinstance(value, datetime) and timezone.is_naive(value):
        raise ValueError(f"{name} must be a date or a timezone-aware datetime, not a naive datetime")
    if not isinstance(value, date):
        raise TypeError(f"{name} must be a date or a datetime, not {type(value).__name__}")


@dataclass
class _Writes:
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


_SYNC_FIELDS = ("remote_data", "synced_at", "sync_state", "sync_error", "updated_at")


def _write(model: type[models.Model], writes: _Writes) -> None:
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


def _new_row(
    remote_id: Any, values: dict[str, Any], raw: dict[str, Any], now: datetime, state: str = SyncState.SYNCED
) -> dict[str, Any]:
    return {
        **values,
        "remote_id": remote_id,
        "remote_data": raw,
        "synced_at": now,
        "sync_state": state,
        "sync_error": "",
    }


def _mark_synced(row: Any, raw: dict[str, Any], now: datetime, state: str = SyncState.SYNCED) -> None:
    row.remote_data = raw
    row.synced_at = now
    row.sync_state = state
    row.sync_error = ""
    row.updated_at = now


def _differs(row: Any, values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if getattr(row, name) != value]


def _refresh(row: Any, values: dict[str, Any], raw: dict[str, Any], now: datetime, writes: _Writes) -> bool:
    """Plan a synced row's update to the remote values; False when nothing would change."""
    changed = _differs(row, values)
    if not changed and row.remote_data == raw and row.sync_state == SyncState.SYNCED and not row.sync_error:
        return False
    for name in changed:
        setattr(row, name, values[name])
    _mark_synced(row, raw, now)
    writes.update(row, [*changed, *_SYNC_FIELDS])
    return True


def _adopt(
    row: Any, remote_id: Any, values: dict[str, Any], raw: dict[str, Any], now: datetime, writes: _Writes
) -> None:
    """Link a local row to a remote object. Unpushed local values win; others take the remote's."""
    row.remote_id = remote_id
    if row.sync_state in (SyncState.PENDING, SyncState.FAILED) and _differs(row, values):
        # The next push sends the local values to this remote object instead of creating one.
        row.remote_data = raw
        writes.update(row, ("remote_id", "remote_data"))
        return
    for name, value in values.items():
        setattr(row, name, value)
    _mark_synced(row, raw, now)
    writes.update(row, ["remote_id", *values, *_SYNC_FIELDS])


def _vanished(
    kind: str,
    rows: Iterable[Any],
    remote_ids: Collection[Any],
    policy: str,
    counts: KindReport,
    report: SyncReport,
    writes: _Writes,
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


# --- pull ----------------------------------------------------------------------------------------


def pull(
    *,
    kinds: Iterable[str] = ALL_KINDS,
    since: date | None = None,
    until: date | None = None,
    dry_run: bool = False,
    client: ZoomConnectClient | None = None,
    progress: Progress | None = None,
    page_size: int = MESSAGE_PAGE_SIZE,
) -> SyncReport:
    """Bring ``kinds`` of the account into the database; what happened, as a :class:`SyncReport`.

    ``since`` and ``until`` (dates, or aware datetimes, both inclusive, in the API's time zone)
    limit the messages pulled; other kinds are always pulled whole. With ``dry_run`` nothing is
    written: the report says what a real pull would do. A kind that fails (the API cannot be
    reached, ...) is recorded in ``report.errors`` and the others still run; what a kind wrote
    before failing stays, since every write is an idempotent upsert. ``progress`` is called as
    the pull advances. See the module's documentation for the rules.
    """
    wanted = _check_kinds(kinds)
    _check_moment(since, "since")
    _check_moment(until, "until")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise ValueError(f"page_size must be a positive int, not {page_size!r}")
    policy = str(conf.get("SYNC_DELETE_POLICY"))
    report = SyncReport("pull", dry_run=dry_run)
    notify: Progress = progress or (lambda kind, done, total: None)
    started = time.monotonic()
    numbers = _Numbers()  # shared: messages repeat the contacts' numbers
    with client_for(client) as api:
        for kind in wanted:
            report.kind(kind)
            try:
                if kind == "contacts":
                    _pull_contacts(
                        api, report, dry_run=dry_run, policy=policy, progress=notify, numbers=numbers
                    )
                elif kind == "groups":
                    _pull_groups(api, report, dry_run=dry_run, policy=policy, progress=notify)
                elif kind == "templates":
                    _pull_templates(api, report, dry_run=dry_run, policy=policy, progress=notify)
                else:
                    _pull_messages(
                        api,
                        report,
                        since=since,
                        until=until,
                        dry_run=dry_run,
                        progress=progress,
                        page_size=page_size,
                        numbers=numbers,
                    )
            except ConfigurationError:
                raise
            except ZoomConnectError as exc:
                report.errors[kind] = str(exc)
                logger.warning("Pulling %s from Zoom Connect failed: %s", kind, exc)
    logger.info(
        "Pulled %s from Zoom Connect in %.1fs%s: %s",
        ", ".join(wanted),
        time.monotonic() - started,
        " (dry run)" if dry_run else "",
        {name: counts.as_dict() for name, counts in report.kinds.items()},
    )
    return report


# --- groups and templates ------------------------------------------------------------------------


def _pull_groups(
    api: ZoomConnectClient, report: SyncReport, *, dry_run: bool, policy: str, progress: Progress
) -> None:
    counts = report.kind("groups")
    items: list[RemoteGroup] = api.list_groups()
    now = timezone.now()
    writes = _Writes()
    with _writing(dry_run):
        rows = _load(Group.objects.all(), dry_run)
        by_remote = {row.remote_id: row for row in rows if row.remote_id is not None}
        listed: dict[str, RemoteGroup] = {}
        for item in items:
            if not item.group_id:
                counts.skipped += 1
                report.note("groups", "(no id)", "the account listed a group without an id")
            elif item.group_id in listed:
                counts.skipped += 1
                report.note("groups", item.group_id, "listed twice by the account")
            else:
                listed[item.group_id] = item
        # Adoption by name: only a name that one unlinked local group and one new remote group share.
        unlinked: dict[str, list[Group]] = defaultdict(list)
        for row in rows:
            if row.remote_id is None and row.sync_state != SyncState.DELETING:
                unlinked[row.name].append(row)
        fresh: dict[str, list[str]] = defaultdict(list)
        for group_id, item in listed.items():
            if group_id not in by_remote:
                fresh[_text(item.name, Group, "name")].append(group_id)
        for group_id, item in listed.items():
            values = {"name": _text(item.name, Group, "name")}
            linked = by_remote.get(group_id)
            if linked is not None:
                if linked.sync_state in LOCAL_CHANGES:
                    counts.conflicts += 1
                elif _refresh(linked, values, item.raw, now, writes):
                    counts.updated += 1
                else:
                    counts.unchanged += 1
                continue
            name = values["name"]
            if len(unlinked.get(name, ())) == 1 and len(fresh[name]) == 1:
                _adopt(unlinked[name][0], group_id, values, item.raw, now, writes)
                counts.adopted += 1
                continue
            writes.creates.append(_new_row(group_id, values, item.raw, now))
            counts.created += 1
        _vanished("groups", rows, listed, policy, counts, report, writes)
        if not dry_run:
            _write(Group, writes)
    progress("groups", len(items), len(items))


def _pull_templates(
    api: ZoomConnectClient, report: SyncReport, *, dry_run: bool, policy: str, progress: Progress
) -> None:
    # Templates are read-only on the account, and local templates (no remote id) are never
    # matched: a local template with a remote one's name is a different template.
    counts = report.kind("templates")
    items: list[RemoteTemplate] = api.list_templates()
    now = timezone.now()
    writes = _Writes()
    with _writing(dry_run):
        rows = _load(Template.objects.filter(remote_id__isnull=False), dry_run)
        by_remote = {row.remote_id: row for row in rows}
        listed: set[int] = set()
        for item in items:
            if item.template_id is None:
                counts.skipped += 1
                report.note("templates", "(no id)", "the account listed a template without an id")
                continue
            if item.template_id in listed:
                counts.skipped += 1
                report.note("templates", item.template_id, "listed twice by the account")
                continue
            listed.add(item.template_id)
            values = {"name": _text(item.name, Template, "name"), "body": item.data or ""}
            row = by_remote.get(item.template_id)
            if row is None:
                writes.creates.append(_new_row(item.template_id, values, item.raw, now))
                counts.created += 1
            elif row.sync_state in LOCAL_CHANGES:
                counts.conflicts += 1
            elif _refresh(row, values, item.raw, now, writes):
                counts.updated += 1
            else:
                counts.unchanged += 1
        _vanished("templates", rows, listed, policy, counts, report, writes)
        if not dry_run:
            _write(Template, writes)
    progress("templates", len(items), len(items))


# --- contacts ------------------------------------------------------------------------------------


@dataclass
class _Action:
    """What the pull means to do for one remote contact; resolved against numbers before writing."""

    order: int
    remote_id: str
    number: str
    item: RemoteContact
    values: dict[str, Any]
    row: Contact | None  # None: a new row
    adopt: bool = False


def _contact_values(item: RemoteContact, number: str) -> dict[str, Any]:
    return {
        "phone_number": number,
        "title": _text(item.title, Contact, "title"),
        "first_name": _text(item.first_name, Contact, "first_name"),
        "last_name": _text(item.last_name, Contact, "last_name"),
    }


def _pull_contacts(
    api: ZoomConnectClient,
    report: SyncReport,
    *,
    dry_run: bool,
    policy: str,
    progress: Progress,
    numbers: _Numbers,
) -> None:
    counts = report.kind("contacts")
    items: list[RemoteContact] = api.list_contacts()
    now = timezone.now()
    writes = _Writes()
    with _writing(dry_run):
        rows = _load(Contact.objects.all(), dry_run)
        stored = {row.pk: row.phone_number for row in rows}
        by_remote = {row.remote_id: row for row in rows if row.remote_id is not None}
        by_number = {row.phone_number: row for row in rows}
        listed: set[str] = set()
        entries: list[tuple[str, str, RemoteContact]] = []
        for item in items:
            if not item.contact_id:
                counts.skipped += 1
                report.note("contacts", "(no id)", "the account listed a contact without an id")
                continue
            if item.contact_id in listed:
                counts.skipped += 1
                report.note("contacts", item.contact_id, "listed twice by the account")
                continue
            listed.add(item.contact_id)
            raw_number = item.contact_number or ""
            if raw_number.startswith("+") and raw_number in by_number:
                # Stored numbers were normalised when stored: parsing them again is the slowest
                # part of a pull that changes little.
                entries.append((item.contact_id, raw_number, item))
                numbers.learn(raw_number, raw_number)
                continue
            try:
                number = phone.normalize(raw_number)
            except PhoneNumberError as exc:
                counts.skipped += 1
                report.note("contacts", item.contact_id, str(exc))
                continue
            entries.append((item.contact_id, number, item))
            numbers.learn(raw_number, number)
        entries = _one_per_number(entries, by_remote, by_number, counts, report)
        actions: list[_Action] = []
        claimed: set[int] = set()
        for order, (remote_id, number, item) in enumerate(entries):
            values = _contact_values(item, number)
            row = by_remote.get(remote_id)
            if row is not None:
                if row.sync_state in LOCAL_CHANGES:
                    counts.conflicts += 1
                    continue
                actions.append(_Action(order, remote_id, number, item, values, row))
                continue
            holder = by_number.get(number)
            if (
                holder is not None
                and holder.pk not in claimed
                and (holder.remote_id is None or holder.remote_id not in listed)
                and holder.sync_state != SyncState.DELETING
            ):
                # Never pushed, or its remote copy is gone and this is the same phone again.
                claimed.add(holder.pk)
                actions.append(_Action(order, remote_id, number, item, values, holder, adopt=True))
                continue
            actions.append(_Action(order, remote_id, number, item, values, None))

        _settle_numbers(rows, actions, listed, policy, report, counts)

        relinked: list[int] = []
        for action in actions:
            row = action.row
            if row is None:
                writes.creates.append(_new_row(action.remote_id, action.values, action.item.raw, now))
                counts.created += 1
            elif action.adopt:
                if row.remote_id is not None:
                    relinked.append(row.pk)
                _adopt(row, action.remote_id, action.values, action.item.raw, now, writes)
                counts.adopted += 1
            elif _refresh(row, action.values, action.item.raw, now, writes):
                counts.updated += 1
            else:
                counts.unchanged += 1
        _vanished("contacts", rows, listed, policy, counts, report, writes)
        if not dry_run:
            _renumber_safely(stored, writes)
            _write(Contact, writes)
            for chunk in batched(relinked, BATCH_SIZE):
                # A new remote copy is in no group: the next push adds it to its groups again.
                Membership.objects.filter(contact_id__in=chunk, sync_state=SyncState.SYNCED).update(
                    sync_state=SyncState.PENDING
                )
    progress("contacts", len(items), len(items))


def _one_per_number(
    entries: list[tuple[str, str, RemoteContact]],
    by_remote: dict[str, Contact],
    by_number: dict[str, Contact],
    counts: KindReport,
    report: SyncReport,
) -> list[tuple[str, str, RemoteContact]]:
    """Keep one remote contact per phone number: the one linked to the local holder, else the
    first linked to any row, else the first listed. The others are skipped and reported."""
    by_phone: dict[str, list[tuple[str, str, RemoteContact]]] = defaultdict(list)
    for entry in entries:
        by_phone[entry[1]].append(entry)
    dropped: set[str] = set()
    for number, same in by_phone.items():
        if len(same) < 2:
            continue
        holder = by_number.get(number)
        keeper = next((e for e in same if holder is not None and holder.remote_id == e[0]), None)
        keeper = keeper or next((e for e in same if e[0] in by_remote), None) or same[0]
        for entry in same:
            if entry is not keeper:
                dropped.add(entry[0])
                counts.skipped += 1
                report.note("contacts", entry[0], f"has the number {number} of contact {keeper[0]} too")
    return [entry for entry in entries if entry[0] not in dropped]


def _settle_numbers(
    rows: list[Contact],
    actions: list[_Action],
    listed: set[str],
    policy: str,
    report: SyncReport,
    counts: KindReport,
) -> None:
    """Drop the actions that would give two rows one phone number (it is unique locally).

    A row keeping its number wins over one taking it, an existing row over a new one, and an
    earlier remote contact over a later one. Dropping an update can make its row keep a number
    another action wanted, so this repeats until no number is claimed twice.
    """
    acting = {id(action.row): action for action in actions if action.row is not None}
    leaving = {
        row.pk
        for row in rows
        if row.remote_id is not None
        and row.remote_id not in listed
        and id(row) not in acting
        and (
            row.sync_state == SyncState.DELETING
            or (policy == "delete" and row.sync_state not in LOCAL_CHANGES)
        )
    }
    while True:
        claims: dict[str, list[tuple[tuple[int, int, int], Contact | _Action]]] = defaultdict(list)
        for row in rows:
            if row.pk in leaving:
                continue
            action = acting.get(id(row))
            if action is None:
                claims[row.phone_number].append(((0, 0, 0), row))
            else:
                keeps = action.number == row.phone_number
                claims[action.number].append(((0 if keeps else 1, 0, action.order), action))
        for action in actions:
            if action.row is None:
                claims[action.number].append(((1, 1, action.order), action))
        dropped = False
        for number, claimants in claims.items():
            if len(claimants) < 2:
                continue
            claimants.sort(key=lambda claim: claim[0])
            winner = claimants[0][1]
            kept_by = winner if isinstance(winner, Contact) else winner.row
            who = (
                f"local contact #{kept_by.pk}"
                if kept_by is not None
                else f"remote contact {winner.remote_id}"
            )
            for _, loser in claimants[1:]:
                assert isinstance(loser, _Action)
                actions.remove(loser)
                if loser.row is not None:
                    acting.pop(id(loser.row), None)
                counts.skipped += 1
                report.note("contacts", loser.remote_id, f"its number {number} is kept by {who}")
                dropped = True
        if not dropped:
            return


def _renumber_safely(stored: dict[int, str], writes: _Writes) -> None:
    """Free the numbers that other rows are about to take before the bulk update (swaps, chains).

    ``phone_number`` is unique and checked row by row, so a row taking a number that another
    updated row gives up could collide mid-statement: the rows giving a number up to another
    row first get a placeholder that no phone number can equal.
    """
    moving = {pk: row for pk, row in writes.updates.items() if row.phone_number != stored[pk]}
    given_up = {stored[pk]: pk for pk in moving}
    vacating = [
        moving[given_up[row.phone_number]]
        for pk, row in moving.items()
        if row.phone_number in given_up and given_up[row.phone_number] != pk
    ]
    if not vacating:
        return
    finals = [row.phone_number for row in vacating]
    for row in vacating:
        row.phone_number = f"~{row.pk}"
    Contact.objects.bulk_update(vacating, ["phone_number"], batch_size=BATCH_SIZE)
    for row, final in zip(vacating, finals, strict=True):
        row.phone_number = final


# --- messages ------------------------------------------------------------------------------------

#: The statuses the provider reports; anything else it might invent is stored as ``UNKNOWN``.
PROVIDER_STATUSES = frozenset(
    {
        MessageStatus.SCHEDULED,
        MessageStatus.UNKNOWN,
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.FAILED_REFUNDED,
        MessageStatus.FAILED_OPTOUT,
        MessageStatus.RECEIVED,
    }
)
_MAX_PARTS = 32767
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
_MAX_CREDITS = Decimal("99999999.99")


class _Numbers:
    """E.164 for valid numbers, the text as given otherwise (sender ids, opaque ids), cached:
    a page of messages repeats the same few numbers."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, value: str | None) -> str:
        if not value:
            return ""
        try:
            return self._cache[value]
        except KeyError:
            pass
        try:
            result = phone.normalize(value)
        except PhoneNumberError:
            result = value.strip()[:64]
        self._cache[value] = result
        return result

    def learn(self, value: str, normalized: str) -> None:
        self._cache[value] = normalized

    def stored(self, value: str) -> None:
        """A number as stored: E.164 ones were normalised when stored, no need to parse them."""
        if value.startswith("+"):
            self._cache.setdefault(value, value)


def _status(value: str | None, direction: str) -> str:
    if not value:
        return MessageStatus.RECEIVED if direction == Direction.INBOUND else MessageStatus.UNKNOWN
    status = value.strip().upper()
    return status if status in PROVIDER_STATUSES else MessageStatus.UNKNOWN


def _credits(value: float | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return amount if abs(amount) <= _MAX_CREDITS else None


def _message_values(item: RemoteMessage, numbers: _Numbers) -> dict[str, Any]:
    """The remote message as model fields, leaving out what the account did not say."""
    parts = item.number_of_messages
    values: dict[str, Any] = {
        "from_number": numbers(item.from_number),
        "to_number": numbers(item.to_number),
        "body": item.message or "",
        "campaign": _text(item.campaign, Message, "campaign"),
        "data_field": _text(item.data_field, Message, "data_field"),
        "scheduled_at": item.scheduled_at,
        "sent_at": item.sent_at,
        "received_at": item.received_at,
        "parts": parts if parts is not None and 0 <= parts <= _MAX_PARTS else None,
        "credit_cost": _credits(item.credit_cost),
        "read": item.read,
    }
    return {name: value for name, value in values.items() if value is not None and value != ""}


def _resume_from(direction: str, moment: str) -> datetime | None:
    """Where an incremental pull of one direction starts: a margin before the newest pulled."""
    newest = (
        Message.objects.filter(direction=direction, remote_id__isnull=False)
        .aggregate(newest=Max(moment))
        .get("newest")
    )
    return None if newest is None else newest - MESSAGE_OVERLAP


def _pull_messages(
    api: ZoomConnectClient,
    report: SyncReport,
    *,
    since: date | None,
    until: date | None,
    dry_run: bool,
    progress: Progress | None,
    page_size: int,
    numbers: _Numbers,
) -> None:
    counts = report.kind("messages")
    outbound_from = since if since is not None else _resume_from(Direction.OUTBOUND, "sent_at")
    inbound_from = since if since is not None else _resume_from(Direction.INBOUND, "received_at")
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
            kind=WebhookEvent.Kind.DELIVERY_REPORT, state=WebhookEvent.State.DEFERRED
        ).exists()
    )
    done = 0
    for direction, walk, filters in walks:
        for batch in batched(walk(page_size=page_size, **filters), BATCH_SIZE):
            _pull_message_batch(
                batch, direction, counts, report, dry_run=dry_run, numbers=numbers, deferred=deferred
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
    numbers: _Numbers,
    deferred: bool,
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
    writes = _Writes()
    moves: list[tuple[_Loaded, str, str]] = []
    linked: list[str] = []
    with _writing(dry_run):
        match = Q(remote_id__in=[*items, *replied_to])
        if data_fields:
            match |= Q(
                remote_id__isnull=True, direction=Direction.OUTBOUND, status__in=_ADOPTABLE_STATUSES
            ) & (Q(reference__in=data_fields) | Q(data_field__in=data_fields))
        rows = _load_values(Message.objects.filter(match), _MESSAGE_FIELDS, dry_run)
        by_remote = {row.remote_id: row for row in rows if row.remote_id}
        for stored in rows:
            numbers.stored(stored.to_number)
            numbers.stored(stored.from_number)
        unlinked = _Unlinked([row for row in rows if row.remote_id is None], numbers)
        contact_for = _contact_finder(items.values(), direction, numbers)
        for message_id, item in items.items():
            values = _message_values(item, numbers)
            state = SyncState.REMOTE_DELETED if item.deleted else SyncState.SYNCED
            status = _status(item.status, direction)
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
                writes.creates.append(_new_row(message_id, values, item.raw, now, state))
                counts.created += 1
                linked.append(message_id)
                continue
            changed = _differs(row, values)
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
            _mark_synced(row, item.raw, now, state)
            writes.update(row, [*changed, *_SYNC_FIELDS])
            if adopted:
                counts.adopted += 1
            elif newly_deleted:
                counts.deleted += 1
            else:
                counts.updated += 1
        if dry_run:
            return
        _write(Message, writes)
        if moves:
            bulk.insert(
                MessageStatusChange,
                [
                    {
                        "message_id": row.pk,
                        "old_status": old,
                        "new_status": new,
                        "source": MessageStatusChange.Source.SYNC,
                        "detail": {"remote_status": row.remote_data.get("messageStatus")},
                    }
                    for row, old, new in moves
                ],
            )
            if signals.message_status_changed.has_listeners(Message):
                changes = [(row.pk, old, new) for row, old, new in moves]
                transaction.on_commit(partial(_announce, changes), robust=True)
        if deferred and linked and direction == Direction.OUTBOUND:
            waiting = set(
                WebhookEvent.objects.filter(
                    kind=WebhookEvent.Kind.DELIVERY_REPORT,
                    state=WebhookEvent.State.DEFERRED,
                    remote_message_id__in=linked,
                ).values_list("remote_message_id", flat=True)
            )
            if waiting:
                transaction.on_commit(partial(_apply_deferred, sorted(waiting)), robust=True)


class _Unlinked:
    """Outbound rows without a remote id that a listed message may be the send of.

    Only a record that :func:`~.reconcile.is_this_attempt` accepts (same number and text,
    accepted after the row's claim) is adopted: by our unique reference first, else by the
    caller's own ``dataField`` when it singles out one row that is being sent or is uncertain.
    A queued row with the caller's ``dataField`` is never adopted: an earlier message with the
    same ``dataField`` would keep it from ever being sent.
    """

    def __init__(self, rows: list[_Loaded], numbers: _Numbers) -> None:
        self._by_reference = {row.reference: row for row in rows}
        self._by_data_field: dict[tuple[str, str], list[_Loaded]] = defaultdict(list)
        for row in rows:
            if row.data_field and row.status in _IN_FLIGHT:
                self._by_data_field[(row.data_field, numbers(row.to_number))].append(row)
        self._numbers = numbers
        self._skew = float(conf.get("RECONCILE_CLOCK_SKEW"))
        self._taken: set[int] = set()

    def _fits(self, item: RemoteMessage, row: _Loaded) -> bool:
        return row.pk not in self._taken and is_this_attempt(
            item, row, claimed_at=row.claimed_at, skew=self._skew
        )

    def take(self, item: RemoteMessage) -> _Loaded | None:
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
    items: Iterable[RemoteMessage], direction: str, numbers: _Numbers
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
        found = Contact.objects.filter(Q(remote_id__in=remote_ids) | Q(phone_number__in=parties))
        for pk, remote_id, number in found.values_list("pk", "remote_id", "phone_number"):
            if remote_id:
                by_remote[remote_id] = pk
            by_number[number] = pk

    def find(item: RemoteMessage) -> int | None:
        if item.contact_id and item.contact_id in by_remote:
            return by_remote[item.contact_id]
        return by_number.get(party(item))

    return find


def _announce(changes: Sequence[tuple[int, str, str]]) -> None:
    """``message_status_changed`` for each move, with the message as committed."""
    messages: dict[int, Message] = {}
    for chunk in batched([pk for pk, _, _ in changes], BATCH_SIZE):
        messages.update((message.pk, message) for message in Message.objects.filter(pk__in=chunk))
    for pk, old, new in changes:
        message = messages.get(pk)
        if message is None:
            continue
        signals.send_robustly(
            signals.message_status_changed,
            Message,
            message=message,
            old_status=old,
            new_status=new,
            source=MessageStatusChange.Source.SYNC,
            event=None,
        )


def _apply_deferred(remote_ids: Sequence[str]) -> None:
    """Apply the delivery reports that arrived before their message was pulled."""
    from . import inbound

    for message in Message.objects.filter(remote_id__in=remote_ids, direction=Direction.OUTBOUND):
        inbound.apply_deferred_reports(message)
