"""Migrations apply to a database holding earlier data, and carry that data forward."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

APP = "zoomconnect"


def migrate(to):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([(APP, to)])
    executor.loader.build_graph()
    return executor.loader.project_state([(APP, to)]).apps


def test_webhook_events_stored_before_0009_get_their_data_field():
    old = migrate("0008_message_retry_of")
    events = old.get_model(APP, "WebhookEvent")
    events.objects.create(kind="report", params={"messageId": "m1", "dataField": "ref-1"}, nonce="a")
    events.objects.create(kind="report", params={"messageId": "m2"}, nonce="b")
    try:
        new = migrate("0009_webhook_event_data_field")
        stored = dict(new.get_model(APP, "WebhookEvent").objects.values_list("nonce", "data_field"))
        assert stored == {"a": "ref-1", "b": ""}
    finally:
        migrate(_latest())


def _latest():
    executor = MigrationExecutor(connection)
    return max(name for app, name in executor.loader.graph.leaf_nodes() if app == APP)


def test_0012_applies_to_a_populated_database_and_hashed_opt_outs_work_after_it():
    old = migrate("0011_leaner_indexes")
    old.get_model(APP, "OptOut").objects.create(phone_number="+27821234567", source="keyword")
    old.get_model(APP, "Message").objects.create(to_number="+27821234567", body="hi", reference="r1")
    try:
        new = migrate("0012_data_life")
        assert new.get_model(APP, "OptOut").objects.count() == 1
        assert not new.get_model(APP, "ErasedOptOut").objects.exists()
        migrate("0011_leaner_indexes")  # and back
        migrate(_latest())
        from django_zoomconnect import erase_number
        from django_zoomconnect.services import optouts

        erase_number("+27821234567")
        assert optouts.opted_out(["+27821234567"]) == {"+27821234567"}
    finally:
        migrate(_latest())


def test_a_populated_wave_one_database_moves_under_the_default_account():
    old = migrate("0011_leaner_indexes")
    model = old.get_model
    group = model(APP, "Group").objects.create(name="Staff", remote_id="g1")
    contact = model(APP, "Contact").objects.create(phone_number="+27821234567", remote_id="c1")
    model(APP, "Membership").objects.create(contact=contact, group=group)
    template = model(APP, "Template").objects.create(name="Hi", body="Hi {{ name }}", remote_id=7)
    batch = model(APP, "Batch").objects.create(campaign="launch")
    model(APP, "Message").objects.create(
        to_number="+27821234567", body="Hi", remote_id="m1", reference="r1", batch=batch, contact=contact
    )
    model(APP, "Message").objects.create(
        to_number="+27821234568", body="Hi", reference="r2", template=template
    )
    model(APP, "WebhookEvent").objects.create(kind="report", params={"messageId": "m1"}, nonce="n1")
    try:
        new = migrate("0013_accounts")
        for name in ("Group", "Contact", "Template", "Message", "Batch", "WebhookEvent"):
            accounts = set(new.get_model(APP, name).objects.values_list("account", flat=True))
            assert accounts == {"default"}, name
        messages = new.get_model(APP, "Message").objects
        assert messages.get(remote_id="m1").batch_id == batch.pk
        assert messages.count() == 2
        # Remote ids and numbers are now unique per account: another account may reuse them.
        new.get_model(APP, "Contact").objects.create(
            account="marketing", phone_number="+27821234567", remote_id="c1"
        )
        new.get_model(APP, "Template").objects.create(account="marketing", name="Hi", body="x", remote_id=7)
        messages.create(account="marketing", to_number="+27821234567", remote_id="m1", reference="r3")
        from django.db import IntegrityError, transaction

        with pytest.raises(IntegrityError), transaction.atomic():
            messages.create(account="marketing", to_number="+27821234567", remote_id="m1", reference="r4")
    finally:
        new = migrate(_latest())
        for name in ("Message", "WebhookEvent", "Batch", "Membership", "Contact", "Group", "Template"):
            new.get_model(APP, name).objects.all().delete()
