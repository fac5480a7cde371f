"""Query-string filters of the lists, checked strictly: a typo must not list everything.

Kept free of django-filter (not a dependency): a handful of fields, each validated by hand, and
an unknown parameter is a 400 naming the known ones, since silently ignoring ``?stauts=FAILED``
would answer with every message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from .. import conf, phone, storable
from ..exceptions import ConfigurationError, PhoneNumberError
from ..models import Contact, Direction, Group, Message, MessageStatus, SyncState

__all__ = [
    "ACCOUNT_FILTERS",
    "CONTACT_FILTERS",
    "GROUP_FILTERS",
    "MESSAGE_FILTERS",
    "apply",
    "filter_by_account",
    "filter_contacts",
    "filter_groups",
    "filter_messages",
]

#: Parameters the pagination and the renderers own; never treated as filters.
RESERVED = frozenset({"page", "page_size", "format"})


#: The largest primary key any backend stores (a signed 64-bit ``BigAutoField``).
MAX_ID = 2**63 - 1


def _ids(name: str, value: str) -> list[int]:
    try:
        ids = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValidationError({name: f"Expected ids separated by commas, not {value!r}."}) from None
    if not ids or min(ids) < 1 or max(ids) > MAX_ID:
        raise ValidationError({name: f"Expected positive ids, not {value!r}."})
    return ids


def _moment(name: str, value: str, *, end: bool) -> datetime:
    """An aware datetime; a bare date means the start of that day (or, for an upper bound, the end).

    Impossible dates (``2024-02-30``, hour 25, offset ``+99:00``) and moments that fall outside
    years 1 to 9999 in UTC (``0001-01-01T00:00:00+05:00``) are a 400, not a database error.
    """
    expected = f"Expected an ISO 8601 date or datetime, not {value!r}."
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is None:
                raise ValidationError({name: expected})
            moment = datetime.combine(day, datetime.max.time() if end else datetime.min.time())
    except ValueError as exc:  # well formed, but no such date, time or offset
        raise ValidationError({name: f"{expected[:-1]}: {exc}."}) from None
    try:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        # Every backend compares in UTC: a moment that has no UTC form cannot be compared.
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError({name: f"{value!r} is out of range once converted to UTC."}) from None


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


def _sync_state(value: str) -> Q:
    states = [part.strip() for part in value.split(",") if part.strip()]
    if not states or any(state not in SyncState.values for state in states):
        known = ", ".join(SyncState.values)
        raise ValidationError({"sync_state": f"Unknown state in {value!r}; known: {known}."})
    return Q(sync_state__in=states)


def _contact_number(value: str) -> Q:
    try:
        return Q(phone_number=phone.normalize(value))
    except PhoneNumberError as exc:
        raise ValidationError({"number": str(exc)}) from None


#: The longest ``search`` (the widest column searched) and the most words in it: a longer one
#: could never match, and SQLite refuses a LIKE pattern over 50,000 bytes or a query of
#: thousands of words (a 500, not an answer).
MAX_SEARCH_LENGTH = 255
MAX_SEARCH_WORDS = 10


def _search(*fields: str) -> Callable[[str], Q]:
    """Every word in at least one of ``fields`` (case-insensitive)."""

    def parse(value: str) -> Q:
        words = value.split()
        if len(value) > MAX_SEARCH_LENGTH or len(words) > MAX_SEARCH_WORDS:
            raise ValidationError(
                {"search": f"At most {MAX_SEARCH_LENGTH} characters and {MAX_SEARCH_WORDS} words."}
            )
        match = Q()
        for word in words:
            anywhere = Q()
            for field in fields:
                anywhere |= Q(**{f"{field}__icontains": word})
            match &= anywhere
        return match

    return parse


def _boolean(name: str, field: str) -> Callable[[str], Q]:
    def parse(value: str) -> Q:
        if value.lower() in ("1", "true", "yes"):
            return Q(**{field: True})
        if value.lower() in ("0", "false", "no"):
            return Q(**{field: False})
        raise ValidationError({name: f"Expected true or false, not {value!r}."})

    return parse


def _account(value: str) -> Q:
    """Rows of these accounts (aliases, comma-separated); an alias not configured is a 400."""
    aliases = [alias.strip() for alias in value.split(",") if alias.strip()]
    try:
        for alias in aliases:
            conf.account_alias(alias)
    except ConfigurationError as exc:
        raise ValidationError({"account": str(exc)}) from None
    return Q(account__in=aliases)


#: Parameter -> how it narrows the list. Comma-separated values mean "any of".
MESSAGE_FILTERS: dict[str, Callable[[str], Q]] = {
    "account": _account,
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


#: ``contacts/``: the members of a group, by state, by number, by words in the name.
CONTACT_FILTERS: dict[str, Callable[[str], Q]] = {
    "account": _account,
    # One Q, so that both conditions hold for the same membership (one being deleted is gone).
    "group": lambda value: Q(
        memberships__group__in=_ids("group", value),
        memberships__sync_state__in=[state for state in SyncState.values if state != SyncState.DELETING],
    ),
    "sync_state": _sync_state,
    "number": _contact_number,
    "search": _search("first_name", "last_name", "title", "phone_number"),
}

#: ``groups/``: by state, by words in the name.
GROUP_FILTERS: dict[str, Callable[[str], Q]] = {
    "account": _account,
    "sync_state": _sync_state,
    "search": _search("name"),
}


Filters = Mapping[str, Callable[[str], Q]]
M = TypeVar("M", bound=Model)


def apply(queryset: QuerySet[M], params: Mapping[str, Any], filters: Filters) -> QuerySet[M]:
    """``queryset`` narrowed by the query parameters; :class:`ValidationError` for a bad one."""
    unknown = sorted(set(params) - set(filters) - RESERVED)
    if unknown:
        raise ValidationError({name: f"Unknown filter; known: {', '.join(filters)}." for name in unknown})
    for name in filters:
        # PostgreSQL refuses a NUL in a query parameter (a 500 on every backend's driver for a
        # lone surrogate): refuse them here, naming the filter.
        found = storable.find_problem(params.get(name))
        if found:
            raise ValidationError({name: f"Must not contain {found}."})
    for name, build in filters.items():
        value = params.get(name)
        if value is not None and value != "":
            queryset = queryset.filter(build(str(value)))
    return queryset


#: ``batches/`` and ``templates/``: by account only.
ACCOUNT_FILTERS: dict[str, Callable[[str], Q]] = {"account": _account}


def filter_messages(queryset: QuerySet[Message], params: Mapping[str, Any]) -> QuerySet[Message]:
    return apply(queryset, params, MESSAGE_FILTERS)


def filter_contacts(queryset: QuerySet[Contact], params: Mapping[str, Any]) -> QuerySet[Contact]:
    return apply(queryset, params, CONTACT_FILTERS).distinct()


def filter_groups(queryset: QuerySet[Group], params: Mapping[str, Any]) -> QuerySet[Group]:
    return apply(queryset, params, GROUP_FILTERS)


def filter_by_account(queryset: QuerySet[M], params: Mapping[str, Any]) -> QuerySet[M]:
    """``batches/`` and ``templates/``: ``?account=`` only (their other parameters are left alone,
    as before accounts)."""
    return apply(
        queryset, {name: params[name] for name in ACCOUNT_FILTERS if name in params}, ACCOUNT_FILTERS
    )
