"""Tests for services/retention.py, the apply_retention task and the zoomconnect_retention command.

Run on SQLite, PostgreSQL and MariaDB (``ZOOMCONNECT_TEST_DB``).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_zoomconnect import apply_retention, tasks
from django_zoomconnect.models import (
    BeatRun,
    Direction,
    Lease,
    Message,
    MessageStatus,
    MessageStatusChange,
    WebhookEvent,
)
from django_zoomconnect.services import leases, retention

from .outbox import zoomconnect_settings

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _message(days_old: int, status=MessageStatus.DELIVERED, **fields):
    message = Message.objects.create(
        to_number="+27821234567",
        body="secret text",
        remote_data={"message": "secret text"},
        status=status,
        **fields,
    )
    Message.objects.filter(pk=message.pk).update(created_at=NOW - timedelta(days=days_old))
    return message


def _change(message, days_old: int):
    change = MessageStatusChange.objects.create(message=message, new_status="SENT", source="send")
    MessageStatusChange.objects.filter(pk=change.pk).update(changed_at=NOW - timedelta(days=days_old))
    return change


def _event(days_old: int, nonce: str):
    event = WebhookEvent.objects.create(kind="reply", params={"fromNumber": "27821234567"}, nonce=nonce)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=NOW - timedelta(days=days_old))
    return event


def test_nothing_goes_by_default_but_webhook_events():
    old = _message(400)
    _change(old, 400)
    _event(400, "a")
    report = apply_retention(now=NOW)
    assert report.as_dict() == {
        "dry_run": False,
        "busy": False,
        "bodies_blanked": 0,
        "status_changes_deleted": 0,
        "webhook_events_deleted": 1,
    }
    old.refresh_from_db()
    assert old.body == "secret text"


def test_old_finished_messages_lose_their_text_and_keep_the_rest():
    old = _message(40, campaign="spring", credit_cost=1)
    recent = _message(10)
    waiting = _message(40, status=MessageStatus.QUEUED)
    inbound = _message(40, status=MessageStatus.RECEIVED, direction=Direction.INBOUND)
    with zoomconnect_settings(MESSAGE_BODY_RETENTION_DAYS=30):
        assert apply_retention(now=NOW).bodies_blanked == 2
        assert apply_retention(now=NOW).bodies_blanked == 0  # already blank
    old.refresh_from_db()
    assert (old.body, old.remote_data, old.to_number, old.status, old.campaign) == (
        "",
        {},
        "+27821234567",
        MessageStatus.DELIVERED,
        "spring",
    )
    assert Message.objects.get(pk=inbound.pk).body == ""
    assert Message.objects.get(pk=recent.pk).body == "secret text"
    assert Message.objects.get(pk=waiting.pk).body == "secret text"  # not sent yet: never blanked


def test_old_status_history_is_deleted_in_batches(monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(retention, "BATCH", 3)
    message = _message(1)
    for _ in range(7):
        _change(message, 40)
    kept = _change(message, 5)
    settings = zoomconnect_settings(STATUS_HISTORY_RETENTION_DAYS=30, WEBHOOK_EVENT_RETENTION_DAYS=None)
    # Batches of 3, 3 and 1 (select, delete, renew each); the lease: taken the first time (an
    # UPDATE, then an INSERT in a savepoint) and released.
    with settings, django_assert_max_num_queries(3 * 3 + 5):
        assert apply_retention(now=NOW).status_changes_deleted == 7
    assert list(MessageStatusChange.objects.values_list("pk", flat=True)) == [kept.pk]
    assert Message.objects.filter(pk=message.pk).exists()


def test_many_texts_are_blanked_a_batch_at_a_time(monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 4)
    for _ in range(10):
        _message(40)
    with zoomconnect_settings(MESSAGE_BODY_RETENTION_DAYS=30):
        assert apply_retention(now=NOW).bodies_blanked == 10
    assert not Message.objects.exclude(body="").exists()


def test_webhook_events_go_by_the_housekeeping_rule():
    _event(100, "old")
    guard = _event(100, "guarding")
    WebhookEvent.objects.filter(pk=guard.pk).update(nonce_expires_at=NOW + timedelta(hours=1))
    _event(10, "recent")
    assert apply_retention(now=NOW).webhook_events_deleted == 1
    assert set(WebhookEvent.objects.values_list("nonce", flat=True)) == {"guarding", "recent"}


def test_a_dry_run_counts_and_changes_nothing():
    old = _message(40)
    _change(old, 40)
    _event(100, "a")
    settings = {"MESSAGE_BODY_RETENTION_DAYS": 30, "STATUS_HISTORY_RETENTION_DAYS": 30}
    with zoomconnect_settings(**settings):
        report = apply_retention(dry_run=True, now=NOW)
    assert (report.bodies_blanked, report.status_changes_deleted, report.webhook_events_deleted) == (1, 1, 1)
    assert Message.objects.get().body == "secret text"
    assert MessageStatusChange.objects.count() == 1
    assert WebhookEvent.objects.count() == 1


def test_only_one_run_at_a_time():
    _event(100, "a")
    with leases.held(retention.LEASE, seconds=60):
        report = apply_retention(now=NOW)
    assert report.busy
    assert report.webhook_events_deleted == 0
    assert apply_retention(now=NOW).webhook_events_deleted == 1
    assert Lease.objects.get(name="retention").token == ""


def test_the_beat_task_records_its_run():
    _event(100, "a")
    assert tasks.apply_retention()["webhook_events_deleted"] == 1
    assert BeatRun.objects.get(task="apply_retention").last_result["webhook_events_deleted"] == 1


def test_the_settings_are_validated():
    from django_zoomconnect.exceptions import ConfigurationError

    with (
        zoomconnect_settings(MESSAGE_BODY_RETENTION_DAYS=0),
        pytest.raises(ConfigurationError, match="one or more"),
    ):
        apply_retention()


# --- manage.py zoomconnect_retention ------------------------------------------------------------


def test_the_command_reports_counts_per_kind(capsys):
    _message(40)
    _event(100, "a")
    with zoomconnect_settings(MESSAGE_BODY_RETENTION_DAYS=30):
        call_command("zoomconnect_retention", "--dry-run")
        out = capsys.readouterr().out
        assert "Dry run" in out
        assert "message texts blanked: 1" in out
        assert "webhook events deleted: 1" in out
        assert "status history entries deleted: kept for ever" in out
        call_command("zoomconnect_retention", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["bodies_blanked"] == 1
    assert data["webhook_events_deleted"] == 1
    assert data["dry_run"] is False
    assert Message.objects.get().body == ""
