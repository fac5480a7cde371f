"""Tests for services/outbox/control.py: cancel, retry, pausing and resuming."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from django_zoomconnect.models import (
    Batch,
    Direction,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    SendingPause,
    WebhookEvent,
)
from django_zoomconnect.services import outbox
from django_zoomconnect.services.outbox import (
    send_bulk,
    send_sms,
)
from tests.outbox import SameIdClient, fast_outbox, holding_tasks, sent_count, zoomconnect_settings

NUMBER = "+27821234567"
OTHER = "+27821234568"


@pytest.fixture
def sim(zoomconnect_simulator):
    with fast_outbox(zoomconnect_simulator) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _no_balance_requests(settings):
    # Without the simulator a balance check would try to reach BASE_URL; tests opt in to it.
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "BALANCE_CHECK": "off"}


def bodies(simulator, path="sms/send"):
    return [json.loads(r.body) for r in simulator.requests if r.path.endswith(path) and r.method == "POST"]


# --- cancel and retry ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_cancel_a_locally_scheduled_message(sim):
    message = send_sms(NUMBER, "later", send_at=timezone.now() + timedelta(hours=1))
    assert outbox.cancel(message) == 1
    assert message.status == MessageStatus.CANCELLED
    Message.objects.filter(pk=message.pk).update(dispatch_after=timezone.now())
    assert outbox.dispatch_due() == 0
    assert sim.requests == []
    change = MessageStatusChange.objects.get(message=message)
    assert (change.old_status, change.new_status, change.source) == ("QUEUED", "CANCELLED", "user")
    assert outbox.cancel(message) == 0


@pytest.mark.django_db(transaction=True)
def test_cancel_a_batch_leaves_sent_messages_alone(sim):
    batch = send_bulk(recipients=[NUMBER], body="now")
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        later = send_bulk(
            recipients=[NUMBER, OTHER], body="later", send_at=timezone.now() + timedelta(hours=1)
        )
    assert outbox.cancel(batch) == 0
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert outbox.cancel(later) == 2
    assert later.status == Batch.Status.CANCELLED
    assert set(later.messages.values_list("status", flat=True)) == {MessageStatus.CANCELLED}


@pytest.mark.django_db(transaction=True)
def test_cancel_a_provider_scheduled_message_deletes_it_remotely(sim):
    with zoomconnect_settings(SCHEDULING="provider"):
        message = send_sms(NUMBER, "later", send_at=timezone.now() + timedelta(days=1))
    assert outbox.cancel(message) == 1
    assert message.status == MessageStatus.CANCELLED
    assert sim.message(message.remote_id).deleted is True
    assert [r.method for r in sim.requests] == ["POST", "DELETE"]


@pytest.mark.django_db(transaction=True)
def test_cancel_keeps_a_provider_scheduled_message_the_provider_would_not_delete(sim, caplog):
    with zoomconnect_settings(SCHEDULING="provider"):
        message = send_sms(NUMBER, "later", send_at=timezone.now() + timedelta(days=1))
    sim.inject_fault("500", method="DELETE")
    assert outbox.cancel(message) == 0
    assert message.status == MessageStatus.SCHEDULED
    assert "Could not delete" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_retry_requeues_what_never_reached_the_provider(sim):
    batch = send_bulk(recipients=[NUMBER, "+27600000005"], body="hi")
    failed = batch.messages.get(status=MessageStatus.FAILED)
    Message.objects.filter(pk=failed.pk).update(to_number=OTHER)  # fix the number, then retry
    assert outbox.retry(batch) == 1
    failed.refresh_from_db()
    assert failed.status == MessageStatus.SENT
    assert failed.attempts == 1
    assert sent_count(sim, failed) == 1
    assert outbox.retry(batch) == 0


@pytest.mark.django_db(transaction=True)
def test_retry_copies_a_message_the_provider_failed_to_deliver(sim):
    message = send_sms(NUMBER, "hi")
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED)
    opted = send_sms(OTHER, "hi")
    Message.objects.filter(pk=opted.pk).update(status=MessageStatus.FAILED)
    OptOut.objects.create(phone_number=OTHER, source=OptOut.Source.MANUAL)
    assert outbox.retry(Message.objects.all()) == 1
    copy = Message.objects.exclude(pk__in=[message.pk, opted.pk]).get()
    assert copy.status == MessageStatus.SENT
    assert copy.reference != message.reference
    assert copy.body == "hi"
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED


# --- pausing ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_pause_keeps_messages_queued_and_resume_sends_them(sim):
    outbox.pause_sending("test")
    message = send_sms(NUMBER, "hi")
    assert message.status == MessageStatus.QUEUED
    assert outbox.dispatch_due() == 0
    assert sim.requests == []
    assert outbox.resume_sending() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert not SendingPause.objects.exists()
    assert outbox.resume_sending() == 0


@pytest.mark.django_db(transaction=True)
def test_a_successful_balance_check_lifts_a_pause(sim):
    outbox.pause_sending("the token was refused")
    assert outbox.check_balance() == sim.balance
    assert not outbox.is_paused()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_report_that_overtook_the_answer_is_applied(sim):
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        message = send_sms(NUMBER, "hi")
    WebhookEvent.objects.create(
        kind=WebhookEvent.Kind.DELIVERY_REPORT,
        params={"messageId": "remote-1", "status": "DELIVERED", "nonce": "n-1"},
        nonce="n-1",
        remote_message_id="remote-1",
        state=WebhookEvent.State.DEFERRED,
    )
    outbox.dispatch_message(message.pk, client=SameIdClient("remote-1"))
    message.refresh_from_db()
    assert message.remote_id == "remote-1"
    assert message.status == MessageStatus.DELIVERED
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_a_message_the_provider_accepted_is_copied_once_however_often_it_is_retried(sim):
    message = send_sms("+27600000001", "This number fails")  # a magic number: FAILED after delivery
    sim.advance(60)
    sim.flush_webhooks()
    message.refresh_from_db()
    assert (message.status, message.remote_id is not None) == (MessageStatus.FAILED, True)
    with holding_tasks():
        assert outbox.retry(message) == 1
        assert outbox.retry(message) == 0  # a double click copies nothing more
    copy = Message.objects.get(retry_of=message)
    assert copy.to_number == message.to_number
    assert copy.reference != message.reference


@pytest.mark.django_db
def test_a_retry_copy_goes_from_the_account_of_its_message():
    message = Message.objects.create(
        account="second",
        direction=Direction.OUTBOUND,
        to_number="+27821234567",
        body="hi",
        status=MessageStatus.FAILED,
        remote_id="remote-1",
    )
    with holding_tasks():
        assert outbox.retry(message) == 1
    assert Message.objects.get(retry_of=message).account == "second"
