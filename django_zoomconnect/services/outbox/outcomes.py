"""Outcomes of a dispatch: each claimed message's fate, written, recorded and announced.

Why apart from :mod:`.dispatch`: the claim and the call decide *what happened*; this module
writes it back. Every write is a conditional ``UPDATE`` on the claim token and ``SENDING`` (a
late worker whose lease was taken away changes nothing), a constant number of statements per
chunk, in the dispatch's transaction with the status history; the signals, and the delivery
reports that overtook the send's answer, follow the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from ... import signals
from ...exceptions import ZoomConnectError
from ...models import Message, MessageStatus, MessageStatusChange, WebhookEvent
from .. import history, inbound
from .. import rows as bulk
from ..history import StatusChange
from ..reports import Counts
from .state import slices

if TYPE_CHECKING:
    from .dispatch import Claimed

__all__ = ["DispatchResult", "Outcome", "Recorder", "Stored", "apply_deferred_reports"]

logger = logging.getLogger("django_zoomconnect.services.outbox")
SEND = MessageStatusChange.Source.SEND


@dataclass
class DispatchResult(Counts):
    """What one dispatch did; tasks use ``retry_in`` and ``reconcile_in`` to schedule follow-ups."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    rejected: int = 0
    requeued: int = 0
    uncertain: int = 0
    paused: bool = False
    #: Seconds until messages put back in the queue are due again, if any were.
    retry_in: float | None = None
    #: Seconds until uncertain messages may be looked up, if any became uncertain.
    reconcile_in: float | None = None


@dataclass
class Outcome:
    """The outcome of one message, to be written, announced and recorded."""

    status: str
    error: ZoomConnectError | None = None
    text: str = ""
    code: int | None = None
    remote_id: str | None = None


@dataclass(frozen=True)
class Stored:
    """What is needed of a message after its outcome was written, when nobody listens for signals."""

    pk: int
    status: str
    remote_id: str | None
    reference: str
    data_field: str
    attempts: int
    account: str


#: Fields written for an accepted message; remote_id and sent_at keep what a webhook stored first.
_ACCEPTED = (
    "remote_id",
    "status",
    "sent_at",
    "last_error",
    "error_code",
    "claim_token",
    "dispatch_after",
    "updated_at",
)

_REFUSED = ("status", "last_error", "error_code", "claim_token", "dispatch_after", "updated_at")

_HOLDER = ("id", "claim_token", "status")

#: What :class:`Stored` holds, in its order.
_STORED = ("id", "status", "remote_id", "reference", "data_field", "attempts", "account")

#: Outcomes that put a message back in the outbox rather than moving its life forward.
_BOOKKEEPING = frozenset({MessageStatus.QUEUED, MessageStatus.UNCERTAIN})


@dataclass
class Recorder:
    """Writes outcomes with conditional UPDATEs (a constant number per chunk) and announces them."""

    token: str
    now: datetime
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    #: The status changes recorded, announced after the commit.
    changes: list[StatusChange] = field(default_factory=list)

    def write(self, messages: Sequence[Message | Claimed]) -> Sequence[Message | Stored]:
        now, token, sending_ = self.now, self.token, MessageStatus.SENDING
        accepted = []
        refused = []
        for pk, o in self.outcomes.items():
            if o.status in (MessageStatus.SENT, MessageStatus.SCHEDULED):
                sent_at = now if o.status == MessageStatus.SENT else None
                accepted.append(
                    (o.remote_id, o.status, sent_at, "", None, "", None, now, pk, token, sending_)
                )
            elif o.status in (MessageStatus.FAILED, MessageStatus.REJECTED):
                refused.append((o.status, o.text, o.code, "", None, now, pk, token, sending_))
            # QUEUED and UNCERTAIN were written when the error was classified.
        # In the caller's transaction (one per dispatch); the savepoint isolates a remote id clash.
        # Where the UPDATEs can answer the rows they changed (PostgreSQL) and nobody listens for
        # full messages, only the messages they did not change are read back.
        full = bool(signals.post_send.receivers or signals.message_status_changed.receivers)
        update = bulk.update_each if full else partial(bulk.update_each_returning, returning=_STORED)
        changed = update(Message, _REFUSED, _HOLDER, refused)
        try:
            with transaction.atomic():
                answer = update(Message, _ACCEPTED, _HOLDER, accepted, keep_existing=("remote_id", "sent_at"))
        except IntegrityError:
            self._write_one_by_one(accepted)
            answer = changed = None
        pks = [m.pk for m in messages]
        found: dict[int, Message | Stored] = {}
        if full:
            for part in slices(pks):
                found.update((m.pk, m) for m in Message.objects.filter(pk__in=part))
            return [found[pk] for pk in pks if pk in found]
        if isinstance(changed, list) and isinstance(answer, list):
            found.update((row[0], Stored(*row)) for row in (*changed, *answer))
        for part in slices([pk for pk in pks if pk not in found]):
            values = Message.objects.filter(pk__in=part).values_list(*_STORED)
            found.update((row[0], Stored(*row)) for row in values)
        return [found[pk] for pk in pks if pk in found]

    @staticmethod
    def _write_one_by_one(accepted: list[tuple[Any, ...]]) -> None:
        # A remote id already stored on another row (a provider reusing ids, or a wrong
        # adoption): keep every other message's, record this one's outcome without it.
        for row in accepted:
            try:
                with transaction.atomic():
                    bulk.update_each(
                        Message, _ACCEPTED, _HOLDER, [row], keep_existing=("remote_id", "sent_at")
                    )
            except IntegrityError:
                logger.error("Message %s: remote id %s is already stored on another row", row[-3], row[0])
                bulk.update_each(Message, _ACCEPTED[1:], _HOLDER, [row[1:]], keep_existing=("sent_at",))

    def record_history(self, stored: Sequence[Message | Stored]) -> None:
        for message in stored:
            outcome = self.outcomes.get(message.pk)
            if outcome is None or message.status != outcome.status:
                continue
            if outcome.status in _BOOKKEEPING:
                continue  # outbox bookkeeping, not a step of the message's life
            detail: dict[str, Any] = {"attempt": message.attempts}
            if outcome.text:
                detail["error"] = outcome.text
            if outcome.code is not None:
                detail["code"] = outcome.code
            self.changes.append(StatusChange(message.pk, MessageStatus.SENDING, outcome.status, SEND, detail))
        history.record(self.changes, now=self.now, announced=False)

    def announce(self, stored: Sequence[Message | Stored], *, called: bool) -> None:
        """After the commit: apply reports that overtook the answer, then send the signals."""
        apply_deferred_reports([m for m in stored if m.remote_id])
        if called and signals.post_send.receivers:
            for message in stored:
                outcome = self.outcomes.get(message.pk)
                if outcome is not None and outcome.status != MessageStatus.REJECTED:
                    signals.send_robustly(signals.post_send, Message, message=message, error=outcome.error)
        history.announce(self.changes, {m.pk: m for m in stored if isinstance(m, Message)})


def apply_deferred_reports(messages: Sequence[Message | Stored]) -> None:
    """Apply delivery reports that overtook the send's answer: only these messages' (found by
    their remote ids and references, through the events' indexes), one query per slice."""
    if not messages:
        return
    deferred = WebhookEvent.objects.filter(
        state=WebhookEvent.State.DEFERRED, kind=WebhookEvent.Kind.DELIVERY_REPORT
    )
    # One probe of the (state, received_at) index: usually nothing waits, and then the look-up
    # by a chunk's remote ids and references (two IN lists of hundreds of values) is skipped.
    if not deferred.exists():
        return
    keys: set[str] = set()
    for part in slices(messages):
        remote_ids = [m.remote_id for m in part if m.remote_id]
        references = [value for m in part for value in (m.reference, m.data_field) if value]
        waiting = deferred.filter(Q(remote_message_id__in=remote_ids) | Q(data_field__in=references))
        for remote_id, data_field in waiting.values_list("remote_message_id", "data_field"):
            keys.update((remote_id, data_field))
    keys.discard("")
    for message in messages:
        if keys & {message.remote_id or "", message.reference, message.data_field}:
            full = message if isinstance(message, Message) else Message.objects.get(pk=message.pk)
            inbound.apply_deferred_reports(full)
