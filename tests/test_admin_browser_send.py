"""The "Send SMS" form in real headless Chromium: an operator types, watches the live preview,
confirms, and follows the messages to DELIVERED.

The in-process simulator answers the admin's API calls (the live server runs in this process);
sends are eager, so they happen in the request; the test steps the simulator's clock and
flushes its webhooks to make the delivery reports arrive. Screenshots: ``send-*.png``.
"""

import re

import pytest

from django_zoomconnect.models import Contact, Group, Membership
from tests.browser import shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sim(sending_sim):
    return sending_sim


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_an_operator_sends_one_sms_from_the_app_index_watching_the_preview(admin_page, sim):
    page = admin_page
    page.goto("/admin/zoomconnect/")
    page.locator("#zoomconnect-console").get_by_role("link", name="Send SMS").click()
    page.wait_for_url("**/admin/zoomconnect/message/send/")
    preview = page.locator("#zoomconnect-preview")
    encoding = preview.locator('[data-preview="encoding"]')

    page.fill("#id_numbers", "082 123 4567")
    page.locator("#id_body").press_sequentially("Mañana at 10, {ok}")
    expect(encoding).to_have_text("GSM-7, 1 part, 18 characters")  # ñ, { and } are GSM-7
    expect(preview.locator('[data-preview="recipients"]')).to_have_text("1 message")
    expect(preview.locator('[data-preview="credits"]')).to_contain_text(
        "about 1.00 credits; balance 1000 (read at"
    )
    expect(preview.locator('[data-preview="text"]')).to_have_text("To +27821234567: Mañana at 10, {ok}")
    shot(page, "send-form")

    page.locator("#id_body").press_sequentially(" 😀 olé")
    expect(preview).to_have_attribute("data-encoding", "UCS2")
    expect(encoding).to_contain_text("UCS-2 because of: 😀")  # é is GSM-7, so only the emoji
    shot(page, "send-form-ucs2")

    page.get_by_role("button", name="Preview and send…").click()
    expect(page.locator(".zoomconnect-question")).to_have_text("Send 1 message, about 1.00 credits, now?")
    shot(page, "send-confirm")
    page.get_by_role("button", name="Yes, send").click()

    page.wait_for_url(re.compile(r"/admin/zoomconnect/message/\d+/change/$"))
    expect(page.locator(".messagelist li")).to_have_text("SMS to +27821234567: Sent.")
    expect(page.locator(".field-body .readonly")).to_have_text("Mañana at 10, {ok} 😀 olé")
    shot(page, "send-message-page")


def test_a_refused_number_is_shown_on_the_form_and_nothing_is_sent(admin_page, sim):
    page = admin_page
    page.goto("/admin/zoomconnect/message/send/")
    page.fill("#id_numbers", "082 123 4567, 12")
    page.fill("#id_body", "Hello")
    refusals = page.locator('#zoomconnect-preview [data-preview="refusals"] li')
    expect(refusals).to_have_text(["'12' is not a valid phone number: too short for country code +27 (ZA)."])

    page.get_by_role("button", name="Preview and send…").click()
    expect(page.locator(".errornote")).to_have_text("Nothing was sent. Please correct the errors below.")
    expect(page.locator("ul.errorlist.nonfield li")).to_have_text([re.compile("^'12' is not a valid")])
    shot(page, "send-refused")
    assert not sim.messages


def test_a_bulk_send_to_a_group_is_followed_to_delivered(admin_page, sim):
    group = Group.objects.create(name="Customers")
    for number, name in (("+27821234567", "Thandi"), ("+27821234568", "Sipho")):
        Membership.objects.create(
            contact=Contact.objects.create(phone_number=number, first_name=name), group=group
        )
    page = admin_page
    page.goto("/admin/zoomconnect/message/")
    page.get_by_role("link", name="Send SMS").click()

    page.locator(".field-groups .select2-selection").click()
    page.keyboard.type("Cust")
    page.locator(".select2-results__option", has_text="Customers").click()
    page.fill("#id_body", "Hi, the shop opens at 9")
    expect(page.locator('#zoomconnect-preview [data-preview="recipients"]')).to_have_text("2 messages")
    shot(page, "send-form-group")

    page.get_by_role("button", name="Preview and send…").click()
    expect(page.locator(".zoomconnect-question")).to_have_text("Send 2 messages, about 2.00 credits, now?")
    page.get_by_role("button", name="Yes, send").click()
    page.wait_for_url(re.compile(r"/admin/zoomconnect/batch/\d+/change/$"))
    expect(page.locator(".messagelist li")).to_have_text(re.compile(r"^Batch #\d+: 2 messages queued\.$"))
    shot(page, "send-batch-page")

    page.goto("/admin/zoomconnect/message/?direction__exact=outbound")
    statuses = page.locator("#result_list td.field-status")
    expect(statuses).to_have_text(["Sent", "Sent"])
    sim.advance(5)
    assert sim.flush_webhooks() == 2
    page.reload()
    expect(statuses).to_have_text(["Delivered", "Delivered"])
    shot(page, "send-delivered")
