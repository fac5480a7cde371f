"""Tests for services/rows.py: bulk INSERT and UPDATE on the router's connection, values as the ORM writes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from django_zoomconnect.models import Message, MessageStatus, MessageStatusChange, WebhookEvent
from django_zoomconnect.services import rows

NOW = datetime(2026, 5, 4, 10, 30, 15, 123456, tzinfo=UTC)


@pytest.mark.django_db
def test_insert_fills_defaults_per_row_and_auto_times(django_assert_num_queries):
    with django_assert_num_queries(1):
        rows.insert(
            Message,
            [
                {
                    "to_number": "+27821234567",
                    "body": "a",
                    "status": MessageStatus.QUEUED,
                    "credit_cost": Decimal("1.50"),
                },
                {
                    "to_number": "+27821234568",
                    "body": "b",
                    "status": MessageStatus.QUEUED,
                    "credit_cost": None,
                },
            ],
            now=NOW,
        )
    first, second = Message.objects.order_by("to_number")
    assert (first.body, second.body) == ("a", "b")
    assert first.status == "QUEUED"
    assert first.credit_cost == Decimal("1.50")
    assert second.credit_cost is None
    assert first.reference != second.reference  # a callable default, called per row
    assert len(first.reference) == 32
    assert first.remote_data == {}
    assert first.created_at == first.updated_at == NOW
    assert first.direction == "outbound"
    assert first.attempts == 0
    assert first.remote_id is None


@pytest.mark.django_db
def test_insert_nothing_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        rows.insert(Message, [], now=NOW)


@pytest.mark.django_db
def test_insert_slices_large_inputs_and_keeps_json(django_assert_num_queries):
    message = Message.objects.create(to_number="+27821234567")
    changes = [
        {
            "message_id": message.pk,
            "old_status": "SENDING",
            "new_status": "SENT",
            "source": "send",
            "detail": {"n": n},
        }
        for n in range(rows.SLICE + 1)
    ]
    with django_assert_num_queries(2):
        rows.insert(MessageStatusChange, changes, now=NOW)
    assert MessageStatusChange.objects.count() == rows.SLICE + 1
    assert MessageStatusChange.objects.order_by("pk").last().detail == {"n": rows.SLICE}


@pytest.mark.django_db
def test_insert_fills_a_field_that_only_some_rows_give_with_its_default():
    later = NOW + timedelta(hours=1)
    rows.insert(
        Message,
        [
            {"to_number": "+1", "reference": "mine", "status": MessageStatus.SENT, "updated_at": later},
            {"to_number": "+2", "body": "b"},
        ],
        now=NOW,
    )
    first, second = Message.objects.order_by("to_number")
    assert (first.reference, first.status, first.updated_at, first.body) == ("mine", "SENT", later, "")
    assert len(second.reference) == 32
    assert (second.status, second.updated_at, second.body) == ("QUEUED", NOW, "b")


@pytest.mark.django_db
def test_insert_keeps_every_character_and_raises_a_conflict_as_django_does():
    text = "tab\there\nnew line \\N back\\slash, 'quotes' \"double\" \r ü 😀 {a,b} NULL"
    rows.insert(
        MessageStatusChange,
        [{"message_id": Message.objects.create(to_number="+1").pk, "source": "send", "detail": {"t": text}}],
        now=NOW,
    )
    rows.insert(Message, [{"to_number": "+27821234567", "body": text, "reference": "taken"}], now=NOW)
    assert Message.objects.get(reference="taken").body == text
    assert MessageStatusChange.objects.get().detail == {"t": text}
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.insert(
            Message, [{"to_number": "+2", "reference": "free"}, {"to_number": "+3", "reference": "taken"}]
        )
    assert not Message.objects.filter(reference="free").exists()


@pytest.mark.django_db
def test_update_each_only_touches_rows_that_still_match():
    held = Message.objects.create(to_number="+27821234567", status=MessageStatus.SENDING, claim_token="t1")
    moved_on = Message.objects.create(
        to_number="+27821234568", status=MessageStatus.DELIVERED, claim_token="t1"
    )
    later = NOW + timedelta(minutes=1)
    rows.update_each(
        Message,
        ("status", "sent_at"),
        ("id", "claim_token", "status"),
        [
            (MessageStatus.SENT, later, held.pk, "t1", MessageStatus.SENDING),
            (MessageStatus.SENT, later, moved_on.pk, "t1", MessageStatus.SENDING),
        ],
    )
    held.refresh_from_db()
    moved_on.refresh_from_db()
    assert (held.status, held.sent_at) == ("SENT", later)
    assert (moved_on.status, moved_on.sent_at) == ("DELIVERED", None)


@pytest.mark.django_db
def test_update_each_can_keep_a_value_already_there():
    kept = Message.objects.create(to_number="+27821234567", remote_id="from-a-webhook")
    filled = Message.objects.create(to_number="+27821234568")
    rows.update_each(
        Message,
        ("remote_id", "body"),
        ("id",),
        [("from-the-answer", "x", kept.pk), ("from-the-answer-2", "y", filled.pk)],
        keep_existing=("remote_id",),
    )
    kept.refresh_from_db()
    filled.refresh_from_db()
    assert (kept.remote_id, kept.body) == ("from-a-webhook", "x")
    assert filled.remote_id == "from-the-answer-2"


@pytest.mark.django_db
def test_update_each_returning_answers_the_rows_it_changed_as_stored_where_it_can(django_assert_num_queries):
    kept = Message.objects.create(to_number="+27821234567", remote_id="from-a-webhook", claim_token="t1")
    filled = Message.objects.create(to_number="+27821234568", claim_token="t1")
    lost = Message.objects.create(to_number="+27821234569", claim_token="t2")
    with django_assert_num_queries(1):
        answer = rows.update_each_returning(
            Message,
            ("remote_id", "status"),
            ("id", "claim_token"),
            [(f"r-{m.pk}", MessageStatus.SENT, m.pk, "t1") for m in (kept, filled, lost)],
            ("id", "remote_id", "status"),
            keep_existing=("remote_id",),
        )
    stored = {m.pk: (m.pk, m.remote_id, m.status) for m in Message.objects.all()}
    assert stored[lost.pk] == (lost.pk, None, "QUEUED")
    assert stored[kept.pk] == (kept.pk, "from-a-webhook", "SENT")
    assert stored[filled.pk] == (filled.pk, f"r-{filled.pk}", "SENT")
    if connection.vendor in ("postgresql", "sqlite"):
        assert sorted(answer) == [stored[kept.pk], stored[filled.pk]]
    else:
        assert answer is None  # written all the same: the caller reads them back


@pytest.mark.django_db
def test_a_value_every_row_shares_is_bound_once_on_sqlite():
    tricky = "it's 100% \\ NULL; --"
    new = [
        {"to_number": f"+2782123456{i}", "body": tricky, "status": MessageStatus.QUEUED, "attempts": i % 2}
        for i in range(3)
    ]
    with CaptureQueriesContext(connection) as queries:
        assert rows.insert(Message, new) == 1
    if connection.vendor == "sqlite":
        (sql,) = [q["sql"] for q in queries]
        assert sql.count("'QUEUED'") == 1  # shared: bound once, not in each row
        assert sql.count("it''s 100%") == 1
        assert sql.count("'+2782123456") == 3  # each row's own
    assert sorted(Message.objects.values_list("body", "attempts", "status")) == [
        (tricky, 0, "QUEUED"),
        (tricky, 0, "QUEUED"),
        (tricky, 1, "QUEUED"),
    ]


def test_an_unknown_field_is_a_clear_error():
    with pytest.raises(LookupError, match="no concrete field 'nope'"):
        rows.update_each(Message, ("nope",), ("id",), [(1, 1)])


@pytest.mark.django_db
def test_every_write_goes_to_the_connection_the_router_picks():
    asked = []

    class Router:
        def db_for_write(self, model, **hints):
            asked.append(model)
            return "default"

    with override_settings(DATABASE_ROUTERS=[Router()]):
        rows.insert(MessageStatusChange, [], now=NOW)  # nothing to write: nothing asked
        rows.insert(Message, [{"to_number": "+27821234567", "body": "hi"}], now=NOW)
        message = Message.objects.get()
        rows.update_each(Message, ("body",), ("id",), [("hello", message.pk)])
        message.body = "hey"
        rows.update_by_pk(Message, [message], ["body"])
    assert asked == [Message, Message, Message]
    assert Message.objects.get().body == "hey"


def _event(nonce, **fields):
    return {"kind": "report", "params": {"nonce": nonce, "x": "ü"}, "nonce": nonce, **fields}


@pytest.mark.django_db(transaction=True)
def test_insert_new_is_one_statement_answering_the_new_key_or_none_for_a_duplicate(
    django_assert_num_queries,
):
    with django_assert_num_queries(1):
        first = rows.insert_new(WebhookEvent, _event("n-1"), unique=("nonce",), now=NOW)
    # MySQL's INSERT IGNORE ignores any duplicate key: one more query tells which it was.
    with django_assert_num_queries(2 if connection.vendor == "mysql" else 1):
        again = rows.insert_new(WebhookEvent, _event("n-1", kind="reply"), unique=("nonce",), now=NOW)
    second = rows.insert_new(WebhookEvent, _event("n-2"), unique=("nonce",))
    assert again is None
    assert isinstance(first, int)
    assert isinstance(second, int)
    assert first != second
    stored = WebhookEvent.objects.get(pk=first)
    # The first one stays as it was, with its defaults and the auto_now_add time.
    assert (stored.kind, stored.params, stored.state, stored.attempts) == (
        "report",
        {"nonce": "n-1", "x": "ü"},
        "pending",
        0,
    )
    assert stored.received_at == NOW
    assert WebhookEvent.objects.get(pk=second).received_at > NOW


@pytest.mark.django_db
def test_insert_new_inside_a_transaction_leaves_it_usable():
    with transaction.atomic():
        assert rows.insert_new(WebhookEvent, _event("n-1"), unique=("nonce",)) is not None
        assert rows.insert_new(WebhookEvent, _event("n-1"), unique=("nonce",)) is None
        assert WebhookEvent.objects.count() == 1  # the duplicate broke nothing


@pytest.mark.django_db
def test_insert_new_raises_any_other_conflict():
    taken = rows.insert_new(WebhookEvent, _event("n-1"), unique=("nonce",))
    # A conflict on the primary key, not on the unique field named: never silently ignored.
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.insert_new(WebhookEvent, _event("n-2", id=taken), unique=("nonce",))
    assert list(WebhookEvent.objects.values_list("nonce", flat=True)) == ["n-1"]


@pytest.mark.django_db
def test_bulk_updates_never_leave_a_prepared_statement_behind():
    # A pooler in transaction mode (PgBouncer) would lose it between transactions: the cursor
    # that binds on the server keeps Django's prepare_threshold (off unless OPTIONS turn it on).
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL's driver prepares statements by itself")
    message = Message.objects.create(to_number="+27821234567")
    for n in range(8):
        rows.update_each(Message, ("body",), ("id",), [(f"n{n}", message.pk)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)
    assert Message.objects.get().body == "n7"


@pytest.mark.django_db
def test_a_bulk_statements_text_depends_on_its_shape_not_on_its_values_or_exact_size():
    """SQLite keeps prepared statements per connection: one text per shape keeps that cache small.
    The padding rows (up to the next power of two) write nothing."""
    texts = []

    def note(execute, sql, params, many, context):
        texts.append(sql)
        return execute(sql, params, many, context)

    first = datetime(2026, 1, 1, tzinfo=UTC)
    with connection.execute_wrapper(note):
        rows.insert(Message, [{"to_number": f"+2782123450{i}", "body": "a"} for i in range(3)], now=first)
        rows.insert(
            Message,
            [{"to_number": f"+2782123451{i}", "body": "b"} for i in range(4)],
            now=first + timedelta(1),
        )
    assert Message.objects.count() == 7
    assert sorted(Message.objects.values_list("body", flat=True)) == ["a"] * 3 + ["b"] * 4
    if connection.vendor == "sqlite":
        assert len(texts) == 2
        assert texts[0] == texts[1]
    messages = list(Message.objects.order_by("pk"))
    for m in messages:
        m.claim_token = "t"
    Message.objects.bulk_update(messages, ["claim_token"])
    answer = rows.update_each_returning(
        Message,
        ("status",),
        ("id", "claim_token"),
        [(MessageStatus.SENT, m.pk, "t") for m in messages[:3]],
        ("id", "status"),
    )
    if answer is not None:
        assert sorted(answer) == [(m.pk, "SENT") for m in messages[:3]]
    assert [m.status for m in Message.objects.order_by("pk")] == ["SENT"] * 3 + ["QUEUED"] * 4


@pytest.mark.django_db
def test_rows_beyond_one_statement_go_in_several_and_padding_writes_nothing(monkeypatch):
    from django_zoomconnect.services import rows_sqlite

    assert list(rows_sqlite._sizes(0, 1024)) == []
    assert list(rows_sqlite._sizes(5, 1024)) == [(5, 8)]
    assert list(rows_sqlite._sizes(2051, 1024)) == [(1024, 1024), (1024, 1024), (3, 4)]
    monkeypatch.setattr(rows_sqlite, "ROWS", 4)
    new = [{"to_number": f"+278212345{i:02d}", "body": f"m{i}", "attempts": i % 3} for i in range(10)]
    with CaptureQueriesContext(connection) as queries:
        rows.insert(Message, new)
    if connection.vendor == "sqlite":
        assert len(queries) == 3  # 4, 4, then 2 rows
    assert sorted(Message.objects.values_list("body", "attempts")) == sorted(
        (f"m{i}", i % 3) for i in range(10)
    )
    messages = list(Message.objects.order_by("pk"))
    answer = rows.update_each_returning(
        Message,
        ("status", "attempts"),
        ("id",),
        [(MessageStatus.SENT, 7, m.pk) for m in messages[:7]],
        ("id",),
    )
    if answer is not None:
        assert sorted(answer) == [(m.pk,) for m in messages[:7]]
    assert (
        list(Message.objects.order_by("pk").values_list("status", flat=True)) == ["SENT"] * 7 + ["QUEUED"] * 3
    )
    assert Message.objects.filter(attempts=7).count() == 7
