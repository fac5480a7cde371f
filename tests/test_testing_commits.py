"""Tests for testing/commits.py: a user's plain ``django_db`` test sends, receives and sees its signals."""

import unittest

import pytest
from django.db import transaction
from django.test import TestCase

from django_zoomconnect import send_sms, signals
from django_zoomconnect.models import Message, MessageStatus
from django_zoomconnect.simulator import Simulator
from django_zoomconnect.testing import ZoomConnectTestMixin

NUMBER = "+27821234567"


@pytest.fixture
def changes():
    seen = []

    def receiver(sender, message, old_status, new_status, **kwargs):
        seen.append((message.pk, new_status))

    signals.message_status_changed.connect(receiver)
    yield seen
    signals.message_status_changed.disconnect(receiver)


@pytest.mark.django_db
def test_a_plain_django_db_test_sees_its_message_delivered_and_its_receivers_called(
    zoomconnect_simulator: Simulator, changes
):
    message = send_sms(NUMBER, "Your booking is confirmed")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    zoomconnect_simulator.advance(60)
    zoomconnect_simulator.flush_webhooks()
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert changes == [(message.pk, "SENT"), (message.pk, "DELIVERED")]


@pytest.mark.django_db
def test_a_send_inside_the_code_under_tests_transaction_goes_when_that_block_ends(
    zoomconnect_simulator: Simulator,
):
    with transaction.atomic():
        message = send_sms(NUMBER, "Confirmed in a receiver")
        assert zoomconnect_simulator.counters().get("sends.accepted", 0) == 0  # not committed yet
    assert zoomconnect_simulator.counters()["sends.accepted"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.django_db
def test_a_block_that_rolls_back_sends_nothing(zoomconnect_simulator: Simulator):
    def book():
        with transaction.atomic():
            send_sms(NUMBER, "Never committed")
            raise RuntimeError("the booking failed")

    with pytest.raises(RuntimeError):
        book()
    assert zoomconnect_simulator.counters().get("sends.accepted", 0) == 0
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_transactional_tests_commit_for_real_and_still_send(zoomconnect_simulator: Simulator):
    message = send_sms(NUMBER, "hi")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.django_db
def test_a_project_that_wants_a_worker_keeps_it(zoomconnect_simulator: Simulator, settings):
    from tests.outbox import holding_tasks

    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "SEND_EAGERLY": False}
    with holding_tasks() as held:
        message = send_sms(NUMBER, "hi")
    assert held == [("message", message.pk)]


@pytest.mark.django_db
def test_a_testcase_with_the_mixin_sends_and_sees_the_delivery():
    suite = unittest.TestSuite([SendingTest("test_send")])
    result = unittest.TestResult()
    suite.run(result)
    assert result.testsRun == 1
    assert result.wasSuccessful(), result.errors + result.failures


class SendingTest(ZoomConnectTestMixin, TestCase):
    """A ``manage.py test`` user's TestCase, run by the test above (not collected on its own)."""

    __test__ = False

    def test_send(self):
        message = send_sms(NUMBER, "hi")
        self.zoomconnect_simulator.advance(60)
        self.zoomconnect_simulator.flush_webhooks()
        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED
