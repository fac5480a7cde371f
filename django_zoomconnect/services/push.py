"""The push engine: send contacts, groups and memberships with unpushed changes to the account.

The rules, and why:

* **Outcomes.** Success: ``SYNCED`` with ``remote_id``, ``remote_data`` and ``synced_at``. A
  failure the next attempt may not repeat (the provider unreachable, a 5xx, a 429, wrong
  credentials): ``FAILED`` with ``sync_error``, no exception, retried by :func:`push_pending`.
  A refusal of the data itself (:class:`~django_zoomconnect.exceptions.InvalidRequestError`,
  e.g. code 2, invalid mobile number) in a push that runs right after a write is raised to the
  caller *after the write is undone* (a new row removed, changed fields restored): an exception
  means nothing changed. Deferred pushes record it like any failure.
* **Deletions** keep the row as ``DELETING`` until the account confirms (a 404 counts: the
  object is gone either way); a row never pushed is deleted at once.
* **Re-creation.** A row whose remote object has disappeared (404 on update, or a row marked
  ``REMOTE_DELETED`` by a pull and then edited) is created again: local wins until pushed. Its
  memberships are pushed again too, since a new remote object is in no group.
* **No duplicates after an uncertain answer.** Before creating a row again after a failed
  create, whose request may have reached the provider, the account is searched for it (a
  contact by its number, a group by its unique name). If a concurrent push or a pull linked
  the row to another remote object meanwhile, the object just created is deleted again.
* **Memberships** cannot be read from the API, so they are only ever pushed. One whose contact
  or group has no remote id yet waits (stays ``PENDING``, counted as *waiting*) and is pushed
  right after its contact or group.

What differs between contacts and groups is one :class:`Kind` each (:data:`CONTACTS`,
:data:`GROUPS`); :mod:`.contacts` holds the local writes that call this engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from .. import conf, phone
from ..client import ZoomConnectClient
from ..exceptions import (
    ConfigurationError,
    InvalidRequestError,
    NotFoundError,
    ZoomConnectError,
    fails_every_call,
)
from ..models import Contact, Group, Membership, SyncState
from ..wire import Contact as RemoteContact
from ..wire import Group as RemoteGroup
from .clients import client_for, clients_for
from .mapping import contact_body
from .reports import SyncReport

__all__ = [
    "CONTACTS",
    "GROUPS",
    "Kind",
    "pending_changes",
    "push_contact",
    "push_contacts",
    "push_group",
    "push_groups",
    "push_membership_now",
    "push_memberships_now",
    "push_now",
    "push_pending",
    "schedule",
]

logger = logging.getLogger(__name__)

_PUSHABLE = (SyncState.PENDING, SyncState.FAILED)
_MAX_ERROR = 1000

R = TypeVar("R", Contact, Group)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def schedule(push: Callable[[bool], object]) -> None:
    """Push now when there is no transaction (refusals raised), else once it commits (recorded)."""
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(partial(push, False), robust=True)
    else:
        push(True)


# --- what differs between contacts and groups ----------------------------------------------------


@dataclass(frozen=True)
class Kind(Generic[R]):
    name: str
    model: type[R]
    create: Callable[[ZoomConnectClient, R], Any]
    update: Callable[[ZoomConnectClient, str, R], Any]
    delete: Callable[[ZoomConnectClient, str], None]
    remote_id_of: Callable[[Any], str | None]

    def queryset(self) -> models.QuerySet[R]:
        return self.model._default_manager.all()


CONTACTS: Kind[Contact] = Kind(
    name="contacts",
    model=Contact,
    create=lambda api, row: api.create_contact(**contact_body(row)),
    update=lambda api, remote_id, row: api.update_contact(remote_id, **contact_body(row)),
    delete=lambda api, remote_id: api.delete_contact(remote_id),
    remote_id_of=lambda remote: remote.contact_id,
)
GROUPS: Kind[Group] = Kind(
    name="groups",
    model=Group,
    create=lambda api, row: api.create_group(row.name),
    update=lambda api, remote_id, row: api.update_group(remote_id, name=row.name),
    delete=lambda api, remote_id: api.delete_group(remote_id),
    remote_id_of=lambda remote: remote.group_id,
)


class _Lookup:
    """The account's contacts and groups, read at most once per run, to find an object that a
    failed create may have made after all."""

    def __init__(self, api: ZoomConnectClient) -> None:
        self.api = api
        self._contacts: dict[str, RemoteContact] | None = None
        self._groups: list[RemoteGroup] | None = None

    def find(self, kind: Kind[Any], row: Contact | Group) -> str | None:
        found = self._contact(row.phone_number) if isinstance(row, Contact) else self._group(row.name)
        held = kind.queryset().filter(account=row.account, remote_id=found).exclude(pk=row.pk)
        if found is None or held.exists():
            return None  # not there, or already another row's
        return found

    def _contact(self, number: str) -> str | None:
        if self._contacts is None:
            self._contacts = {}
            for item in self.api.list_contacts():
                spelt = "".join((item.contact_number or "").split())
                if item.contact_id and spelt:
                    self._contacts.setdefault(spelt, item)
        # The spellings the provider is known to use; another one is adopted by the next pull.
        spellings = (number, number.lstrip("+"), phone.to_wire(number, fmt="national"))
        for spelt in spellings:
            match = self._contacts.get(spelt)
            if match is not None:
                return match.contact_id
        return None

    def _group(self, name: str) -> str | None:
        if self._groups is None:
            self._groups = self.api.list_groups()
        matches = [item.group_id for item in self._groups if item.group_id and item.name == name]
        return matches[0] if len(matches) == 1 else None


# --- pushing one row -----------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What one push did: ``created``, ``updated``, ``adopted``, ``deleted``, ``unchanged``,
    ``waiting`` or ``failed`` (with the error)."""

    result: str
    error: ZoomConnectError | None = None


def _push_row(
    kind: Kind[R], row: R, api: ZoomConnectClient, lookup: _Lookup, *, raise_refusal: bool
) -> _Outcome:
    if row.sync_state == SyncState.DELETING:
        return _push_deletion(kind, row, api, raise_refusal=raise_refusal)
    if row.sync_state not in _PUSHABLE:
        return _Outcome("unchanged")
    version = row.updated_at
    result = "updated"
    try:
        if row.remote_id is None:
            found = lookup.find(kind, row) if row.sync_state == SyncState.FAILED else None
            if found is not None:
                remote, result = kind.update(api, found, row), "adopted"
            else:
                remote, result = kind.create(api, row), "created"
        else:
            try:
                remote = kind.update(api, row.remote_id, row)
            except NotFoundError:
                # Gone from the account while changed here: local wins, it is created again.
                remote, result = kind.create(api, row), "created"
    except ZoomConnectError as exc:
        _record_failure(kind, row, version, exc)
        if raise_refusal and isinstance(exc, InvalidRequestError):
            raise
        return _Outcome("failed", exc)
    remote_id = kind.remote_id_of(remote)
    if not remote_id:
        missing = ZoomConnectError(
            f"Zoom Connect answered the push of {kind.name[:-1]} #{row.pk} without an id."
        )
        _record_failure(kind, row, version, missing)
        return _Outcome("failed", missing)
    _record_success(kind, row, version, remote_id, remote.raw, api, created=result == "created")
    return _Outcome(result)


def _record_success(
    kind: Kind[R],
    row: R,
    version: Any,
    remote_id: str,
    raw: dict[str, Any],
    api: ZoomConnectClient,
    *,
    created: bool,
) -> None:
    now = timezone.now()
    manager = kind.model._default_manager
    linked = {"remote_id": row.remote_id} if row.remote_id is not None else {"remote_id__isnull": True}
    new_copy = created and row.remote_id is not None
    try:
        done = manager.filter(pk=row.pk, updated_at=version, **linked).update(
            remote_id=remote_id,
            remote_data=raw,
            synced_at=now,
            sync_state=SyncState.SYNCED,
            sync_error="",
        )
        if not done and created:
            # Changed again while the push ran: that change is pushed next, to this new object.
            done = manager.filter(pk=row.pk, **linked).update(remote_id=remote_id, remote_data=raw)
    except IntegrityError:
        done = 0
    if done and new_copy:
        # A new remote copy is in no group (or has no members) yet.
        side = "contact_id" if isinstance(row, Contact) else "group_id"
        Membership.objects.filter(**{side: row.pk}, sync_state=SyncState.SYNCED).update(
            sync_state=SyncState.PENDING
        )
    if not done and created:
        current = manager.filter(pk=row.pk).values_list("remote_id", flat=True).first()
        if current != remote_id:
            # The row was deleted, or linked to another remote object (a concurrent push, a
            # pull's adoption) while this one was created: do not leave a duplicate behind.
            logger.warning(
                "Deleting %s %s from Zoom Connect: a duplicate of #%s", kind.name, remote_id, row.pk
            )
            try:
                kind.delete(api, remote_id)
            except ZoomConnectError as exc:
                logger.error("Could not delete duplicate %s %s: %s", kind.name, remote_id, exc)


def _record_failure(kind: Kind[R], row: R, version: Any, exc: ZoomConnectError | ConfigurationError) -> None:
    text = _error_text(exc)
    logger.warning("Pushing %s #%s to Zoom Connect failed: %s", kind.name[:-1], row.pk, text)
    # Only the version that was pushed: a newer change records its own outcome.
    same = kind.model._default_manager.filter(pk=row.pk, updated_at=version)
    if row.sync_state == SyncState.DELETING:
        same.update(sync_error=text)
    else:
        same.update(sync_state=SyncState.FAILED, sync_error=text)


def _push_deletion(kind: Kind[R], row: R, api: ZoomConnectClient, *, raise_refusal: bool) -> _Outcome:
    if row.remote_id is not None:
        try:
            kind.delete(api, row.remote_id)
        except NotFoundError:
            pass  # already gone: what we wanted
        except ZoomConnectError as exc:
            _record_failure(kind, row, row.updated_at, exc)
            if raise_refusal and isinstance(exc, InvalidRequestError):
                raise
            return _Outcome("failed", exc)
    kind.model._default_manager.filter(pk=row.pk, sync_state=SyncState.DELETING).delete()
    return _Outcome("deleted")


def _push_membership(membership: Membership, api: ZoomConnectClient, *, raise_refusal: bool) -> _Outcome:
    contact, group = membership.contact, membership.group
    state = membership.sync_state
    same = Membership.objects.filter(pk=membership.pk, sync_state=state)
    if state == SyncState.DELETING:
        if contact.remote_id is not None and group.remote_id is not None:
            try:
                api.group_remove_contact(group.remote_id, contact.remote_id)
            except NotFoundError:
                pass  # the contact or the group is gone, and the membership with it
            except ZoomConnectError as exc:
                same.update(sync_error=_error_text(exc))
                if raise_refusal and isinstance(exc, InvalidRequestError):
                    raise
                return _Outcome("failed", exc)
        same.delete()
        return _Outcome("deleted")
    if state not in _PUSHABLE:
        return _Outcome("unchanged")
    unavailable = (SyncState.DELETING, SyncState.REMOTE_DELETED)
    if (
        contact.remote_id is None
        or group.remote_id is None
        or contact.sync_state in unavailable
        or group.sync_state in unavailable
    ):
        return _Outcome("waiting")
    try:
        api.group_add_contact(group.remote_id, contact.remote_id)
    except ZoomConnectError as exc:
        same.update(sync_state=SyncState.FAILED, sync_error=_error_text(exc))
        if raise_refusal and isinstance(exc, InvalidRequestError):
            raise
        return _Outcome("failed", exc)
    same.update(sync_state=SyncState.SYNCED, synced_at=timezone.now(), sync_error="")
    return _Outcome("created")


def _memberships(**match: Any) -> models.QuerySet[Membership]:
    return (
        Membership.objects.filter(
            sync_state__in=(SyncState.PENDING, SyncState.FAILED, SyncState.DELETING), **match
        )
        .select_related("contact", "group")
        .order_by("pk")
    )


def _push_memberships_of(row: Contact | Group, api: ZoomConnectClient, report: SyncReport | None) -> None:
    match = {"contact_id": row.pk} if isinstance(row, Contact) else {"group_id": row.pk}
    for membership in _memberships(**match):
        outcome = _push_membership(membership, api, raise_refusal=False)
        if report is not None:
            _count(report, "memberships", membership, outcome)


def _count(report: SyncReport, kind: str, row: object, outcome: _Outcome) -> None:
    counts = report.kind(kind)
    setattr(counts, outcome.result, getattr(counts, outcome.result) + 1)
    if outcome.error is not None:
        report.note(kind, f"#{getattr(row, 'pk', '?')} {row}", _error_text(outcome.error))


def push_now(kind: Kind[R], pk: int, raise_refusal: bool, *, undo: Callable[[], None] | None = None) -> None:
    """The push right after a write: this row, then its memberships."""
    row = kind.queryset().filter(pk=pk).first()
    if row is None:
        return
    try:
        client = ZoomConnectClient.from_settings(account=row.account)
    except ConfigurationError as exc:
        # The row is stored; it is pushed once the settings are right (the system checks say so).
        _record_failure(kind, row, row.updated_at, exc)
        return
    with client as api:
        try:
            outcome = _push_row(kind, row, api, _Lookup(api), raise_refusal=raise_refusal)
        except InvalidRequestError:
            if undo is not None:
                undo()
            raise
        if outcome.result not in ("failed", "deleted"):
            _push_memberships_of(row, api, None)


def push_membership_now(pk: int, raise_refusal: bool, undo: Callable[[], None]) -> None:
    membership = Membership.objects.select_related("contact", "group").filter(pk=pk).first()
    if membership is None:
        return
    with client_for(None, account=membership.contact.account) as api:
        try:
            _push_membership(membership, api, raise_refusal=raise_refusal)
        except InvalidRequestError:
            undo()
            raise


def push_memberships_now(contact: Contact) -> None:
    with client_for(None, account=contact.account) as api:
        _push_memberships_of(contact, api, None)


# --- pushing what is pending ---------------------------------------------------------------------


class _StopRun(Exception):
    """The provider or the credentials fail every row alike: stop, the rows stay pending."""


def _run(report: SyncReport, kind: str, row: object, outcome: _Outcome) -> None:
    _count(report, kind, row, outcome)
    if outcome.error is not None and fails_every_call(outcome.error):
        report.errors[kind] = _error_text(outcome.error)
        report.stopped_by = outcome.error
        raise _StopRun


def pending_changes() -> dict[str, int]:
    """How many contacts, groups and memberships :func:`push_pending` would push now."""
    waiting = (SyncState.PENDING, SyncState.FAILED, SyncState.DELETING)
    return {
        "groups": Group.objects.filter(sync_state__in=waiting).count(),
        "contacts": Contact.objects.filter(sync_state__in=waiting).count(),
        "memberships": Membership.objects.filter(sync_state__in=waiting).count(),
    }


def _push_all(
    kind: Kind[R], rows: models.QuerySet[R], api: ZoomConnectClient, lookup: _Lookup, report: SyncReport
) -> None:
    for row in rows.order_by("pk"):
        _run(report, kind.name, row, _push_row(kind, row, api, lookup, raise_refusal=False))


def push_pending(*, client: ZoomConnectClient | None = None, account: str | None = None) -> SyncReport:
    """Push every contact, group and membership with a change the account has not seen yet.

    Rows in ``PENDING``, ``FAILED`` and ``DELETING`` state are pushed in this order: groups,
    contacts, memberships, then deletions of contacts and groups. When a failure says the next
    rows would fail alike (the provider cannot be reached, the credentials are refused), the run
    stops there and ``report.errors`` says why; what was not pushed stays pending for the next
    run. Never raises for a row's failure: each is recorded on its row and in the report.

    Only the rows of ``account`` (an alias; ``None``: ``"default"``) are pushed, to that account.
    """
    alias = conf.account_alias(account)
    report = SyncReport("push")
    for name in ("groups", "contacts", "memberships"):
        report.kind(name)
    groups = GROUPS.queryset().filter(account=alias)
    contacts = CONTACTS.queryset().filter(account=alias)
    with client_for(client, account=alias) as api:
        lookup = _Lookup(api)
        try:
            _push_all(GROUPS, groups.filter(sync_state__in=_PUSHABLE), api, lookup, report)
            _push_all(CONTACTS, contacts.filter(sync_state__in=_PUSHABLE), api, lookup, report)
            for membership in _memberships(contact__account=alias):
                outcome = _push_membership(membership, api, raise_refusal=False)
                _run(report, "memberships", membership, outcome)
            _push_all(CONTACTS, contacts.filter(sync_state=SyncState.DELETING), api, lookup, report)
            _push_all(GROUPS, groups.filter(sync_state=SyncState.DELETING), api, lookup, report)
        except _StopRun:
            logger.warning("Push to Zoom Connect stopped: %s", report.errors)
    return report


def _push_rows(kind: Kind[R], rows: Iterable[R | int], client: ZoomConnectClient | None) -> SyncReport:
    """Push the given rows whatever their state (synced rows are sent again), and their memberships."""
    pks = [row if isinstance(row, int) else row.pk for row in rows]
    kind.queryset().filter(pk__in=pks, sync_state__in=(SyncState.SYNCED, SyncState.REMOTE_DELETED)).update(
        sync_state=SyncState.PENDING, updated_at=timezone.now()
    )
    report = SyncReport("push")
    report.kind(kind.name)
    with clients_for(client) as clients:  # each row to its own account
        lookups: dict[str, _Lookup] = {}
        try:
            for row in kind.queryset().filter(pk__in=pks).order_by("pk"):
                api = clients(row.account)
                lookup = lookups.setdefault(row.account, _Lookup(api))
                outcome = _push_row(kind, row, api, lookup, raise_refusal=False)
                _run(report, kind.name, row, outcome)
                if outcome.result not in ("failed", "deleted"):
                    match = {"contact_id": row.pk} if kind is CONTACTS else {"group_id": row.pk}
                    for membership in _memberships(**match):
                        _run(
                            report,
                            "memberships",
                            membership,
                            _push_membership(membership, api, raise_refusal=False),
                        )
        except _StopRun:
            logger.warning("Push to Zoom Connect stopped: %s", report.errors)
    return report


def push_contacts(
    contacts: Iterable[Contact | int], *, client: ZoomConnectClient | None = None
) -> SyncReport:
    """Make the account hold these contacts as they are here (the admin's "Push" action)."""
    return _push_rows(CONTACTS, contacts, client)


def push_groups(groups: Iterable[Group | int], *, client: ZoomConnectClient | None = None) -> SyncReport:
    """Make the account hold these groups as they are here, with their members."""
    return _push_rows(GROUPS, groups, client)


def push_contact(contact: Contact | int, *, client: ZoomConnectClient | None = None) -> Contact | None:
    """Push one contact's pending change and memberships now; the row as stored after it
    (``None`` once deleted). Failures are recorded on the row, never raised."""
    pk = contact if isinstance(contact, int) else contact.pk
    _push_rows_pending(CONTACTS, pk, client)
    return Contact.objects.filter(pk=pk).first()


def push_group(group: Group | int, *, client: ZoomConnectClient | None = None) -> Group | None:
    """Push one group's pending change and memberships now; the row as stored after it."""
    pk = group if isinstance(group, int) else group.pk
    _push_rows_pending(GROUPS, pk, client)
    return Group.objects.filter(pk=pk).first()


def _push_rows_pending(kind: Kind[R], pk: int, client: ZoomConnectClient | None) -> None:
    row = kind.queryset().filter(pk=pk).first()
    if row is None:
        return
    with client_for(client, account=row.account) as api:
        outcome = _push_row(kind, row, api, _Lookup(api), raise_refusal=False)
        if outcome.result not in ("failed", "deleted"):
            _push_memberships_of(row, api, None)
