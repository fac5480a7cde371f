"""Opt-outs: stop sending to a number or lift that, keeping the history of both.

Why one module: a STOP reply and a ``FAILED_OPTOUT`` delivery report (:mod:`.inbound`), a status
poll (:mod:`.outbox.reconcile`) and an operator (the admin) all opt numbers out; an operator, and
a reply of one of ``OPT_IN_KEYWORDS`` (START), opt them back in. Every one goes through
:func:`opt_out` or :func:`opt_in`, so that the :class:`~django_zoomconnect.models.OptOut` row
(may this number be sent to now?) and its :class:`~django_zoomconnect.models.OptOutChange`
history (how did that come to be?) never disagree, and lifting an opt-out never erases that the
person once asked to be left alone.

Each call is one transaction (or a savepoint in the caller's): the row and its history step
together. A call that changes nothing records nothing, so a repeated STOP or a reprocessed
report leaves the history as it was.

An erased number (:mod:`.erasure`) keeps its opt-out only as a keyed hash
(:class:`~django_zoomconnect.models.ErasedOptOut`): :func:`opted_out` consults both lists,
and :func:`opt_in` lifts both.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from .. import phone
from ..models import ErasedOptOut, Message, OptOut, OptOutChange
from .reports import Tally
from .rows import batched

__all__ = [
    "Source",
    "number_digest",
    "number_digests",
    "opt_in",
    "opt_in_numbers",
    "opt_out",
    "opt_out_numbers",
    "opted_out",
]

#: Where an opt-out or an opt-in came from (the values :class:`OptOut`'s ``source`` uses too).
Source = OptOutChange.Source
_DETAIL = OptOutChange._meta.get_field("detail").max_length or 255
_NUMBER = OptOut._meta.get_field("phone_number").max_length or 64


#: Numbers looked up per query by :func:`opted_out`.
SLICE = 500
_SALT = b"django_zoomconnect.optouts.erased"


def _hmacs() -> list[hmac.HMAC]:
    """One keyed HMAC-SHA256 per secret: ``SECRET_KEY`` first, then ``SECRET_KEY_FALLBACKS``.

    The key is derived as Django's ``salted_hmac`` derives its own (SHA-256 of a salt and the
    secret), once per call; each number then costs one ``copy()`` and one update.
    """
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    keys = [hashlib.sha256(_SALT + str(secret).encode()).digest() for secret in secrets]
    return [hmac.new(key, digestmod=hashlib.sha256) for key in keys]


def _digest(base: hmac.HMAC, number: str) -> str:
    h = base.copy()
    h.update(number.encode())
    return h.hexdigest()


def number_digest(number: str) -> str:
    """The digest an erased opt-out of ``number`` (E.164 when it parses) is kept under."""
    return _digest(_hmacs()[0], phone.stored_form(number)[:_NUMBER])


def number_digests(numbers: Iterable[str]) -> dict[str, str]:
    """Each stored-form number's digests, under ``SECRET_KEY`` and each fallback: digest -> number.

    The numbers must be in their stored form already (the send path's are).
    """
    bases = _hmacs()
    return {_digest(base, number): number for number in numbers for base in bases}


def opted_out(numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` (in stored form) must not be sent to.

    A number is opted out when it has an :class:`OptOut` row, or when it was erased after
    opting out (its digest is an :class:`ErasedOptOut`). When a list holds no more rows than
    there are numbers to check (the usual case: a few opt-outs beside a large send), it is read
    whole in one query and matched here; otherwise it is searched one :data:`SLICE` at a time.
    """
    unique = set(numbers) - {""}
    if not unique:
        return set()
    found = unique & _searched(
        OptOut.objects.values_list("phone_number", flat=True), "phone_number__in", sorted(unique)
    )
    erased = ErasedOptOut.objects.values_list("digest", flat=True)
    if not erased.exists():
        return found
    digests = number_digests(unique)
    found.update(
        digests[value] for value in _searched(erased, "digest__in", sorted(digests)) if value in digests
    )
    return found


def _searched(values: QuerySet[Any, str], lookup: str, wanted: Sequence[str]) -> set[str]:
    """The values of ``values`` among ``wanted``: the whole (short) list, or one query per slice."""
    head = list(values.order_by()[: len(wanted) + 1])
    if len(head) <= len(wanted):
        return set(head)
    found: set[str] = set()
    for part in batched(wanted, SLICE):
        found.update(values.filter(**{lookup: part}).order_by())
    return found


def _checked(number: str, source: str) -> str:
    if source not in Source.values:
        raise ValueError(f"source {source!r} is not one of {', '.join(Source.values)}")
    return phone.stored_form(number)[:_NUMBER]


def opt_out(number: str, *, source: str, detail: str = "", message: Message | int | None = None) -> bool:
    """Stop sending to ``number``; whether it was not opted out before.

    ``number`` is stored in E.164 when it parses (as written otherwise, so that a short code's
    opt-out holds too). ``source`` is a :data:`Source` value; ``detail`` says what happened (the
    reply's text, the report, who clicked); ``message`` is the message (or its primary key) that
    brought it, if any.
    """
    number = _checked(number, source)
    if not number:
        return False
    message_id = message.pk if isinstance(message, Message) else message
    detail = detail[:_DETAIL]
    with transaction.atomic():
        # get_or_create reads again when a concurrent opt-out of the same number wins the insert.
        _, created = OptOut.objects.get_or_create(
            phone_number=number, defaults={"source": source, "detail": detail, "message_id": message_id}
        )
        if created:
            OptOutChange.objects.create(
                phone_number=number,
                action=OptOutChange.Action.OPT_OUT,
                source=source,
                detail=detail,
                message_id=message_id,
            )
    return created


def opt_in(number: str, *, source: str, detail: str = "", message: Message | int | None = None) -> bool:
    """Send to ``number`` again; whether it was opted out.

    Meant for an operator who has the person's consent, and for a reply of one of
    ``OPT_IN_KEYWORDS`` (``message`` is that reply): the opt-out row goes, its history stays,
    with this step added.
    """
    number = _checked(number, source)
    message_id = message.pk if isinstance(message, Message) else message
    with transaction.atomic():
        deleted, _ = OptOut.objects.filter(phone_number=number).delete()
        erased, _ = ErasedOptOut.objects.filter(digest__in=list(number_digests([number]))).delete()
        if deleted or erased:
            OptOutChange.objects.create(
                phone_number=number,
                action=OptOutChange.Action.OPT_IN,
                source=source,
                detail=detail[:_DETAIL],
                message_id=message_id,
            )
    return bool(deleted or erased)


def _each(
    change: Callable[..., bool], numbers: Iterable[str], done: str, unchanged: str, **options: str
) -> Tally:
    tally = Tally()
    for number in dict.fromkeys(numbers):
        if change(number, **options):
            tally.add(done)
        else:
            tally.skip(unchanged)
    return tally


def opt_out_numbers(numbers: Iterable[str], *, source: str, detail: str = "") -> Tally:
    """:func:`opt_out` each of ``numbers``: how many were opted out, and how many already were."""
    return _each(opt_out, numbers, "opted out", "already opted out", source=source, detail=detail)


def opt_in_numbers(numbers: Iterable[str], *, source: str, detail: str = "") -> Tally:
    """:func:`opt_in` each of ``numbers``: how many were opted back in, and how many were not out."""
    return _each(opt_in, numbers, "opted back in", "not opted out", source=source, detail=detail)
