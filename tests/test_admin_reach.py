"""The operator's console is found, not known: every page and action is at most two clicks from
the admin index, followed link by link as an operator would, and none of them for a user who
may not use it."""

import re
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from django_zoomconnect.models import Batch, Contact, Message, MessageStatus, OptOut, Template, WebhookEvent

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
HREF = re.compile(r'href="([^"#]+)"')
ACTION = re.compile(r'<option value="([a-z_]+)"')


@pytest.fixture
def rows():
    """One row in each list, so that each list shows its actions."""
    batch = Batch.objects.create(campaign="spring")
    Message.objects.create(to_number="+27821234567", body="Hi", status=MessageStatus.FAILED, batch=batch)
    Contact.objects.create(phone_number="+27821234568", first_name="Thandi")
    OptOut.objects.create(phone_number="+27821234569")
    Template.objects.create(name="Reminder", body="See you at {time}")
    WebhookEvent.objects.create(kind="status", params={"statusType": "DELIVERED"})


def crawl(client: Client, clicks: int = 2) -> dict[str, str]:
    """Every admin page reached from the index in ``clicks`` clicks on links: path -> its HTML."""
    seen: dict[str, str] = {}
    frontier = [reverse("admin:index")]
    for _ in range(clicks + 1):
        found = []
        for url in frontier:
            path = urlsplit(url).path
            if url in seen or path.endswith("/logout/"):
                continue
            response = client.get(url)
            if response.status_code != 200:
                continue
            seen[url] = html = response.content.decode()
            found += [unescape(href) for href in HREF.findall(html) if href.startswith("/admin/")]
        frontier = found
    return seen


def paths(pages: dict[str, str]) -> set[str]:
    return {urlsplit(url).path for url in pages}


def actions(pages: dict[str, str], changelist: str) -> set[str]:
    url = reverse(f"admin:zoomconnect_{changelist}_changelist")
    return {
        name
        for page_url, html in pages.items()
        if urlsplit(page_url).path == url
        for name in ACTION.findall(html)
    }


def test_every_page_and_action_is_at_most_two_clicks_from_the_admin_index(admin_client, rows):
    pages = crawl(admin_client)
    for name in (
        "message_send",
        "dashboard",
        "team",
        "message_changelist",
        "batch_changelist",
        "contact_changelist",
        "optout_changelist",
        "optoutchange_changelist",
        "group_changelist",
        "template_changelist",
        "webhookevent_changelist",
    ):
        assert reverse(f"admin:zoomconnect_{name}") in paths(pages), name
    # The index, then the app's index (its Operations box), then the page: no deeper.
    app_index = reverse("admin:app_list", args=["zoomconnect"])
    assert app_index in paths(crawl(admin_client, clicks=1))
    operations = admin_client.get(app_index).content.decode()
    for name in ("message_send", "dashboard", "team"):
        assert f'href="{reverse(f"admin:zoomconnect_{name}")}"' in operations, name
    assert {"retry_selected", "cancel_selected", "refresh_selected", "pull_from_zoomconnect"} <= actions(
        pages, "message"
    )
    assert {"cancel_remaining", "retry_failed"} <= actions(pages, "batch")
    assert {"send_sms_to_selected", "opt_out_selected", "opt_in_selected", "push_to_zoomconnect"} <= actions(
        pages, "contact"
    )
    assert "reprocess_selected" in actions(pages, "webhookevent")
    assert "pull_from_zoomconnect" in actions(pages, "template")
    assert "opt_in_selected" in actions(pages, "optout")
    # A batch's page, and the messages of a status it links to, are a click further along the list.
    batch = Batch.objects.get()
    assert reverse("admin:zoomconnect_batch_change", args=[batch.pk]) in paths(pages)


def test_a_viewer_without_send_message_reaches_no_send_form_and_no_lever(client, django_user_model, rows):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="zoomconnect", codename__in=["view_message", "view_batch", "view_contact"]
        )
    )
    client.force_login(viewer)
    pages = crawl(client)
    assert reverse("admin:zoomconnect_dashboard") in paths(pages)
    assert reverse("admin:zoomconnect_message_changelist") in paths(pages)
    for hidden in ("message_send", "team", "webhookevent_changelist"):
        assert reverse(f"admin:zoomconnect_{hidden}") not in paths(pages), hidden
    assert actions(pages, "message") <= {"delete_selected", ""}
    assert actions(pages, "batch") <= {"delete_selected", ""}
    assert not actions(pages, "contact") & {"send_sms_to_selected", "opt_out_selected", "opt_in_selected"}


def test_the_readme_shows_the_console_with_small_committed_screenshots():
    readme = (ROOT / "README.rst").read_text()
    section = readme[readme.index(".. _readme-admin:") : readme.index(".. _readme-rest-api:")]
    images = re.findall(r"^\.\. image:: (\S+)$", section, flags=re.MULTILINE)
    assert {Path(image).name for image in images} >= {
        "admin-send.png",
        "admin-dashboard.png",
        "admin-message.png",
        "admin-batches.png",
        "admin-confirm.png",
    }
    for image in images:
        data = (ROOT / image).read_bytes()
        assert data.startswith(b"\x89PNG"), image
        assert len(data) < 150_000, image  # small: the README is read on the package index too
    for item in (
        "admin:zoomconnect_message_send",
        "admin:zoomconnect_dashboard",
        "confirmation page",
        "Retry",
        "Cancel",
        "Refresh status from Zoom Connect",
        "reprocessed",
        "opted out and back in",
        "Send SMS to the selected contacts",
        "timeline",
        "*Technical*",
        "no Save",
        "Templates have no *Add*",
        "progress bar",
        "``send_message``",
        "403",
        "two clicks",
    ):
        assert item in " ".join(section.split()), item


def test_the_demos_start_page_points_at_the_send_form_and_the_dashboard():
    home = (ROOT / "example_project" / "demo" / "templates" / "demo" / "home.html").read_text()
    for name, text in (("message_send", "Send SMS"), ("dashboard", "Dashboard")):
        assert f"<a href=\"{{% url 'admin:zoomconnect_{name}' %}}\">{text}</a>" in home
