"""Tests for services/reconcile.py: expired claims, looking uncertain sends up, polling statuses."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from django_zoomconnect import signals
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.models import (
    Batch,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    SendingPause,
)
from django_zoomconnect.services import reconcile, sending
from django_zoomconnect.services.sending import send_bulk, send_sms
from tests.outbox import fast_outbox, holding_tasks, sent_count, zoomconnect_settings

NUMBER = "+27821234567"
OTHER = "+27821234568"


@pytest.fixture
def sim(zoomconnect_simulator):
    with fast_outbox(zoomconnect_simulator) as simulator:
        yield simulator


def uncertain(message, **fields):
    """Make ``message`` look like a send whose answer was lost."""
    fields = {"attempts": 1, **fields}
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.UNCERTAIN, dispatch_after=timezone.now(), **fields
    )
    message.refresh_from_db()
    return message


def provider_has(message, *, to=None, body=None, data_field=None):
    """Send ``message`` to the simulator behind the outbox's back, as a lost answer would leave it."""
    client = ZoomConnectClient.from_settings()
    result = client.send_sms(
        to or message.to_number,
        body or message.body,
        data_field=data_field or sending.wire_data_field(message),
    )
    return result.message_id


# --- sweep ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sweep_makes_expired_claims_uncertain_and_leaves_fresh_ones(sim):
    with holding_tasks():
        stale = send_sms(NUMBER, "stale")
        fresh = send_sms(OTHER, "fresh")
    now = timezone.now()
    Message.objects.filter(pk=stale.pk).update(
        status=MessageStatus.SENDING, claimed_at=now - timedelta(seconds=301)
    )
    Message.objects.filter(pk=fresh.pk).update(
        status=MessageStatus.SENDING, claimed_at=now - timedelta(seconds=10)
    )
    with zoomconnect_settings(CLAIM_LEASE_SECONDS=300):
        counts = reconcile.sweep(now=now)
    assert counts == {"expired_claims": 1, "batches_finished": 0, "tasks_enqueued": 0}
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == MessageStatus.UNCERTAIN
    assert "did not report back" in stale.last_error
    assert fresh.status == MessageStatus.SENDING


@pytest.mark.django_db(transaction=True)
def test_a_late_worker_cannot_overwrite_what_the_sweeper_decided(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    token, claimed = sending._claim(sending.Q(pk=message.pk), timezone.now())
    assert len(claimed) == 1
    reconcile.sweep(now=timezone.now() + timedelta(hours=1))
    recorder = sending._Recorder(token, timezone.now())
    recorder.outcomes[message.pk] = sending._Outcome(MessageStatus.SENT, remote_id="late-answer")
    recorder.write(claimed)
    message.refresh_from_db()
    assert message.status == MessageStatus.UNCERTAIN
    assert message.remote_id is None


@pytest.mark.django_db(transaction=True)
def test_sweep_finishes_batches_and_requeues_lost_tasks(sim):
    with holding_tasks():
        batch = send_bulk(recipients=[NUMBER], body="hi")
    Message.objects.filter(batch=batch).update(enqueued_at=timezone.now() - timedelta(hours=1))
    counts = reconcile.sweep()
    assert counts["tasks_enqueued"] == 1
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert batch.messages.get().status == MessageStatus.SENT


# --- reconcile_uncertain ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_uncertain_message_the_provider_has_is_adopted(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    remote_id = provider_has(message)
    uncertain(message)
    seen = []
    signals.message_status_changed.connect(receiver := lambda sender, **kw: seen.append(kw["new_status"]))
    try:
        result = reconcile.reconcile_uncertain()
    finally:
        signals.message_status_changed.disconnect(receiver)
    assert result.as_dict() == {"adopted": 1, "requeued": 0, "failed": 0, "unresolved": 0, "paused": False}
    message.refresh_from_db()
    assert message.remote_id == remote_id
    assert message.status == MessageStatus.SENT
    assert message.credit_cost == 1
    assert message.remote_data["messageId"] == remote_id
    assert sent_count(sim, message) == 1
    change = MessageStatusChange.objects.get(message=message)
    assert (change.old_status, change.new_status, change.detail) == (
        "UNCERTAIN",
        "SENT",
        {"reconciled": True},
    )
    assert seen == ["SENT"]
    lookup = next(r for r in sim.requests if r.path.endswith("messages/all"))
    assert f"dataField={message.reference}" in lookup.query
    assert "type=OUTBOUND" in lookup.query


@pytest.mark.django_db(transaction=True)
def test_an_uncertain_message_the_provider_never_got_is_sent_again_once(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    uncertain(message)
    result = reconcile.reconcile_uncertain()
    assert (result.adopted, result.requeued) == (0, 1)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert sent_count(sim, message) == 1
    assert reconcile.reconcile_uncertain().as_dict()["requeued"] == 0


@pytest.mark.django_db(transaction=True)
def test_requeued_messages_of_one_chunk_go_out_in_one_request(sim):
    with holding_tasks():
        batch = send_bulk(recipients=[NUMBER, OTHER, "+27821234569"], body="hi")
    Message.objects.filter(batch=batch).update(status=MessageStatus.UNCERTAIN, attempts=1)
    assert reconcile.reconcile_uncertain().requeued == 3
    bulk_requests = [r for r in sim.requests if r.path.endswith("sms/send-bulk")]
    assert [len(json.loads(r.body)["sendSmsRequests"]) for r in bulk_requests] == [3]
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_reconcile_gives_up_after_max_attempts(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    uncertain(message, attempts=3, last_error="read timeout")
    with zoomconnect_settings(SEND_MAX_ATTEMPTS=3):
        result = reconcile.reconcile_uncertain()
    assert result.failed == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.last_error.startswith("Not found on Zoom Connect after 3 uncertain attempts")
    assert "read timeout" in message.last_error


@pytest.mark.django_db(transaction=True)
def test_a_decision_made_from_a_stale_read_is_not_applied(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    stale = uncertain(message)
    Message.objects.filter(pk=message.pk).update(attempts=2)  # someone else moved on meanwhile
    assert reconcile._requeue(stale, timezone.now()) is False
    remote_id = provider_has(message)
    candidates = reconcile.find_remote(ZoomConnectClient.from_settings(), stale)
    assert [c.message_id for c in candidates] == [remote_id]
    assert reconcile._adopt(stale, candidates, timezone.now()) is None
    assert Message.objects.get(pk=message.pk).remote_id is None


@pytest.mark.django_db(transaction=True)
def test_a_message_not_due_yet_is_not_looked_up(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    uncertain(message)
    Message.objects.filter(pk=message.pk).update(dispatch_after=timezone.now() + timedelta(minutes=1))
    assert reconcile.reconcile_uncertain().as_dict()["requeued"] == 0
    assert sim.requests == []


@pytest.mark.django_db(transaction=True)
def test_a_failed_lookup_leaves_the_message_uncertain_for_later(sim):
    with holding_tasks():
        messages = [send_sms(f"+2782123456{i}", "hi") for i in range(7)]
    for message in messages:
        uncertain(message)
    sim.inject_fault("503", path="messages/all", count=10)
    with zoomconnect_settings(RECONCILE_AFTER=60):
        result = reconcile.reconcile_uncertain()
    assert result.unresolved == reconcile.MAX_CONSECUTIVE_ERRORS  # then it stops for this run
    assert Message.objects.filter(status=MessageStatus.UNCERTAIN).count() == 7
    later = Message.objects.filter(dispatch_after__gt=timezone.now() + timedelta(seconds=30)).count()
    assert later == reconcile.MAX_CONSECUTIVE_ERRORS


@pytest.mark.django_db(transaction=True)
def test_refused_credentials_during_a_lookup_pause_sending(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    uncertain(message)
    with zoomconnect_settings(API_TOKEN="wrong"):
        assert reconcile.reconcile_uncertain().paused is True
    assert SendingPause.objects.exists()
    assert reconcile.reconcile_uncertain().paused is True  # nothing is looked up while paused
    message.refresh_from_db()
    assert message.status == MessageStatus.UNCERTAIN


@pytest.mark.django_db(transaction=True)
def test_a_shared_data_field_is_told_apart_by_number_and_text(sim):
    with holding_tasks():
        first = send_sms(NUMBER, "first", data_field="order:7")
        second = send_sms(NUMBER, "second", data_field="order:7")
        third = send_sms(OTHER, "first", data_field="order:7")
    ids = {m.pk: provider_has(m) for m in (first, second, third)}
    for message in (first, second, third):
        uncertain(message)
    assert reconcile.reconcile_uncertain().adopted == 3
    for message in (first, second, third):
        message.refresh_from_db()
        assert message.remote_id == ids[message.pk]


@pytest.mark.django_db(transaction=True)
def test_a_remote_id_already_stored_elsewhere_is_not_adopted_twice(sim):
    with holding_tasks():
        first = send_sms(NUMBER, "same", data_field="shared")
        second = send_sms(NUMBER, "same", data_field="shared")
    remote_id = provider_has(first)
    Message.objects.filter(pk=first.pk).update(remote_id=remote_id, status=MessageStatus.SENT)
    uncertain(second)
    result = reconcile.reconcile_uncertain()
    assert (result.adopted, result.unresolved) == (0, 1)
    second.refresh_from_db()
    assert second.status == MessageStatus.UNCERTAIN


# --- refresh_statuses -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sent_messages_without_a_report_are_polled_forward(sim):
    delivered = send_sms(NUMBER, "hi")
    opted_out = send_sms("+27600000003", "hi")
    silent = send_sms("+27600000004", "hi")
    sim.advance(10)  # the simulator sends and settles them; no webhook URL is configured
    later = timezone.now() + timedelta(hours=1)
    with zoomconnect_settings(STATUS_POLL_AFTER=1800):
        result = reconcile.refresh_statuses(now=later)
    assert result.as_dict() == {"polled": 3, "changed": 2, "errors": 0, "paused": False}
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {
        delivered.pk: MessageStatus.DELIVERED,
        opted_out.pk: MessageStatus.FAILED_OPTOUT,
        silent.pk: MessageStatus.SENT,
    }
    assert Message.objects.get(pk=delivered.pk).delivered_at == later
    assert OptOut.objects.get().phone_number == "+27600000003"
    change = MessageStatusChange.objects.get(message=delivered, source="poll")
    assert (change.old_status, change.new_status) == ("SENT", "DELIVERED")
    with zoomconnect_settings(STATUS_POLL_AFTER=1800):
        again = reconcile.refresh_statuses(now=later + timedelta(minutes=5))
    assert again.polled == 0  # polled_at is recent; the next poll waits STATUS_POLL_AFTER
    with zoomconnect_settings(STATUS_POLL_AFTER=1800, STATUS_POLL_MAX_AGE=3600):
        too_old = reconcile.refresh_statuses(now=later + timedelta(hours=2))
    assert too_old.polled == 0


@pytest.mark.django_db(transaction=True)
def test_polling_never_moves_a_status_back(sim):
    message = send_sms(NUMBER, "hi")
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.UNKNOWN)
    sim.advance(1.5)  # the provider says SENT, not yet DELIVERED
    with zoomconnect_settings(STATUS_POLL_AFTER=0):
        assert reconcile.refresh_statuses().changed == 1
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        Message.objects.filter(pk=message.pk).update(status=MessageStatus.DELIVERED, polled_at=None)
        assert reconcile.refresh_statuses().changed == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_a_provider_scheduled_message_is_polled_after_its_time(sim):
    with zoomconnect_settings(SCHEDULING="provider"):
        message = send_sms(NUMBER, "later", send_at=timezone.now() + timedelta(minutes=10))
    assert message.status == MessageStatus.SCHEDULED
    sim.advance(15 * 60)
    with zoomconnect_settings(STATUS_POLL_AFTER=60):
        assert reconcile.refresh_statuses(now=timezone.now() + timedelta(minutes=12)).changed == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_polling_stops_at_a_refused_token_and_after_repeated_errors(sim):
    for i in range(7):
        send_sms(f"+2782123456{i}", "hi")
    sim.inject_fault("500", path="messages/all", count=10)
    with zoomconnect_settings(STATUS_POLL_AFTER=0):
        assert reconcile.refresh_statuses().errors == reconcile.MAX_CONSECUTIVE_ERRORS
        sim.clear_faults()
        with zoomconnect_settings(API_TOKEN="wrong"):
            assert reconcile.refresh_statuses().paused is True
        assert reconcile.refresh_statuses().paused is True
