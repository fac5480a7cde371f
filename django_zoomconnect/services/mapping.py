"""The row ↔ wire mapping of each mirrored model, one place per model.

What a pull stores from the API's objects, and what a push or a send puts on the wire. A new
field of a contact, group, template or message is mapped here and nowhere else; the pull, the
push and the outbox only decide *when* to map.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.db import models

from .. import conf, phone
from ..exceptions import PhoneNumberError
from ..models import PULLED_STATUSES, Contact, Direction, Group, Message, MessageStatus, Template
from ..wire import Contact as RemoteContact
from ..wire import Group as RemoteGroup
from ..wire import Message as RemoteMessage
from ..wire import SmsRequest
from ..wire import Template as RemoteTemplate

__all__ = [
    "Numbers",
    "contact_body",
    "contact_fields",
    "group_fields",
    "message_fields",
    "message_status",
    "sms_request",
    "template_fields",
    "text",
    "wire_data_field",
    "wire_number",
]

_MAX_PARTS = 32767
_MAX_CREDITS = Decimal("99999999.99")


def text(value: str | None, model: type[models.Model], name: str) -> str:
    """A remote string as the model stores it: ``""`` for none, cut to the column's length."""
    if not value:
        return ""
    max_length = getattr(model._meta.get_field(name), "max_length", None)
    return value[:max_length] if max_length else value


class Numbers:
    """E.164 for valid numbers, the text as given otherwise (sender ids, opaque ids), cached:
    a page of messages repeats the same few numbers, and a pull's contacts taught it most."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, value: str | None) -> str:
        if not value:
            return ""
        try:
            return self._cache[value]
        except KeyError:
            pass
        try:
            result = phone.normalize(value)
        except PhoneNumberError:
            result = value.strip()[:64]
        self._cache[value] = result
        return result

    def learn(self, value: str, normalized: str) -> None:
        self._cache[value] = normalized

    def stored(self, value: str) -> None:
        """A number as stored: E.164 ones were normalised when stored, no need to parse them."""
        if value.startswith("+"):
            self._cache.setdefault(value, value)


# --- groups --------------------------------------------------------------------------------------


def group_fields(item: RemoteGroup) -> dict[str, Any]:
    return {"name": text(item.name, Group, "name")}


# --- templates -----------------------------------------------------------------------------------


def template_fields(item: RemoteTemplate) -> dict[str, Any]:
    return {"name": text(item.name, Template, "name"), "body": item.data or ""}


# --- contacts ------------------------------------------------------------------------------------


def contact_fields(item: RemoteContact, number: str) -> dict[str, Any]:
    """A listed contact as model fields; ``number`` is its number, already normalised."""
    return {
        "phone_number": number,
        "title": text(item.title, Contact, "title"),
        "first_name": text(item.first_name, Contact, "first_name"),
        "last_name": text(item.last_name, Contact, "last_name"),
    }


def contact_body(contact: Contact) -> dict[str, str]:
    """A contact as the client's ``create_contact``/``update_contact`` arguments."""
    return {
        "contact_number": phone.to_wire(contact.phone_number),
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "title": contact.title,
    }


# --- messages ------------------------------------------------------------------------------------


def message_status(value: str | None, direction: str) -> str:
    """A listed status as stored: anything the provider might invent becomes ``UNKNOWN``."""
    if not value:
        return MessageStatus.RECEIVED if direction == Direction.INBOUND else MessageStatus.UNKNOWN
    status = value.strip().upper()
    return status if status in PULLED_STATUSES else MessageStatus.UNKNOWN


def _credits(value: float | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return amount if abs(amount) <= _MAX_CREDITS else None


def message_fields(item: RemoteMessage, numbers: Callable[[str | None], str]) -> dict[str, Any]:
    """A listed message as model fields, leaving out what the account did not say."""
    parts = item.number_of_messages
    values: dict[str, Any] = {
        "from_number": numbers(item.from_number),
        "to_number": numbers(item.to_number),
        "body": item.message or "",
        "campaign": text(item.campaign, Message, "campaign"),
        "data_field": text(item.data_field, Message, "data_field"),
        "scheduled_at": item.scheduled_at,
        "sent_at": item.sent_at,
        "received_at": item.received_at,
        "parts": parts if parts is not None and 0 <= parts <= _MAX_PARTS else None,
        "credit_cost": _credits(item.credit_cost),
        "read": item.read,
    }
    return {name: value for name, value in values.items() if value is not None and value != ""}


class Outbound(Protocol):
    """What a send reads of an outbound message: a row, or the outbox's lighter copy of one."""

    @property
    def to_number(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def campaign(self) -> str: ...
    @property
    def data_field(self) -> str: ...
    @property
    def reference(self) -> str: ...


def wire_number(number: str, fmt: str | None = None) -> str:
    """``recipientNumber`` for a stored E.164 number, per ``PHONE_NUMBER_FORMAT``."""
    fmt = str(conf.get("PHONE_NUMBER_FORMAT")) if fmt is None else fmt
    if fmt == "e164":
        return number
    if fmt == "digits":
        return number.lstrip("+")
    return phone.to_wire(number, fmt=fmt)


def wire_data_field(message: Outbound) -> str:
    """The ``dataField`` a message is sent with: the caller's own, else its unique reference."""
    return message.data_field or message.reference


def sms_request(message: Outbound, *, date_to_send: datetime | None, number_format: str) -> SmsRequest:
    """One outbound message as an item of ``sms/send`` or ``sms/send-bulk``."""
    return SmsRequest(
        recipient_number=wire_number(message.to_number, number_format),
        message=message.body,
        date_to_send=date_to_send,
        campaign=message.campaign or None,
        data_field=wire_data_field(message),
    )
