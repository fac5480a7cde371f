"""Pull contacts: the account's list, whole, matched by remote id, else adopted by phone number.

Why by number: a contact not pushed yet, or whose remote copy was deleted and created again, is
the same person; its local row keeps its messages and groups. Phone numbers are unique locally,
so a remote contact with an invalid number, or with another one's number, is skipped and noted,
and numbers that move between rows are freed first. Group membership cannot be pulled (no
operation lists members): a contact relinked to a new remote copy gets its memberships set back
to ``PENDING`` so that the next push restores them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from ... import phone
from ...client import ZoomConnectClient
from ...exceptions import PhoneNumberError
from ...models import Contact, Membership, SyncState
from ...wire import Contact as RemoteContact
from ..mapping import contact_fields
from ..reports import KindReport, SyncReport
from ..rows import batched
from .engine import (
    BATCH_SIZE,
    LOCAL_CHANGES,
    Context,
    Writes,
    adopt,
    listed_by_id,
    load,
    new_row,
    refresh,
    vanished,
    write,
    writing,
)

__all__ = ["pull_contacts"]


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


def pull_contacts(api: ZoomConnectClient, ctx: Context) -> None:
    """Pull the account's contacts, whole; see the module's documentation for the rules."""
    report, dry_run, policy, numbers = ctx.report, ctx.dry_run, ctx.policy, ctx.numbers
    counts = report.kind("contacts")
    items: list[RemoteContact] = api.list_contacts()
    now = timezone.now()
    writes = Writes()
    with writing(dry_run):
        rows = load(Contact.objects.filter(account=ctx.account), dry_run)
        stored = {row.pk: row.phone_number for row in rows}
        by_remote = {row.remote_id: row for row in rows if row.remote_id is not None}
        by_number = {row.phone_number: row for row in rows}
        listed = listed_by_id("contacts", items, lambda item: item.contact_id, counts, report)
        entries: list[tuple[str, str, RemoteContact]] = []
        for item in listed.values():
            assert item.contact_id is not None
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
            values = contact_fields(item, number)
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
                writes.creates.append(
                    new_row(action.remote_id, action.values, action.item.raw, now, account=ctx.account)
                )
                counts.created += 1
            elif action.adopt:
                if row.remote_id is not None:
                    relinked.append(row.pk)
                adopt(row, action.remote_id, action.values, action.item.raw, now, writes)
                counts.adopted += 1
            elif refresh(row, action.values, action.item.raw, now, writes):
                counts.updated += 1
            else:
                counts.unchanged += 1
        vanished("contacts", rows, listed, policy, counts, report, writes)
        if not dry_run:
            _renumber_safely(stored, writes)
            write(Contact, writes)
            for chunk in batched(relinked, BATCH_SIZE):
                # A new remote copy is in no group: the next push adds it to its groups again.
                Membership.objects.filter(contact_id__in=chunk, sync_state=SyncState.SYNCED).update(
                    sync_state=SyncState.PENDING
                )
    ctx.done("contacts", len(items), len(items))


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
    listed: Collection[str],
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


def _renumber_safely(stored: dict[int, str], writes: Writes) -> None:
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
