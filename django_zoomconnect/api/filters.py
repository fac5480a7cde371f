"""Query-string filters of the message list, checked strictly: a typo must not list everything.

Kept free of django-filter (not a dependency): a handful of fields, each validated by hand, and
an unknown parameter is a 400 naming the known ones, since silently ignoring ``?stauts=FAILED``
would answer with every message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from .. import phone
from ..exceptions import PhoneNumberError
from ..models import Direction, Message, MessageStatus

__all__ = ["MESSAGE_FILTERS", "filter_messages"]

#: Parameters the pagination and the renderers own; never treated as filters.
RESERVED = frozenset({"page", "page_size", "format"})


def _ids(name: str, value: str) -> list[int]:
    try:
        ids = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValidationError({name: f"Expected ids separated by commas, not {value!r}."}) from None
    if not ids or min(ids) < 1:
        raise ValidationError({name: f"Expected positive ids, not {value!r}."})
    return ids


def _moment(name: str, value: str, *, end: bool) -> datetime:
    """An aware datetime; a bare date means the start of that day (or, for an upper bound, the end)."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValidationError({name: f"Expected an ISO 8601 date or datetime, not {value!r}."})
        moment = datetime.combine(day, datetime.max.time() if end else datetime.min.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _direction(value: str) -> Q:
    if value not in Direction.values:
        raise ValidationError({"direction": f"Expected one of {', '.join(Direction.values)}, not {value!r}."})
    return Q(direction=value)


def _status(value: str) -> Q:
    statuses = [part.strip().upper() for part in value.split(",") if part.strip()]
    unknown = [status for status in statuses if status not in MessageStatus.values]
    if unknown or not statuses:
        known = ", ".join(MessageStatus.values)
        raise ValidationError({"status": f"Unknown status {', '.join(unknown) or value!r}; known: {known}."})
    return Q(status__in=statuses)


def _number(value: str) -> Q:
    """Either party of the message; written any way a person would (``082 123 4567``)."""
    try:
        number = phone.normalize(value)
    except PhoneNumberError:
        number = value.strip()  # inbound ``to`` values can be opaque ids: match them exactly
    return Q(to_number=number) | Q(from_number=number)


def _boolean(name: str, field: str) -> Callable[[str], Q]:
    def parse(value: str) -> Q:
        if value.lower() in ("1", "true", "yes"):
            return Q(**{field: True})
        if value.lower() in ("0", "false", "no"):
            return Q(**{field: False})
        raise ValidationError({name: f"Expected true or false, not {value!r}."})

    return parse


#: Parameter -> how it narrows the list. Comma-separated values mean "any of".
MESSAGE_FILTERS: dict[str, Callable[[str], Q]] = {
    "direction": _direction,
    "status": _status,
    "campaign": lambda value: Q(campaign=value),
    "data_field": lambda value: Q(data_field=value),
    "reference": lambda value: Q(reference=value),
    "remote_id": lambda value: Q(remote_id=value),
    "number": _number,
    "batch": lambda value: Q(batch__in=_ids("batch", value)),
    "contact": lambda value: Q(contact__in=_ids("contact", value)),
    "template": lambda value: Q(template__in=_ids("template", value)),
    "in_reply_to": lambda value: Q(in_reply_to__in=_ids("in_reply_to", value)),
    "read": _boolean("read", "read"),
    "created_after": lambda value: Q(created_at__gte=_moment("created_after", value, end=False)),
    "created_before": lambda value: Q(created_at__lte=_moment("created_before", value, end=True)),
}


def filter_messages(queryset: QuerySet[Message], params: Mapping[str, Any]) -> QuerySet[Message]:
    """``queryset`` narrowed by the query parameters; :class:`ValidationError` for a bad one."""
    unknown = sorted(set(params) - set(MESSAGE_FILTERS) - RESERVED)
    if unknown:
        raise ValidationError(
            {name: f"Unknown filter; known: {', '.join(MESSAGE_FILTERS)}." for name in unknown}
        )
    for name, build in MESSAGE_FILTERS.items():
        value = params.get(name)
        if value is not None and value != "":
            queryset = queryset.filter(build(str(value)))
    return queryset
