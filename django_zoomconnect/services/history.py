"""A message's status history: record each change with the decision, announce it after commit.

Why together: a status change, its history row and its ``message_status_changed`` signal are one
fact. The row is written in the caller's transaction, with the UPDATE that made the decision,
and the signal goes out only once that transaction has committed, so a process that dies
midway leaves either the decision with its history (and the signal still to come from the
commit hook) or neither. Every service that moves a status records it here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from .. import signals
from ..models import Message, MessageStatusChange
from . import rows as bulk

__all__ = ["StatusChange", "announce", "record"]


@dataclass(frozen=True)
class StatusChange:
    """One step of one message's life: ``old`` to ``new``, decided by ``source``."""

    message_id: int
    old: str
    new: str
    source: str
    detail: dict[str, Any] = field(default_factory=dict)
    #: The webhook event (a ``DeliveryReport``) that caused it, when one did.
    event: Any = None


def record(
    changes: Sequence[StatusChange], *, now: datetime, batch_size: int = bulk.SLICE, announced: bool = True
) -> None:
    """Store ``changes`` (one statement per ``batch_size``) in the caller's transaction.

    With ``announced`` (the default), ``message_status_changed`` is sent for each once the
    transaction commits; a caller that sends it with other signals, in its own order, passes
    ``announced=False`` and calls :func:`announce` itself.
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
    if announced and signals.message_status_changed.has_listeners(Message):
        pending = list(changes)
        transaction.on_commit(lambda: announce(pending), robust=True)


def announce(changes: Sequence[StatusChange], messages: Mapping[int, Message] | None = None) -> None:
    """Send ``message_status_changed`` for each change; a receiver's exception is logged, never raised.

    The signal's ``message`` is the one in ``messages``, else the row as committed.
    """
    if not changes or not signals.message_status_changed.has_listeners(Message):
        return
    found = dict(messages or {})
    missing = [change.message_id for change in changes if change.message_id not in found]
    for start in range(0, len(missing), bulk.SLICE):
        found.update((m.pk, m) for m in Message.objects.filter(pk__in=missing[start : start + bulk.SLICE]))
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
            event=change.event,
        )
