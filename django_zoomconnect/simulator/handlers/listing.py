"""Paging and filtering shared by the list operations of messages and voice messages."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from operator import attrgetter
from typing import Any, TypeVar

from ..errors import ApiError
from ..http import bool_param, date_param, int_param
from ..records import STATUSES, Message, VoiceMessage, normalize_number

T = TypeVar("T", Message, VoiceMessage)
#: (attribute, first day, last day): the attribute's day in the account's zone must be in range.
DayRange = tuple[str, date | None, date | None]


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """The ``page`` (from 1) and ``pageSize`` asked for."""
    return int_param(query, "page", 1), int_param(query, "pageSize", 100)


def page_of(
    found: Sequence[T], page: int, page_size: int, key: str, shape: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """One page of ``found`` in the provider's paged envelope, the items (shaped) under ``key``."""
    start = (page - 1) * page_size
    items = found[start : start + page_size]
    return {
        "elements": len(items),
        "page": page,
        "pageSize": page_size,
        "totalElements": len(found),
        "totalPages": math.ceil(len(found) / page_size),
        key: [shape(item) for item in items],
        "links": [],
    }


@dataclass
class Criteria:
    """What a listed message must match: attributes equal to values, a text it contains, days."""

    equal: list[tuple[str, object]] = field(default_factory=list)
    text: str | None = None
    ranges: list[DayRange] = field(default_factory=list)

    def select(self, items: Iterable[T], tz: tzinfo) -> list[T]:
        """The ``items`` matching every criterion, in their order (one pass per kind of criterion:
        ``messages/all`` may go through every message of a large account)."""
        found = list(items)
        for attribute, value in self.equal:
            get = attrgetter(attribute)
            found = [item for item in found if get(item) == value]
        if self.text is not None:
            text = self.text
            found = [item for item in found if text in (item.message or "").lower()]
        for attribute, first, last in self.ranges:
            found = [item for item in found if _within(getattr(item, attribute), first, last, tz)]
        return found


def _within(moment: datetime | None, first: date | None, last: date | None, tz: tzinfo) -> bool:
    if moment is None:
        return False
    day = moment.astimezone(tz).date()
    return (first is None or day >= first) and (last is None or day <= last)


def criteria(
    query: Mapping[str, str], *, ranges: Sequence[tuple[str, str, str]], numbers: Sequence[tuple[str, str]]
) -> Criteria:
    """The filters messages and voice messages share, read from ``query`` in the provider's order:
    ``status``, the day ``ranges`` (low and high parameter, attribute), the ``numbers``
    (parameter, attribute), ``message`` (a case-insensitive substring), ``campaign``,
    ``dataField`` and ``deleted``."""
    found = Criteria()
    status = (query.get("status") or "").upper() or None
    if status is not None:
        if status not in STATUSES:
            raise ApiError(400, "Invalid status", developer_message=f"{status!r} is not a message status")
        found.equal.append(("status", status))
    for low, high, attribute in ranges:
        first = date_param(query, low, "%Y%m%d", "yyyyMMdd")
        last = date_param(query, high, "%Y%m%d", "yyyyMMdd")
        if first is not None or last is not None:
            found.ranges.append((attribute, first, last))
    for name, attribute in numbers:
        number = query.get(name) or None
        if number is not None:
            found.equal.append((attribute, normalize_number(number) or number))
    found.text = (query.get("message") or "").lower() or None
    for name, attribute in (("campaign", "campaign"), ("dataField", "data_field")):
        value = query.get(name) or None
        if value is not None:
            found.equal.append((attribute, value))
    deleted = bool_param(query, "deleted")
    if deleted is not None:
        found.equal.append(("deleted", deleted))
    return found
