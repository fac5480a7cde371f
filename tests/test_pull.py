"""Tests for services/pull/: pulling every kind from the simulator, conflicts, deletions, adoption,
bad remote data, query counts, and the report."""

import math
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_zoomconnect import signals
from django_zoomconnect.exceptions import AuthenticationError, ConnectError
from django_zoomconnect.models import (
    Contact,
    Direction,
    Group,
    Membership,
    Message,
    MessageStatus,
    MessageStatusChange,
    SyncState,
    Template,
)
from django_zoomconnect.services import pull as pulling
from django_zoomconnect.services import reports
from django_zoomconnect.services.pull import engine
from django_zoomconnect.simulator.records import Contact as SimContact
from django_zoomconnect.simulator.records import Group as SimGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim(zoomconnect_simulator):
    zoomconnect_simulator.state.set_balance(1_000_000)
    return zoomconnect_simulator


def number(i):
    return f"+2782{i:07d}"


def seed_contact(sim, contact_id, phone, first_name="", **fields):
    contact = SimContact(contact_id=contact_id, contact_number=phone, first_name=first_name, **fields)
    sim.state.contacts[contact_id] = contact
    sim.state.index_contact(contact)
    return contact


def seed_contacts(sim, count):
    for i in range(count):
        seed_contact(sim, f"c{i}", number(i), f"Name {i}")


def seed_group(sim, group_id, name):
    sim.state.groups[group_id] = SimGroup(group_id, name)


def synced_contact(phone, remote_id, **fields):
    return Contact.objects.create(
        phone_number=phone, remote_id=remote_id, sync_state=SyncState.SYNCED, **fields
    )


def pull(*kinds, **options):
    return pulling.pull(kinds=kinds or pulling.ALL_KINDS, **options)


# --- contacts ------------------------------------------------------------------------------------


def test_first_pull_creates_every_contact_and_the_second_changes_nothing(sim):
    seed_contacts(sim, 3)
    seed_contact(sim, "x", "082 999 0000", "Spelt locally", last_name="Dlamini", title="Ms")

    report = pull("contacts")

    assert report.kinds["contacts"].created == 4
    thandi = Contact.objects.get(remote_id="x")
    assert thandi.phone_number == "+27829990000"
    assert (thandi.title, thandi.first_name, thandi.last_name) == ("Ms", "Spelt locally", "Dlamini")
    assert thandi.sync_state == SyncState.SYNCED
    assert thandi.synced_at is not None
    assert thandi.remote_data["contactId"] == "x"

    again = pull("contacts")
    assert again.kinds["contacts"].as_dict() == {**reports.KindReport().as_dict(), "unchanged": 4}


def test_a_remote_change_updates_only_that_row(sim):
    seed_contacts(sim, 3)
    pull("contacts")
    untouched = Contact.objects.get(remote_id="c0").synced_at
    sim.state.contacts["c1"].first_name = "Renamed"

    report = pull("contacts")

    assert report.kinds["contacts"].updated == 1
    assert report.kinds["contacts"].unchanged == 2
    assert Contact.objects.get(remote_id="c1").first_name == "Renamed"
    assert Contact.objects.get(remote_id="c0").synced_at == untouched


@pytest.mark.parametrize("state", [SyncState.PENDING, SyncState.FAILED, SyncState.DELETING])
def test_a_local_change_not_pushed_yet_is_never_overwritten(sim, state):
    seed_contact(sim, "c1", number(1), "Remote name")
    local = synced_contact(number(1), "c1", first_name="Local name")
    Contact.objects.filter(pk=local.pk).update(sync_state=state)

    report = pull("contacts")

    assert report.kinds["contacts"].conflicts == 1
    local.refresh_from_db()
    assert (local.first_name, local.sync_state) == ("Local name", state)


def test_an_unpushed_local_contact_is_adopted_by_its_number_and_keeps_its_values(sim):
    seed_contact(sim, "c1", "0821234567", "Remote")
    seed_contact(sim, "c2", number(2), "Same")
    mine = Contact.objects.create(phone_number="+27821234567", first_name="Mine")
    same = Contact.objects.create(phone_number=number(2), first_name="Same")

    report = pull("contacts")

    assert report.kinds["contacts"].adopted == 2
    assert report.kinds["contacts"].created == 0
    mine.refresh_from_db()
    assert (mine.remote_id, mine.first_name, mine.sync_state) == ("c1", "Mine", SyncState.PENDING)
    assert mine.remote_data["firstName"] == "Remote"
    same.refresh_from_db()
    assert (same.remote_id, same.sync_state) == ("c2", SyncState.SYNCED)


def test_a_contact_deleted_and_created_again_on_the_account_keeps_its_local_row(sim):
    seed_contact(sim, "old", number(1), "Thandi")
    pull("contacts")
    local = Contact.objects.get(remote_id="old")
    group = Group.objects.create(name="VIP", remote_id="g1", sync_state=SyncState.SYNCED)
    Membership.objects.create(contact=local, group=group, sync_state=SyncState.SYNCED)
    sim.state.delete_contact("old")
    seed_contact(sim, "new", number(1), "Thandi")

    report = pull("contacts")

    assert report.kinds["contacts"].adopted == 1
    assert report.kinds["contacts"].deleted == 0
    local.refresh_from_db()
    assert (local.remote_id, local.sync_state) == ("new", SyncState.SYNCED)
    # The new remote copy is in no group: the membership must be pushed again.
    assert Membership.objects.get().sync_state == SyncState.PENDING


def test_contacts_deleted_on_the_account_are_marked_by_default(sim):
    seed_contacts(sim, 2)
    pull("contacts")
    sim.state.delete_contact("c1")

    report = pull("contacts")

    assert report.kinds["contacts"].deleted == 1
    assert Contact.objects.get(remote_id="c1").sync_state == SyncState.REMOTE_DELETED
    assert pull("contacts").kinds["contacts"].deleted == 0  # marked once


def test_contacts_deleted_on_the_account_are_deleted_under_the_delete_policy(sim, settings):
    seed_contacts(sim, 2)
    pull("contacts")
    sim.state.delete_contact("c1")
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "SYNC_DELETE_POLICY": "delete"}

    report = pull("contacts")

    assert report.kinds["contacts"].deleted == 1
    assert list(Contact.objects.values_list("remote_id", flat=True)) == ["c0"]


def test_a_row_waiting_for_its_remote_deletion_is_removed_once_the_account_lost_it(sim):
    local = synced_contact(number(1), "gone")
    Contact.objects.filter(pk=local.pk).update(sync_state=SyncState.DELETING)
    kept = synced_contact(number(2), "changed-here")
    Contact.objects.filter(pk=kept.pk).update(sync_state=SyncState.PENDING)

    report = pull("contacts")

    assert not Contact.objects.filter(pk=local.pk).exists()
    assert report.kinds["contacts"].deleted == 1
    assert report.kinds["contacts"].conflicts == 1  # the push will create it again
    assert Contact.objects.get(pk=kept.pk).sync_state == SyncState.PENDING


def test_invalid_and_duplicate_remote_numbers_are_skipped_and_reported(sim):
    seed_contact(sim, "bad", "12345")
    seed_contact(sim, "first", number(1))
    dup = SimContact(contact_id="second", contact_number="0820000001")
    sim.state.contacts["second"] = dup  # the account itself keeps duplicates
    seed_contact(sim, "fine", number(2))

    report = pull("contacts")

    counts = report.kinds["contacts"]
    assert (counts.created, counts.skipped) == (2, 2)
    assert set(Contact.objects.values_list("remote_id", flat=True)) == {"first", "fine"}
    issues = {issue.item: issue.reason for issue in report.issues}
    assert "'12345' is not a valid phone number" in issues["bad"]
    assert issues["second"] == "has the number +27820000001 of contact first too"


def test_numbers_swapped_between_two_contacts_on_the_account(sim):
    seed_contact(sim, "a", number(1), "A")
    seed_contact(sim, "b", number(2), "B")
    seed_contact(sim, "c", number(3), "C")
    pull("contacts")
    sim.state.contacts["a"].contact_number = number(2)
    sim.state.contacts["b"].contact_number = number(3)
    sim.state.contacts["c"].contact_number = number(1)

    report = pull("contacts")

    assert report.kinds["contacts"].updated == 3
    numbers = dict(Contact.objects.values_list("remote_id", "phone_number"))
    assert numbers == {"a": number(2), "b": number(3), "c": number(1)}


def test_a_remote_number_kept_by_a_local_change_is_skipped(sim):
    pending = Contact.objects.create(phone_number=number(1), remote_id="mine", sync_state=SyncState.PENDING)
    seed_contact(sim, "mine", number(9))
    seed_contact(sim, "other", number(1))

    report = pull("contacts")

    assert report.kinds["contacts"].conflicts == 1
    assert report.kinds["contacts"].skipped == 1
    assert f"kept by local contact #{pending.pk}" in str(report.issues[0])
    assert Contact.objects.count() == 1


def test_a_renumbered_contact_frees_its_number_for_a_new_one(sim):
    seed_contact(sim, "a", number(1))
    pull("contacts")
    sim.state.contacts["a"].contact_number = number(2)
    seed_contact(sim, "b", number(1))

    report = pull("contacts")

    assert (report.kinds["contacts"].updated, report.kinds["contacts"].created) == (1, 1)
    assert dict(Contact.objects.values_list("remote_id", "phone_number")) == {"a": number(2), "b": number(1)}


# --- groups and templates ------------------------------------------------------------------------


def test_groups_created_updated_adopted_and_deleted(sim):
    seed_group(sim, "g1", "Customers")
    seed_group(sim, "g2", "Staff")
    seed_group(sim, "g3", "Suppliers")
    local = Group.objects.create(name="Staff")  # never pushed: adopted by its unique name
    pull("groups")
    assert Group.objects.count() == 3
    assert Group.objects.get(pk=local.pk).remote_id == "g2"
    sim.state.groups["g1"].name = "Clients"
    del sim.state.groups["g3"]

    report = pull("groups")

    counts = report.kinds["groups"]
    assert (counts.updated, counts.unchanged, counts.deleted) == (1, 1, 1)
    assert Group.objects.get(remote_id="g1").name == "Clients"
    assert Group.objects.get(remote_id="g3").sync_state == SyncState.REMOTE_DELETED


def test_groups_sharing_a_name_are_not_adopted(sim):
    seed_group(sim, "g1", "Team")
    seed_group(sim, "g2", "Team")
    Group.objects.create(name="Team")

    report = pull("groups")

    assert report.kinds["groups"].created == 2
    assert Group.objects.filter(remote_id__isnull=True).count() == 1


def test_templates_follow_the_account_and_local_templates_are_left_alone(sim):
    local = Template.objects.create(name="Welcome", body="Local text")
    report = pull("templates")
    assert report.kinds["templates"].created == 3  # the simulator's seeded templates
    remote = Template.objects.get(remote_id=1)
    assert (remote.name, remote.sync_state) == ("Welcome", SyncState.SYNCED)
    sim.state.templates[1].data = "New text"
    del sim.state.templates[2]

    report = pull("templates")

    assert (report.kinds["templates"].updated, report.kinds["templates"].deleted) == (1, 1)
    assert Template.objects.get(remote_id=1).body == "New text"
    assert Template.objects.get(remote_id=2).sync_state == SyncState.REMOTE_DELETED
    local.refresh_from_db()
    assert (local.body, local.remote_id) == ("Local text", None)


# --- messages ------------------------------------------------------------------------------------


def test_messages_are_pulled_with_links_statuses_and_times(sim):
    seed_contact(sim, "c1", number(1), "Thandi")
    pull("contacts")
    sent = sim.state.send(number(1), "Hello", campaign="spring", data_field="cli:1,")
    sim.advance(10)
    reply = sim.state.receive(number(1), "Hi back")

    report = pull("messages")

    assert report.kinds["messages"].created == 2
    outbound = Message.objects.get(remote_id=sent.message_id)
    assert outbound.direction == Direction.OUTBOUND
    assert (outbound.status, outbound.campaign, outbound.data_field) == ("DELIVERED", "spring", "cli:1,")
    assert outbound.to_number == number(1)
    assert outbound.sent_at == sent.sent_at.replace(microsecond=sent.sent_at.microsecond // 1000 * 1000)
    assert outbound.contact.remote_id == "c1"
    assert outbound.parts == 1
    assert outbound.credit_cost == 1
    inbound = Message.objects.get(remote_id=reply.message_id)
    assert (inbound.direction, inbound.status, inbound.body) == ("inbound", "RECEIVED", "Hi back")
    assert inbound.in_reply_to == outbound
    assert inbound.contact == outbound.contact
    assert inbound.received_at is not None
    assert len(outbound.reference) == 32
    assert outbound.reference != inbound.reference


def test_a_status_only_moves_forward_with_history_and_a_signal(sim, django_capture_on_commit_callbacks):
    sent = sim.state.send(number(1), "Hello")
    sim.advance(1.5)  # SENT, not delivered yet
    pull("messages")
    row = Message.objects.get(remote_id=sent.message_id)
    assert row.status == MessageStatus.SENT
    received = []

    def receiver(sender, **kwargs):
        received.append((kwargs["message"].pk, kwargs["old_status"], kwargs["new_status"], kwargs["source"]))

    signals.message_status_changed.connect(receiver)
    try:
        sim.advance(10)
        with django_capture_on_commit_callbacks(execute=True):
            report = pull("messages")
    finally:
        signals.message_status_changed.disconnect(receiver)

    assert report.kinds["messages"].updated == 1
    row.refresh_from_db()
    assert row.status == MessageStatus.DELIVERED
    change = MessageStatusChange.objects.get(message=row)
    assert (change.old_status, change.new_status, change.source) == ("SENT", "DELIVERED", "sync")
    assert received == [(row.pk, "SENT", "DELIVERED", "sync")]

    Message.objects.filter(pk=row.pk).update(status=MessageStatus.CANCELLED)
    pull("messages")
    assert Message.objects.get(pk=row.pk).status == MessageStatus.CANCELLED  # rank 7 > DELIVERED


def test_an_outbound_row_without_remote_id_is_adopted_by_its_reference(sim):
    local = Message.objects.create(to_number=number(1), body="Hello", status=MessageStatus.UNCERTAIN)
    sent = sim.state.send(number(1), "Hello", data_field=local.reference)
    own = Message.objects.create(
        to_number=number(2), body="Hi", data_field="order-7", status="UNCERTAIN", claimed_at=timezone.now()
    )
    sim.state.send(number(2), "Hi", data_field="order-7")
    sim.advance(10)

    report = pull("messages")

    assert report.kinds["messages"].adopted == 2
    assert report.kinds["messages"].created == 0
    local.refresh_from_db()
    assert (local.remote_id, local.status) == (sent.message_id, MessageStatus.DELIVERED)
    own.refresh_from_db()
    assert own.remote_id is not None


@pytest.mark.parametrize(
    ("status", "claimed_in"),
    [("QUEUED", None), ("UNCERTAIN", timedelta(minutes=10))],
    ids=["queued", "claimed after it"],
)
def test_a_message_with_the_callers_data_field_never_stands_in_for_one_not_sent(sim, status, claimed_in):
    # Another app (or an earlier install) sent the same text with the same dataField.
    earlier = sim.state.send(number(1), "Your booking is confirmed", data_field="booking:42")
    row = Message.objects.create(
        to_number=number(1),
        body="Your booking is confirmed",
        data_field="booking:42",
        status=status,
        claimed_at=None if claimed_in is None else timezone.now() + claimed_in,
    )
    sim.advance(10)

    report = pull("messages")

    assert (report.kinds["messages"].adopted, report.kinds["messages"].created) == (0, 1)
    assert Message.objects.get(remote_id=earlier.message_id).pk != row.pk
    row.refresh_from_db()
    assert (row.remote_id, row.status) == (None, status)


def test_a_shared_data_field_is_not_adopted_when_it_is_ambiguous(sim):
    for _ in range(2):
        Message.objects.create(to_number=number(1), body="Hi", data_field="promo", status="UNCERTAIN")
        sim.state.send(number(1), "Hi", data_field="promo")

    report = pull("messages")

    assert report.kinds["messages"].created == 2
    assert Message.objects.filter(remote_id__isnull=True).count() == 2


def test_messages_deleted_on_the_account_are_marked_not_removed(sim):
    sent = sim.state.send(number(1), "Hello")
    pull("messages")
    sim.state.messages[sent.message_id].deleted = True

    report = pull("messages")

    assert report.kinds["messages"].deleted == 1
    assert Message.objects.get(remote_id=sent.message_id).sync_state == SyncState.REMOTE_DELETED


def test_an_incremental_pull_starts_a_day_before_the_newest_pulled_message(sim):
    sim.state.send(number(1), "Hello")
    sim.advance(10)
    pull("messages")
    sim.clear_requests()

    pull("messages")

    newest = Message.objects.get().sent_at - pulling.MESSAGE_OVERLAP
    expected = newest.astimezone(sim.tz).strftime("%Y%m%d")
    queries = [r.query for r in sim.requests if r.path.endswith("messages/all")]
    assert any("type=OUTBOUND" in q and f"fromDateTimeSent={expected}" in q for q in queries)
    assert any("type=INBOUND" in q and "fromDateTimeReceived" not in q for q in queries)


def test_since_and_until_are_sent_as_dates(sim):
    pull("messages", since=date(2026, 1, 2), until=date(2026, 1, 31))
    queries = [r.query for r in sim.requests if r.path.endswith("messages/all")]
    assert any("fromDateTimeSent=20260102" in q and "toDateTimeSent=20260131" in q for q in queries)
    assert any("fromDateTimeReceived=20260102" in q and "toDateTimeReceived=20260131" in q for q in queries)


def test_a_naive_datetime_or_an_unknown_kind_is_refused_before_any_call(sim):
    with pytest.raises(ValueError, match="naive"):
        pulling.pull(since=timezone.now().replace(tzinfo=None))
    with pytest.raises(ValueError, match="unknown kind"):
        pulling.pull(kinds=["contacts", "voice"])
    assert sim.requests == []


# --- dry run, failures, progress, report ---------------------------------------------------------


def test_a_dry_run_reports_without_writing(sim):
    seed_contacts(sim, 3)
    sim.state.send(number(1), "Hello")

    report = pull(dry_run=True)

    assert report.dry_run
    assert report.kinds["contacts"].created == 3
    assert report.kinds["messages"].created == 1
    assert not Contact.objects.exists()
    assert not Message.objects.exists()
    assert not Template.objects.exists()
    assert "dry run" in report.as_table()


def test_a_failing_kind_is_reported_and_the_others_still_run(sim):
    seed_contacts(sim, 2)
    sim.inject_fault("500", path="groups/all")

    report = pull()

    assert "groups" in report.errors
    assert "500" in report.errors["groups"]
    assert not report.ok
    assert report.kinds["contacts"].created == 2
    assert "groups: FAILED" in report.as_table()


def test_a_failure_every_kind_would_meet_stops_the_pull(sim, settings):
    seed_contacts(sim, 2)
    sim.inject_fault("refuse", count=10)

    report = pull()

    assert list(report.kinds) == ["groups"]  # contacts, templates and messages were not tried
    assert list(report.errors) == ["groups"]
    assert isinstance(report.stopped_by, ConnectError)
    assert sim.counters()["faults.refuse"] == 1

    sim.clear_faults()
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "API_TOKEN": "wrong-token"}
    report = pull()
    assert isinstance(report.stopped_by, AuthenticationError)
    assert list(report.kinds) == ["groups"]
    assert report.as_table(errors=False).splitlines()[-1].split()[0] == "groups"


def test_progress_is_reported_per_kind(sim):
    seed_contacts(sim, 2)
    for i in range(5):
        sim.state.send(number(i), "Hello")
    calls = []

    pull("contacts", "messages", progress=lambda kind, done, total: calls.append((kind, done, total)))

    assert calls[0] == ("contacts", 2, 2)
    assert calls[1] == ("messages", 0, 5)
    assert calls[-1] == ("messages", 5, 5)


def test_the_report_table_and_dict():
    report = reports.SyncReport("pull")
    report.kind("contacts").created = 5000
    report.kind("groups").skipped = 2
    report.note("groups", "g1", "listed twice by the account")
    assert report.as_table().splitlines() == [
        "Pulled from Zoom Connect",
        "          created  updated  unchanged  skipped",
        "contacts    5,000        0          0        0",
        "groups          0        0          0        2",
    ]
    assert report.describe_issues() == "  groups g1: listed twice by the account"
    assert report.to_dict()["kinds"]["contacts"]["created"] == 5000
    assert report.ok


def test_issues_beyond_the_limit_are_counted(sim):
    for i in range(reports.MAX_ISSUES + 5):
        seed_contact(sim, f"bad{i}", "123")
    report = pull("contacts")
    assert len(report.issues) == reports.MAX_ISSUES
    assert report.issues_left_out == 5
    assert report.describe_issues(limit=1).endswith(f"... and {reports.MAX_ISSUES + 4:,} more")


# --- query counts: they grow with batches, not rows ----------------------------------------------


def _insert_statements(model, rows):
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    per_statement = min(engine.BATCH_SIZE, connection.ops.bulk_batch_size(fields, [None] * rows) or rows)
    return math.ceil(rows / per_statement)


@pytest.mark.slow
def test_pulling_5000_contacts_costs_a_few_queries_per_batch(sim, django_assert_max_num_queries):
    seed_contacts(sim, 5000)
    with django_assert_max_num_queries(4 + _insert_statements(Contact, 5000)):
        report = pull("contacts")
    assert report.kinds["contacts"].created == 5000
    for i in range(0, 5000, 2):
        sim.state.contacts[f"c{i}"].first_name = "Changed"
    # One load, then bulk updates of the 2,500 changed rows only.
    with django_assert_max_num_queries(4 + math.ceil(2500 / 50)):
        report = pull("contacts")
    assert (report.kinds["contacts"].updated, report.kinds["contacts"].unchanged) == (2500, 2500)


@pytest.mark.slow
def test_pulling_20000_messages_costs_a_few_queries_per_batch(sim, django_assert_max_num_queries):
    for i in range(20_000):
        sim.state.send(number(i % 50), "Hello", campaign="bulk")
    batches = math.ceil(20_000 / engine.BATCH_SIZE)
    # Three lookups first, then per batch: a savepoint and its release (a transaction outside
    # tests), one load, one contact lookup, and the inserts.
    with django_assert_max_num_queries(3 + 4 * batches + _insert_statements(Message, 20_000)):
        report = pull("messages", page_size=5000)
    assert report.kinds["messages"].created == 20_000


def test_updating_pulled_messages_costs_a_few_queries_per_batch(sim, django_assert_max_num_queries):
    for i in range(2000):
        sim.state.send(number(i % 50), "Hello", campaign="bulk")
    pull("messages", page_size=1000)
    sim.advance(10)  # every message is delivered now
    batches = math.ceil(2000 / engine.BATCH_SIZE)
    # Per batch as above, one update, and the status history inserts.
    with django_assert_max_num_queries(3 + 5 * batches + _insert_statements(MessageStatusChange, 2000)):
        report = pull("messages", page_size=1000)
    assert report.kinds["messages"].updated == 2000
    assert MessageStatusChange.objects.filter(new_status="DELIVERED").count() == 2000
    with django_assert_max_num_queries(3 + 4 * batches):
        report = pull("messages", page_size=1000)
    assert report.kinds["messages"].unchanged == 2000


@override_settings(ZOOMCONNECT={})
def test_without_settings_a_pull_says_which_setting_is_missing():
    from django_zoomconnect.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="EMAIL"):
        pulling.pull(kinds=["groups"])


def test_since_can_be_an_aware_datetime(sim):
    sim.state.send(number(1), "Hello")
    sim.advance(10)  # a message has a sent date (which the filter reads) once it is sent
    pull("messages", since=timezone.now() - timedelta(days=2))
    assert Message.objects.count() == 1


# --- the Celery task -----------------------------------------------------------------------------


def test_the_sync_account_task_pushes_then_pulls(sim):
    from django_zoomconnect import tasks

    seed_contacts(sim, 2)
    Contact.objects.create(phone_number=number(9), first_name="Local")  # pending: pushed first
    sim.state.send(number(1), "Hello")
    sim.advance(10)

    result = tasks.sync_account.apply(kwargs={"kinds": ["contacts", "messages"], "since": "2020-01-01"}).get()

    assert result["push"]["kinds"]["contacts"]["created"] == 1
    assert result["pull"]["kinds"]["contacts"]["created"] == 2
    assert result["pull"]["kinds"]["contacts"]["unchanged"] == 1
    assert result["pull"]["kinds"]["messages"]["created"] == 1
    assert set(result["pull"]["kinds"]) == {"contacts", "messages"}
    queries = [r.query for r in sim.requests if r.path.endswith("messages/all")]
    assert all("20200101" in q for q in queries)


def test_the_sync_account_task_can_pull_only(sim):
    from django_zoomconnect import tasks

    Contact.objects.create(phone_number=number(9))
    result = tasks.sync_account.apply(kwargs={"push": False}).get()
    assert "push" not in result
    assert set(result["pull"]["kinds"]) == set(pulling.ALL_KINDS)
    assert Contact.objects.get().sync_state == SyncState.PENDING


def test_a_delivery_report_that_came_before_the_pull_is_applied_after_it(
    sim, django_capture_on_commit_callbacks
):
    from django_zoomconnect.models import WebhookEvent
    from django_zoomconnect.services import inbound
    from django_zoomconnect.testing import build_delivery_report_params

    sent = sim.state.send(number(1), "Hello")
    sim.advance(1.5)  # the account still says SENT
    params = build_delivery_report_params(sent.message_id, "DELIVERED")
    event = inbound.store_event("report", params, nonce=params["nonce"], nonce_expires_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound.process_event(event).state == WebhookEvent.State.DEFERRED

        pull("messages")

    message = Message.objects.get(remote_id=sent.message_id)
    assert message.status == MessageStatus.DELIVERED
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


def test_a_pulled_template_renders_and_names_a_missing_placeholder(sim):
    from django_zoomconnect.models import TemplateContextError

    sim.seed_template("Reminder", "Hi {{ name }}, see you at {{ time }}.", template_id=42)
    pull("templates")
    template = Template.objects.get(remote_id=42)

    assert template.render({"name": "Thandi", "time": "9:00"}) == "Hi Thandi, see you at 9:00."
    with pytest.raises(TemplateContextError, match="'Reminder' needs a value for: time"):
        template.render({"name": "Thandi"})


def test_a_single_kind_may_be_given_as_a_string(sim):
    seed_contacts(sim, 1)
    assert set(pulling.pull(kinds="contacts").kinds) == {"contacts"}
