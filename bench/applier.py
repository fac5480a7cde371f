"""The batch applier: stored delivery reports applied per second by ``apply_pending``, beside a naive loop.

The events are stored as the ``"batch"`` view stores them (``PENDING``, one per message, the
message ``SENT``); ``apply_pending()`` applies them all, a batch per transaction. The naive loop
is what one-at-a-time processing does (``process_event`` per event, as the ``"celery"`` mode's
task or the sweeper would), on a sample of events of its own, scaled per report.
"""

from __future__ import annotations

from . import plumbing
from .table import Row
from .webhooks import report_params

AIM = 5_000.0


def pending(prefix: str, count: int) -> list[int]:
    """``count`` stored, pending delivery reports for as many sent messages; their primary keys."""
    from django.db import transaction

    from django_zoomconnect.events import DELIVERY_REPORT
    from django_zoomconnect.models import WebhookEvent
    from django_zoomconnect.services.inbound.store import event_fields

    events = [
        WebhookEvent(
            **event_fields(DELIVERY_REPORT, params, params["nonce"], None), state=WebhookEvent.State.PENDING
        )
        for params in report_params(prefix, count)
    ]
    with transaction.atomic():
        WebhookEvent.objects.bulk_create(events, batch_size=1000)
    return list(
        WebhookEvent.objects.filter(remote_message_id__startswith=prefix)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def run(db: str) -> list[Row]:
    from django_zoomconnect.models import Message, MessageStatus, WebhookEvent
    from django_zoomconnect.services.inbound import apply_pending, process_event

    count, sample = plumbing.size("applier_events"), plumbing.size("applier_naive")
    pending("warm", 20)
    apply_pending()  # warm up: imports, statements prepared, caches

    pending("bulk", count)
    seconds, applied = plumbing.timed(apply_pending)
    if applied.states.get(WebhookEvent.State.PROCESSED, 0) != count:
        raise RuntimeError(f"apply_pending applied {applied.as_dict()}, not {count} reports")
    bulk_rate = count / seconds

    keys = pending("naive", sample)
    naive_seconds, _ = plumbing.timed(lambda: [process_event(pk) for pk in keys])
    delivered = Message.objects.filter(remote_id__startswith="naive", status=MessageStatus.DELIVERED).count()
    if delivered != sample:
        raise RuntimeError(f"the naive loop delivered {delivered} of {sample}")
    naive_rate = sample / naive_seconds
    return [
        Row(
            "batch applier (apply_pending)",
            db,
            bulk_rate,
            "reports/s",
            [("naive loop", naive_rate)],
            bulk_rate / naive_rate,
            f">= {AIM:,.0f} reports/s",
            met=bulk_rate >= AIM,
        )
    ]
