"""Tests for services/inbound/: storing events once, applying reports and replies in any order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from django_zoomconnect import signals
from django_zoomconnect.models import (
    Contact,
    Direction,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    OptOutChange,
    WebhookEvent,
)
from django_zoomconnect.services import history, inbound
from django_zoomconnect.testing import build_delivery_report_params, build_reply_params

pytestmark = pytest.mark.django_db

NUMBER = "+27821234567"


def outbound(remote_id: str | None = "R1", **fields: object) -> Message:
    fields.setdefault("to_number", NUMBER)
    fields.setdefault("body", "Hello")
    fields.setdefault("status", MessageStatus.SENDING)
    return Message.objects.create(direction=Direction.OUTBOUND, remote_id=remote_id, **fields)


def receive(kind: str, params: dict[str, str]) -> WebhookEvent:
    assert _capture is not None
    with _capture(execute=True):
        nonce = params.get("nonce") or uuid.uuid4().hex
        event = inbound.store_event(kind, params, nonce=nonce, nonce_expires_at=None)
        assert event is not None
        return inbound.process_event(event)


def report(message_id: str = "R1", status: str = "DELIVERED", **kwargs: str) -> WebhookEvent:
    return receive("report", build_delivery_report_params(message_id, status, **kwargs))


def reply(from_number: str = NUMBER, text: str = "Yes", **kwargs: str) -> WebhookEvent:
    return receive("reply", build_reply_params(from_number, text, **kwargs))


_capture = None


@pytest.fixture(autouse=True)
def _on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (the signals) when each webhook's processing ends, as a commit would."""
    global _capture
    _capture = django_capture_on_commit_callbacks
    yield
    _capture = None


@pytest.fixture
def received():
    """Every signal sent, as (signal name, kwargs)."""
    seen: list[tuple[str, dict[str, object]]] = []

    def receiver_for(name):
        def receiver(sender, **kwargs):
            assert sender is Message
            seen.append((name, kwargs))

        return receiver

    connected = []
    for name in ("message_received", "delivery_report_received", "message_status_changed"):
        receiver = receiver_for(name)
        getattr(signals, name).connect(receiver, weak=False)
        connected.append((getattr(signals, name), receiver))
    yield seen
    for signal, receiver in connected:
        signal.disconnect(receiver)


# --- storing ---------------------------------------------------------------------------------------


def test_store_event_keeps_params_exactly_and_refuses_a_seen_nonce():
    params = {"messageId": "R1", "status": "SENT", "dataField": "cli:1691,app:13478,", "nonce": "n-1"}
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    first = inbound.store_event("report", params, nonce="n-1", nonce_expires_at=expires)
    assert first is not None
    first.refresh_from_db()
    assert first.params == params
    assert first.state == WebhookEvent.State.PENDING
    assert first.remote_message_id == "R1"
    assert first.nonce_expires_at == expires
    assert inbound.store_event("report", params, nonce="n-1", nonce_expires_at=expires) is None
    assert WebhookEvent.objects.count() == 1


def test_store_event_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown webhook kind"):
        inbound.store_event("other", {}, nonce="n", nonce_expires_at=None)


def test_receive_stores_and_processes_in_one_go_and_refuses_a_seen_nonce(received):
    message = outbound(status=MessageStatus.SENT)
    params = build_delivery_report_params("R1", "DELIVERED")
    assert _capture is not None
    with _capture(execute=True):
        event = inbound.receive("report", params, nonce=params["nonce"], nonce_expires_at=None)
    assert event is not None
    event.refresh_from_db()
    assert (event.state, event.attempts, event.message_id) == ("processed", 1, message.pk)
    assert [name for name, _ in received] == ["delivery_report_received", "message_status_changed"]
    assert inbound.receive("report", params, nonce=params["nonce"], nonce_expires_at=None) is None
    assert WebhookEvent.objects.count() == 1


def test_receive_rolls_back_a_half_done_processing_and_keeps_the_event_as_failed(monkeypatch, caplog):
    message = outbound(status=MessageStatus.SENT)

    def fail(*args, **kwargs):
        raise RuntimeError("history table is gone")

    monkeypatch.setattr(history, "record", fail)
    params = build_delivery_report_params("R1", "DELIVERED")
    event = inbound.receive("report", params, nonce=params["nonce"], nonce_expires_at=None)
    assert event is not None
    event.refresh_from_db()
    assert (event.state, event.attempts, event.params) == ("failed", 1, params)
    assert event.error == "RuntimeError: history table is gone"
    assert "history table is gone" in event.traceback
    assert "Processing a report webhook failed" in caplog.text
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT  # the message update was rolled back with it
    assert inbound.receive("report", params, nonce=params["nonce"], nonce_expires_at=None) is None
    monkeypatch.undo()
    assert inbound.reprocess_events([event]) == {"processed": 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_receive_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown webhook kind"):
        inbound.receive("other", {}, nonce="n", nonce_expires_at=None)


# --- delivery reports ------------------------------------------------------------------------------


def test_report_moves_status_forward_with_history_and_times(received):
    message = outbound(status=MessageStatus.SENDING)
    sent = report("R1", "SENT")
    delivered = report("R1", "DELIVERED")
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.sent_at == sent.received_at
    assert message.delivered_at == delivered.received_at
    history = list(message.status_changes.values_list("old_status", "new_status", "source"))
    assert history == [("SENDING", "SENT", "webhook"), ("SENT", "DELIVERED", "webhook")]
    assert sent.state == delivered.state == WebhookEvent.State.PROCESSED
    assert delivered.message_id == message.pk
    assert delivered.processed_at is not None
    assert delivered.attempts == 1
    names = [name for name, _ in received]
    assert names == [
        "delivery_report_received",
        "message_status_changed",
        "delivery_report_received",
        "message_status_changed",
    ]
    changed = received[-1][1]
    assert changed["old_status"] == "SENT"
    assert changed["new_status"] == "DELIVERED"
    assert changed["source"] == "webhook"
    assert changed["message"].pk == message.pk
    assert changed["event"].status == "DELIVERED"
    assert received[-2][1]["status_changed"] is True


def test_a_late_sent_never_overwrites_delivered(received):
    message = outbound(status=MessageStatus.SENT)
    report("R1", "DELIVERED")
    late = report("R1", "SENT")
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.status_changes.count() == 1
    assert late.state == WebhookEvent.State.PROCESSED
    assert [name for name, _ in received] == [
        "delivery_report_received",
        "message_status_changed",
        "delivery_report_received",
    ]
    assert received[-1][1]["status_changed"] is False


@pytest.mark.parametrize(
    ("before", "status", "after"),
    [
        ("QUEUED", "SENT", "SENT"),
        ("UNCERTAIN", "DELIVERED", "DELIVERED"),
        ("SENT", "FAILED", "FAILED"),
        ("SENT", "FAILED_REFUNDED", "FAILED_REFUNDED"),
        ("DELIVERED", "FAILED", "DELIVERED"),
        ("FAILED", "DELIVERED", "FAILED"),
        ("CANCELLED", "DELIVERED", "CANCELLED"),
        ("SENT", "UNKNOWN", "SENT"),
        ("SENT", "delivered", "DELIVERED"),
    ],
)
def test_status_only_moves_to_a_higher_rank(before, status, after):
    message = outbound(status=before)
    assert report("R1", status).state == WebhookEvent.State.PROCESSED
    message.refresh_from_db()
    assert message.status == after
    assert message.status_changes.count() == (0 if before == after else 1)


def test_a_report_with_an_unknown_status_is_recorded_as_failed():
    message = outbound(status=MessageStatus.SENT)
    event = report("R1", "RECEIVED")
    assert event.state == WebhookEvent.State.FAILED
    assert "unknown status 'RECEIVED'" in event.error
    assert "UnknownStatusError" in event.traceback
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_report_found_by_reference_before_the_send_response_adopts_the_remote_id():
    message = outbound(remote_id=None)
    event = report("R9", "DELIVERED", data_field=message.reference)
    message.refresh_from_db()
    assert event.state == WebhookEvent.State.PROCESSED
    assert message.status == MessageStatus.DELIVERED
    assert message.remote_id == "R9"


def test_a_report_with_the_callers_data_field_waits_for_the_send_to_store_the_remote_id():
    message = outbound(remote_id=None, data_field="order:17,")
    assert report("R9", "SENT", data_field="order:17,").state == WebhookEvent.State.DEFERRED
    message.refresh_from_db()
    assert (message.status, message.remote_id) == (MessageStatus.SENDING, None)
    Message.objects.filter(pk=message.pk).update(remote_id="R9")  # the send's answer arrives
    message.refresh_from_db()
    assert inbound.apply_deferred_reports(message) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.parametrize("status", [MessageStatus.QUEUED, MessageStatus.UNCERTAIN, MessageStatus.SENDING])
def test_a_report_about_another_message_with_the_same_data_field_never_marks_ours_sent(status):
    # The only unsent message with this dataField, but the report is another app's message.
    message = outbound(remote_id=None, data_field="booking:42", status=status)
    assert report("OTHER", "DELIVERED", data_field="booking:42").state == WebhookEvent.State.DEFERRED
    message.refresh_from_db()
    assert (message.status, message.remote_id) == (status, None)


def test_a_data_field_shared_by_several_unsent_messages_matches_none():
    outbound(remote_id=None, data_field="shared")
    outbound(remote_id=None, data_field="shared")
    assert report("R9", "SENT", data_field="shared").state == WebhookEvent.State.DEFERRED


def test_report_for_an_unknown_message_is_deferred_then_applied_when_it_appears(received):
    later_delivered = report("R5", "DELIVERED")
    later_sent = report("R5", "SENT")
    assert later_delivered.state == later_sent.state == WebhookEvent.State.DEFERRED
    assert later_delivered.message is None
    assert received == []
    message = outbound(remote_id="R5", status=MessageStatus.SENT)
    with _capture(execute=True):
        assert inbound.apply_deferred_reports(message) == 2
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.status_changes.count() == 1
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {WebhookEvent.State.PROCESSED}
    assert [name for name, _ in received].count("delivery_report_received") == 2
    assert inbound.apply_deferred_reports(message) == 0


def test_deferred_report_found_later_by_its_reference():
    reference = uuid.uuid4().hex
    assert report("R6", "DELIVERED", data_field=reference).state == WebhookEvent.State.DEFERRED
    message = outbound(remote_id=None, reference=reference)
    assert inbound.apply_deferred_reports(message) == 1
    message.refresh_from_db()
    assert (message.status, message.remote_id) == (MessageStatus.DELIVERED, "R6")


def test_apply_deferred_reports_ignores_inbound_and_unidentifiable_messages():
    assert (
        inbound.apply_deferred_reports(Message.objects.create(direction=Direction.INBOUND, remote_id="I1"))
        == 0
    )
    assert inbound.apply_deferred_reports(outbound(remote_id=None, reference="")) == 0


def test_failed_optout_report_opts_the_number_out():
    message = outbound(status=MessageStatus.SENT, to_number="+27600000003")
    report("R1", "FAILED_OPTOUT")
    opt_out = OptOut.objects.get()
    assert (opt_out.phone_number, opt_out.source, opt_out.message_id) == (
        "+27600000003",
        "report",
        message.pk,
    )
    report("R1", "FAILED_OPTOUT")  # a retry of the same report
    assert OptOut.objects.count() == 1
    assert list(OptOutChange.objects.values_list("action", "source")) == [("out", "report")]


def test_processing_is_idempotent_per_event(received):
    outbound(status=MessageStatus.SENT)
    event = report("R1", "DELIVERED")
    again = inbound.process_event(event.pk)
    assert again.attempts == 1
    assert MessageStatusChange.objects.count() == 1
    assert len(received) == 2


def test_a_processing_failure_is_recorded_and_reprocessing_recovers(monkeypatch):
    outbound(status=MessageStatus.SENT)

    def explode(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(inbound.processing, "_apply_report", explode)
    event = report("R1", "DELIVERED")
    assert event.state == WebhookEvent.State.FAILED
    assert event.error == "RuntimeError: database went away"
    assert "explode" in event.traceback
    assert event.attempts == 1
    monkeypatch.undo()
    counts = inbound.reprocess_events(WebhookEvent.objects.all())
    assert counts == {"processed": 1}
    event.refresh_from_db()
    assert (event.state, event.error, event.traceback, event.attempts) == ("processed", "", "", 2)
    assert Message.objects.get().status == MessageStatus.DELIVERED


def test_reprocess_events_accepts_events_and_keys_and_skips_missing_ones():
    outbound(status=MessageStatus.SENT)
    event = report("R1", "DELIVERED")
    assert inbound.reprocess_events([event, event.pk, 999999]) == {"processed": 2}


def test_process_event_of_a_missing_event_raises():
    with pytest.raises(WebhookEvent.DoesNotExist):
        inbound.process_event(424242)


# --- replies ---------------------------------------------------------------------------------------


def test_reply_becomes_an_inbound_message_linked_to_contact_and_outbound(received):
    contact = Contact.objects.create(phone_number=NUMBER, first_name="Thandi")
    sent = outbound(remote_id="OUT1", status=MessageStatus.DELIVERED)
    event = reply(
        "27821234567",
        "Yes please ",
        message_id="IN1",
        to_number="INF-WnV8e3c2tsHTQKDb",
        replied_to_message_id="OUT1",
        campaign="spring",
        data_field="cli:1691,app:13478,pra:363,pro:11272,",
        date="201405161005",
    )
    message = Message.objects.get(direction=Direction.INBOUND)
    assert event.state == WebhookEvent.State.PROCESSED
    assert event.message_id == message.pk
    assert message.status == MessageStatus.RECEIVED
    assert message.remote_id == "IN1"
    assert message.from_number == NUMBER
    assert message.to_number == "INF-WnV8e3c2tsHTQKDb"
    assert message.body == "Yes please "
    assert message.campaign == "spring"
    assert message.data_field == "cli:1691,app:13478,pra:363,pro:11272,"
    assert message.received_at == datetime(2014, 5, 16, 8, 5, tzinfo=UTC)  # 10:05 in Johannesburg
    assert message.contact == contact
    assert message.in_reply_to == sent
    assert message.remote_data["from"] == "27821234567"
    assert [name for name, _ in received] == ["message_received"]
    kwargs = received[0][1]
    assert kwargs["message"].pk == message.pk
    assert kwargs["event"].text == "Yes please "
    assert kwargs["event"].params["to"] == "INF-WnV8e3c2tsHTQKDb"


def test_reply_linked_by_the_reference_in_data_field():
    sent = outbound(remote_id="OUT1")
    reply(data_field=sent.reference)
    assert Message.objects.get(direction=Direction.INBOUND).in_reply_to == sent


def test_reply_linked_by_a_shared_data_field_to_the_latest_message_to_that_number():
    outbound(remote_id="A", data_field="promo")
    latest = outbound(remote_id="B", data_field="promo")
    outbound(remote_id="C", data_field="promo", to_number="+27831234567")
    reply(data_field="promo")
    assert Message.objects.get(direction=Direction.INBOUND).in_reply_to == latest


def test_reply_without_a_known_outbound_message_or_a_valid_number_is_still_stored():
    event = reply("not a number", "hi", replied_to_message_id="NOPE", date="garbage")
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.from_number == "not a number"
    assert message.in_reply_to is None
    assert message.contact is None
    assert message.received_at == event.received_at


def test_the_same_reply_twice_is_stored_once_and_signalled_once(received):
    params = build_reply_params(NUMBER, "Yes", message_id="IN1")
    receive("reply", params)
    retry = receive("reply", {**params, "nonce": "another"})
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert retry.state == WebhookEvent.State.PROCESSED
    assert retry.message_id == Message.objects.get(direction=Direction.INBOUND).pk
    assert [name for name, _ in received] == ["message_received"]


def test_a_reply_stored_before_its_outbound_message_is_linked_when_it_appears():
    reply(message_id="IN1", replied_to_message_id="OUT7")
    message = outbound(remote_id="OUT7")
    inbound.apply_deferred_reports(message)
    assert Message.objects.get(remote_id="IN1").in_reply_to == message


def test_a_repeated_reply_links_an_outbound_message_that_appeared_since():
    params = build_reply_params(NUMBER, "Yes", message_id="IN1", replied_to_message_id="OUT8")
    receive("reply", params)
    sent = outbound(remote_id="OUT8")
    receive("reply", {**params, "nonce": "again"})
    assert Message.objects.get(remote_id="IN1").in_reply_to == sent


@pytest.mark.parametrize(
    ("text", "opted_out"),
    [
        ("STOP", True),
        ("stop", True),
        ("  Stop \n", True),
        ("Stop All", True),
        ("stop  all", True),
        ("STOPALL", True),
        ("unsubscribe", True),
        ("Opt Out", True),
        ("opt-out", True),
        ("optout", True),
        ("QUIT", True),
        ("END", True),
        ("CANCEL", True),
        ("stop it", False),
        ("please stop", False),
        ("Don't stop!", False),
        ("STOP.", False),
        ("", False),
    ],
)
def test_opt_out_keywords_match_the_whole_trimmed_reply(text, opted_out):
    reply("0821234567", text)
    assert OptOut.objects.filter(phone_number=NUMBER, source="keyword").exists() is opted_out
    if opted_out:
        opt_out = OptOut.objects.get()
        assert opt_out.message == Message.objects.get(direction=Direction.INBOUND)
        assert opt_out.detail == text.strip()


def test_opt_out_keywords_are_a_setting(settings):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "OPT_OUT_KEYWORDS": ["Genoeg", "STOP ASSEBLIEF"]}
    assert inbound.is_opt_out_keyword("genoeg")
    assert inbound.is_opt_out_keyword("stop  asseblief")
    assert not inbound.is_opt_out_keyword("STOP")
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "OPT_OUT_KEYWORDS": []}
    assert not inbound.is_opt_out_keyword("STOP")


# --- housekeeping ----------------------------------------------------------------------------------


def _event_at(
    received_at: datetime, nonce_expires_at: datetime | None, state: str = "processed"
) -> WebhookEvent:
    event = WebhookEvent.objects.create(
        kind="report", params={}, nonce=uuid.uuid4().hex, nonce_expires_at=nonce_expires_at, state=state
    )
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=received_at)
    return event


def test_delete_old_events_keeps_recent_ones_and_unexpired_nonces(settings):
    now = timezone.now()
    old = _event_at(now - timedelta(days=91), now - timedelta(days=91))
    old_failed = _event_at(now - timedelta(days=100), None, state="failed")
    recent = _event_at(now - timedelta(days=89), now - timedelta(days=89))
    far_future_nonce = _event_at(now - timedelta(days=200), now + timedelta(days=1))
    within_grace = _event_at(now - timedelta(days=200), now - timedelta(seconds=10))
    assert inbound.delete_old_events(now=now) == 2
    remaining = set(WebhookEvent.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, far_future_nonce.pk, within_grace.pk}
    assert old.pk not in remaining
    assert old_failed.pk not in remaining
    assert inbound.delete_old_events(days=0, now=now) == 1  # recent
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "WEBHOOK_EVENT_RETENTION_DAYS": None}
    assert inbound.delete_old_events(now=now + timedelta(days=3)) == 0
    with pytest.raises(ValueError, match="zero or more"):
        inbound.delete_old_events(days=-1)


def test_sweep_processes_stale_pending_and_deferred_events():
    outbound(remote_id="R1", status=MessageStatus.SENT)
    stale = inbound.store_event(
        "report", build_delivery_report_params("R1", "DELIVERED"), nonce="stale", nonce_expires_at=None
    )
    assert stale is not None
    WebhookEvent.objects.filter(pk=stale.pk).update(received_at=timezone.now() - timedelta(minutes=10))
    fresh = inbound.store_event(
        "report", build_delivery_report_params("R1", "SENT"), nonce="fresh", nonce_expires_at=None
    )
    deferred = report("R2", "DELIVERED")
    outbound(remote_id="R2", status=MessageStatus.SENT)
    assert inbound.sweep_events() == {"processed": 2}
    assert WebhookEvent.objects.get(pk=fresh.pk).state == WebhookEvent.State.PENDING
    assert WebhookEvent.objects.get(pk=deferred.pk).state == WebhookEvent.State.PROCESSED
    assert Message.objects.get(remote_id="R1").status == MessageStatus.DELIVERED


def test_the_celery_tasks_call_the_service():
    from django_zoomconnect import tasks

    outbound(status=MessageStatus.SENT)
    event = inbound.store_event(
        "report", build_delivery_report_params("R1", "DELIVERED"), nonce="t", nonce_expires_at=None
    )
    assert event is not None
    assert tasks.process_webhook_event(event.pk) == "processed"
    assert tasks.sweep_webhook_events() == {}
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(days=400))
    assert tasks.cleanup_webhook_events() == 1
