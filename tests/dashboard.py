"""Helpers shared by the dashboard's tests: a simulator with a known balance, and no cached reading.

Imported by tests/test_dashboard.py, test_admin_dashboard.py and test_admin_browser_dashboard.py
(``from tests.dashboard import ...``).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

from django_zoomconnect.services.dashboard import BALANCE_CACHE_KEY
from django_zoomconnect.simulator import Simulator
from tests.outbox import fast_outbox


@contextmanager
def no_cached_balance() -> Iterator[None]:
    """No balance reading in the cache, before and after: the cache outlives a test's database."""
    cache.delete(BALANCE_CACHE_KEY)
    try:
        yield
    finally:
        cache.delete(BALANCE_CACHE_KEY)


@contextmanager
def funded(simulator: Simulator, credits: float) -> Iterator[Simulator]:
    """``simulator`` holding ``credits``, the outbox fast, and no balance cached (for a ``sim`` fixture)."""
    simulator.set_balance(credits)
    with no_cached_balance(), fast_outbox(simulator):
        yield simulator
