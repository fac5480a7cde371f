"""Waking workers: the only module that enqueues the outbox's Celery tasks (and the webhook task).

Why here alone: the database row is the source of truth and a task only wakes a worker, so
every enqueue waits for the transaction to commit, never fails its caller (a lost task is found
again by :func:`dispatch_due`), and is skipped or run in-process when sending is eager. Tasks
are looked up by name in Celery's registry (``django_zoomconnect.tasks`` registers them when
the app is ready), so the services never import the task module that imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import Q

from ... import conf
from ...exceptions import ConfigurationError, ZoomConnectError
from ...models import Batch, Direction, Message, MessageStatus
from . import dispatch
from .state import due, eager, now_or, slices, unpaused

__all__ = ["dispatch_due", "enqueue_chunk", "enqueue_message", "follow_up", "process_event_later"]

logger = logging.getLogger("django_zoomconnect.services.outbox")


def _task(name: str) -> Any:
    """The task ``django_zoomconnect.tasks.<name>`` from the current Celery app's registry."""
    return current_app.tasks[f"django_zoomconnect.tasks.{name}"]


def _run_or_log(action: Callable[[], Any], what: str) -> None:
    try:
        action()
    except (ConfigurationError, ZoomConnectError):
        raise  # eagerly, the caller learns of wrong settings and API errors at once
    except Exception as exc:
        if conf.get("SEND_EAGERLY"):
            # A bug, not the broker: with its traceback. The rows are committed (queued, or
            # claimed and then swept as any lost claim); never fail the caller's commit for it.
            logger.exception(
                "Sending %s in this process failed; its messages wait for the beat tasks (or "
                "`manage.py zoomconnect_send --due`), which look up any that may have gone out "
                "before sending them again.",
                what,
            )
            return
        # The row is committed: dispatch_due will enqueue it again. Never fail the caller for it,
        # and say it in one line: a broker that is down is an operations fact, not a bug.
        logger.warning(
            "Could not hand %s to a Celery worker (%s: %s); it stays queued, and the dispatch_due "
            "beat task sends it once the broker can be reached.",
            what,
            type(exc).__name__,
            exc,
        )


def enqueue_message(message_id: int) -> None:
    """Wake a worker for one message once the current transaction commits (or now, eagerly)."""

    def run() -> None:
        if conf.get("SEND_EAGERLY"):
            dispatch.dispatch_message(message_id)
        else:
            _task("send_message").delay(message_id)

    transaction.on_commit(partial(_run_or_log, run, f"message {message_id}"))


def enqueue_chunk(
    batch_id: int, chunk: int, *, claim: str | None = None, claimed_at: datetime | None = None
) -> None:
    """Wake a worker for one chunk of a batch once the current transaction commits.

    ``claim`` (with its time ``claimed_at``) is the token of the claim the chunk's rows were
    written with: only with ``SEND_EAGERLY``, where the chunk is sent in this process the
    moment the rows commit (see :func:`.dispatch.claim_fields`).
    """

    def run() -> None:
        if conf.get("SEND_EAGERLY"):
            dispatch.dispatch_chunk(batch_id, chunk, claim=claim, now=claimed_at)
        else:
            if claim is not None:
                raise RuntimeError("rows are written claimed only when SEND_EAGERLY sends them")
            _task("send_chunk").delay(batch_id, chunk)

    transaction.on_commit(partial(_run_or_log, run, f"chunk {chunk} of batch {batch_id}"))


def dispatch_due(*, now: datetime | None = None, limit: int = 10_000) -> int:
    """Enqueue every queued message that is due and has no live task; the number of tasks.

    This is the scheduler (messages with a ``send_at`` become due) and the safety net (a task
    lost by the broker leaves its messages queued; after ``REQUEUE_AFTER`` seconds they are
    enqueued again). A duplicate task is harmless: it finds nothing left to claim.
    """
    now = now_or(now)
    stale = now - timedelta(seconds=float(conf.get("REQUEUE_AFTER")))
    sendable = unpaused(  # a paused account's messages wait; the other accounts send on
        Message.objects.filter(
            due(now),
            Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=stale),
            status=MessageStatus.QUEUED,
            direction=Direction.OUTBOUND,
        )
    )
    if sendable is None:
        return 0
    waiting, _ = sendable
    chunks: list[tuple[int, int]] = [
        (batch_id, chunk)
        for batch_id, chunk in waiting.filter(chunk__isnull=False, batch__isnull=False)
        .order_by()
        .values_list("batch_id", "chunk")
        .distinct()[:limit]
        if batch_id is not None and chunk is not None
    ]
    singles = list(
        waiting.filter(Q(chunk__isnull=True) | Q(batch__isnull=True)).values_list("pk", flat=True)[:limit]
    )
    for part in slices(singles):
        waiting.filter(pk__in=part).update(enqueued_at=now)
    by_batch: dict[int, list[int]] = {}
    for batch_id, chunk in chunks:
        by_batch.setdefault(batch_id, []).append(chunk)
    for batch_id, numbers in by_batch.items():
        waiting.filter(batch_id=batch_id, chunk__in=numbers).update(enqueued_at=now)
        Batch.objects.filter(pk=batch_id, status=Batch.Status.DONE).update(
            status=Batch.Status.DISPATCHING, finished_at=None
        )
    for pk in singles:
        enqueue_message(pk)
    for batch_id, chunk in chunks:
        enqueue_chunk(batch_id, chunk)
    return len(singles) + len(chunks)


def follow_up(
    result: dispatch.DispatchResult,
    *,
    message_id: int | None = None,
    chunk: tuple[int, int] | None = None,
) -> None:
    """Schedule the retry and the lookup a dispatch asked for (short countdowns, never long ETAs).

    Eagerly there is no worker to wait: the rows stay due and ``dispatch_due`` or
    ``reconcile_uncertain`` pick them up on their next run.
    """
    if eager():
        return
    try:
        if result.retry_in is not None:
            if chunk is not None:
                _task("send_chunk").apply_async(chunk, countdown=result.retry_in)
            elif message_id is not None:
                _task("send_message").apply_async((message_id,), countdown=result.retry_in)
        if result.reconcile_in is not None:
            _task("reconcile_uncertain").apply_async(countdown=result.reconcile_in)
    except Exception:
        logger.warning("Could not enqueue a follow-up task; the beat tasks will pick it up", exc_info=True)


def process_event_later(event_id: int) -> None:
    """Hand a stored webhook event to a worker once the transaction commits (``WEBHOOK_PROCESSING
    = "celery"``). A broker that cannot be reached is logged, never raised: the event stays
    ``PENDING`` and the ``sweep_webhook_events`` beat task (or ``zoomconnect_webhooks
    reprocess``) picks it up."""

    def run() -> None:
        try:
            _task("process_webhook_event").delay(event_id)
        except Exception:
            logger.exception("Could not enqueue webhook event %s; it stays pending", event_id)

    transaction.on_commit(run)
