"""Tests for services/outbox/reconcile.py: expired claims, looking uncertain sends up, polling statuses."""

import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_zoomconnect import signals
from django_zoomconnect import wire as api
from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.models import (
    Batch,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    OptOutChange,
    SendingPause,
)
from django_zoomconnect.services import outbox
from django_zoomconnect.services.outbox import dispatch, lookup, outcomes, reconcile, send_bulk, send_sms
from tests.outbox import fast_outbox, holding_tasks, sent_count, zoomconnect_settings

NUMBER = "+27821234567"
OTHER = "+27821234568"
CLAIM = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def sim(zoomconnect_simulator):
    with fast_outbox(zoomconnect_simulator) as simulator:
        yield simulator


def uncertain(message, **fields):
    """Make ``message`` look like a send whose answer was lost (claimed when it was created)."""
    fields = {"attempts": 1, "claimed_at": message.created_at, **fields}
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
        data_field=data_field or outbox.wire_data_field(message),
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
    token, claimed = dispatch._claim(Q(pk=message.pk), timezone.now())
    assert len(claimed) == 1
    reconcile.sweep(now=timezone.now() + timedelta(hours=1))
    recorder = outcomes.Recorder(token, timezone.now())
    recorder.outcomes[message.pk] = outcomes.Outcome(MessageStatus.SENT, remote_id="late-answer")
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
    assert result.as_dict() == {
        "adopted": 1,
        "requeued": 0,
        "failed": 0,
        "unresolved": 0,
        "paused": False,
        "busy": False,
    }
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
    candidates = lookup.find_remote(ZoomConnectClient.from_settings(), stale)
    assert [c.message_id for c in candidates] == [remote_id]
    assert reconcile._adopt(stale, candidates, timezone.now()) == reconcile._STALE
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
    # The only record is the first message's: the second was never sent, so it goes now.
    assert (result.adopted, result.requeued, result.unresolved) == (0, 1, 0)
    second.refresh_from_db()
    assert second.status == MessageStatus.SENT
    assert second.remote_id not in (None, remote_id)
    assert sim.counters()["dataField:shared"] == 2


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
    assert OptOutChange.objects.get().detail == "FAILED_OPTOUT (status poll)"  # through services.optouts
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


@pytest.mark.django_db(transaction=True)
def test_refresh_messages_polls_just_the_selection_whenever_it_was_last_polled(sim):
    chosen = send_sms(NUMBER, "hi")
    other = send_sms("+27600000003", "hi")  # the simulator's opted-out number
    queued = Message.objects.create(to_number=OTHER, body="not yet", status=MessageStatus.QUEUED)
    sim.advance(10)
    Message.objects.filter(pk=chosen.pk).update(polled_at=timezone.now())  # polled a moment ago
    selection = Message.objects.filter(pk__in=[chosen.pk, queued.pk])
    assert list(reconcile.refreshable(selection)) == [chosen]

    result = outbox.refresh_messages(selection)

    assert result.as_dict() == {"polled": 1, "changed": 1, "errors": 0, "paused": False}
    assert Message.objects.get(pk=chosen.pk).status == MessageStatus.DELIVERED
    assert Message.objects.get(pk=other.pk).status == MessageStatus.SENT  # not selected
    assert Message.objects.get(pk=queued.pk).status == MessageStatus.QUEUED
    assert MessageStatusChange.objects.filter(message=chosen).last().source == "poll"
    assert outbox.refresh_messages(Message.objects.filter(pk=other.pk)).changed == 1
    assert OptOutChange.objects.get().phone_number == "+27600000003"


# --- exactly once, whatever the dataField (issue 10) --------------------------------------------


def remote(message_id="6b0ea3200000000000000001", **fields):
    """A provider record as ``messages/all`` would give it."""
    values = {
        "message_id": message_id,
        "message_type": "OUTBOUND",
        "status": "SENT",
        "from_number": None,
        "to_number": NUMBER,
        "message": "hi",
        "campaign": None,
        "data_field": "order:7",
        "credit_cost": 1.0,
        "number_of_messages": 1,
        "scheduled_at": None,
        "sent_at": None,
        "received_at": None,
        "read": False,
        "deleted": False,
        "contact_id": None,
        "replied_to_message_id": None,
        **fields,
    }
    return api.Message(**values)


def object_id(at):
    return f"{int(at.timestamp()):08x}0000000000000001"


@pytest.mark.parametrize(
    ("data_field", "record", "expected"),
    [
        # Our own reference as dataField: the reference is unique, number and text must agree.
        ("", {}, True),
        ("", {"message_id": "opaque", "sent_at": None}, True),
        ("", {"to_number": OTHER}, False),
        ("", {"message": "hello"}, False),
        ("", {"message": "hi \r\n"}, True),
        ("", {"message_type": "INBOUND"}, False),
        # Sent, or created (the id), before the claim less the skew: an earlier message.
        ("", {"sent_at": CLAIM - timedelta(seconds=121)}, False),
        ("", {"message_id": "CLAIM-121"}, False),
        ("", {"sent_at": CLAIM - timedelta(seconds=119)}, True),
        # The caller's own dataField is never proof on its own: a time must place it after the claim.
        ("order:7", {}, True),
        ("order:7", {"message_id": "opaque"}, False),
        ("order:7", {"message_id": "opaque", "sent_at": CLAIM + timedelta(seconds=1)}, True),
        ("order:7", {"message_id": "CLAIM-121", "sent_at": CLAIM + timedelta(seconds=1)}, False),
        ("order:7", {"message": "hello"}, False),
    ],
)
def test_only_a_record_accepted_after_the_claim_with_the_same_number_and_text_is_this_attempt(
    data_field, record, expected
):
    if record.get("message_id") == "CLAIM-121":
        record = {**record, "message_id": object_id(CLAIM - timedelta(seconds=121))}
    record = {"message_id": object_id(CLAIM + timedelta(seconds=2)), **record}
    message = Message(to_number=NUMBER, body="hi", data_field=data_field)
    assert lookup.is_this_attempt(remote(**record), message, claimed_at=CLAIM, skew=120) is expected


def test_a_callers_data_field_without_a_claim_time_proves_nothing():
    message = Message(to_number=NUMBER, body="hi", data_field="order:7")
    record = remote(message_id=object_id(CLAIM))
    assert lookup.is_this_attempt(record, message, claimed_at=None, skew=120) is False
    assert lookup.is_this_attempt(record, Message(to_number=NUMBER, body="hi"), claimed_at=None, skew=120)


@pytest.mark.django_db(transaction=True)
def test_an_earlier_message_with_the_callers_data_field_is_not_taken_for_this_send(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "Your booking is confirmed", data_field="booking:42")
    # Another app (or the web console, or an earlier install) sent the same text, same dataField.
    earlier = provider_has(message)
    claimed = timezone.now() + timedelta(minutes=10)
    uncertain(message, claimed_at=claimed)
    result = reconcile.reconcile_uncertain(now=claimed + timedelta(minutes=1))
    assert (result.adopted, result.requeued) == (0, 1)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.remote_id not in (None, earlier)
    assert sim.counters()["dataField:booking:42"] == 2


@pytest.mark.django_db(transaction=True)
def test_the_send_itself_is_still_adopted_when_the_caller_chose_the_data_field(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "Your booking is confirmed", data_field="booking:42")
    uncertain(message, claimed_at=timezone.now() - timedelta(seconds=1))
    ours = provider_has(message)
    assert reconcile.reconcile_uncertain().adopted == 1
    message.refresh_from_db()
    assert message.remote_id == ours
    assert sim.counters()["dataField:booking:42"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_clash_while_adopting_ends_in_a_decision(sim):
    with holding_tasks():
        first = send_sms(NUMBER, "same")
        second = send_sms(NUMBER, "same")
    remote_id = provider_has(second)
    record = ZoomConnectClient.from_settings().get_message(remote_id)
    # Another row stores the record between the lookup and the adoption.
    Message.objects.filter(pk=first.pk).update(remote_id=remote_id, status=MessageStatus.SENT)
    uncertain(second)
    with mock.patch.object(lookup, "find_remote", return_value=[record]):
        result = reconcile.reconcile_uncertain()
    assert (result.adopted, result.requeued, result.unresolved) == (0, 1, 0)
    second.refresh_from_db()
    assert second.status == MessageStatus.SENT
    assert second.remote_id not in (None, remote_id)


@pytest.mark.django_db(transaction=True)
def test_a_surprise_in_the_lookup_fails_the_message_with_the_reason(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    uncertain(message)

    def broken(client, message):
        raise ValueError("unreadable listing")

    with mock.patch.object(lookup, "find_remote", broken):
        result = reconcile.reconcile_uncertain()
    assert result.failed == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "ValueError: unreadable listing" in message.last_error
    assert "not sent again" in message.last_error
    assert sent_count(sim, message) == 0
    change = MessageStatusChange.objects.get(message=message)
    assert (change.old_status, change.new_status) == ("UNCERTAIN", "FAILED")


@pytest.mark.django_db(transaction=True)
def test_a_lookup_that_keeps_failing_ends_failed_after_the_give_up_time(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    uncertain(message, claimed_at=timezone.now() - timedelta(hours=2))
    sim.inject_fault("500", path="messages/all", count=100)
    try:
        with zoomconnect_settings(GET_RETRIES=0, RECONCILE_GIVE_UP_AFTER=3600):
            result = reconcile.reconcile_uncertain()
    finally:
        sim.clear_faults()
    assert (result.failed, result.unresolved) == (1, 0)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.last_error.startswith("Could not be looked up on Zoom Connect (it may have been sent)")


def two_found_uncertain():
    """Two uncertain messages, each of which the provider has."""
    with holding_tasks():
        first = send_sms(NUMBER, "one")
        second = send_sms(OTHER, "two")
    for message in (first, second):
        provider_has(message)
        uncertain(message)
    return first, second


@pytest.mark.django_db(transaction=True)
def test_each_decision_is_stored_with_its_history_and_signal_before_the_next(sim):
    two_found_uncertain()
    real = lookup.find_remote
    calls = []

    def dies_on_the_second(client, message):
        calls.append(message.pk)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker is killed mid-run
        return real(client, message)

    seen = []
    signals.message_status_changed.connect(receiver := lambda sender, **kw: seen.append(kw["message"].pk))
    try:
        with (
            mock.patch.object(lookup, "find_remote", dies_on_the_second),
            pytest.raises(KeyboardInterrupt),
        ):
            reconcile.reconcile_uncertain()
    finally:
        signals.message_status_changed.disconnect(receiver)
    decided = Message.objects.get(pk=calls[0])
    assert decided.status == MessageStatus.SENT
    assert list(MessageStatusChange.objects.values_list("message_id", "new_status")) == [(decided.pk, "SENT")]
    assert seen == [decided.pk]
    assert Message.objects.get(pk=calls[1]).status == MessageStatus.UNCERTAIN


@pytest.mark.django_db(transaction=True)
def test_a_stalled_claim_holder_does_not_send_what_the_sweeper_took_back(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")

    def stall(sender, message, **kwargs):
        # While this worker is stalled, the sweeper takes its lease and reconcile requeues.
        reconcile.sweep(now=timezone.now() + timedelta(hours=1))

    signals.pre_send.connect(stall)
    try:
        result = outbox.dispatch_message(message.pk)
    finally:
        signals.pre_send.disconnect(stall)
    assert (result.claimed, result.sent) == (1, 0)
    assert sent_count(sim, message) == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.UNCERTAIN
    assert reconcile.reconcile_uncertain(now=timezone.now() + timedelta(hours=1)).requeued == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert sent_count(sim, message) == 1


@pytest.mark.django_db(transaction=True)
def test_the_claim_is_renewed_right_before_the_call(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    claimed_at = timezone.now() - timedelta(minutes=4)
    renewed = []

    def note(sender, message, **kwargs):
        renewed.append(Message.objects.get(pk=message.pk).claimed_at)

    signals.post_send.connect(note)
    try:
        outbox.dispatch_message(message.pk, now=claimed_at)
    finally:
        signals.post_send.disconnect(note)
    assert len(renewed) == 1
    assert renewed[0] > claimed_at + timedelta(minutes=3)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("receiver", [False, True])
def test_a_fresh_claim_is_renewed_only_when_a_pre_send_receiver_ran(sim, receiver):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    claimed = timezone.now() - timedelta(milliseconds=200)  # fresh: well inside the second
    if receiver:
        signals.pre_send.connect(noop := lambda sender, **kwargs: None)
    try:
        with CaptureQueriesContext(connection) as queries:
            outbox.dispatch_message(message.pk, now=claimed)
    finally:
        if receiver:
            signals.pre_send.disconnect(noop)
    message.refresh_from_db()
    renewals = [q for q in queries if "claimed_at" in q["sql"] and q["sql"].startswith("UPDATE")]
    # The claim itself sets claimed_at; a renewal is a second UPDATE of it.
    assert len(renewals) == (2 if receiver else 1)
    assert (message.claimed_at > claimed) is receiver
    assert message.status == MessageStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_the_lease_always_covers_a_whole_call_with_its_timeouts(sim):
    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=now - timedelta(seconds=30)
    )
    with zoomconnect_settings(CLAIM_LEASE_SECONDS=10, TIMEOUT=(5, 30)):
        assert reconcile.sweep(now=now)["expired_claims"] == 0
        assert reconcile.sweep(now=now + timedelta(seconds=6))["expired_claims"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_retried_message_goes_out_under_a_fresh_reference(sim):
    with holding_tasks():
        never = send_sms(NUMBER, "never accepted")
        accepted = send_sms(OTHER, "accepted, then failed")
    Message.objects.filter(pk=never.pk).update(status=MessageStatus.FAILED)
    Message.objects.filter(pk=accepted.pk).update(status=MessageStatus.FAILED, remote_id="r-1")
    with holding_tasks():
        assert outbox.retry(Message.objects.filter(pk__in=[never.pk, accepted.pk])) == 2
    never_again = Message.objects.get(pk=never.pk)
    copy = Message.objects.exclude(pk__in=[never.pk, accepted.pk]).get()
    assert never_again.reference != never.reference
    assert copy.reference not in (accepted.reference, never.reference, never_again.reference)
    change = MessageStatusChange.objects.get(message=never_again)
    assert change.detail == {"retry": True, "previous_reference": never.reference}


# --- lookups grow with chunks, one run at a time (issue 14) ---------------------------------------


def lookups(sim):
    return [r for r in sim.requests if r.path.endswith("messages/all")]


@pytest.mark.django_db(transaction=True)
def test_a_chunk_the_provider_never_processed_costs_three_lookups(sim):
    sim.set_balance(10_000)
    recipients = [f"+2782{n:07d}" for n in range(1_000_000, 1_000_500)]
    sim.inject_fault("500", path="sms/send-bulk")  # refused before anything was accepted
    with zoomconnect_settings(SEND_EAGERLY=False, BULK_CHUNK_SIZE=500), holding_tasks() as held:
        batch = send_bulk(recipients=recipients, body="Flash sale!")
        dispatch.dispatch_chunk(batch.pk, 0)
    assert Message.objects.filter(status=MessageStatus.UNCERTAIN).count() == 500
    sim.clear_requests()
    with holding_tasks():
        result = reconcile.reconcile_uncertain()
    assert result.requeued == 500
    # The chunk's first and last message (neither was accepted), and one page of what was sent
    # since the claim (none of it either).
    assert len(lookups(sim)) == 3
    assert held == [("chunk", batch.pk, 0)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("held_by_the_provider", [False, True])
def test_a_processed_chunk_whose_first_and_last_were_refused_is_not_sent_again(sim, held_by_the_provider):
    from django_zoomconnect.simulator.records import MAGIC_INVALID

    good = ["+27821000001", "+27821000002", "+27821000003"]
    sim.set_balance(2)  # the first two good numbers are accepted; the last finds no credit
    sim.inject_fault("500", path="sms/send-bulk", after_processing=True)  # processed, answer lost
    # Held: scheduled with the provider, so that no listing by the time sent shows them.
    later = {"send_at": timezone.now() + timedelta(hours=1)} if held_by_the_provider else {}
    with (
        zoomconnect_settings(SEND_EAGERLY=False, BALANCE_CHECK="off", SCHEDULING="provider"),
        holding_tasks(),
    ):
        batch = send_bulk(recipients=[MAGIC_INVALID, *good], body="Flash sale!", **later)
        dispatch.dispatch_chunk(batch.pk, 0)
    assert sim.counters()["sends.accepted"] == 2
    sim.advance(5)  # sent, or still held by the provider
    sim.set_balance(100)
    with holding_tasks() as woken:
        result = reconcile.reconcile_uncertain()
    assert (result.adopted, result.requeued) == (2, 2)  # the probes alone said "nothing accepted"
    rows = {m.to_number: m for m in Message.objects.filter(batch=batch)}
    assert {rows[number].remote_id for number in good[:2]} == {
        r.message_id for r in sim.state.messages.values()
    }
    assert rows[good[2]].status == rows[MAGIC_INVALID].status == MessageStatus.QUEUED
    for task in woken:
        dispatch.dispatch_chunk(*task[1:])
    assert sim.counters()["sends.accepted"] == 3  # only the one the provider never accepted
    assert all(sent_count(sim, m) == 1 for m in Message.objects.filter(batch=batch, to_number__in=good))


@pytest.mark.django_db(transaction=True)
def test_a_processed_chunk_is_matched_from_one_listing(sim):
    sim.set_balance(10_000)
    recipients = [f"+2782{n:07d}" for n in range(1_000_000, 1_000_500)]
    sim.inject_fault("500", path="sms/send-bulk", after_processing=True)  # accepted, answer lost
    with zoomconnect_settings(SEND_EAGERLY=False, BULK_CHUNK_SIZE=500), holding_tasks():
        batch = send_bulk(recipients=recipients, body="Flash sale!", campaign="flash")
        dispatch.dispatch_chunk(batch.pk, 0)
    sim.advance(5)  # the provider sends them
    sim.clear_requests()
    result = reconcile.reconcile_uncertain()
    assert result.adopted == 500
    # Two probes, then the messages sent since the claim, 100 a page: 500 lookups before.
    assert len(lookups(sim)) == 2 + 5
    assert sim.counters()["sends.accepted"] == 500
    assert not Message.objects.filter(batch=batch, remote_id__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_one_reconcile_run_at_a_time(sim):
    from django_zoomconnect.services import leases

    with holding_tasks():
        message = send_sms(NUMBER, "hi")
    uncertain(message)
    with leases.held("reconcile", seconds=60) as lease:
        assert lease is not None
        result = reconcile.reconcile_uncertain()
    assert (result.busy, result.requeued) == (True, 0)
    assert lookups(sim) == []
    assert reconcile.reconcile_uncertain().requeued == 1  # released: the next run works


@pytest.mark.django_db(transaction=True)
def test_a_lease_whose_holder_died_is_taken_over_when_it_expires(sim):
    from django_zoomconnect.models import Lease
    from django_zoomconnect.services import leases

    Lease.objects.create(name="reconcile", token="dead", expires_at=timezone.now() - timedelta(seconds=1))
    with leases.held("reconcile", seconds=60) as lease:
        assert lease is not None
        assert lease.renew()
        with leases.held("reconcile", seconds=60) as second:
            assert second is None
    assert not Lease.objects.filter(expires_at__gt=timezone.now()).exists()  # released


@pytest.mark.django_db(transaction=True)
def test_a_surprise_while_deciding_fails_that_message_and_the_run_goes_on(sim):
    first, second = two_found_uncertain()
    real = reconcile._adopted_status

    def unreadable_for_the_first(remote, message, now):
        if message.pk == first.pk:
            raise ValueError("a record nobody expected")
        return real(remote, message, now)

    with mock.patch.object(reconcile, "_adopted_status", unreadable_for_the_first):
        result = reconcile.reconcile_uncertain()
    assert (result.adopted, result.failed) == (1, 1)
    first.refresh_from_db()
    assert first.status == MessageStatus.FAILED
    assert "ValueError: a record nobody expected" in first.last_error
    assert "not sent again" in first.last_error
    assert Message.objects.get(pk=second.pk).status == MessageStatus.SENT
    assert sent_count(sim, first) == 1  # only the provider's own record: never sent twice
