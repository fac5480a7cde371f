"""A message's status history: record each change with the decision, announce it after commit.

Why together: a status change, its history row and its ``message_status_changed`` signal are one
fact. The row is written in the caller's transaction, with the UPDATE that made the decision,
and the signal goes out only once that transaction has committed, so a process that dies
midway leaves either the decision with its history (and the signal still to come from the
commit hook) or neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from .. import signals
from ..models import Message, MessageStatusChange
from . import rows as bulk

__all__ = ["StatusChange", "record"]

#: Messages read back per query when announcing changes.
_SLICE = 500


@dataclass(frozen=True)
class StatusChange:
    """One step of one message's life: ``old`` to ``new``, decided by ``source``."""

    message_id: int
    old: str
    new: str
    source: str
    detail: dict[str, Any] = field(default_factory=dict)


def record(changes: Sequence[StatusChange], *, now: datetime, batch_size: int = bulk.SLICE) -> None:
    """Store ``changes`` (one statement per ``batch_size``) and send ``message_status_changed``
    once they commit.

    Call it inside the transaction that made the decisions. The signal's ``message`` is read
    after the commit, so receivers see the row as it was stored; a receiver's exception is
    logged, never raised into the caller.
    """
    if not changes:
        return
    bulk.insert(
        MessageStatusChange,
        [
            {
                "message_id": change.message_id,
                "old_status": change.old,
                "new_status": change.new,
                "source": change.source,
                "detail": change.detail,
            }
            for change in changes
        ],
        now=now,
        batch_size=batch_size,
    )
    if signals.message_status_changed.has_listeners(Message):
        pending = list(changes)
        transaction.on_commit(lambda: _announce(pending), robust=True)


def _announce(changes: Sequence[StatusChange]) -> None:
    ids = [change.message_id for change in changes]
    found: dict[int, Message] = {}
    for start in range(0, len(ids), _SLICE):
        found.update((m.pk, m) for m in Message.objects.filter(pk__in=ids[start : start + _SLICE]))
    for change in changes:
        message = found.get(change.message_id)
        if message is None:
            continue  # deleted since
        signals.send_robustly(
            signals.message_status_changed,
            Message,
            message=message,
            old_status=change.old,
            new_status=change.new,
            source=change.source,
            event=None,
        )
