"""The dashboard in real headless Chromium: found from the admin index, drawn, refreshed, filtered.

Skipped, saying why, where Playwright or Chromium is missing (``ZOOMCONNECT_REQUIRE_BROWSER=1``
makes that a failure). The live server runs in this process, so the in-process simulator
answers the balance read; the month of messages is written as rows.
"""

import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from django_zoomconnect.models import Direction, Message, MessageStatus, OptOut, SendingPause
from django_zoomconnect.services.heartbeats import record
from tests.browser import shot
from tests.dashboard import no_cached_balance

pytestmark = pytest.mark.django_db(transaction=True)

S = MessageStatus


@pytest.fixture
def month():
    """A month of sends in two campaigns (some failed, some waiting), replies, an opt-out, beat runs."""
    now = timezone.now()
    rows = []
    for day in range(30):
        at = now - timedelta(days=day, minutes=5)
        for campaign, scale in (("spring-sale", 3), ("reminders", 1)):
            mix = {S.DELIVERED: scale * (4 + day % 5), S.FAILED: day % 3, S.SENT: scale if day < 2 else 0}
            mix[S.FAILED_OPTOUT] = 1 if day % 7 == 0 and campaign == "spring-sale" else 0
            for status, count in mix.items():
                rows += [
                    Message(direction=Direction.OUTBOUND, status=status, campaign=campaign, sent_at=at)
                    for _ in range(count)
                ]
    rows += [Message(direction=Direction.OUTBOUND, status=S.QUEUED, campaign="reminders") for _ in range(4)]
    Message.objects.bulk_create(rows)
    Message.objects.filter(sent_at__isnull=False).update(updated_at=F("sent_at"))  # failed when sent
    answered = Message.objects.filter(campaign="spring-sale").first()
    Message.objects.create(
        direction=Direction.INBOUND, status=S.RECEIVED, body="STOP", received_at=now, in_reply_to=answered
    )
    OptOut.objects.create(phone_number="+27821234599", source=OptOut.Source.KEYWORD, message=answered)
    for task in ("dispatch_due", "sweep_outbox", "reconcile_uncertain"):
        record(task, {"tasks_enqueued": 0})
    with no_cached_balance():
        yield


def chart_size(page):
    box = page.locator("svg.zoomconnect-chart").bounding_box()
    return box["width"], box["height"]


def test_an_operator_opens_the_dashboard_refreshes_and_filters(admin_page, month, zoomconnect_simulator):
    page = admin_page
    zoomconnect_simulator.set_balance(4321.5)
    page.goto("/admin/")
    page.get_by_role("link", name="Zoom Connect SMS").first.click()
    page.locator("#zoomconnect-console").get_by_role("link", name="Dashboard").click()
    page.wait_for_url(re.compile(r"/admin/zoomconnect/message/dashboard/$"))
    assert page.locator("h1").inner_text() == "Dashboard"

    width, height = chart_size(page)
    assert width > 300
    assert height > 100
    drawn = page.locator("svg.zoomconnect-chart rect").count()
    assert drawn > 30  # a bar for each day, most of them stacked
    assert page.locator("#zc-queued").inner_text() == "4"
    assert "Never: is Celery beat running?" in page.locator("#zc-beat-refresh_statuses").inner_text()

    page.locator("#zc-refresh").get_by_role("button", name="Refresh").click()
    page.wait_for_load_state()
    assert "Balance: 4,321.50 credits." in page.locator("ul.messagelist").inner_text()
    assert "4,321.50 credits" in page.locator("#zc-balance").inner_text()
    page.set_viewport_size({"width": 1024, "height": 768})  # the README's picture: a modest screen
    assert chart_size(page)[0] > 300
    shot(page, "dashboard")

    page.select_option("#zc-campaign", "reminders")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"\?campaign=reminders$"))
    assert "Outbox: reminders" in page.locator("#zc-outbox h2").inner_text()
    assert page.locator("#zc-queued").inner_text() == "4"
    assert 0 < page.locator("svg.zoomconnect-chart rect").count() < drawn
    assert chart_size(page)[1] > 100
    shot(page, "dashboard-campaign")


def test_an_operator_resumes_a_paused_outbox(admin_page, month, zoomconnect_simulator):
    page = admin_page
    SendingPause.objects.create(reason="The provider refused the credentials (401).")
    page.goto("/admin/zoomconnect/message/dashboard/")
    assert "refused the credentials" in page.locator("#zc-sending").inner_text()
    page.get_by_role("button", name="Resume sending").click()
    page.wait_for_load_state()
    assert "Sending resumed" in page.locator("ul.messagelist").inner_text()
    assert "Not paused." in page.locator("#zc-sending").inner_text()
    assert not SendingPause.objects.exists()
