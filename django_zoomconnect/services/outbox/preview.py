"""An operator's send, previewed with nothing written, then sent all or nothing (the admin's form).

:func:`preview` plans the send with :func:`~.drafts.plan_bulk`, the very validation, recipient
resolution and rendering that ``send_bulk`` uses, and says what it would do: the text the first
recipient reads, its encoding and parts, the characters that force UCS-2, the recipients left
after duplicates and opt-outs, the estimated credits against the balance, and every refusal.
:func:`send_checked` sends only what the preview refuses nothing of: a person at a form would
rather fix a number than have a batch go out with holes in it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.core.cache import cache
from django.utils import timezone

from ... import conf
from ...exceptions import ConfigurationError, SendError, SendRefused, ZoomConnectError
from ...models import Batch, Contact, Group, Message, Template
from ...segments import SegmentInfo, analyse, ucs2_characters
from .compose import send_bulk, send_sms
from .control import check_balance
from .drafts import BulkSend, Plan, plan_bulk, refuse_opted_out, resolve_recipients

__all__ = [
    "BALANCE_MAX_AGE",
    "BalanceReading",
    "Preview",
    "Refusal",
    "SendRequest",
    "preview",
    "read_balance",
    "send_checked",
]

#: Seconds a balance read stays good: the preview asks the provider at most once a minute.
BALANCE_MAX_AGE = 60


class Refusal(NamedTuple):
    """Why a send is refused: ``recipient`` is a number as given, or ``""`` for the send as a whole."""

    recipient: str
    reason: str


@dataclass(frozen=True)
class BalanceReading:
    """The account's balance as last read; ``balance`` is ``None`` and ``error`` says why when it failed."""

    balance: float | None
    read_at: datetime
    error: str = ""


def _balance_key(account: str | None = None) -> str:
    identity = f"{conf.get('BASE_URL', account)}|{conf.get('EMAIL', account)}"
    return "django_zoomconnect:balance:" + hashlib.sha256(identity.encode()).hexdigest()[:16]


def read_balance(account: str | None = None) -> BalanceReading:
    """The balance through :func:`~.control.check_balance`, read at most once per
    :data:`BALANCE_MAX_AGE` seconds for each account (in Django's default cache); a failed read
    is kept as long, so that a preview typed into never waits on a broken connection twice."""
    now = timezone.now()
    try:
        key = _balance_key(account)
    except ConfigurationError as exc:
        return BalanceReading(None, now, str(exc))
    reading = cache.get(key)
    if not isinstance(reading, BalanceReading):
        try:
            reading = BalanceReading(check_balance(account=account), now)
        except (ConfigurationError, ZoomConnectError) as exc:
            reading = BalanceReading(None, now, str(exc))
        cache.set(key, reading, BALANCE_MAX_AGE)
    return reading


@dataclass(frozen=True)
class SendRequest:
    """What an operator asked to send: numbers, contacts and groups together; a body or a template."""

    numbers: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    groups: tuple[Group, ...] = ()
    body: str | None = None
    template: Template | None = None
    campaign: str = ""
    send_at: datetime | None = None
    #: The alias of the account that sends it (``None``: the services choose, see ``send_sms``).
    account: str | None = None

    @property
    def single(self) -> bool:
        """One number or one contact and no group: one ``send_sms``, not a batch."""
        return not self.groups and len(self.numbers) + len(self.contacts) == 1

    def bulk(self) -> BulkSend:
        """The same send as ``send_bulk``'s arguments. A batch names one group: with several,
        their members are its contacts (a number in two groups is still sent once)."""
        group = self.groups[0] if len(self.groups) == 1 else None
        contacts = list(self.contacts)
        if len(self.groups) > 1:
            members = Contact.objects.filter(memberships__group__in=self.groups).distinct().order_by("pk")
            contacts.extend(members)
        return BulkSend(
            recipients=list(self.numbers),
            group=group,
            contacts=contacts,
            body=self.body,
            template=self.template,
            send_at=self.send_at,
            campaign=self.campaign,
            account=self.account,
        )


@dataclass(frozen=True)
class Preview:
    """What a send would do, with nothing written."""

    #: What the first recipient would read (the body or the template as written, failing that).
    text: str
    info: SegmentInfo
    #: The characters of ``text`` that make it UCS-2, once each.
    ucs2_characters: list[str]
    #: Recipients named: numbers, contacts and group members, duplicates included.
    named: int
    duplicates: int
    opted_out: int
    #: Recipients refused, the opted-out ones included.
    refused: int
    #: Messages that would be sent.
    recipients: int
    first_recipient: str
    estimated_cost: Decimal
    #: ``None`` when ``BALANCE_CHECK`` is ``"off"``: then the balance is not asked for.
    balance: BalanceReading | None
    #: When it would be sent; ``None`` is now.
    send_at: datetime | None
    #: Sent with one ``send_sms`` rather than as a batch.
    single: bool
    refusals: list[Refusal]

    @property
    def can_send(self) -> bool:
        return not self.refusals


def _recipients_alone(send: BulkSend, refusals: list[Refusal]) -> Plan:
    """The recipients without the text, for the counts, when the send cannot be planned whole."""
    try:
        resolved = resolve_recipients(send.recipients, send.group, send.contacts)
    except SendError as exc:
        refusals.append(Refusal("", str(exc)))
        return Plan([], 0, set(), None, None, "")
    drafts = [draft for draft, _ in resolved.drafts]
    return Plan(drafts, resolved.duplicates, refuse_opted_out(drafts), None, None, "")


def _first_text(request: SendRequest, plan: Plan) -> str:
    rendered = next((draft.body for draft in plan.drafts if draft.info is not None), None)
    if rendered is not None:
        return rendered
    if request.body is not None or request.template is None:
        return request.body or ""
    return request.template.body


def _balance_refusal(
    cost: Decimal, sendable: int, account: str | None = None
) -> tuple[BalanceReading | None, Refusal | None]:
    if conf.get("BALANCE_CHECK", account) == "off":
        return None, None
    reading = read_balance(account)
    if reading.balance is None or not sendable or cost <= Decimal(str(reading.balance)):
        return reading, None
    reason = f"The send is estimated to cost {cost} credits; the balance is {reading.balance:g}."
    return reading, Refusal("", reason)


def preview(request: SendRequest, *, now: datetime | None = None) -> Preview:
    """Plan ``request`` as ``send_sms``/``send_bulk`` would, write nothing, and say what it would do.

    Refused: an invalid or opted-out number, a text that is empty or longer than ``MAX_PARTS``
    (each with its recipient); no recipient, a body and a template both or neither, a template
    placeholder without a value, a time already past, and (unless ``BALANCE_CHECK`` is
    ``"off"``) an estimate above the balance read by :func:`read_balance`.
    """
    now = now or timezone.now()
    send = request.bulk()
    refusals: list[Refusal] = []
    try:
        plan = plan_bulk(send, now=now)
    except SendError as exc:
        refusals.append(Refusal("", str(exc)))
        plan = _recipients_alone(send, refusals)
    try:
        plan.check_recipients()
    except SendError as exc:
        refusals.append(Refusal("", str(exc)))
    if request.send_at is not None and timezone.is_aware(request.send_at) and request.send_at <= now:
        refusals.append(Refusal("", "The time to send it is already past; leave it empty to send now."))
    sendable = plan.sendable
    balance, short = _balance_refusal(plan.cost, len(sendable), request.account)
    if short is not None:
        refusals.append(short)
    refused = [Refusal(draft.to, draft.rejection) for draft in plan.drafts if draft.rejection]
    text = _first_text(request, plan)
    return Preview(
        text=text,
        info=analyse(text),
        ucs2_characters=ucs2_characters(text),
        named=len(plan.drafts) + plan.duplicates,
        duplicates=plan.duplicates,
        opted_out=len(plan.opted_out),
        refused=len(refused),
        recipients=len(sendable),
        first_recipient=plan.drafts[0].to if plan.drafts else "",
        estimated_cost=plan.cost,
        balance=balance,
        send_at=request.send_at,
        single=request.single,
        refusals=[*refused, *refusals],
    )


def send_checked(request: SendRequest) -> Message | Batch:
    """Send ``request`` only if its :func:`preview` refuses nothing: all or nothing.

    Raises :class:`~django_zoomconnect.exceptions.SendRefused` (nothing written) with every
    refusal, or the ``SendError`` of ``send_sms``/``send_bulk``. One number or one contact is
    sent with ``send_sms``; more, or a group, as one batch with ``send_bulk``.
    """
    checked = preview(request)
    if not checked.can_send:
        raise SendRefused(checked.refusals)
    if request.single:
        return send_sms(
            request.numbers[0] if request.numbers else None,
            request.body,
            template=request.template,
            contact=request.contacts[0] if request.contacts else None,
            send_at=request.send_at,
            campaign=request.campaign,
            account=request.account,
        )
    return send_bulk(**request.bulk().arguments())
