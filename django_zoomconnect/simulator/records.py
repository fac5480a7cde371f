"""What the simulated account holds: its records, their statuses, and the rules for numbers and texts.

Apart from :mod:`.state` (the account and its clock-driven life) so that the handlers and the
tests can name a record, a status or a magic number without the machinery that moves them.
Numbers and texts are read through caches, because bulk sends repeat them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import phonenumbers

from ..segments import SegmentInfo, analyse
from .errors import ApiError, invalid_number

# --- statuses and magic numbers ------------------------------------------------------------------

SCHEDULED = "SCHEDULED"
UNKNOWN = "UNKNOWN"
SENT = "SENT"
DELIVERED = "DELIVERED"
FAILED = "FAILED"
FAILED_REFUNDED = "FAILED_REFUNDED"
FAILED_OPTOUT = "FAILED_OPTOUT"
#: The status of inbound messages (from the provider's older spec; the current one has none).
RECEIVED = "RECEIVED"
STATUSES = (SCHEDULED, UNKNOWN, SENT, FAILED, FAILED_REFUNDED, FAILED_OPTOUT, DELIVERED, RECEIVED)
FINAL_STATUSES = frozenset({DELIVERED, FAILED, FAILED_REFUNDED, FAILED_OPTOUT})

OUTBOUND = "OUTBOUND"
INBOUND = "INBOUND"

MAGIC_FAILED = "+27600000001"
MAGIC_FAILED_REFUNDED = "+27600000002"
MAGIC_FAILED_OPTOUT = "+27600000003"
MAGIC_NO_REPORT = "+27600000004"
MAGIC_INVALID = "+27600000005"
MAGIC_REPLIES = "+27600000006"

#: What each magic number does; every other valid number is delivered.
MAGIC_NUMBERS: dict[str, str] = {
    MAGIC_FAILED: "FAILED",
    MAGIC_FAILED_REFUNDED: "FAILED_REFUNDED (the credit is refunded)",
    MAGIC_FAILED_OPTOUT: "FAILED_OPTOUT",
    MAGIC_NO_REPORT: "SENT, and never a delivery report",
    MAGIC_INVALID: "refused at send time: 400, code 2 (invalid mobile number)",
    MAGIC_REPLIES: "DELIVERED, then replies 'Reply to: <text>'",
}
MAGIC_OUTCOMES: dict[str, str | None] = {
    MAGIC_FAILED: FAILED,
    MAGIC_FAILED_REFUNDED: FAILED_REFUNDED,
    MAGIC_FAILED_OPTOUT: FAILED_OPTOUT,
    MAGIC_NO_REPORT: None,
}

#: The number outbound messages come from and inbound messages are sent to, unless told otherwise.
SENDER_NUMBER = "+27870000000"
#: The longest message accepted, in parts (918 GSM-7 septets or 402 UCS-2 units).
MAX_PARTS = 6
REPLY_PREFIX = "Reply to: "


# --- numbers and texts, cached because bulk sends repeat them -----------------------------------

_CACHE_LIMIT = 200_000
_number_cache: dict[str, str | None] = {}
_za_prefix_cache: dict[str, bool] = {}
_analysis_cache: dict[str, SegmentInfo] = {}


def normalize_number(number: object) -> str | None:
    """E.164 for a valid number (``+27…``, ``27…`` and ``0…`` forms, region ZA), else ``None``."""
    if not isinstance(number, str):
        return None
    try:
        return _number_cache[number]
    except KeyError:
        pass
    national = _za_national(number)
    if national is not None:
        # South African numbers have nine digits, and the validity patterns of every number type
        # in phonenumbers' ZA metadata end in at least three free digits: the first seven digits
        # decide. So ask phonenumbers once per prefix, not once per number.
        prefix = national[:7]
        valid = _za_prefix_cache.get(prefix)
        if valid is None:
            valid = _parse(number) is not None
            _za_prefix_cache[prefix] = valid
        result: str | None = "+27" + national if valid else None
    else:
        result = _parse(number)
    if len(_number_cache) >= _CACHE_LIMIT:
        _number_cache.clear()
    _number_cache[number] = result
    return result


def valid_number(number: object) -> str:
    """E.164 for a valid number, else the provider's refusal (code 2)."""
    normalized = normalize_number(number)
    if normalized is None:
        raise invalid_number(number)
    return normalized


def _za_national(number: str) -> str | None:
    """The nine national digits of ``+27…``, ``27…`` or ``0…`` written without separators."""
    if len(number) == 12 and number.startswith("+27"):
        digits = number[3:]
    elif len(number) == 11 and number.startswith("27"):
        digits = number[2:]
    elif len(number) == 10 and number.startswith("0"):
        digits = number[1:]
    else:
        return None
    return digits if digits.isascii() and digits.isdigit() and digits[0] != "0" else None


def _parse(number: str) -> str | None:
    text = number.strip()
    if not text or len(text) > 32:
        return None
    try:
        parsed = phonenumbers.parse(text, "ZA")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def analyse_text(text: str) -> SegmentInfo:
    """:func:`segments.analyse`, cached: a bulk send usually repeats one text many times."""
    try:
        return _analysis_cache[text]
    except KeyError:
        pass
    info = analyse(text)
    if len(_analysis_cache) >= _CACHE_LIMIT:
        _analysis_cache.clear()
    _analysis_cache[text] = info
    return info


def parse_date_to_send(value: object, tz: ZoneInfo) -> datetime | None:
    """``yyyyMMddHHmm`` in the account's time zone, as aware UTC; empty means "now"."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) != 12 or not value.isdigit():
        raise ApiError(
            400,
            "Invalid date to send",
            developer_message=f"dateToSend must be yyyyMMddHHmm, not {value!r}",
        )
    try:
        local = datetime.strptime(value, "%Y%m%d%H%M")
    except ValueError:
        raise ApiError(
            400, "Invalid date to send", developer_message=f"{value!r} is not a real date and time"
        ) from None
    return local.replace(tzinfo=tz).astimezone(UTC)


# --- records -------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class Message:
    """One message, outbound or inbound. Read it freely; only the simulator changes it."""

    message_id: str
    message_type: str
    status: str
    from_number: str | None
    to_number: str | None
    message: str
    campaign: str | None
    data_field: str | None
    credit_cost: float
    number_of_messages: int
    created_at: datetime
    scheduled_at: datetime | None = None
    sent_at: datetime | None = None
    received_at: datetime | None = None
    final_at: datetime | None = None
    read: bool = False
    deleted: bool = False
    contact_id: str | None = None
    replied_to_message_id: str | None = None
    #: The final status planned for an outbound message (None: it stays SENT, no report).
    outcome: str | None = DELIVERED
    replies: bool = False


@dataclass(slots=True)
class Contact:
    contact_id: str
    contact_number: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(slots=True)
class Group:
    group_id: str
    name: str
    members: set[str] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class VoiceMessage:
    """One voice message (the provider's beta voice API): text read out, or an uploaded file."""

    voice_message_id: str
    to_number: str
    message: str | None
    language: str | None
    campaign: str | None
    data_field: str | None
    audio_file_url: str | None
    credit_cost: float
    created_at: datetime
    status: str = SCHEDULED
    sent_at: datetime | None = None
    deleted: bool = False
    outcome: str | None = DELIVERED


@dataclass(slots=True)
class Template:
    template_id: int
    name: str
    data: str


@dataclass(slots=True)
class User:
    user_id: int
    email_address: str
    first_name: str | None = None
    last_name: str | None = None
    contact_number: str | None = None
    company: str | None = None
    credit_balance: float = 0.0
    password: str | None = field(default=None, repr=False)


SEED_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("Welcome", "Welcome! Thanks for joining us."),
    ("Appointment reminder", "Reminder: you have an appointment tomorrow. Reply YES to confirm."),
    ("One-time PIN", "Your one-time PIN is 0000. It expires in 5 minutes."),
)
