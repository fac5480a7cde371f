"""Typed results and inputs of the REST client, and the wire formats of dates they are read from.

The provider's documents give field names but not always types or date formats, so every
``from_api`` constructor is lenient in what it reads: unknown fields are ignored, missing ones
become ``None``, numbers may arrive as strings, and dates may arrive in any of the formats
:func:`parse_datetime` knows. Anything that still cannot be read raises ``ValueError``; the
client turns that into :class:`~django_zoomconnect.exceptions.InvalidResponseError`.

Every result keeps the payload it was built from in ``raw`` (left out of ``repr`` and equality)
so that models can store it. Secrets the provider might echo (a user's ``password``) are removed
from ``raw`` first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, ClassVar, Generic, Self, TypeVar

__all__ = [
    "AccountStatistics",
    "CampaignStatistics",
    "Contact",
    "Group",
    "Message",
    "MessageAnalysis",
    "MessagePage",
    "SendResult",
    "SmsRequest",
    "Statistics",
    "Template",
    "User",
    "UserStatistics",
    "VoiceMessage",
    "VoiceMessagePage",
    "VoiceSendResult",
    "format_date",
    "format_datetime",
    "id_timestamp",
    "parse_date",
    "parse_datetime",
]

T = TypeVar("T")

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
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date and time")
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


def read_object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a JSON object for {what}, got {type(value).__name__}")
    return value


def read_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a string")
    return str(value)


def read_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ValueError(f"{value!r} is not a whole number")


def read_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
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


def _link_id(value: Any, key: str) -> str | None:
    # ``contact`` and ``repliedToMessage`` are link objects ({"contactId": ...}); accept a bare id.
    if value is None:
        return None
    if isinstance(value, Mapping):
        return read_str(value.get(key))
    return read_str(value)


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmsRequest:
    """One message of a bulk send; ``date_to_send`` must be timezone-aware when given."""

    recipient_number: str
    message: str
    date_to_send: datetime | None = None
    campaign: str | None = None
    data_field: str | None = None

    def to_api(self, tz: tzinfo) -> dict[str, Any]:
        """The ``WebServiceSendSmsRequest`` body; absent options are left out, not sent as null."""
        body: dict[str, Any] = {"recipientNumber": self.recipient_number, "message": self.message}
        if self.date_to_send is not None:
            body["dateToSend"] = format_datetime(self.date_to_send, tz)
        if self.campaign is not None:
            body["campaign"] = self.campaign
        if self.data_field is not None:
            body["dataField"] = self.data_field
        return body


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendResult:
    """The provider's answer for one message: its id, or the reason it was refused."""

    message_id: str | None
    error: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the provider accepted the message (it gave an id and no error)."""
        return bool(self.message_id) and not self.error

    @classmethod
    def from_api(cls, payload: Any) -> SendResult:
        data = read_object(payload, "a send response")
        return cls(
            message_id=read_str(data.get("messageId")), error=read_str(data.get("error")), raw=dict(data)
        )


@dataclass(frozen=True, slots=True)
class Contact:
    """An address-book contact; ``contact_id`` is the provider's opaque string id."""

    contact_id: str | None
    title: str | None
    first_name: str | None
    last_name: str | None
    contact_number: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, payload: Any) -> Contact:
        data = read_object(payload, "a contact")
        return cls(
            contact_id=read_str(data.get("contactId")),
            title=read_str(data.get("title")),
            first_name=read_str(data.get("firstName")),
            last_name=read_str(data.get("lastName")),
            contact_number=read_str(data.get("contactNumber")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Group:
    """A contact group; the API never lists a group's members, only this side knows them."""

    group_id: str | None
    name: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, payload: Any) -> Group:
        data = read_object(payload, "a group")
        return cls(group_id=read_str(data.get("groupId")), name=read_str(data.get("name")), raw=dict(data))


@dataclass(frozen=True, slots=True)
class Template:
    """A message template; unlike other ids, ``template_id`` is an integer."""

    template_id: int | None
    name: str | None
    data: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, payload: Any) -> Template:
        data = read_object(payload, "a template")
        return cls(
            template_id=read_int(data.get("templateId")),
            name=read_str(data.get("name")),
            data=read_str(data.get("data")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Message:
    """An SMS in the account's history, outbound or inbound; datetimes are aware and in UTC.

    ``data_field`` is read from ``userDataField``, the name the message resource uses for what
    requests and webhooks call ``dataField``.
    """

    message_id: str | None
    message_type: str | None
    status: str | None
    from_number: str | None
    to_number: str | None
    message: str | None
    campaign: str | None
    data_field: str | None
    credit_cost: float | None
    number_of_messages: int | None
    scheduled_at: datetime | None
    sent_at: datetime | None
    received_at: datetime | None
    read: bool | None
    deleted: bool | None
    contact_id: str | None
    replied_to_message_id: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, payload: Any, tz: tzinfo) -> Message:
        data = read_object(payload, "a message")
        data_field = data.get("userDataField")
        if data_field is None:
            data_field = data.get("dataField")
        return cls(
            message_id=read_str(data.get("messageId")),
            message_type=read_str(data.get("messageType")),
            status=read_str(data.get("messageStatus")),
            from_number=read_str(data.get("fromNumber")),
            to_number=read_str(data.get("toNumber")),
            message=read_str(data.get("message")),
            campaign=read_str(data.get("campaign")),
            data_field=read_str(data_field),
            credit_cost=read_float(data.get("creditCost")),
            number_of_messages=read_int(data.get("numberOfMessages")),
            scheduled_at=parse_datetime(data.get("dateTimeScheduled"), tz),
            sent_at=parse_datetime(data.get("dateTimeSent"), tz),
            received_at=parse_datetime(data.get("dateTimeReceived"), tz),
            read=read_bool(data.get("read")),
            deleted=read_bool(data.get("deleted")),
            contact_id=_link_id(data.get("contact"), "contactId"),
            replied_to_message_id=_link_id(data.get("repliedToMessage"), "messageId"),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class _Page(Generic[T]):
    """One page of a paged listing; ``page`` counts from 1."""

    elements: int | None
    page: int | None
    page_size: int | None
    total_elements: int | None
    total_pages: int | None
    messages: list[T]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    #: The key holding the page's items, and what the page is called in errors.
    _ITEMS: ClassVar[str]
    _WHAT: ClassVar[str]

    @classmethod
    def _read(cls, payload: Any, tz: tzinfo, item: Callable[[Any, tzinfo], T]) -> Self:
        data = read_object(payload, cls._WHAT)
        if cls._ITEMS not in data:
            raise ValueError(f"{cls._WHAT} has no {cls._ITEMS!r}")
        return cls(
            elements=read_int(data.get("elements")),
            page=read_int(data.get("page")),
            page_size=read_int(data.get("pageSize")),
            total_elements=read_int(data.get("totalElements")),
            total_pages=read_int(data.get("totalPages")),
            messages=[item(m, tz) for m in read_list(data[cls._ITEMS], "messages")],
            raw=dict(data),
        )


class MessagePage(_Page[Message]):
    """One page of ``messages/all``; ``page`` counts from 1."""

    _ITEMS = "webServiceMessages"
    _WHAT = "a page of messages"

    @classmethod
    def from_api(cls, payload: Any, tz: tzinfo) -> MessagePage:
        return cls._read(payload, tz, Message.from_api)


@dataclass(frozen=True, slots=True)
class MessageAnalysis:
    """What the provider says sending a text would take: encoding, length, parts and credits."""

    message_length: int | None
    number_of_messages: int | None
    message_encoding: str | None
    message_credit_cost: float | None
    within_max_length: bool | None
    character_analysis: list[Any]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, payload: Any) -> MessageAnalysis:
        data = read_object(payload, "a message analysis")
        return cls(
            message_length=read_int(data.get("messageLength")),
            number_of_messages=read_int(data.get("numberOfMessages")),
            message_encoding=read_str(data.get("messageEncoding")),
            message_credit_cost=read_float(data.get("messageCreditCost")),
            within_max_length=read_bool(data.get("messageLengthWithinMaximumAllowed")),
            character_analysis=read_list(data.get("characterAnalysis"), "characterAnalysis"),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class User:
    """A user of the account's team (the account itself or a sub-account).

    The provider's user resource has a ``password`` field; it is never kept, not even in ``raw``.
    """

    user_id: int | None
    email_address: str | None
    first_name: str | None
    last_name: str | None
    contact_number: str | None
    company: str | None
    credit_balance: float | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, payload: Any) -> User:
        data = read_object(payload, "a user")
        return cls(
            user_id=read_int(data.get("userId")),
            email_address=read_str(data.get("emailAddress")),
            first_name=read_str(data.get("firstName")),
            last_name=read_str(data.get("lastName")),
            contact_number=read_str(data.get("contactNumber")),
            company=read_str(data.get("company")),
            credit_balance=read_float(data.get("creditBalance")),
            raw={key: value for key, value in data.items() if key != "password"},
        )


@dataclass(frozen=True, slots=True)
class Statistics:
    """Counts by outcome (or credit values, when the report was asked for those)."""

    sent: float | None
    delivered: float | None
    failed: float | None
    failed_refunded: float | None
    failed_optout: float | None
    total: float | None

    @classmethod
    def from_api(cls, payload: Any) -> Statistics | None:
        if payload is None:
            return None
        data = read_object(payload, "statistics")
        return cls(
            sent=read_float(data.get("sent")),
            delivered=read_float(data.get("delivered")),
            failed=read_float(data.get("failed")),
            failed_refunded=read_float(data.get("failedRefunded")),
            failed_optout=read_float(data.get("failedOptout")),
            total=read_float(data.get("total")),
        )


@dataclass(frozen=True, slots=True)
class CampaignStatistics:
    """One campaign's line of a user's statistics."""

    campaign: str | None
    statistics: Statistics | None

    @classmethod
    def from_api(cls, payload: Any) -> CampaignStatistics:
        data = read_object(payload, "campaign statistics")
        statistics = Statistics.from_api(data.get("statistics"))
        return cls(campaign=read_str(data.get("campaign")), statistics=statistics)


@dataclass(frozen=True, slots=True)
class UserStatistics:
    """One user's statistics: the total and a line per campaign."""

    user: User | None
    total: Statistics | None
    campaigns: list[CampaignStatistics]

    @classmethod
    def from_api(cls, payload: Any) -> UserStatistics:
        data = read_object(payload, "user statistics")
        user = data.get("user")
        return cls(
            user=None if user is None else User.from_api(user),
            total=Statistics.from_api(data.get("total")),
            campaigns=[CampaignStatistics.from_api(c) for c in read_list(data.get("campaigns"), "campaigns")],
        )


@dataclass(frozen=True, slots=True)
class AccountStatistics:
    """The statistics report: a grand total and a breakdown per user and campaign."""

    date_from: date | None
    date_to: date | None
    grand_total: Statistics | None
    showing_credit_value: bool | None
    users: list[UserStatistics]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, payload: Any, tz: tzinfo) -> AccountStatistics:
        data = read_object(payload, "a statistics report")
        users = [UserStatistics.from_api(u) for u in read_list(data.get("users"), "users")]
        return cls(
            date_from=parse_date(data.get("from"), tz),
            date_to=parse_date(data.get("to"), tz),
            grand_total=Statistics.from_api(data.get("grandTotal")),
            showing_credit_value=read_bool(data.get("showingCreditValue")),
            users=users,
            raw=_without_passwords(data),
        )


def _without_passwords(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_passwords(v) for k, v in value.items() if k != "password"}
    if isinstance(value, list):
        return [_without_passwords(v) for v in value]
    return value


# --- voice (beta) ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoiceSendResult:
    """The provider's answer to a voice send: the voice message's id, or why it was refused."""

    voice_message_id: str | None
    error: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the provider accepted the call (it gave an id and no error)."""
        return bool(self.voice_message_id) and not self.error

    @classmethod
    def from_api(cls, payload: Any) -> VoiceSendResult:
        data = read_object(payload, "a voice send response")
        return cls(
            voice_message_id=read_str(data.get("voiceMessageId")),
            error=read_str(data.get("error")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class VoiceMessage:
    """A voice message (beta): text read out in ``language``, or an uploaded audio file."""

    voice_message_id: str | None
    status: str | None
    to_number: str | None
    message: str | None
    language: str | None
    audio_file_url: str | None
    campaign: str | None
    data_field: str | None
    sent_at: datetime | None
    deleted: bool | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, payload: Any, tz: tzinfo) -> VoiceMessage:
        data = read_object(payload, "a voice message")
        return cls(
            voice_message_id=read_str(data.get("voiceMessageId")),
            status=read_str(data.get("messageStatus")),
            to_number=read_str(data.get("toNumber")),
            message=read_str(data.get("message")),
            language=read_str(data.get("language")),
            audio_file_url=read_str(data.get("audioFileUrl")),
            campaign=read_str(data.get("campaign")),
            data_field=read_str(data.get("userDataField")),
            sent_at=parse_datetime(data.get("dateTimeSent"), tz),
            deleted=read_bool(data.get("deleted")),
            raw=dict(data),
        )


class VoiceMessagePage(_Page[VoiceMessage]):
    """One page of ``voice/all``; ``page`` counts from 1."""

    _ITEMS = "messages"
    _WHAT = "a page of voice messages"

    @classmethod
    def from_api(cls, payload: Any, tz: tzinfo) -> VoiceMessagePage:
        return cls._read(payload, tz, VoiceMessage.from_api)
