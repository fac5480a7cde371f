"""Fixtures and helpers shared by the sending tests: the simulator with outbox settings, and a driver.

Imported by tests/test_outbox_*.py and test_tasks.py (``from tests.outbox
import ...``); the fixtures build on the ``zoomconnect_simulator`` fixture of our pytest plugin.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from django.conf import settings
from django.test import override_settings

from django_zoomconnect.models import Direction, Message, MessageStatus
from django_zoomconnect.services import outbox
from django_zoomconnect.services.outbox import compose, reconcile, wake
from django_zoomconnect.simulator import Simulator
from django_zoomconnect.wire import SendResult

#: Settings that make the outbox deterministic and free of waiting in tests.
FAST = {
    "SEND_EAGERLY": True,
    "BALANCE_CHECK": "off",
    "SEND_RETRY_BACKOFF": 0,
    "SEND_RETRY_JITTER": 0,
    "RECONCILE_AFTER": 0,
    "REQUEUE_AFTER": 0,
}

PENDING = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.UNCERTAIN)


def outbound(to: str = "+27821234567", body: str = "hello", **fields: Any) -> Message:
    """An outbound message row, written straight to the database (no send)."""
    return Message.objects.create(direction=Direction.OUTBOUND, to_number=to, body=body, **fields)


@contextmanager
def zoomconnect_settings(**overrides: Any) -> Iterator[None]:
    """``settings.ZOOMCONNECT`` as it is, with ``overrides``."""
    with override_settings(ZOOMCONNECT={**settings.ZOOMCONNECT, **overrides}):
        yield


@contextmanager
def fast_outbox(simulator: Simulator) -> Iterator[Simulator]:
    """``simulator`` with the outbox dispatching eagerly and never waiting (for a ``sim`` fixture)."""
    with zoomconnect_settings(**FAST):
        yield simulator


@contextmanager
def holding_tasks() -> Iterator[list[tuple[Any, ...]]]:
    """Record the tasks the outbox would enqueue instead of enqueueing them (or running them).

    Rows are written queued, for those tasks to claim, even where an eager ``send_bulk`` would
    write them claimed to send them at once."""
    held: list[tuple[Any, ...]] = []
    with (
        mock.patch.object(wake, "enqueue_message", lambda pk: held.append(("message", pk))),
        mock.patch.object(wake, "enqueue_chunk", lambda batch, chunk: held.append(("chunk", batch, chunk))),
        mock.patch.object(compose, "_claimed_at_once", return_value={}),
    ):
        yield held


def sent_count(simulator: Simulator, message: Message) -> int:
    """How many times the simulator accepted this message (its ``dataField``)."""
    return simulator.counters().get("dataField:" + outbox.wire_data_field(message), 0)


def drive(rounds: int = 200) -> int:
    """Run the beat tasks' services until nothing is pending; the number of rounds it took."""
    for round_number in range(1, rounds + 1):
        reconcile.sweep()
        reconcile.reconcile_uncertain()
        outbox.dispatch_due()
        if not Message.objects.filter(status__in=PENDING).exists():
            return round_number
    pending = list(Message.objects.filter(status__in=PENDING).values_list("pk", "status", "last_error")[:5])
    raise AssertionError(f"still pending after {rounds} rounds: {pending}")


class SameIdClient:
    """A client that answers every send with one fixed message id, as a confused provider might."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id

    def send_sms(self, *args: Any, **kwargs: Any) -> SendResult:
        return SendResult(message_id=self.message_id, error=None)
