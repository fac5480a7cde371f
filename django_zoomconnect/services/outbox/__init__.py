"""The outbox: every outbound SMS is a row first, handed to the provider exactly once.

The database row is the source of truth; Celery only wakes workers. The modules, in the order a
message meets them:

* :mod:`.drafts` validates and renders a send before any row exists (``plan_bulk`` plans a bulk
  send without writing it);
* :mod:`.compose` writes the rows (``send_sms``, ``send_bulk``; ``plan_chunks`` decides the
  chunks);
* :mod:`.wake` is the only module that enqueues tasks, after commit (and ``dispatch_due``, the
  scheduler and safety net for lost tasks);
* :mod:`.dispatch` claims rows, renews the claim right before the one API call, and records
  every outcome;
* :mod:`.reconcile` settles what the outbox cannot know by itself (expired claims, uncertain
  sends, unreported statuses);
* :mod:`.control` holds the operator's levers (resume, balance, cancel, retry), and
  :mod:`.selection` applies them to a selection, saying what became of every message;
* :mod:`.preview` previews an operator's send with nothing written, then sends it all or nothing
  (the admin's send form);
* :mod:`.state` holds what they all share (the pause, what is due, backoff).
"""

from __future__ import annotations

from ...exceptions import InsufficientCreditError, SendError, SendVetoed
from ..mapping import wire_data_field, wire_number
from .compose import plan_chunks, send_bulk, send_sms
from .control import cancel, check_balance, resume_sending, retry
from .dispatch import DispatchResult, date_to_send, dispatch_chunk, dispatch_message, finish_batches
from .drafts import BulkSend, Plan, Recipient, plan_bulk
from .outcomes import apply_deferred_reports
from .reconcile import (
    PollResult,
    ReconcileResult,
    reconcile_uncertain,
    refresh_messages,
    refresh_statuses,
    sweep,
)
from .state import PENDING_STATUSES, RETRYABLE_STATUSES, is_paused, pause_reason, pause_sending, pauses
from .wake import dispatch_due, enqueue_chunk, enqueue_message

__all__ = [
    "PENDING_STATUSES",
    "RETRYABLE_STATUSES",
    "BulkSend",
    "DispatchResult",
    "InsufficientCreditError",
    "Plan",
    "PollResult",
    "Recipient",
    "ReconcileResult",
    "SendError",
    "SendVetoed",
    "apply_deferred_reports",
    "cancel",
    "check_balance",
    "date_to_send",
    "dispatch_chunk",
    "dispatch_due",
    "dispatch_message",
    "enqueue_chunk",
    "enqueue_message",
    "finish_batches",
    "is_paused",
    "pause_reason",
    "pause_sending",
    "pauses",
    "plan_bulk",
    "plan_chunks",
    "reconcile_uncertain",
    "refresh_messages",
    "refresh_statuses",
    "resume_sending",
    "retry",
    "send_bulk",
    "send_sms",
    "sweep",
    "wire_data_field",
    "wire_number",
]
