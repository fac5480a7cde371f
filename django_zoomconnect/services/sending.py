"""The outbox's first home, kept so that ``services.sending`` and its names keep working.

New code imports :mod:`django_zoomconnect.services.outbox` (or ``django_zoomconnect.send_sms``).
"""

from __future__ import annotations

from .outbox import (
    PENDING_STATUSES,
    RETRYABLE_STATUSES,
    DispatchResult,
    InsufficientCreditError,
    Recipient,
    SendError,
    SendVetoed,
    cancel,
    check_balance,
    dispatch_chunk,
    dispatch_due,
    dispatch_message,
    finish_batches,
    is_paused,
    pause_sending,
    resume_sending,
    retry,
    send_bulk,
    send_sms,
    wire_data_field,
    wire_number,
)

__all__ = [
    "PENDING_STATUSES",
    "RETRYABLE_STATUSES",
    "DispatchResult",
    "InsufficientCreditError",
    "Recipient",
    "SendError",
    "SendVetoed",
    "cancel",
    "check_balance",
    "dispatch_chunk",
    "dispatch_due",
    "dispatch_message",
    "finish_batches",
    "is_paused",
    "pause_sending",
    "resume_sending",
    "retry",
    "send_bulk",
    "send_sms",
    "wire_data_field",
    "wire_number",
]
