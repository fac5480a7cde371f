"""Tests for the zoomconnect_send and zoomconnect_balance management commands."""

import json
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
    assert "A Celery worker sends it: without one it stays QUEUED (start `celery -A <project> worker`" in out
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
    assert str(caught.value) == (
        "Zoom Connect refused the credentials (401): check ZOOMCONNECT['EMAIL'] and ['API_TOKEN']."
    )
    assert "very-secret-token" not in str(caught.value)


@pytest.mark.django_db
def test_missing_settings_are_a_command_error(sim):
    with zoomconnect_settings(EMAIL=None), pytest.raises(CommandError, match="EMAIL"):
        run("zoomconnect_balance")


@pytest.mark.django_db
def test_an_unreachable_provider_is_one_line_with_a_hint(sim):
    sim.inject_fault("refuse")
    with pytest.raises(CommandError) as caught:
        run("zoomconnect_balance")
    assert str(caught.value) == (
        "Could not reach Zoom Connect at http://simulator.zoomconnect.invalid/app/: connection refused. "
        "Is BASE_URL right, and is the service up?"
    )


@pytest.mark.django_db(transaction=True)
def test_balance_json_and_quiet(sim):
    SendingPause.objects.create(reason="refused")
    out, _err = run("zoomconnect_balance", "--json")
    assert json.loads(out) == {"balance": 1000.0, "resumed": True}
    assert run("zoomconnect_balance", "--quiet") == ("", "")


@pytest.mark.django_db(transaction=True)
def test_send_json_says_what_each_action_did(sim):
    out, err = run("zoomconnect_send", "+27821234567", "hi", "--due", "--resume", "--json")
    result = json.loads(out)
    message = Message.objects.get()
    assert result == {
        "resumed": {"was_paused": False, "tasks_enqueued": 0},
        "message": {
            "id": message.pk,
            "to": "+27821234567",
            "status": "SENT",
            "remote_id": message.remote_id,
            "due": None,
            "error": None,
        },
        "outbox": {
            "expired_claims": 0,
            "uncertain_found": 0,
            "uncertain_requeued": 0,
            "uncertain_failed": 0,
            "tasks_enqueued": 0,
        },
        "paused": False,
    }
    assert err == ""
    out, _ = run("zoomconnect_send", "+27821234567", "Later", "--at", "2099-01-31T09:00+02:00", "--json")
    assert json.loads(out)["message"]["due"] == "2099-01-31T07:00:00Z"


@pytest.mark.django_db(transaction=True)
def test_send_quiet_prints_nothing_but_the_pause(sim):
    assert run("zoomconnect_send", "+27821234567", "hi", "--quiet") == ("", "")
    outbox.pause_sending("Zoom Connect refused the credentials (401)")
    out, err = run("zoomconnect_send", "+27821234567", "hi", "-q")
    assert out == ""
    assert err.strip() == "Sending is paused (refused credentials): fix them, then run with --resume."
