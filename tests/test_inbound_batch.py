"""Tests for services/inbound/batch.py: stored events applied many at a time, as one at a time would."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_zoomconnect import signals, tasks
from django_zoomconnect.models import (
    BeatRun,
    Direction,
    Lease,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    WebhookEvent,
)
from django_zoomconnect.services import history, inbound
from django_zoomconnect.services.inbound import batch
from django_zoomconnect.testing import build_delivery_report_params, build_reply_params

pytestmark = pytest.mark.django_db

SECRET = "test-webhook-secret"
ARRIVAL = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
STATUSES = ["SENT", "DELIVERED", "FAILED", "FAILED_OPTOUT", "NOT_A_STATUS"]


def outbound(number: int, remote_id: str | None, status: str = MessageStatus.SENDING) -> Message:
    return Message.objects.create(
        direction=Direction.OUTBOUND,
        remote_id=remote_id,
        reference=f"ref-{number}",
        to_number=f"+2782123{number:04d}",
        body="Hello",
        status=status,
    )


def store(kind: str, params: dict[str, str]) -> WebhookEvent:
    event = inbound.store_event(kind, params, nonce=params["nonce"], nonce_expires_at=None)
    assert event is not None
    return event


def report(message_id: str, status: str = "DELIVERED", **kwargs: str) -> WebhookEvent:
    return store("report", build_delivery_report_params(message_id, status, **kwargs))


@pytest.fixture
def received():
    """Every signal sent, as (signal name, the message's reference, the status it speaks of)."""
    seen: list[tuple[str, str, str]] = []
    connected = []
    for name in ("message_received", "delivery_report_received", "message_status_changed"):

        def receiver(sender, *, message, name=name, **kwargs):
            if name == "message_received":  # a reply: its reference is new each time
                seen.append((name, "", message.body))
            else:
                seen.append((name, message.reference, kwargs.get("new_status") or kwargs["event"].status))

        getattr(signals, name).connect(receiver, weak=False)
        connected.append((getattr(signals, name), receiver))
    yield seen
    for signal, receiver in connected:
        signal.disconnect(receiver)


# --- the same outcome as one event at a time -----------------------------------------------------


def _scenario(seed: int) -> None:
    """Messages in every situation, and 300 reports (and a few replies) about them, stored in a
    shuffled order: older news after newer, repeats, unknown messages and statuses, reports that
    overtake the send's answer and find their message by our reference."""
    rng = random.Random(seed)
    for number in range(40):
        known = number % 4 != 0  # every fourth has no remote id yet: its reports come by reference
        outbound(number, f"R{number}" if known else None, rng.choice(["SENDING", "SENT"]))
    events: list[tuple[str, dict[str, str]]] = []
    for _ in range(300):
        number = rng.randrange(48)  # 40 to 47 are never sent: their reports are deferred
        status = rng.choice(STATUSES)
        by_reference = rng.random() < 0.5
        events.append(
            (
                "report",
                build_delivery_report_params(
                    f"R{number}", status, data_field=f"ref-{number}" if by_reference else None
                ),
            )
        )
    for number in range(5):
        events.append(("reply", build_reply_params(f"+2782123{number:04d}", f"Thanks {number}")))
    events.append(("reply", build_reply_params("+27821230007", "STOP")))
    rng.shuffle(events)
    for kind, params in events:
        store(kind, params)


def _outcome(received: list[tuple[str, str, str]]) -> dict[str, object]:
    def reference(pk: int | None) -> str | None:
        return None if pk is None else Message.objects.get(pk=pk).reference

    return {
        "messages": sorted(
            Message.objects.filter(direction=Direction.OUTBOUND).values_list(
                "reference", "status", "remote_id", "sent_at", "delivered_at"
            )
        ),
        "history": list(
            MessageStatusChange.objects.order_by("pk").values_list(
                "message__reference", "old_status", "new_status", "source"
            )
        ),
        "events": [  # in the order they were stored (nonces, and replies' references, are new each time)
            (
                event.kind,
                event.state,
                reference(event.message_id) if event.kind == "report" else bool(event.message_id),
                event.attempts,
                event.error[:40],
            )
            for event in WebhookEvent.objects.order_by("pk")
        ],
        "replies": sorted(
            Message.objects.filter(direction=Direction.INBOUND).values_list("from_number", "body")
        ),
        "opted_out": sorted(OptOut.objects.values_list("phone_number", flat=True)),
        # Report signals in the order the reports arrived. A batch's replies are applied after its
        # reports (each message's signals keep their order): compare them as a set.
        "report signals": [signal for signal in received if signal[0] != "message_received"],
        "reply signals": sorted(signal for signal in received if signal[0] == "message_received"),
    }


def _times_of_arrival_are_fixed():
    # sent_at and delivered_at come from received_at: make them comparable across the two runs.
    WebhookEvent.objects.update(received_at=ARRIVAL)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_leaves_exactly_what_one_event_at_a_time_leaves(
    seed, received, django_capture_on_commit_callbacks
):
    _scenario(seed)
    _times_of_arrival_are_fixed()
    with django_capture_on_commit_callbacks(execute=True):
        for pk in WebhookEvent.objects.order_by("received_at", "pk").values_list("pk", flat=True):
            inbound.process_event(pk)
    one_at_a_time = _outcome(received)

    for model in (WebhookEvent, MessageStatusChange, OptOut, Message):
        model.objects.all().delete()
    received.clear()
    _scenario(seed)
    _times_of_arrival_are_fixed()
    with django_capture_on_commit_callbacks(execute=True):
        applied = inbound.apply_pending(batch_size=128)
    in_batches = _outcome(received)

    assert (applied.total, applied.batches) == (306, 3)
    assert set(applied.states) == {"processed", "deferred", "failed"}
    # Same statuses, remote ids, times, history, event outcomes, opt-outs, and the same signals
    # in the same order (references differ only for the replies, whose references are new).
    for key in one_at_a_time:
        assert in_batches[key] == one_at_a_time[key], key


# --- query counts --------------------------------------------------------------------------------


def _reports(count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        outbound(number, f"R{number}", MessageStatus.SENT)
        report(f"R{number}")


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run in the block, without transaction control (BEGIN, COMMIT, savepoints,
    which some backends log and others do not)."""
    with CaptureQueriesContext(connection) as captured:
        found: list[str] = []
        yield found
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    found.extend(query["sql"] for query in captured if not query["sql"].upper().startswith(control))


@pytest.mark.parametrize("count", [1, 250])
def test_a_batch_costs_the_same_queries_whatever_its_size(count):
    _reports(count + 1)
    inbound.apply_pending(limit=1)  # the lease's row exists from the first run on
    # A look for pending events, the lease (take, release), then the batch: its events, their
    # messages, the messages' statuses, the history, the events' outcomes. No signal listener:
    # nothing is read after commit. With fewer events than the batch size, no second look.
    with statements() as sql:
        applied = inbound.apply_pending(batch_size=500)
    assert len(sql) == 8, "\n".join(sql)
    assert applied.as_dict() == {
        "applied": count,
        "states": {"processed": count},
        "batches": 1,
        "busy": False,
    }
    assert Message.objects.filter(status=MessageStatus.DELIVERED).count() == count + 1


def test_the_signals_of_a_batch_read_its_messages_once(received, django_capture_on_commit_callbacks):
    _reports(30)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        inbound.apply_pending()
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    assert len(queries) == 1
    assert [name for name, *_ in received] == ["delivery_report_received", "message_status_changed"] * 30
    # In the order the reports arrived.
    assert [ref for name, ref, _ in received[::2]] == [f"ref-{n}" for n in range(30)]


def test_nothing_pending_costs_one_look():
    inbound.apply_pending()
    with statements() as sql:
        assert inbound.apply_pending().as_dict() == {"applied": 0, "states": {}, "batches": 0, "busy": False}
    assert len(sql) == 1, "\n".join(sql)


# --- order and exactly once --------------------------------------------------------------------------


def test_reports_of_one_message_apply_in_the_order_they_arrived_across_batches(
    received, django_capture_on_commit_callbacks
):
    message = outbound(1, "R1")
    for status in ("SENT", "DELIVERED", "SENT", "FAILED"):
        report("R1", status)
    with django_capture_on_commit_callbacks(execute=True):
        applied = inbound.apply_pending(batch_size=1)
    assert applied.batches == 4
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED  # FAILED ranks below DELIVERED: older news
    assert [(name, said) for name, _, said in received] == [
        ("delivery_report_received", "SENT"),
        ("message_status_changed", "SENT"),
        ("delivery_report_received", "DELIVERED"),
        ("message_status_changed", "DELIVERED"),
        ("delivery_report_received", "SENT"),
        ("delivery_report_received", "FAILED"),
    ]
    # Applied events are never applied again.
    received.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound.apply_pending().total == 0
    assert received == []
    assert MessageStatusChange.objects.count() == 2


def test_a_report_that_overtook_the_send_adopts_the_remote_id_once():
    early = outbound(1, None)
    report("R9", "SENT", data_field="ref-1")
    report("R9", "DELIVERED")  # the same batch: found by the id the first one adopted
    inbound.apply_pending()
    early.refresh_from_db()
    assert (early.remote_id, early.status) == ("R9", MessageStatus.DELIVERED)
    assert None not in (early.sent_at, early.delivered_at)
    assert set(WebhookEvent.objects.values_list("state", "message_id")) == {("processed", early.pk)}


def test_a_caller_data_field_never_matches_and_the_report_waits():
    outbound(1, None)
    Message.objects.filter(reference="ref-1").update(data_field="order-7")
    report("R9", "DELIVERED", data_field="ref-1")
    assert inbound.apply_pending().states == {"deferred": 1}


def test_a_deferred_report_is_applied_when_its_message_is_sent():
    report("R5", "DELIVERED")
    assert inbound.apply_pending().states == {"deferred": 1}
    message = outbound(5, "R5", MessageStatus.SENT)
    assert inbound.apply_deferred_reports(message) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_unknown_status_and_unreadable_reports_fail_alone():
    outbound(1, "R1", MessageStatus.SENT)
    report("R1", "MAYBE")
    report("R1", "DELIVERED")
    assert inbound.apply_pending().states == {"failed": 1, "processed": 1}
    failed = WebhookEvent.objects.get(state="failed")
    assert failed.error == "UnknownStatusError: delivery report with unknown status 'MAYBE'"
    assert "UnknownStatusError" in failed.traceback
    assert failed.attempts == 1
    # Reprocessing it later goes the one-at-a-time way, and fails the same.
    assert inbound.reprocess_events([failed]) == {"failed": 1}


def test_failed_optout_opts_the_number_out_with_its_message():
    message = outbound(1, "R1", MessageStatus.SENT)
    report("R1", "FAILED_OPTOUT")
    inbound.apply_pending()
    opt_out = OptOut.objects.get()
    assert opt_out.phone_number == message.to_number
    assert message.opt_out_changes.get().phone_number == message.to_number


def test_replies_are_applied_one_at_a_time_after_the_batch(received, django_capture_on_commit_callbacks):
    outbound(1, "R1", MessageStatus.SENT)
    store("reply", build_reply_params("+27821230001", "Yes please", replied_to_message_id="R1"))
    report("R1")
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound.apply_pending().states == {"processed": 2}
    answer = Message.objects.get(direction=Direction.INBOUND)
    assert answer.in_reply_to.reference == "ref-1"
    assert {name for name, *_ in received} == {
        "message_received",
        "delivery_report_received",
        "message_status_changed",
    }


# --- limits, the lease and failures ------------------------------------------------------------------


def test_limit_and_batch_size():
    _reports(5)
    applied = inbound.apply_pending(limit=3, batch_size=2)
    assert (applied.total, applied.batches) == (3, 2)
    assert WebhookEvent.objects.filter(state="pending").count() == 2
    with pytest.raises(ValueError, match="at least 1"):
        inbound.apply_pending(batch_size=0)
    with pytest.raises(ValueError, match="at least 1"):
        inbound.apply_pending(limit=0)


def test_another_applier_holding_the_lease_makes_this_one_busy():
    _reports(2)
    Lease.objects.create(name=batch.LEASE, token="other", expires_at=timezone.now() + timedelta(minutes=1))
    applied = inbound.apply_pending()
    assert applied.as_dict() == {"applied": 0, "states": {}, "batches": 0, "busy": True}
    assert WebhookEvent.objects.filter(state="pending").count() == 2
    # An expired lease is taken over, and released afterwards.
    Lease.objects.filter(name=batch.LEASE).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert inbound.apply_pending().total == 2
    assert not Lease.objects.filter(expires_at__gt=timezone.now()).exists()  # released


def test_a_batch_that_fails_as_a_whole_is_applied_one_event_at_a_time(monkeypatch, caplog):
    _reports(3)
    real: Callable[..., object] = history.record
    calls = []

    def fail_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("deadlock detected")
        return real(*args, **kwargs)

    monkeypatch.setattr(history, "record", fail_once)
    assert inbound.apply_pending().states == {"processed": 3}
    assert "Applying 3 webhook events as a batch failed; applying them one at a time" in caplog.text
    assert MessageStatusChange.objects.count() == 3  # the failed batch left nothing behind
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}


# --- the view, the task, the command and the check ---------------------------------------------------


def test_in_batch_mode_a_webhook_costs_one_insert(client, django_assert_num_queries, settings):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "WEBHOOK_PROCESSING": "batch"}
    outbound(1, "R1", MessageStatus.SENT)
    params = build_delivery_report_params(
        "R1", "DELIVERED", secret=SECRET, nonce_date=timezone.now() + timedelta(hours=1)
    )
    url = reverse("zoomconnect:delivery-report")
    with django_assert_num_queries(1):
        answer = client.post(url, params)
    assert (answer.status_code, answer.content) == (200, b"OK\n")
    # MySQL's INSERT IGNORE cannot tell a duplicate nonce from another key: one more query there.
    with django_assert_num_queries(2 if connection.vendor == "mysql" else 1):
        again = client.post(url, params)
    assert (again.status_code, again.content) == (200, b"duplicate\n")
    assert WebhookEvent.objects.get().state == "pending"
    assert Message.objects.get().status == MessageStatus.SENT  # not applied in the request
    tasks.apply_webhook_events.apply()  # as a beat would run it
    assert Message.objects.get().status == MessageStatus.DELIVERED
    assert BeatRun.objects.get(task="apply_webhook_events").last_result["applied"] == 1


def test_the_command_applies_and_says_what_it_did(capsys):
    _reports(2)
    report("R404")
    call_command("zoomconnect_webhooks", "apply", "--batch-size", "2")
    assert "Applied 3 webhook event(s) in 2 batch(es): 1 deferred, 2 processed." in capsys.readouterr().out
    call_command("zoomconnect_webhooks", "apply", "--json")
    assert json.loads(capsys.readouterr().out) == {"applied": 0, "states": {}, "batches": 0, "busy": False}


@pytest.mark.parametrize("count", [1, 5])
def test_in_sync_mode_each_report_costs_the_same_queries(count, client):
    """The default mode, in one transaction, whatever came before: the message looked up and
    locked, the event's INSERT in its final state, the message's UPDATE and the history row. SQLite
    has no row locks: there the event is inserted first (its write lock serializes webhooks),
    then updated with its outcome, one statement more."""
    url = reverse("zoomconnect:delivery-report")
    per_report = []
    for number in range(count):
        outbound(number, f"R{number}", MessageStatus.SENT)
        params = build_delivery_report_params(
            f"R{number}", "DELIVERED", secret=SECRET, nonce_date=timezone.now() + timedelta(hours=1)
        )
        with statements() as sql:
            assert client.post(url, params).status_code == 200
        per_report.append(len(sql))
    expected = 4 if connection.features.has_select_for_update else 5
    assert per_report == [expected] * count, per_report
    assert Message.objects.filter(status=MessageStatus.DELIVERED).count() == count
