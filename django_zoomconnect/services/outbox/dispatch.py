"""Dispatching: claim queued messages, call the API once, and record what it says.

Why a claim: before calling the API a worker moves its rows from ``QUEUED`` to ``SENDING`` with
one conditional ``UPDATE`` (stamped with a fresh claim token), outside any transaction, so a
duplicate delivery of the same task, or a second worker, finds nothing left to claim. The
claim is renewed, fenced by its token, right before the call (:func:`_fence`), and every later
write is conditional on that token and on ``SENDING``, so a late worker whose lease the sweeper
took away cannot overwrite what happened since.

What a failed call means for its messages is in :mod:`.failures`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ... import conf, signals
from ...client import ZoomConnectClient
from ...exceptions import (
    ConfigurationError,
    SendVetoed,
    ZoomConnectError,
)
from ...models import Batch, Direction, Message, MessageStatus, MessageStatusChange
from ...wire import SendResult
from ..clients import client_for
from ..mapping import sms_request
from .failures import classify, held, put_back
from .outcomes import DispatchResult, Outcome, Recorder, apply_deferred_reports
from .state import PENDING_STATUSES, due, is_paused, now_or, pause_sending, short, slices

__all__ = [
    "DispatchResult",
    "apply_deferred_reports",
    "claim_fields",
    "date_to_send",
    "dispatch_chunk",
    "dispatch_message",
    "finish_batches",
]

logger = logging.getLogger("django_zoomconnect.services.outbox")
SEND = MessageStatusChange.Source.SEND


def _in_a_transaction() -> bool:
    """Whether a transaction is open (the test support counts a test's own transaction as none)."""
    return bool(connection.in_atomic_block)


def _require_autocommit() -> None:
    # The claim must be committed before the API call: inside a transaction, a crash or a
    # rollback after the call would undo the claim of a message the provider already has.
    if _in_a_transaction():
        raise RuntimeError(
            "django_zoomconnect dispatches messages outside any transaction (the claim must be "
            "committed before the API is called); run it from a task, a command, or "
            "transaction.on_commit()."
        )


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a send needs of a claimed message, read without building a model instance."""

    pk: int
    to_number: str
    body: str
    campaign: str
    data_field: str
    reference: str
    scheduled_at: datetime | None
    attempts: int
    account: str


_CLAIMED_FIELDS = tuple(Claimed.__dataclass_fields__)


def _claim(match: Q, now: datetime, *, batch_id: int | None = None) -> tuple[str, list[Message | Claimed]]:
    """Claim the due queued messages matching ``match``: one UPDATE, committed, then read what was won.

    The claim is its own short transaction, committed before the API is called (with the batch's
    move to ``DISPATCHING``, so that the two cost one commit).
    """
    token = uuid.uuid4().hex
    with transaction.atomic():
        claimed = (
            Message.objects.filter(match, due(now), status=MessageStatus.QUEUED, direction=Direction.OUTBOUND)
            .order_by()
            .update(
                status=MessageStatus.SENDING,
                claim_token=token,
                claimed_at=now,
                attempts=F("attempts") + 1,
                updated_at=now,
            )
        )
        if claimed and batch_id is not None:
            Batch.objects.filter(pk=batch_id, status=Batch.Status.PENDING).update(
                status=Batch.Status.DISPATCHING
            )
    if not claimed:
        return token, []
    return token, _claimed(match, token)


def _claimed(match: Q, token: str) -> list[Message | Claimed]:
    """The messages ``token`` holds among those matching ``match``, read through the match (its
    index), the token picking what the claim won."""
    claimed_rows = Message.objects.filter(match, claim_token=token, status=MessageStatus.SENDING).order_by(
        "pk"
    )
    if signals.pre_send.receivers:
        # Receivers get the message; what a send does not need loads when they read it.
        return list(claimed_rows.only(*_CLAIMED_FIELDS))
    return [Claimed(*row) for row in claimed_rows.values_list(*_CLAIMED_FIELDS)]


def claim_fields(now: datetime) -> dict[str, Any]:
    """The fields of rows written already claimed, by one new claim made at ``now`` (its token
    is ``claim_token``): :func:`dispatch_chunk` sends them with ``claim=token, now=now``."""
    return {
        "status": MessageStatus.SENDING,
        "claim_token": uuid.uuid4().hex,
        "claimed_at": now,
        "attempts": 1,
    }


def _veto(messages: Sequence[Message | Claimed], recorder: Recorder) -> list[Message | Claimed]:
    """Ask the ``pre_send`` receivers about each message; those vetoed are recorded REJECTED."""
    if not signals.pre_send.receivers:
        return list(messages)
    going = []
    for message in messages:
        reason = None
        answers = signals.send_robustly(signals.pre_send, Message, message=message, expected=(SendVetoed,))
        for _, response in answers:
            if isinstance(response, SendVetoed):
                reason = str(response) or "vetoed"
        if reason is None:
            going.append(message)
        else:
            recorder.outcomes[message.pk] = Outcome(
                MessageStatus.REJECTED, text=short(f"Vetoed by a pre_send receiver: {reason}")
            )
    return going


#: A claim this recent was made for this call: the attempt's time is the claim's.
_SAME_MOMENT = timedelta(seconds=1)


def _fresh_for() -> timedelta:
    """How old a claim may be and still go to the API without its lease renewed (see
    :func:`_fence`): half of what the lease leaves after two whole calls with their timeouts (115
    seconds by default). The other half allows for the sweeper's clock running ahead of this
    process's."""
    call = sum(conf.timeout())
    return timedelta(seconds=max(0.0, (conf.claim_lease() - 2 * call) / 2))


def _fence(
    token: str, going: Sequence[Message | Claimed], now: datetime
) -> tuple[list[Message | Claimed], datetime]:
    """Renew the claim right before the API call; only the messages still held by ``token`` go.

    Between the claim and the call a worker can stall (a slow ``pre_send`` receiver, a paused
    VM) for longer than its lease; the sweeper then makes its messages ``UNCERTAIN`` and another
    worker may send them. The renewal is a conditional UPDATE on the token and ``SENDING``, so a
    stalled worker finds it has lost them and sends nothing; the messages it still holds get a
    fresh lease (``claimed_at``) that covers the call with its timeouts. Returns those messages
    and the time of the renewal.

    The renewal is skipped (no query) when no ``pre_send`` receiver ran and the claim was made
    at ``now`` less than :func:`_fresh_for` ago by this process's clock: then the lease still
    covers the call with its timeouts, however far the sweeper's clock runs ahead (within the
    other half). That is the common case: a worker claims and calls at once, and an eager
    ``send_bulk`` that wrote its rows claimed sends its chunks one after the other. The
    attempt's time is then the claim's, when the claim was made within the last second, else
    the present (a ``sent_at`` true to the call).
    """
    pks = [m.pk for m in going]
    renewed_at = max(now, timezone.now())
    if not signals.pre_send.receivers and renewed_at - now <= _fresh_for():
        return list(going), now if renewed_at - now <= _SAME_MOMENT else renewed_at
    renewed = 0
    for part in slices(pks):
        renewed += held(token, part).update(claimed_at=renewed_at)
    if renewed == len(pks):
        return list(going), renewed_at
    still: set[int] = set()
    for part in slices(pks):
        still.update(held(token, part).values_list("pk", flat=True))
    lost = len(pks) - len(still)
    logger.warning(
        "%d claimed message(s) were taken back while their worker stalled before the API call; "
        "not sending them from here",
        lost,
    )
    return [m for m in going if m.pk in still], renewed_at


def date_to_send(message: Message | Claimed, now: datetime) -> datetime | None:
    """``dateToSend`` for a message the provider is to hold (``SCHEDULING = "provider"``).

    Locally scheduled messages are dispatched when due and never carry one. Seconds are dropped
    by the API's ``yyyyMMddHHmm``, so a time within the next minute is sent now.
    """
    if conf.get("SCHEDULING") != "provider" or message.scheduled_at is None:
        return None
    if message.scheduled_at > now + timedelta(seconds=60):
        return message.scheduled_at
    return None


def _dispatch(
    token: str,
    messages: Sequence[Message | Claimed],
    *,
    now: datetime,
    client: ZoomConnectClient,
    bulk: bool,
    messages_per_minute: int | None = None,
    finish_batch: int | None = None,
) -> DispatchResult:
    """Call the API for claimed messages, then record every outcome in one transaction (with
    ``finish_batch``'s move to ``DONE`` when nothing of it is left to send)."""
    result = DispatchResult(claimed=len(messages))
    recorder = Recorder(token, now)
    going = _veto(messages, recorder)
    result.rejected = len(messages) - len(going)
    if going:
        # From here on "now" is the attempt's time: the renewed claim, the backoff, sent_at.
        going, now = _fence(token, going, now)
        recorder.now = now
    called = False
    error: ZoomConnectError | None = None
    if going:
        fmt = str(conf.get("PHONE_NUMBER_FORMAT"))
        held_by_provider = conf.get("SCHEDULING") == "provider"  # else no message carries a date
        dates = [date_to_send(m, now) if held_by_provider else None for m in going]
        requests = [
            sms_request(m, date_to_send=when, number_format=fmt) for m, when in zip(going, dates, strict=True)
        ]
        answers: list[SendResult] | None = None
        called = True
        try:
            if bulk:
                answers = client.send_bulk(requests, messages_per_minute=messages_per_minute)
            else:
                request = requests[0]
                answers = [
                    client.send_sms(
                        request.recipient_number,
                        request.message,
                        date_to_send=request.date_to_send,
                        campaign=request.campaign,
                        data_field=request.data_field,
                    )
                ]
        except ZoomConnectError as exc:
            error = exc
        if answers is not None:
            for message, answer, when in zip(going, answers, dates, strict=True):
                if answer.ok:
                    status = MessageStatus.SCHEDULED if when is not None else MessageStatus.SENT
                    recorder.outcomes[message.pk] = Outcome(status, remote_id=answer.message_id)
                    result.sent += 1
                else:
                    text = answer.error or "The provider accepted the request but gave no message id."
                    recorder.outcomes[message.pk] = Outcome(MessageStatus.FAILED, text=short(text))
                    result.failed += 1
    with transaction.atomic():
        if error is not None:
            classify(error, token, going, now, recorder, result)
        stored = recorder.write(messages)
        recorder.record_history(stored)
        if finish_batch is not None:
            finish_batches(batch_id=finish_batch, now=now)
    recorder.announce(stored, called=called)
    return result


@contextmanager
def _sending_client(
    model: type[Message] | type[Batch], pk: int, client: ZoomConnectClient | None, account: str | None
) -> Iterator[ZoomConnectClient | None]:
    """The client that sends row ``pk``, closed after: its account's (``account`` when the caller
    knows it, else the row's, one query and only when several accounts are configured), or
    ``None`` while that account is paused. A worker runs no system check: when the account's
    settings cannot make a client (a credential no HTTP request can carry, say), its sending is
    paused with the reason before anything is claimed, and its messages wait, queued, for the
    settings to be fixed and sending to be resumed."""
    _require_autocommit()
    if account is None:
        account = conf.DEFAULT_ACCOUNT
        if conf.has_several_accounts():
            found = model.objects.filter(pk=pk).values_list("account", flat=True).first()
            account = found or conf.DEFAULT_ACCOUNT
    with ExitStack() as stack:
        api = None
        if not is_paused(account):
            try:
                api = stack.enter_context(client_for(client, account=account))
            except ConfigurationError as exc:
                pause_sending(f"the settings cannot make a Zoom Connect client ({exc})", account)
        yield api


def dispatch_message(
    message_id: int,
    *,
    now: datetime | None = None,
    client: ZoomConnectClient | None = None,
    account: str | None = None,
) -> DispatchResult:
    """Claim one queued message and send it through ``sms/send``; a no-op when nothing is claimable.

    Batch messages are sent through their chunk: a single-message task for one of them sends
    just that message (a retry of a batch message is dispatched like any other). The message's
    account's client sends it (``account``, when the caller knows it, saves looking it up).
    """
    now = now_or(now)
    with _sending_client(Message, message_id, client, account) as api:
        if api is None:
            return DispatchResult(paused=True)
        token, messages = _claim(Q(pk=message_id), now)
        if not messages:
            return DispatchResult()
        return _dispatch(token, messages, now=now, client=api, bulk=False)


def dispatch_chunk(
    batch_id: int,
    chunk: int,
    *,
    now: datetime | None = None,
    client: ZoomConnectClient | None = None,
    account: str | None = None,
    claim: str | None = None,
) -> DispatchResult:
    """Claim the due queued messages of one chunk and send them in one ``sms/send-bulk`` call,
    through the batch's account's client.

    ``claim`` is the token of the claim the rows were written with (:func:`claim_fields`, an
    eager ``send_bulk``), ``now`` its time: those rows are sent without a claim of their own.
    Should their account be paused since, they go back to the queue to wait for the resume.
    """
    now = now_or(now)
    match = Q(batch_id=batch_id, chunk=chunk)
    with _sending_client(Batch, batch_id, client, account) as api:
        if claim is not None:
            token, messages = claim, _claimed(match, claim)
            if api is None:
                pks = [m.pk for m in messages]
                put_back(token, pks, now=now, delay=None, error="Sending was paused.", count_attempt=False)
                return DispatchResult(paused=True, claimed=len(pks), requeued=len(pks))
        elif api is None:
            return DispatchResult(paused=True)
        else:
            token, messages = _claim(match, now, batch_id=batch_id)
        if not messages:
            finish_batches(batch_id=batch_id, now=now)
            return DispatchResult()
        pacing = Batch.objects.filter(pk=batch_id).values_list("messages_per_minute", "chunk_count").first()
        per_minute, chunk_count = pacing or (None, 0)
        bulk_call = len(messages) > 1 or per_minute is not None
        # Chunks written claimed are sent in order: only the last one can finish the batch.
        finishes = claim is None or chunk >= chunk_count - 1
        return _dispatch(
            token,
            messages,
            now=now,
            client=api,
            bulk=bulk_call,
            messages_per_minute=per_minute,
            finish_batch=batch_id if finishes else None,
        )


def finish_batches(*, batch_id: int | None = None, now: datetime | None = None) -> int:
    """Mark batches with nothing left to send ``DONE``; how many were."""
    batches = Batch.objects.filter(status__in=(Batch.Status.PENDING, Batch.Status.DISPATCHING))
    if batch_id is not None:
        batches = batches.filter(pk=batch_id)
    return batches.exclude(messages__status__in=PENDING_STATUSES).update(
        status=Batch.Status.DONE, finished_at=now_or(now)
    )
