"""Tests for checks.py's wiring checks: the REST API, beat schedules, the broker, batch webhooks."""

from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import include, path

from django_zoomconnect import checks

#: A project that includes the REST API (the tests below make it the URLconf).
urlpatterns = [path("api/zoomconnect/", include("django_zoomconnect.api.urls"))]

SCHEDULE = {
    name: {"task": f"django_zoomconnect.tasks.{name}", "schedule": 30.0}
    for name in ("dispatch_due", "sweep_outbox", "reconcile_uncertain")
}


@pytest.fixture
def celery(monkeypatch):
    """The Celery app's configuration as the checks see it: a broker, no schedule, not eager."""
    fake = SimpleNamespace(
        broker_url="redis://127.0.0.1:6379/0", beat_schedule={}, beat_scheduler=None, task_always_eager=False
    )
    monkeypatch.setattr(checks, "_celery_conf", lambda: fake)
    return fake


def ids(**zoomconnect):
    with override_settings(ZOOMCONNECT={**settings.ZOOMCONNECT, **zoomconnect}):
        return [message.id for message in checks.check_wiring()]


def test_a_wired_project_passes(celery):
    with override_settings(ROOT_URLCONF=__name__, CELERY_BEAT_SCHEDULE=SCHEDULE):
        assert ids() == []


def test_the_api_urls_without_rest_framework_are_an_error(celery):
    installed = [app for app in settings.INSTALLED_APPS if app != "rest_framework"]
    with override_settings(INSTALLED_APPS=installed, ROOT_URLCONF=__name__, CELERY_BEAT_SCHEDULE=SCHEDULE):
        found = checks.check_wiring()
    assert [message.id for message in found] == ["zoomconnect.E006"]
    assert "'rest_framework'" in found[0].hint


def test_a_project_without_the_api_urls_does_not_need_rest_framework(celery):
    installed = [app for app in settings.INSTALLED_APPS if app != "rest_framework"]
    with override_settings(INSTALLED_APPS=installed, CELERY_BEAT_SCHEDULE=SCHEDULE):
        assert ids() == []  # tests.urls routes the webhooks only


def test_no_beat_schedule_is_a_warning_naming_the_missing_tasks(celery):
    partial = {"due": SCHEDULE["dispatch_due"]}
    with override_settings(CELERY_BEAT_SCHEDULE=partial):
        found = checks.check_wiring()
    assert [message.id for message in found] == ["zoomconnect.W006"]
    assert "sweep_outbox, reconcile_uncertain" in found[0].msg
    assert "dispatch_due" not in found[0].msg


def test_the_celery_apps_own_schedule_counts(celery):
    celery.beat_schedule = SCHEDULE
    assert ids() == []


def test_a_database_scheduler_is_trusted(celery):
    with override_settings(CELERY_BEAT_SCHEDULER="django_celery_beat.schedulers:DatabaseScheduler"):
        assert ids() == []


@pytest.mark.parametrize("eager", ["setting", "celery"])
def test_sending_eagerly_needs_neither_beat_nor_broker(celery, eager):
    celery.broker_url = None
    with override_settings(CELERY_BROKER_URL=None):
        if eager == "setting":
            assert ids(SEND_EAGERLY=True) == []
        else:
            celery.task_always_eager = True
            assert ids() == []


def test_the_default_broker_is_a_warning(celery):
    celery.broker_url = None
    with override_settings(CELERY_BROKER_URL=None, CELERY_BEAT_SCHEDULE=SCHEDULE):
        found = checks.check_wiring()
    assert [message.id for message in found] == ["zoomconnect.W007"]
    assert "CELERY_BROKER_URL" in found[0].hint


def test_batch_webhooks_without_their_beat_task_are_a_warning(celery):
    with override_settings(CELERY_BEAT_SCHEDULE=SCHEDULE):
        assert ids(WEBHOOK_PROCESSING="batch") == ["zoomconnect.W008"]
        # Even when sending is eager: the webhooks still wait for an applier.
        assert ids(WEBHOOK_PROCESSING="batch", SEND_EAGERLY=True) == ["zoomconnect.W008"]
        assert ids(WEBHOOK_PROCESSING="sync") == []
    applying = {**SCHEDULE, "apply": {"task": checks.APPLY_TASK, "schedule": 2.0}}
    with override_settings(CELERY_BEAT_SCHEDULE=applying):
        assert ids(WEBHOOK_PROCESSING="batch") == []
    with override_settings(CELERY_BEAT_SCHEDULER="django_celery_beat.schedulers:DatabaseScheduler"):
        assert ids(WEBHOOK_PROCESSING="batch") == []


def test_retention_without_its_beat_task_is_a_warning(celery):
    with override_settings(CELERY_BEAT_SCHEDULE=SCHEDULE):
        assert ids(MESSAGE_BODY_RETENTION_DAYS=30) == ["zoomconnect.W009"]
        assert ids(STATUS_HISTORY_RETENTION_DAYS=30, SEND_EAGERLY=True) == ["zoomconnect.W009"]
        assert ids() == []  # webhook events alone: cleanup_webhook_events prunes them
    retaining = {**SCHEDULE, "retention": {"task": checks.RETENTION_TASK, "schedule": 86400.0}}
    with override_settings(CELERY_BEAT_SCHEDULE=retaining):
        assert ids(MESSAGE_BODY_RETENTION_DAYS=30) == []
