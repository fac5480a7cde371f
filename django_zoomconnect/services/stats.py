"""Delivery statistics: the outbox's counts, messages sent per day by status, and campaigns.

A few aggregate queries, never one per message: what they cost grows with days, statuses and
campaigns, not with the messages counted. Days are the days of a time zone the caller gives
(the admin user's). Each day's bucket is found by comparing ``sent_at`` with that zone's
midnights, computed here, rather than by ``TruncDate(..., tzinfo=...)``: MySQL and MariaDB
convert zones only with their time-zone tables loaded (without them every day is ``NULL``), and
this way each backend counts the same days, daylight saving included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import Direction, Message, MessageStatus, OptOut

__all__ = [
    "FAILED_STATUSES",
    "HANDED_OVER",
    "CampaignStats",
    "DayCounts",
    "Deliveries",
    "OutboxCounts",
    "Window",
    "campaigns",
    "deliveries",
    "outbox_counts",
    "rate",
]

#: The statuses of an outbound message the provider accepted, in the chart's order: the
#: delivery rate is ``DELIVERED`` out of all of them (sent, or final).
HANDED_OVER = (
    MessageStatus.DELIVERED,
    MessageStatus.SENT,
    MessageStatus.UNKNOWN,
    MessageStatus.FAILED,
    MessageStatus.FAILED_REFUNDED,
    MessageStatus.FAILED_OPTOUT,
)
FAILED_STATUSES = (MessageStatus.FAILED, MessageStatus.FAILED_REFUNDED, MessageStatus.FAILED_OPTOUT)


def rate(delivered: int, handed_over: int) -> float | None:
    """``delivered`` as a fraction of ``handed_over`` (``None`` when nothing was handed over)."""
    return delivered / handed_over if handed_over else None


@dataclass(frozen=True)
class Window:
    """Whole days of a time zone, ending with today there: ``days[i]`` starts at ``starts[i]``."""

    days: tuple[date, ...]
    #: One more than ``days``: the last is the end of today.
    starts: tuple[datetime, ...]

    @classmethod
    def last(cls, days: int, tz: tzinfo, *, now: datetime | None = None) -> Window:
        today = timezone.localtime(now or timezone.now(), tz).date()
        dates = tuple(today - timedelta(days=back) for back in range(days - 1, -1, -1))
        edges = (*dates, today + timedelta(days=1))
        return cls(dates, tuple(datetime.combine(day, time.min, tzinfo=tz) for day in edges))

    @property
    def start(self) -> datetime:
        return self.starts[0]

    @property
    def end(self) -> datetime:
        return self.starts[-1]

    def day_index(self, field_name: str) -> Case:
        """A SQL expression: the index in :attr:`days` of the day ``field_name`` falls in.

        Only meaningful for rows with ``start <= field < end``, which the caller filters.
        """
        whens = [When(**{f"{field_name}__lt": edge}, then=Value(i)) for i, edge in enumerate(self.starts[1:])]
        return Case(*whens, default=Value(len(self.days) - 1), output_field=IntegerField())


# --- the outbox now ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxCounts:
    """Outbound messages waiting on this side, and those that failed lately."""

    queued: int
    sending: int
    uncertain: int
    #: ``FAILED``, ``FAILED_REFUNDED`` or ``FAILED_OPTOUT``, last changed within a day.
    failed_last_day: int


def _outbound(campaign: str | None) -> QuerySet[Message]:
    messages = Message.objects.filter(direction=Direction.OUTBOUND)
    return messages if campaign is None else messages.filter(campaign=campaign)


def outbox_counts(*, campaign: str | None = None, now: datetime | None = None) -> OutboxCounts:
    """The outbox's counts in one query (``campaign``: only that campaign's messages)."""
    since = (now or timezone.now()) - timedelta(days=1)
    waiting = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.UNCERTAIN)
    failed_lately = Q(status__in=FAILED_STATUSES, updated_at__gte=since)
    counts = (
        _outbound(campaign)
        .filter(Q(status__in=waiting) | failed_lately)
        .aggregate(
            queued=Count("pk", filter=Q(status=MessageStatus.QUEUED)),
            sending=Count("pk", filter=Q(status=MessageStatus.SENDING)),
            uncertain=Count("pk", filter=Q(status=MessageStatus.UNCERTAIN)),
            failed_last_day=Count("pk", filter=failed_lately),
        )
    )
    return OutboxCounts(**counts)


# --- deliveries per day ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCounts:
    """The messages sent on one day, by their status now (statuses with none are left out)."""

    day: date
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Deliveries:
    """Messages handed to the provider on each day of a window, by their status now."""

    days: tuple[DayCounts, ...]
    totals: Mapping[str, int] = field(default_factory=dict)

    @property
    def handed_over(self) -> int:
        return sum(self.totals.values())

    @property
    def delivered(self) -> int:
        return self.totals.get(MessageStatus.DELIVERED, 0)

    @property
    def failed(self) -> int:
        return sum(self.totals.get(status, 0) for status in FAILED_STATUSES)

    @property
    def rate(self) -> float | None:
        return rate(self.delivered, self.handed_over)


def _sent_in(window: Window, campaign: str | None = None) -> QuerySet[Message]:
    return _outbound(campaign).filter(
        status__in=HANDED_OVER, sent_at__gte=window.start, sent_at__lt=window.end
    )


def deliveries(window: Window, *, campaign: str | None = None) -> Deliveries:
    """Outbound messages by the day (of ``window``'s zone) they were sent and their status; one query."""
    rows = (
        _sent_in(window, campaign)
        .annotate(day=window.day_index("sent_at"))
        .values("day", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    per_day: list[Counter[str]] = [Counter() for _ in window.days]
    for row in rows:
        per_day[row["day"]][row["status"]] += row["n"]
    totals: Counter[str] = sum(per_day, Counter())
    days = tuple(
        DayCounts(day, {s: counts[s] for s in HANDED_OVER if counts[s]})
        for day, counts in zip(window.days, per_day, strict=True)
    )
    return Deliveries(days, {s: totals[s] for s in HANDED_OVER if totals[s]})


# --- campaigns -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignStats:
    """One campaign over a window (``""``: messages without one)."""

    campaign: str
    handed_over: int = 0
    delivered: int = 0
    failed: int = 0
    replies: int = 0
    opt_outs: int = 0

    @property
    def rate(self) -> float | None:
        return rate(self.delivered, self.handed_over)


def _campaign_of(message: str) -> Case:
    """The campaign a reply (or anything linked to one) counts for: the message it answers, else its own."""
    prefix = f"{message}__" if message else ""
    return Case(
        When(**{f"{prefix}in_reply_to__isnull": False}, then=F(f"{prefix}in_reply_to__campaign")),
        default=Coalesce(F(f"{prefix}campaign"), Value("")),
    )


def campaigns(window: Window) -> list[CampaignStats]:
    """Every campaign with messages sent, replies or opt-outs in ``window``; most sent first.

    Three queries: messages sent by campaign and status; inbound replies, counted for the
    campaign of the message they answer (else their own); opt-outs, counted for the campaign of
    the reply or the report that caused them.
    """
    sent: dict[str, Counter[str]] = {}
    rows = _sent_in(window).values("campaign", "status").annotate(n=Count("pk")).order_by()
    for row in rows:
        sent.setdefault(row["campaign"], Counter())[row["status"]] += row["n"]
    replies = _count_by(
        Message.objects.filter(
            direction=Direction.INBOUND, received_at__gte=window.start, received_at__lt=window.end
        ),
        _campaign_of(""),
    )
    opt_outs = _count_by(
        OptOut.objects.filter(created_at__gte=window.start, created_at__lt=window.end),
        _campaign_of("message"),
    )
    result = []
    for name in {*sent, *replies, *opt_outs}:
        counts = sent.get(name, Counter())
        result.append(
            CampaignStats(
                campaign=name,
                handed_over=sum(counts.values()),
                delivered=counts[MessageStatus.DELIVERED],
                failed=sum(counts[status] for status in FAILED_STATUSES),
                replies=replies.get(name, 0),
                opt_outs=opt_outs.get(name, 0),
            )
        )
    return sorted(result, key=lambda row: (-row.handed_over, -row.replies, row.campaign))


def _count_by(rows: QuerySet[Message] | QuerySet[OptOut], campaign: Case) -> dict[str, int]:
    grouped = rows.annotate(label=campaign).values("label").annotate(n=Count("pk")).order_by()
    found: Counter[str] = Counter()
    for row in grouped:
        found[row["label"] or ""] += row["n"]
    return dict(found)


def campaign_names(stats: Sequence[CampaignStats]) -> list[str]:
    """The named campaigns in ``stats``, alphabetically (for a filter's choices)."""
    return sorted({row.campaign for row in stats if row.campaign}, key=str.casefold)
