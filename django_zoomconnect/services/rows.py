"""Lean bulk writes for the outbox: the SQL is built once, the rows go through ``executemany``.

Why not ``bulk_create`` and ``Case(When(...))``: Django compiles each value of each row in Python,
about 0.4 ms for one 36-column message row on a modest machine, so inserting and updating a
10,000-message batch cost several times more than sending it. Here every field gets one
preparation function (identity for strings, numbers and foreign keys; Django's own
``get_db_prep_save`` for dates, decimals and JSON), constant values are prepared once, and the
driver runs the statement for each row (SQLite in C, psycopg in a pipeline, MySQLdb as one
multi-row INSERT). Query counts stay one per slice of rows.

Model signals are not sent, exactly as with ``bulk_create``. Statements run on the ``default``
connection, inside whatever transaction the caller holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models

__all__ = ["insert", "update_each"]

#: Rows per ``executemany``: one logged query per slice.
SLICE = 1000

Prepare = Callable[[Any], Any]
_IDENTITY_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "ForeignKey",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
    }
)


def _text(value: Any) -> Any:
    # TextChoices members are str subclasses; give drivers the plain str.
    return value if value is None or type(value) is str else str(value)


def _preparer(field: models.Field[Any, Any]) -> Prepare | None:
    """How a value of ``field`` is handed to the driver; ``None`` means as it is."""
    kind = field.get_internal_type()
    if kind in ("CharField", "TextField", "SlugField", "EmailField"):
        return _text
    if kind in _IDENTITY_TYPES or isinstance(field, models.ForeignKey):
        return None
    return _memoized(lambda value: field.get_db_prep_save(value, connection))


def _memoized(prepare: Prepare, limit: int = 1024) -> Prepare:
    """``prepare`` remembering its last results: a batch repeats the same dates, costs and JSON."""
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        try:
            key: Any = (type(value), value)
            hash(key)
        except TypeError:
            key = (type(value), repr(value))
        try:
            return cache[key]
        except KeyError:
            pass
        if len(cache) >= limit:
            cache.clear()
        prepared = cache[key] = prepare(value)
        return prepared

    return run


def _field(model: type[models.Model], attname: str) -> models.Field[Any, Any]:
    for candidate in model._meta.concrete_fields:
        if candidate.attname == attname:
            return candidate
    raise LookupError(f"{model.__name__} has no concrete field {attname!r}")


def insert(model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, now: datetime) -> None:
    """INSERT one row per mapping of attribute names (``batch_id``, not ``batch``) to values.

    Every other field gets its default (a callable default is called for each row), and
    ``auto_now``/``auto_now_add`` fields get ``now``. Primary keys are not returned.
    """
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = set(rows[0])
    constant: dict[str, Any] = {}
    per_row_default: dict[str, Callable[[], Any]] = {}
    for field in fields:
        if field.attname in given:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constant[field.attname] = field.get_db_prep_save(now, connection)
        elif field.has_default() and callable(field.default):
            per_row_default[field.attname] = field.get_default
        else:
            constant[field.attname] = field.get_db_prep_save(field.get_default(), connection)
    plan: list[tuple[str, int, Any]] = []  # (attname, kind: 0 given, 1 default per row, 2 constant, extra)
    for field in fields:
        if field.attname in given:
            plan.append((field.attname, 0, _preparer(field)))
        elif field.attname in per_row_default:
            plan.append((field.attname, 1, (per_row_default[field.attname], _preparer(field))))
        else:
            plan.append((field.attname, 2, constant[field.attname]))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = []
        for attname, kind, extra in plan:
            if kind == 0:
                value = row[attname]
                values.append(value if extra is None else extra(value))
            elif kind == 1:
                make, prepare = extra
                value = make()
                values.append(value if prepare is None else prepare(value))
            else:
                values.append(extra)
        params.append(tuple(values))
    with connection.cursor() as cursor:
        for start in range(0, len(params), SLICE):
            cursor.executemany(sql, params[start : start + SLICE])


def update_each(
    model: type[models.Model],
    set_fields: Sequence[str],
    where_fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    keep_existing: Sequence[str] = (),
) -> None:
    """``UPDATE ... SET <set_fields> WHERE <where_fields>`` once per row of values, in that order.

    A field in ``keep_existing`` is only filled when it is NULL (``COALESCE(column, value)``).
    Rows that no longer match the WHERE clause are left alone: that is how conditional writes
    (a claim token, an expected status) stay conditional in bulk.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    set_parts = []
    preparers: list[Prepare | None] = []
    for attname in set_fields:
        field = _field(model, attname)
        column = quote(str(field.column))
        if attname in keep_existing:
            set_parts.append(f"{column} = COALESCE({column}, %s)")
        else:
            set_parts.append(f"{column} = %s")
        preparers.append(_preparer(field))
    where_parts = []
    for attname in where_fields:
        field = _field(model, attname)
        where_parts.append(f"{quote(str(field.column))} = %s")
        preparers.append(_preparer(field))
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {', '.join(set_parts)} "  # noqa: S608
        f"WHERE {' AND '.join(where_parts)}"
    )
    params = [
        tuple(
            value if prepare is None else prepare(value)
            for value, prepare in zip(row, preparers, strict=True)
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), SLICE):
            cursor.executemany(sql, params[start : start + SLICE])
