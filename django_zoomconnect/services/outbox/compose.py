"""Composing messages: write the outbox rows of ``send_sms`` and ``send_bulk``, and wake a worker.

Why the row comes first: the database is the source of truth and Celery only wakes workers.
:func:`send_sms` and :func:`send_bulk` validate everything before anything is written (a
:class:`~django_zoomconnect.exceptions.SendError` otherwise; the checks and the plan of a bulk
send are :mod:`.drafts`'), write their rows in the caller's transaction, and wake a worker
(:mod:`.wake`) only once it has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ... import conf, phone
from ...exceptions import (
    ConfigurationError,
    InsufficientCreditError,
    PhoneNumberError,
    SendError,
    ZoomConnectError,
)
from ...models import Batch, Contact, Direction, Group, Message, MessageStatus, Template
from .. import rows as bulk
from ..clients import client_for
from . import wake
from .dispatch import claim_fields
from .drafts import (
    BulkSend,
    Draft,
    Plan,
    Recipient,
    Recipients,
    Resolved,
    check_content,
    check_storable,
    check_text,
    estimated_cost,
    opted_out,
    optional_text,
    plan_bulk,
    refuse_opted_out,
    render,
    resolve_recipients,
    schedule,
)
from .state import eager, is_paused

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


def _message_fields(draft: Draft, costs: dict[int, Decimal] | None = None) -> dict[str, Any]:
    """The fields of a new outbound message that come from its draft (attribute names);
    ``costs`` remembers the estimate of each number of parts across a batch's drafts."""
    info = draft.info
    cost = None
    if info and not draft.rejection:
        costs = {} if costs is None else costs
        if info.parts not in costs:
            costs[info.parts] = estimated_cost(info.parts)
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
    check_content(body, template, context)
    check_storable(to, "to")
    scheduled_at, dispatch_after = schedule(send_at, now)
    campaign_text = optional_text(campaign, "campaign")
    data_field_text = optional_text(data_field, "data_field")
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
    draft = Draft(to=number, body=render(template, body, context, None, contact), contact=contact)
    max_parts = int(conf.get("MAX_PARTS"))
    check_text(draft, max_parts)
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

    # Sent in this process the moment our own transaction commits: the rows are written claimed.
    claimed = _claimed_at_once(alias, dispatch_after) if sendable else {}
    # One transaction (the caller's, or our own): never a half-written batch.
    with transaction.atomic():
        chunk_size = int(conf.get("BULK_CHUNK_SIZE", alias))
        planned = plan_chunks([draft.to for draft in sendable], chunk_size)
        chunk_count = planned[-1] + 1 if planned else 0
        status = (
            Batch.Status.DISPATCHING if claimed else Batch.Status.PENDING if sendable else Batch.Status.DONE
        )
        batch = Batch.objects.create(
            account=alias,
            status=status,
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
        going = {"enqueued_at": now if dispatch_after is None else None, **claimed}
        for draft in plan.drafts:
            chunk = None if draft.rejection else next(chunks)
            row = _message_fields(draft, costs)
            row["chunk"] = chunk
            row["enqueued_at"] = None
            if chunk is not None:
                row.update(going)
            new_rows.append(row)
        bulk.insert(Message, new_rows, now=now, shared=shared)
    if dispatch_after is None:
        claim = {"claim": claimed["claim_token"], "claimed_at": claimed["claimed_at"]} if claimed else {}
        for chunk in range(chunk_count):
            wake.enqueue_chunk(batch.pk, chunk, **claim)
        if eager() and not connection.in_atomic_block:
            batch.refresh_from_db()
    return batch


def _claimed_at_once(account: str, dispatch_after: datetime | None) -> dict[str, Any]:
    """The claim a bulk send's rows are written with, made now, or none (``{}``: written ``QUEUED``).

    A send is claimed as it is written when it is sent in this process the moment the rows
    commit: ``SEND_EAGERLY``, called outside any transaction (the commit is ours, and nothing
    runs between it and the sends), nothing scheduled, the account not paused. A claim of its
    own would write every row a second time, and nothing could come between the two. Should
    the process die before the sends, the sweeper makes the rows ``UNCERTAIN`` after the lease,
    as for any claim, and they are looked up before anything is sent again.
    """
    if dispatch_after is not None or not conf.get("SEND_EAGERLY") or connection.in_atomic_block:
        return {}
    if is_paused(account):
        return {}
    return claim_fields(timezone.now())


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
