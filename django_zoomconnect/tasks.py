"""Celery tasks: thin wrappers that wake a worker to call one service with primitive arguments.

Tasks take primary keys, strings and numbers, never model instances, and hold no business rules:
the admin, the management commands and the REST API call the same service functions directly.
"""

from __future__ import annotations

from celery import shared_task

# --- webhooks (services/inbound.py) ------------------------------------------------------------


@shared_task(acks_late=True, ignore_result=True)
def process_webhook_event(event_id: int) -> str:
    """Process one stored webhook event (``WEBHOOK_PROCESSING = "celery"``); its new state."""
    from .services import inbound

    return str(inbound.process_event(event_id).state)


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
