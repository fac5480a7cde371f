"""Tests for services/outbox/dispatch.py and wake.py: dispatch end to end against the simulator,
scheduling, and the cost of a bulk send in queries and API calls."""

import json
import re
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_zoomconnect import conf, signals
from django_zoomconnect.models import (
    Batch,
    Message,
    MessageStatus,
    MessageStatusChange,
)
from django_zoomconnect.services import outbox, rows_sqlite
from django_zoomconnect.services.outbox import (
    SendVetoed,
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


# --- dispatch, end to end against the simulator -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_send_sms_eagerly_sends_once_and_records_it(sim):
    message = send_sms("0821234567", "Your code is 4711", campaign="otp")
    assert message.status == MessageStatus.SENT
    assert message.remote_id
    assert message.sent_at is not None
    assert message.attempts == 1
    assert message.claim_token == ""
    assert sent_count(sim, message) == 1
    remote = sim.message(message.remote_id)
    assert remote.to_number == NUMBER
    assert remote.campaign == "otp"
    assert remote.data_field == message.reference
    change = MessageStatusChange.objects.get(message=message)
    assert (change.old_status, change.new_status, change.source) == ("SENDING", "SENT", "send")


@pytest.mark.django_db(transaction=True)
def test_a_second_dispatch_of_the_same_message_claims_nothing(sim):
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        message = send_sms(NUMBER, "once")
    first = outbox.dispatch_message(message.pk)
    second = outbox.dispatch_message(message.pk)
    assert (first.claimed, first.sent) == (1, 1)
    assert (second.claimed, second.sent) == (0, 0)
    assert sent_count(sim, message) == 1


@pytest.mark.django_db(transaction=True)
def test_dispatch_refuses_to_run_inside_a_transaction(sim):
    message = send_sms(NUMBER, "hi")
    with pytest.raises(RuntimeError, match="outside any transaction"), transaction.atomic():
        outbox.dispatch_message(message.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fmt", "wire"), [("e164", NUMBER), ("digits", "27821234567"), ("national", "0821234567")]
)
def test_the_number_is_sent_in_the_configured_format(sim, fmt, wire):
    with zoomconnect_settings(PHONE_NUMBER_FORMAT=fmt):
        send_sms(NUMBER, "hi")
    assert bodies(sim)[0]["recipientNumber"] == wire


@pytest.mark.django_db(transaction=True)
def test_a_bulk_send_goes_out_in_one_request_per_chunk(sim):
    with zoomconnect_settings(BULK_CHUNK_SIZE=2, MESSAGES_PER_MINUTE=30):
        batch = send_bulk(recipients=[f"+2782123456{i}" for i in range(5)], body="Sale!", campaign="sale")
    assert batch.status == Batch.Status.DONE
    assert batch.finished_at is not None
    requests = bodies(sim, "sms/send-bulk")
    assert [len(r["sendSmsRequests"]) for r in requests] == [2, 2, 1]
    assert {r["messagesPerMinute"] for r in requests} == {30}
    for message in batch.messages.all():
        assert message.status == MessageStatus.SENT
        assert sent_count(sim, message) == 1
        assert sim.message(message.remote_id).data_field == message.reference


@pytest.mark.django_db(transaction=True)
def test_a_bulk_items_own_error_lands_on_its_message(sim):
    batch = send_bulk(recipients=[NUMBER, "+27600000005", OTHER], body="hi")
    statuses = {m.to_number: (m.status, m.last_error) for m in batch.messages.all()}
    assert statuses[NUMBER][0] == MessageStatus.SENT
    assert statuses[OTHER][0] == MessageStatus.SENT
    assert statuses["+27600000005"] == (MessageStatus.FAILED, "Invalid mobile number")
    assert batch.status == Batch.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_post_send_and_status_signals_are_sent(sim):
    seen = []

    def on_post_send(sender, message, error, **kwargs):
        seen.append(("post_send", message.status, message.remote_id is not None, error))

    def on_changed(sender, message, old_status, new_status, source, **kwargs):
        seen.append(("changed", old_status, new_status, source))

    signals.post_send.connect(on_post_send)
    signals.message_status_changed.connect(on_changed)
    try:
        send_sms(NUMBER, "hi")
    finally:
        signals.post_send.disconnect(on_post_send)
        signals.message_status_changed.disconnect(on_changed)
    assert seen == [("post_send", "SENT", True, None), ("changed", "SENDING", "SENT", "send")]


@pytest.mark.django_db(transaction=True)
def test_a_pre_send_receiver_can_veto_one_message(sim):
    posted = []

    def quiet_hours(sender, message, **kwargs):
        if message.to_number == OTHER:
            raise SendVetoed("quiet hours")

    def on_post_send(sender, message, **kwargs):
        posted.append(message.to_number)

    signals.pre_send.connect(quiet_hours)
    signals.post_send.connect(on_post_send)
    try:
        batch = send_bulk(recipients=[NUMBER, OTHER], body="hi")
        single = send_sms(OTHER, "hi")
    finally:
        signals.pre_send.disconnect(quiet_hours)
        signals.post_send.disconnect(on_post_send)
    vetoed = batch.messages.get(to_number=OTHER)
    assert vetoed.status == MessageStatus.REJECTED
    assert vetoed.last_error == "Vetoed by a pre_send receiver: quiet hours"
    assert single.status == MessageStatus.REJECTED
    assert batch.messages.get(to_number=NUMBER).status == MessageStatus.SENT
    assert posted == [NUMBER]
    assert [len(b["sendSmsRequests"]) for b in bodies(sim, "sms/send-bulk")] == [1]
    assert bodies(sim) == []


@pytest.mark.django_db(transaction=True)
def test_a_broken_pre_send_receiver_does_not_stop_the_send(sim, caplog):
    def broken(sender, message, **kwargs):
        raise KeyError("oops")

    signals.pre_send.connect(broken)
    try:
        message = send_sms(NUMBER, "hi")
    finally:
        signals.pre_send.disconnect(broken)
    assert message.status == MessageStatus.SENT
    assert "pre_send receiver" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_remote_id_taken_by_another_row_is_not_overwritten(sim, caplog):
    message = send_sms(NUMBER, "first")
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        second = send_sms(OTHER, "second")
    outbox.dispatch_message(second.pk, client=SameIdClient(message.remote_id))
    second.refresh_from_db()
    assert second.status == MessageStatus.SENT
    assert second.remote_id is None
    assert "already stored on another row" in caplog.text


# --- scheduling ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_local_scheduling_sends_when_due_and_not_before(sim):
    send_at = timezone.now() + timedelta(hours=1)
    message = send_sms(NUMBER, "later", send_at=send_at)
    assert outbox.dispatch_due() == 0
    assert outbox.dispatch_due(now=send_at - timedelta(seconds=1)) == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    Message.objects.filter(pk=message.pk).update(dispatch_after=timezone.now())  # the hour has passed
    assert outbox.dispatch_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert "dateToSend" not in bodies(sim)[0]
    assert outbox.dispatch_due() == 0


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_batch_is_dispatched_by_chunk_when_due(sim):
    with zoomconnect_settings(BULK_CHUNK_SIZE=2):
        batch = send_bulk(
            recipients=[NUMBER, OTHER, "+27821234570"],
            body="hi",
            send_at=timezone.now() + timedelta(minutes=5),
        )
        Message.objects.filter(batch=batch).update(dispatch_after=timezone.now())
        assert outbox.dispatch_due() == 2
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert set(batch.messages.values_list("status", flat=True)) == {MessageStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_provider_scheduling_hands_the_date_to_the_provider(sim):
    tz = conf.api_timezone()
    send_at = datetime(2031, 3, 4, 9, 30, tzinfo=tz)
    with zoomconnect_settings(SCHEDULING="provider"):
        message = send_sms(NUMBER, "later", send_at=send_at)
        batch = send_bulk(recipients=[OTHER], body="later too", send_at=send_at)
    assert message.status == MessageStatus.SCHEDULED
    assert message.remote_id
    assert message.sent_at is None
    assert bodies(sim)[0]["dateToSend"] == "203103040930"
    assert bodies(sim, "sms/send")[0]["dateToSend"] == "203103040930"
    assert batch.messages.get().status == MessageStatus.SCHEDULED


# --- cost: queries and API calls grow with chunks, not messages ---------------------------------


def creation_queries(messages):
    # The opt-outs (a short list: read whole, whatever the number of recipients) and whether any
    # erased one exists; BEGIN, the batch, one insert per 1,000 messages, COMMIT; eagerly, the
    # batch is read again once its chunks were sent.
    return 2 + 3 + -(-messages // 1000) + 1


def queries_per_chunk():
    """Per chunk: pause check; claim and batch state (BEGIN, 2 UPDATEs, COMMIT); read the claimed
    rows; read the batch's pacing; write the outcomes (BEGIN, SAVEPOINT, accepted, RELEASE); read
    them back, except where the UPDATE answers the rows it changed (PostgreSQL, SQLite 3.35 and
    later); history; finish the batch; COMMIT; the deferred-report check. The fence before the
    call costs nothing: no pre_send receiver ran and the fresh claim's lease covers the call."""
    answers = connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and rows_sqlite.can_update_returning()
    )
    return 15 if answers else 16


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("messages", "chunk_size"), [(2_000, 500), (10_000, 500)])
def test_queries_and_api_calls_of_a_bulk_send_grow_with_chunks(sim, messages, chunk_size):
    sim.set_balance(100_000)
    recipients = [f"+2782{n:07d}" for n in range(1_000_000, 1_000_000 + messages)]
    chunks = messages // chunk_size
    with zoomconnect_settings(BULK_CHUNK_SIZE=chunk_size, BALANCE_CHECK="refuse"):
        with holding_tasks() as held, CaptureQueriesContext(connection) as created:
            batch = send_bulk(recipients=recipients, body="Flash sale!")
        with CaptureQueriesContext(connection) as dispatched:
            for _, batch_id, chunk in held:
                outbox.dispatch_chunk(batch_id, chunk)
    assert len(held) == chunks
    assert len(created) == creation_queries(messages)
    assert len(dispatched) == queries_per_chunk() * chunks
    assert [r.path.rsplit("/", 2)[-2:] for r in sim.requests] == [["account", "balance"]] + [
        ["sms", "send-bulk"]
    ] * chunks
    assert batch.messages.filter(status=MessageStatus.SENT).count() == messages


def claims(queries):
    """The UPDATEs among ``queries`` that claim messages or renew a claim (they set claimed_at)."""
    return [q["sql"] for q in queries if re.match(r"UPDATE .*[`\"]claimed_at[`\"] =", q["sql"])]


@pytest.mark.django_db(transaction=True)
def test_an_eager_bulk_send_outside_a_transaction_writes_its_rows_claimed(sim):
    sim.set_balance(100_000)
    recipients = [f"+2782{n:07d}" for n in range(1_000_000, 1_000_000 + 1_200)]
    with zoomconnect_settings(BULK_CHUNK_SIZE=500), CaptureQueriesContext(connection) as queries:
        batch = send_bulk(recipients=[*recipients, "+27 12"], body="Flash sale!")
    assert claims(queries) == []
    # The pause is checked once as the rows are written, and the batch is finished by its last
    # chunk alone: the earlier ones cannot, the later ones being claimed still.
    chunks = 3
    expected = creation_queries(len(recipients)) + 1 + chunks * (queries_per_chunk() - 4) - (chunks - 1)
    assert len(queries) == expected
    assert batch.status == Batch.Status.DONE
    sent = batch.messages.filter(status=MessageStatus.SENT)
    assert sent.count() == len(recipients)
    assert set(sent.values_list("attempts", "claim_token")) == {(1, "")}
    assert batch.messages.get(status=MessageStatus.REJECTED).attempts == 0
    assert all(sent_count(sim, m) == 1 for m in sent[:20])
    assert MessageStatusChange.objects.filter(old_status="SENDING", new_status="SENT").count() == len(
        recipients
    )


@pytest.mark.django_db(transaction=True)
def test_an_eager_bulk_send_in_a_transaction_is_claimed_after_its_commit(sim):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        batch = send_bulk(recipients=[NUMBER, OTHER], body="hi")
        assert set(batch.messages.values_list("status", flat=True)) == {MessageStatus.QUEUED}
    assert len(claims(queries)) == 1
    assert set(batch.messages.values_list("status", "attempts")) == {(MessageStatus.SENT, 1)}


@pytest.mark.django_db(transaction=True)
def test_rows_written_claimed_go_back_to_the_queue_when_sending_is_paused_before_they_go(sim):
    from django_zoomconnect.services.outbox import dispatch, pause_sending, resume_sending, wake

    paused = []

    def pause_then_send(batch_id, chunk, **claim):
        if not paused:
            paused.append(pause_sending("credentials refused meanwhile"))
        dispatch.dispatch_chunk(batch_id, chunk, **{"claim": claim["claim"], "now": claim["claimed_at"]})

    with mock.patch.object(wake, "enqueue_chunk", pause_then_send):
        batch = send_bulk(recipients=[NUMBER, OTHER], body="hi")
    assert set(batch.messages.values_list("status", "attempts", "claim_token")) == {
        (MessageStatus.QUEUED, 0, "")
    }
    assert sim.requests == []
    assert resume_sending() == 1  # the chunk's task
    assert set(batch.messages.values_list("status", "attempts")) == {(MessageStatus.SENT, 1)}


@pytest.mark.django_db(transaction=True)
def test_rows_written_claimed_whose_process_died_are_looked_up_before_they_are_sent(sim):
    from django_zoomconnect.services.outbox import reconcile, wake

    with mock.patch.object(wake, "enqueue_chunk"):  # the process died at the commit
        batch = send_bulk(recipients=[NUMBER, OTHER], body="hi")
    assert set(batch.messages.values_list("status", flat=True)) == {MessageStatus.SENDING}
    assert outbox.dispatch_due() == 0  # claimed: no task sends them behind the lease's back
    later = timezone.now() + timedelta(seconds=conf.claim_lease() + 1)
    assert reconcile.sweep(now=later)["expired_claims"] == 2
    reconcile.reconcile_uncertain(now=later)
    assert set(batch.messages.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert [sent_count(sim, m) for m in batch.messages.all()] == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_an_eager_send_that_fails_unexpectedly_is_logged_with_its_traceback_and_looked_up_later(sim, caplog):
    from django_zoomconnect.services.outbox import dispatch, reconcile

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a receiver")

    with mock.patch.object(dispatch, "dispatch_chunk", broken), caplog.at_level("WARNING"):
        batch = send_bulk(recipients=[NUMBER, OTHER], body="hi")
    (record,) = [r for r in caplog.records if r.name.startswith("django_zoomconnect")]
    assert record.levelname == "ERROR"
    assert record.exc_info is not None
    assert "a bug in a receiver" in str(record.exc_info[1])
    assert record.getMessage().startswith(f"Sending chunk 0 of batch {batch.pk} in this process failed")
    assert set(batch.messages.values_list("status", flat=True)) == {MessageStatus.SENDING}
    later = timezone.now() + timedelta(seconds=conf.claim_lease() + 1)
    reconcile.sweep(now=later)
    reconcile.reconcile_uncertain(now=later)
    assert set(batch.messages.values_list("status", flat=True)) == {MessageStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_a_claim_well_inside_its_lease_goes_without_a_renewal_and_is_sent_at_the_present(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    claimed = timezone.now() - timedelta(seconds=60)
    with CaptureQueriesContext(connection) as queries:
        outbox.dispatch_message(message.pk, now=claimed)
    message.refresh_from_db()
    assert len(claims(queries)) == 1  # the claim itself
    assert message.claimed_at == claimed
    assert message.sent_at > claimed + timedelta(seconds=59)
    with zoomconnect_settings(CLAIM_LEASE_SECONDS=150, TIMEOUT=(5, 30)):  # (150 - 70) / 2 = 40 s
        with holding_tasks():
            again = send_sms(OTHER, "hi")
        with CaptureQueriesContext(connection) as queries:
            outbox.dispatch_message(again.pk, now=claimed)
    assert len(claims(queries)) == 2  # the claim and its renewal


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_cannot_be_reached_is_one_warning_line_and_the_message_waits(sim, caplog, monkeypatch):
    from kombu.exceptions import OperationalError

    from django_zoomconnect.services.outbox import wake

    class Unreachable:
        def delay(self, *args):
            raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(wake, "_task", lambda name: Unreachable())
    with zoomconnect_settings(SEND_EAGERLY=False), caplog.at_level("WARNING"):
        message = send_sms(NUMBER, "hi")
    records = [r for r in caplog.records if r.name.startswith("django_zoomconnect")]
    assert len(records) == 1
    assert records[0].exc_info is None
    assert records[0].getMessage() == (
        f"Could not hand message {message.pk} to a Celery worker (OperationalError: [Errno 111] Connection "
        "refused); it stays queued, and the dispatch_due beat task sends it once the broker can be reached."
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED


@pytest.mark.django_db
def test_deferred_reports_are_looked_up_for_the_chunks_messages_only(django_assert_num_queries):
    from django_zoomconnect.models import WebhookEvent
    from django_zoomconnect.services.outbox import dispatch

    unrelated = [
        WebhookEvent(
            kind=WebhookEvent.Kind.DELIVERY_REPORT,
            params={"messageId": f"other-{i}", "dataField": f"ref-{i}"},
            nonce=f"n-{i}",
            remote_message_id=f"other-{i}",
            data_field=f"ref-{i}",
            state=WebhookEvent.State.DEFERRED,
        )
        for i in range(300)
    ]
    message = Message.objects.create(to_number=NUMBER, body="hi", remote_id="mine", status=MessageStatus.SENT)
    with django_assert_num_queries(1):  # nothing deferred: one probe of the state index, no lookup
        dispatch.apply_deferred_reports([message])
    WebhookEvent.objects.bulk_create(unrelated)
    with django_assert_num_queries(2):  # the probe, then one indexed lookup; the 300 are never read
        dispatch.apply_deferred_reports([message])
    assert WebhookEvent.objects.filter(state=WebhookEvent.State.DEFERRED).count() == 300
