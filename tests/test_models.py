"""Tests for models.py: validation, template rendering, status ranks, string forms."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from django_zoomconnect.models import (
    FINAL_STATUSES,
    STATUS_RANK,
    Contact,
    Direction,
    Group,
    Membership,
    Message,
    MessageStatus,
    MessageStatusChange,
    Template,
    TemplateContextError,
)


def test_template_renders_placeholders():
    template = Template(name="welcome", body="Hi {{ name }}, welcome to {{shop}}. Bye {{ name }}!")
    assert template.placeholders == ["name", "shop"]
    assert template.render({"name": "Thandi", "shop": "Acme"}) == "Hi Thandi, welcome to Acme. Bye Thandi!"


def test_template_names_every_missing_placeholder():
    template = Template(name="welcome", body="Hi {{ name }} from {{ shop }} on {{ day }}")
    with pytest.raises(TemplateContextError) as excinfo:
        template.render({"shop": "Acme"})
    assert excinfo.value.missing == ["name", "day"]
    assert str(excinfo.value) == "Template 'welcome' needs a value for: name, day."
    assert isinstance(excinfo.value, KeyError)


def test_template_without_placeholders_and_remote_flag():
    assert Template(name="t", body="Plain {text}").render() == "Plain {text}"
    assert not Template(name="t", body="x").is_remote
    assert Template(name="t", body="x", remote_id=7).is_remote


@pytest.mark.django_db
def test_contact_clean_normalizes_the_number():
    contact = Contact(phone_number="082 123 4567", first_name="Thandi")
    contact.full_clean()
    assert contact.phone_number == "+27821234567"
    assert str(contact) == "Thandi (+27821234567)"
    assert str(Contact(phone_number="+27821234567")) == "+27821234567"


@pytest.mark.django_db
def test_contact_rejects_an_invalid_number():
    with pytest.raises(ValidationError) as excinfo:
        Contact(phone_number="12").full_clean()
    assert "phone_number" in excinfo.value.message_dict
    assert "'12'" in excinfo.value.message_dict["phone_number"][0]


@pytest.mark.django_db
def test_phone_numbers_and_memberships_are_unique():
    group = Group.objects.create(name="Customers")
    contact = Contact.objects.create(phone_number="+27821234567")
    Membership.objects.create(contact=contact, group=group)
    assert list(group.contacts.all()) == [contact]
    with pytest.raises(IntegrityError):
        Membership.objects.create(contact=contact, group=group)


@pytest.mark.django_db
def test_duplicate_phone_number_is_refused():
    Contact.objects.create(phone_number="+27821234567")
    with pytest.raises(IntegrityError):
        Contact.objects.create(phone_number="+27821234567")


@pytest.mark.django_db
def test_message_defaults_and_history():
    first = Message.objects.create(to_number="+27821234567", body="Hello")
    second = Message.objects.create(to_number="+27821234567", body="Hello again")
    assert first.reference != second.reference
    assert len(first.reference) == 32
    assert first.status == MessageStatus.QUEUED
    assert first.direction == Direction.OUTBOUND
    assert not first.is_final
    assert str(first) == "→ +27821234567: Hello"
    change = MessageStatusChange.objects.create(
        message=first, old_status="", new_status=MessageStatus.SENT, source=MessageStatusChange.Source.SEND
    )
    assert str(change) == "∅ → SENT"
    inbound = Message(direction=Direction.INBOUND, from_number="+27600000006", body="Yes")
    assert str(inbound) == "← +27600000006: Yes"


def test_status_ranks_move_forward_to_final_states():
    assert set(STATUS_RANK) == set(MessageStatus.values)
    assert STATUS_RANK[MessageStatus.SENT] < STATUS_RANK[MessageStatus.DELIVERED]
    assert STATUS_RANK[MessageStatus.SENDING] < STATUS_RANK[MessageStatus.SENT]
    assert MessageStatus.DELIVERED in FINAL_STATUSES
    assert MessageStatus.SENT not in FINAL_STATUSES


def _message_indexes():
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Message._meta.db_table)
    return {name: tuple(c["columns"]) for name, c in constraints.items() if c["index"] or c["unique"]}


@pytest.mark.django_db
def test_a_message_row_pays_for_no_index_that_nothing_reads():
    """Every index costs each of a message's writes (queued, claimed, sent)."""
    columns = set(_message_indexes().values())
    assert ("claim_token",) not in columns  # a claim is read back through its own match
    assert ("batch_id", "status") not in columns  # (batch_id, chunk, status) serves a batch's counts
    assert ("batch_id", "chunk", "status") in columns
    assert ("status", "scheduled_at") not in columns  # (status, dispatch_after) serves a status


def test_no_index_has_a_condition_that_mysql_would_warn_about_on_every_migrate():
    """MySQL and MariaDB have no partial indexes: Django's models.W037 would be printed by every
    ``migrate`` of a project on them."""
    from django.apps import apps

    for model in apps.get_app_config("zoomconnect").get_models():
        assert [index.name for index in model._meta.indexes if index.condition is not None] == []


def test_references_are_hex_and_ordered_by_time(monkeypatch):
    """New rows append to the unique index on reference instead of landing at random in it."""
    import time

    from django_zoomconnect.models import new_reference

    clock = iter([1_700_000_000_000_000_000, 1_700_000_000_001_000_000, 1_700_000_000_001_000_000])
    monkeypatch.setattr(time, "time_ns", lambda: next(clock))
    first, second, third = new_reference(), new_reference(), new_reference()
    assert all(len(r) == 32 and int(r, 16) >= 0 for r in (first, second, third))
    assert first < second
    assert first < third
    assert second[:12] == third[:12]  # the same millisecond...
    assert second != third  # ...and the random bits differ
