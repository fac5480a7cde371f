"""Helpers shared by the dashboard's tests: a simulator with a known balance, and no cached reading.

Imported by tests/test_dashboard.py, test_admin_dashboard.py and test_admin_browser_dashboard.py
(``from tests.dashboard import ...``).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

from django_zoomconnect.services.dashboard import balance_cache_key
from django_zoomconnect.services.team import account_aliases
from django_zoomconnect.simulator import Simulator
from tests.outbox import fast_outbox


@contextmanager
def no_cached_balance() -> Iterator[None]:
    """No balance reading in the cache, before and after: the cache outlives a test's database."""
    keys = [balance_cache_key(alias) for alias in account_aliases()]
    cache.delete_many(keys)
    try:
        yield
    finally:
        cache.delete_many(keys)


@contextmanager
def funded(simulator: Simulator, credits: float) -> Iterator[Simulator]:
    """``simulator`` holding ``credits``, the outbox fast, and no balance cached (for a ``sim`` fixture)."""
    simulator.set_balance(credits)
    with no_cached_balance(), fast_outbox(simulator):
        yield simulator
