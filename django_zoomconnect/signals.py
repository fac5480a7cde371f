"""The signals app code connects to, to react to messages without touching this package's code.

Every signal is sent with ``send_robust`` after the database transaction that stored its rows has
committed, so a receiver always sees committed rows, and a receiver that raises is logged (with
``logger.exception`` on the ``django_zoomconnect.signals`` logger) without stopping the others
or undoing what was stored. The sender is always the :class:`~django_zoomconnect.models.Message`
model class. Receivers should accept ``**kwargs``: arguments may be added, never removed.

Every signal also carries ``account``: the alias of the message's account (an entry of
``ZOOMCONNECT["ACCOUNTS"]``; ``"default"`` for a project with one account), so that a receiver can
tell the accounts apart without reading the message.

Each signal's arguments are in the ``#:`` comment above it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger(__name__)

#: Sent after an inbound reply was stored. Arguments: ``message`` (the new inbound
#: :class:`~django_zoomconnect.models.Message`, status ``RECEIVED``, with ``contact`` and
#: ``in_reply_to`` set when they could be found), ``event`` (an
#: :class:`~django_zoomconnect.events.InboundReply`, the raw parameters in ``event.params``).
message_received = Signal()

#: Sent after a delivery report was applied to a known message, whether or not it changed the
#: status (a late ``SENT`` after ``DELIVERED`` does not); a report for a message not known yet
#: is sent when the message appears. Arguments: ``message`` (the outbound
#: :class:`~django_zoomconnect.models.Message` as it is after the report), ``event`` (a
#: :class:`~django_zoomconnect.events.DeliveryReport`), ``status_changed`` (bool).
delivery_report_received = Signal()

#: Sent after a message's status moved forward. Arguments: ``message``, ``old_status`` and
#: ``new_status`` (:class:`~django_zoomconnect.models.MessageStatus` values), ``source`` (a
#: :class:`~django_zoomconnect.models.MessageStatusChange.Source` value: ``"webhook"`` for a
#: delivery report, ``"send"``, ``"poll"``, ``"sync"`` or ``"user"``), ``event`` (the
#: :class:`~django_zoomconnect.events.DeliveryReport` that caused it, or ``None``).
message_status_changed = Signal()

#: Sent before an outbound message is handed to the provider. Arguments: ``message``. A
#: receiver raising :class:`~django_zoomconnect.exceptions.SendVetoed` stops that message.
pre_send = Signal()

#: Sent after the provider was called for an outbound message. Arguments: ``message`` (with its
#: remote id and status as stored after the call), ``error`` (the
#: :class:`~django_zoomconnect.exceptions.ZoomConnectError` raised, or ``None``).
post_send = Signal()

__all__ = [
    "delivery_report_received",
    "message_received",
    "message_status_changed",
    "post_send",
    "pre_send",
    "send_robustly",
]


def send_robustly(
    signal: Signal, sender: Any, *, expected: tuple[type[Exception], ...] = (), **kwargs: Any
) -> list[tuple[Any, Any]]:
    """``signal.send_robust`` with every receiver's exception logged, traceback included.

    A receiver is app code: its failure must neither fail the webhook (which would make the
    provider retry and the event look unprocessed) nor keep the other receivers from running.
    Exceptions of the ``expected`` classes are answers, not failures (``SendVetoed`` from a
    ``pre_send`` receiver): they are returned without being logged. ``account`` is added from
    the ``message`` when the caller does not give it: every signal carries it.
    """
    if "account" not in kwargs:
        kwargs["account"] = getattr(kwargs.get("message"), "account", "default")
    responses = signal.send_robust(sender, **kwargs)
    for receiver, response in responses:
        if isinstance(response, Exception) and not isinstance(response, expected):
            name = getattr(receiver, "__qualname__", repr(receiver))
            which = next((key for key, value in globals().items() if value is signal), "a")
            logger.error(
                "A %s receiver (%s) of django_zoomconnect raised %s; the others still ran",
                which,
                name,
                type(response).__name__,
                exc_info=(type(response), response, response.__traceback__),
            )
    return responses
