"""Tests for signals.py: sent after commit, robustly, with the arguments the docs promise."""

from __future__ import annotations

import inspect
import logging

import pytest
from django.db import transaction
from django.dispatch import Signal
from django.urls import include, path

from django_zoomconnect import signals
from django_zoomconnect.events import DeliveryReport, InboundReply
from django_zoomconnect.models import Direction, Message, MessageStatus, WebhookEvent
from django_zoomconnect.services import inbound
from django_zoomconnect.testing import build_delivery_report_params, build_reply_params, signed_post

urlpatterns = [path("zc/", include("django_zoomconnect.urls"))]

pytestmark = pytest.mark.urls("tests.test_signals")

ALL = ("message_received", "delivery_report_received", "message_status_changed", "pre_send", "post_send")


@pytest.fixture
def connect():
    """Connect receivers for one test only."""
    connected: list[tuple[Signal, object]] = []

    def _connect(signal: Signal, receiver) -> None:
        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))

    yield _connect
    for signal, receiver in connected:
        signal.disconnect(receiver)


def sent_message() -> Message:
    return Message.objects.create(
        direction=Direction.OUTBOUND, remote_id="R1", to_number="+27821234567", status=MessageStatus.SENT
    )


def test_every_signal_is_declared_and_documented():
    source = inspect.getsource(signals).splitlines()
    for name in ALL:
        assert isinstance(getattr(signals, name), Signal)
        assert name in signals.__all__
        line = source.index(f"{name} = Signal()")
        comment = []
        while source[line - 1].startswith("#:"):
            line -= 1
            comment.insert(0, source[line])
        assert "Arguments: ``message``" in " ".join(comment), f"{name} needs a #: comment with its arguments"


def test_send_robustly_logs_a_failing_receiver_and_runs_the_others(connect, caplog):
    calls = []

    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    def working(sender, **kwargs):
        calls.append(kwargs)

    connect(signals.message_received, broken)
    connect(signals.message_received, working)
    with caplog.at_level(logging.ERROR, logger="django_zoomconnect.signals"):
        responses = signals.send_robustly(signals.message_received, Message, message=None, event=None)
    # Every signal carries the account, "default" when the message says none.
    assert calls == [
        {"message": None, "event": None, "account": "default", "signal": signals.message_received}
    ]
    assert isinstance(responses[0][1], RuntimeError)
    (record,) = [r for r in caplog.records if r.name == "django_zoomconnect.signals"]
    assert "broken" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[1] is responses[0][1]


@pytest.mark.django_db(transaction=True)
def test_signals_are_sent_after_commit_with_committed_rows(connect):
    seen = []

    def on_status(sender, message, old_status, new_status, source, event, **kwargs):
        seen.append(
            (
                transaction.get_connection().in_atomic_block,
                Message.objects.get(pk=message.pk).status,
                old_status,
                new_status,
                source,
                type(event),
            )
        )

    connect(signals.message_status_changed, on_status)
    message = sent_message()
    event = inbound.store_event(
        "report", build_delivery_report_params("R1", "DELIVERED"), nonce="n1", nonce_expires_at=None
    )
    inbound.process_event(event)
    assert seen == [(False, "DELIVERED", "SENT", "DELIVERED", "webhook", DeliveryReport)]
    assert message.status_changes.get().new_status == "DELIVERED"


@pytest.mark.django_db
def test_no_signal_when_the_surrounding_transaction_rolls_back(connect, django_capture_on_commit_callbacks):
    seen = []
    connect(signals.delivery_report_received, lambda sender, **kwargs: seen.append(kwargs))
    sent_message()

    def store_process_and_fail() -> None:
        with transaction.atomic():
            event = inbound.store_event(
                "report", build_delivery_report_params("R1", "DELIVERED"), nonce="n2", nonce_expires_at=None
            )
            inbound.process_event(event)
            raise RuntimeError("the caller's transaction fails")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        store_process_and_fail()
    assert seen == []
    assert not WebhookEvent.objects.exists()
    assert Message.objects.get().status == MessageStatus.SENT


@pytest.mark.django_db
def test_a_failing_receiver_does_not_fail_the_webhook_or_the_others(
    client, connect, caplog, django_capture_on_commit_callbacks
):
    received = []

    def broken(sender, **kwargs):
        raise ValueError("app bug")

    connect(signals.message_received, broken)
    connect(
        signals.message_received, lambda sender, message, event, **kwargs: received.append((message, event))
    )
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = signed_post(client, "zoomconnect:reply", build_reply_params("+27821234567", "Hi"))
    assert response.status_code == 200
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED
    ((message, event),) = received
    assert message.direction == Direction.INBOUND
    assert isinstance(event, InboundReply)
    assert event.text == "Hi"
    assert event.event_id == WebhookEvent.objects.get().pk
    assert "ValueError" in caplog.text


@pytest.mark.django_db
def test_delivery_report_received_arguments(connect, django_capture_on_commit_callbacks):
    seen = []
    connect(signals.delivery_report_received, lambda sender, **kwargs: seen.append((sender, kwargs)))
    message = sent_message()
    with django_capture_on_commit_callbacks(execute=True):
        event = inbound.store_event(
            "report",
            build_delivery_report_params("R1", "DELIVERED", campaign="c", data_field="d,e,"),
            nonce="n3",
            nonce_expires_at=None,
        )
        inbound.process_event(event)
    ((sender, kwargs),) = seen
    assert sender is Message
    assert set(kwargs) == {"signal", "message", "event", "status_changed", "account"}
    assert kwargs["account"] == "default"
    assert kwargs["message"].pk == message.pk
    assert kwargs["message"].status == MessageStatus.DELIVERED
    assert kwargs["status_changed"] is True
    report = kwargs["event"]
    assert (report.message_id, report.status, report.campaign, report.data_field) == (
        "R1",
        "DELIVERED",
        "c",
        "d,e,",
    )
    assert report.params["dataField"] == "d,e,"
