"""Tests for the zoomconnect_webhooks management command (reprocess and cleanup)."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from django_zoomconnect.models import Direction, Message, MessageStatus, WebhookEvent

pytestmark = pytest.mark.django_db


def stored(
    nonce: str,
    state: str,
    remote_id: str = "R1",
    kind: str = "report",
    status: str = "DELIVERED",
    account: str = "default",
):
    params = {"messageId": remote_id, "status": status, "nonce": nonce}
    return WebhookEvent.objects.create(
        kind=kind, params=params, nonce=nonce, remote_message_id=remote_id, state=state, account=account
    )


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("zoomconnect_webhooks", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_reprocess_picks_failed_deferred_and_pending_events_never_processed_ones():
    Message.objects.create(direction=Direction.OUTBOUND, remote_id="R1", status=MessageStatus.SENT)
    failed = stored("a", "failed")
    deferred = stored("b", "deferred", remote_id="R2")
    processed = stored("c", "processed", status="FAILED")
    out, err = run("reprocess")
    assert out == "Reprocessed 2 webhook event(s): 1 deferred, 1 processed.\n"
    assert err == ""
    assert WebhookEvent.objects.get(pk=failed.pk).state == "processed"
    assert WebhookEvent.objects.get(pk=deferred.pk).state == "deferred"
    assert WebhookEvent.objects.get(pk=processed.pk).attempts == 0
    assert Message.objects.get().status == MessageStatus.DELIVERED


def test_reprocess_filters_and_reports_repeated_failures():
    first = stored("a", "failed", status="BOGUS")
    stored("b", "failed", status="BOGUS")
    stored("c", "deferred", kind="reply")
    out, err = run("reprocess", "--state", "failed", "--kind", "report", str(first.pk))
    assert out == "Reprocessed 1 webhook event(s): 1 failed.\n"
    assert "failed again" in err
    assert run("reprocess", "--state", "pending")[0] == "Reprocessed 0 webhook event(s): nothing to do.\n"


def test_cleanup_uses_the_retention_setting_or_days():
    old = stored("a", "processed")
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=100))
    stored("b", "processed")
    assert run("cleanup", "--days", "120")[0] == "Deleted 0 webhook event(s).\n"
    assert run("cleanup")[0] == "Deleted 1 webhook event(s).\n"
    assert WebhookEvent.objects.count() == 1
    with pytest.raises(CommandError, match="--days: '-1' is not a number of days from 0 to 36500"):
        run("cleanup", "--days", "-1")


def test_an_action_is_required():
    with pytest.raises(CommandError):
        run()


def test_ids_that_cannot_be_reprocessed_are_refused_before_anything_runs():
    failed = stored("a", "failed", status="BOGUS")
    processed = stored("b", "processed")
    with pytest.raises(CommandError) as caught:
        run("reprocess", str(failed.pk), str(processed.pk), "999")
    assert str(caught.value) == (
        f"No event to reprocess with id {processed.pk}, 999: it does not exist, was processed already, "
        "or is not of the --state, --kind or --account asked for."
    )
    assert WebhookEvent.objects.get(pk=failed.pk).attempts == 0


def test_json_and_quiet():
    Message.objects.create(direction=Direction.OUTBOUND, remote_id="R1", status=MessageStatus.SENT)
    stored("a", "failed")
    out, err = run("reprocess", "--json")
    assert json.loads(out) == {"reprocessed": 1, "states": {"processed": 1}}
    assert err == ""
    assert json.loads(run("cleanup", "--json")[0]) == {"deleted": 0}
    assert run("cleanup", "--quiet") == ("", "")


def test_reprocess_takes_one_accounts_events_with_account(zoomconnect_simulators):
    ours = stored("a", "failed", status="BOGUS", account="marketing")
    theirs = stored("b", "failed", status="BOGUS")
    out, _ = run("reprocess", "--account", "marketing")
    assert out == "Reprocessed 1 webhook event(s): 1 failed.\n"
    assert WebhookEvent.objects.get(pk=ours.pk).attempts == 1
    assert WebhookEvent.objects.get(pk=theirs.pk).attempts == 0
    with pytest.raises(CommandError, match="sales"):
        run("reprocess", "--account", "sales")
