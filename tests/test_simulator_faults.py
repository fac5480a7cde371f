"""Tests for simulator/faults.py: which requests an injected fault hits, and how often."""

import pytest

from django_zoomconnect.simulator.faults import FaultInjector, TransportFault


def test_count_faults_fire_on_the_next_matching_requests_only():
    faults = FaultInjector()
    faults.add("500", count=2, path="sms/send-bulk", method="post")
    assert faults.take("POST", "/app/api/rest/v1/sms/send") is None
    assert faults.take("GET", "/app/api/rest/v1/sms/send-bulk") is None
    first = faults.take("POST", "/app/api/rest/v1/sms/send-bulk")
    second = faults.take("POST", "/app/api/rest/v1/sms/send-bulk")
    assert first is not None
    assert second is not None
    assert first.kind == "500"
    assert faults.take("POST", "/app/api/rest/v1/sms/send-bulk") is None
    assert faults.rules == []


def test_defaults_for_429_and_delay():
    faults = FaultInjector()
    assert faults.add("429").retry_after == 1
    assert faults.add("delay").seconds == 60.0
    assert faults.add("delay", seconds=0.5).seconds == 0.5


def test_rate_faults_are_seeded_and_persist():
    def pattern(seed: int) -> list[bool]:
        faults = FaultInjector(seed)
        faults.add("503", rate=0.5)
        return [faults.take("GET", "/x") is not None for _ in range(40)]

    assert pattern(7) == pattern(7)
    assert 0 < sum(pattern(7)) < 40


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("404", {}),
        ("500", {"count": 0}),
        ("500", {"rate": 1.5}),
        ("delay", {"seconds": -1}),
        ("drop", {"after_processing": True}),
    ],
)
def test_bad_fault_options_are_refused(kind, options):
    with pytest.raises(ValueError):  # noqa: PT011
        FaultInjector().add(kind, **options)


def test_transport_fault_is_a_value():
    assert TransportFault("delay", 3.0) == TransportFault(kind="delay", seconds=3.0)
    assert TransportFault("drop").seconds == 0.0
