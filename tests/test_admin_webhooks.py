"""Tests for the webhook event and opt-out admin: read-only log, reprocess action, manual opt-outs."""

import pytest
from django.urls import reverse

from django_zoomconnect.models import Direction, Message, MessageStatus, OptOut, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create(username="admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


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
    response = admin_client.post(
        reverse("admin:zoomconnect_webhookevent_changelist"),
        {"action": "reprocess_selected", "_selected_action": [failed.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    text = [str(m) for m in response.context["messages"]]
    assert text == ["Reprocessed 1 event(s): 1 processed. 1 already processed, left alone."]
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
