"""Real worker processes killed with SIGKILL mid-batch, and racing each other: nothing lost, nothing twice.

These need what production has: worker processes of their own (``celery -A tests.celery_app
worker``), a broker that outlives them (Redis or RabbitMQ) and a database several processes write
to at once (PostgreSQL). CI runs them with ``ZOOMCONNECT_TEST_DB=postgres`` and a ``redis://``
broker, then again with an ``amqp://`` one; they are skipped otherwise. The simulator is served
over loopback by this process, so its counters survive every worker; this process plays the beat
(sweep and reconcile) while the workers run.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from django_zoomconnect.models import Batch, Message, MessageStatus, MessageStatusChange
from django_zoomconnect.services.outbox import reconcile, send_bulk
from tests.outbox import zoomconnect_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("ZOOMCONNECT_TEST_DB") != "postgres"
        or not os.environ.get("CELERY_BROKER_URL", "").startswith(("redis://", "amqp://")),
        reason="needs worker processes sharing PostgreSQL and a Redis or RabbitMQ broker: runs with "
        "ZOOMCONNECT_TEST_DB=postgres and CELERY_BROKER_URL=redis://... or amqp://... (as CI does)",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
#: The most a scenario may take before it is declared stuck (it normally takes 10 to 30 seconds).
PATIENCE = 240
OUTBOX = {
    "SEND_EAGERLY": False,  # the workers send; the simulator fixture would send in the test
    "BULK_CHUNK_SIZE": 100,
    "BALANCE_CHECK": "off",
    "SEND_RETRY_BACKOFF": 0,
    "SEND_RETRY_JITTER": 0,
    "RECONCILE_AFTER": 0,
    "REQUEUE_AFTER": 5,
    # The lease never drops below one call's TIMEOUT: short timeouts keep the recovery quick.
    "CLAIM_LEASE_SECONDS": 3,
    "TIMEOUT": [2, 6],
}


@pytest.fixture
def live(zoomconnect_live_simulator):
    simulator = zoomconnect_live_simulator
    simulator.set_balance(1_000_000)
    with zoomconnect_settings(**OUTBOX):
        from tests.celery_app import app

        app.control.purge()
        yield simulator


@pytest.fixture
def workers():
    """Start worker processes (each in its own process group); all are killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, concurrency: int = 2) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "ZOOMCONNECT_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
            "ZOOMCONNECT_WORKER_SETTINGS": json.dumps(settings.ZOOMCONNECT),
            "PYTHONPATH": str(ROOT),
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.celery_app",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
            f"--hostname={name}@%h",
        ]
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL
        )
        started.append(process)
        return process

    yield start
    for process in started:
        kill(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool children: no warm shutdown, no acknowledgement."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def play_beat_until_sent(count: int) -> None:
    """Sweep and reconcile (the beat's work) until ``count`` messages are sent, or give up."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        reconcile.sweep()
        reconcile.reconcile_uncertain()
        if Message.objects.filter(status=MessageStatus.SENT).count() >= count:
            return
        time.sleep(0.5)
    left = dict(Message.objects.exclude(status=MessageStatus.SENT).values_list("status").annotate())
    pytest.fail(f"not all {count} messages were sent within {PATIENCE}s; left: {left}")


def assert_each_accepted_once(simulator, count: int) -> None:
    counters = simulator.counters()
    messages = list(Message.objects.all())
    assert len(messages) == count
    duplicates = [m.reference for m in messages if counters.get("dataField:" + m.reference) != 1]
    assert duplicates == [], f"{len(duplicates)} messages accepted other than once"
    assert counters["sends.accepted"] == count
    for message in messages:
        assert message.status == MessageStatus.SENT
        assert simulator.message(message.remote_id).data_field == message.reference


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(live, workers):
    live.inject_fault("delay", path="sms/send-bulk", rate=1.0, seconds=0.5)  # answered late, not too late
    batch = send_bulk(recipients=[f"+2782{n:07d}" for n in range(1_000_000, 1_005_000)], body="Flash sale!")
    first = workers("first")
    deadline = time.monotonic() + PATIENCE
    while live.counters().get("sends.accepted", 0) < 1500:
        assert first.poll() is None, "the first worker died on its own"
        assert time.monotonic() < deadline, "the first worker never got going"
        time.sleep(0.05)
    kill(first)  # mid-batch: its pool is waiting for answers to sends the simulator already accepted
    killed_at = live.counters()["sends.accepted"]
    assert killed_at < 5000
    assert Message.objects.filter(status=MessageStatus.SENDING).exists()
    in_flight = Message.objects.filter(status=MessageStatus.SENDING).count()
    workers("fresh")
    play_beat_until_sent(5000)
    assert_each_accepted_once(live, 5000)
    # The messages in flight at the kill had reached the simulator: they were found, not resent.
    adopted = MessageStatusChange.objects.filter(
        old_status=MessageStatus.UNCERTAIN, new_status=MessageStatus.SENT
    )
    assert 0 < adopted.count() <= in_flight
    batch.refresh_from_db()
    reconcile.sweep()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_batch_send_nothing_twice(live, workers):
    from django_zoomconnect import tasks

    batch = send_bulk(recipients=[f"+2782{n:07d}" for n in range(2_000_000, 2_002_000)], body="Racing!")
    for chunk in range(batch.chunk_count):  # every chunk three more times, as a confused broker might
        for _ in range(3):
            tasks.send_chunk.delay(batch.pk, chunk)
    for pk in batch.messages.order_by("pk").values_list("pk", flat=True)[::7]:
        tasks.send_message.delay(pk)  # and single-message tasks racing their own chunk
    workers("left", concurrency=3)
    workers("right", concurrency=3)
    play_beat_until_sent(2000)
    assert_each_accepted_once(live, 2000)
