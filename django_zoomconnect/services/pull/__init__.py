"""Pull: copy the account's contacts, groups, templates and messages into the models, in bulk.

What a pull does, and why:

* **Whole lists, bulk writes.** The API lists contacts, groups and templates whole and messages
  page by page. Each kind (or each batch of :data:`~.engine.BATCH_SIZE` messages) is loaded from
  the database in one query, compared in memory, and written in bulk (:mod:`..rows`): new rows
  inserted, rows whose fields really changed updated. Queries grow with batches, never with rows;
  rows that did not change are not written.
* **Local changes win until pushed.** A row whose ``sync_state`` is ``PENDING``, ``FAILED`` or
  ``DELETING`` holds a change the account has not seen yet. A pull never overwrites it (it is
  counted as a *conflict*); the next push sends it, and the pull after that refreshes the row.
* **Adoption instead of duplicates.** A remote object that matches a local row not pushed yet is
  linked to that row instead of creating a second one: a contact by its phone number, a group by
  a name that exactly one unlinked local group and one unlinked remote group share, an outbound
  message when it can only be that row's send. Adopted rows with unpushed changes keep them.
* **Deleted on the account.** A row whose remote object no longer exists is marked
  ``REMOTE_DELETED`` and kept (``ZOOMCONNECT["SYNC_DELETE_POLICY"] = "mark"``, the default), or
  deleted (``"delete"``). A row in ``DELETING`` state whose remote object is gone was deleted as
  wanted: it is removed either way.
* **Bad data is skipped, not fatal**, and listed in the report's ``issues``.

Each kind lives in its own module (:mod:`.groups`, :mod:`.contacts`, :mod:`.templates`,
:mod:`.messages`); :data:`KINDS` is the table :func:`pull` runs, in order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import partial

from django.utils import timezone

from ... import conf
from ...client import ZoomConnectClient
from ...exceptions import ZoomConnectError, fails_every_call
from ..clients import client_for
from ..reports import SyncReport
from .contacts import pull_contacts
from .engine import BATCH_SIZE, Context, Progress, pull_listed
from .groups import GROUPS
from .messages import MESSAGE_OVERLAP, MESSAGE_PAGE_SIZE, pull_messages
from .templates import TEMPLATES

__all__ = ["ALL_KINDS", "BATCH_SIZE", "KINDS", "MESSAGE_OVERLAP", "MESSAGE_PAGE_SIZE", "Progress", "pull"]

logger = logging.getLogger(__name__)

#: Each kind a pull knows, in the order it runs them (contacts before the messages they link to).
KINDS: dict[str, Callable[[ZoomConnectClient, Context], None]] = {
    "groups": partial(pull_listed, GROUPS),
    "contacts": pull_contacts,
    "templates": partial(pull_listed, TEMPLATES),
    "messages": pull_messages,
}
ALL_KINDS: tuple[str, ...] = tuple(KINDS)


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


def pull(
    *,
    kinds: Iterable[str] = ALL_KINDS,
    since: date | None = None,
    until: date | None = None,
    dry_run: bool = False,
    client: ZoomConnectClient | None = None,
    progress: Progress | None = None,
    page_size: int = MESSAGE_PAGE_SIZE,
    account: str | None = None,
) -> SyncReport:
    """Bring ``kinds`` of the account into the database; what happened, as a :class:`SyncReport`.

    ``since`` and ``until`` (dates, or aware datetimes, both inclusive, in the API's time zone)
    limit the messages pulled; other kinds are always pulled whole. With ``dry_run`` nothing is
    written: the report says what a real pull would do. A kind that fails is recorded in
    ``report.errors`` and the others still run, unless every call would fail alike (the API
    cannot be reached, the credentials are refused): the pull then stops there, with the failure
    in ``report.stopped_by``. What a kind wrote before failing stays, since every write is an
    idempotent upsert. ``progress`` is called as
    the pull advances. ``account`` is the alias of the account pulled (``None``: ``"default"``):
    only its rows are compared, and the rows created are tagged with it (a caller's ``client``
    must be that account's). See the module's documentation for the rules.
    """
    alias = conf.account_alias(account)
    wanted = _check_kinds(kinds)
    _check_moment(since, "since")
    _check_moment(until, "until")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise ValueError(f"page_size must be a positive int, not {page_size!r}")
    report = SyncReport("pull", dry_run=dry_run)
    ctx = Context(
        report=report,
        dry_run=dry_run,
        policy=str(conf.get("SYNC_DELETE_POLICY")),
        progress=progress,
        since=since,
        until=until,
        page_size=page_size,
        account=alias,
    )
    started = time.monotonic()
    with client_for(client, account=alias) as api:
        for kind in wanted:
            report.kind(kind)
            try:
                KINDS[kind](api, ctx)
            except ZoomConnectError as exc:
                report.errors[kind] = str(exc)
                logger.warning("Pulling %s from Zoom Connect failed: %s", kind, exc)
                if fails_every_call(exc):
                    report.stopped_by = exc
                    break
    logger.info(
        "Pulled %s from the Zoom Connect account %r in %.1fs%s: %s",
        ", ".join(wanted),
        alias,
        time.monotonic() - started,
        " (dry run)" if dry_run else "",
        {name: counts.as_dict() for name, counts in report.kinds.items()},
    )
    return report
