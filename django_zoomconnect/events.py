"""Normalized webhook events: what a reply or delivery report says, with its raw parameters kept.

Receivers of the signals get these instead of a bare dict so that they need not know the
provider's parameter names or date formats; ``params`` keeps every parameter exactly as it
arrived (checksum included), for whatever the normalized fields leave out. Nothing is parsed out
of ``dataField``, ``to`` or ``message``: captured payloads show commas in ``dataField``, an opaque
id in ``to`` and trailing spaces in ``message``, so those are kept byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from types import MappingProxyType
from typing import ClassVar, TypedDict

from .wire_formats import parse_datetime

__all__ = ["DeliveryReport", "InboundReply", "WebhookPayload", "event_from_params", "parse_nonce_date"]

REPLY = "reply"
DELIVERY_REPORT = "report"

_NONCE_DATE = re.compile(r"\d{14}\d*")


def parse_nonce_date(value: str | None, tz: tzinfo) -> datetime | None:
    """The expiry time in ``nonce-date`` (``yyyyMMddHHmmss`` in ``tz``) as aware UTC, or ``None``.

    The 2014 PDF guide's example has two more digits (``2014051610050102``): fractions of a
    second, ignored. Anything else that is not a valid date gives ``None``.
    """
    if not value or not _NONCE_DATE.fullmatch(value):
        return None
    return _nonce_date(value[:14], tz)


@lru_cache(maxsize=256)
def _nonce_date(digits: str, tz: tzinfo) -> datetime | None:
    # Remembered: the view reads a webhook's nonce-date and so does its event, and reports sent
    # together share it. Fourteen digits (the pattern's), so no strptime: it costs several times more.
    try:
        parts = (digits[0:4], digits[4:6], digits[6:8], digits[8:10], digits[10:12], digits[12:14])
        year, month, day, hour, minute, second = map(int, parts)
        return datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 east of UTC, year 9999 west of it
        return None


def _parse_date(value: str | None, tz: tzinfo) -> datetime | None:
    try:
        return parse_datetime(value, tz)
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class WebhookPayload:
    """What every webhook carries. ``event_id`` is the stored ``WebhookEvent``'s primary key."""

    kind: ClassVar[str]

    message_id: str
    campaign: str
    data_field: str
    nonce: str
    nonce_date: datetime | None
    params: Mapping[str, str] = field(repr=False)
    event_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class DeliveryReport(WebhookPayload):
    """A delivery report: ``status`` is the provider's status value, trimmed and upper-cased."""

    kind: ClassVar[str] = DELIVERY_REPORT

    status: str

    @classmethod
    def from_params(
        cls, params: Mapping[str, str], tz: tzinfo, *, event_id: int | None = None
    ) -> DeliveryReport:
        return cls(
            status=params.get("status", "").strip().upper(),
            **_common(params, tz, event_id),
        )


@dataclass(frozen=True, kw_only=True)
class InboundReply(WebhookPayload):
    """An inbound SMS. ``from_number``, ``to_number`` and ``text`` are exactly as received.

    ``date`` is when the provider received it (``None`` when absent or unreadable);
    ``replied_to_message_id`` is the remote id of the outbound message it answers, or ``""``.
    """

    kind: ClassVar[str] = REPLY

    replied_to_message_id: str
    from_number: str
    to_number: str
    text: str
    date: datetime | None

    @classmethod
    def from_params(
        cls, params: Mapping[str, str], tz: tzinfo, *, event_id: int | None = None
    ) -> InboundReply:
        return cls(
            replied_to_message_id=params.get("repliedToMessageId", ""),
            from_number=params.get("from", ""),
            to_number=params.get("to", ""),
            text=params.get("message", ""),
            date=_parse_date(params.get("date"), tz),
            **_common(params, tz, event_id),
        )


class _Common(TypedDict):
    message_id: str
    campaign: str
    data_field: str
    nonce: str
    nonce_date: datetime | None
    params: Mapping[str, str]
    event_id: int | None


def _common(params: Mapping[str, str], tz: tzinfo, event_id: int | None) -> _Common:
    return {
        "message_id": params.get("messageId", ""),
        "campaign": params.get("campaign", ""),
        "data_field": params.get("dataField", ""),
        "nonce": params.get("nonce", ""),
        "nonce_date": parse_nonce_date(params.get("nonce-date"), tz),
        "params": MappingProxyType(dict(params)),
        "event_id": event_id,
    }


def event_from_params(
    kind: str, params: Mapping[str, str], tz: tzinfo, *, event_id: int | None = None
) -> DeliveryReport | InboundReply:
    """The normalized event of ``kind`` (``"reply"`` or ``"report"``)."""
    if kind == REPLY:
        return InboundReply.from_params(params, tz, event_id=event_id)
    if kind == DELIVERY_REPORT:
        return DeliveryReport.from_params(params, tz, event_id=event_id)
    raise ValueError(f"unknown webhook kind {kind!r}")
