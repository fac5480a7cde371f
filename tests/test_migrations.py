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
