"""The operator's levers on the outbox: resume after a pause, check the balance, cancel, retry."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ... import conf
from ...client import ZoomConnectClient
from ...exceptions import ZoomConnectError
from ...models import Batch, Direction, Message, MessageStatus, MessageStatusChange
from .. import history
from .. import rows as bulk
from ..clients import client_for, clients_for
from ..history import StatusChange
from . import wake
from .drafts import opted_out
from .state import RETRYABLE_STATUSES, SLICE, is_paused, pauses, slices

__all__ = ["already_retried", "cancel", "check_balance", "resume_sending", "retry"]

logger = logging.getLogger("django_zoomconnect.services.outbox")

#: Marks the rows one :func:`retry` call moved, until each has its fresh reference.
_RETRYING = "retrying"
USER = MessageStatusChange.Source.USER


def resume_sending(*, now: datetime | None = None, account: str | None = None) -> int:
    """Lift the pause of ``account`` (an alias), or of every account, and dispatch what is due;
    the number of tasks enqueued (0 if nothing was paused)."""
    deleted, _ = pauses(account).delete()
    if not deleted:
        return 0
    logger.warning("Sending SMS resumed%s.", "" if account is None else f" for the account {account!r}")
    return wake.dispatch_due(now=now)


def check_balance(*, client: ZoomConnectClient | None = None, account: str | None = None) -> float:
    """The credit balance of ``account`` (an alias; ``None``: ``"default"``). The call proves the
    account's credentials work, so it lifts that account's pause (and no other's)."""
    alias = conf.account_alias(account)
    with client_for(client, account=alias) as api:
        balance = api.get_balance()
    if is_paused(alias):
        resume_sending(account=alias)
    return balance


def _targets(target: Message | Batch | QuerySet[Message] | Iterable[Message]) -> Q:
    if isinstance(target, Batch):
        return Q(batch=target)
    if isinstance(target, Message):
        return Q(pk=target.pk)
    if isinstance(target, QuerySet):
        return Q(pk__in=target.values("pk"))
    return Q(pk__in=[m.pk for m in target])


def cancel(
    target: Message | Batch | QuerySet[Message] | Iterable[Message],
    *,
    client: ZoomConnectClient | None = None,
) -> int:
    """Cancel what has not been sent yet; the number of messages cancelled.

    A queued message (waiting for its ``send_at``, for a worker or for a retry) simply becomes
    ``CANCELLED``. A message the provider holds for later (``SCHEDULING = "provider"``, status
    ``SCHEDULED``) is deleted on Zoom Connect with ``DELETE messages/{id}``; the API documents
    that operation only as "deletes a message", not whether a deleted scheduled message is still
    sent, so this is best effort. A message being sent, or already sent, is left alone. A batch
    is marked ``CANCELLED`` as well.
    """
    now = timezone.now()
    match = _targets(target)
    token = uuid.uuid4().hex
    with transaction.atomic():
        queued = Message.objects.filter(match, status=MessageStatus.QUEUED, direction=Direction.OUTBOUND)
        # The token marks what this call cancelled (not indexed: read by primary key).
        pks = list(queued.values_list("pk", flat=True))
        cancelled: list[Message] = []
        for part in slices(pks):
            Message.objects.filter(pk__in=part, status=MessageStatus.QUEUED).update(
                status=MessageStatus.CANCELLED, claim_token=token, dispatch_after=None, updated_at=now
            )
            cancelled += Message.objects.filter(pk__in=part, claim_token=token)
        if isinstance(target, Batch):
            Batch.objects.filter(
                pk=target.pk, status__in=(Batch.Status.PENDING, Batch.Status.DISPATCHING)
            ).update(status=Batch.Status.CANCELLED, finished_at=now)
            target.refresh_from_db(fields=["status", "finished_at"])
        if cancelled:
            for part in slices([m.pk for m in cancelled]):
                Message.objects.filter(pk__in=part).update(claim_token="")
            history.record(
                [StatusChange(m.pk, MessageStatus.QUEUED, MessageStatus.CANCELLED, USER) for m in cancelled],
                now=now,
            )
    scheduled = list(
        Message.objects.filter(
            match, status=MessageStatus.SCHEDULED, remote_id__isnull=False, direction=Direction.OUTBOUND
        )
    )
    if scheduled:
        with clients_for(client) as clients:
            for message in scheduled:
                if _delete_scheduled(clients(message.account), message, now):
                    cancelled.append(message)
    if isinstance(target, Message):
        target.refresh_from_db(fields=["status", "updated_at"])
    return len(cancelled)


def _delete_scheduled(api: ZoomConnectClient, message: Message, now: datetime) -> bool:
    """Delete a message the provider holds for later; whether it is now ``CANCELLED`` here."""
    assert message.remote_id is not None
    try:
        api.delete_message(message.remote_id)
    except ZoomConnectError as exc:
        logger.warning("Could not delete scheduled message %s on Zoom Connect: %s", message.pk, exc)
        return False
    with transaction.atomic():
        if not Message.objects.filter(pk=message.pk, status=MessageStatus.SCHEDULED).update(
            status=MessageStatus.CANCELLED, updated_at=now
        ):
            return False
        detail = {"deleted_remotely": message.remote_id}
        history.record(
            [StatusChange(message.pk, MessageStatus.SCHEDULED, MessageStatus.CANCELLED, USER, detail)],
            now=now,
        )
    return True


def already_retried(pks: Iterable[int]) -> set[int]:
    """Which of these messages were copied by a retry already (one query per slice)."""
    found: set[int] = set()
    for part in slices(list(pks)):
        copied = Message.objects.filter(retry_of__in=part).values_list("retry_of", flat=True)
        found.update(pk for pk in copied if pk is not None)
    return found


#: The fields a retry's copy of a message takes from it (the rest are the copy's own).
_COPIED = (
    "account",
    "to_number",
    "body",
    "campaign",
    "data_field",
    "encoding",
    "parts",
    "credit_cost",
    "contact_id",
    "template_id",
    "batch_id",
)


def retry(target: Message | Batch | QuerySet[Message] | Iterable[Message]) -> int:
    """Send failed messages again; the number queued.

    ``FAILED`` and ``FAILED_REFUNDED`` messages are retried (never ``FAILED_OPTOUT``, ``REJECTED``
    or ``CANCELLED``, and never a number that has opted out since). A message the provider never
    accepted (no remote id) is queued again as it is. A message the provider accepted and then
    failed to deliver is copied into a new message (its ``retry_of``), with a new reference, so
    that the history of the first attempt stays as it was; it is copied once, however often it
    is retried.
    """
    now = timezone.now()
    match = _targets(target)
    queued = 0
    with transaction.atomic():
        # Locked: a second retry of the same messages (a double click) waits, then finds them copied.
        failed = list(
            Message.objects.select_for_update()
            .filter(match, status__in=RETRYABLE_STATUSES, direction=Direction.OUTBOUND)
            .order_by("pk")
        )
        stopped = opted_out(m.to_number for m in failed)
        # An erased message (services.erasure) has no number left to send to.
        failed = [m for m in failed if m.to_number and m.to_number not in stopped]
        in_place = [m for m in failed if m.remote_id is None]
        copied = already_retried([m.pk for m in failed if m.remote_id is not None])
        copies = [m for m in failed if m.remote_id is not None and m.pk not in copied]
        if not in_place and not copies:
            return 0
        # A fresh reference each: a lookup of the new attempt must never find an earlier one.
        fresh = {m.pk: Message._meta.get_field("reference").get_default() for m in in_place}
        for part in slices([m.pk for m in in_place]):
            queued += Message.objects.filter(
                pk__in=part, status__in=RETRYABLE_STATUSES, remote_id__isnull=True
            ).update(
                status=MessageStatus.QUEUED,
                attempts=0,
                claim_token=_RETRYING,
                dispatch_after=None,
                enqueued_at=now,
                last_error="",
                error_code=None,
                updated_at=now,
            )
        bulk.update_each(
            Message,
            ("reference", "claim_token"),
            ("id", "claim_token"),
            [(fresh[m.pk], "", m.pk, _RETRYING) for m in in_place],
        )
        requeued = list(Message.objects.filter(pk__in=[m.pk for m in in_place], reference__in=fresh.values()))
        new_rows = [
            Message(
                direction=Direction.OUTBOUND,
                **{name: getattr(m, name) for name in _COPIED},
                retry_of_id=m.pk,
                status=MessageStatus.QUEUED,
                enqueued_at=now,
            )
            for m in copies
        ]
        created = Message.objects.bulk_create(new_rows, batch_size=SLICE)
        queued += len(created)
        before = {m.pk: m for m in in_place}
        history.record(
            [
                StatusChange(
                    m.pk,
                    before[m.pk].status,
                    MessageStatus.QUEUED,
                    USER,
                    {"retry": True, "previous_reference": before[m.pk].reference},
                )
                for m in requeued
            ],
            now=now,
        )
        batch_ids = {m.batch_id for m in requeued if m.batch_id is not None} | {
            m.batch_id for m in created if m.batch_id is not None
        }
        if batch_ids:
            Batch.objects.filter(pk__in=batch_ids, status=Batch.Status.DONE).update(
                status=Batch.Status.DISPATCHING, finished_at=None
            )
        chunks: set[tuple[int, int]] = set()
        for message in requeued:
            if message.batch_id is None or message.chunk is None:
                wake.enqueue_message(message.pk)
            else:
                chunks.add((message.batch_id, message.chunk))
        for batch_id, chunk in sorted(chunks):
            wake.enqueue_chunk(batch_id, chunk)
        for message in created:
            wake.enqueue_message(message.pk)
    return queued
