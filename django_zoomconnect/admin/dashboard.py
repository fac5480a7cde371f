"""The admin's dashboard: balance, pause, the outbox, deliveries per day, campaigns, beat tasks."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern

__all__ = ["urls"]


def urls(model_admin: Any) -> list[URLPattern]:
    """The dashboard's URLs, added to the message admin's (``admin:zoomconnect_dashboard``)."""
    return []
