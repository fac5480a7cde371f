"""A real Celery worker sends through the simulator: tasks, retries and lookups, exactly once.

The worker runs in a thread of this process (``celery.contrib.testing.worker``) and consumes from
the broker of the test settings: the memory broker locally, Redis in CI. The simulator answers
in-process (its transport is mounted for every session, whichever thread opens it). The rows are
written before the worker starts and, while it runs, this thread does not touch the database (it
waits for the worker's signals): SQLite's shared in-memory database locks whole tables.
"""

import logging
import threading

import pytest
from celery.contrib.testing.worker import start_worker

from django_zoomconnect import signals
from django_zoomconnect.models import Batch, Message, MessageStatus
from django_zoomconnect.services.outbox import send_bulk, send_sms
from tests.celery_app import app
from tests.outbox import fast_outbox, zoomconnect_settings

#: The most this test waits for the worker; it normally finishes in a second or two.
PATIENCE = 120


@pytest.fixture
def sim(zoomconnect_simulator):
    with fast_outbox(zoomconnect_simulator) as simulator, zoomconnect_settings(SEND_EAGERLY=False):
        yield simulator


@pytest.fixture
def logging_kept():
    """Celery's worker setup reconfigures logging (root level, handlers); give it back afterwards."""
    root = logging.getLogger()
    level, handlers, disabled = root.level, root.handlers[:], logging.root.manager.disable
    hijack = app.conf.worker_hijack_root_logger
    app.conf.worker_hijack_root_logger = False
    yield
    app.conf.worker_hijack_root_logger = hijack
    root.setLevel(level)
    root.handlers[:] = handlers
    logging.disable(disabled)


class Settled:
    """Counts messages reaching SENT, in whichever thread reports it; ``wait`` for all of them."""

    def __init__(self, expected):
        self.expected = expected
        self.sent = set()
        self.lock = threading.Lock()
        self.done = threading.Event()

    def __call__(self, sender, message, new_status, **kwargs):
        if new_status == MessageStatus.SENT:
            with self.lock:
                self.sent.add(message.pk)
                if len(self.sent) >= self.expected:
                    self.done.set()


@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_bulk_and_single_messages_exactly_once_through_faults(sim, logging_kept):
    sim.set_balance(100_000)
    sim.inject_fault("drop", path="sms/send-bulk", count=2)  # two chunks look up then adopt
    sim.inject_fault("500", path="sms/send-bulk", count=1)  # one chunk looks up, then is resent
    sim.inject_fault("refuse", path="sms/send", count=1)  # one single message is retried
    sim.inject_fault("429", path="sms/send", count=1, retry_after=0)
    settled = Settled(expected=300 + 5)
    signals.message_status_changed.connect(settled)
    app.control.purge()
    try:
        with zoomconnect_settings(BULK_CHUNK_SIZE=50):
            # Rows first (their tasks wait on the broker): SQLite locks whole tables across threads.
            batch = send_bulk(recipients=[f"+2782{n:07d}" for n in range(1_000_000, 1_000_300)], body="Sale!")
            singles = [send_sms(f"+2783{n:07d}", f"Your code is {n}") for n in range(5)]
            with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=60):
                finished = settled.done.wait(PATIENCE)
    finally:
        signals.message_status_changed.disconnect(settled)
    assert finished, f"only {len(settled.sent)} of 305 messages were sent"
    counters = sim.counters()
    messages = list(Message.objects.all())
    assert len(messages) == 305
    for message in messages:
        assert message.status == MessageStatus.SENT, (message.pk, message.status, message.last_error)
        assert counters["dataField:" + message.reference] == 1
    assert counters["sends.accepted"] == 305
    assert {f"faults.{kind}" for kind in ("drop", "500", "refuse", "429")} <= set(counters)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert all(Message.objects.get(pk=m.pk).attempts >= 1 for m in singles)
