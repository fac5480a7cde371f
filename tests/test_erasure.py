"""Tests for services/erasure.py: erase_number leaves no trace of a number in any table.

The proof is :func:`traces`: it reads every column of every table of the database (all apps',
found by introspection, not by our models) and looks for the number in each of its forms. Run on
SQLite, PostgreSQL and MariaDB (``ZOOMCONNECT_TEST_DB``).
"""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from django_zoomconnect import erase_number
from django_zoomconnect.exceptions import PhoneNumberError
from django_zoomconnect.models import (
    Contact,
    Direction,
    ErasedOptOut,
    Group,
    Membership,
    Message,
    MessageStatus,
    MessageStatusChange,
    OptOut,
    OptOutChange,
    WebhookEvent,
)
from django_zoomconnect.services import contacts, erasure, optouts
from django_zoomconnect.services.outbox import send_bulk, send_sms
from django_zoomconnect.services.pull import pull
from django_zoomconnect.testing import build_delivery_report_params, build_reply_params, signed_post

from .outbox import fast_outbox

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = "+27821234567"
FORMS = ("+27821234567", "27821234567", "0821234567", "821234567")
OTHER = "+27831112222"


def _text(value) -> str:
    if isinstance(value, memoryview | bytes):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def traces(forms=FORMS) -> list[tuple[str, str, str]]:
    """Every (table, column, value) of the whole database holding one of ``forms``."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = _text(value)
                    if any(form in text for form in forms):
                        found.append((table, column, text[:80]))
    return found


@pytest.fixture
def person(zoomconnect_simulator, client, django_user_model):
    """The number everywhere a person's number goes: a contact on the account in a group, sends,
    a delivery report, replies, a STOP and its history, a refused send, a pull, the admin's log;
    and another person beside it."""
    sim = zoomconnect_simulator
    with fast_outbox(sim):
        group = contacts.create_group("Customers")
        them = contacts.create_contact(NUMBER, first_name="Thandi", last_name="Nkosi", groups=[group])
        contacts.create_contact(OTHER, first_name="Other", groups=[group])
        sent = send_sms(NUMBER, f"Hi Thandi, your code for {NUMBER} is 1234", campaign="welcome")
        send_sms(OTHER, "Hi other", campaign="welcome")
        sent.refresh_from_db()
        assert sent.status == MessageStatus.SENT
        assert sent.remote_id
        signed_post(client, "zoomconnect:delivery-report", build_delivery_report_params(sent.remote_id))
        signed_post(
            client,
            "zoomconnect:reply",
            build_reply_params(NUMBER[1:], "Thanks!", replied_to_message_id=sent.remote_id),
        )
        signed_post(client, "zoomconnect:reply", build_reply_params("0821234567", "STOP"))
        # A report for a message we do not know (deferred), naming the number in its extras.
        signed_post(
            client,
            "zoomconnect:delivery-report",
            build_delivery_report_params("unknown-1", extra={"recipientNumber": NUMBER[1:]}),
        )
        assert send_sms(NUMBER, "Refused").status == MessageStatus.REJECTED
        pull(kinds=["contacts", "messages"])
    admin = django_user_model.objects.create_superuser("admin", "a@example.com", "x")
    LogEntry.objects.create(
        user=admin,
        content_type=ContentType.objects.get_for_model(Contact),
        object_id=str(them.pk),
        object_repr=str(them),
        action_flag=CHANGE,
        change_message="[]",
    )
    assert traces(), "the fixture should have put the number somewhere"
    return them


def test_after_erasure_no_table_holds_the_number_in_any_form(person, zoomconnect_simulator):
    before = Message.objects.count(), MessageStatusChange.objects.count(), WebhookEvent.objects.count()
    report = erase_number("082 123 4567")
    assert traces() == []
    assert report.contacts == 1
    assert report.memberships == 1
    assert report.messages == 4  # sent, refused, two replies
    assert report.webhook_events == 4  # report, two replies, the deferred report
    assert (report.opt_outs, report.opt_out_changes, report.hashed_opt_out) == (1, 1, True)
    assert report.admin_log_entries == 1
    assert report.remote_contacts == 0
    assert not report.dry_run
    # Rows are kept for the statistics, emptied of the person.
    assert (
        Message.objects.count(),
        MessageStatusChange.objects.count(),
        WebhookEvent.objects.count(),
    ) == before
    kept = Message.objects.filter(direction=Direction.OUTBOUND, campaign="welcome", to_number="").get()
    assert (kept.status, kept.body, kept.remote_data, kept.contact) == (MessageStatus.DELIVERED, "", {}, None)
    # The other person is untouched.
    other = Contact.objects.get(phone_number=OTHER)
    assert other.memberships.count() == 1
    assert Message.objects.get(to_number=OTHER).body == "Hi other"
    assert Group.objects.get().name == "Customers"
    # The contact is still on the account: only delete_remote deletes it there.
    assert person.remote_id in _remote_contacts()


def test_the_stop_still_holds_after_erasure(person):
    erase_number(NUMBER)
    assert ErasedOptOut.objects.count() == 1
    assert not OptOut.objects.exists()
    assert optouts.opted_out([NUMBER]) == {NUMBER}
    assert send_sms(NUMBER, "hi").status == MessageStatus.REJECTED
    batch = send_bulk(recipients=[NUMBER, OTHER], body="hi")
    statuses = dict(batch.messages.values_list("to_number", "status"))
    assert statuses[NUMBER] == MessageStatus.REJECTED
    assert statuses[OTHER] != MessageStatus.REJECTED


def test_erasing_twice_keeps_one_hashed_opt_out():
    optouts.opt_out(NUMBER, source="keyword", detail="STOP")
    assert erase_number(NUMBER).hashed_opt_out is True
    again = erase_number(NUMBER)
    assert (again.hashed_opt_out, again.opt_outs, again.total) == (True, 0, 0)
    assert ErasedOptOut.objects.get().source == "keyword"


def test_a_number_never_opted_out_leaves_no_hashed_opt_out():
    Contact.objects.create(phone_number=NUMBER)
    report = erase_number(NUMBER)
    assert (report.contacts, report.hashed_opt_out) == (1, False)
    assert not ErasedOptOut.objects.exists()


def test_a_dry_run_reports_and_changes_nothing(person, zoomconnect_simulator):
    found = traces()
    report = erase_number(NUMBER, dry_run=True, delete_remote=True)
    assert report.dry_run
    assert report.contacts == 1
    assert report.messages == 4
    assert report.remote_contacts == 1
    assert traces() == found
    assert Contact.objects.filter(phone_number=NUMBER).exists()
    assert person.remote_id in _remote_contacts()


def _remote_contacts() -> set[str]:
    from django_zoomconnect.client import ZoomConnectClient

    return {c.contact_id for c in ZoomConnectClient.from_settings().list_contacts()}


def test_delete_remote_deletes_the_contact_on_the_account(person):
    assert person.remote_id in _remote_contacts()
    report = erase_number(NUMBER, delete_remote=True)
    assert (report.remote_contacts, report.remote_error) == (1, "")
    assert person.remote_id not in _remote_contacts()
    assert traces() == []


def test_queued_messages_are_cancelled_and_a_send_in_flight_refuses(settings):
    from tests.outbox import holding_tasks

    with holding_tasks():
        queued = send_sms(NUMBER, "later")
    report = erase_number(NUMBER)
    queued.refresh_from_db()
    assert (report.cancelled, queued.status, queued.to_number, queued.body) == (1, "CANCELLED", "", "")
    Message.objects.create(to_number=NUMBER, body="x", status=MessageStatus.SENDING)
    with pytest.raises(erasure.ErasureRefused, match="being sent"):
        erase_number(NUMBER)
    assert Message.objects.filter(to_number=NUMBER).exists()


def test_a_number_that_is_not_valid_is_refused():
    with pytest.raises(PhoneNumberError):
        erase_number("12")
    assert erasure.number_forms("082 123 4567") == FORMS


def test_memberships_of_the_erased_contact_go_with_it():
    group = Group.objects.create(name="G")
    contact = Contact.objects.create(phone_number=NUMBER)
    Membership.objects.create(contact=contact, group=group)
    assert erase_number(NUMBER).memberships == 1
    assert not Membership.objects.exists()
    assert Group.objects.exists()
    assert not OptOutChange.objects.exists()


# --- manage.py zoomconnect_erase ------------------------------------------------------------------


def test_the_command_erases_and_reports_per_table(capsys):
    from django.core.management import call_command

    Contact.objects.create(phone_number=NUMBER)
    optouts.opt_out(NUMBER, source="keyword")
    call_command("zoomconnect_erase", "082 123 4567", "--dry-run")
    out = capsys.readouterr().out
    assert out.startswith("Dry run")
    assert "contacts deleted: 1\n" in out
    assert Contact.objects.exists()
    call_command("zoomconnect_erase", "082 123 4567", "--json")
    data = json.loads(capsys.readouterr().out)
    assert (data["contacts"], data["opt_outs"], data["hashed_opt_out"], data["total"]) == (1, 1, True, 3)
    assert traces() == []


def test_the_command_refuses_a_number_that_is_not_valid_in_one_line():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=r"^'12' is not a valid phone number: .* Nothing was erased\.$"):
        call_command("zoomconnect_erase", "12")
