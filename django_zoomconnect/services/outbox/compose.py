"""Composing messages: validate, render and write the outbox rows of ``send_sms`` and ``send_bulk``.

Why the row comes first: the database is the source of truth and Celery only wakes workers.
:func:`send_sms` and :func:`send_bulk` validate everything before anything is written (a
:class:`~django_zoomconnect.exceptions.SendError` otherwise), write their rows in the caller's
transaction, and wake a worker (:mod:`.wake`) only once it has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ... import conf, phone, storable
from ...exceptions import (
    ConfigurationError,
    InsufficientCreditError,
    PhoneNumberError,
    SendError,
    ZoomConnectError,
)
from ...models import (
    Batch,
    Contact,
    Direction,
    Group,
    Message,
    MessageStatus,
    Template,
    TemplateContextError,
)
from ...segments import SegmentInfo, analyse
from .. import optouts
from .. import rows as bulk
from ..clients import client_for
from . import wake
from .state import MAX_ERROR, eager

__all__ = [
    "BulkSend",
    "Draft",
    "Plan",
    "Recipient",
    "Resolved",
    "opted_out",
    "plan_bulk",
    "plan_chunks",
    "refuse_opted_out",
    "resolve_recipients",
    "send_bulk",
    "send_sms",
]

logger = logging.getLogger("django_zoomconnect.services.outbox")

_FIELD_LIMIT = 255


@dataclass(frozen=True)
class Recipient:
    """One recipient of :func:`send_bulk` with its own template context (merged over the shared one)."""

    to: str
    context: Mapping[str, Any] | None = None
    contact: Contact | None = None


def _estimated_cost(parts: int) -> Decimal:
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


def _schedule(send_at: datetime | None, now: datetime) -> tuple[datetime | None, datetime | None]:
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


def _check_storable(value: object, name: str) -> None:
    """A ``SendError`` naming ``name`` when a string in ``value`` holds a NUL or a lone surrogate.

    PostgreSQL refuses NUL in text and no driver can encode a lone surrogate: without this the
    call would fail in the database (or, for a template context, in the dispatch) instead.
    """
    found = storable.find_problem(value)
    if found:
        raise SendError(f"{name} must not contain {found}.")


def _optional_text(value: str | None, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SendError(f"{name} must be a string, not {type(value).__name__}.")
    if len(value) > _FIELD_LIMIT:
        raise SendError(f"{name} is {len(value)} characters long; at most {_FIELD_LIMIT} are kept.")
    _check_storable(value, name)
    return value


def _check_content(
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
        _check_storable(body, "body")
    if template is not None and not isinstance(template, Template):
        raise SendError(f"template must be a Template, not {type(template).__name__}.")
    if context is not None:
        if not isinstance(context, Mapping):
            raise SendError(f"context must be a mapping, not {type(context).__name__}.")
        _check_storable(context, "context")


def _contact_context(contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {}
    return {
        "title": contact.title,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone_number": contact.phone_number,
    }


def _render(
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


def _check_text(draft: Draft, max_parts: int) -> None:
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


def _message_fields(draft: Draft, costs: dict[int, Decimal] | None = None) -> dict[str, Any]:
    """The fields of a new outbound message that come from its draft (attribute names);
    ``costs`` remembers the estimate of each number of parts across a batch's drafts."""
    info = draft.info
    cost = None
    if info and not draft.rejection:
        costs = {} if costs is None else costs
        if info.parts not in costs:
            costs[info.parts] = _estimated_cost(info.parts)
        cost = costs[info.parts]
    return {
        "direction": Direction.OUTBOUND,
        "to_number": draft.to[:64],
        "body": draft.body,
        "contact_id": draft.contact.pk if draft.contact is not None else None,
        "status": MessageStatus.REJECTED if draft.rejection else MessageStatus.QUEUED,
        "last_error": draft.rejection,
        "encoding": info.encoding if info else "",
        "parts": info.parts if info else None,
        "credit_cost": cost,
    }


def send_sms(
    to: str | None,
    body: str | None = None,
    *,
    send_at: datetime | None = None,
    campaign: str | None = None,
    data_field: str | None = None,
    template: Template | None = None,
    context: Mapping[str, Any] | None = None,
    contact: Contact | None = None,
    account: str | None = None,
) -> Message:
    """Queue one SMS and return its :class:`~django_zoomconnect.models.Message` row.

    ``account`` is the alias of the account that sends it (``ZOOMCONNECT["ACCOUNTS"]``); without
    it, ``contact``'s account, else the ``ACCOUNT_ROUTER``'s choice, else ``"default"``.

    ``to`` is normalised to E.164 (``to=None`` sends to ``contact``'s number). Give ``body`` or
    ``template`` (rendered with ``context`` over the contact's ``title``, ``first_name``,
    ``last_name`` and ``phone_number``), not both. ``send_at`` must be timezone-aware; a time
    already past sends now. ``data_field`` replaces the message's unique reference on the wire.

    Raises :class:`SendError` (nothing written) for bad input. A number that opted out gives a
    row with status ``REJECTED`` and the reason in ``last_error``; nothing is sent to it.
    The row is written in the caller's transaction and a worker is woken once it commits.
    """
    now = timezone.now()
    if to is None:
        if contact is None:
            raise SendError("Give a recipient number, or a contact.")
        to = contact.phone_number
    if contact is not None and not isinstance(contact, Contact):
        raise SendError(f"contact must be a Contact, not {type(contact).__name__}.")
    _check_content(body, template, context)
    _check_storable(to, "to")
    scheduled_at, dispatch_after = _schedule(send_at, now)
    campaign_text = _optional_text(campaign, "campaign")
    data_field_text = _optional_text(data_field, "data_field")
    try:
        number = phone.normalize(to)
    except PhoneNumberError as exc:
        raise SendError(str(exc)) from None
    alias = _account_of(
        account,
        contact,
        kind="sms",
        recipients=[number],
        campaign=campaign_text,
        contact=contact,
        template=template,
        data_field=data_field_text,
        send_at=send_at,
    )
    draft = Draft(to=number, body=_render(template, body, context, None, contact), contact=contact)
    max_parts = int(conf.get("MAX_PARTS"))
    _check_text(draft, max_parts)
    if draft.rejection:
        raise SendError(draft.rejection)
    if opted_out([number]):
        draft.rejection = f"{number} opted out of messages; nothing is sent to it."
    message = Message(
        **_message_fields(draft),
        account=alias,
        campaign=campaign_text,
        data_field=data_field_text,
        template=template,
        scheduled_at=scheduled_at,
        dispatch_after=dispatch_after,
        enqueued_at=now if dispatch_after is None else None,
    )
    message.save(force_insert=True)
    if message.status == MessageStatus.QUEUED and dispatch_after is None:
        wake.enqueue_message(message.pk)
        if eager() and not connection.in_atomic_block:
            message.refresh_from_db()
    return message


def _account_of(account: str | None, owner: Contact | Group | None, **context: Any) -> str:
    """The account of a send: the caller's, else the contact's or group's, else the router's."""
    if account is None and owner is not None and isinstance(owner, Contact | Group):
        account = owner.account
    alias = conf.route_account(account, **context)
    if owner is not None and isinstance(owner, Contact | Group) and owner.account != alias:
        kind = type(owner).__name__.lower()
        raise SendError(f"The {kind} {owner} belongs to the account {owner.account!r}, not {alias!r}.")
    return alias


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
            _check_storable((raw[-1].to, raw[-1].context), f"recipients[{index}]")
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
    """Every recipient of ``recipients``, ``contacts`` and ``group`` together, as :func:`send_bulk`
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
    """A bulk send validated and rendered, before any row exists: what :func:`send_bulk` writes.

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
        return _estimated_cost(sum(draft.info.parts for draft in self.sendable if draft.info))

    def check_recipients(self) -> None:
        """:class:`SendError` when there is no recipient, or not one valid number."""
        if not self.drafts:
            raise SendError("send_bulk needs at least one recipient (recipients, contacts or group).")
        if all(draft.invalid_number for draft in self.drafts):
            first = self.drafts[0].rejection
            raise SendError(f"None of the {len(self.drafts)} recipients is a valid number (first: {first}).")


@dataclass(frozen=True)
class BulkSend:
    """The arguments of one :func:`send_bulk` call, as :func:`plan_bulk` takes them."""

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
        """The keyword arguments of :func:`send_bulk`."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


def plan_bulk(send: BulkSend, *, now: datetime | None = None) -> Plan:
    """Validate and render a bulk send without writing anything (reads contacts and opt-outs).

    Raises :class:`SendError` for a call that cannot work as a whole (see :func:`send_bulk`);
    a recipient that cannot be sent to is a draft with its ``rejection``. The caller checks
    :meth:`Plan.check_recipients`.
    """
    body, template, context = send.body, send.template, send.context
    _check_content(body, template, context)
    scheduled_at, dispatch_after = _schedule(send.send_at, now or timezone.now())
    campaign_text = _optional_text(send.campaign, "campaign")
    max_parts = int(conf.get("MAX_PARTS"))
    if body is not None:
        probe = Draft(to="", body=body)
        _check_text(probe, max_parts)
        if probe.rejection:
            raise SendError(probe.rejection)
    resolved = resolve_recipients(send.recipients, send.group, send.contacts)
    analyses: dict[str, SegmentInfo] = {}
    for draft, own in resolved.drafts:
        if draft.rejection:
            draft.body = body or ""  # kept on the rejected row, for the record
            continue
        draft.body = _render(template, body, context, own, draft.contact)
        cached = analyses.get(draft.body)
        if cached is not None:
            draft.info = cached
            if cached.parts > max_parts:
                _check_text(draft, max_parts)
        else:
            _check_text(draft, max_parts)
            if draft.info is not None:
                analyses[draft.body] = draft.info
    drafts = [draft for draft, _ in resolved.drafts]
    stopped = refuse_opted_out(drafts)
    return Plan(drafts, resolved.duplicates, stopped, scheduled_at, dispatch_after, campaign_text)


def send_bulk(
    *,
    recipients: Recipients | None = None,
    group: Group | None = None,
    contacts: Iterable[Contact] | None = None,
    body: str | None = None,
    template: Template | None = None,
    context: Mapping[str, Any] | None = None,
    send_at: datetime | None = None,
    campaign: str | None = None,
    account: str | None = None,
) -> Batch:
    """Queue one message per recipient as a :class:`~django_zoomconnect.models.Batch`.

    Recipients come from ``recipients`` (numbers, ``(number, context)`` pairs or
    :class:`Recipient`), ``contacts`` and the members of ``group``, together; a number given twice
    is sent once. With a ``template`` each message is rendered from ``context``, over the
    recipient's own context, over its contact's fields.

    Everything is validated before anything is written. A call that cannot work raises
    :class:`SendError` (no recipients, none valid, body and template, an empty or too long body,
    a template placeholder without a value, a naive ``send_at``). A recipient that cannot be
    sent to gets a ``REJECTED`` row with the reason in ``last_error`` (an invalid number, an
    opted-out number, a rendered text that is empty or too long) and the others still go:
    ``batch.messages.filter(status="REJECTED")`` lists them.

    With ``BALANCE_CHECK`` ``"refuse"`` (or ``"warn"``) the balance is read first, and an
    estimated cost above it raises :class:`InsufficientCreditError` (or logs a warning).
    Rows are written in bulk in the caller's transaction; one task per chunk of
    ``BULK_CHUNK_SIZE`` is enqueued once it commits.

    ``account`` is the alias of the account that sends the whole batch (its chunks never mix
    accounts); without it, ``group``'s account, else the ``ACCOUNT_ROUTER``'s choice, else
    ``"default"``.
    """
    now = timezone.now()
    send = BulkSend(recipients, group, contacts, body, template, context, send_at, campaign, account)
    plan = plan_bulk(send, now=now)
    plan.check_recipients()
    sendable = plan.sendable
    alias = _account_of(
        account,
        group,
        kind="bulk",
        recipients=[draft.to for draft in sendable],
        campaign=plan.campaign,
        group=group,
        template=template,
        send_at=send_at,
    )
    cost = plan.cost
    scheduled_at, dispatch_after = plan.scheduled_at, plan.dispatch_after
    _check_balance_for(cost, len(sendable), alias)

    # One transaction (the caller's, or our own): never a half-written batch.
    with transaction.atomic():
        chunk_size = int(conf.get("BULK_CHUNK_SIZE", alias))
        planned = plan_chunks([draft.to for draft in sendable], chunk_size)
        chunk_count = planned[-1] + 1 if planned else 0
        batch = Batch.objects.create(
            account=alias,
            status=Batch.Status.PENDING if sendable else Batch.Status.DONE,
            campaign=plan.campaign,
            template=template,
            group=group,
            send_at=scheduled_at,
            chunk_size=chunk_size,
            chunk_count=chunk_count,
            messages_per_minute=conf.get("MESSAGES_PER_MINUTE", alias),
            estimated_cost=cost,
            finished_at=None if sendable else now,
        )
        new_rows = []
        chunks = iter(planned)
        shared = {
            "account": alias,
            "campaign": plan.campaign,
            "template_id": template.pk if template is not None else None,
            "batch_id": batch.pk,
            "scheduled_at": scheduled_at,
            "dispatch_after": dispatch_after,
        }
        costs: dict[int, Decimal] = {}
        for draft in plan.drafts:
            chunk = None if draft.rejection else next(chunks)
            new_rows.append(
                {
                    **_message_fields(draft, costs),
                    **shared,
                    "chunk": chunk,
                    "enqueued_at": now if dispatch_after is None and chunk is not None else None,
                }
            )
        bulk.insert(Message, new_rows, now=now)
    if dispatch_after is None:
        for chunk in range(chunk_count):
            wake.enqueue_chunk(batch.pk, chunk)
        if eager() and not connection.in_atomic_block:
            batch.refresh_from_db()
    return batch


def plan_chunks(numbers: Sequence[str], size: int) -> list[int]:
    """The chunk of each sendable message, in order: one ``sms/send-bulk`` call per chunk.

    Pure, so that a rule about how messages are grouped into calls lives here alone (today:
    ``size`` messages per chunk, in the order given). ``numbers`` are the recipients.
    """
    if size < 1:
        raise ValueError(f"a chunk holds at least one message, not {size}")
    return [index // size for index in range(len(numbers))]


def _check_balance_for(cost: Decimal, count: int, account: str) -> None:
    mode = conf.get("BALANCE_CHECK", account)
    if mode == "off" or not count:
        return
    try:
        with client_for(account=account) as api:
            balance = api.get_balance()
    except (ConfigurationError, ZoomConnectError) as exc:
        logger.warning("Could not read the balance before a bulk send (%s); sending anyway.", exc)
        return
    if cost <= Decimal(str(balance)):
        return
    text = (
        f"The bulk send of {count} messages is estimated to cost {cost} credits; the balance is {balance:g}."
    )
    if mode == "refuse":
        raise InsufficientCreditError(text + " Nothing was queued.", estimated_cost=cost, balance=balance)
    logger.warning("%s Queued anyway (BALANCE_CHECK='warn').", text)
