"""Tests for services/outbox/drafts.py: a bulk send planned (validated, rendered, opt-outs
refused) with nothing written. The validation send_sms and send_bulk share is tested through them
in test_outbox_compose.py."""

from decimal import Decimal

import pytest

from django_zoomconnect.exceptions import SendError
from django_zoomconnect.models import Contact, Message, OptOut
from django_zoomconnect.services.outbox.drafts import BulkSend, plan_bulk, resolve_recipients

NUMBER = "+27821234567"
OTHER = "+27821234568"


@pytest.mark.django_db
def test_plan_bulk_plans_what_send_bulk_would_write_and_writes_nothing(django_assert_num_queries):
    OptOut.objects.create(phone_number=OTHER)
    thandi = Contact.objects.create(phone_number=NUMBER, first_name="Thandi")
    send = BulkSend(recipients=["082 123 4567", OTHER, "12"], contacts=[thandi], body="Hi")

    with django_assert_num_queries(2):  # the opt-outs (whether any erased one exists); nothing is written
        plan = plan_bulk(send)

    assert [(d.to, bool(d.rejection), d.invalid_number) for d in plan.drafts] == [
        (NUMBER, False, False),
        (OTHER, True, False),
        ("12", True, True),
    ]
    assert "opted out" in plan.drafts[1].rejection
    assert (plan.duplicates, plan.opted_out, plan.cost) == (1, {OTHER}, Decimal("1.00"))
    assert not Message.objects.exists()
    plan.check_recipients()
    with pytest.raises(SendError, match="None of the 1 recipients"):
        plan_bulk(BulkSend(recipients=["12"], body="x")).check_recipients()


@pytest.mark.django_db
def test_resolve_recipients_keeps_a_number_once_and_rejects_an_invalid_one():
    resolved = resolve_recipients(["082 123 4567", NUMBER, ("12", {"name": "x"})])

    assert [(d.to, d.invalid_number, own) for d, own in resolved.drafts] == [
        (NUMBER, False, None),
        ("12", True, {"name": "x"}),
    ]
    assert resolved.duplicates == 1
    with pytest.raises(SendError, match="not a single string"):
        resolve_recipients(NUMBER)
