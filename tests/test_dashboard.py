"""Tests for services/dashboard.py: the overview in a fixed number of queries, the cached balance."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from django_zoomconnect.exceptions import AuthenticationError, ServerError
from django_zoomconnect.models import Direction, Message, MessageStatus, SendingPause
from django_zoomconnect.services import dashboard
from django_zoomconnect.services.dashboard import balance_cache_key, cached_balance, overview, refresh_balance
from django_zoomconnect.services.heartbeats import record
from tests.dashboard import funded, no_cached_balance
from tests.outbox import zoomconnect_settings

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def sim(zoomconnect_simulator):
    with funded(zoomconnect_simulator, 321.5) as simulator:
        yield simulator


def messages(count, campaign="spring"):
    Message.objects.bulk_create(
        Message(
            direction=Direction.OUTBOUND,
            to_number="+27821234567",
            status=status,
            campaign=f"{campaign} {i % 3}",
            sent_at=NOW - timedelta(hours=i),
        )
        for i in range(count)
        for status in (MessageStatus.DELIVERED, MessageStatus.QUEUED)
    )


def test_an_empty_site_has_an_empty_dashboard():
    board = overview(tz=ZoneInfo("Africa/Johannesburg"), now=NOW)
    assert board.campaign is None
    assert board.balance.reading is None
    assert not board.balance.low
    assert not board.sending.paused
    assert board.outbox.queued == 0
    assert board.deliveries.rate is None
    assert len(board.deliveries.days) == dashboard.CHART_DAYS
    assert board.campaigns == []
    assert board.campaign_choices == []
    assert [beat.task for beat in board.beats if beat.never_ran] == [
        "dispatch_due",
        "sweep_outbox",
        "reconcile_uncertain",
        "refresh_statuses",
    ]


def test_the_overview_is_seven_queries_however_many_messages(django_assert_num_queries):
    messages(5)
    SendingPause.objects.create(reason="401 from the provider")
    record("dispatch_due", 0)
    with django_assert_num_queries(7):
        small = overview(tz=UTC, now=NOW)
    messages(60)
    with django_assert_num_queries(7):
        large = overview(tz=UTC, campaign="spring 1", now=NOW)
    assert small.deliveries.handed_over == 5
    assert large.deliveries.handed_over == 22  # (5 + 60 + 1) // 3 sent to "spring 1"
    assert large.outbox.queued == 22
    assert large.sending.reason == "401 from the provider"
    assert large.campaign_choices == ["spring 0", "spring 1", "spring 2"]


def test_a_chosen_campaign_is_offered_even_without_messages_in_the_window():
    messages(2)
    board = overview(tz=UTC, campaign="Autumn", now=NOW)
    assert board.campaign_choices == ["Autumn", "spring 0", "spring 1"]
    assert board.deliveries.handed_over == 0
    assert len(board.campaigns) == 2  # every campaign, to compare


def test_the_balance_is_read_on_demand_and_kept_in_the_cache(sim):
    assert cached_balance() is None
    refreshed = refresh_balance(now=NOW)
    assert refreshed.reading.balance == 321.5
    assert refreshed.reading.checked_at == NOW
    assert not refreshed.resumed
    assert cached_balance() == refreshed.reading
    sim.set_balance(5)
    assert overview(tz=UTC).balance.reading.balance == 321.5  # a page view never calls the API


def test_a_balance_under_the_threshold_is_low(sim):
    refresh_balance()
    with zoomconnect_settings(LOW_BALANCE_WARNING=321.5):
        assert not overview(tz=UTC).balance.low
    with zoomconnect_settings(LOW_BALANCE_WARNING=400):
        board = overview(tz=UTC)
    assert board.balance.threshold == 400
    assert board.balance.low


def test_a_balance_read_proves_the_credentials_and_lifts_a_pause(sim):
    SendingPause.objects.create(reason="credentials refused")
    refreshed = refresh_balance()
    assert refreshed.resumed
    assert not SendingPause.objects.exists()


def test_resume_lifts_a_pause_and_says_whether_there_was_one(sim):
    assert dashboard.resume() is None
    SendingPause.objects.create(reason="credentials refused")
    assert dashboard.resume() == 0  # nothing was due
    assert not SendingPause.objects.exists()


def test_a_failed_read_raises_and_keeps_the_last_reading(sim):
    first = refresh_balance(now=NOW).reading
    SendingPause.objects.create(reason="credentials refused")
    with zoomconnect_settings(API_TOKEN="wrong"), pytest.raises(AuthenticationError):
        refresh_balance()
    sim.inject_fault("500")
    with pytest.raises(ServerError):
        refresh_balance()
    assert cached_balance() == first
    assert SendingPause.objects.exists()


@pytest.mark.parametrize(
    "junk", ["321", {"balance": "321", "checked_at": NOW}, {"balance": 3, "checked_at": "x"}]
)
def test_a_cached_value_of_another_shape_is_no_reading(junk):
    with no_cached_balance():
        cache.set(balance_cache_key(), junk)
        assert cached_balance() is None
