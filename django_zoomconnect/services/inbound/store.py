"""Checking and storing verified webhooks: one INSERT that is also the replay check.

The unique ``nonce`` of :class:`~django_zoomconnect.models.WebhookEvent` decides: the insert
and the replay check are one statement, so two deliveries of the same webhook racing each other
store it once, and a duplicate costs no savepoint and no second query.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import models, router
from django.utils import timezone

from ... import conf, storable
from ...events import DELIVERY_REPORT, REPLY
from ...models import Message, WebhookEvent
from .. import rows

__all__ = ["InvalidWebhookError", "check_params", "event_fields", "insert_event", "store_event"]


class InvalidWebhookError(ValueError):
    """Parameters that no processing could ever store; the webhook view answers 400 with the text."""


#: Parameter -> the column its value is stored in, per kind (the nonce is always stored).
#: A longer value would be a database error on PostgreSQL and MySQL (and silently kept whole by
#: SQLite): an event that fails every time it is processed. A report's ``status`` fits its column
#: when it is a status at all; the others of a report are only looked up, never stored.
_COLUMNS: dict[str, dict[str, tuple[type[models.Model], str]]] = {
    REPLY: {
        "nonce": (WebhookEvent, "nonce"),
        "messageId": (Message, "remote_id"),
        "from": (Message, "from_number"),
        "to": (Message, "to_number"),
        "campaign": (Message, "campaign"),
        "dataField": (Message, "data_field"),
    },
    DELIVERY_REPORT: {
        "nonce": (WebhookEvent, "nonce"),
        "messageId": (Message, "remote_id"),
        "status": (Message, "status"),
    },
}


def _width(model: type[models.Model], field: str) -> int:
    width = getattr(model._meta.get_field(field), "max_length", None)
    assert isinstance(width, int), f"{model.__name__}.{field} has no max_length"
    return width


#: The widths of :data:`_COLUMNS`, read once (every webhook is checked against them).
_WIDTHS: dict[str, list[tuple[str, int]]] = {
    kind: [(key, _width(model, field)) for key, (model, field) in columns.items()]
    for kind, columns in _COLUMNS.items()
}


def check_params(kind: str, params: Mapping[str, str]) -> None:
    """Raise :class:`InvalidWebhookError` for parameters that could never be stored.

    A NUL character or a lone surrogate anywhere, or a value longer than the column it goes to,
    would make every processing attempt fail: such an event is refused before it is stored.
    """
    if kind not in _WIDTHS:
        raise ValueError(f"unknown webhook kind {kind!r}")
    found = storable.params_problem(params)
    if found:
        key, reason = found
        raise InvalidWebhookError(f"parameter {key!r} contains {reason}")
    for key, width in _WIDTHS[kind]:
        if len(params.get(key, "")) > width:
            raise InvalidWebhookError(f"{key} is longer than {width} characters")


def event_fields(
    kind: str,
    params: Mapping[str, str],
    nonce: str,
    nonce_expires_at: datetime | None,
    account: str = conf.DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """The columns of a new event for a checked webhook (its state and outcome excepted)."""
    if kind not in (REPLY, DELIVERY_REPORT):
        raise ValueError(f"unknown webhook kind {kind!r}")
    return {
        "account": account,
        "kind": kind,
        "params": dict(params),
        "nonce": nonce,
        "nonce_expires_at": nonce_expires_at,
        "remote_message_id": params.get("messageId", "")[:64],
        "data_field": params.get("dataField", "")[:255],
    }


def store_event(
    kind: str,
    params: Mapping[str, str],
    *,
    nonce: str,
    nonce_expires_at: datetime | None,
    account: str = conf.DEFAULT_ACCOUNT,
) -> WebhookEvent | None:
    """Store a verified webhook as a ``PENDING`` event, or ``None`` when its nonce was seen before.

    One INSERT (``rows.insert_new``), which commits on its own outside a transaction: this is
    all a webhook costs with ``WEBHOOK_PROCESSING = "celery"`` or ``"batch"``. Parameters that
    could never be stored raise :class:`InvalidWebhookError` (see :func:`check_params`).
    ``account`` is the alias of the account whose URL received it and whose secret verified it.
    """
    check_params(kind, params)
    fields = event_fields(kind, params, nonce, nonce_expires_at, account)
    fields["state"] = WebhookEvent.State.PENDING
    return insert_event(fields, timezone.now())


def insert_event(fields: dict[str, Any], now: datetime) -> WebhookEvent | None:
    """INSERT a new event of ``fields``, received ``now``: the event, or ``None`` when its nonce
    was seen before (``rows.insert_new``: one statement, no savepoint)."""
    pk = rows.insert_new(WebhookEvent, fields, unique=("nonce",), now=now)
    if pk is None:
        return None
    # As a query would build the row just written (positional: half the time of keywords).
    values = {**_EVENT_DEFAULTS, **fields, "id": pk, "received_at": now}
    for field in _EVENT_MADE:  # a default made anew for each row (none today)
        if field.attname not in fields:
            values[field.attname] = field.get_default()
    return WebhookEvent.from_db(
        router.db_for_write(WebhookEvent), _EVENT_NAMES, [values[n] for n in _EVENT_NAMES]
    )


_EVENT_NAMES = [field.attname for field in WebhookEvent._meta.concrete_fields]
_EVENT_MADE = [f for f in WebhookEvent._meta.concrete_fields if f.has_default() and callable(f.default)]
#: The default of every other field, read once.
_EVENT_DEFAULTS = {
    f.attname: f.get_default() for f in WebhookEvent._meta.concrete_fields if f not in _EVENT_MADE
}
