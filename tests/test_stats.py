"""Tests for services/stats.py: the user's days (any zone, any database), statuses, rates, campaigns."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from django_zoomconnect.models import Direction, Message, MessageStatus, OptOut
from django_zoomconnect.services.stats import (
    HANDED_OVER,
    Window,
    campaign_names,
    campaigns,
    deliveries,
    outbox_counts,
)

pytestmark = pytest.mark.django_db

#: Noon UTC on a Tuesday, two days after New York moved its clocks forward.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
JOHANNESBURG = ZoneInfo("Africa/Johannesburg")
S = MessageStatus


def sent(at, status=S.DELIVERED, campaign="", **fields):
    return Message.objects.create(
        direction=Direction.OUTBOUND,
        to_number="+27821234567",
        body="hi",
        status=status,
        campaign=campaign,
        sent_at=at,
        **fields,
    )


def reply(to=None, campaign="", at=NOW):
    return Message.objects.create(
        direction=Direction.INBOUND,
        from_number="+27821234567",
        body="thanks",
        status=S.RECEIVED,
        campaign=campaign,
        received_at=at,
        in_reply_to=to,
    )


def day_counts(window, **kwargs):
    """``{date: {status: n}}`` for the days with messages."""
    return {day.day: dict(day.counts) for day in deliveries(window, **kwargs).days if day.counts}


def test_the_window_is_the_last_thirty_days_of_the_users_zone_ending_today():
    window = Window.last(30, JOHANNESBURG, now=datetime(2026, 3, 10, 22, 30, tzinfo=UTC))
    assert window.days[-1] == date(2026, 3, 11)  # half past midnight in Johannesburg
    assert window.days[0] == date(2026, 2, 10)
    assert len(window.days) == 30
    assert len(window.starts) == 31
    assert window.start == datetime(2026, 2, 9, 22, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 3, 11, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "at", "local_day"),
    [
        ("UTC", datetime(2026, 3, 9, 22, 30, tzinfo=UTC), date(2026, 3, 9)),
        ("Africa/Johannesburg", datetime(2026, 3, 9, 22, 30, tzinfo=UTC), date(2026, 3, 10)),
        ("Africa/Johannesburg", datetime(2026, 3, 9, 21, 59, 59, tzinfo=UTC), date(2026, 3, 9)),
        ("Asia/Kolkata", datetime(2026, 3, 9, 18, 29, 59, tzinfo=UTC), date(2026, 3, 9)),
        ("Asia/Kolkata", datetime(2026, 3, 9, 18, 30, tzinfo=UTC), date(2026, 3, 10)),
        # New York's clocks went forward on 8 March: a day of 23 hours, then UTC-4.
        ("America/New_York", datetime(2026, 3, 9, 4, 30, tzinfo=UTC), date(2026, 3, 9)),
        ("America/New_York", datetime(2026, 3, 9, 3, 59, tzinfo=UTC), date(2026, 3, 8)),
        ("America/New_York", datetime(2026, 3, 8, 4, 30, tzinfo=UTC), date(2026, 3, 7)),
        ("America/New_York", datetime(2026, 3, 8, 5, 0, tzinfo=UTC), date(2026, 3, 8)),
    ],
)
def test_a_message_counts_on_the_day_it_was_sent_in_the_users_zone(zone, at, local_day):
    sent(at)
    window = Window.last(30, ZoneInfo(zone), now=NOW)
    assert day_counts(window) == {local_day: {S.DELIVERED: 1}}


def test_only_the_window_counts():
    window = Window.last(30, JOHANNESBURG, now=NOW)
    sent(window.start, S.SENT)
    sent(window.start - timedelta(microseconds=1), S.SENT)  # the day before the first
    sent(window.end - timedelta(microseconds=1), S.FAILED)
    sent(window.end, S.DELIVERED)  # tomorrow: a clock ahead, or a wrong date
    sent(None, S.FAILED)  # refused before the provider took it: never sent
    assert day_counts(window) == {date(2026, 2, 9): {S.SENT: 1}, date(2026, 3, 10): {S.FAILED: 1}}


def test_each_day_counts_the_handed_over_statuses_and_the_rate_is_delivered_out_of_them():
    at = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    for status, count in [
        (S.DELIVERED, 3),
        (S.SENT, 2),
        (S.FAILED, 1),
        (S.FAILED_REFUNDED, 1),
        (S.UNKNOWN, 1),
    ]:
        for _ in range(count):
            sent(at, status)
    sent(at + timedelta(days=-3), S.FAILED_OPTOUT)
    for not_handed_over in (S.QUEUED, S.SENDING, S.UNCERTAIN, S.REJECTED, S.CANCELLED, S.SCHEDULED):
        sent(at, not_handed_over)
    reply(at=at)
    window = Window.last(30, UTC, now=NOW)
    result = deliveries(window)
    assert len(result.days) == 30
    assert [day.day for day in result.days] == list(window.days)
    assert day_counts(window) == {
        date(2026, 3, 9): {S.DELIVERED: 3, S.SENT: 2, S.UNKNOWN: 1, S.FAILED: 1, S.FAILED_REFUNDED: 1},
        date(2026, 3, 6): {S.FAILED_OPTOUT: 1},
    }
    assert list(result.days[-2].counts) == [s for s in HANDED_OVER if s != S.FAILED_OPTOUT]  # chart order
    assert result.days[-2].total == 8
    assert (result.handed_over, result.delivered, result.failed) == (9, 3, 3)
    assert result.rate == pytest.approx(3 / 9)


def test_no_messages_no_figures():
    window = Window.last(30, JOHANNESBURG, now=NOW)
    result = deliveries(window)
    assert [day.total for day in result.days] == [0] * 30
    assert result.handed_over == 0
    assert result.rate is None
    assert campaigns(window) == []
    counts = outbox_counts(now=NOW)
    assert (counts.queued, counts.sending, counts.uncertain, counts.failed_last_day) == (0, 0, 0, 0)


def test_the_outbox_counts_what_waits_and_what_failed_within_a_day():
    for status, count in [(S.QUEUED, 3), (S.SENDING, 1), (S.UNCERTAIN, 2), (S.DELIVERED, 4)]:
        for _ in range(count):
            sent(None, status)
    recent = [sent(None, status) for status in (S.FAILED, S.FAILED_REFUNDED, S.FAILED_OPTOUT)]
    old = sent(None, S.FAILED)
    Message.objects.filter(pk__in=[m.pk for m in recent]).update(updated_at=NOW - timedelta(hours=23))
    Message.objects.filter(pk=old.pk).update(updated_at=NOW - timedelta(hours=25))
    Message.objects.create(direction=Direction.INBOUND, status=S.QUEUED)  # never outbox work
    counts = outbox_counts(now=NOW)
    assert (counts.queued, counts.sending, counts.uncertain, counts.failed_last_day) == (3, 1, 2, 3)


def test_a_campaign_filters_the_outbox_and_the_days():
    at = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    sent(at, S.DELIVERED, "spring")
    sent(at, S.FAILED, "autumn")
    sent(None, S.QUEUED, "spring")
    sent(None, S.QUEUED, "autumn")
    sent(None, S.QUEUED, "")
    window = Window.last(30, UTC, now=NOW)
    assert day_counts(window, campaign="spring") == {date(2026, 3, 9): {S.DELIVERED: 1}}
    assert day_counts(window, campaign="winter") == {}
    assert outbox_counts(campaign="spring", now=NOW).queued == 1
    assert outbox_counts(campaign="", now=NOW).queued == 1  # the messages without one
    assert outbox_counts(now=NOW).queued == 3


def test_campaigns_count_sends_rates_replies_and_opt_outs():
    at = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    spring = [sent(at, status, "spring") for status in (S.DELIVERED, S.DELIVERED, S.DELIVERED, S.FAILED)]
    autumn = [sent(at, status, "autumn") for status in (S.DELIVERED, S.SENT)]
    sent(at - timedelta(days=40), S.DELIVERED, "last year")  # outside the window
    sent(None, S.QUEUED, "queued only")
    reply(to=spring[0])
    reply(to=spring[1], campaign="echoed")  # the message it answers decides
    stop = reply(to=autumn[0], campaign="autumn")
    reply(campaign="newsletter")  # answers nothing known: its own campaign
    reply()  # nothing at all
    reply(to=spring[2], at=at - timedelta(days=40))  # outside the window
    OptOut.objects.create(phone_number="+27820000001", source=OptOut.Source.KEYWORD, message=stop)
    OptOut.objects.create(
        phone_number="+27820000002", source=OptOut.Source.DELIVERY_REPORT, message=spring[3]
    )
    OptOut.objects.create(phone_number="+27820000003", source=OptOut.Source.MANUAL)
    OptOut.objects.create(phone_number="+27820000004", source=OptOut.Source.MANUAL, message=spring[0])
    OptOut.objects.update(created_at=at)
    OptOut.objects.filter(phone_number="+27820000004").update(created_at=at - timedelta(days=40))
    window = Window.last(30, UTC, now=NOW)
    rows = {row.campaign: row for row in campaigns(window)}
    assert [row.campaign for row in campaigns(window)] == ["spring", "autumn", "", "newsletter"]
    assert (rows["spring"].handed_over, rows["spring"].delivered, rows["spring"].failed) == (4, 3, 1)
    assert rows["spring"].rate == 0.75
    assert (rows["spring"].replies, rows["spring"].opt_outs) == (2, 1)
    assert (rows["autumn"].replies, rows["autumn"].opt_outs, rows["autumn"].rate) == (1, 1, 0.5)
    assert (rows[""].handed_over, rows[""].replies, rows[""].opt_outs, rows[""].rate) == (0, 1, 1, None)
    assert (rows["newsletter"].replies, rows["newsletter"].handed_over) == (1, 0)
    assert campaign_names(campaigns(window)) == ["autumn", "newsletter", "spring"]


def test_the_queries_do_not_grow_with_the_messages(django_assert_num_queries):
    window = Window.last(30, JOHANNESBURG, now=NOW)
    for day in range(30):
        at = NOW - timedelta(days=day)
        for status in HANDED_OVER:
            sent(at, status, f"campaign {day % 5}")
        reply(at=at, campaign=f"campaign {day % 5}")
    with django_assert_num_queries(1):
        result = deliveries(window)
    assert result.handed_over == 30 * len(HANDED_OVER)
    with django_assert_num_queries(3):
        assert len(campaigns(window)) == 5
    with django_assert_num_queries(1):
        outbox_counts(now=NOW)
