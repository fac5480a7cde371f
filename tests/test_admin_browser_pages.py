"""The admin's message and batch pages in real headless Chromium, used as an operator would.

An operator logs in, retries a failed message and cancels a scheduled one through their
confirmation pages (one test: a login costs more than either), reads a message's timeline and
opens the collapsed Technical section, then follows a batch's progress to the messages that
failed. The live server runs in this process, so the in-process simulator answers the admin's
calls and its webhooks arrive when flushed. Skipped, saying why, where Playwright or Chromium is
missing (see tests/browser.py).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from django_zoomconnect.models import Batch, Direction, Message, MessageStatus
from django_zoomconnect.services.outbox import send_bulk, send_sms
from django_zoomconnect.simulator.records import MAGIC_FAILED, MAGIC_REPLIES
from tests.browser import shot
from tests.outbox import FAST, zoomconnect_settings

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = "+27821234567"


@pytest.fixture
def sim(zoomconnect_simulator):
    with zoomconnect_settings(**FAST):
        yield zoomconnect_simulator


def choose(page, action, *messages):
    """Tick ``messages`` on the list page, pick ``action`` and press Go: the confirmation page."""
    for message in messages:
        page.check(f"input[name=_selected_action][value='{message.pk}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")
    page.wait_for_selector(".zoomconnect-question")


def test_an_operator_retries_a_failed_message_and_cancels_a_scheduled_one(admin_page, sim):
    failed = Message.objects.create(
        direction=Direction.OUTBOUND,
        to_number=NUMBER,
        body="Your code is 4711",
        status=MessageStatus.FAILED,
        last_error="Zoom Connect answered 503",
    )
    delivered = Message.objects.create(to_number=NUMBER, body="Earlier", status=MessageStatus.DELIVERED)
    admin_page.goto("/admin/zoomconnect/message/")

    choose(admin_page, "retry_selected", failed, delivered)

    assert "Send the failed ones among these messages again?" in admin_page.inner_text("#content")
    assert "1 Failed" in admin_page.inner_text(".zoomconnect-preview")
    shot(admin_page, "message-retry-confirm")
    assert Message.objects.get(pk=failed.pk).status == MessageStatus.FAILED  # nothing before yes
    admin_page.click("input[type=submit][value='Yes, send them again']")
    admin_page.wait_for_selector(".messagelist")
    assert (
        admin_page.inner_text(".messagelist")
        == "Retry the selected failed messages: 1 retried, 1 skipped: not failed."
    )
    shot(admin_page, "message-retried")
    failed.refresh_from_db()
    assert failed.status == MessageStatus.SENT  # sent again, eagerly, by the request
    assert sim.counters()["dataField:" + failed.reference] == 1

    later = send_sms(NUMBER, "See you tomorrow at nine", send_at=timezone.now() + timedelta(days=1))
    assert later.status == MessageStatus.QUEUED  # waits here for its time
    admin_page.goto("/admin/zoomconnect/message/?status__exact=QUEUED")
    choose(admin_page, "cancel_selected", later)
    admin_page.click("input[type=submit][value='Yes, cancel them']")
    admin_page.wait_for_selector(".messagelist")
    assert admin_page.inner_text(".messagelist") == "Cancel the selected messages not sent yet: 1 cancelled."
    later.refresh_from_db()
    assert later.status == MessageStatus.CANCELLED
    assert sim.counters().get("dataField:" + later.reference, 0) == 0  # it never reached Zoom Connect


def test_an_operator_reads_a_message_timeline(admin_page, sim):
    message = send_sms(MAGIC_REPLIES, "Can you come at nine?", campaign="bookings")
    sim.advance(10)
    sim.flush_webhooks()  # delivered, then the reply
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    admin_page.goto(f"/admin/zoomconnect/message/{message.pk}/change/")

    steps = admin_page.locator("#zc-timeline li.zc-step")
    assert steps.count() == 3
    assert steps.nth(0).inner_text().startswith("Queued")
    sent, delivered = steps.nth(1).inner_text(), steps.nth(2).inner_text()
    assert sent.startswith("Sent from Sending")
    assert "· Send" in sent
    assert delivered.startswith("Delivered from Sent")
    assert "Delivery report (webhook)" in delivered
    assert "Reply to: Can you come at nine?" in admin_page.inner_text("#zc-thread")
    technical = admin_page.locator("details", has_text="Technical")
    assert not technical.locator(".field-claim_token").is_visible()  # collapsed
    assert admin_page.locator("input[name=_save]").count() == 0
    shot(admin_page, "message-timeline")
    technical.locator("summary").click()
    assert technical.locator(".field-reference").is_visible()
    assert message.reference in technical.inner_text()
    shot(admin_page, "message-technical")
    admin_page.click("#zc-thread a")  # the reply's own page links back to this message
    admin_page.wait_for_selector(".field-sender")
    assert "In reply to" in admin_page.inner_text("#zc-thread")


def test_an_operator_follows_a_batch_to_its_failed_messages(admin_page, sim):
    batch = send_bulk(
        recipients=[NUMBER, "+27821234568", "+27821234569", MAGIC_FAILED],
        body="Spring sale",
        campaign="spring",
    )
    sim.advance(10)
    sim.flush_webhooks()
    assert Batch.objects.get(pk=batch.pk).messages.filter(status=MessageStatus.FAILED).count() == 1
    admin_page.goto("/admin/zoomconnect/batch/")
    assert admin_page.locator(".zc-progress-bar").count() == 1
    assert "100% done (4 of 4)" in admin_page.inner_text(".zc-progress")
    shot(admin_page, "batch-list")

    admin_page.click(f"a[href='/admin/zoomconnect/batch/{batch.pk}/change/']")
    admin_page.wait_for_url(f"**/admin/zoomconnect/batch/{batch.pk}/change/")
    assert admin_page.locator(".zc-progress-bar span.zc-stage-delivered").is_visible()
    shot(admin_page, "batch")
    admin_page.click(".zc-count-FAILED a")

    admin_page.wait_for_url(f"**/admin/zoomconnect/message/?batch__id__exact={batch.pk}&status__exact=FAILED")
    rows = admin_page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert MAGIC_FAILED in rows.first.inner_text()
    shot(admin_page, "batch-failed-messages")
