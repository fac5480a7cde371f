"""Tests for services/sending.py: validation, rows, enqueueing, dispatch, scheduling, cancel, retry."""

import json
import logging
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import django_zoomconnect
from django_zoomconnect import conf, signals
from django_zoomconnect.exceptions import ConfigurationError
from django_zoomconnect.models import (
    Batch,
    Contact,
    Group,
    Membership,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    SendingPause,
    Template,
    WebhookEvent,
)
from django_zoomconnect.services import sending
from django_zoomconnect.services.sending import (
    InsufficientCreditError,
    Recipient,
    SendError,
    SendVetoed,
    send_bulk,
    send_sms,
)
from django_zoomconnect.types import SendResult
from tests.outbox import fast_outbox, holding_tasks, sent_count, zoomconnect_settings

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
    assert [sending._backoff(n) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]
    settings.ZOOMCONNECT = {"SEND_RETRY_BACKOFF": 2, "SEND_RETRY_BACKOFF_MAX": 10, "SEND_RETRY_JITTER": 0.5}
    delays = {sending._backoff(3) for _ in range(50)}
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
    assert sending.wire_data_field(message) == message.reference
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
    assert sending.wire_data_field(message) == "order:42"


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
    with zoomconnect_settings(BALANCE_CHECK="refuse"):
        send_bulk(recipients=[NUMBER], body="hi")
    assert [r.path for r in zoomconnect_simulator.requests] == ["/app/api/rest/v1/account/balance"]
    with zoomconnect_settings(BALANCE_CHECK="off"):
        send_bulk(recipients=[NUMBER], body="hi")
    assert len(zoomconnect_simulator.requests) == 1


@pytest.mark.django_db
def test_an_unreadable_balance_does_not_block_the_send(zoomconnect_simulator, caplog):
    zoomconnect_simulator.inject_fault("503", path="account/balance")
    with zoomconnect_settings(BALANCE_CHECK="refuse"), caplog.at_level(logging.WARNING):
        batch = send_bulk(recipients=[NUMBER], body="hi")
    assert batch.messages.count() == 1
    assert "Could not read the balance" in caplog.text


# --- dispatch, end to end against the simulator -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_send_sms_eagerly_sends_once_and_records_it(sim):
    message = send_sms("0821234567", "Your code is 4711", campaign="otp")
    assert message.status == MessageStatus.SENT
    assert message.remote_id
    assert message.sent_at is not None
    assert message.attempts == 1
    assert message.claim_token == ""
    assert sent_count(sim, message) == 1
    remote = sim.message(message.remote_id)
    assert remote.to_number == NUMBER
    assert remote.campaign == "otp"
    assert remote.data_field == message.reference
    change = MessageStatusChange.objects.get(message=message)
    assert (change.old_status, change.new_status, change.source) == ("SENDING", "SENT", "send")


@pytest.mark.django_db(transaction=True)
def test_a_second_dispatch_of_the_same_message_claims_nothing(sim):
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        message = send_sms(NUMBER, "once")
    first = sending.dispatch_message(message.pk)
    second = sending.dispatch_message(message.pk)
    assert (first.claimed, first.sent) == (1, 1)
    assert (second.claimed, second.sent) == (0, 0)
    assert sent_count(sim, message) == 1


@pytest.mark.django_db(transaction=True)
def test_dispatch_refuses_to_run_inside_a_transaction(sim):
    message = send_sms(NUMBER, "hi")
    with pytest.raises(RuntimeError, match="outside any transaction"), transaction.atomic():
        sending.dispatch_message(message.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fmt", "wire"), [("e164", NUMBER), ("digits", "27821234567"), ("national", "0821234567")]
)
def test_the_number_is_sent_in_the_configured_format(sim, fmt, wire):
    with zoomconnect_settings(PHONE_NUMBER_FORMAT=fmt):
        send_sms(NUMBER, "hi")
    assert bodies(sim)[0]["recipientNumber"] == wire


@pytest.mark.django_db(transaction=True)
def test_a_bulk_send_goes_out_in_one_request_per_chunk(sim):
    with zoomconnect_settings(BULK_CHUNK_SIZE=2, MESSAGES_PER_MINUTE=30):
        batch = send_bulk(recipients=[f"+2782123456{i}" for i in range(5)], body="Sale!", campaign="sale")
    assert batch.status == Batch.Status.DONE
    assert batch.finished_at is not None
    requests = bodies(sim, "sms/send-bulk")
    assert [len(r["sendSmsRequests"]) for r in requests] == [2, 2, 1]
    assert {r["messagesPerMinute"] for r in requests} == {30}
    for message in batch.messages.all():
        assert message.status == MessageStatus.SENT
        assert sent_count(sim, message) == 1
        assert sim.message(message.remote_id).data_field == message.reference


@pytest.mark.django_db(transaction=True)
def test_a_bulk_items_own_error_lands_on_its_message(sim):
    batch = send_bulk(recipients=[NUMBER, "+27600000005", OTHER], body="hi")
    statuses = {m.to_number: (m.status, m.last_error) for m in batch.messages.all()}
    assert statuses[NUMBER][0] == MessageStatus.SENT
    assert statuses[OTHER][0] == MessageStatus.SENT
    assert statuses["+27600000005"] == (MessageStatus.FAILED, "Invalid mobile number")
    assert batch.status == Batch.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_post_send_and_status_signals_are_sent(sim):
    seen = []

    def on_post_send(sender, message, error, **kwargs):
        seen.append(("post_send", message.status, message.remote_id is not None, error))

    def on_changed(sender, message, old_status, new_status, source, **kwargs):
        seen.append(("changed", old_status, new_status, source))

    signals.post_send.connect(on_post_send)
    signals.message_status_changed.connect(on_changed)
    try:
        send_sms(NUMBER, "hi")
    finally:
        signals.post_send.disconnect(on_post_send)
        signals.message_status_changed.disconnect(on_changed)
    assert seen == [("post_send", "SENT", True, None), ("changed", "SENDING", "SENT", "send")]


@pytest.mark.django_db(transaction=True)
def test_a_pre_send_receiver_can_veto_one_message(sim):
    posted = []

    def quiet_hours(sender, message, **kwargs):
        if message.to_number == OTHER:
            raise SendVetoed("quiet hours")

    def on_post_send(sender, message, **kwargs):
        posted.append(message.to_number)

    signals.pre_send.connect(quiet_hours)
    signals.post_send.connect(on_post_send)
    try:
        batch = send_bulk(recipients=[NUMBER, OTHER], body="hi")
        single = send_sms(OTHER, "hi")
    finally:
        signals.pre_send.disconnect(quiet_hours)
        signals.post_send.disconnect(on_post_send)
    vetoed = batch.messages.get(to_number=OTHER)
    assert vetoed.status == MessageStatus.REJECTED
    assert vetoed.last_error == "Vetoed by a pre_send receiver: quiet hours"
    assert single.status == MessageStatus.REJECTED
    assert batch.messages.get(to_number=NUMBER).status == MessageStatus.SENT
    assert posted == [NUMBER]
    assert [len(b["sendSmsRequests"]) for b in bodies(sim, "sms/send-bulk")] == [1]
    assert bodies(sim) == []


@pytest.mark.django_db(transaction=True)
def test_a_broken_pre_send_receiver_does_not_stop_the_send(sim, caplog):
    def broken(sender, message, **kwargs):
        raise KeyError("oops")

    signals.pre_send.connect(broken)
    try:
        message = send_sms(NUMBER, "hi")
    finally:
        signals.pre_send.disconnect(broken)
    assert message.status == MessageStatus.SENT
    assert "pre_send receiver" in caplog.text


class _SameIdClient:
    """Answers every send with one fixed message id, as a confused provider might."""

    def __init__(self, message_id):
        self.message_id = message_id

    def send_sms(self, *args, **kwargs):
        return SendResult(message_id=self.message_id, error=None)


@pytest.mark.django_db(transaction=True)
def test_a_remote_id_taken_by_another_row_is_not_overwritten(sim, caplog):
    message = send_sms(NUMBER, "first")
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        second = send_sms(OTHER, "second")
    sending.dispatch_message(second.pk, client=_SameIdClient(message.remote_id))
    second.refresh_from_db()
    assert second.status == MessageStatus.SENT
    assert second.remote_id is None
    assert "already stored on another row" in caplog.text


# --- scheduling ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_local_scheduling_sends_when_due_and_not_before(sim):
    send_at = timezone.now() + timedelta(hours=1)
    message = send_sms(NUMBER, "later", send_at=send_at)
    assert sending.dispatch_due() == 0
    assert sending.dispatch_due(now=send_at - timedelta(seconds=1)) == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    Message.objects.filter(pk=message.pk).update(dispatch_after=timezone.now())  # the hour has passed
    assert sending.dispatch_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert "dateToSend" not in bodies(sim)[0]
    assert sending.dispatch_due() == 0


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_batch_is_dispatched_by_chunk_when_due(sim):
    with zoomconnect_settings(BULK_CHUNK_SIZE=2):
        batch = send_bulk(
            recipients=[NUMBER, OTHER, "+27821234570"],
            body="hi",
            send_at=timezone.now() + timedelta(minutes=5),
        )
        Message.objects.filter(batch=batch).update(dispatch_after=timezone.now())
        assert sending.dispatch_due() == 2
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert set(batch.messages.values_list("status", flat=True)) == {MessageStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_provider_scheduling_hands_the_date_to_the_provider(sim):
    tz = conf.api_timezone()
    send_at = datetime(2031, 3, 4, 9, 30, tzinfo=tz)
    with zoomconnect_settings(SCHEDULING="provider"):
        message = send_sms(NUMBER, "later", send_at=send_at)
        batch = send_bulk(recipients=[OTHER], body="later too", send_at=send_at)
    assert message.status == MessageStatus.SCHEDULED
    assert message.remote_id
    assert message.sent_at is None
    assert bodies(sim)[0]["dateToSend"] == "203103040930"
    assert bodies(sim, "sms/send")[0]["dateToSend"] == "203103040930"
    assert batch.messages.get().status == MessageStatus.SCHEDULED


# --- cancel and retry ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_cancel_a_locally_scheduled_message(sim):
    message = send_sms(NUMBER, "later", send_at=timezone.now() + timedelta(hours=1))
    assert sending.cancel(message) == 1
    assert message.status == MessageStatus.CANCELLED
    Message.objects.filter(pk=message.pk).update(dispatch_after=timezone.now())
    assert sending.dispatch_due() == 0
    assert sim.requests == []
    change = MessageStatusChange.objects.get(message=message)
    assert (change.old_status, change.new_status, change.source) == ("QUEUED", "CANCELLED", "user")
    assert sending.cancel(message) == 0


@pytest.mark.django_db(transaction=True)
def test_cancel_a_batch_leaves_sent_messages_alone(sim):
    batch = send_bulk(recipients=[NUMBER], body="now")
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        later = send_bulk(
            recipients=[NUMBER, OTHER], body="later", send_at=timezone.now() + timedelta(hours=1)
        )
    assert sending.cancel(batch) == 0
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE
    assert sending.cancel(later) == 2
    assert later.status == Batch.Status.CANCELLED
    assert set(later.messages.values_list("status", flat=True)) == {MessageStatus.CANCELLED}


@pytest.mark.django_db(transaction=True)
def test_cancel_a_provider_scheduled_message_deletes_it_remotely(sim):
    with zoomconnect_settings(SCHEDULING="provider"):
        message = send_sms(NUMBER, "later", send_at=timezone.now() + timedelta(days=1))
    assert sending.cancel(message) == 1
    assert message.status == MessageStatus.CANCELLED
    assert sim.message(message.remote_id).deleted is True
    assert [r.method for r in sim.requests] == ["POST", "DELETE"]


@pytest.mark.django_db(transaction=True)
def test_cancel_keeps_a_provider_scheduled_message_the_provider_would_not_delete(sim, caplog):
    with zoomconnect_settings(SCHEDULING="provider"):
        message = send_sms(NUMBER, "later", send_at=timezone.now() + timedelta(days=1))
    sim.inject_fault("500", method="DELETE")
    assert sending.cancel(message) == 0
    assert message.status == MessageStatus.SCHEDULED
    assert "Could not delete" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_retry_requeues_what_never_reached_the_provider(sim):
    batch = send_bulk(recipients=[NUMBER, "+27600000005"], body="hi")
    failed = batch.messages.get(status=MessageStatus.FAILED)
    Message.objects.filter(pk=failed.pk).update(to_number=OTHER)  # fix the number, then retry
    assert sending.retry(batch) == 1
    failed.refresh_from_db()
    assert failed.status == MessageStatus.SENT
    assert failed.attempts == 1
    assert sent_count(sim, failed) == 1
    assert sending.retry(batch) == 0


@pytest.mark.django_db(transaction=True)
def test_retry_copies_a_message_the_provider_failed_to_deliver(sim):
    message = send_sms(NUMBER, "hi")
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED)
    opted = send_sms(OTHER, "hi")
    Message.objects.filter(pk=opted.pk).update(status=MessageStatus.FAILED)
    OptOut.objects.create(phone_number=OTHER, source=OptOut.Source.MANUAL)
    assert sending.retry(Message.objects.all()) == 1
    copy = Message.objects.exclude(pk__in=[message.pk, opted.pk]).get()
    assert copy.status == MessageStatus.SENT
    assert copy.reference != message.reference
    assert copy.body == "hi"
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED


# --- pausing ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_pause_keeps_messages_queued_and_resume_sends_them(sim):
    sending.pause_sending("test")
    message = send_sms(NUMBER, "hi")
    assert message.status == MessageStatus.QUEUED
    assert sending.dispatch_due() == 0
    assert sim.requests == []
    assert sending.resume_sending() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert not SendingPause.objects.exists()
    assert sending.resume_sending() == 0


@pytest.mark.django_db(transaction=True)
def test_a_successful_balance_check_lifts_a_pause(sim):
    sending.pause_sending("the token was refused")
    assert sending.check_balance() == sim.balance
    assert not sending.is_paused()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_report_that_overtook_the_answer_is_applied(sim):
    with zoomconnect_settings(SEND_EAGERLY=False), holding_tasks():
        message = send_sms(NUMBER, "hi")
    WebhookEvent.objects.create(
        kind=WebhookEvent.Kind.DELIVERY_REPORT,
        params={"messageId": "remote-1", "status": "DELIVERED", "nonce": "n-1"},
        nonce="n-1",
        remote_message_id="remote-1",
        state=WebhookEvent.State.DEFERRED,
    )
    sending.dispatch_message(message.pk, client=_SameIdClient("remote-1"))
    message.refresh_from_db()
    assert message.remote_id == "remote-1"
    assert message.status == MessageStatus.DELIVERED
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


# --- cost: queries and API calls grow with chunks, not messages ---------------------------------


def creation_queries(messages):
    # One opt-out lookup per 500 numbers; BEGIN, the batch, one insert per 1,000 messages, COMMIT;
    # eagerly, the batch is read again once its chunks were sent.
    return -(-messages // sending.SLICE) + 3 + -(-messages // 1000) + 1


#: Per chunk: pause check; claim and batch state (BEGIN, 2 UPDATEs, COMMIT); read the claimed rows;
#: read the batch's pacing; renew the claim right before the call (the fence); write the outcomes
#: (BEGIN, failed, SAVEPOINT, accepted, RELEASE); read them back; history; finish the batch; COMMIT;
#: the deferred-report check.
QUERIES_PER_CHUNK = 17


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("messages", "chunk_size"), [(2_000, 500), (10_000, 500)])
def test_queries_and_api_calls_of_a_bulk_send_grow_with_chunks(sim, messages, chunk_size):
    sim.set_balance(100_000)
    recipients = [f"+2782{n:07d}" for n in range(1_000_000, 1_000_000 + messages)]
    chunks = messages // chunk_size
    with zoomconnect_settings(BULK_CHUNK_SIZE=chunk_size, BALANCE_CHECK="refuse"):
        with holding_tasks() as held, CaptureQueriesContext(connection) as created:
            batch = send_bulk(recipients=recipients, body="Flash sale!")
        with CaptureQueriesContext(connection) as dispatched:
            for _, batch_id, chunk in held:
                sending.dispatch_chunk(batch_id, chunk)
    assert len(held) == chunks
    assert len(created) == creation_queries(messages)
    assert len(dispatched) == QUERIES_PER_CHUNK * chunks
    assert [r.path.rsplit("/", 2)[-2:] for r in sim.requests] == [["account", "balance"]] + [
        ["sms", "send-bulk"]
    ] * chunks
    assert batch.messages.filter(status=MessageStatus.SENT).count() == messages
