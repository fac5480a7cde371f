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
        from django_zoomconnect import erase_number
        from django_zoomconnect.services import optouts

        erase_number("+27821234567")
        assert optouts.opted_out(["+27821234567"]) == {"+27821234567"}
        migrate("0011_leaner_indexes")  # and back
    finally:
        migrate(_latest())
