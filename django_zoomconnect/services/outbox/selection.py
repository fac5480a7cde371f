"""The operator's levers on a selection of messages or batches: what each did, what it left and why.

Why a module of its own: :mod:`.control` and :mod:`.reconcile` decide which messages a lever may
touch and return how many it touched; an operator who selected fifty wants to read what became
of all fifty ("12 retried, 3 skipped: not failed"). These functions call those levers and
account for the rest by reason, with one aggregate query before and after, never one per row.
A message that was eligible but changed in between (a worker or a report was quicker) is
counted as "changed meanwhile".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from django.db.models import Count, QuerySet

from ...models import Batch, Direction, Message, MessageStatus, OptOut
from ..reports import Tally
from . import control, reconcile
from .state import RETRYABLE_STATUSES

__all__ = [
    "FAILED_STATUSES",
    "cancel_batches",
    "cancel_selected",
    "refresh_selected",
    "retry_batches",
    "retry_selected",
]

S = MessageStatus
#: What an operator calls failed: retried unless the number opted out or a guard refused it.
FAILED_STATUSES = (*RETRYABLE_STATUSES, S.FAILED_OPTOUT, S.REJECTED)
#: A batch's messages that "cancel remaining" is about: not handed over yet, or held for later.
_REMAINING = (S.QUEUED, S.SENDING, S.UNCERTAIN, S.SCHEDULED)
_INBOUND = "inbound"
_CHANGED = "changed meanwhile"

_NOT_RETRIED: dict[str, str] = {S.FAILED_OPTOUT: "opted out", S.REJECTED: "rejected before sending"}
_NOT_CANCELLED: dict[str, str] = {
    S.SENDING: "being sent",
    S.UNCERTAIN: "being sent",
    S.CANCELLED: "already cancelled",
    S.FAILED: "already failed",
    S.FAILED_REFUNDED: "already failed",
    S.FAILED_OPTOUT: "already failed",
    S.REJECTED: "already failed",
}
_NOT_REFRESHED: dict[str, str] = {
    S.QUEUED: "not sent yet",
    S.SENDING: "not sent yet",
    S.UNCERTAIN: "not sent yet",
    S.CANCELLED: "never sent",
    S.REJECTED: "never sent",
}


def _by_status(messages: QuerySet[Message]) -> Counter[tuple[str, str]]:
    """How many of ``messages`` there are per (direction, status): one query."""
    rows = messages.order_by().values_list("direction", "status").annotate(n=Count("pk"))
    return Counter({(direction, status): n for direction, status, n in rows})


def _account(
    tally: Tally, messages: QuerySet[Message], eligible: Callable[[str], bool], why: Callable[[str], str]
) -> int:
    """Skip each message the lever will not touch, by ``why``; how many it may touch."""
    count = 0
    for (direction, status), n in _by_status(messages).items():
        if direction == Direction.INBOUND:
            tally.skip(_INBOUND, n)
        elif eligible(status):
            count += n
        else:
            tally.skip(why(status), n)
    return count


def retry_selected(messages: QuerySet[Message]) -> Tally:
    """:func:`control.retry` the failed ones of ``messages``; the others skipped, by reason."""
    tally = Tally()
    tally.add("retried", 0)
    failed = _account(
        tally, messages, lambda s: s in RETRYABLE_STATUSES, lambda s: _NOT_RETRIED.get(s, "not failed")
    )
    retryable = messages.filter(direction=Direction.OUTBOUND, status__in=RETRYABLE_STATUSES)
    stopped = retryable.filter(to_number__in=OptOut.objects.values("phone_number")).count()
    copied = (
        retryable.exclude(to_number__in=OptOut.objects.values("phone_number"))
        .filter(remote_id__isnull=False, retries__isnull=False)
        .distinct()
        .count()
    )
    queued = control.retry(messages) if failed > stopped + copied else 0
    tally.add("retried", queued)
    tally.skip("opted out", stopped)
    tally.skip("retried already", copied)
    tally.skip(_CHANGED, max(failed - stopped - copied - queued, 0))
    return tally


def _scheduled_remotely(messages: QuerySet[Message]) -> QuerySet[Message]:
    return messages.filter(direction=Direction.OUTBOUND, status=S.SCHEDULED, remote_id__isnull=False)


def _cancelling(messages: QuerySet[Message], cancel: Callable[[], int]) -> Tally:
    tally = Tally()
    tally.add("cancelled", 0)
    waiting = _account(
        tally,
        messages,
        lambda s: s in (S.QUEUED, S.SCHEDULED),
        lambda s: _NOT_CANCELLED.get(s, "already sent"),
    )
    cancelled = cancel() if waiting else 0
    tally.add("cancelled", cancelled)
    kept = _scheduled_remotely(messages).count() if waiting > cancelled else 0
    tally.skip("Zoom Connect did not delete it", kept)
    tally.skip(_CHANGED, max(waiting - cancelled - kept, 0))
    return tally


def cancel_selected(messages: QuerySet[Message]) -> Tally:
    """:func:`control.cancel` ``messages``: queued ones, and those the provider holds for later."""
    return _cancelling(messages, lambda: control.cancel(messages))


def cancel_batches(batches: QuerySet[Batch]) -> Tally:
    """Cancel what each batch has not sent yet (the batch is marked cancelled too)."""
    chosen = list(batches)
    remaining = Message.objects.filter(batch__in=[batch.pk for batch in chosen], status__in=_REMAINING)
    return _cancelling(remaining, lambda: sum(control.cancel(batch) for batch in chosen))


def retry_batches(batches: QuerySet[Batch]) -> Tally:
    """Retry the failed messages of each batch; those that cannot be retried, by reason."""
    return retry_selected(Message.objects.filter(batch__in=batches.values("pk"), status__in=FAILED_STATUSES))


def refresh_selected(messages: QuerySet[Message], *, limit: int = 500) -> Tally:
    """Ask the provider now for the status of ``messages`` (:func:`reconcile.refresh_messages`)."""
    tally = Tally()
    tally.add("refreshed", 0)
    tally.add("with a new status", 0)
    refreshable = set(reconcile.REFRESHABLE_STATUSES)
    outbound = _account(
        tally, messages, lambda s: s in refreshable, lambda s: _NOT_REFRESHED.get(s, "already final")
    )
    eligible = reconcile.refreshable(messages).count()
    tally.skip("not on Zoom Connect", outbound - eligible)
    result = reconcile.refresh_messages(messages, limit=limit) if eligible else reconcile.PollResult()
    tally.add("refreshed", result.polled)
    tally.add("with a new status", result.changed)
    over = max(eligible - limit, 0)
    tally.skip(f"more than {limit} at a time", over)
    unanswered = eligible - over - result.polled
    tally.skip(
        "sending is paused (credentials refused)" if result.paused else "Zoom Connect did not answer",
        unanswered,
    )
    return tally
