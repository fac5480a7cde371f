"""Fault injection through the simulator: every fault kind ends with each message accepted exactly once."""

import pytest
from django.utils import timezone

from django_zoomconnect.models import Batch, Message, MessageStatus, SendingPause
from django_zoomconnect.services import outbox
from django_zoomconnect.services.outbox import reconcile, send_bulk, send_sms
from tests.outbox import drive, fast_outbox, holding_tasks, sent_count, zoomconnect_settings

NUMBER = "+27821234567"

#: (simulator fault kind, options) for every fault the control API can inject.
FAULTS = {
    "500": {"kind": "500"},
    "503": {"kind": "503"},
    "500 after processing": {"kind": "500", "after_processing": True},
    "503 after processing": {"kind": "503", "after_processing": True},
    "429": {"kind": "429", "retry_after": 0},
    "delay": {"kind": "delay"},
    "drop": {"kind": "drop"},
    "refuse": {"kind": "refuse"},
}


@pytest.fixture
def sim(zoomconnect_simulator):
    with fast_outbox(zoomconnect_simulator) as simulator:
        yield simulator


def assert_sent_exactly_once(simulator, messages):
    counters = simulator.counters()
    for message in messages:
        assert message.status == MessageStatus.SENT, (message.pk, message.status, message.last_error)
        assert counters.get("dataField:" + message.reference) == 1, message.reference
        assert simulator.message(message.remote_id).data_field == message.reference
    assert counters["sends.accepted"] == len(messages)


# --- one message, one fault -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_refused_connection_is_retried(sim):
    sim.inject_fault("refuse")
    message = send_sms(NUMBER, "hi")
    assert message.status == MessageStatus.QUEUED
    assert message.attempts == 1
    assert "Could not connect" in message.last_error
    assert message.enqueued_at is None  # eagerly, dispatch_due picks the retry up
    assert outbox.dispatch_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert sent_count(sim, message) == 1


@pytest.mark.django_db(transaction=True)
def test_a_retry_waits_for_its_backoff(sim):
    sim.inject_fault("refuse")
    with (
        zoomconnect_settings(SEND_EAGERLY=False, SEND_RETRY_BACKOFF=30, SEND_RETRY_JITTER=0),
        holding_tasks(),
    ):
        message = send_sms(NUMBER, "hi")
        result = outbox.dispatch_message(message.pk)
    assert (result.requeued, result.retry_in) == (1, 30)
    message.refresh_from_db()
    assert (message.dispatch_after - message.claimed_at).total_seconds() == 30
    assert message.enqueued_at == message.dispatch_after  # the retry task is due then
    assert outbox.dispatch_message(message.pk).claimed == 0  # not due yet


@pytest.mark.django_db(transaction=True)
def test_a_rate_limit_waits_for_retry_after_and_costs_no_attempt(sim):
    sim.inject_fault("429", retry_after=7)
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        message = send_sms(NUMBER, "hi")
        result = outbox.dispatch_message(message.pk)
    assert result.retry_in == 7
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert message.attempts == 0
    assert (message.dispatch_after - message.claimed_at).total_seconds() == 7


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", ["500", "503"])
def test_a_server_error_that_sent_nothing_is_looked_up_then_resent(sim, fault):
    sim.inject_fault(fault)
    message = send_sms(NUMBER, "hi")
    assert message.status == MessageStatus.UNCERTAIN
    assert sent_count(sim, message) == 0
    result = reconcile.reconcile_uncertain()
    assert (result.adopted, result.requeued) == (0, 1)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert sent_count(sim, message) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", ["drop", "delay", "500 after processing", "503 after processing"])
def test_a_send_that_may_have_happened_is_adopted_not_resent(sim, fault):
    sim.inject_fault(**FAULTS[fault])
    message = send_sms(NUMBER, "hi")
    assert message.status == MessageStatus.UNCERTAIN
    assert message.remote_id is None
    result = reconcile.reconcile_uncertain()
    assert (result.adopted, result.requeued) == (1, 0)
    message.refresh_from_db()
    assert_sent_exactly_once(sim, [message])


@pytest.mark.django_db(transaction=True)
def test_a_permanent_refusal_fails_with_the_providers_code_and_message(sim):
    message = send_sms("+27600000005", "hi")
    assert message.status == MessageStatus.FAILED
    assert message.error_code == 2
    assert message.last_error == "Invalid mobile number"
    assert message.status_changes.get().detail == {"attempt": 1, "error": "Invalid mobile number", "code": 2}


@pytest.mark.django_db(transaction=True)
def test_refused_credentials_pause_sending_instead_of_failing(sim, caplog):
    with zoomconnect_settings(API_TOKEN="wrong-token"):
        first = send_sms(NUMBER, "one")
        second = send_sms("+27821234568", "two")
    assert first.status == MessageStatus.QUEUED
    assert first.attempts == 0
    assert second.status == MessageStatus.QUEUED
    assert SendingPause.objects.get().reason == "Zoom Connect refused the credentials (401)"
    assert "Sending SMS is PAUSED" in caplog.text
    assert "wrong-token" not in caplog.text
    assert sum(1 for r in sim.requests if r.path.endswith("sms/send")) == 1
    outbox.check_balance()
    for message in (first, second):
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert sent_count(sim, message) == 1


@pytest.mark.django_db(transaction=True)
def test_credentials_no_request_can_carry_pause_sending_before_anything_is_claimed(sim, caplog):
    """A worker runs no system check (zoomconnect.E008): a README placeholder's "…" left in the
    token must not leave a message SENDING behind a UnicodeEncodeError."""
    with zoomconnect_settings(API_TOKEN="\u2026"):
        message = send_sms(NUMBER, "one")
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 0)
    assert SendingPause.objects.get().reason == (
        "the settings cannot make a Zoom Connect client (ZoomConnectClient: token must be printable "
        "ASCII, without spaces or control characters (it holds '\u2026').)"
    )
    assert "Sending SMS is PAUSED" in caplog.text
    assert not [r for r in sim.requests if r.path.endswith("sms/send")]
    outbox.check_balance()  # with the settings fixed
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert sent_count(sim, message) == 1


@pytest.mark.django_db(transaction=True)
def test_a_send_that_never_gets_through_fails_after_max_attempts(sim):
    sim.inject_fault("refuse", count=100)
    with zoomconnect_settings(SEND_MAX_ATTEMPTS=3):
        message = send_sms(NUMBER, "hi")
        drive()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 3
    assert message.last_error.startswith("Gave up after 3 attempts: Could not connect")


@pytest.mark.django_db(transaction=True)
def test_an_uncertain_send_the_provider_never_got_fails_after_max_attempts(sim):
    sim.inject_fault("500", path="sms/send", count=100)
    with zoomconnect_settings(SEND_MAX_ATTEMPTS=2):
        message = send_sms(NUMBER, "hi")
        drive()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 2
    assert "Not found on Zoom Connect after 2 uncertain attempts" in message.last_error
    assert sent_count(sim, message) == 0


# --- a whole chunk, one fault -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", ["drop", "500", "refuse"])
def test_a_chunk_that_failed_as_a_whole_is_settled_message_by_message(sim, fault):
    sim.inject_fault(**FAULTS[fault], path="sms/send-bulk")
    with zoomconnect_settings(BULK_CHUNK_SIZE=3):
        batch = send_bulk(recipients=[f"+2782123456{i}" for i in range(6)], body="hi")
        drive()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert_sent_exactly_once(sim, list(batch.messages.all()))


# --- 20% of every request fails, over a 2,000-message bulk send ------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_message_of_a_large_bulk_send_is_accepted_exactly_once(sim, fault):
    sim.set_balance(10_000)
    sim.seed_faults(20260525)
    sim.inject_fault(**FAULTS[fault], rate=0.2)
    recipients = [f"+2782{n:07d}" for n in range(1_000_000, 1_002_000)]
    with zoomconnect_settings(BULK_CHUNK_SIZE=100, BALANCE_CHECK="warn"):
        batch = send_bulk(recipients=recipients, body="Flash sale at Acme!", campaign="flash")
        rounds = drive()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    messages = list(Message.objects.filter(batch=batch))
    assert len(messages) == 2000
    assert_sent_exactly_once(sim, messages)
    assert sim.counters()[f"faults.{FAULTS[fault]['kind']}"] > 0
    assert rounds >= 1
    assert all(m.sent_at <= timezone.now() for m in messages)
