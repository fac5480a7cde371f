"""Tests for the zoomconnect_send and zoomconnect_balance management commands."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from django_zoomconnect.models import Message, MessageStatus, SendingPause
from django_zoomconnect.services import outbox
from tests.outbox import fast_outbox, holding_tasks, zoomconnect_settings


@pytest.fixture
def sim(zoomconnect_simulator):
    with fast_outbox(zoomconnect_simulator) as simulator:
        yield simulator


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_send_one_message(sim):
    out, _ = run("zoomconnect_send", "082 123 4567", "Hello from the shell", "--campaign", "ops")
    message = Message.objects.get()
    assert message.status == MessageStatus.SENT
    assert message.campaign == "ops"
    assert out.startswith(f"Message {message.pk} to +27821234567: SENT (Zoom Connect id {message.remote_id})")


@pytest.mark.django_db(transaction=True)
def test_send_later_and_naive_times_are_in_time_zone(sim):
    out, _ = run("zoomconnect_send", "+27821234567", "Later", "--at", "2099-01-31T09:00")
    message = Message.objects.get()
    assert message.status == MessageStatus.QUEUED
    assert message.scheduled_at.isoformat() == "2099-01-31T09:00:00+00:00"  # TIME_ZONE is UTC in tests
    assert "due 2099-01-31T09:00:00+00:00" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((), "Give a number and a text"),
        (("+27821234567",), "both the number and the text"),
        (("nope", "hi"), "not a valid phone number"),
        (("+27821234567", "hi", "--at", "tomorrow"), "not an ISO 8601"),
    ],
)
def test_bad_input_is_a_command_error(args, match):
    with pytest.raises(CommandError, match=match):
        run("zoomconnect_send", *args)
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_the_message_waits_and_due_sends_it(sim):
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        out, _ = run("zoomconnect_send", "+27821234567", "hi")
    assert "A Celery worker sends it (or run this command with --due)" in out
    out, _ = run("zoomconnect_send", "--due")
    assert "1 task(s) enqueued" in out
    assert Message.objects.get().status == MessageStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_resume_after_refused_credentials(sim):
    outbox.pause_sending("Zoom Connect refused the credentials (401)")
    out, err = run("zoomconnect_send", "+27821234567", "hi")
    assert "QUEUED" in out
    assert "--resume" in err
    out, _ = run("zoomconnect_send", "--resume")
    assert "Sending resumed (it was paused: Zoom Connect refused the credentials (401)); 1 task(s)" in out
    assert Message.objects.get().status == MessageStatus.SENT
    out, _ = run("zoomconnect_send", "--resume")
    assert out.strip() == "Sending is not paused."


@pytest.mark.django_db(transaction=True)
def test_balance_is_printed_and_lifts_a_pause(sim):
    out, _ = run("zoomconnect_balance")
    assert out.strip() == "Credit balance: 1000"
    SendingPause.objects.create(reason="refused")
    out, _ = run("zoomconnect_balance")
    assert "sending resumed" in out
    assert not SendingPause.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_balance_errors_never_show_the_token(sim):
    with zoomconnect_settings(API_TOKEN="very-secret-token"), pytest.raises(CommandError) as caught:
        run("zoomconnect_balance")
    assert "Could not read the balance" in str(caught.value)
    assert "very-secret-token" not in str(caught.value)


@pytest.mark.django_db
def test_missing_settings_are_a_command_error(sim):
    with zoomconnect_settings(EMAIL=None), pytest.raises(CommandError, match="EMAIL"):
        run("zoomconnect_balance")
