"""Celery tasks: thin wrappers that wake a worker to call one service with primitive arguments.

Tasks take primary keys, strings and numbers, never model instances, and hold no business rules:
the admin, the management commands and the REST API call the same service functions directly.
The outbox's beat tasks record each finished run (``services.heartbeats``) for the dashboard.
A task that works with one account takes its alias as ``account``; the beat tasks without one
cover every configured account (the outbox's look each message's account up).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task

logger = logging.getLogger(__name__)

# --- webhooks (services/inbound/) ------------------------------------------------------------


@shared_task(acks_late=True, ignore_result=True)
def process_webhook_event(event_id: int) -> str:
    """Process one stored webhook event (``WEBHOOK_PROCESSING = "celery"``); its new state."""
    from .services import inbound

    return str(inbound.process_event(event_id).state)


@shared_task(acks_late=True, ignore_result=True)
def apply_webhook_events(limit: int | None = None) -> dict[str, Any]:
    """Beat (``WEBHOOK_PROCESSING = "batch"``): apply the stored events, a batch at a time."""
    from .services import heartbeats, inbound

    return heartbeats.record("apply_webhook_events", inbound.apply_pending(limit=limit).as_dict())


@shared_task(ignore_result=True)
def sweep_webhook_events() -> dict[str, int]:
    """Process events left pending by a lost task, retry deferred ones; counts by state."""
    from .services import inbound

    return dict(inbound.sweep_events())


@shared_task(ignore_result=True)
def cleanup_webhook_events(days: int | None = None) -> int:
    """Delete events older than ``WEBHOOK_EVENT_RETENTION_DAYS`` (or ``days``); how many."""
    from .services import inbound

    return inbound.delete_old_events(days=days)


# --- the life of the data (services/retention.py) ------------------------------------------------


@shared_task(ignore_result=True)
def apply_retention() -> dict[str, object]:
    """Beat, daily: blank old texts, delete old status history and webhook events (the settings)."""
    from .services import heartbeats, retention

    return heartbeats.record("apply_retention", retention.apply_retention().as_dict())


# --- sending (services/outbox/) -------------------------------------------------------------------
# A send task is acked only when it has finished (acks_late) and given back to the broker if its
# worker dies (reject_on_worker_lost): a second delivery is safe because the service claims the
# messages with a conditional UPDATE first, so it finds nothing left to claim.


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_message(message_id: int, account: str | None = None) -> dict[str, Any]:
    """Send one queued message through ``sms/send`` (a no-op if it is not claimable), with its
    account's client (``account`` saves looking it up)."""
    from .services import outbox

    result = outbox.dispatch_message(message_id, account=account)
    outbox.wake.follow_up(result, message_id=message_id)
    return result.as_dict()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_chunk(batch_id: int, chunk: int, account: str | None = None) -> dict[str, Any]:
    """Send the queued messages of one chunk of a batch through one ``sms/send-bulk`` call."""
    from .services import outbox

    result = outbox.dispatch_chunk(batch_id, chunk, account=account)
    outbox.wake.follow_up(result, chunk=(batch_id, chunk))
    return result.as_dict()


@shared_task(acks_late=True, ignore_result=True)
def dispatch_due() -> int:
    """Beat: enqueue scheduled messages that came due and messages whose task was lost."""
    from .services import heartbeats, outbox

    return heartbeats.record("dispatch_due", outbox.dispatch_due())


@shared_task(acks_late=True, ignore_result=True)
def sweep_outbox() -> dict[str, int]:
    """Beat: expired claims become uncertain, finished batches are closed, lost tasks re-enqueued."""
    from .services import heartbeats, outbox

    return heartbeats.record("sweep_outbox", outbox.sweep())


@shared_task(acks_late=True, ignore_result=True)
def reconcile_uncertain() -> dict[str, Any]:
    """Beat (and after an ambiguous send): look uncertain messages up, adopt or resend."""
    from .services import heartbeats, outbox

    return heartbeats.record("reconcile_uncertain", outbox.reconcile_uncertain().as_dict())


@shared_task(acks_late=True, ignore_result=True)
def refresh_statuses() -> dict[str, Any]:
    """Beat: poll ``messages/all`` for sent messages that no delivery report has settled."""
    from .services import heartbeats, outbox

    return heartbeats.record("refresh_statuses", outbox.refresh_statuses().as_dict())


# --- sync (services/pull/, services/contacts.py) ---------------------------------------------
# Safe to run concurrently with everything else: a pull locks the rows it compares, and a push
# writes its outcome only onto the version of a row it pushed.


@shared_task(ignore_result=True)
def sync_account(
    kinds: list[str] | None = None, since: str | None = None, push: bool = True, account: str | None = None
) -> dict[str, Any]:
    """Beat: push pending local changes, then pull ``kinds`` (default: every kind) from the account.

    ``since`` is an ISO date (``"2026-01-31"``) from which messages are pulled; without it the
    pull is incremental. Returns the push and pull reports as primitives. Without ``account``
    every configured account is synced in turn; with several, the reports are under
    ``"accounts"`` by alias.
    """
    from datetime import date

    from .services import contacts
    from .services.pull import ALL_KINDS, pull

    start = date.fromisoformat(since) if since else None

    def one(alias: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if push:
            result["push"] = contacts.push_pending(account=alias).to_dict()
        result["pull"] = pull(kinds=kinds or ALL_KINDS, since=start, account=alias).to_dict()
        return result

    return _each_account(account, one)


@shared_task(ignore_result=True)
def push_pending_changes(account: str | None = None) -> dict[str, Any]:
    """Beat: push every contact, group and membership change the account has not seen yet
    (without ``account``, of every account; with several, the reports under ``"accounts"``)."""
    from .services import contacts

    return _each_account(account, lambda alias: contacts.push_pending(account=alias).to_dict())


def _each_account(account: str | None, run: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """``run`` for ``account``, or for every configured account (their reports under
    ``"accounts"`` when there are several)."""
    from .conf import account_aliases

    aliases = [account] if account is not None else account_aliases()
    if len(aliases) == 1:
        return run(aliases[0])
    return {"accounts": {alias: run(alias) for alias in aliases}}
