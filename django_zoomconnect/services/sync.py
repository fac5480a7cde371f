"""The pull's first home, kept so that ``services.sync.pull`` and its names keep working.

New code imports :mod:`django_zoomconnect.services.pull` (pulling) and
:mod:`django_zoomconnect.services.reports` (the report a pull or a push returns).
"""

from __future__ import annotations

from .pull import ALL_KINDS, BATCH_SIZE, MESSAGE_OVERLAP, Progress, pull
from .reports import MAX_ISSUES, Issue, KindReport, SyncReport

__all__ = [
    "ALL_KINDS",
    "BATCH_SIZE",
    "MAX_ISSUES",
    "MESSAGE_OVERLAP",
    "Issue",
    "KindReport",
    "Progress",
    "SyncReport",
    "pull",
]
