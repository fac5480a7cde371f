"""How far along messages are: the stage of each status, and batches counted by status in one query.

Why stages: the thirteen statuses mean five things to someone watching a send (still with this
side, with the provider, delivered, failed, cancelled), and a batch's progress bar and a
message's timeline should agree on which is which. A message is done once this side has
nothing left to do with it: the same rule (:data:`~.outbox.PENDING_STATUSES`) that marks a
batch ``DONE``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from ..models import Message, MessageStatus
from .outbox.state import PENDING_STATUSES

__all__ = ["STAGES", "Progress", "Segment", "batch_progress", "progress_of", "stage"]

S = MessageStatus
#: The stages in the order a progress bar shows them.
STAGES = ("delivered", "sent", "failed", "cancelled", "waiting")
_STAGES: dict[str, str] = {
    S.DELIVERED: "delivered",
    S.RECEIVED: "delivered",
    S.SENT: "sent",
    S.SCHEDULED: "sent",
    S.UNKNOWN: "sent",
    S.FAILED: "failed",
    S.FAILED_REFUNDED: "failed",
    S.FAILED_OPTOUT: "failed",
    S.REJECTED: "failed",
    S.CANCELLED: "cancelled",
    **{status: "waiting" for status in PENDING_STATUSES},
}


def stage(status: str) -> str:
    """The stage of ``status``: one of :data:`STAGES` (an unknown status is with the provider)."""
    return _STAGES.get(status, "sent")


@dataclass(frozen=True)
class Segment:
    """One stage's part of a progress bar."""

    stage: str
    count: int
    percent: float


@dataclass(frozen=True)
class Progress:
    """A set of messages counted by status (only the statuses present, in the models' order)."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Messages this side has nothing left to do with."""
        return sum(n for status, n in self.counts.items() if status not in PENDING_STATUSES)

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 0

    @property
    def segments(self) -> list[Segment]:
        by_stage = dict.fromkeys(STAGES, 0)
        for status, n in self.counts.items():
            by_stage[stage(status)] += n
        total = self.total
        return [Segment(name, n, n * 100 / total) for name, n in by_stage.items() if n]


def _ordered(counts: dict[str, int]) -> Progress:
    order = {status: i for i, status in enumerate(S.values)}
    return Progress(dict(sorted(counts.items(), key=lambda item: order.get(item[0], len(order)))))


def progress_of(messages: QuerySet[Message]) -> Progress:
    """``messages`` counted by status: one query."""
    rows = messages.order_by().values_list("status").annotate(n=Count("pk"))
    return _ordered(dict(rows))


def batch_progress(batch_ids: Iterable[int]) -> dict[int, Progress]:
    """The :class:`Progress` of each batch, from one aggregate query over all of them."""
    ids = list(batch_ids)
    found: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    rows = (
        Message.objects.filter(batch_id__in=ids)
        .order_by()
        .values_list("batch_id", "status")
        .annotate(n=Count("pk"))
    )
    for batch_id, status, n in rows:
        found[batch_id][status] = n
    return {pk: _ordered(counts) for pk, counts in found.items()}
