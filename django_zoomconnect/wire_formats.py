"""The wire formats of the provider's dates, and the lenient readers of the values of its answers.

The provider's documents give field names but not always types or date formats, so these read
leniently: numbers may arrive as strings, dates in any of the formats :func:`parse_datetime`
knows, and ``None`` stands for a missing value. Anything that still cannot be read raises
``ValueError``. :mod:`~django_zoomconnect.wire` (the typed results), ``_codec`` (the client's
answer shapes) and :mod:`~django_zoomconnect.events` (webhooks) all read by these rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

__all__ = [
    "format_date",
    "format_datetime",
    "id_timestamp",
    "parse_date",
    "parse_datetime",
    "read_bool",
    "read_float",
    "read_int",
    "read_list",
    "read_object",
    "read_str",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_COMPACT_FORMATS = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
_DATE_FORMATS = ("%d-%m-%Y", "%Y-%m-%d", "%Y%m%d", "%d/%m/%Y")


# --- wire formats ------------------------------------------------------------------------------


def parse_datetime(value: Any, tz: tzinfo) -> datetime | None:
    """An aware UTC datetime from whatever the API wrote; naive values are in ``tz``.

    The JSON format of ``dateTimeSent`` and friends is undocumented, so this accepts epoch
    milliseconds (a number or a numeric string), ISO 8601 with or without an offset,
    ``yyyy-MM-dd HH:mm:ss``, and the compact ``yyyyMMdd``, ``yyyyMMddHHmm`` and
    ``yyyyMMddHHmmss`` that the rest of the API uses. A string of 8, 12 or 14 digits is read as
    a compact date when it is a valid one (epoch milliseconds have 13 digits since 2001).
    """
    if _missing(value, "a date and time"):
        return None
    if isinstance(value, int | float):
        return _from_epoch_ms(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date and time")
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) in _COMPACT_FORMATS:
        try:
            naive = datetime.strptime(text, _COMPACT_FORMATS[len(text)])
        except ValueError:
            pass
        else:
            return _to_utc(naive.replace(tzinfo=tz), value)
    if _NUMBER.fullmatch(text):
        return _from_epoch_ms(float(text) if "." in text else int(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date and time in a known format") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return _to_utc(parsed, value)


def _to_utc(moment: datetime, value: object) -> datetime:
    """``moment`` in UTC; a ``ValueError`` when that falls outside years 1 to 9999 (year 1 at +02:00)."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range for a date once converted to UTC") from None


_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
#: Creation times read from ids outside this range are not believed (the id is of another kind).
_ID_TIMES = (datetime(2009, 1, 1, tzinfo=UTC), timedelta(days=1))


def id_timestamp(message_id: str | None, *, now: datetime | None = None) -> datetime | None:
    """When the provider created a message, as its id tells, or ``None`` when it does not.

    The provider's message ids are 24 hex digits, the shape of a MongoDB ObjectId, whose first
    eight are the creation time in Unix seconds (inferred from the ids seen in public samples;
    the provider documents ids only as strings). An id of another shape, or a time before 2009 or
    more than a day ahead of ``now``, tells nothing.
    """
    if message_id is None or not _OBJECT_ID.fullmatch(message_id):
        return None
    created = _EPOCH + timedelta(seconds=int(message_id[:8], 16))
    first, ahead = _ID_TIMES
    latest = (now or datetime.now(UTC)) + ahead
    return created if first <= created <= latest else None


def _from_epoch_ms(value: int | float) -> datetime:
    try:
        return _EPOCH + timedelta(milliseconds=value)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range for a date in epoch milliseconds") from None


def parse_date(value: Any, tz: tzinfo) -> date | None:
    """A calendar date, as statistics reports write them (``dd-MM-yyyy`` and the usual others).

    A value with a time of day is converted to ``tz`` before its date is taken.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
    moment = parse_datetime(value, tz)
    return None if moment is None else moment.astimezone(tz).date()


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what} must be a timezone-aware datetime, not the naive {value.isoformat()}: "
            "it is converted to the API time zone, so its own zone must be known "
            "(use django.utils.timezone.now() or datetime(..., tzinfo=...))"
        )
    return value


def format_datetime(value: datetime, tz: tzinfo, *, what: str = "date_to_send") -> str:
    """``yyyyMMddHHmm`` in the API time zone, the format of ``dateToSend``; seconds are dropped.

    A naive datetime raises ``ValueError``: guessing its zone could shift a send by hours.
    """
    return _aware(value, what).astimezone(tz).strftime("%Y%m%d%H%M")


def format_date(value: date, tz: tzinfo, fmt: str, *, what: str = "date") -> str:
    """A date filter in the API's ``fmt``; an aware datetime is first converted to ``tz``.

    A naive datetime raises ``ValueError``, for the same reason as :func:`format_datetime`.
    """
    if isinstance(value, datetime):
        value = _aware(value, what).astimezone(tz).date()
    elif not isinstance(value, date):
        raise TypeError(f"{what} must be a date or an aware datetime, not {type(value).__name__}")
    return value.strftime(fmt)


# --- lenient field readers ---------------------------------------------------------------------
# Public so that the client (and the simulator's tests) read bare scalar bodies by the same rules.


def _missing(value: Any, what: str) -> bool:
    """Whether ``value`` is missing (``None`` or ``""``); a ``ValueError`` for a boolean, not ``what``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not {what}")
    return value is None or value == ""


def read_object(value: Any, what: str) -> Mapping[str, Any]:
    if type(value) is dict:  # what JSON decodes to: no abstract-class check
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a JSON object for {what}, got {type(value).__name__}")
    return value


def read_str(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is str:
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a string")
    return str(value)


def read_int(value: Any) -> int | None:
    if _missing(value, "a whole number"):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ValueError(f"{value!r} is not a whole number")


def read_float(value: Any) -> float | None:
    if _missing(value, "a number"):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a number")


def read_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{value!r} is not a boolean")


def read_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON array for {what}, got {type(value).__name__}")
    return value
