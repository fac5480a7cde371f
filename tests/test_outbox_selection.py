"""Tests for services/outbox/selection.py: every selected message is accounted for, by reason."""

from unittest import mock

import pytest

from django_zoomconnect.models import Message, MessageStatus
from django_zoomconnect.services.outbox import control, pause_sending, selection
from tests.outbox import outbound

pytestmark = pytest.mark.django_db

S = MessageStatus


def test_a_message_that_changed_between_the_count_and_the_lever_is_said_so():
    failed = outbound(status=S.FAILED)
    with mock.patch.object(control, "retry", return_value=0):  # a worker was quicker
        tally = selection.retry_selected(Message.objects.filter(pk=failed.pk))
    assert tally.as_dict() == {"skipped: changed meanwhile": 1}


def test_nothing_to_do_calls_no_lever():
    delivered = outbound(status=S.DELIVERED)
    with mock.patch.object(control, "retry") as retry, mock.patch.object(control, "cancel") as cancel:
        assert selection.retry_selected(Message.objects.all()).as_dict() == {"skipped: not failed": 1}
        assert selection.cancel_selected(Message.objects.all()).as_dict() == {"skipped: already sent": 1}
    retry.assert_not_called()
    cancel.assert_not_called()
    assert Message.objects.get().pk == delivered.pk


def test_refresh_says_what_it_could_not_ask_about(zoomconnect_simulator):
    for i in range(3):
        outbound(to=f"+2782123456{i}", status=S.SENT, remote_id=f"r-{i}")
    outbound(status=S.SENT)  # sent, says the row, but with no remote id to ask about
    tally = selection.refresh_selected(Message.objects.all(), limit=2)
    assert tally.as_dict() == {
        "refreshed": 2,
        "skipped: more than 2 at a time": 1,
        "skipped: not on Zoom Connect": 1,
    }
    pause_sending("the token was refused")
    tally = selection.refresh_selected(Message.objects.all())
    assert tally.as_dict() == {
        "skipped: sending is paused (credentials refused)": 3,
        "skipped: not on Zoom Connect": 1,
    }


def test_a_message_copied_by_an_earlier_retry_is_skipped_as_retried_already():
    failed = outbound(status=S.FAILED, remote_id="r-1")
    with mock.patch("django_zoomconnect.services.outbox.wake.enqueue_message"):
        first = selection.retry_selected(Message.objects.filter(pk=failed.pk))
        second = selection.retry_selected(Message.objects.filter(pk=failed.pk))
    assert first.as_dict() == {"retried": 1}
    assert second.as_dict() == {"skipped: retried already": 1}
    assert Message.objects.filter(retry_of=failed).count() == 1
