"""Webhooks: store verified events, then apply replies and delivery reports exactly once.

Why events are stored raw before anything else: the provider's retry behaviour is undocumented,
so the only safe answer to a genuine webhook is 2xx as soon as it cannot be lost. The unique
``nonce`` of :class:`~django_zoomconnect.models.WebhookEvent` makes the insert itself the replay
check; processing may then fail, be retried, run on Celery or in batches, without the event
being lost or applied twice.

The modules, by what they hold: ``store`` checks and stores a verified webhook (one INSERT);
``processing`` applies one event (``receive`` stores and applies in one transaction, the
``"sync"`` mode); ``batch`` applies stored events many at a time (the ``"batch"`` mode);
``housekeeping`` applies deferred reports, reprocesses, sweeps and deletes old events.
"""

from __future__ import annotations

from .batch import Applied, apply_pending
from .housekeeping import apply_deferred_reports, delete_old_events, reprocess_events, sweep_events
from .processing import UnknownStatusError, is_opt_in_keyword, is_opt_out_keyword, process_event, receive
from .store import InvalidWebhookError, check_params, store_event

__all__ = [
    "Applied",
    "InvalidWebhookError",
    "UnknownStatusError",
    "apply_deferred_reports",
    "apply_pending",
    "check_params",
    "delete_old_events",
    "is_opt_in_keyword",
    "is_opt_out_keyword",
    "process_event",
    "receive",
    "reprocess_events",
    "store_event",
    "sweep_events",
]
