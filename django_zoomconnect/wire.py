"""Typed results and inputs of the REST client, read by the rules of :mod:`.wire_formats`.

The provider's documents give field names but not always types or date formats, so every
``from_api`` constructor is lenient in what it reads: unknown fields are ignored, missing ones
become ``None``, numbers may arrive as strings, and dates may arrive in any of the formats
:func:`~.wire_formats.parse_datetime` knows (the date helpers stay importable from here).
Anything that still cannot be read raises ``ValueError``; the client turns that into
:class:`~django_zoomconnect.exceptions.InvalidResponseError`.

Every result keeps the payload it was built from in ``raw`` (left out of ``repr`` and equality)
so that models can store it. Secrets the provider might echo (a user's ``password``) are removed
from ``raw`` first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, ClassVar, Generic, Self, TypeVar

from .wire_formats import (
    format_date,
    format_datetime,
    id_timestamp,
    parse_date,
    parse_datetime,
    read_bool,
    read_float,
    read_int,
    read_list,
    read_object,
    read_str,
)

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
        raw = data if type(data) is dict else dict(data)  # a decoded answer is ours already
        return cls(message_id=read_str(data.get("messageId")), error=read_str(data.get("error")), raw=raw)


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
