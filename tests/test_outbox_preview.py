"""Tests for services/outbox/preview.py: a send previewed with nothing written, the cached balance,
and the all-or-nothing send behind the admin's form."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from django_zoomconnect.exceptions import SendRefused
from django_zoomconnect.models import Batch, Contact, Group, Membership, Message, OptOut, Template
from django_zoomconnect.services.outbox.preview import (
    BALANCE_MAX_AGE,
    SendRequest,
    preview,
    read_balance,
    send_checked,
)
from tests.outbox import zoomconnect_settings

pytestmark = pytest.mark.django_db

NUMBER = "+27821234567"
OTHER = "+27821234568"
EMOJI = "\U0001f600"


@pytest.fixture
def sim(sending_sim):
    return sending_sim


def balance_reads(simulator):
    return sum(1 for r in simulator.requests if r.path.endswith("account/balance"))


@pytest.fixture
def customers():
    group = Group.objects.create(name="Customers")
    for number, name in ((NUMBER, "Thandi"), (OTHER, "Sipho")):
        Membership.objects.create(
            contact=Contact.objects.create(phone_number=number, first_name=name), group=group
        )
    return group


def test_a_preview_counts_the_recipients_and_the_text_and_writes_nothing(sim):
    OptOut.objects.create(phone_number="+27821234569")
    request = SendRequest(numbers=("082 123 4567", NUMBER, "+27821234569", OTHER), body="Mañana {ok} €5")

    result = preview(request)

    assert (result.named, result.duplicates, result.opted_out, result.refused, result.recipients) == (
        4,
        1,
        1,
        1,
        2,
    )
    assert (result.info.encoding, result.info.parts, result.ucs2_characters) == ("GSM7", 1, [])
    assert result.text == "Mañana {ok} €5"
    assert result.first_recipient == NUMBER
    assert result.estimated_cost == Decimal("2.00")
    assert result.refusals == [("+27821234569", "+27821234569 opted out of messages; nothing is sent to it.")]
    assert not result.can_send
    assert not result.single
    assert not Message.objects.exists()
    assert not Batch.objects.exists()


def test_the_characters_that_force_ucs2_are_named(sim):
    result = preview(SendRequest(numbers=(NUMBER,), body=f"Olá {EMOJI} " + "x" * 70))
    assert (result.info.encoding, result.info.parts) == ("UCS2", 2)
    assert result.ucs2_characters == ["á", EMOJI]
    assert result.can_send
    assert result.single


def test_a_template_is_rendered_for_the_first_recipient_with_its_contacts_fields(sim, customers):
    welcome = Template.objects.create(name="Welcome", body="Hi {{ first_name }}, welcome!")
    result = preview(SendRequest(groups=(customers,), template=welcome))
    assert result.text == "Hi Thandi, welcome!"
    assert (result.recipients, result.first_recipient, result.can_send) == (2, NUMBER, True)


def test_a_template_placeholder_without_a_value_shows_the_template_as_written(sim):
    welcome = Template.objects.create(name="Welcome", body="Hi {{ first_name }}")
    result = preview(SendRequest(numbers=(NUMBER,), template=welcome))
    assert result.text == "Hi {{ first_name }}"
    assert result.refusals == [("", "Template 'Welcome' needs a value for: first_name.")]
    assert result.recipients == 1  # the recipients are still counted


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (SendRequest(body="hi"), "send_bulk needs at least one recipient"),
        (SendRequest(numbers=(NUMBER,)), "A message needs a body or a template."),
        (SendRequest(numbers=(NUMBER,), body="x" * 1000), "needs 7 SMS parts"),
        (SendRequest(numbers=("12",), body="hi"), "None of the 1 recipients is a valid number"),
        (SendRequest(numbers=(NUMBER,), body="hi", campaign="c" * 300), "campaign is 300 characters"),
    ],
)
def test_a_send_that_cannot_work_is_refused_as_a_whole(sim, request_, expected):
    result = preview(request_)
    assert not result.can_send
    assert expected in " ".join(reason for _, reason in result.refusals)


def test_an_invalid_number_is_refused_with_its_reason_and_the_others_counted(sim):
    result = preview(SendRequest(numbers=("12", NUMBER), body="hi"))
    assert [who for who, _ in result.refusals] == ["12"]
    assert "'12' is not a valid phone number" in result.refusals[0].reason
    assert result.recipients == 1


def test_a_time_already_past_is_refused(sim):
    past = timezone.now() - timedelta(minutes=1)
    result = preview(SendRequest(numbers=(NUMBER,), body="hi", send_at=past))
    assert result.refusals == [("", "The time to send it is already past; leave it empty to send now.")]


def test_an_estimate_above_the_balance_is_refused(sim):
    sim.set_balance(1)
    result = preview(SendRequest(numbers=(NUMBER, OTHER), body="hi"))
    assert result.balance is not None
    assert result.balance.balance == 1
    assert result.refusals == [("", "The send is estimated to cost 2.00 credits; the balance is 1.")]


def test_the_balance_is_read_at_most_once_a_minute(sim, monkeypatch):
    first = preview(SendRequest(numbers=(NUMBER,), body="hi"))
    second = preview(SendRequest(numbers=(NUMBER,), body="hello"))
    assert balance_reads(sim) == 1
    assert first.balance == second.balance
    assert first.balance is not None
    assert first.balance.balance == sim.balance
    assert first.balance.read_at <= timezone.now()

    later = timezone.now() + timedelta(seconds=BALANCE_MAX_AGE + 1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    cache.clear()  # what the cache's own expiry does after BALANCE_MAX_AGE
    assert read_balance().read_at == later
    assert balance_reads(sim) == 2


def test_a_failed_balance_read_is_said_and_refuses_nothing(sim):
    sim.inject_fault("500", path="account/balance", count=1)
    result = preview(SendRequest(numbers=(NUMBER,), body="hi"))
    assert result.balance is not None
    assert result.balance.balance is None
    assert result.balance.error
    assert result.can_send


def test_with_balance_check_off_the_balance_is_not_asked_for(sim):
    with zoomconnect_settings(BALANCE_CHECK="off"):
        result = preview(SendRequest(numbers=(NUMBER,), body="hi"))
    assert result.balance is None
    assert balance_reads(sim) == 0


# --- sending ------------------------------------------------------------------------------------


def test_one_number_is_sent_with_send_sms(sim):
    message = send_checked(SendRequest(numbers=("082 123 4567",), body="hi", campaign="spring"))
    assert isinstance(message, Message)
    assert (message.to_number, message.campaign, message.batch_id) == (NUMBER, "spring", None)
    assert message.status == "QUEUED"  # sent once the test's transaction would commit


def test_one_contact_is_sent_with_send_sms_and_its_fields(sim):
    contact = Contact.objects.create(phone_number=NUMBER, first_name="Thandi")
    welcome = Template.objects.create(name="Welcome", body="Hi {{ first_name }}")
    message = send_checked(SendRequest(contacts=(contact,), template=welcome))
    assert isinstance(message, Message)
    assert (message.body, message.contact, message.template) == ("Hi Thandi", contact, welcome)


def test_a_group_is_one_batch_naming_it(sim, customers):
    batch = send_checked(SendRequest(groups=(customers,), body="hi"))
    assert isinstance(batch, Batch)
    assert batch.group == customers
    assert batch.messages.count() == 2


def test_several_groups_are_one_batch_of_their_members_each_number_once(sim, customers):
    staff = Group.objects.create(name="Staff")
    Membership.objects.create(contact=Contact.objects.get(phone_number=NUMBER), group=staff)
    batch = send_checked(SendRequest(groups=(customers, staff), numbers=(NUMBER,), body="hi"))
    assert isinstance(batch, Batch)
    assert batch.group is None
    assert sorted(batch.messages.values_list("to_number", flat=True)) == [NUMBER, OTHER]


def test_a_refusal_sends_nothing_at_all(sim):
    OptOut.objects.create(phone_number=OTHER)
    with pytest.raises(SendRefused) as refused:
        send_checked(SendRequest(numbers=(NUMBER, OTHER, "12"), body="hi"))
    assert [who for who, _ in refused.value.refusals] == [OTHER, "12"]
    assert str(refused.value).startswith("Nothing was sent: +27821234568 opted out")
    assert not Message.objects.exists()
    assert not Batch.objects.exists()
