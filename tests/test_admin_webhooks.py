"""Tests for the webhook event and opt-out admin: read-only log, reprocess, opt-outs, no checksums."""

import pytest
from django.urls import reverse

from django_zoomconnect.admin import shown_params
from django_zoomconnect.models import Direction, Message, MessageStatus, OptOut, WebhookEvent
from django_zoomconnect.testing import build_reply_params, signed_post

pytestmark = pytest.mark.django_db


def event(nonce: str, state: str, status: str = "DELIVERED", remote_id: str = "R1") -> WebhookEvent:
    params = {"messageId": remote_id, "status": status, "nonce": nonce, "checksum": "c0ffee"}
    return WebhookEvent.objects.create(
        kind="report", params=params, nonce=nonce, remote_message_id=remote_id, state=state
    )


def test_event_changelist_search_filter_and_read_only_change_page(admin_client):
    failed = event("n-failed", "failed")
    event("n-done", "processed", remote_id="R2")
    url = reverse("admin:zoomconnect_webhookevent_changelist")
    assert admin_client.get(url).status_code == 200
    response = admin_client.get(url, {"state__exact": "failed"})
    assert list(response.context["cl"].result_list) == [failed]
    response = admin_client.get(url, {"q": "R2"})
    assert [e.nonce for e in response.context["cl"].result_list] == ["n-done"]
    response = admin_client.get(reverse("admin:zoomconnect_webhookevent_change", args=[failed.pk]))
    assert response.status_code == 200
    assert b'name="nonce"' not in response.content  # every field is read-only
    assert b"test-webhook-secret" not in response.content
    assert admin_client.get(reverse("admin:zoomconnect_webhookevent_add")).status_code == 403


def test_reprocess_action(admin_client):
    message = Message.objects.create(direction=Direction.OUTBOUND, remote_id="R1", status=MessageStatus.SENT)
    failed = event("n-1", "failed")
    done = event("n-2", "processed", status="FAILED")
    chosen = {"action": "reprocess_selected", "_selected_action": [failed.pk, done.pk]}
    url = reverse("admin:zoomconnect_webhookevent_changelist")
    asked = admin_client.post(url, chosen)
    assert asked.status_code == 200
    assert "Process these webhook events again?" in asked.text
    failed.refresh_from_db()
    assert failed.state == "failed"  # nothing happens before the operator confirms
    response = admin_client.post(url, {**chosen, "post": "yes"}, follow=True)
    assert response.status_code == 200
    text = [str(m) for m in response.context["messages"]]
    assert text == ["Reprocess selected webhook events: 1 processed, 1 skipped: already processed."]
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    done.refresh_from_db()
    assert done.attempts == 0


def test_opt_out_added_by_hand_is_normalized_and_manual(admin_client):
    url = reverse("admin:zoomconnect_optout_add")
    response = admin_client.post(url, {"phone_number": "082 123 4567", "detail": "asked by phone"})
    assert response.status_code == 302
    opt_out = OptOut.objects.get()
    assert (opt_out.phone_number, opt_out.source, opt_out.detail) == (
        "+27821234567",
        "manual",
        "asked by phone",
    )
    response = admin_client.post(url, {"phone_number": "not a number"})
    assert response.status_code == 200
    assert "not a valid phone number" in str(response.context["adminform"].form.errors)
    assert admin_client.get(reverse("admin:zoomconnect_optout_changelist"), {"q": "4567"}).status_code == 200


# --- checksums never shown ---------------------------------------------------------------------------


@pytest.fixture
def received(client):
    """A genuine reply through the webhook view: its event holds the checksum the provider sent."""
    params = build_reply_params("+27821234567", "Hello there", message_id="abc123def456abc123def456")
    assert signed_post(client, "zoomconnect:reply", params).status_code == 200
    return params["checksum"], WebhookEvent.objects.get()


def test_the_event_change_page_masks_the_checksum(admin_client, received):
    checksum, stored = received
    assert stored.params["checksum"] == checksum  # kept as evidence, only never shown
    response = admin_client.get(reverse("admin:zoomconnect_webhookevent_change", args=[stored.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert checksum not in html
    assert checksum.upper() not in html
    assert "&quot;checksum&quot;: &quot;********&quot;" in html
    assert "abc123def456abc123def456" in html  # the rest is shown
    assert "Hello there" in html
    assert "<textarea" not in html  # nothing editable, so nothing raw in a form field


def test_the_event_list_and_search_never_show_or_match_the_checksum(admin_client, received):
    checksum, stored = received
    url = reverse("admin:zoomconnect_webhookevent_changelist")
    assert checksum not in admin_client.get(url).content.decode()
    response = admin_client.get(url, {"q": checksum})
    assert list(response.context["cl"].result_list) == []
    assert checksum not in response.content.decode().replace(f"q={checksum}", "").replace(
        f'value="{checksum}"', ""
    )
    response = admin_client.get(url, {"q": stored.remote_message_id})
    assert list(response.context["cl"].result_list) == [stored]


def test_an_inbound_message_keeps_no_checksum_and_its_page_shows_none(admin_client, received):
    checksum, _ = received
    message = Message.objects.get(direction=Direction.INBOUND)
    assert "checksum" not in message.remote_data
    assert message.remote_data["message"] == "Hello there"
    # A message stored before the checksum was left out still has it: masked on its page.
    Message.objects.filter(pk=message.pk).update(remote_data={**message.remote_data, "checksum": checksum})
    response = admin_client.get(reverse("admin:zoomconnect_message_change", args=[message.pk]))
    assert response.status_code == 200
    assert checksum not in response.content.decode()
    assert "Hello there" in response.content.decode()


def test_shown_params_masks_only_the_checksum():
    assert shown_params({"checksum": "abc", "nonce": "n", "x": "checksum"}) == {
        "checksum": "********",
        "nonce": "n",
        "x": "checksum",
    }
    assert shown_params(None) is None
    assert shown_params(["not", "a", "dict"]) == ["not", "a", "dict"]
