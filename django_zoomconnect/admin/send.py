"""The admin's "Send SMS" form: recipients, text or template, a live preview, confirmation, send."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern

__all__ = ["urls"]


def urls(model_admin: Any) -> list[URLPattern]:
    """The send form's URLs, added to the message admin's (``admin:zoomconnect_message_send``)."""
    return []
