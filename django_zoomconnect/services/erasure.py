"""Erasure of one person: every local row that holds a number removed or anonymised, a STOP kept hashed.

:func:`erase_number` is the one way to do it (the ``zoomconnect_erase`` command and the contacts'
admin action call it). What each table keeps:

* **contacts** with the number are deleted, with their group memberships;
* **messages** to or from it (both directions) stay for the delivery statistics, anonymised: the
  number, the text, the remote payload (``remote_data``), the contact link and any other text
  column that mentions the number are blanked; status, dates, campaign and cost stay. Messages
  still queued for it are cancelled first (and a message the provider holds for later deleted
  there, as :func:`~.outbox.cancel` does); one being sent or uncertain makes the erasure refuse,
  since a worker may still need its number;
* **status history** entries of those messages stay, their ``detail`` emptied where it mentions
  the number;
* **webhook events** linked to those messages, or whose parameters mention the number, stay as
  replay guards (their nonce) with their parameters emptied, marked processed;
* **opt-outs** and their history are deleted; an opt-out becomes an
  :class:`~django_zoomconnect.models.ErasedOptOut`, a keyed hash of the number, so that sending to
  it is still refused (:func:`~.optouts.opted_out`);
* **admin log entries** that name the number are deleted.

A number is searched for in every form it can take (``+27821234567``, ``27821234567``,
``0821234567``: all hold its national significant number, ``821234567``, which is what the text
and JSON columns are searched for). With ``delete_remote`` the contact is deleted on the account
too; messages on the account are not (the API has no such operation for sent messages), so a pull
of their dates brings them back. Everything local happens in one transaction; ``dry_run`` rolls it
back and calls nothing remote.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.apps import apps
from django.db import transaction
from django.db.models import Case, F, Field, Model, Q, TextField, Value, When
from django.db.models.functions import Cast
from django.db.models.lookups import Contains
from django.utils import timezone

from .. import phone
from ..client import ZoomConnectClient
from ..exceptions import NotFoundError, PhoneNumberError, ZoomConnectError
from ..models import (
    Contact,
    Direction,
    ErasedOptOut,
    Membership,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    OptOutChange,
    WebhookEvent,
)
from . import optouts
from .clients import client_for
from .outbox import cancel
from .reports import Counts, Tally
from .rows import batched

__all__ = ["ErasureRefused", "ErasureReport", "erase_number", "erase_numbers", "number_forms"]

logger = logging.getLogger("django_zoomconnect.services.erasure")

#: Rows written per UPDATE.
SLICE = 500
#: Outbound statuses in which a worker may still need the number.
_IN_FLIGHT = (MessageStatus.SENDING, MessageStatus.UNCERTAIN)
#: What a message erased of its number says where its error was.
ERASED = "Erased."


class ErasureRefused(ZoomConnectError, ValueError):
    """The number cannot be erased now (a message to it is being sent); nothing was changed."""


@dataclass
class ErasureReport(Counts):
    """What :func:`erase_number` did (or, with ``dry_run``, would do): rows per table."""

    dry_run: bool = False
    contacts: int = 0
    memberships: int = 0
    messages: int = 0
    cancelled: int = 0
    status_changes: int = 0
    webhook_events: int = 0
    opt_outs: int = 0
    opt_out_changes: int = 0
    #: Whether the number's opt-out is kept as an :class:`ErasedOptOut` (new or from before).
    hashed_opt_out: bool = False
    admin_log_entries: int = 0
    #: Contacts deleted on the account (``delete_remote``), or that would be (``dry_run``).
    remote_contacts: int = 0
    #: Why deleting a contact on the account failed; empty when it did not.
    remote_error: str = ""
    #: That failure itself, for a caller that words it (left out of :meth:`as_dict`).
    remote_failure: ZoomConnectError | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {name: value for name, value in super().as_dict().items() if name != "remote_failure"}

    @property
    def total(self) -> int:
        """Local rows removed or anonymised."""
        return (
            self.contacts
            + self.memberships
            + self.messages
            + self.status_changes
            + self.webhook_events
            + self.opt_outs
            + self.opt_out_changes
            + self.admin_log_entries
        )


def number_forms(number: str) -> tuple[str, ...]:
    """The forms ``number`` may be written in: E.164, digits, national, national significant.

    Raises :class:`~django_zoomconnect.exceptions.PhoneNumberError` when it is not a valid number.
    """
    parsed = phone.parse(number)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    national = "".join(
        c for c in phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL) if c.isdigit()
    )
    significant = phonenumbers.national_significant_number(parsed)
    return tuple(dict.fromkeys((e164, e164[1:], national, significant)))


def erase_number(
    number: str,
    *,
    delete_remote: bool = False,
    dry_run: bool = False,
    client: ZoomConnectClient | None = None,
) -> ErasureReport:
    """Remove or anonymise every local row that holds ``number``; what was done, per table.

    ``number`` is read as a send reads it (``DEFAULT_REGION`` for a national form); a number
    that is not valid raises :class:`~django_zoomconnect.exceptions.PhoneNumberError`, and a
    message to it being sent or uncertain :class:`ErasureRefused` (nothing changed). With
    ``delete_remote`` the number's contacts are deleted on the account first (a contact already
    gone counts as deleted; another failure is kept in ``remote_error`` and the local erasure goes
    on). ``dry_run`` reports what would be done, writes nothing and calls nothing remote.
    """
    forms = number_forms(number)
    e164, needle = forms[0], forms[-1]
    report = ErasureReport(dry_run=dry_run)
    sending = Message.objects.filter(direction=Direction.OUTBOUND, to_number=e164, status__in=_IN_FLIGHT)
    if sending.exists():
        raise ErasureRefused(
            f"A message to {e164} is being sent or its send is uncertain; erase the number once it "
            "is settled (a few minutes, at most RECONCILE_GIVE_UP_AFTER)."
        )
    contacts = Contact.objects.filter(phone_number=e164)
    remote_ids: dict[str, list[str]] = {}  # account -> the number's contacts on it
    for account, remote_id in contacts.values_list("account", "remote_id"):
        if remote_id:
            remote_ids.setdefault(account, []).append(remote_id)
    if delete_remote and remote_ids:
        if dry_run:
            report.remote_contacts = sum(map(len, remote_ids.values()))
        else:
            for account, ids in remote_ids.items():
                if not _delete_remote(account, ids, report, client):
                    break
    waiting = Message.objects.filter(
        direction=Direction.OUTBOUND,
        to_number=e164,
        status__in=(MessageStatus.QUEUED, MessageStatus.SCHEDULED),
    )
    if dry_run:
        report.cancelled = waiting.count()
    elif waiting.exists():
        report.cancelled = cancel(waiting, client=client)
    with transaction.atomic():
        _erase_locally(e164, needle, report)
        transaction.set_rollback(dry_run)
    if not dry_run:
        logger.info("Erased a number: %s", report.as_dict())
    return report


def erase_numbers(numbers: Iterable[str]) -> Tally:
    """:func:`erase_number` each of ``numbers``: how many were erased and how many messages
    anonymised; a number being sent to, or not a valid one, is skipped with the reason."""
    tally = Tally()
    for number in list(numbers):
        try:
            report = erase_number(number)
        except ErasureRefused:
            tally.skip("a message to it is being sent, try again later")
            continue
        except PhoneNumberError:
            tally.skip("not a valid number")
            continue
        tally.add("erased")
        tally.add("messages anonymised", report.messages)
    return tally


def _delete_remote(
    account: str, remote_ids: Sequence[str], report: ErasureReport, client: ZoomConnectClient | None
) -> bool:
    """Delete the contacts on ``account``; False (with ``remote_error`` set) at the first failure."""
    with client_for(client, account=account) as api:
        for remote_id in remote_ids:
            try:
                api.delete_contact(remote_id)
            except NotFoundError:
                pass  # gone already: what was asked for
            except ZoomConnectError as exc:
                report.remote_error = (
                    f"Deleting contact {remote_id} on Zoom Connect (account {account!r}) failed: {exc}"
                )
                report.remote_failure = exc
                return False
            report.remote_contacts += 1
    return True


def _mentions(column: str, needle: str) -> Contains:
    """``column`` (text or JSON) holds ``needle`` somewhere: a LIKE on its text."""
    return Contains(Cast(column, output_field=TextField()), needle)


def _replace(model: type[Model], column: str, condition: Q, by: str = "") -> Case:
    """``column`` replaced by ``by`` where ``condition`` holds (one CASE in the UPDATE)."""
    field = model._meta.get_field(column)
    assert isinstance(field, Field)
    return Case(When(condition, then=Value(by)), default=F(column), output_field=field)


def _blank_if_mentioned(model: type[Model], column: str, needle: str, by: str = "") -> Case:
    return _replace(model, column, Q(**{f"{column}__contains": needle}), by)


def _erase_locally(e164: str, needle: str, report: ErasureReport) -> None:
    now = timezone.now()
    # Contacts and their memberships (messages' links to them are blanked below anyway).
    contacts = Contact.objects.filter(phone_number=e164)
    report.memberships = Membership.objects.filter(contact__in=contacts).count()
    report.contacts = contacts.count()
    contacts.delete()

    # Messages both ways: anonymised, kept for the statistics.
    message_pks = list(
        Message.objects.filter(Q(to_number=e164) | Q(from_number=e164))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    changed: dict[str, Any] = {
        "to_number": _replace(Message, "to_number", Q(to_number=e164)),
        "from_number": _replace(Message, "from_number", Q(from_number=e164)),
        "body": "",
        "remote_data": {},
        "contact": None,
        "data_field": _blank_if_mentioned(Message, "data_field", needle),
        "campaign": _blank_if_mentioned(Message, "campaign", needle),
        "sync_error": _blank_if_mentioned(Message, "sync_error", needle),
        "last_error": _blank_if_mentioned(Message, "last_error", needle, ERASED),
        "updated_at": now,
    }
    events: set[int] = set()
    for part in batched(message_pks, SLICE):
        report.messages += Message.objects.filter(pk__in=part).update(**changed)
        report.status_changes += (
            MessageStatusChange.objects.filter(message_id__in=part)
            .filter(_mentions("detail", needle))
            .update(detail={})
        )
        events.update(WebhookEvent.objects.filter(message_id__in=part).values_list("pk", flat=True))

    # Webhook events: the ones of those messages, and any other whose parameters name the number
    # (a report still deferred, a reply that failed). Kept as replay guards, emptied.
    events.update(
        WebhookEvent.objects.filter(
            Q(_mentions("params", needle)) | Q(data_field__contains=needle)
        ).values_list("pk", flat=True)
    )
    for part in batched(sorted(events), SLICE):
        report.webhook_events += WebhookEvent.objects.filter(pk__in=part).update(
            params={},
            data_field=_blank_if_mentioned(WebhookEvent, "data_field", needle),
            error="",
            traceback="",
            state=WebhookEvent.State.PROCESSED,
            processed_at=Case(When(processed_at__isnull=True, then=Value(now)), default=F("processed_at")),
        )

    # Opt-outs: the number's history goes; its opt-out stays, hashed.
    opt_out = OptOut.objects.filter(phone_number=e164).first()
    digest = optouts.number_digest(e164)
    if opt_out is not None:
        ErasedOptOut.objects.get_or_create(
            digest=digest, defaults={"source": opt_out.source, "opted_out_at": opt_out.created_at}
        )
        report.opt_outs, _ = OptOut.objects.filter(pk=opt_out.pk).delete()
    report.hashed_opt_out = ErasedOptOut.objects.filter(digest=digest).exists()
    report.opt_out_changes, _ = OptOutChange.objects.filter(phone_number=e164).delete()

    # The admin's log names contacts and opt-outs by their number.
    if apps.is_installed("django.contrib.admin"):
        log = apps.get_model("admin", "LogEntry")
        report.admin_log_entries, _ = log.objects.filter(
            Q(object_repr__contains=needle) | Q(change_message__contains=needle)
        ).delete()
