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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction

from .. import phone
from ..models import Message, OptOut, OptOutChange
from .reports import Tally

__all__ = ["Source", "opt_in", "opt_in_numbers", "opt_out", "opt_out_numbers"]

#: Where an opt-out or an opt-in came from (the values :class:`OptOut`'s ``source`` uses too).
Source = OptOutChange.Source
_DETAIL = OptOutChange._meta.get_field("detail").max_length or 255
_NUMBER = OptOut._meta.get_field("phone_number").max_length or 64


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
        if deleted:
            OptOutChange.objects.create(
                phone_number=number,
                action=OptOutChange.Action.OPT_IN,
                source=source,
                detail=detail[:_DETAIL],
                message_id=message_id,
            )
    return bool(deleted)


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
