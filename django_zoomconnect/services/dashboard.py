"""The operator's dashboard in one call: balance, pause, outbox, deliveries, campaigns, beat tasks.

:func:`overview` gathers everything the admin's dashboard shows, in a fixed number of queries.
The balance is the one figure that costs an API call, so it is read only on demand
(:func:`refresh_balance`, the dashboard's "Refresh" button) and kept in Django's default cache
with the time it was read: a page view never waits for the provider, and never lifts a pause as
a side effect (a successful balance read proves the credentials, so it does, as
:func:`~django_zoomconnect.services.outbox.check_balance` always has).

There is a balance for each configured account (:func:`~.team.account_aliases`), each under its
own cache key (:func:`balance_cache_key`); an account's read lifts that account's pause only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from .. import conf
from ..client import ZoomConnectClient
from ..models import SendingPause
from .heartbeats import BeatHealth, beat_health
from .outbox import check_balance, is_paused, pause_reason, resume_sending
from .outbox import pauses as outbox_pauses
from .stats import (
    CampaignStats,
    Deliveries,
    OutboxCounts,
    Window,
    campaign_names,
    campaigns,
    deliveries,
    outbox_counts,
)

__all__ = [
    "BALANCE_CACHE_KEY",
    "CHART_DAYS",
    "Balance",
    "BalanceReading",
    "Dashboard",
    "Refreshed",
    "Sending",
    "balance_cache_key",
    "cached_balance",
    "cached_balances",
    "overview",
    "refresh_balance",
    "resume",
]

#: Where the last balance read is kept in the ``default`` cache (a shared cache such as Redis or
#: the database cache shows every operator the same reading; a per-process one, its own): this,
#: then ``:`` and the account's alias (:func:`balance_cache_key`).
BALANCE_CACHE_KEY = "django_zoomconnect:dashboard:balance"
#: Days of deliveries the dashboard charts, ending today in the user's time zone.
CHART_DAYS = 30


@dataclass(frozen=True)
class BalanceReading:
    """The account's balance as read from the provider, and when."""

    balance: float
    checked_at: datetime


@dataclass(frozen=True)
class Balance:
    """An account's last reading (``None``: never read, or evicted from the cache) and the warning
    threshold."""

    reading: BalanceReading | None
    threshold: float | None
    account: str = conf.DEFAULT_ACCOUNT

    @property
    def low(self) -> bool:
        """Whether the last reading is under ``LOW_BALANCE_WARNING``."""
        return (
            self.reading is not None and self.threshold is not None and self.reading.balance < self.threshold
        )


@dataclass(frozen=True)
class Sending:
    """Whether sending is paused (the provider refused the credentials), why, and since when."""

    paused: bool
    reason: str = ""
    since: datetime | None = None

    @classmethod
    def of(cls, pauses: list[SendingPause]) -> Sending:
        """From the pauses (one per account paused): each reason named by its account when
        several accounts are configured, since the first."""
        if not pauses:
            return cls(False)
        return cls(True, pause_reason(pauses), pauses[0].created_at)


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows; counts and chart limited to ``campaign`` when given."""

    campaign: str | None
    window: Window
    #: One for each configured account, the default first.
    balances: list[Balance]
    sending: Sending
    outbox: OutboxCounts
    deliveries: Deliveries
    #: Every campaign in the window, whatever ``campaign`` is: they are compared.
    campaigns: list[CampaignStats]
    #: The names a filter offers: the window's campaigns, and ``campaign`` itself.
    campaign_choices: list[str]
    beats: list[BeatHealth]

    @property
    def balance(self) -> Balance:
        """The default account's balance."""
        return self.balances[0]


def overview(
    *, tz: tzinfo | None = None, campaign: str | None = None, now: datetime | None = None
) -> Dashboard:
    """The dashboard, with days in ``tz`` (default: the current time zone); seven queries."""
    now = timezone.now() if now is None else now
    window = Window.last(CHART_DAYS, tz or timezone.get_current_timezone(), now=now)
    by_campaign = campaigns(window)
    choices = campaign_names(by_campaign)
    if campaign and campaign not in choices:
        choices = sorted([*choices, campaign], key=str.casefold)
    pauses = list(outbox_pauses())
    return Dashboard(
        campaign=campaign,
        window=window,
        balances=cached_balances(),
        sending=Sending.of(pauses),
        outbox=outbox_counts(campaign=campaign, now=now),
        deliveries=deliveries(window, campaign=campaign),
        campaigns=by_campaign,
        campaign_choices=choices,
        beats=beat_health(now=now),
    )


def balance_cache_key(account: str | None = None) -> str:
    """The cache key of ``account``'s last balance reading (default: the default account)."""
    return f"{BALANCE_CACHE_KEY}:{conf.account_alias(account)}"


def cached_balance(account: str | None = None) -> BalanceReading | None:
    """The last balance :func:`refresh_balance` read for ``account``, if the cache still has it."""
    return _reading(cache.get(balance_cache_key(account)))


def cached_balances() -> list[Balance]:
    """Every account's last reading, the default first, in one cache round trip; each judged
    against its own account's ``LOW_BALANCE_WARNING``."""
    keys = {alias: balance_cache_key(alias) for alias in conf.account_aliases()}
    stored = cache.get_many(list(keys.values()))
    return [
        Balance(_reading(stored.get(key)), conf.get("LOW_BALANCE_WARNING", account=alias), alias)
        for alias, key in keys.items()
    ]


def _reading(stored: Any) -> BalanceReading | None:
    if not isinstance(stored, dict):
        return None
    balance, checked_at = stored.get("balance"), stored.get("checked_at")
    if not isinstance(balance, int | float) or not isinstance(checked_at, datetime):
        return None  # written by another version: as good as none
    return BalanceReading(float(balance), checked_at)


@dataclass(frozen=True)
class Refreshed:
    """A fresh balance reading of ``account``, and whether it lifted a pause."""

    reading: BalanceReading
    resumed: bool
    account: str = conf.DEFAULT_ACCOUNT


def refresh_balance(
    *, account: str | None = None, client: ZoomConnectClient | None = None, now: datetime | None = None
) -> Refreshed:
    """Read ``account``'s balance (default: the default account's) and cache it.

    It is read through ``check_balance``, which lifts that account's pause (its credentials work
    again), and no other account's. Raises what
    the client raises (``ZoomConnectError``, ``ConfigurationError``, also for an alias not
    configured); the cached reading is then left as it was.
    """
    alias = conf.account_alias(account)
    was_paused = is_paused(alias)
    balance = check_balance(client=client, account=alias)
    reading = BalanceReading(float(balance), timezone.now() if now is None else now)
    cache.set(balance_cache_key(alias), {"balance": reading.balance, "checked_at": reading.checked_at}, None)
    return Refreshed(reading, resumed=was_paused, account=alias)


def resume() -> int | None:
    """Lift a pause and dispatch what is due: the tasks enqueued, or ``None`` if it was not paused."""
    if not is_paused():
        return None
    return resume_sending()
