"""Settle what the outbox cannot know by itself: lost claims, ambiguous sends, unreported statuses.

Why looking up comes before resending: a read timeout, a dropped connection or a 5xx may hide a
message the provider accepted. Such a message is ``UNCERTAIN`` until :func:`reconcile_uncertain`
has looked it up (:mod:`.lookup`: by chunk, with two probes and at most one listing, proving
each record is this attempt's) and decided: a record that can only be this attempt is adopted
(its remote id and status), and when the provider has none the message is queued again (or
``FAILED`` after ``SEND_MAX_ATTEMPTS``). The lookup waits ``RECONCILE_AFTER`` seconds first, so
that a message the provider is still writing is found. One run at a time: a second one, while a
run holds the ``reconcile`` lease (:mod:`..leases`), returns at once.

Why a lease: a worker that dies between its claim and its answer leaves messages ``SENDING``.
:func:`sweep` treats a claim older than the lease (:func:`conf.claim_lease`) as lost and makes
its messages ``UNCERTAIN`` (the call may have gone out), never ``QUEUED``.

Every decision is one short transaction: the conditional UPDATE (on the status and attempt
count the decision was made from, so two reconcilers, or a reconciler racing a late worker,
cannot both act), its history row, and its signal after the commit. A run that dies midway
loses nothing, and no message is left ``UNCERTAIN`` with nothing to decide it: a lookup that
keeps failing ends ``FAILED`` after ``RECONCILE_GIVE_UP_AFTER``, and one that fails in a way
nobody expected ends ``FAILED`` at once, with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ... import conf
from ... import wire as api
from ...client import ZoomConnectClient
from ...exceptions import AuthenticationError, ZoomConnectError
from ...models import (
    PROVIDER_STATUSES,
    STATUS_RANK,
    Direction,
    Message,
    MessageStatus,
    MessageStatusChange,
)
from .. import history, leases, optouts
from ..clients import clients_for
from ..history import StatusChange
from ..reports import Counts
from . import dispatch, lookup, wake
from .lookup import listed
from .state import due, pause_sending, slices, unpaused

logger = logging.getLogger(__name__)

__all__ = [
    "PollResult",
    "ReconcileResult",
    "reconcile_uncertain",
    "refresh_messages",
    "refresh_statuses",
    "refreshable",
    "sweep",
]

#: Stop a run after this many lookups in a row failed: the provider is unwell, try next time.
MAX_CONSECUTIVE_ERRORS = 5
#: How long a reconcile run holds its lease before it must renew it (it does, chunk by chunk).
RUN_LEASE_SECONDS = 300.0
_POLLED_STATUSES = (MessageStatus.SENT, MessageStatus.UNKNOWN)
_MAX_ERROR = 2000


@dataclass
class ReconcileResult(Counts):
    adopted: int = 0
    requeued: int = 0
    failed: int = 0
    unresolved: int = 0
    paused: bool = False
    #: Another run held the lease: this one did nothing.
    busy: bool = False


@dataclass
class PollResult(Counts):
    polled: int = 0
    changed: int = 0
    errors: int = 0
    paused: bool = False


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Take back expired claims (as ``UNCERTAIN``), finish batches, re-enqueue lost tasks."""
    now = timezone.now() if now is None else now
    lease = timedelta(seconds=conf.claim_lease())
    expired = Message.objects.filter(
        status=MessageStatus.SENDING, direction=Direction.OUTBOUND, claimed_at__lt=now - lease
    ).update(
        status=MessageStatus.UNCERTAIN,
        dispatch_after=now,
        last_error="The worker that claimed it did not report back within CLAIM_LEASE_SECONDS.",
        updated_at=now,
    )
    if expired:
        logger.warning(
            "%d message(s) were claimed by a worker that never reported back; looking them up", expired
        )
    finished = dispatch.finish_batches(now=now)
    enqueued = wake.dispatch_due(now=now)
    return {"expired_claims": expired, "batches_finished": finished, "tasks_enqueued": enqueued}


# --- decisions: each one a short transaction with its history ------------------------------------


def _adopted_status(remote: api.Message, message: Message, now: datetime) -> str:
    status = remote.status if remote.status in PROVIDER_STATUSES else MessageStatus.SENT
    if status == MessageStatus.SCHEDULED and dispatch.date_to_send(message, now) is None:
        # The provider's SCHEDULED also means "accepted, not out yet" for an immediate send.
        return MessageStatus.SENT
    return str(status)


def _still_uncertain(message: Message) -> Any:
    return Message.objects.filter(pk=message.pk, status=MessageStatus.UNCERTAIN, attempts=message.attempts)


def _decide(message: Message, new: str, now: datetime, detail: dict[str, Any], **fields: Any) -> bool:
    """Move ``message`` from ``UNCERTAIN`` to ``new`` with its history, if nobody moved it first."""
    with transaction.atomic():
        if not _still_uncertain(message).update(status=new, claim_token="", updated_at=now, **fields):
            return False
        if new != MessageStatus.QUEUED:  # back in the queue is outbox bookkeeping, not history
            history.record(
                [
                    StatusChange(
                        message.pk, MessageStatus.UNCERTAIN, new, MessageStatusChange.Source.SEND, detail
                    )
                ],
                now=now,
            )
    message.status = new
    return True


#: What :func:`_adopt` says when it could not adopt.
_STALE, _TAKEN = "stale", "taken"


def _adopt(message: Message, candidates: list[api.Message], now: datetime) -> str:
    """Store the first candidate no other row holds; its status, or ``_STALE`` / ``_TAKEN``.

    ``_STALE``: someone else decided about the message first. ``_TAKEN``: every candidate is
    stored on another row (the unique remote id says so), so none of them is this send.
    """
    for remote in candidates:
        if not remote.message_id:
            continue
        status = _adopted_status(remote, message, now)
        fields: dict[str, Any] = {
            "remote_id": remote.message_id,
            "dispatch_after": None,
            "last_error": "",
            "error_code": None,
            "remote_data": remote.raw,
        }
        if status != MessageStatus.SCHEDULED:
            fields["sent_at"] = remote.sent_at or now
        if status == MessageStatus.DELIVERED:
            fields["delivered_at"] = now
        if remote.credit_cost is not None:
            fields["credit_cost"] = round(remote.credit_cost, 2)
        try:
            decided = _decide(message, status, now, {"reconciled": True}, **fields)
        except IntegrityError:
            continue
        if not decided:
            return _STALE
        message.remote_id = remote.message_id
        transaction.on_commit(lambda: dispatch.apply_deferred_reports([message]))
        return status
    return _TAKEN


def _requeue(message: Message, now: datetime) -> bool:
    """Back to ``QUEUED`` for a new attempt; the caller wakes a worker for it."""
    return _decide(
        message,
        MessageStatus.QUEUED,
        now,
        {},
        dispatch_after=None,
        enqueued_at=now,
        last_error="Not found on Zoom Connect after an uncertain send; sending again.",
    )


def _fail(message: Message, now: datetime, text: str) -> bool:
    return _decide(
        message,
        MessageStatus.FAILED,
        now,
        {"error": text[:_MAX_ERROR]},
        dispatch_after=None,
        last_error=text[:_MAX_ERROR],
    )


def _give_up(message: Message, now: datetime) -> bool:
    return _fail(
        message,
        now,
        f"Not found on Zoom Connect after {message.attempts} uncertain attempts "
        f"(SEND_MAX_ATTEMPTS): {message.last_error}",
    )


def _uncertain_since(message: Message) -> datetime:
    return message.claimed_at or message.updated_at or datetime.min.replace(tzinfo=UTC)


def _chunks(due: list[Message]) -> list[list[Message]]:
    """The due messages by the call they went out in (a batch's chunk and attempt), else alone."""
    calls: dict[tuple[int, int, int], list[Message]] = {}
    alone: list[list[Message]] = []
    for message in due:  # a batch has one account: a call never mixes accounts
        if message.batch_id is not None and message.chunk is not None:
            calls.setdefault((message.batch_id, message.chunk, message.attempts), []).append(message)
        else:
            alone.append([message])
    return [*calls.values(), *alone]


@dataclass
class _Run:
    """What one reconcile run decided, and what it must wake once it is done."""

    now: datetime
    result: ReconcileResult
    max_attempts: int
    settled_batches: set[int] = field(default_factory=set)
    requeued_chunks: set[tuple[int, int]] = field(default_factory=set)
    requeued_singles: list[int] = field(default_factory=list)

    def settle(self, message: Message, candidates: list[api.Message]) -> None:
        """Adopt what the provider has, or send again, or give up: one decision for ``message``."""
        now, result = self.now, self.result
        adopted = _adopt(message, candidates, now) if candidates else _TAKEN
        if adopted == _STALE:
            result.unresolved += 1
            return
        if adopted != _TAKEN:
            result.adopted += 1
        elif message.attempts >= self.max_attempts:
            if not _give_up(message, now):
                return
            result.failed += 1
        else:
            if _requeue(message, now):
                result.requeued += 1
                if message.batch_id is not None and message.chunk is not None:
                    self.requeued_chunks.add((message.batch_id, message.chunk))
                else:
                    self.requeued_singles.append(message.pk)
            return
        if message.batch_id is not None:
            self.settled_batches.add(message.batch_id)

    def fail(self, messages: list[Message], text: str) -> None:
        for message in messages:
            if _fail(message, self.now, text):
                self.result.failed += 1
                if message.batch_id is not None:
                    self.settled_batches.add(message.batch_id)

    def wake(self) -> None:
        for batch_id in sorted(self.settled_batches):
            dispatch.finish_batches(batch_id=batch_id, now=self.now)
        # Woken once per chunk, after the run: the messages of a chunk go out together again.
        for pk in self.requeued_singles:
            wake.enqueue_message(pk)
        for batch_id, chunk in sorted(self.requeued_chunks):
            wake.enqueue_chunk(batch_id, chunk)


def reconcile_uncertain(
    *, now: datetime | None = None, limit: int = 1000, client: ZoomConnectClient | None = None
) -> ReconcileResult:
    """Look up the uncertain messages that are due, chunk by chunk; adopt what the provider has,
    send the rest again. Returns at once (``busy``) while another run holds the lease."""
    now = timezone.now() if now is None else now
    result = ReconcileResult()
    sendable = unpaused(  # a paused account's sends wait for its credentials; the others go on
        Message.objects.filter(due(now), status=MessageStatus.UNCERTAIN, direction=Direction.OUTBOUND)
    )
    if sendable is None:
        result.paused = True
        return result
    uncertain, _ = sendable
    with leases.held("reconcile", seconds=RUN_LEASE_SECONDS) as lease:
        if lease is None:
            result.busy = True
            return result
        waiting = list(uncertain.order_by("batch_id", "chunk", "pk")[:limit])
        if not waiting:
            return result
        run = _Run(now, result, max_attempts=int(conf.get("SEND_MAX_ATTEMPTS")))
        with clients_for(client) as clients:  # each message is looked up on its own account
            _look_up(clients, _chunks(waiting), run, lease)
        run.wake()
    if result.adopted or result.requeued or result.failed:
        logger.info("Reconciled uncertain sends: %s", result.as_dict())
    return result


def _look_up(
    clients: Callable[[str], ZoomConnectClient], chunks: list[list[Message]], run: _Run, lease: leases.Held
) -> None:
    now, result = run.now, run.result
    retry_later = now + timedelta(seconds=float(conf.get("RECONCILE_AFTER")))
    give_up_before = now - timedelta(seconds=float(conf.get("RECONCILE_GIVE_UP_AFTER")))
    errors_in_a_row = 0
    refused: set[str] = set()  # accounts whose credentials were refused in this run
    for messages in chunks:
        account = messages[0].account
        if account in refused:
            continue
        lease.renew()
        try:
            found = lookup.find_chunk(clients(account), messages, now=now)
        except AuthenticationError as exc:
            pause_sending(f"Zoom Connect refused the credentials ({exc.status})", account)
            result.paused = True
            refused.add(account)
            continue
        except ZoomConnectError as exc:
            errors_in_a_row += 1
            late = [m for m in messages if _uncertain_since(m) < give_up_before]
            run.fail(late, f"Could not be looked up on Zoom Connect (it may have been sent): {exc}")
            for message in messages:
                if message not in late:
                    logger.info("Could not look up uncertain message %s yet: %s", message.pk, exc)
                    _still_uncertain(message).update(dispatch_after=retry_later)
                    result.unresolved += 1
            if errors_in_a_row >= MAX_CONSECUTIVE_ERRORS:
                return
            continue
        except Exception as exc:  # a surprise still ends in a decision
            logger.exception("Looking up uncertain messages %s failed unexpectedly", [m.pk for m in messages])
            run.fail(messages, _unexpected(exc))
            continue
        errors_in_a_row = 0
        for message in messages:
            candidates = found.get(message.pk)
            if candidates is None:  # its own lookup failed: later, the others are decided
                _still_uncertain(message).update(dispatch_after=retry_later)
                result.unresolved += 1
                continue
            try:
                run.settle(message, candidates)
            except Exception as exc:  # e.g. a record the database refuses: this one fails, not the run
                logger.exception("Deciding about uncertain message %s failed unexpectedly", message.pk)
                run.fail([message], _unexpected(exc))


def _unexpected(exc: Exception) -> str:
    return (
        f"Looking it up on Zoom Connect failed unexpectedly ({type(exc).__name__}: {exc}); "
        "it may have been sent, so it is not sent again."
    )


def refresh_statuses(
    *, now: datetime | None = None, limit: int = 500, client: ZoomConnectClient | None = None
) -> PollResult:
    """Poll the provider for sent messages that no delivery report has settled.

    A message qualifies ``STATUS_POLL_AFTER`` seconds after it was sent (or after the time the
    provider was to send it), at most every ``STATUS_POLL_AFTER`` seconds, until it is
    ``STATUS_POLL_MAX_AGE`` seconds old. Statuses only move forward.
    """
    now = timezone.now() if now is None else now
    after = now - timedelta(seconds=float(conf.get("STATUS_POLL_AFTER")))
    oldest = now - timedelta(seconds=float(conf.get("STATUS_POLL_MAX_AGE")))
    stale = Message.objects.filter(
        Q(status__in=_POLLED_STATUSES, sent_at__lte=after, sent_at__gte=oldest)
        | Q(status=MessageStatus.SCHEDULED, scheduled_at__lte=after, scheduled_at__gte=oldest),
        Q(polled_at__isnull=True) | Q(polled_at__lte=after),
        remote_id__isnull=False,
        direction=Direction.OUTBOUND,
    ).order_by("polled_at", "pk")
    return _poll(stale, limit=limit, now=now, client=client)


#: What :func:`refresh_messages` asks about: sent or scheduled, and not settled yet.
REFRESHABLE_STATUSES = (*_POLLED_STATUSES, MessageStatus.SCHEDULED)


def refreshable(messages: QuerySet[Message]) -> QuerySet[Message]:
    """Those of ``messages`` whose status the provider can still move: outbound, sent, unsettled."""
    return messages.filter(
        status__in=REFRESHABLE_STATUSES, remote_id__isnull=False, direction=Direction.OUTBOUND
    )


def refresh_messages(
    messages: QuerySet[Message],
    *,
    now: datetime | None = None,
    limit: int = 500,
    client: ZoomConnectClient | None = None,
) -> PollResult:
    """Ask the provider now for the status of these messages (an operator's "refresh").

    Only :func:`refreshable` ones are asked about, whenever they were last polled; the rest are
    left alone. As with :func:`refresh_statuses`, statuses only move forward.
    """
    now = timezone.now() if now is None else now
    return _poll(refreshable(messages).order_by("pk"), limit=limit, now=now, client=client)


def _poll(
    messages: QuerySet[Message], *, limit: int, now: datetime, client: ZoomConnectClient | None
) -> PollResult:
    """Look each of ``messages`` (at most ``limit``) up and move its status forward if it moved."""
    result = PollResult()
    sendable = unpaused(messages)  # a paused account's messages wait; the others are polled
    if sendable is None:
        result.paused = True
        return result
    messages, paused = sendable
    stale = list(messages[:limit])
    if not stale:
        return result
    with clients_for(client) as clients:
        polled: list[int] = []
        errors_in_a_row = 0
        for message in stale:
            if message.account in paused:
                continue  # refused during this run
            try:
                api = clients(message.account)
                remote = next((r for r in listed(api, message) if r.message_id == message.remote_id), None)
            except AuthenticationError as exc:
                pause_sending(f"Zoom Connect refused the credentials ({exc.status})", message.account)
                result.paused = True
                paused.add(message.account)
                continue
            except ZoomConnectError as exc:
                logger.info("Could not poll the status of message %s: %s", message.pk, exc)
                result.errors += 1
                errors_in_a_row += 1
                if errors_in_a_row >= MAX_CONSECUTIVE_ERRORS:
                    break
                continue
            errors_in_a_row = 0
            polled.append(message.pk)
            if remote is None or remote.status not in PROVIDER_STATUSES:
                continue
            if STATUS_RANK[remote.status] <= STATUS_RANK.get(message.status, -1):
                continue
            fields: dict[str, Any] = {"status": remote.status, "updated_at": now}
            if message.sent_at is None and remote.status != MessageStatus.SCHEDULED:
                fields["sent_at"] = remote.sent_at or now
            if remote.status == MessageStatus.DELIVERED:
                fields["delivered_at"] = now
            with transaction.atomic():
                if not Message.objects.filter(pk=message.pk, status=message.status).update(**fields):
                    continue
                change = StatusChange(
                    message.pk, message.status, str(remote.status), MessageStatusChange.Source.POLL
                )
                history.record([change], now=now)
                if remote.status == MessageStatus.FAILED_OPTOUT:
                    optouts.opt_out(
                        message.to_number,
                        source=optouts.Source.DELIVERY_REPORT,
                        detail="FAILED_OPTOUT (status poll)",
                        message=message,
                    )
            result.changed += 1
        for part in slices(polled):
            Message.objects.filter(pk__in=part).update(polled_at=now)
        result.polled = len(polled)
        return result
