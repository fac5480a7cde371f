"""Tests for admin/messages.py: the retry, cancel and refresh actions with their confirmation pages,
the message page as a read-only timeline, and the permissions each asks for."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from django_zoomconnect.models import (
    Batch,
    Contact,
    Direction,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    SyncState,
    Template,
    WebhookEvent,
)
from django_zoomconnect.services.outbox import send_sms
from tests.admin_actions import asks, choose, offered, staff_user
from tests.admin_actions import confirm as yes
from tests.outbox import outbound, zoomconnect_settings

pytestmark = pytest.mark.django_db

NUMBER = "+27821234567"
OTHER = "+27821234568"
CHANGELIST = "admin:zoomconnect_message_changelist"


def act(client, action, messages, *, confirm=True):
    """Choose ``action`` for ``messages``; with ``confirm``, say yes too: the messages shown."""
    if not confirm:
        return choose(client, CHANGELIST, action, [m.pk for m in messages])
    return yes(client, CHANGELIST, action, [m.pk for m in messages])[1]


def statuses(*messages):
    return [Message.objects.get(pk=m.pk).status for m in messages]


# --- retry ---------------------------------------------------------------------------------------


def test_retry_asks_first_then_requeues_the_failed_and_says_what_it_skipped(
    admin_client, django_capture_on_commit_callbacks
):
    failed = outbound(status=MessageStatus.FAILED, last_error="Zoom Connect was down")
    refunded = outbound(to=OTHER, status=MessageStatus.FAILED_REFUNDED)
    stopped = outbound(to="+27821234569", status=MessageStatus.FAILED)
    OptOut.objects.create(phone_number="+27821234569", source=OptOut.Source.KEYWORD)
    delivered = outbound(status=MessageStatus.DELIVERED)
    opted = outbound(status=MessageStatus.FAILED_OPTOUT)
    reply = Message.objects.create(direction=Direction.INBOUND, from_number=NUMBER, status="RECEIVED")
    chosen = [failed, refunded, stopped, delivered, opted, reply]

    asked = act(admin_client, "retry_selected", chosen, confirm=False)
    assert asked.status_code == 200
    assert "Send the failed ones among these messages again?" in asked.text
    assert "<li>2 Failed</li>" in asked.text  # the confirmation page counts the selection by status
    assert 'name="post" value="yes"' in asked.text
    assert statuses(failed, refunded) == [MessageStatus.FAILED, MessageStatus.FAILED_REFUNDED]

    with django_capture_on_commit_callbacks():
        shown = act(admin_client, "retry_selected", chosen)

    assert shown == [
        "Retry the selected failed messages: 2 retried, 2 skipped: opted out, 1 skipped: inbound, "
        "1 skipped: not failed."
    ]
    assert statuses(failed, refunded) == [MessageStatus.QUEUED, MessageStatus.QUEUED]
    assert statuses(stopped, delivered, opted) == [
        MessageStatus.FAILED,
        MessageStatus.DELIVERED,
        MessageStatus.FAILED_OPTOUT,
    ]
    step = MessageStatusChange.objects.get(message=failed)
    assert (step.old_status, step.new_status, step.source) == ("FAILED", "QUEUED", "user")


# --- cancel --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_queued_and_provider_held_messages_and_leaves_the_rest(
    admin_client, zoomconnect_simulator
):
    later = timezone.now() + timedelta(hours=1)
    with zoomconnect_settings(SEND_EAGERLY=True, SCHEDULING="provider"):
        held = send_sms(NUMBER, "see you tomorrow", send_at=later)
    assert (held.status, bool(held.remote_id)) == (MessageStatus.SCHEDULED, True)
    queued = outbound(status=MessageStatus.QUEUED, scheduled_at=later)
    sending = outbound(status=MessageStatus.SENDING)
    sent = outbound(status=MessageStatus.SENT)
    cancelled = outbound(status=MessageStatus.CANCELLED)
    chosen = [held, queued, sending, sent, cancelled]

    assert act(admin_client, "cancel_selected", chosen, confirm=False).status_code == 200
    assert statuses(held, queued) == [MessageStatus.SCHEDULED, MessageStatus.QUEUED]  # not before yes

    shown = act(admin_client, "cancel_selected", chosen)

    assert shown == [
        "Cancel the selected messages not sent yet: 2 cancelled, 1 skipped: already cancelled, "
        "1 skipped: already sent, 1 skipped: being sent."
    ]
    assert statuses(held, queued, sending, sent) == [
        MessageStatus.CANCELLED,
        MessageStatus.CANCELLED,
        MessageStatus.SENDING,
        MessageStatus.SENT,
    ]
    assert held.remote_id not in zoomconnect_simulator.state.messages or (
        zoomconnect_simulator.state.messages[held.remote_id].deleted
    )
    assert MessageStatusChange.objects.filter(message=queued, source="user", new_status="CANCELLED").exists()


def test_cancel_says_when_zoom_connect_did_not_delete_a_held_message(admin_client, zoomconnect_simulator):
    ghost = outbound(status=MessageStatus.SCHEDULED, remote_id="not-on-the-account")
    shown = act(admin_client, "cancel_selected", [ghost])
    assert shown == ["Cancel the selected messages not sent yet: 1 skipped: Zoom Connect did not delete it."]
    assert statuses(ghost) == [MessageStatus.SCHEDULED]


# --- refresh -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_refresh_asks_zoom_connect_about_the_sent_ones(admin_client, zoomconnect_simulator):
    with zoomconnect_settings(SEND_EAGERLY=True):
        sent = send_sms(NUMBER, "hi")
    zoomconnect_simulator.advance(10)  # delivered, and no webhook URL is configured
    queued = outbound(status=MessageStatus.QUEUED)
    final = outbound(status=MessageStatus.DELIVERED, remote_id="elsewhere")

    shown = act(admin_client, "refresh_selected", [sent, queued, final])

    assert shown == [
        "Refresh the selected messages' status from Zoom Connect: 1 refreshed, 1 with a new status, "
        "1 skipped: already final, 1 skipped: not sent yet."
    ]
    assert statuses(sent) == [MessageStatus.DELIVERED]
    assert MessageStatusChange.objects.filter(message=sent, source="poll").exists()


def test_refresh_says_when_zoom_connect_did_not_answer(admin_client, zoomconnect_simulator):
    sent = outbound(status=MessageStatus.SENT, remote_id="r-1", sent_at=timezone.now())
    zoomconnect_simulator.inject_fault("500", path="messages/all")
    shown = act(admin_client, "refresh_selected", [sent])
    assert shown == [
        "Refresh the selected messages' status from Zoom Connect: 1 skipped: Zoom Connect did not answer."
    ]


# --- permissions ---------------------------------------------------------------------------------


@pytest.fixture
def staff(client, django_user_model):
    return staff_user(client, django_user_model)


def offered_to(client):
    return offered(client, CHANGELIST)


def test_actions_are_offered_only_with_their_permissions(staff):
    assert offered_to(staff("view_message")) == set()
    assert offered_to(staff("view_message", "change_message")) == {
        "pull_from_zoomconnect",
        "cancel_selected",
        "refresh_selected",
    }
    assert "retry_selected" in offered_to(staff("view_message", "change_message", "send_message"))
    assert "retry_selected" not in offered_to(staff("view_message", "send_message"))


@pytest.mark.parametrize(
    ("action", "status", "codenames"),
    [
        ("retry_selected", MessageStatus.FAILED, ["view_message", "change_message"]),  # no send_message
        ("retry_selected", MessageStatus.FAILED, ["view_message", "send_message"]),  # no change_message
        ("cancel_selected", MessageStatus.QUEUED, ["view_message", "send_message"]),
        ("refresh_selected", MessageStatus.SENT, ["view_message"]),
    ],
)
def test_an_action_without_its_permissions_asks_nothing_and_does_nothing(
    staff, action, status, codenames, django_capture_on_commit_callbacks
):
    message = outbound(status=status, remote_id="r-1")
    client = staff(*codenames)
    chosen = {"action": action, "_selected_action": [message.pk]}
    with django_capture_on_commit_callbacks() as callbacks:
        asked = client.post(reverse(CHANGELIST), chosen)
        done = client.post(reverse(CHANGELIST), {**chosen, "post": "yes"})
    for response in (asked, done):
        assert response.status_code in (200, 302)
        assert not asks(response)
    assert statuses(message) == [status]
    assert callbacks == []


# --- the message page: a read-only timeline ------------------------------------------------------


@pytest.fixture
def lived(django_user_model):
    """An outbound message with a step from every source, a failure reason and a reply."""
    contact = Contact.objects.create(phone_number=NUMBER, first_name="Thandi")
    batch = Batch.objects.create(campaign="spring")
    message = outbound(
        body="Your order is ready",
        contact=contact,
        batch=batch,
        campaign="spring",
        status=MessageStatus.FAILED,
        last_error="The handset was off",
        error_code=7,
        credit_cost="1.50",
        parts=2,
        encoding="GSM-7",
        remote_id="remote-77",
        claim_token="tok-4711",
        chunk=3,
        attempts=2,
        remote_data={"messageId": "remote-77", "checksum": "c0ffee-secret"},
    )
    event = WebhookEvent.objects.create(kind="report", params={}, nonce="n-1", message=message)
    steps = [
        ("QUEUED", "SENDING", "send", {}),  # never recorded by the outbox, but a history may hold it
        ("SENDING", "SENT", "send", {"attempt": 2}),
        ("SENT", "UNKNOWN", "sync", {"remote_status": "UNKNOWN"}),
        ("UNKNOWN", "SENT", "poll", {}),
        ("SENT", "FAILED", "webhook", {"webhook_event": event.pk, "nonce": "n-1"}),
    ]
    for old, new, source, detail in steps:
        MessageStatusChange.objects.create(
            message=message, old_status=old, new_status=new, source=source, detail=detail
        )
    reply = Message.objects.create(
        direction=Direction.INBOUND,
        from_number=NUMBER,
        body="Thanks, I'll come by",
        status=MessageStatus.RECEIVED,
        in_reply_to=message,
        contact=contact,
    )
    return message, reply, event


def page(client, message):
    response = client.get(reverse("admin:zoomconnect_message_change", args=[message.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_message_page_tells_what_it_is_and_how_it_went(admin_client, lived):
    message, _, _ = lived
    html = page(admin_client, message)
    assert "Your order is ready" in html
    assert f'href="{reverse("admin:zoomconnect_contact_change", args=[message.contact_id])}"' in html
    assert f'href="{reverse("admin:zoomconnect_batch_change", args=[message.batch_id])}"' in html
    assert "?campaign=spring" in html
    assert "<strong>Failed</strong>" in html
    assert "The handset was off" in html
    assert "provider error code 7" in html
    assert "1.50 credits, 2 parts (GSM-7)" in html


def test_the_timeline_shows_each_step_with_its_source(admin_client, lived):
    message, _, event = lived
    html = page(admin_client, message)
    timeline = html[html.index('id="zc-timeline"') : html.index('id="zc-thread"')]
    order = [
        timeline.index(f"zc-source-{source}") for source in ("created", "send", "sync", "poll", "webhook")
    ]
    assert order == sorted(order)
    for words in ("Created", "Send", "Sync from Zoom Connect", "Status poll", "Delivery report (webhook)"):
        assert words in timeline
    assert "attempt 2" in timeline
    assert "Zoom Connect said UNKNOWN" in timeline
    assert reverse("admin:zoomconnect_webhookevent_change", args=[event.pk]) in timeline
    assert timeline.count('class="zc-step') == 6  # the creation and the five changes


def test_the_timeline_names_operators_and_the_reconciler(admin_client):
    message = outbound(status=MessageStatus.QUEUED)
    for old, new, source, detail in [
        ("UNCERTAIN", "SENT", "send", {"reconciled": True}),
        ("FAILED", "QUEUED", "user", {"retry": True, "previous_reference": "ref-1"}),
        ("QUEUED", "CANCELLED", "user", {}),
    ]:
        MessageStatusChange.objects.create(
            message=message, old_status=old, new_status=new, source=source, detail=detail
        )
    html = page(admin_client, message)
    assert "Reconcile (uncertain send looked up)" in html
    assert html.count("Operator") == 2
    assert "retried by an operator (the previous reference was ref-1)" in html
    assert "from Uncertain (being reconciled)" in html


def test_the_thread_links_the_reply_and_what_it_answered(admin_client, lived):
    message, reply, _ = lived
    html = page(admin_client, message)
    thread = html[html.index('id="zc-thread"') :]
    assert "Thanks, I&#x27;ll come by" in thread
    assert reverse("admin:zoomconnect_message_change", args=[reply.pk]) in thread
    html = page(admin_client, reply)
    assert "sender" in html  # an inbound message names its sender, not a recipient
    thread = html[html.index('id="zc-thread"') :]
    assert "In reply to" in thread
    assert reverse("admin:zoomconnect_message_change", args=[message.pk]) in thread
    assert "Your order is ready" in thread


def test_the_technical_section_is_collapsed_and_masks_the_checksum(admin_client, lived):
    message, _, _ = lived
    html = page(admin_client, message)
    technical = html[html.index("<details><summary>") :]
    assert "Technical" in technical[:200]
    for shown in ("tok-4711", "remote-77", message.reference, "Claim token", "Next action after"):
        assert shown in technical
    assert "c0ffee-secret" not in html
    assert "&quot;checksum&quot;: &quot;********&quot;" in technical
    assert html.index('id="zc-timeline"') < html.index("<details><summary>")


def test_a_message_never_says_it_waits_to_be_pushed(admin_client, lived):
    """Messages are never pushed: their page says whether a sync read them back, and their list
    has no sync state column or filter (a sent message "waiting to be pushed" only misleads)."""
    message, reply, _ = lived
    html = page(admin_client, message)
    assert "waiting to be pushed" not in html
    assert "Not read back from Zoom Connect&#x27;s message list yet" in html
    reply.synced_at = timezone.now()
    reply.sync_state = SyncState.SYNCED
    reply.save()
    assert "In sync, last read" in page(admin_client, reply)
    listed = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "sync_state" not in listed
    # One "when" column (sent, received or created) leaves the text room.
    assert "column-when" in listed
    assert listed.count('class="field-when') == 2  # the message and its reply
    assert "column-sent_at" not in listed
    # The list changes nothing by hand: it is called what it is, not "Select message to change".
    assert "<h1>Messages</h1>" in listed
    assert "to change" not in listed
    assert "waiting to be pushed" not in listed


def test_a_message_page_has_no_save_and_refuses_a_post(admin_client, lived):
    message, _, _ = lived
    html = page(admin_client, message)
    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"', "<textarea", "<select"):
        assert button not in html
    url = reverse("admin:zoomconnect_message_change", args=[message.pk])
    assert admin_client.post(url, {"body": "changed", "status": "DELIVERED"}).status_code == 403
    message.refresh_from_db()
    assert (message.body, message.status) == ("Your order is ready", MessageStatus.FAILED)
    assert admin_client.get(reverse("admin:zoomconnect_message_add")).status_code == 403


def test_templates_cannot_be_added_but_a_local_one_can_be_edited(admin_client):
    listed = admin_client.get(reverse("admin:zoomconnect_template_changelist")).content.decode()
    assert reverse("admin:zoomconnect_template_add") not in listed
    assert admin_client.get(reverse("admin:zoomconnect_template_add")).status_code == 403
    local = Template.objects.create(name="Mine", body="Hi")
    url = reverse("admin:zoomconnect_template_change", args=[local.pk])
    assert admin_client.post(url, {"name": "Mine", "body": "Hello"}).status_code == 302
    local.refresh_from_db()
    assert local.body == "Hello"


def test_the_message_list_accepts_a_batch_and_status_filter(admin_client):
    batch = Batch.objects.create()
    failed = outbound(batch=batch, status=MessageStatus.FAILED)
    outbound(batch=batch, status=MessageStatus.DELIVERED)
    outbound(status=MessageStatus.FAILED)
    url = reverse(CHANGELIST)
    response = admin_client.get(url, {"batch__id__exact": batch.pk, "status__exact": "FAILED"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [failed]
