"""Tests for services/outbox/compose.py: settings, validation and the rows of send_sms and send_bulk,
the balance check."""

import json
import logging
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

import django_zoomconnect
from django_zoomconnect import conf
from django_zoomconnect.exceptions import ConfigurationError
from django_zoomconnect.models import (
    Batch,
    Contact,
    Group,
    Membership,
    Message,
    MessageStatus,
    OptOut,
    Template,
)
from django_zoomconnect.services import outbox
from django_zoomconnect.services.outbox import (
    InsufficientCreditError,
    Recipient,
    SendError,
    send_bulk,
    send_sms,
    state,
)
from tests.outbox import fast_outbox, zoomconnect_settings

NUMBER = "+27821234567"
OTHER = "+27821234568"


@pytest.fixture
def sim(zoomconnect_simulator):
    with fast_outbox(zoomconnect_simulator) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _no_balance_requests(settings):
    # Without the simulator a balance check would try to reach BASE_URL; tests opt in to it.
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "BALANCE_CHECK": "off"}


def bodies(simulator, path="sms/send"):
    return [json.loads(r.body) for r in simulator.requests if r.path.endswith(path) and r.method == "POST"]


# --- settings ------------------------------------------------------------------------------------


def test_sending_settings_have_documented_defaults(settings):
    settings.ZOOMCONNECT = {}
    assert conf.get("SEND_EAGERLY") is False
    assert conf.get("SCHEDULING") == "local"
    assert conf.get("BULK_CHUNK_SIZE") == 500
    assert conf.get("MESSAGES_PER_MINUTE") is None
    assert conf.get("MAX_PARTS") == 6
    assert conf.get("CREDITS_PER_PART") == 1.0
    assert conf.get("BALANCE_CHECK") == "warn"
    assert conf.get("SEND_MAX_ATTEMPTS") == 8
    assert conf.get("SEND_RETRY_BACKOFF") == 10.0
    assert conf.get("SEND_RETRY_BACKOFF_MAX") == 600.0
    assert conf.get("SEND_RETRY_JITTER") == 0.5
    assert conf.get("CLAIM_LEASE_SECONDS") == 300.0
    assert conf.get("REQUEUE_AFTER") == 120.0
    assert conf.get("RECONCILE_AFTER") == 30.0
    assert conf.get("STATUS_POLL_AFTER") == 1800.0
    assert conf.get("STATUS_POLL_MAX_AGE") == 259200.0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SEND_EAGERLY", "yes"),
        ("SCHEDULING", "remote"),
        ("BULK_CHUNK_SIZE", 0),
        ("MESSAGES_PER_MINUTE", 0),
        ("MAX_PARTS", -1),
        ("CREDITS_PER_PART", -0.5),
        ("BALANCE_CHECK", "maybe"),
        ("SEND_MAX_ATTEMPTS", 0),
        ("SEND_RETRY_JITTER", 1.5),
        ("CLAIM_LEASE_SECONDS", 0),
        ("STATUS_POLL_MAX_AGE", 0),
    ],
)
def test_wrong_sending_settings_name_the_key(settings, key, value):
    settings.ZOOMCONNECT = {key: value}
    with pytest.raises(ConfigurationError, match=key):
        conf.get(key)


def test_backoff_doubles_up_to_the_ceiling_with_jitter_below_it(settings):
    settings.ZOOMCONNECT = {"SEND_RETRY_BACKOFF": 2, "SEND_RETRY_BACKOFF_MAX": 10, "SEND_RETRY_JITTER": 0}
    assert [state.backoff(n) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]
    settings.ZOOMCONNECT = {"SEND_RETRY_BACKOFF": 2, "SEND_RETRY_BACKOFF_MAX": 10, "SEND_RETRY_JITTER": 0.5}
    delays = {state.backoff(3) for _ in range(50)}
    assert all(4 <= d <= 8 for d in delays)
    assert len(delays) > 1


def test_package_exports_send_functions_lazily():
    assert django_zoomconnect.send_sms is send_sms
    assert django_zoomconnect.send_bulk is send_bulk
    assert {"send_sms", "send_bulk"} <= set(dir(django_zoomconnect))
    with pytest.raises(AttributeError):
        django_zoomconnect.nothing_here  # noqa: B018


# --- send_sms: validation and rows --------------------------------------------------------------


@pytest.mark.django_db
def test_send_sms_writes_a_queued_row_and_enqueues_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        message = send_sms("082 123 4567", "Your code is 4711", campaign="otp")
    assert message.pk is not None
    assert message.status == MessageStatus.QUEUED
    assert message.to_number == NUMBER
    assert message.campaign == "otp"
    assert message.encoding == "GSM7"
    assert message.parts == 1
    assert message.credit_cost == Decimal("1.00")
    assert message.enqueued_at is not None
    assert message.dispatch_after is None
    assert outbox.wire_data_field(message) == message.reference
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_send_sms_estimates_encoding_parts_and_cost(settings):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "CREDITS_PER_PART": 0.25}
    message = send_sms(NUMBER, "Ünïcødé ✓ " * 10)
    assert message.encoding == "UCS2"
    assert message.parts == 2
    assert message.credit_cost == Decimal("0.50")


@pytest.mark.django_db
def test_send_sms_with_own_data_field_sends_it_instead_of_the_reference():
    message = send_sms(NUMBER, "hi", data_field="order:42")
    assert message.data_field == "order:42"
    assert outbox.wire_data_field(message) == "order:42"


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("not a number", "hi"), {}, "not a valid phone number"),
        ((NUMBER, ""), {}, "empty"),
        ((NUMBER, "   \n"), {}, "empty"),
        ((NUMBER, None), {}, "needs a body or a template"),
        ((None, "hi"), {}, "recipient number, or a contact"),
        ((NUMBER, 42), {}, "body must be a string"),
        ((NUMBER, "x" * 919), {}, "at most 6 are allowed"),
        ((NUMBER, "hi"), {"send_at": datetime(2030, 1, 1, 9, 0)}, "timezone-aware"),
        ((NUMBER, "hi"), {"send_at": "tomorrow"}, "must be a datetime"),
        ((NUMBER, "hi"), {"campaign": "c" * 256}, "campaign is 256 characters"),
        ((NUMBER, "hi"), {"data_field": 7}, "data_field must be a string"),
    ],
)
@pytest.mark.django_db
def test_send_sms_refuses_bad_input_and_writes_nothing(
    args, kwargs, match, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(SendError, match=match):
        send_sms(*args, **kwargs)
    assert not Message.objects.exists()
    assert callbacks == []


@pytest.mark.django_db
def test_send_error_is_a_value_error():
    with pytest.raises(ValueError, match="valid phone number"):
        send_sms("123", "hi")


@pytest.mark.django_db
def test_template_and_body_together_are_refused():
    template = Template.objects.create(name="t", body="Hi {{ name }}")
    with pytest.raises(SendError, match="not both"):
        send_sms(NUMBER, "hi", template=template, context={"name": "A"})
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_send_sms_renders_a_template_with_contact_fields_and_context():
    contact = Contact.objects.create(first_name="Thandi", phone_number=NUMBER)
    template = Template.objects.create(name="t", body="Hi {{ first_name }}, see you at {{ shop }}")
    message = send_sms(None, template=template, context={"shop": "Acme"}, contact=contact)
    assert message.body == "Hi Thandi, see you at Acme"
    assert message.contact == contact
    assert message.template == template
    assert message.to_number == NUMBER


@pytest.mark.django_db
def test_send_sms_names_a_missing_placeholder():
    template = Template.objects.create(name="welcome", body="Hi {{ name }}")
    with pytest.raises(SendError, match=r"welcome.*name"):
        send_sms(NUMBER, template=template)
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_an_opted_out_number_gets_a_rejected_row_and_no_task(django_capture_on_commit_callbacks):
    OptOut.objects.create(phone_number=NUMBER, source=OptOut.Source.MANUAL)
    with django_capture_on_commit_callbacks() as callbacks:
        message = send_sms("0821234567", "hi")
    assert message.status == MessageStatus.REJECTED
    assert "opted out" in message.last_error
    assert callbacks == []


@pytest.mark.django_db
def test_a_future_send_at_waits_for_dispatch_due(django_capture_on_commit_callbacks):
    later = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks() as callbacks:
        message = send_sms(NUMBER, "later", send_at=later)
    assert message.status == MessageStatus.QUEUED
    assert message.scheduled_at == later
    assert message.dispatch_after == later
    assert message.enqueued_at is None
    assert callbacks == []


@pytest.mark.django_db
def test_a_send_at_in_the_past_sends_now(django_capture_on_commit_callbacks):
    earlier = timezone.now() - timedelta(minutes=5)
    with django_capture_on_commit_callbacks() as callbacks:
        message = send_sms(NUMBER, "now", send_at=earlier)
    assert message.scheduled_at == earlier
    assert message.dispatch_after is None
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_provider_scheduling_enqueues_at_once(settings, django_capture_on_commit_callbacks):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "SCHEDULING": "provider"}
    with django_capture_on_commit_callbacks() as callbacks:
        message = send_sms(NUMBER, "later", send_at=timezone.now() + timedelta(days=1))
    assert message.dispatch_after is None
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_rows_roll_back_with_the_callers_transaction(django_capture_on_commit_callbacks):
    def the_callers_view():
        with transaction.atomic():
            send_sms(NUMBER, "hi")
            send_bulk(recipients=[NUMBER, OTHER], body="hi")
            raise RuntimeError("the caller changed its mind")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        the_callers_view()
    assert not Message.objects.exists()
    assert not Batch.objects.exists()
    assert callbacks == []


# --- send_bulk: validation and rows -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"recipients": [], "body": "hi"}, "at least one recipient"),
        ({"body": "hi"}, "at least one recipient"),
        ({"recipients": NUMBER, "body": "hi"}, "not a single string"),
        ({"recipients": [42], "body": "hi"}, "A recipient must be"),
        ({"recipients": ["nope", "12"], "body": "hi"}, "None of the 2 recipients"),
        ({"recipients": [NUMBER], "body": ""}, "empty"),
        ({"recipients": [NUMBER]}, "needs a body or a template"),
        ({"recipients": [NUMBER], "body": "✓" * 403}, "at most 6"),
        ({"recipients": [NUMBER], "body": "hi", "send_at": datetime(2030, 1, 1)}, "timezone-aware"),
        ({"contacts": ["+27821234567"], "body": "hi"}, "Contact rows"),
        ({"group": "customers", "body": "hi"}, "must be a Group"),
    ],
)
@pytest.mark.django_db
def test_send_bulk_refuses_bad_input_and_writes_nothing(kwargs, match, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(SendError, match=match):
        send_bulk(**kwargs)
    assert not Batch.objects.exists()
    assert not Message.objects.exists()
    assert callbacks == []


@pytest.mark.django_db
def test_send_bulk_reports_bad_recipients_and_queues_the_others(settings, django_capture_on_commit_callbacks):
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "BULK_CHUNK_SIZE": 2}
    OptOut.objects.create(phone_number="+27821234569", source=OptOut.Source.KEYWORD)
    recipients = ["082 123 4567", "not a number", "+27821234568", "0821234567", "+27821234569", "0821234570"]
    with django_capture_on_commit_callbacks() as callbacks:
        batch = send_bulk(recipients=recipients, body="Sale!", campaign="sale")
    rows = {m.to_number: m for m in batch.messages.all()}
    assert len(rows) == 5  # the duplicate spelling of +27821234567 is sent once
    assert rows["not a number"].status == MessageStatus.REJECTED
    assert "not a valid phone number" in rows["not a number"].last_error
    assert rows["+27821234569"].status == MessageStatus.REJECTED
    assert "opted out" in rows["+27821234569"].last_error
    queued = batch.messages.filter(status=MessageStatus.QUEUED).order_by("pk")
    assert [m.chunk for m in queued] == [0, 0, 1]
    assert {m.campaign for m in batch.messages.all()} == {"sale"}
    assert batch.status == Batch.Status.PENDING
    assert batch.chunk_count == 2
    assert batch.chunk_size == 2
    assert batch.estimated_cost == Decimal("3.00")
    assert len(callbacks) == 2


@pytest.mark.django_db
def test_send_bulk_renders_each_recipient_with_its_own_context():
    template = Template.objects.create(name="t", body="Hi {{ first_name }}, {{ offer }} at {{ shop }}")
    group = Group.objects.create(name="vip")
    anna = Contact.objects.create(first_name="Anna", phone_number=NUMBER)
    Membership.objects.create(contact=anna, group=group)
    ben = Contact.objects.create(first_name="Ben", phone_number=OTHER)
    batch = send_bulk(
        recipients=[
            ("+27821234570", {"first_name": "Cara", "offer": "20% off"}),
            Recipient("+27821234571", {"first_name": "Dee"}),
        ],
        contacts=[ben],
        group=group,
        template=template,
        context={"shop": "Acme", "offer": "10% off"},
    )
    texts = dict(batch.messages.values_list("to_number", "body"))
    assert texts == {
        "+27821234570": "Hi Cara, 20% off at Acme",
        "+27821234571": "Hi Dee, 10% off at Acme",
        OTHER: "Hi Ben, 10% off at Acme",
        NUMBER: "Hi Anna, 10% off at Acme",
    }
    assert batch.group == group
    assert batch.template == template
    assert batch.messages.get(to_number=NUMBER).contact == anna


@pytest.mark.django_db
def test_a_recipient_whose_text_is_too_long_is_rejected_alone():
    template = Template.objects.create(name="t", body="{{ text }}")
    batch = send_bulk(
        recipients=[
            (NUMBER, {"text": "short"}),
            (OTHER, {"text": "x" * 1000}),
            ("+27821234570", {"text": " "}),
        ],
        template=template,
    )
    statuses = dict(batch.messages.values_list("to_number", "status"))
    assert statuses == {
        NUMBER: MessageStatus.QUEUED,
        OTHER: MessageStatus.REJECTED,
        "+27821234570": MessageStatus.REJECTED,
    }
    assert "SMS parts" in batch.messages.get(to_number=OTHER).last_error


@pytest.mark.django_db
def test_a_missing_placeholder_refuses_the_whole_bulk_send():
    template = Template.objects.create(name="t", body="Hi {{ name }}")
    with pytest.raises(SendError, match="name"):
        send_bulk(recipients=[(NUMBER, {"name": "A"}), OTHER], template=template)
    assert not Batch.objects.exists()


@pytest.mark.django_db
def test_a_bulk_send_to_opted_out_numbers_only_is_done_at_once(django_capture_on_commit_callbacks):
    OptOut.objects.create(phone_number=NUMBER, source=OptOut.Source.MANUAL)
    with django_capture_on_commit_callbacks() as callbacks:
        batch = send_bulk(recipients=[NUMBER], body="hi")
    assert batch.status == Batch.Status.DONE
    assert batch.chunk_count == 0
    assert callbacks == []


@pytest.mark.django_db
def test_a_scheduled_bulk_send_waits_for_dispatch_due(django_capture_on_commit_callbacks):
    later = timezone.now() + timedelta(hours=1)
    with django_capture_on_commit_callbacks() as callbacks:
        batch = send_bulk(recipients=[NUMBER, OTHER], body="hi", send_at=later)
    assert batch.send_at == later
    assert set(batch.messages.values_list("dispatch_after", flat=True)) == {later}
    assert callbacks == []


# --- the balance check --------------------------------------------------------------------------


@pytest.mark.django_db
def test_balance_check_refuses_a_bulk_send_it_cannot_pay_for(zoomconnect_simulator):
    zoomconnect_simulator.set_balance(1)
    with zoomconnect_settings(BALANCE_CHECK="refuse"), pytest.raises(InsufficientCreditError) as caught:
        send_bulk(recipients=[NUMBER, OTHER], body="hi")
    assert caught.value.estimated_cost == Decimal("2.00")
    assert caught.value.balance == 1
    assert "estimated to cost 2.00 credits; the balance is 1" in str(caught.value)
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_balance_check_warns_and_queues(zoomconnect_simulator, caplog):
    zoomconnect_simulator.set_balance(1)
    with zoomconnect_settings(BALANCE_CHECK="warn"), caplog.at_level(logging.WARNING):
        batch = send_bulk(recipients=[NUMBER, OTHER], body="hi")
    assert batch.messages.count() == 2
    assert "Queued anyway" in caplog.text


@pytest.mark.django_db
def test_balance_check_passes_and_off_means_no_request(zoomconnect_simulator):
    def balance_reads():
        return [r.path for r in zoomconnect_simulator.requests if r.path.endswith("account/balance")]

    with zoomconnect_settings(BALANCE_CHECK="refuse"):
        send_bulk(recipients=[NUMBER], body="hi")
    assert balance_reads() == ["/app/api/rest/v1/account/balance"]
    with zoomconnect_settings(BALANCE_CHECK="off"):
        send_bulk(recipients=[NUMBER], body="hi")
    assert len(balance_reads()) == 1


@pytest.mark.django_db
def test_an_unreadable_balance_does_not_block_the_send(zoomconnect_simulator, caplog):
    zoomconnect_simulator.inject_fault("503", path="account/balance")
    with zoomconnect_settings(BALANCE_CHECK="refuse"), caplog.at_level(logging.WARNING):
        batch = send_bulk(recipients=[NUMBER], body="hi")
    assert batch.messages.count() == 1
    assert "Could not read the balance" in caplog.text
