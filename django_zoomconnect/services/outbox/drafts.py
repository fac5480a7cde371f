"""Drafts of outbound messages: validation, recipients, rendering and the plan of a bulk send.

Nothing here writes a row: :func:`plan_bulk` turns the arguments of ``send_bulk`` into a
:class:`Plan` (every recipient a :class:`Draft`, the refused ones with their ``rejection``),
which :mod:`.compose` writes and :mod:`.preview` shows. A call that cannot work as a whole is a
:class:`~django_zoomconnect.exceptions.SendError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ... import conf, phone, storable
from ...exceptions import PhoneNumberError, SendError
from ...models import Contact, Group, Template, TemplateContextError
from ...segments import SegmentInfo, analyse
from .. import optouts
from .state import MAX_ERROR

__all__ = [
    "BulkSend",
    "Draft",
    "Plan",
    "Recipient",
    "Recipients",
    "Resolved",
    "opted_out",
    "plan_bulk",
    "refuse_opted_out",
    "resolve_recipients",
]

_FIELD_LIMIT = 255


@dataclass(frozen=True)
class Recipient:
    """One recipient of ``send_bulk`` with its own template context (merged over the shared one)."""

    to: str
    context: Mapping[str, Any] | None = None
    contact: Contact | None = None


def estimated_cost(parts: int) -> Decimal:
    rate = Decimal(str(conf.get("CREDITS_PER_PART")))
    return (rate * parts).quantize(Decimal("0.01"))


@dataclass
class Draft:
    """One message as validated, before its row exists; ``rejection`` says why it cannot be sent."""

    to: str
    body: str = ""
    contact: Contact | None = None
    info: SegmentInfo | None = None
    rejection: str = ""
    #: The rejection is the number's: it is not a phone number at all.
    invalid_number: bool = False


def schedule(send_at: datetime | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """``(scheduled_at, dispatch_after)`` for ``send_at``; a time already past means "send now"."""
    if send_at is None:
        return None, None
    if not isinstance(send_at, datetime):
        raise SendError(f"send_at must be a datetime, not {type(send_at).__name__}.")
    if timezone.is_naive(send_at):
        raise SendError(
            f"send_at must be timezone-aware, not the naive {send_at.isoformat()}: its zone decides "
            "when the message goes out (use django.utils.timezone.now() + timedelta(...), or "
            "datetime(..., tzinfo=...))."
        )
    if send_at <= now or conf.get("SCHEDULING") == "provider":
        return send_at, None
    return send_at, send_at


def check_storable(value: object, name: str) -> None:
    """A ``SendError`` naming ``name`` when a string in ``value`` holds a NUL or a lone surrogate.

    PostgreSQL refuses NUL in text and no driver can encode a lone surrogate: without this the
    call would fail in the database (or, for a template context, in the dispatch) instead.
    """
    found = storable.find_problem(value)
    if found:
        raise SendError(f"{name} must not contain {found}.")


def optional_text(value: str | None, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SendError(f"{name} must be a string, not {type(value).__name__}.")
    if len(value) > _FIELD_LIMIT:
        raise SendError(f"{name} is {len(value)} characters long; at most {_FIELD_LIMIT} are kept.")
    check_storable(value, name)
    return value


def check_content(
    body: str | None, template: Template | None, context: Mapping[str, Any] | None = None
) -> None:
    if body is not None and template is not None:
        raise SendError("Give a body or a template, not both.")
    if body is None and template is None:
        raise SendError("A message needs a body or a template.")
    if body is not None:
        if not isinstance(body, str):
            raise SendError(f"body must be a string, not {type(body).__name__}.")
        if not body.strip():
            raise SendError("The message body is empty.")
        check_storable(body, "body")
    if template is not None and not isinstance(template, Template):
        raise SendError(f"template must be a Template, not {type(template).__name__}.")
    if context is not None:
        if not isinstance(context, Mapping):
            raise SendError(f"context must be a mapping, not {type(context).__name__}.")
        check_storable(context, "context")


def _contact_context(contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {}
    return {
        "title": contact.title,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone_number": contact.phone_number,
    }


def render(
    template: Template | None,
    body: str | None,
    context: Mapping[str, Any] | None,
    own: Mapping[str, Any] | None,
    contact: Contact | None,
) -> str:
    if template is None:
        assert body is not None
        return body
    merged = {**_contact_context(contact), **(context or {}), **(own or {})}
    try:
        return template.render(merged)
    except TemplateContextError as exc:
        raise SendError(str(exc)) from None


def check_text(draft: Draft, max_parts: int) -> None:
    """Fill in the draft's analysis, or its rejection when the text cannot be sent."""
    if not draft.body.strip():
        draft.rejection = "The message body is empty."
        return
    draft.info = analyse(draft.body)
    if draft.info.parts > max_parts:
        draft.rejection = (
            f"The message needs {draft.info.parts} SMS parts ({draft.info.encoding}, "
            f"{draft.info.length} units); at most {max_parts} are allowed (MAX_PARTS)."
        )


def opted_out(numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` opted out, erased numbers' hashed opt-outs included (one query a slice)."""
    return optouts.opted_out(numbers)


def refuse_opted_out(drafts: Iterable[Draft]) -> set[str]:
    """Reject each draft not yet rejected whose number opted out; the numbers that had."""
    drafts = [draft for draft in drafts if not draft.rejection]
    stopped = opted_out(draft.to for draft in drafts)
    for draft in drafts:
        if draft.to in stopped:
            draft.rejection = f"{draft.to} opted out of messages; nothing is sent to it."
    return stopped


#: What ``send_bulk`` accepts as ``recipients``.
Recipients = Iterable[str | tuple[str, Mapping[str, Any]] | Recipient]


def _named_recipients(
    recipients: Recipients | None, group: Group | None, contacts: Iterable[Contact] | None
) -> list[Recipient]:
    raw: list[Recipient] = []
    if recipients is not None:
        if isinstance(recipients, str | bytes):
            raise SendError("recipients must be a list of numbers, not a single string.")
        for index, item in enumerate(recipients):
            if isinstance(item, Recipient):
                raw.append(item)
            elif isinstance(item, str):
                raw.append(Recipient(item))
            elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
                raw.append(Recipient(item[0], item[1]))
            else:
                raise SendError(
                    f"A recipient must be a number, a (number, context) pair or a Recipient, not {item!r}."
                )
            # The number alone, most of the time: one search of a string, not a walk of a tuple.
            recipient = raw[-1]
            if isinstance(recipient.to, str) and storable.problem(recipient.to):
                check_storable(recipient.to, f"recipients[{index}]")
            if recipient.context is not None:
                check_storable(recipient.context, f"recipients[{index}]")
    if contacts is not None:
        for contact in contacts:
            if not isinstance(contact, Contact):
                raise SendError(f"contacts must hold Contact rows, not {type(contact).__name__}.")
            raw.append(Recipient(contact.phone_number, contact=contact))
    if group is not None:
        if not isinstance(group, Group):
            raise SendError(f"group must be a Group, not {type(group).__name__}.")
        for contact in Contact.objects.filter(memberships__group=group).order_by("pk"):
            raw.append(Recipient(contact.phone_number, contact=contact))
    return raw


@dataclass
class Resolved:
    """The recipients of a send: numbers normalised, each with its own context, duplicates dropped."""

    drafts: list[tuple[Draft, Mapping[str, Any] | None]]
    #: Recipients left out because an earlier one has the same number.
    duplicates: int


def resolve_recipients(
    recipients: Recipients | None = None,
    group: Group | None = None,
    contacts: Iterable[Contact] | None = None,
) -> Resolved:
    """Every recipient of ``recipients``, ``contacts`` and ``group`` together, as ``send_bulk``
    takes them: a number given twice is kept once, an invalid number is a rejected draft."""
    drafts: list[tuple[Draft, Mapping[str, Any] | None]] = []
    seen: set[str] = set()
    duplicates = 0
    region = None  # DEFAULT_REGION, read at the first number rather than at each
    for recipient in _named_recipients(recipients, group, contacts):
        try:
            region = region or str(conf.get("DEFAULT_REGION"))
            number = phone.normalize(recipient.to, region=region)
        except PhoneNumberError as exc:
            rejected = Draft(to=str(recipient.to), rejection=str(exc)[:MAX_ERROR], invalid_number=True)
            drafts.append((rejected, recipient.context))
            continue
        if number in seen:
            duplicates += 1
            continue
        seen.add(number)
        drafts.append((Draft(to=number, contact=recipient.contact), recipient.context))
    return Resolved(drafts, duplicates)


@dataclass
class Plan:
    """A bulk send validated and rendered, before any row exists: what ``send_bulk`` writes.

    ``drafts`` holds every recipient in order, the refused ones with their ``rejection``; the
    admin's preview (:mod:`.preview`) shows the same plan without writing it.
    """

    drafts: list[Draft]
    duplicates: int
    opted_out: set[str]
    scheduled_at: datetime | None
    dispatch_after: datetime | None
    campaign: str

    @property
    def sendable(self) -> list[Draft]:
        return [draft for draft in self.drafts if not draft.rejection]

    @property
    def cost(self) -> Decimal:
        """The estimated credits of the sendable messages (``CREDITS_PER_PART`` a part)."""
        return estimated_cost(sum(draft.info.parts for draft in self.sendable if draft.info))

    def check_recipients(self) -> None:
        """:class:`SendError` when there is no recipient, or not one valid number."""
        if not self.drafts:
            raise SendError("send_bulk needs at least one recipient (recipients, contacts or group).")
        if all(draft.invalid_number for draft in self.drafts):
            first = self.drafts[0].rejection
            raise SendError(f"None of the {len(self.drafts)} recipients is a valid number (first: {first}).")


@dataclass(frozen=True)
class BulkSend:
    """The arguments of one ``send_bulk`` call, as :func:`plan_bulk` takes them."""

    recipients: Recipients | None = None
    group: Group | None = None
    contacts: Iterable[Contact] | None = None
    body: str | None = None
    template: Template | None = None
    context: Mapping[str, Any] | None = None
    send_at: datetime | None = None
    campaign: str | None = None
    account: str | None = None

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``send_bulk``."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def plan_bulk(send: BulkSend, *, now: datetime | None = None) -> Plan:
    """Validate and render a bulk send without writing anything (reads contacts and opt-outs).

    Raises :class:`SendError` for a call that cannot work as a whole (see ``send_bulk``);
    a recipient that cannot be sent to is a draft with its ``rejection``. The caller checks
    :meth:`Plan.check_recipients`.
    """
    body, template, context = send.body, send.template, send.context
    check_content(body, template, context)
    scheduled_at, dispatch_after = schedule(send.send_at, now or timezone.now())
    campaign_text = optional_text(send.campaign, "campaign")
    max_parts = int(conf.get("MAX_PARTS"))
    if body is not None:
        probe = Draft(to="", body=body)
        check_text(probe, max_parts)
        if probe.rejection:
            raise SendError(probe.rejection)
    resolved = resolve_recipients(send.recipients, send.group, send.contacts)
    analyses: dict[str, SegmentInfo] = {}
    for draft, own in resolved.drafts:
        if draft.rejection:
            draft.body = body or ""  # kept on the rejected row, for the record
            continue
        draft.body = render(template, body, context, own, draft.contact)
        cached = analyses.get(draft.body)
        if cached is not None:
            draft.info = cached
            if cached.parts > max_parts:
                check_text(draft, max_parts)
        else:
            check_text(draft, max_parts)
            if draft.info is not None:
                analyses[draft.body] = draft.info
    drafts = [draft for draft, _ in resolved.drafts]
    stopped = refuse_opted_out(drafts)
    return Plan(drafts, resolved.duplicates, stopped, scheduled_at, dispatch_after, campaign_text)
