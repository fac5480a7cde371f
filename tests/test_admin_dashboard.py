"""Tests for admin/dashboard.py: permissions, the page's figures, Refresh, Resume, the campaign filter."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from django_zoomconnect.models import Direction, Message, MessageStatus, SendingPause
from django_zoomconnect.services.heartbeats import record
from tests.dashboard import funded
from tests.outbox import zoomconnect_settings

pytestmark = pytest.mark.django_db

DASHBOARD = "admin:zoomconnect_dashboard"
REFRESH = "admin:zoomconnect_dashboard_balance"
RESUME = "admin:zoomconnect_dashboard_resume"


@pytest.fixture
def sim(zoomconnect_simulator):
    with funded(zoomconnect_simulator, 1234.5) as simulator:
        yield simulator


@pytest.fixture
def staff(client, django_user_model):
    """Log in a staff user with the given permissions of the app (codenames)."""

    def log_in(*codenames):
        user = django_user_model.objects.create(username="staff", is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
        client.force_login(user)
        return client

    return log_in


def shown(response):
    return [str(message) for message in response.context["messages"]]


def outbound(status, campaign="", sent_at=None, count=1):
    now = timezone.now()
    Message.objects.bulk_create(
        Message(
            direction=Direction.OUTBOUND,
            to_number="+27821234567",
            status=status,
            campaign=campaign,
            sent_at=sent_at or now - timedelta(hours=1),
        )
        for _ in range(count)
    )


def test_the_dashboard_needs_view_message(staff):
    client = staff("view_contact")
    assert client.get(reverse(DASHBOARD)).status_code == 403
    assert client.post(reverse(REFRESH)).status_code == 403
    assert client.post(reverse(RESUME)).status_code == 403
    index = client.get(reverse("admin:app_list", args=["zoomconnect"]))
    assert reverse(DASHBOARD) not in index.content.decode()


def test_the_app_index_links_to_the_dashboard(staff):
    client = staff("view_message")
    index = client.get(reverse("admin:app_list", args=["zoomconnect"]))
    assert f'href="{reverse(DASHBOARD)}"' in index.content.decode()
    assert client.get(reverse(DASHBOARD)).status_code == 200


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse(DASHBOARD))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_page_shows_the_outbox_the_chart_campaigns_and_beat(admin_client):
    outbound(MessageStatus.QUEUED, count=2)
    outbound(MessageStatus.UNCERTAIN)
    outbound(MessageStatus.DELIVERED, "spring", count=3)
    outbound(MessageStatus.FAILED, "spring")
    record("dispatch_due", 2)
    record(
        "sweep_outbox", {"expired_claims": 1, "tasks_enqueued": 0}, now=timezone.now() - timedelta(hours=1)
    )
    response = admin_client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    page = response.content.decode()
    board = response.context["board"]
    assert (board.outbox.queued, board.outbox.uncertain, board.outbox.failed_last_day) == (2, 1, 1)
    assert '<td class="zc-number" id="zc-queued">2</td>' in page
    assert page.count('<rect x="') == 2  # today: delivered and failed
    assert "Delivery rate 75 %: 3 delivered of 4 sent" in page
    assert '<a href="?campaign=spring">spring</a>' in page
    assert "Not read yet" in page
    assert "Not paused." in page
    assert "expired claims 1" in page
    assert page.count("late: is Celery beat") == 1  # the sweeper, an hour ago
    assert page.count("Never: is Celery beat running?") == 2
    # Under a minute is "just now", not "0 minutes ago"; later, how long ago.
    assert page.count("just now (") == 1  # dispatch_due
    assert "1\xa0hour ago (" in page
    assert "0\xa0minutes" not in page


def test_the_campaign_filter_applies_to_the_counts_and_the_chart(admin_client):
    outbound(MessageStatus.QUEUED, "spring")
    outbound(MessageStatus.QUEUED, "autumn", count=2)
    outbound(MessageStatus.DELIVERED, "spring")
    outbound(MessageStatus.FAILED, "autumn")
    response = admin_client.get(reverse(DASHBOARD), {"campaign": "autumn"})
    board = response.context["board"]
    assert board.campaign == "autumn"
    assert board.outbox.queued == 2
    assert board.deliveries.totals == {MessageStatus.FAILED: 1}
    assert {row.campaign for row in board.campaigns} == {"spring", "autumn"}
    page = response.content.decode()
    assert '<option value="autumn" selected>autumn</option>' in page
    assert page.count('<rect x="') == 1
    queued = reverse("admin:zoomconnect_message_changelist") + (
        "?direction__exact=outbound&status__exact=QUEUED&campaign=autumn"
    )
    assert queued.replace("&", "&amp;") in page
    assert len(admin_client.get(queued).context["cl"].result_list) == 2
    assert admin_client.get(reverse(DASHBOARD), {"campaign": ""}).context["board"].campaign is None


def test_a_campaign_no_database_can_take_is_ignored_with_a_warning(admin_client):
    response = admin_client.get(reverse(DASHBOARD), {"campaign": "spring\x00"})
    assert response.status_code == 200
    assert response.context["board"].campaign is None
    assert shown(response) == ["The campaign filter was ignored: it contains a NUL character."]


def test_the_page_costs_the_same_queries_however_many_messages(admin_client, django_assert_num_queries):
    outbound(MessageStatus.DELIVERED, "spring")
    admin_client.get(reverse(DASHBOARD))  # the session and the user, as on every admin page
    with django_assert_num_queries(9):  # session, user, and the overview's seven
        admin_client.get(reverse(DASHBOARD), {"campaign": "spring"})
    for campaign in ("spring", "autumn", "winter"):
        outbound(MessageStatus.DELIVERED, campaign, count=40)
        outbound(MessageStatus.QUEUED, campaign, count=10)
    with django_assert_num_queries(9):
        response = admin_client.get(reverse(DASHBOARD), {"campaign": "spring"})
    assert response.context["board"].deliveries.handed_over == 41


def test_refresh_reads_the_balance_and_the_page_shows_it(admin_client, sim):
    response = admin_client.post(reverse(REFRESH), {"campaign": "spring"}, follow=True)
    assert response.redirect_chain == [(reverse(DASHBOARD) + "?campaign=spring", 302)]
    assert shown(response) == ["Balance: 1,234.50 credits."]
    assert response.context["board"].balance.reading.balance == 1234.5
    assert "1,234.50 credits" in response.content.decode()
    assert "Read just now (" in response.content.decode()
    assert admin_client.get(reverse(REFRESH)).status_code == 405


def test_refresh_is_allowed_to_a_viewer_and_lifts_a_pause(staff, sim):
    client = staff("view_message")
    SendingPause.objects.create(reason="401: credentials refused")
    response = client.post(reverse(REFRESH), follow=True)
    assert shown(response) == [
        "Balance: 1,234.50 credits.",
        "The credentials work again: sending has resumed.",
    ]
    assert not SendingPause.objects.exists()


def test_a_failed_refresh_says_why_and_keeps_the_pause(admin_client, sim):
    SendingPause.objects.create(reason="401: credentials refused")
    with zoomconnect_settings(API_TOKEN="still-wrong"):
        response = admin_client.post(reverse(REFRESH), follow=True)
    [error] = shown(response)
    assert error.startswith("The balance could not be read:")
    assert "still-wrong" not in response.content.decode()
    assert SendingPause.objects.exists()
    assert response.context["board"].balance.reading is None


def test_a_low_balance_is_a_warning(admin_client, sim):
    admin_client.post(reverse(REFRESH))
    with zoomconnect_settings(LOW_BALANCE_WARNING=2000):
        page = admin_client.get(reverse(DASHBOARD)).content.decode()
    assert 'id="zc-low-balance"' in page
    assert "under the warning threshold of 2,000.00 credits" in page
    assert 'id="zc-low-balance"' not in admin_client.get(reverse(DASHBOARD)).content.decode()


def test_a_pause_is_shown_with_its_reason_and_resume_lifts_it(admin_client, sim):
    SendingPause.objects.create(reason="401: credentials refused")
    outbound(MessageStatus.QUEUED)
    page = admin_client.get(reverse(DASHBOARD)).content.decode()
    assert "401: credentials refused" in page
    assert 'id="zc-resume"' in page
    response = admin_client.post(reverse(RESUME), follow=True)
    assert shown(response) == ["Sending resumed; 1 due messages or chunks handed over."]
    assert not SendingPause.objects.exists()
    again = admin_client.post(reverse(RESUME), follow=True)
    assert shown(again) == ["Sending was not paused."]
    assert admin_client.get(reverse(RESUME)).status_code == 405


def test_resume_needs_change_message(staff):
    client = staff("view_message")
    SendingPause.objects.create(reason="401: credentials refused")
    page = client.get(reverse(DASHBOARD)).content.decode()
    assert "401: credentials refused" in page
    assert 'id="zc-resume"' not in page
    assert client.post(reverse(RESUME)).status_code == 403
    assert SendingPause.objects.exists()
