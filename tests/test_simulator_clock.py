"""Tests for simulator/clock.py: a clock that follows real time until frozen and is stepped by tests."""

from datetime import UTC, datetime, timedelta

import pytest

from django_zoomconnect.simulator import Clock

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_frozen_clock_moves_only_when_stepped():
    clock = Clock(T0, frozen=True)
    assert clock.now() == T0
    assert clock.frozen
    clock.advance(90)
    assert clock.now() == T0 + timedelta(seconds=90)


def test_running_clock_follows_real_time_from_its_start():
    clock = Clock(T0)
    assert not clock.frozen
    assert clock.now() >= T0
    clock.advance(3600)
    assert clock.now() >= T0 + timedelta(hours=1)
    clock.freeze()
    frozen_at = clock.now()
    assert clock.now() == frozen_at
    clock.unfreeze()
    assert clock.now() >= frozen_at


def test_clock_refuses_naive_times_and_going_back():
    with pytest.raises(ValueError, match="aware"):
        Clock(datetime(2024, 1, 1), frozen=True)
    with pytest.raises(ValueError, match="forward"):
        Clock().advance(-1)
