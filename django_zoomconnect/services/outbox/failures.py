"""What a failed call means for the messages it carried: back to the queue, uncertain, failed, or paused.

Why outcomes are classified, not retried blindly (see :mod:`django_zoomconnect.exceptions`):

* not sent (connection refused, 429, other refusals that processed nothing) -> back to
  ``QUEUED`` with exponential backoff and jitter (a 429 waits ``Retry-After`` and does not count
  as an attempt); after ``SEND_MAX_ATTEMPTS`` attempts -> ``FAILED``;
* may have been sent (read timeout, lost connection, 5xx) -> ``UNCERTAIN``; never resent before
  :mod:`.reconcile` has looked the message up;
* refused for good (400) -> ``FAILED`` with the provider's code and message; a bulk item's own
  ``error`` -> ``FAILED`` on that message only;
* credentials refused (401/403) -> sending is paused (:func:`.state.pause_sending`), the
  messages go back to ``QUEUED`` untouched, until it is resumed.

Every write is conditional on the claim's token and on ``SENDING`` (:func:`held`), as in
:mod:`.dispatch`, which calls :func:`classify` inside the transaction that records the outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import F, QuerySet

from ... import conf
from ...exceptions import (
    AuthenticationError,
    InvalidRequestError,
    MayHaveBeenSentError,
    NotSentError,
    RateLimitedError,
    ZoomConnectAPIError,
    ZoomConnectError,
)
from ...models import Message, MessageStatus
from .outcomes import DispatchResult, Outcome, Recorder
from .state import backoff, eager, pause_sending, short, slices

if TYPE_CHECKING:
    from .dispatch import Claimed

__all__ = ["classify", "held", "put_back"]

logger = logging.getLogger("django_zoomconnect.services.outbox")


def held(token: str, pks: Sequence[int]) -> QuerySet[Message]:
    return Message.objects.filter(pk__in=pks, claim_token=token, status=MessageStatus.SENDING)


def put_back(
    token: str,
    pks: Sequence[int],
    *,
    now: datetime,
    delay: float | None,
    error: str,
    count_attempt: bool = True,
) -> None:
    """Back to ``QUEUED`` (due after ``delay``, or left for a resume when ``delay`` is None)."""
    due = None if delay is None else now + timedelta(seconds=delay)
    fields: dict[str, Any] = {
        "status": MessageStatus.QUEUED,
        "claim_token": "",
        "dispatch_after": due,
        # The retry task is due then; dispatch_due steps in REQUEUE_AFTER later if it is lost.
        # Eagerly (no retry task) and when paused, dispatch_due is the one to pick it up.
        "enqueued_at": None if due is None or eager() else due,
        "last_error": short(error),
        "updated_at": now,
    }
    if not count_attempt:
        fields["attempts"] = F("attempts") - 1
    for part in slices(pks):
        held(token, part).update(**fields)


def _mark_uncertain(token: str, pks: Sequence[int], *, now: datetime, error: str) -> float:
    delay = float(conf.get("RECONCILE_AFTER"))
    for part in slices(pks):
        held(token, part).update(
            status=MessageStatus.UNCERTAIN,
            dispatch_after=now + timedelta(seconds=delay),
            last_error=short(error),
            updated_at=now,
        )
    return delay


def _provider_error(exc: ZoomConnectAPIError) -> str:
    return short(exc.provider_message or exc.developer_message or str(exc))


def classify(
    error: ZoomConnectError,
    token: str,
    going: Sequence[Message | Claimed],
    now: datetime,
    recorder: Recorder,
    result: DispatchResult,
) -> None:
    """Record what a failed call means for the messages it carried (``going``)."""
    pks = [m.pk for m in going]
    max_attempts = int(conf.get("SEND_MAX_ATTEMPTS"))
    what = f"{len(pks)} message(s)" if len(pks) > 1 else f"message {pks[0]}"
    if isinstance(error, AuthenticationError):
        pause_sending(f"Zoom Connect refused the credentials ({error.status})", going[0].account)
        put_back(token, pks, now=now, delay=None, error=str(error), count_attempt=False)
        result.paused = True
        result.requeued += len(pks)
        for pk in pks:
            recorder.outcomes[pk] = Outcome(MessageStatus.QUEUED, error=error)
        return
    if isinstance(error, InvalidRequestError):
        logger.warning("Zoom Connect refused %s for good: %s", what, error)
        for pk in pks:
            recorder.outcomes[pk] = Outcome(
                MessageStatus.FAILED, error=error, text=_provider_error(error), code=error.code
            )
        result.failed += len(pks)
        return
    if isinstance(error, MayHaveBeenSentError):
        logger.warning("Sending %s may have succeeded (%s); it will be looked up first", what, error)
        result.reconcile_in = _mark_uncertain(token, pks, now=now, error=str(error))
        result.uncertain += len(pks)
        for pk in pks:
            recorder.outcomes[pk] = Outcome(MessageStatus.UNCERTAIN, error=error)
        return
    # Not sent: a refused connection, a 429, or an answer that says nothing was done.
    rate_limited = isinstance(error, RateLimitedError)
    attempts = max(m.attempts for m in going)
    if not rate_limited and attempts >= max_attempts:
        text = short(f"Gave up after {attempts} attempts: {error}")
        logger.error("Sending %s failed: %s", what, text)
        code = error.code if isinstance(error, ZoomConnectAPIError) else None
        for pk in pks:
            recorder.outcomes[pk] = Outcome(MessageStatus.FAILED, error=error, text=text, code=code)
        result.failed += len(pks)
        return
    if rate_limited and isinstance(error, RateLimitedError) and error.retry_after is not None:
        delay = float(error.retry_after)
    else:
        delay = backoff(attempts)
    logger.info("Sending %s was not done (%s); retrying in %.1fs", what, type(error).__name__, delay)
    if not isinstance(error, NotSentError | ZoomConnectAPIError):
        logger.warning("Unexpected error class %s treated as not sent", type(error).__name__)
    put_back(token, pks, now=now, delay=delay, error=str(error), count_attempt=not rate_limited)
    result.requeued += len(pks)
    result.retry_in = delay
    for pk in pks:
        recorder.outcomes[pk] = Outcome(MessageStatus.QUEUED, error=error)
