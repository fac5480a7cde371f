"""The outbox's shared state and arithmetic: whether sending is paused, what is due, backoff.

Kept apart so that every other outbox module can use it without importing each other: the
pause is a :class:`~django_zoomconnect.models.SendingPause` row (every worker process sees it),
and the rest are small pure helpers.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from ... import conf
from ...models import Message, MessageStatus, SendingPause

__all__ = [
    "MAX_ERROR",
    "PENDING_STATUSES",
    "RETRYABLE_STATUSES",
    "SLICE",
    "backoff",
    "due",
    "eager",
    "is_paused",
    "now_or",
    "pause_reason",
    "pause_sending",
    "pauses",
    "short",
    "slices",
    "unpaused",
]

logger = logging.getLogger("django_zoomconnect.services.outbox")

#: Statuses in which a message still waits for this side to act (a batch is not done yet).
PENDING_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.UNCERTAIN)

#: Failures :func:`retry` sends again (an opt-out or a guard's rejection is never retried).
RETRYABLE_STATUSES = (MessageStatus.FAILED, MessageStatus.FAILED_REFUNDED)

#: Rows per conditional UPDATE or IN list: well within every backend's parameter limit.
SLICE = 500
#: Longest ``last_error`` kept.
MAX_ERROR = 2000


def now_or(now: datetime | None) -> datetime:
    return timezone.now() if now is None else now


def short(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def slices(items: Sequence[Any], size: int = SLICE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def eager() -> bool:
    """Whether messages are dispatched in the caller's process rather than by a Celery worker."""
    if conf.get("SEND_EAGERLY"):
        return True
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def backoff(attempts: int) -> float:
    base = float(conf.get("SEND_RETRY_BACKOFF"))
    ceiling = float(conf.get("SEND_RETRY_BACKOFF_MAX"))
    jitter = float(conf.get("SEND_RETRY_JITTER"))
    delay: float = min(ceiling, base * 2 ** max(attempts - 1, 0))
    return delay * (1.0 - jitter * random.random())


def due(now: datetime) -> Q:
    return Q(dispatch_after__isnull=True) | Q(dispatch_after__lte=now)


def unpaused(messages: QuerySet[Message]) -> tuple[QuerySet[Message], set[str]] | None:
    """``messages`` less those of the accounts whose sending is paused (their credentials were
    refused), with those accounts' aliases; ``None`` when every configured account is paused."""
    paused = set(SendingPause.objects.values_list("account", flat=True))
    if paused and paused.issuperset(conf.account_aliases()):
        return None
    return (messages.exclude(account__in=paused) if paused else messages), paused


def pauses(account: str | None = None) -> QuerySet[SendingPause]:
    """The pause of ``account`` (an alias), or with no account every account's, oldest first."""
    found = SendingPause.objects.order_by("pk")
    return found if account is None else found.filter(account=account)


def is_paused(account: str | None = None) -> bool:
    """Whether sending through ``account`` (an alias) is paused because the provider refused its
    credentials; with no account, whether any account's is."""
    return pauses(account).exists()


def pause_reason(pauses: Iterable[SendingPause]) -> str:
    """Why sending is paused: each pause's reason, named by its account when several accounts
    are configured."""
    named = conf.has_several_accounts()
    return "; ".join(f"{p.account}: {p.reason}" if named else p.reason for p in pauses)


def pause_sending(reason: str, account: str = conf.DEFAULT_ACCOUNT) -> None:
    """Stop handing ``account``'s messages to the provider; they stay queued, and the other
    accounts send on. Logged at ERROR level once."""
    _, created = SendingPause.objects.get_or_create(account=account, defaults={"reason": short(reason)})
    if created:
        named = "" if not conf.has_several_accounts() else f" through the account {account!r}"
        logger.error(
            "Sending SMS%s is PAUSED: %s. Messages stay queued. Fix the credentials, then resume with "
            "`manage.py zoomconnect_send --resume` or `manage.py zoomconnect_balance`.",
            named,
            reason,
        )
