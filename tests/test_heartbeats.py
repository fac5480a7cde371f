"""Tests for services/heartbeats.py: beat tasks record their runs; a stopped beat shows as late."""

import logging
from datetime import timedelta
from unittest import mock

import pytest
from celery.schedules import crontab, schedule
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from django_zoomconnect import tasks
from django_zoomconnect.models import BeatRun, Message
from django_zoomconnect.services import heartbeats
from django_zoomconnect.services.heartbeats import LATE_AT_LEAST, WATCHED, beat_health, record
from tests.celery_app import app
from tests.outbox import fast_outbox

pytestmark = pytest.mark.django_db


def test_record_keeps_one_row_per_task_and_returns_the_result():
    first = timezone.now() - timedelta(minutes=5)
    assert record("sweep_outbox", {"expired_claims": 1}, now=first) == {"expired_claims": 1}
    assert record("sweep_outbox", {"expired_claims": 0}) == {"expired_claims": 0}
    run = BeatRun.objects.get()
    assert run.task == "sweep_outbox"
    assert run.last_result == {"expired_claims": 0}
    assert run.last_run_at > first


def test_a_result_is_stored_as_json_whatever_it_is():
    when = timezone.now()
    record("dispatch_due", 3)
    record("refresh_statuses", {"at": when, "paused": False})
    stored = dict(BeatRun.objects.values_list("task", "last_result"))
    assert stored == {"dispatch_due": 3, "refresh_statuses": {"at": str(when), "paused": False}}


def test_a_heartbeat_that_cannot_be_written_never_fails_the_task_nor_its_transaction(caplog):
    def broken(*args, **kwargs):
        with connection.cursor() as cursor:  # a real database error, as a missing table gives
            cursor.execute("SELECT * FROM zoomconnect_no_such_table")

    with (
        mock.patch.object(QuerySet, "update", broken),
        caplog.at_level(logging.WARNING, "django_zoomconnect.services.heartbeats"),
    ):
        assert record("dispatch_due", 7) == 7
    assert "Could not record the run of the beat task dispatch_due" in caplog.text
    assert Message.objects.count() == 0  # the test's transaction is still usable
    assert not BeatRun.objects.exists()


def test_the_first_runs_of_two_workers_at_once_keep_one_row():
    BeatRun.objects.create(task="sweep_outbox", last_run_at=timezone.now(), last_result={})
    real_update = QuerySet.update
    calls = []

    def update_lost_the_race_once(self, **kwargs):
        calls.append(kwargs)
        return 0 if len(calls) == 1 else real_update(self, **kwargs)

    with mock.patch.object(QuerySet, "update", update_lost_the_race_once):
        record("sweep_outbox", {"tasks_enqueued": 2})
    assert len(calls) == 2
    assert BeatRun.objects.get().last_result == {"tasks_enqueued": 2}


@pytest.mark.django_db(transaction=True)
def test_each_outbox_beat_task_records_its_run(zoomconnect_simulator):
    with fast_outbox(zoomconnect_simulator):
        tasks.dispatch_due.apply().get()
        tasks.sweep_outbox.apply().get()
        tasks.reconcile_uncertain.apply().get()
        tasks.refresh_statuses.apply().get()
    runs = dict(BeatRun.objects.values_list("task", "last_result"))
    assert set(runs) == set(WATCHED)
    assert runs["dispatch_due"] == 0
    assert runs["sweep_outbox"] == {"expired_claims": 0, "batches_finished": 0, "tasks_enqueued": 0}
    assert runs["refresh_statuses"] == {"polled": 0, "changed": 0, "errors": 0, "paused": False}


def test_a_task_that_never_ran_or_stopped_is_late():
    now = timezone.now()
    record("dispatch_due", 0, now=now - timedelta(seconds=20))
    record("sweep_outbox", {}, now=now - timedelta(minutes=10))
    record("refresh_statuses", {}, now=now - timedelta(minutes=25))
    health = {beat.task: beat for beat in beat_health(now=now)}
    assert list(health) == list(WATCHED)
    assert not health["dispatch_due"].late  # 20 s after a run every 10 s: not yet an alarm
    assert health["dispatch_due"].age == 20
    assert health["sweep_outbox"].late  # ten minutes for a task of every minute
    assert health["reconcile_uncertain"].never_ran
    assert health["reconcile_uncertain"].late
    assert not health["refresh_statuses"].late  # 25 of its 10 minutes: less than three intervals


def test_late_means_several_intervals_but_never_less_than_a_floor():
    now = timezone.now()
    record("dispatch_due", 0, now=now - timedelta(seconds=LATE_AT_LEAST - 1))
    record("refresh_statuses", {}, now=now - timedelta(minutes=31))
    health = {beat.task: beat for beat in beat_health(now=now)}
    assert not health["dispatch_due"].late
    assert health["refresh_statuses"].late


def test_the_intervals_come_from_the_beat_schedule_when_fixed():
    intervals = heartbeats.scheduled_intervals(
        {
            "a": {"task": "django_zoomconnect.tasks.dispatch_due", "schedule": 5},
            "b": {"task": "django_zoomconnect.tasks.sweep_outbox", "schedule": timedelta(minutes=5)},
            "c": {"task": "django_zoomconnect.tasks.reconcile_uncertain", "schedule": schedule(45)},
            "d": {"task": "django_zoomconnect.tasks.refresh_statuses", "schedule": crontab(minute="*/15")},
            "e": {"task": "django_zoomconnect.tasks.sync_account", "schedule": 60},
            "f": {"task": "myproject.tasks.dispatch_due", "schedule": 1},
            "g": "not an entry",
        }
    )
    assert intervals == {"dispatch_due": 5.0, "sweep_outbox": 300.0, "reconcile_uncertain": 45.0}


def test_a_project_with_a_slower_sweeper_is_not_warned_about_it():
    now = timezone.now()
    record("sweep_outbox", {}, now=now - timedelta(minutes=10))
    beat_schedule = {"sweep": {"task": "django_zoomconnect.tasks.sweep_outbox", "schedule": 300.0}}
    with mock.patch.dict(app.conf, beat_schedule=beat_schedule):
        sweeper = next(beat for beat in beat_health(now=now) if beat.task == "sweep_outbox")
    assert (sweeper.interval, sweeper.scheduled, sweeper.late) == (300.0, True, False)
