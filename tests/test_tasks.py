"""Tests for the sending tasks in tasks.py: options, enqueue after commit, follow-ups, beat tasks."""

import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from django_zoomconnect import tasks
from django_zoomconnect.models import Message, MessageStatus
from django_zoomconnect.services import outbox
from django_zoomconnect.services.outbox import send_bulk, send_sms
from tests.celery_app import app
from tests.outbox import fast_outbox, sent_count, zoomconnect_settings

NUMBER = "+27821234567"
SEND_TASKS = (tasks.send_message, tasks.send_chunk)
BEAT_TASKS = (tasks.dispatch_due, tasks.sweep_outbox, tasks.reconcile_uncertain, tasks.refresh_statuses)


@pytest.fixture
def sim(zoomconnect_simulator):
    with fast_outbox(zoomconnect_simulator) as simulator:
        yield simulator


@pytest.fixture
def worker_mode(sim):
    """Settings as in production: tasks are enqueued, not run in the caller's process."""
    with zoomconnect_settings(SEND_EAGERLY=False):
        yield sim


def test_send_tasks_are_acked_late_and_given_back_if_the_worker_dies():
    for task in SEND_TASKS:
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True
        assert task.ignore_result is True
    for task in BEAT_TASKS:
        assert task.acks_late is True


def test_tasks_have_stable_names_for_the_beat_schedule():
    names = {task.name for task in (*SEND_TASKS, *BEAT_TASKS)}
    assert names == {
        "django_zoomconnect.tasks.send_message",
        "django_zoomconnect.tasks.send_chunk",
        "django_zoomconnect.tasks.dispatch_due",
        "django_zoomconnect.tasks.sweep_outbox",
        "django_zoomconnect.tasks.reconcile_uncertain",
        "django_zoomconnect.tasks.refresh_statuses",
    }
    assert names <= set(app.tasks)


def rolled_back():
    with transaction.atomic():
        send_sms(NUMBER, "rolled back")
        raise RuntimeError("the caller's transaction fails")


@pytest.mark.django_db(transaction=True)
def test_a_task_is_enqueued_only_once_the_rows_are_committed(worker_mode):
    with (
        mock.patch.object(tasks.send_message, "delay") as delay,
        mock.patch.object(tasks.send_chunk, "delay") as chunk,
    ):
        with transaction.atomic():
            message = send_sms(NUMBER, "hi")
            batch = send_bulk(recipients=[NUMBER, "+27821234568"], body="hi")
            assert delay.call_count == 0
            assert chunk.call_count == 0
        delay.assert_called_once_with(message.pk)
        chunk.assert_called_once_with(batch.pk, 0)
        with pytest.raises(RuntimeError):
            rolled_back()
        assert delay.call_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_does_not_fail_the_caller(worker_mode, caplog):
    with (
        mock.patch.object(tasks.send_message, "delay", side_effect=ConnectionError("broker down")),
        caplog.at_level(logging.WARNING),
    ):
        message = send_sms(NUMBER, "hi")
    assert message.status == MessageStatus.QUEUED
    assert "the dispatch_due beat task sends it once the broker can be reached" in caplog.text
    with mock.patch.object(tasks.send_message, "delay") as delay, zoomconnect_settings(REQUEUE_AFTER=120):
        assert outbox.dispatch_due() == 0  # its task may still be on its way
        assert outbox.dispatch_due(now=timezone.now() + timedelta(seconds=121)) == 1
    delay.assert_called_once_with(message.pk)


@pytest.mark.django_db(transaction=True)
def test_the_send_task_sends_and_a_duplicate_delivery_does_nothing(worker_mode):
    with mock.patch.object(tasks.send_message, "delay"):
        message = send_sms(NUMBER, "hi")
    first = tasks.send_message.apply((message.pk,)).get()
    second = tasks.send_message.apply((message.pk,)).get()
    assert (first["claimed"], first["sent"]) == (1, 1)
    assert (second["claimed"], second["sent"]) == (0, 0)
    assert sent_count(worker_mode, Message.objects.get()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_is_scheduled_with_a_short_countdown(worker_mode):
    worker_mode.inject_fault("429", retry_after=5)
    with mock.patch.object(tasks.send_message, "delay"):
        message = send_sms(NUMBER, "hi")
    with mock.patch.object(tasks.send_message, "apply_async") as again:
        tasks.send_message.apply((message.pk,))
    again.assert_called_once_with((message.pk,), countdown=5.0)


@pytest.mark.django_db(transaction=True)
def test_a_chunk_retry_and_a_lookup_are_scheduled(worker_mode):
    with mock.patch.object(tasks.send_chunk, "delay"):
        batch = send_bulk(recipients=[NUMBER, "+27821234568"], body="hi")
    worker_mode.inject_fault("refuse")
    with mock.patch.object(tasks.send_chunk, "apply_async") as again:
        tasks.send_chunk.apply((batch.pk, 0))
    again.assert_called_once_with((batch.pk, 0), countdown=0.0)
    worker_mode.inject_fault("drop")
    with (
        zoomconnect_settings(SEND_EAGERLY=False, RECONCILE_AFTER=30),
        mock.patch.object(tasks.reconcile_uncertain, "apply_async") as lookup,
    ):
        tasks.send_chunk.apply((batch.pk, 0))
    lookup.assert_called_once_with(countdown=30.0)
    assert set(batch.messages.values_list("status", flat=True)) == {MessageStatus.UNCERTAIN}


@pytest.mark.django_db(transaction=True)
def test_eagerly_there_is_no_follow_up_task(sim):
    sim.inject_fault("refuse")
    with mock.patch.object(tasks.send_message, "apply_async") as again:
        message = send_sms(NUMBER, "hi")
        tasks.send_message.apply((message.pk,))
    again.assert_not_called()


@pytest.mark.django_db(transaction=True)
def test_celery_always_eager_sends_without_a_worker(worker_mode):
    app.conf.task_always_eager = True
    try:
        message = send_sms(NUMBER, "hi")
        batch = send_bulk(recipients=[NUMBER, "+27821234568"], body="hi")
    finally:
        app.conf.task_always_eager = False
    assert message.status == MessageStatus.SENT
    assert set(batch.messages.values_list("status", flat=True)) == {MessageStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_the_beat_tasks_run_their_services(worker_mode):
    with mock.patch.object(tasks.send_message, "delay"):
        message = send_sms(NUMBER, "later", send_at=timezone.now() + timedelta(hours=1))
    assert tasks.dispatch_due.apply().get() == 0
    assert tasks.sweep_outbox.apply().get() == {
        "expired_claims": 0,
        "batches_finished": 0,
        "tasks_enqueued": 0,
    }
    assert tasks.reconcile_uncertain.apply().get()["adopted"] == 0
    assert tasks.refresh_statuses.apply().get() == {"polled": 0, "changed": 0, "errors": 0, "paused": False}
    Message.objects.filter(pk=message.pk).update(dispatch_after=timezone.now())
    with mock.patch.object(tasks.send_message, "delay") as delay:
        assert tasks.dispatch_due.apply().get() == 1
    delay.assert_called_once_with(message.pk)
