"""Tests for admin/batches.py: progress bars and status counts in one query for the whole list,
links to the batch's messages by status, and the "cancel remaining" and "retry failed" actions."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_zoomconnect.models import Batch, Direction, Message, MessageStatus, MessageStatusChange
from tests.admin_actions import choose, confirm, offered, staff_user

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:zoomconnect_batch_changelist"
S = MessageStatus


def batch_of(*statuses, **fields):
    fields.setdefault("status", Batch.Status.DISPATCHING)
    batch = Batch.objects.create(campaign="spring", **fields)
    Message.objects.bulk_create(
        Message(
            direction=Direction.OUTBOUND, batch=batch, to_number=f"+2782123{i:04d}", body="hi", status=status
        )
        for i, status in enumerate(statuses)
    )
    return batch


def test_the_list_shows_each_batch_progress_and_counts_linked_to_its_messages(admin_client):
    batch = batch_of(S.DELIVERED, S.DELIVERED, S.SENT, S.FAILED, S.QUEUED)
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert 'role="progressbar"' in html
    assert 'aria-valuenow="80"' in html  # four of five have left this side's hands
    assert "80% done (4 of 5)" in html
    messages = reverse("admin:zoomconnect_message_changelist")
    link = f"{messages}?batch__id__exact={batch.pk}&amp;status__exact=FAILED"
    assert f'<a href="{link}">1 Failed</a>' in html
    assert "2 Delivered" in html
    assert 'class="zc-stage-delivered" style="width: 40.00%"' in html


def test_the_list_says_when_each_batch_was_made_or_is_scheduled(admin_client, settings):
    settings.TIME_ZONE = "Africa/Johannesburg"
    Batch.objects.create(campaign="later", send_at=datetime(2030, 1, 2, 8, 30, tzinfo=UTC))
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "scheduled for Jan. 2, 2030, 10:30 a.m." in html  # in the user's time zone
    assert "column-send_at" not in html
    assert "<h1>Batches</h1>" in html


def list_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    return len(queries)


def test_the_list_counts_every_batch_in_one_query(admin_client):
    batch_of(S.DELIVERED)
    one = list_queries(admin_client)
    for _ in range(20):
        batch_of(S.DELIVERED, S.FAILED, S.QUEUED)
    assert list_queries(admin_client) == one
    # Session, user, two counts, the page of batches (with group and template), the messages' counts.
    assert one == 6


def test_the_batch_page_shows_its_progress_and_links(admin_client):
    batch = batch_of(S.SENT, S.CANCELLED)
    response = admin_client.get(reverse("admin:zoomconnect_batch_change", args=[batch.pk]))
    html = response.content.decode()
    assert "100% done (2 of 2)" in html
    assert f"batch__id__exact={batch.pk}&amp;status__exact=CANCELLED" in html
    assert 'name="_save"' not in html  # a batch is read-only too
    assert "zoomconnect/admin/messages.css" in html
    # How the send was cut and paced is bookkeeping: shown, but folded away after the rest.
    technical = html[html.index("<details><summary>") :]
    assert "Technical" in technical[:200]
    for label in ("Chunk size", "Messages per minute"):
        assert label in technical
        assert label not in html[: html.index("<details><summary>")]
    assert "Estimated cost" not in technical
    assert "ZOOMCONNECT[" not in html  # one account: its alias is not shown


def test_an_empty_batch_has_an_empty_bar(admin_client):
    Batch.objects.create()
    assert "0% done (0 of 0)" in admin_client.get(reverse(CHANGELIST)).content.decode()


def act(client, action, batches):
    return confirm(client, CHANGELIST, action, [b.pk for b in batches])


def statuses(batch):
    return sorted(batch.messages.values_list("status", flat=True))


def test_cancel_remaining_asks_then_cancels_what_was_not_sent(admin_client):
    batch = batch_of(S.QUEUED, S.QUEUED, S.SENDING, S.DELIVERED)
    other = batch_of(S.QUEUED)
    asked = choose(admin_client, CHANGELIST, "cancel_remaining", [batch.pk])
    assert "Cancel what these batches have not sent yet?" in asked.text
    assert "<li>2 Queued</li>" in asked.text
    assert statuses(batch) == ["DELIVERED", "QUEUED", "QUEUED", "SENDING"]  # nothing before yes

    _, shown = act(admin_client, "cancel_remaining", [batch])

    assert shown == [
        "Cancel the remaining messages of the selected batches: 2 cancelled, 1 skipped: being sent."
    ]
    assert statuses(batch) == ["CANCELLED", "CANCELLED", "DELIVERED", "SENDING"]
    batch.refresh_from_db()
    assert batch.status == Batch.Status.CANCELLED
    assert statuses(other) == ["QUEUED"]


def test_retry_failed_requeues_the_failed_messages_of_the_batches(
    admin_client, django_capture_on_commit_callbacks
):
    batch = batch_of(S.FAILED, S.FAILED_REFUNDED, S.FAILED_OPTOUT, S.DELIVERED, status=Batch.Status.DONE)
    with django_capture_on_commit_callbacks():
        asked, shown = act(admin_client, "retry_failed", [batch])
    assert "<li>1 Failed</li>" in asked.text
    assert shown == ["Retry the failed messages of the selected batches: 2 retried, 1 skipped: opted out."]
    assert statuses(batch) == ["DELIVERED", "FAILED_OPTOUT", "QUEUED", "QUEUED"]
    assert MessageStatusChange.objects.filter(source="user", new_status="QUEUED").count() == 2
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DISPATCHING  # it has work again


def test_batch_actions_ask_for_their_permissions(client, django_user_model):
    grant = staff_user(client, django_user_model)
    assert offered(grant("view_batch"), CHANGELIST) == set()
    assert offered(grant("view_batch", "send_message"), CHANGELIST) == set()
    assert offered(grant("view_batch", "change_batch"), CHANGELIST) == {"cancel_remaining"}
    both = grant("view_batch", "change_batch", "send_message")
    assert offered(both, CHANGELIST) == {"cancel_remaining", "retry_failed"}
    batch = batch_of(S.FAILED)
    grant("view_batch", "change_batch")
    assert choose(client, CHANGELIST, "retry_failed", [batch.pk], post="yes").status_code == 302
    assert statuses(batch) == ["FAILED"]
