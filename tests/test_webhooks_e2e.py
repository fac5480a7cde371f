"""End to end: the simulator POSTs signed reports and replies over HTTP to a live Django server.

Messages are sent with the real client through the in-process simulator, and their rows are made
the way the sending service will make them, including the awkward orders: a report that overtakes
the send's response (found by reference), and a report for a row that does not exist yet
(deferred, then applied). Concurrency tests need PostgreSQL or MariaDB.
"""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import include, path, reverse

from django_zoomconnect.client import ZoomConnectClient
from django_zoomconnect.models import Direction, Message, MessageStatus, OptOut, WebhookEvent
from django_zoomconnect.services import inbound
from django_zoomconnect.testing import build_delivery_report_params, signed_post

urlpatterns = [path("zc/", include("django_zoomconnect.urls"))]

pytestmark = pytest.mark.urls("tests.test_webhooks_e2e")

FAILED, REFUNDED, OPTOUT, SENT_ONLY, REPLIES = (f"+2760000000{i}" for i in (1, 2, 3, 4, 6))


@pytest.fixture(scope="session")
def webhook_live_server(request):
    """pytest-django's ``live_server``, started with a ``STATIC_URL``.

    Django's live server thread wraps the project in a static-files handler built from
    ``STATIC_URL`` when it starts; the test settings have none, which breaks every request.
    """
    from django.conf import settings

    if not getattr(settings, "STATIC_URL", None):
        settings.STATIC_URL = "/static/"
    return request.getfixturevalue("live_server")


@pytest.fixture(params=[("raw", "body"), ("form", "both")], ids=["raw-body", "form-both"])
def zoomconnect_simulator_options(request, webhook_live_server, transactional_db):
    live_server = webhook_live_server
    signing, params_in = request.param
    return {
        "reply_url": live_server.url + "/zc/webhooks/reply/",
        "delivery_report_url": live_server.url + "/zc/webhooks/delivery-report/",
        "webhook_signing": signing,
        "webhook_params_in": params_in,
    }


def test_every_message_ends_in_its_simulated_status_and_every_reply_is_linked(zoomconnect_simulator):
    simulator = zoomconnect_simulator
    client = ZoomConnectClient.from_settings()
    numbers = [f"+2782555{i:04d}" for i in range(12)] + [
        FAILED,
        REFUNDED,
        OPTOUT,
        SENT_ONLY,
        REPLIES,
        REPLIES,
    ]
    rows: list[Message] = []
    late: list[tuple[str, Message]] = []
    for index, number in enumerate(numbers):
        row = Message(direction=Direction.OUTBOUND, to_number=number, body=f"Hello {index}")
        result = client.send_sms(number, row.body, data_field=row.reference)
        row.status = MessageStatus.SENDING
        if index % 3 == 0 and number != SENT_ONLY:
            row.save()  # the report will overtake the send's response: found by reference
        elif index % 3 == 1 and number != SENT_ONLY:
            late.append((result.message_id, row))  # the row appears only after its report
        else:
            row.remote_id = result.message_id
            row.status = MessageStatus.SENT
            row.save()
        rows.append(row)
    simulator.simulate_inbound("+27825559999", "Hello from nowhere")

    for _ in range(3):
        simulator.advance(5)
        simulator.flush_webhooks()

    attempts = simulator.webhook_attempts
    assert attempts
    assert all(attempt.status == 200 for attempt in attempts), [a.as_dict() for a in attempts if not a.ok]
    assert WebhookEvent.objects.filter(state=WebhookEvent.State.DEFERRED).count() == len(late)
    for remote_id, row in late:
        row.remote_id = remote_id
        row.status = MessageStatus.SENT
        row.save()
        assert inbound.apply_deferred_reports(row) == 1

    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {WebhookEvent.State.PROCESSED}
    for row in rows:
        row.refresh_from_db()
        assert row.remote_id is not None
        assert row.status == simulator.message(row.remote_id).status, row.to_number
    final = {row.to_number: row.status for row in rows}
    assert (final[FAILED], final[REFUNDED], final[OPTOUT], final[SENT_ONLY]) == (
        "FAILED",
        "FAILED_REFUNDED",
        "FAILED_OPTOUT",
        "SENT",
    )
    assert OptOut.objects.get().phone_number == OPTOUT

    replies = Message.objects.filter(direction=Direction.INBOUND)
    assert replies.count() == 3
    answered = {row.pk for row in rows if row.to_number == REPLIES}
    linked = replies.exclude(in_reply_to=None)
    assert {reply.in_reply_to_id for reply in linked} == answered
    for reply in linked:
        assert reply.body == "Reply to: " + reply.in_reply_to.body
        assert reply.from_number == REPLIES
        assert reply.status == MessageStatus.RECEIVED
    assert replies.get(in_reply_to=None).body == "Hello from nowhere"


# --- concurrency (PostgreSQL, MariaDB) ------------------------------------------------------------

server_db_only = pytest.mark.skipif(
    os.environ.get("ZOOMCONNECT_TEST_DB", "sqlite") not in ("postgres", "mariadb"),
    reason="needs concurrent transactions on a database server: runs with "
    "ZOOMCONNECT_TEST_DB=postgres or mariadb (as CI does); SQLite serializes writers",
)


def _race(posts: list[tuple[str, dict[str, str]]]) -> list[int]:
    """POST every webhook at once from its own thread and connection; the status codes."""
    barrier = threading.Barrier(len(posts))
    statuses: list[int] = [0] * len(posts)

    def post(index: int, url: str, params: dict[str, str]) -> None:
        try:
            barrier.wait()
            statuses[index] = signed_post(Client(), url, params).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i, url, params)) for i, (url, params) in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@server_db_only
@pytest.mark.django_db(transaction=True)
def test_the_same_webhook_delivered_twice_at_once_is_processed_once():
    report_url = reverse("zoomconnect:delivery-report")
    for round_ in range(10):
        message = Message.objects.create(
            direction=Direction.OUTBOUND,
            remote_id=f"R{round_}",
            status=MessageStatus.SENT,
            to_number="+27821234567",
        )
        params = build_delivery_report_params(f"R{round_}", "DELIVERED")
        assert sorted(_race([(report_url, params), (report_url, params)])) == [200, 200]
        assert WebhookEvent.objects.filter(nonce=params["nonce"]).count() == 1
        assert message.status_changes.count() == 1
    assert WebhookEvent.objects.filter(state=WebhookEvent.State.PROCESSED).count() == 10


@server_db_only
@pytest.mark.django_db(transaction=True)
def test_reports_racing_for_one_message_keep_history_consistent():
    report_url = reverse("zoomconnect:delivery-report")
    for round_ in range(10):
        message = Message.objects.create(
            direction=Direction.OUTBOUND,
            remote_id=f"X{round_}",
            status=MessageStatus.SENDING,
            to_number="+27821234567",
        )
        posts = [
            (report_url, build_delivery_report_params(f"X{round_}", status))
            for status in ("SENT", "DELIVERED")
        ]
        assert _race(posts) == [200, 200]
        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED
        history = list(message.status_changes.order_by("pk").values_list("old_status", "new_status"))
        assert history in ([("SENDING", "SENT"), ("SENT", "DELIVERED")], [("SENDING", "DELIVERED")])
